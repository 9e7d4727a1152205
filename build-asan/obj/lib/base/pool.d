build-asan/obj/lib/base/pool.o: lib/base/pool.c lib/base/pool.h \
 lib/base/err.h
lib/base/pool.h:
lib/base/err.h:
