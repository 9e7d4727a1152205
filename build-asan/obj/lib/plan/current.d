build-asan/obj/lib/plan/current.o: lib/plan/current.c lib/plan/current.h \
 lib/base/err.h lib/model/model.h proto/proto.h lib/base/buf.h \
 lib/plan/planner.h
lib/plan/current.h:
lib/base/err.h:
lib/model/model.h:
proto/proto.h:
lib/base/buf.h:
lib/plan/planner.h:
