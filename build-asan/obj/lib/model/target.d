build-asan/obj/lib/model/target.o: lib/model/target.c lib/model/target.h \
 lib/base/err.h lib/model/model.h proto/proto.h lib/base/buf.h \
 lib/model/spec.h
lib/model/target.h:
lib/base/err.h:
lib/model/model.h:
proto/proto.h:
lib/base/buf.h:
lib/model/spec.h:
