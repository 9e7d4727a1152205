/* Observe -> plan -> execute, round after round, until nothing is left but
 * waiting. Everything is derived from what Docker says at the start of each
 * round, so a crash at any point is recovered by simply converging again. */
#ifndef BC_ENGINE_H
#define BC_ENGINE_H

#include "lib/docker/docker.h"
#include "lib/plan/executor.h"
#include "lib/plan/planner.h"

#define BC_ENGINE_MAX_WORKERS 8

typedef struct bc_engine bc_engine;

/* nworkers Docker handles (1..BC_ENGINE_MAX_WORKERS). env is copied. The
 * caller frees with bc_engine_free. */
bc_engine *bc_engine_new(size_t nworkers, const bc_exec_env *env, bc_err *err);
void bc_engine_free(bc_engine *e);
/* The hooks for the converges from now on (copied): a daemon that gives
 * each converge its own ud. */
void bc_engine_set_env(bc_engine *e, const bc_exec_env *env);

/* How one app stands after a converge. */
enum bc_app_phase {
	BC_APP_SETTLED, /* nothing left to do for it */
	BC_APP_WAITING, /* only waiting is left (why: on what) */
	BC_APP_LOCKED,	/* it holds its update lock (why: which) */
	BC_APP_FAILED,	/* a step of it failed (why: the error) */
};

typedef struct bc_app_outcome {
	int64_t app_id;
	enum bc_app_phase phase;
	char why[512];
} bc_app_outcome;

typedef struct bc_converge {
	/* in */
	uint64_t now_ms;     /* for hand-over timeouts */
	const int64_t *purge; /* removed apps that lose their volumes too */
	size_t n_purge;
	int max_rounds;	     /* 0: 32 */
	/* Only these app ids are ours to touch (NULL: every supervised app).
	 * Apps outside it are invisible: never planned for, never removed. */
	const int64_t *scope;
	size_t n_scope;
	/* update locks: whether to take them, and what is known of each app's
	 * at the start (copied; the engine follows its own TAKE/RELEASE steps
	 * from there). The hand-over signals the engine reads itself, from
	 * the lock directories (env->lockdir). */
	bool use_locks;
	const bc_app_facts *facts;
	size_t n_facts;
	/* Told of each round's plan before it runs (what is busy now); may be
	 * NULL. Steps of apps that already failed or are locked are not in it. */
	void (*on_plan)(void *ud, const bc_plan *plan);
	/* optional: a round that has only waiting left (NOOP steps with
	 * their reasons), before the converge returns */
	void (*on_wait)(void *ud, const bc_plan *plan);
	void *ud;
	/* out */
	int rounds;	     /* rounds that executed steps */
	size_t steps_done;   /* steps executed */
	bool settled;	     /* the last plan was empty and no app failed */
	char waiting[512];   /* when not settled: the NOOP reasons, "; "-joined */
	uint64_t elapsed_ms; /* filled by the caller that times it; engine leaves it */
	/* Every app of the target and every app in scope that runs, each once.
	 * One app's failure does not hold the others back: its steps are left
	 * out of later rounds while the others go on. Owned by c: free with
	 * bc_converge_clear. */
	bc_app_outcome *apps;
	size_t n_apps;
} bc_converge;

/* Free what a converge left in c (its app outcomes). */
void bc_converge_clear(bc_converge *c);

/* The outcome of app_id in c, or NULL. */
const bc_app_outcome *bc_converge_app(const bc_converge *c, int64_t app_id);

/* Converge Docker toward target, round after round, until only waiting or
 * failed apps are left. Returns 0 when no app failed (see c->settled), -1
 * when an app failed (err: the first failure; c->apps says whose) or Docker
 * could not be observed. */
int bc_engine_converge(bc_engine *e, const bc_state *target, bc_converge *c, bc_err *err);

/* Current state as Docker has it now (what a round starts from), only the
 * apps in scope (NULL: all). The caller frees with bc_state_free. */
int bc_engine_observe(bc_engine *e, const int64_t *scope, size_t n_scope, bc_state *current,
		      bc_err *err);

/* The first Docker handle, for callers' own reads. Owned by e. */
bc_docker *bc_engine_docker(bc_engine *e);

#endif
