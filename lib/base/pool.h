/* The worker pool: one per daemon, a fixed number of threads for the work
 * that blocks (Docker calls, pulls, calls to another daemon, disk), so the
 * daemon's loop never does.
 *
 * What a job finds goes back to the loop: the loop watches bc_pool_fd() and
 * calls bc_pool_dispatch(), which runs, on the loop's thread and in order,
 * the posts (bc_pool_post: a running job's progress) and each finished
 * job's done(). So a daemon's state is touched by its loop alone, and a job
 * works on what it was given and reports back: no lock of the daemon's own.
 * The pool's single mutex guards its queues only; no job runs under it.
 *
 * A job that fans out (a round of independent steps) uses bc_pool_map: the
 * idle threads help, the calling thread works too, so it never waits on a
 * thread that is busy elsewhere (no deadlock however full the pool is). */
#ifndef BC_POOL_H
#define BC_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/base/err.h"

#define BC_POOL_MAX_THREADS 32

typedef struct bc_pool bc_pool;

/* nthreads (1..BC_POOL_MAX_THREADS) started now; at most max_jobs jobs
 * queued or running at once (bc_pool_submit refuses beyond). The caller
 * frees with bc_pool_free. */
bc_pool *bc_pool_new(size_t nthreads, size_t max_jobs, bc_err *err);

/* Readable when something waits for bc_pool_dispatch. Owned by the pool. */
int bc_pool_fd(const bc_pool *p);

/* Run work(ud) on a worker thread, then done(ud, true) on the loop's
 * thread (bc_pool_dispatch). A job never started because the pool is
 * being freed gets done(ud, false). done is where ud is freed. Returns 0,
 * or -1 with err (BC_ETOOBIG: max_jobs are queued or running; done is
 * then not called). From the loop's thread. */
int bc_pool_submit(bc_pool *p, void (*work)(void *ud), void (*done)(void *ud, bool ran), void *ud,
		   bc_err *err);

/* From a job (any thread): fn(ud) runs on the loop's thread, after what
 * was posted before it and before the posting job's done. fn frees ud.
 * Returns 0, or -1 when out of memory (fn is then not called). */
int bc_pool_post(bc_pool *p, void (*fn)(void *ud), void *ud);

/* On the loop's thread: run what the workers have posted and the done() of
 * each finished job. */
void bc_pool_dispatch(bc_pool *p);

/* From a job (or any thread but the loop's: it blocks): fn(ud, i) for
 * every i in [0, n), at most width at once, on this thread and on idle
 * threads of the pool; returns when all n have returned. fn may run on any
 * of those threads. */
void bc_pool_map(bc_pool *p, size_t n, size_t width, void (*fn)(void *ud, size_t i), void *ud);

/* Stop: running jobs are waited for (a daemon's stop() tells its jobs to
 * end early first), queued ones get done(ud, false), and every post and
 * done still waiting is dispatched. From the loop's thread. NULL is a
 * no-op. */
void bc_pool_free(bc_pool *p);

#endif
