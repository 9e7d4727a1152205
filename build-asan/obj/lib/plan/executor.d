build-asan/obj/lib/plan/executor.o: lib/plan/executor.c \
 lib/plan/executor.h lib/docker/docker.h lib/docker/dstream.h \
 lib/base/buf.h lib/base/err.h lib/plan/planner.h lib/model/model.h \
 proto/proto.h lib/base/fsutil.h lib/locks/lock.h lib/model/spec.h
lib/plan/executor.h:
lib/docker/docker.h:
lib/docker/dstream.h:
lib/base/buf.h:
lib/base/err.h:
lib/plan/planner.h:
lib/model/model.h:
proto/proto.h:
lib/base/fsutil.h:
lib/locks/lock.h:
lib/model/spec.h:
