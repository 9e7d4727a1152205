build-asan/obj/lib/model/spec_keys.o: lib/model/spec_keys.c \
 lib/model/spec_int.h lib/model/spec.h lib/base/err.h lib/model/model.h \
 proto/proto.h lib/base/buf.h lib/model/values.h
lib/model/spec_int.h:
lib/model/spec.h:
lib/base/err.h:
lib/model/model.h:
proto/proto.h:
lib/base/buf.h:
lib/model/values.h:
