build-asan/obj/lib/docker/docker.o: lib/docker/docker.c \
 lib/docker/docker.h lib/docker/dstream.h lib/base/buf.h lib/base/err.h \
 lib/docker/http1.h
lib/docker/docker.h:
lib/docker/dstream.h:
lib/base/buf.h:
lib/base/err.h:
lib/docker/http1.h:
