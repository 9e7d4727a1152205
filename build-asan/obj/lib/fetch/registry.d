build-asan/obj/lib/fetch/registry.o: lib/fetch/registry.c lib/base/buf.h \
 lib/base/err.h lib/docker/docker.h lib/docker/dstream.h \
 lib/fetch/fetch.h
lib/base/buf.h:
lib/base/err.h:
lib/docker/docker.h:
lib/docker/dstream.h:
lib/fetch/fetch.h:
