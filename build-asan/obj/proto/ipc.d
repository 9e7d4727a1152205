build-asan/obj/proto/ipc.o: proto/ipc.c proto/ipc.h proto/proto.h \
 lib/base/buf.h lib/base/err.h
proto/ipc.h:
proto/proto.h:
lib/base/buf.h:
lib/base/err.h:
