/* plan(current, target, context) -> steps. Pure: no I/O, no clock, no
 * globals; everything it needs comes in the context. The executor runs one
 * round of steps (they are independent by construction), observes Docker
 * again and plans again, until the plan is empty.
 *
 * Ownership: steps borrow pointers into the current and target states, so a
 * plan must be freed before either state. */
#ifndef BC_PLANNER_H
#define BC_PLANNER_H

#include "lib/base/err.h"
#include "lib/model/model.h"

enum bc_action {
	BC_STEP_FETCH,		 /* target->image is pulled */
	BC_STEP_KILL,		 /* stop and remove current container */
	BC_STEP_STOP,		 /* stop current container, keep it */
	BC_STEP_REMOVE,		 /* remove a dead container */
	BC_STEP_CREATE,		 /* create target container; start it if target->running */
	BC_STEP_START,		 /* start current (never started) container */
	BC_STEP_UPDATE_METADATA, /* same config, new release: rename current to target */
	BC_STEP_HANDOVER,	 /* create+start target beside the running current */
	BC_STEP_CREATE_NETWORK,
	BC_STEP_REMOVE_NETWORK,
	BC_STEP_CREATE_VOLUME,
	BC_STEP_REMOVE_VOLUME,
	BC_STEP_TAKE_LOCK,    /* take the app's update locks before touching it */
	BC_STEP_RELEASE_LOCK, /* the app has settled */
	BC_STEP_NOOP,	      /* waiting; reason says on what */
	BC_STEP_RESTART,      /* restart current: a dependency of its restart: true
				 rule was recreated since it started */
};

typedef struct bc_step {
	enum bc_action action;
	const bc_app *app;	   /* target app, or current app when it is removed */
	const bc_service *current; /* container acted on */
	const bc_service *target;  /* service config acted toward */
	const bc_volume *volume;
	const bc_network *network;
	const char *image; /* FETCH */
	bool remove_image; /* KILL under delete-then-download */
	bool locked;	   /* NOOP: the app holds its update lock */
	char reason[160];
} bc_step;

typedef struct bc_plan {
	bc_step *steps; /* owned */
	size_t n;
} bc_plan;

typedef struct bc_image_have {
	const char *ref; /* a name the image is known by locally */
	const char *id;	 /* its sha256: id */
} bc_image_have;

/* What is known of an app's update locks when the plan is made. */
typedef struct bc_app_facts {
	int64_t app_id;
	bool locks_held;      /* we hold the app's update locks */
	const char *app_lock; /* the service whose lock the app itself holds
				 now, or NULL; while it holds one, nothing of
				 the app moves */
} bc_app_facts;

/* Everything the planner knows besides the two states, as data: it asks
 * nothing and does no I/O (lib/plan/engine.c gathers these before each round). */
typedef struct bc_plan_ctx {
	const bc_image_have *images; /* images present locally */
	size_t n_images;
	uint64_t now_ms;     /* wall clock, for hand-over timeouts */
	/* the apps (ids) whose volumes go with them once they leave the
	 * target (down -v); any other removed app's volumes stay */
	const int64_t *purge;
	size_t n_purge;
	bool use_locks;	     /* take apps' update locks (false: no locker) */
	const bc_app_facts *apps; /* lock facts per app; an app not here has
				     none held, none of its own */
	size_t n_apps;
	/* "<appId>/<service>" of the new containers that signalled their
	 * hand-over complete; may be NULL (then only the timeout ends one) */
	const bc_strv *handover_done;
} bc_plan_ctx;

int bc_plan_build(const bc_state *current, const bc_state *target, const bc_plan_ctx *ctx,
		  bc_plan *out, bc_err *err);
void bc_plan_free(bc_plan *p);

/* Steps other than NOOP. */
size_t bc_plan_actionable(const bc_plan *p);

const char *bc_action_name(enum bc_action a);
/* The step as the supervisor says it in the device's log ("Killed service
 * 'web'", "Failed to start service 'web' due to '...'"): rc and error as
 * the step ended. Returns false when the step is not one to tell (locks,
 * waiting). */
bool bc_step_say(const bc_step *s, int rc, const char *error, char *out, size_t n);

/* "KILL main" style one-line description into out. */
void bc_step_describe(const bc_step *s, char *out, size_t n);

#endif
