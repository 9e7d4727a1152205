/* The fetcher's own state: its job table (lib/fetch/jobs.h), shared by the request loop
 * (main.c) and the pulling workers (jobs.c) under one mutex. */
#ifndef BC_FETCHER_H
#define BC_FETCHER_H

#include <pthread.h>

#include "lib/ipc/daemon.h"
#include "lib/fetch/fetch.h"
#include "lib/fetch/jobs.h"

#define FETCHER_MAX_WORKERS 16

struct fetcher {
	uint64_t instance; /* this run (lib/ipc/daemon.h): in every job message */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bc_jobs jobs; /* lib/fetch/jobs.h */
	bool stopping;
	bool guard_warned; /* the disk guard said once that it cannot see the disk */
	/* set once at start */
	size_t workers;
	unsigned retries;
	const char *reserve;  /* BC_DISK_RESERVE, or NULL */
	const char *statedir; /* BC_STATEDIR (the list of images we pulled) */
	const char *config;   /* BC_CONFIG (the device's credentials) */
	nng_socket pub;
	pthread_t th[FETCHER_MAX_WORKERS];
};

/* jobs.c */
int fetcher_start_workers(struct fetcher *f, bc_err *err);
void fetcher_stop_workers(struct fetcher *f);
/* Under mu: publish a job's end on PUB. */
void fetcher_publish_done(struct fetcher *f, const bc_job *j);

/* regsize.c: the size of image by its registry's manifest, through the
 * helper bc-regsize. user/key may be NULL (anonymous). */
int fetcher_image_size(const char *image, const char *user, const char *key, int timeout_s,
		       uint64_t *bytes, bc_err *err);

/* cleanup.c. Under mu: remember that we pulled ref. */
void fetcher_record_pull(struct fetcher *f, const char *ref);
/* CLEANUP (takes mu itself). */
int fetcher_cleanup(struct fetcher *f, const bc_body_cleanup *req, bc_msg *rep, bc_err *err);

#endif
