build-asan/obj/lib/docker/http1.o: lib/docker/http1.c lib/docker/http1.h \
 lib/base/err.h lib/base/clock.h
lib/docker/http1.h:
lib/base/err.h:
lib/base/clock.h:
