build-asan/obj/lib/plan/planner.o: lib/plan/planner.c lib/plan/planner.h \
 lib/base/err.h lib/model/model.h proto/proto.h lib/base/buf.h
lib/plan/planner.h:
lib/base/err.h:
lib/model/model.h:
proto/proto.h:
lib/base/buf.h:
