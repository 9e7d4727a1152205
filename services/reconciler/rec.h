/* The reconciler's own state. Its loop (lib/ipc/daemon.h) owns everything
 * here: requests (main.c), Docker's and the locker's events (events.c) and
 * the results that rounds post back are all handled on it. A converge
 * round (round.c) runs as one job of the worker pool, on a copy of what it
 * needs, and reports back through the loop (bc_pool_post); one round at a
 * time. No mutex: what both touch while a round runs is atomic
 * (lib/locks/held.h). Nothing outside this daemon sees it. */
#ifndef BC_REC_H
#define BC_REC_H

#include "lib/core/recon.h"
#include "lib/core/release.h"
#include "lib/core/trial.h"
#include "lib/core/health.h"
#include "lib/docker/docker.h"
#include "lib/fetch/backoff.h"
#include "lib/ipc/daemon.h"
#include "lib/locks/held.h"
#include "lib/plan/engine.h"
#include "lib/plan/statedoc.h"

#define BC_SICK_RESTARTS 32 /* restarts one round does at most */

struct rec {
	struct bc_daemon *d;
	bc_pool *pool;
	/* the loop's */
	bc_release *target; /* what to run, parsed once; NULL until the first APPLY */
	/* the release history: the last target that settled (what going back
	 * means: its images are kept by the cleanup while it is the last);
	 * kept in settledfile, read at start; NULL: none yet */
	bc_release *last_good;
	/* the update on trial (health-gated: lib/core/trial.h) and the
	 * releases that failed theirs, per app; kept in trialfile */
	bc_trial trial;
	bc_trial_book failed;
	uint64_t settle_ms;  /* BC_SETTLE_PERIOD */
	uint64_t trial_wake; /* monotonic ms: judge the trial then (UINT64_MAX: no) */
	bool cleanup_due;    /* a commit let the release before go: its images too */
	/* unhealthy containers (lib/core/health.h), those due a restart in
	 * the next round, and how many times each service was restarted */
	bc_sick_table sick;
	uint64_t unhealthy_ms; /* BC_UNHEALTHY_RESTART */
	bc_sick_obs restart[BC_SICK_RESTARTS];
	size_t n_restart;
	struct {
		int64_t app_id;
		char service[128];
		uint64_t n;
	} counts[BC_SICK_MAX];
	size_t n_counts;
	/* generations, rounds, retries, --force, down -v's apps, what was
	 * said: the decisions (lib/core/recon.h); purge kept in purgefile */
	bc_recon core;
	bool cloud; /* config.json: the cloud's target rules (no local up) */
	char config[256];
	/* what the device is, to judge services' contracts by (read at start) */
	bc_device_facts facts;
	/* config.json's deviceApiKey (a secret: never logged) and apiEndpoint,
	 * as of the last target made (io.balena.features.balena-api) */
	char api_key[520], api_url[2056];
	/* the last converge's state (lib/plan/statedoc.h), typed as STATE
	 * carries it; sdoc_ok: one has ended (else a zeroed, empty one) */
	bc_body_state sdoc;
	bool sdoc_ok;
	/* what changes until the next converge ends: the apps being
	 * converged, the images coming (at most one per service) */
	bc_busy *busy;
	size_t n_busy;
	bc_download *downloads;
	size_t n_downloads;
	/* pulls that failed: when each image is tried again
	 * (lib/fetch/backoff.h). The loop's: a round reads a copy and posts
	 * each pull's end back. A new target clears it. At most
	 * BC_PULL_BACKOFF_MAX_IMAGES (256) images, the oldest-due going. */
	bc_pull_backoff pulls;
	uint64_t pull_cap_ms; /* the longest wait: the cloud's poll interval */
	bc_held leases;	      /* our leases, as kept in leasefile (locks.c) */
	struct round *round;  /* the one out on the pool, or NULL */
	uint64_t renew_at;    /* monotonic ms: renew our leases (locks.c) */
	bool renewing;	      /* a renewal is out on the pool */
	/* the round's while one runs (one at a time; handed over by the pool) */
	bc_engine *eng;
	/* Docker's events and the locker's (events.c) */
	bc_docker_stream *events;
	uint64_t events_retry_at; /* monotonic ms; 0: open */
	unsigned events_failures;
	nng_socket lock_sub;
	int lock_fd; /* -1: not watched */
	/* set once at start */
	char statefile[512];   /* where the target is kept across restarts */
	char leasefile[512];   /* and our lock leases (locks.c) */
	char purgefile[512];   /* and r->core.purge */
	char settledfile[512]; /* and r->last_good */
	char trialfile[512];   /* and r->trial, r->failed */
	char lockdir[512];
	const int64_t *scope; /* BC_SCOPE_APPS, or NULL: every supervised app */
	size_t n_scope;
	size_t workers;
	uint64_t lock_ttl_ms; /* BC_LOCK_TTL_MS: leases are renewed every third of it */
	uint64_t instance;    /* this run (lib/ipc/daemon.h): in ACK and STATE */
};

/* One converge, out on the pool: what it was given and what it found. */
struct round {
	struct rec *r;	  /* only its constant parts and the round's are read */
	bc_release *rel;  /* the target (a reference) */
	bc_release *kept; /* r->last_good when it went out (a reference), or NULL */
	uint64_t gen;
	int64_t purge[BC_STATE_MAX_APPS]; /* a copy of r->core.purge */
	size_t n_purge;
	bool force_now;
	bool cleanup; /* clean images up even when it changes nothing */
	/* the apps on trial: their containers are looked at closely */
	int64_t trial_apps[BC_STATE_MAX_APPS];
	size_t n_trial;
	/* unhealthy containers to restart first */
	bc_sick_obs restart[BC_SICK_RESTARTS];
	size_t n_restart;
	bc_pull_backoff pulls; /* a copy of r->pulls: read only */
	/* a copy of r->leases, changed as locks are taken (the workers) and
	 * marked where a lease ran out meanwhile (the loop): no lock, its
	 * fields are atomic (lib/locks/held.h) */
	bc_held leases;
	/* the apps that hold their own lock, and a service of each whose lock
	 * it is (rec_locks_refresh, before the converge) */
	struct {
		int64_t app_id;
		char service[256];
	} app_locks[BC_STATE_MAX_APPS];
	size_t n_app_locks;
};

/* locks.c: on the round's thread, except rec_load_leases and
 * rec_lease_set (the loop). */
void rec_load_leases(struct rec *r);
/* Renew the round's leases, learn which apps hold their own lock. */
void rec_locks_refresh(struct round *rd);
/* What the planner is to know of the apps' locks for one converge: *facts
 * (the caller's, free()) point into rd. */
int rec_lock_facts(struct round *rd, bc_app_facts **facts, size_t *n);
/* The executor's lock hook (bc_exec_env.lock); ud is the round. */
int rec_lock(void *ud, bc_docker *d, const bc_app *app, const bc_app *running, bool take,
	     bc_err *err);
/* On the loop: our lease of an app is now lease (0: none); kept on disk. */
void rec_lease_set(struct rec *r, int64_t app_id, uint64_t lease);
/* The executor's guard (bc_exec_env.guard): refuses a destructive step of
 * an app whose lease ran out while the round ran. ud is the round. */
int rec_guard(void *ud, const bc_app *app, bc_err *err);
/* On the loop: renew our leases every third of the TTL, rounds or not (a
 * round can run far longer than a lease: a pull, a slow stop). */
int rec_renewals_start(struct rec *r, bc_err *err);

/* events.c: the loop follows Docker's events and the locker's; each sets
 * r->wake. A stream that breaks is logged and opened again. */
int rec_events_start(struct rec *r, bc_err *err);
void rec_events_stop(struct rec *r);

/* round.c */
int rec_rounds_start(struct rec *r, bc_err *err);
/* The STATE body of now (the last converge's document, what is busy and
 * coming); st's strings are then st's own. */
int rec_state_body(struct rec *r, bc_body_state *st, bc_err *err);
/* Write r->target to r->statefile atomically (and r->core.purge to its
 * file). */
int rec_persist(struct rec *r, bc_err *err);
/* r->purge: add app (down -v), or drop those that the target has again or
 * that are gone from Docker (doc: the last state document, NULL: keep
 * those). Kept on disk by rec_persist. */
void rec_purge_add(struct rec *r, int64_t app);
/* r->core.purge from purgefile (at start). */
void rec_load_purge(struct rec *r);
void rec_purge_prune(struct rec *r, const bc_body_state *doc);

/* The target settled: it is the release to go back to from the next one
 * (kept on disk, read at start). */
void rec_remember_settled(struct rec *r);

/* trial.c, on the loop: health-gated updates (lib/core/trial.h). */
/* The target changed by APPLY or DOWN: its apps that differ from the last
 * committed release go on trial. */
void rec_trial_arm(struct rec *r);
/* Before an APPLY's merged document is taken: an app whose release failed
 * and was rolled back, coming again unchanged (and not forced), keeps the
 * release that runs; one that changed (or forced) is forgotten as failed.
 * Returns how many were kept back, -1 when out of memory. */
int rec_trial_filter(struct rec *r, json_t *merged, bool force);
/* app left the target: what failed of it is forgotten. */
void rec_trial_forget(struct rec *r, int64_t app);
/* May a settled target become the release to go back to (no trial, no
 * app of it a release that failed with nothing before it)? */
bool rec_trial_committable(const struct rec *r);
/* A round of the current generation ended (settled or not) and saw obs
 * of the apps on trial: commit, roll back or wait. */
void rec_trial_seen(struct rec *r, bool settled, const bc_trial_obs *obs, size_t n);
/* A step ended: a failed create or start of an app on trial rolls back. */
void rec_trial_step(struct rec *r, const bc_body_step *st, bool locked);
/* Lay the trial over a STATE body: Settling, Rolled back, Failed. */
void rec_trial_overlay(const struct rec *r, bc_body_state *st);
/* At start: read trialfile, finish a roll back a restart cut short, go on
 * with the trial, and judge it when its period ends (a timer). */
int rec_trial_start(struct rec *r, bc_err *err);

/* health.c, on the loop: unhealthy containers restarted. */
int rec_health_start(struct rec *r, bc_err *err);
/* A round saw these containers unhealthy (and every other one not). */
void rec_health_seen(struct rec *r, const bc_sick_obs *obs, size_t n);
/* A round restarted o (or failed to). */
void rec_health_restarted(struct rec *r, const bc_sick_obs *o, bool ok, const char *error);
/* The count of each service's restarts, laid over a STATE body. */
void rec_health_overlay(const struct rec *r, bc_body_state *st);

/* How targets are made into releases here (every one the same way: a
 * service's config, and so its hash, must not depend on where it came
 * from): the lock dir, the device's facts, and for the balena-api label
 * config.json's key and endpoint, read again now (provisioning writes
 * them while we run). o points into r. */
void rec_target_opts(struct rec *r, bc_target_opts *o);

/* Is app one the reconciler may touch (BC_SCOPE_APPS; none set: all)? */
bool rec_in_scope(const struct rec *r, int64_t app);

#endif
