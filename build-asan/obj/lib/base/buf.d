build-asan/obj/lib/base/buf.o: lib/base/buf.c lib/base/buf.h \
 lib/base/err.h
lib/base/buf.h:
lib/base/err.h:
