build-asan/obj/lib/model/model.o: lib/model/model.c lib/model/model.h \
 proto/proto.h lib/base/buf.h lib/base/err.h
lib/model/model.h:
proto/proto.h:
lib/base/buf.h:
lib/base/err.h:
