build-asan/obj/lib/docker/dstream.o: lib/docker/dstream.c \
 lib/docker/dstream.h lib/base/buf.h lib/base/err.h
lib/docker/dstream.h:
lib/base/buf.h:
lib/base/err.h:
