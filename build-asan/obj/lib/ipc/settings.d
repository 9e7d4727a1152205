build-asan/obj/lib/ipc/settings.o: lib/ipc/settings.c lib/ipc/settings.h \
 lib/base/err.h proto/ipc.h proto/proto.h lib/base/buf.h \
 lib/model/config.h lib/fetch/fetch.h
lib/ipc/settings.h:
lib/base/err.h:
proto/ipc.h:
proto/proto.h:
lib/base/buf.h:
lib/model/config.h:
lib/fetch/fetch.h:
