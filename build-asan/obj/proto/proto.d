build-asan/obj/proto/proto.o: proto/proto.c proto/proto.h lib/base/buf.h \
 lib/base/err.h
proto/proto.h:
lib/base/buf.h:
lib/base/err.h:
