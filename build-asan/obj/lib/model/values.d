build-asan/obj/lib/model/values.o: lib/model/values.c lib/model/values.h \
 lib/base/err.h lib/base/buf.h
lib/model/values.h:
lib/base/err.h:
lib/base/buf.h:
