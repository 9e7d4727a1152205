build-asan/obj/lib/ipc/client.o: lib/ipc/client.c lib/ipc/client.h \
 proto/proto.h lib/base/buf.h lib/base/err.h lib/base/clock.h \
 lib/plan/statedoc.h lib/plan/engine.h lib/docker/docker.h \
 lib/docker/dstream.h lib/plan/executor.h lib/plan/planner.h \
 lib/model/model.h proto/ipc.h
lib/ipc/client.h:
proto/proto.h:
lib/base/buf.h:
lib/base/err.h:
lib/base/clock.h:
lib/plan/statedoc.h:
lib/plan/engine.h:
lib/docker/docker.h:
lib/docker/dstream.h:
lib/plan/executor.h:
lib/plan/planner.h:
lib/model/model.h:
proto/ipc.h:
