build-asan/obj/lib/fetch/fetch.o: lib/fetch/fetch.c lib/fetch/fetch.h \
 lib/base/err.h lib/model/values.h
lib/fetch/fetch.h:
lib/base/err.h:
lib/model/values.h:
