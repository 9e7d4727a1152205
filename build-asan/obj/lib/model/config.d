build-asan/obj/lib/model/config.o: lib/model/config.c lib/model/config.h \
 lib/base/err.h lib/base/buf.h
lib/model/config.h:
lib/base/err.h:
lib/base/buf.h:
