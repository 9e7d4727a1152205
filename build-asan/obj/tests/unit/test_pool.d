build-asan/obj/tests/unit/test_pool.o: tests/unit/test_pool.c \
 lib/base/pool.h lib/base/err.h
lib/base/pool.h:
lib/base/err.h:
