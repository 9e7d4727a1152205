build-asan/obj/lib/ipc/daemon.o: lib/ipc/daemon.c lib/ipc/daemon.h \
 proto/proto.h lib/base/buf.h lib/base/err.h lib/ipc/settings.h \
 proto/ipc.h lib/base/clock.h lib/base/log.h
lib/ipc/daemon.h:
proto/proto.h:
lib/base/buf.h:
lib/base/err.h:
lib/ipc/settings.h:
proto/ipc.h:
lib/base/clock.h:
lib/base/log.h:
