/* The reconciler's own state, shared by its request loop (main.c) and its
 * worker threads (worker.c) under one mutex. Nothing outside this daemon
 * sees it. */
#ifndef BC_REC_H
#define BC_REC_H

#include <pthread.h>

#include "../../lib/daemon.h"
#include "../../lib/engine.h"

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
	char *state_doc;      /* the last state document (JSON text) */
	json_t *downloads;    /* service -> {image, percent, current, total} */
	/* set once at start */
	char statefile[512];  /* where the target is kept across restarts */
	char lockdir[512];
	int64_t *scope;       /* BC_SCOPE_APPS, or NULL: every supervised app */
	size_t n_scope;
	size_t workers;
	nng_socket pub;
	pthread_t worker, events;
};

/* worker.c */
int rec_start_threads(struct rec *r, bc_err *err);
void rec_stop_threads(struct rec *r);
/* Write r->target to r->statefile atomically. Called with mu held. */
int rec_persist(struct rec *r, bc_err *err);

#endif
