/* Runs one round of a plan against Docker. The steps of a round are
 * independent by construction (lib/plan/planner.h), so they run concurrently on
 * the daemon's worker pool (lib/base/pool.h), as many at once as there are
 * Docker handles. */
#ifndef BC_EXECUTOR_H
#define BC_EXECUTOR_H

#include "lib/base/pool.h"
#include "lib/docker/docker.h"
#include "lib/plan/planner.h"

typedef struct bc_exec_env {
	const char *lockdir; /* lock dirs are made here before a create; may be NULL */
	/* Fetch s->image for s->target (may block for long). NULL: pull directly. */
	int (*fetch)(void *ud, bc_docker *d, const bc_step *s, bc_err *err);
	/* Take (take=true) or release an app's update locks; running is the
	 * app as Docker has it (NULL: nothing of it there), d the step's
	 * Docker handle. NULL: no locks. */
	int (*lock)(void *ud, bc_docker *d, const bc_app *app, const bc_app *running, bool take,
		    bc_err *err);
	/* Asked right before each step that stops, removes or replaces a
	 * container of an app: -1 (err) refuses the step (the app's update
	 * lock lease ran out meanwhile). NULL: every step goes. */
	int (*guard)(void *ud, const bc_app *app, bc_err *err);
	/* Told about each step when it ends (rc 0 or -1 with err); may be NULL.
	 * Called on the thread that ran the step, one call at a time, under
	 * the round's lock: memory work only (post, record), no I/O. */
	void (*on_step)(void *ud, const bc_step *s, int rc, const bc_err *err);
	void *ud;
	/* Where the steps of a round run side by side (bc_pool_map from a job
	 * of this pool). NULL: one after the other on the calling thread. */
	bc_pool *pool;
} bc_exec_env;

/* Run every actionable step of plan. current is the state the plan was
 * made from (for network_mode service:<name>). Returns the number of steps
 * that failed (their errors went to on_step); the first error also goes to
 * err. */
int bc_exec_round(bc_docker **handles, size_t nhandles, const bc_plan *plan,
		  const bc_state *current, const bc_exec_env *env, bc_err *err);

/* One step, on one handle (what each worker runs). */
int bc_exec_step(bc_docker *d, const bc_step *s, const bc_state *current, const bc_exec_env *env,
		 bc_err *err);

#endif
