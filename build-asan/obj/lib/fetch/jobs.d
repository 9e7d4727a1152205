build-asan/obj/lib/fetch/jobs.o: lib/fetch/jobs.c lib/fetch/jobs.h
lib/fetch/jobs.h:
