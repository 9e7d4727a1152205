/* The fetcher's own state. Its loop (lib/ipc/daemon.h) owns all of it: the
 * job table (lib/fetch/jobs.h), the list of images we pulled, the requests.
 * Each attempt of a pull is one job of the worker pool (jobs.c) working on
 * its own struct pull; it posts progress back and ends with what it found.
 * A retry waits on the loop's timer, not on a thread. No mutex of the
 * daemon's own. */
#ifndef BC_FETCHER_H
#define BC_FETCHER_H

#include <stdatomic.h>

#include "lib/fetch/fetch.h"
#include "lib/fetch/jobs.h"
#include "lib/ipc/daemon.h"

struct pull;

struct fetcher {
	struct bc_daemon *d;
	bc_pool *pool;
	uint64_t instance; /* this run (lib/ipc/daemon.h): in every job message */
	/* the loop's */
	bc_jobs jobs;			 /* lib/fetch/jobs.h */
	struct pull *pulls[BC_JOBS_MAX]; /* the job's pull, by slot; NULL: none */
	size_t pulling;			 /* attempts out on the pool now */
	bc_strs pulled;			 /* images we pulled (cleanup.c), as kept on disk */
	bool stopping;
	atomic_bool guard_warned; /* the disk guard said once that it cannot see the disk */
	/* set once at start */
	size_t workers;
	unsigned retries;
	const char *reserve;  /* BC_DISK_RESERVE, or NULL */
	const char *statedir; /* BC_STATEDIR (the list of images we pulled) */
	const char *config;   /* BC_CONFIG (the device's credentials) */
};

/* jobs.c (on the loop) */
int fetcher_jobs_start(struct fetcher *f, bc_err *err);
/* Start what is queued, as far as the concurrency allows. */
void fetcher_kick(struct fetcher *f);
/* Cancel the pull of job j (a queued job is ended by the caller). */
void fetcher_cancel_pull(struct fetcher *f, const bc_job *j);
/* Tell every pull to stop (the daemon stops). */
void fetcher_stop_pulls(struct fetcher *f);
/* Publish a job's end on PUB. */
void fetcher_publish_done(struct fetcher *f, const bc_job *j);

/* regsize.c: the size of image by its registry's manifest, through the
 * helper bc-regsize. user/key may be NULL (anonymous). Blocks: a pool job's. */
int fetcher_image_size(const char *image, const char *user, const char *key, int timeout_s,
		       uint64_t *bytes, bc_err *err);

/* cleanup.c (on the loop) */
void fetcher_pulled_load(struct fetcher *f);
/* Remember that we pulled ref. */
void fetcher_record_pull(struct fetcher *f, const char *ref);
/* CLEANUP: the removals run on the pool; the reply comes when they end. */
int fetcher_cleanup(struct fetcher *f, const bc_body_cleanup *req, bc_msg *rep, bc_err *err);

#endif
