build-asan/obj/lib/model/spec.o: lib/model/spec.c lib/model/spec_int.h \
 lib/model/spec.h lib/base/err.h lib/model/model.h proto/proto.h \
 lib/base/buf.h lib/locks/lock.h lib/model/values.h
lib/model/spec_int.h:
lib/model/spec.h:
lib/base/err.h:
lib/model/model.h:
proto/proto.h:
lib/base/buf.h:
lib/locks/lock.h:
lib/model/values.h:
