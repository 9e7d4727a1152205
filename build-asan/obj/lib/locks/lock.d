build-asan/obj/lib/locks/lock.o: lib/locks/lock.c lib/locks/lock.h \
 lib/base/err.h lib/model/model.h proto/proto.h lib/base/buf.h \
 lib/base/fsutil.h
lib/locks/lock.h:
lib/base/err.h:
lib/model/model.h:
proto/proto.h:
lib/base/buf.h:
lib/base/fsutil.h:
