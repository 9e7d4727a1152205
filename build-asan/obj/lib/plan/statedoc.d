build-asan/obj/lib/plan/statedoc.o: lib/plan/statedoc.c \
 lib/plan/statedoc.h proto/proto.h lib/base/buf.h lib/base/err.h \
 lib/plan/engine.h lib/docker/docker.h lib/docker/dstream.h \
 lib/plan/executor.h lib/plan/planner.h lib/model/model.h
lib/plan/statedoc.h:
proto/proto.h:
lib/base/buf.h:
lib/base/err.h:
lib/plan/engine.h:
lib/docker/docker.h:
lib/docker/dstream.h:
lib/plan/executor.h:
lib/plan/planner.h:
lib/model/model.h:
