build-asan/obj/lib/base/fsutil.o: lib/base/fsutil.c lib/base/fsutil.h \
 lib/base/err.h
lib/base/fsutil.h:
lib/base/err.h:
