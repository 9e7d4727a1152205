build-asan/obj/lib/base/clock.o: lib/base/clock.c lib/base/clock.h
lib/base/clock.h:
