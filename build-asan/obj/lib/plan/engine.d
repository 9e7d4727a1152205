build-asan/obj/lib/plan/engine.o: lib/plan/engine.c lib/plan/engine.h \
 lib/docker/docker.h lib/docker/dstream.h lib/base/buf.h lib/base/err.h \
 lib/plan/executor.h lib/plan/planner.h lib/model/model.h proto/proto.h \
 lib/plan/current.h lib/locks/lock.h
lib/plan/engine.h:
lib/docker/docker.h:
lib/docker/dstream.h:
lib/base/buf.h:
lib/base/err.h:
lib/plan/executor.h:
lib/plan/planner.h:
lib/model/model.h:
proto/proto.h:
lib/plan/current.h:
lib/locks/lock.h:
