/* The fetcher's job table: what is asked, what is pulling, how each ended.
 * Pure: no I/O, no lock (the caller holds its own). Bounded: a full table
 * reuses the oldest ended job's slot, and refuses when every job is still
 * in flight. */
#ifndef BC_JOBS_H
#define BC_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#define BC_JOBS_MAX 128

enum bc_job_state { BC_JOB_QUEUED, BC_JOB_PULLING, BC_JOB_DONE, BC_JOB_FAILED, BC_JOB_CANCELLED };

typedef struct bc_job {
	uint64_t id; /* 0: a free slot; numbered from 1 in each run */
	char image[512];
	char *auth; /* X-Registry-Auth given with the FETCH: a secret, owned,
		       wiped when the job ends */
	enum bc_job_state state;
	bool cancel; /* asked to stop while it pulls */
	unsigned attempts;
	uint64_t current, total;
	unsigned percent;
	char image_id[128];
	char error[512];
} bc_job;

typedef struct bc_jobs {
	bc_job slot[BC_JOBS_MAX];
	uint64_t next_id;
} bc_jobs;

/* The job that gets image: the one already queued or pulling for the same
 * reference (one pull serves every asker), or a new queued one (*fresh set;
 * auth, if not NULL, is copied into it). NULL when BC_JOBS_MAX jobs are in
 * flight, or out of memory. */
bc_job *bc_jobs_submit(bc_jobs *t, const char *image, const char *auth, bool *fresh);

/* Is image asked for or pulling now? */
bool bc_jobs_in_flight(const bc_jobs *t, const char *image);

/* The job of that id, or NULL. */
bc_job *bc_jobs_get(bc_jobs *t, uint64_t id);

/* The oldest queued job, now marked pulling (its auth handed over to the
 * caller in *auth: the caller's, to wipe and free), or NULL. */
bc_job *bc_jobs_start_next(bc_jobs *t, char **auth);

/* A job ends: its state, the image id (done) or why (failed, cancelled);
 * auth is wiped. */
void bc_jobs_end(bc_job *j, enum bc_job_state st, const char *image_id, const char *error);

/* Cancel: a queued job ends at once (1: tell its end); a pulling one is
 * marked for its worker to stop (0). */
int bc_jobs_cancel(bc_job *j);

/* "queued", "pulling", "done", "failed", "cancelled". */
const char *bc_job_state_name(enum bc_job_state st);

#endif
