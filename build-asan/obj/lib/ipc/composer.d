build-asan/obj/lib/ipc/composer.o: lib/ipc/composer.c \
 include/balena-compose.h lib/ipc/client.h proto/proto.h lib/base/buf.h \
 lib/base/err.h lib/model/compose.h lib/plan/statedoc.h lib/plan/engine.h \
 lib/docker/docker.h lib/docker/dstream.h lib/plan/executor.h \
 lib/plan/planner.h lib/model/model.h lib/model/target.h
include/balena-compose.h:
lib/ipc/client.h:
proto/proto.h:
lib/base/buf.h:
lib/base/err.h:
lib/model/compose.h:
lib/plan/statedoc.h:
lib/plan/engine.h:
lib/docker/docker.h:
lib/docker/dstream.h:
lib/plan/executor.h:
lib/plan/planner.h:
lib/model/model.h:
lib/model/target.h:
