/* Observe -> plan -> execute, round after round, until nothing is left but
 * waiting. Everything is derived from what Docker says at the start of each
 * round, so a crash at any point is recovered by simply converging again. */
#ifndef BC_ENGINE_H
#define BC_ENGINE_H

#include "docker.h"
#include "executor.h"
#include "planner.h"

#define BC_ENGINE_MAX_WORKERS 8

typedef struct bc_engine bc_engine;

/* nworkers Docker handles (1..BC_ENGINE_MAX_WORKERS). env is copied. The
 * caller frees with bc_engine_free. */
bc_engine *bc_engine_new(size_t nworkers, const bc_exec_env *env, bc_err *err);
void bc_engine_free(bc_engine *e);

typedef struct bc_converge {
	/* in */
	uint64_t now_ms;     /* for hand-over timeouts */
	bool remove_volumes; /* removed apps lose their volumes too */
	int max_rounds;	     /* 0: 32 */
	/* Only these app ids are ours to touch (NULL: every supervised app).
	 * Apps outside it are invisible: never planned for, never removed. */
	const int64_t *scope;
	size_t n_scope;
	/* hand-over signal and locks, passed to the planner; may be NULL */
	bool (*handover_complete)(void *ud, const bc_app *app, const bc_service *svc);
	bool (*lock_held)(void *ud, const bc_app *app);
	const char *(*app_lock)(void *ud, const bc_app *app);
	void *ud;
	/* out */
	int rounds;	     /* rounds that executed steps */
	size_t steps_done;   /* steps executed */
	bool settled;	     /* the last plan was empty */
	char waiting[512];   /* when not settled: the NOOP reasons, "; "-joined */
	uint64_t elapsed_ms; /* filled by the caller that times it; engine leaves it */
} bc_converge;

/* Converge Docker toward target. Returns 0 when the plan is empty or holds
 * only NOOPs (see c->settled), -1 on the first round with a failed step or
 * a failure to observe (err says which). */
int bc_engine_converge(bc_engine *e, const bc_state *target, bc_converge *c, bc_err *err);

/* Current state as Docker has it now (what a round starts from). The
 * caller frees with bc_state_free. */
int bc_engine_observe(bc_engine *e, bc_state *current, bc_err *err);

/* The first Docker handle, for callers' own reads. Owned by e. */
bc_docker *bc_engine_docker(bc_engine *e);

#endif
