/* The reconciler's own state, shared by its request loop (main.c) and its
 * worker threads (worker.c) under one mutex. Nothing outside this daemon
 * sees it. */
#ifndef BC_REC_H
#define BC_REC_H

#include <pthread.h>

#include "lib/ipc/daemon.h"
#include "lib/plan/engine.h"

struct rec {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	json_t *target;       /* the v3 document to run; NULL until the first APPLY */
	uint64_t generation;  /* bumped by every APPLY and DOWN */
	uint64_t done_gen;    /* the generation the last converge was for */
	uint64_t step_gen;    /* the generation being converged (worker only) */
	bool settled;         /* the last converge left nothing to do */
	bool wake;            /* Docker changed under us: look again */
	bool remove_volumes;  /* DOWN -v: removed apps lose their volumes */
	bool stopping;
	json_t *state_doc;    /* the last converge's state document (lib/plan/statedoc.h) */
	json_t *downloads;    /* "<app>/<service>" -> {image, percent, current, total} */
	json_t *busy;         /* "<app>" -> its status while a converge works on it */
	json_t *leases;       /* app id -> our lease (locks.c) */
	json_t *app_locks;    /* app id -> a service whose lock the app holds */
	bool force;           /* APPLY --force: override app locks until settled */
	bool force_now;       /* this converge overrides (force or the config) */
	/* set once at start */
	char statefile[512];  /* where the target is kept across restarts */
	char leasefile[512];  /* and our lock leases (locks.c) */
	char lockdir[512];
	const int64_t *scope; /* BC_SCOPE_APPS, or NULL: every supervised app */
	size_t n_scope;
	size_t workers;
	nng_socket pub;
	uint64_t instance;    /* this run (lib/ipc/daemon.h): in ACK and STATE */
	pthread_t worker, events;
};

/* locks.c */
void rec_locks_refresh(struct rec *r);
/* Leases a previous run kept (renewed at the next refresh). */
void rec_load_leases(struct rec *r);
/* What the planner is to know of the apps' locks for one converge: *facts
 * (the caller's, free()) point into *keep (the caller's, json_decref). */
int rec_lock_facts(struct rec *r, json_t **keep, bc_app_facts **facts, size_t *n);
int rec_lock(void *ud, const bc_app *app, bool take, bc_err *err);
int rec_start_lock_events(struct rec *r, bc_err *err);

/* worker.c */
int rec_start_threads(struct rec *r, bc_err *err);
void rec_stop_threads(struct rec *r);
/* The STATE body of now (the last converge's document, what is busy and
 * coming). Called with mu held; st's strings are then st's own. */
int rec_state_body(struct rec *r, bc_body_state *st, bc_err *err);
/* Write r->target to r->statefile atomically. Called with mu held. */
int rec_persist(struct rec *r, bc_err *err);

#endif
