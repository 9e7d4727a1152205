build-asan/obj/lib/model/compose.o: lib/model/compose.c \
 lib/model/compose.h lib/base/err.h lib/base/buf.h lib/model/spec.h \
 lib/model/model.h proto/proto.h
lib/model/compose.h:
lib/base/err.h:
lib/base/buf.h:
lib/model/spec.h:
lib/model/model.h:
proto/proto.h:
