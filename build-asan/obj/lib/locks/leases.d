build-asan/obj/lib/locks/leases.o: lib/locks/leases.c lib/locks/leases.h \
 lib/model/model.h proto/proto.h lib/base/buf.h lib/base/err.h
lib/locks/leases.h:
lib/model/model.h:
proto/proto.h:
lib/base/buf.h:
lib/base/err.h:
