/* The trial of an update: health-gated commit and rollback, decided apart
 * from the reconciler's loop. Pure: no I/O, no clock (now comes in, wall
 * milliseconds, since the trial is kept on disk across restarts), no
 * thread.
 *
 * A new target's apps that differ from the last committed release are on
 * trial from the APPLY (bc_trial_begin). Once a round has settled them,
 * the settle period runs (bc_trial_settled). An app's update is committed
 * when every service of it has run for the whole period: running, not
 * restarted by Docker, healthy where it has a healthcheck (or, a one-shot
 * service, exited 0). It fails at once when a service of it is restarted
 * by Docker (a crash loop), exits non-zero, turns unhealthy, or a create
 * or start of it fails; the reconciler then puts the release before it
 * back (the way back is its: see services/reconciler/trial.c).
 *
 * What a release failed with is kept per app (bc_trial_failed), so a
 * target that comes again with the same content is not tried again until
 * it changes (every local `up -f` has commit "local": the content is the
 * key, lib/core/release.h bc_release_app_key). */
#ifndef BC_CORE_TRIAL_H
#define BC_CORE_TRIAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define BC_TRIAL_PERIOD_MS 30000 /* BC_SETTLE_PERIOD's default */
#define BC_TRIAL_MAX_BASE 256	 /* containers whose restart count is kept */
#define BC_TRIAL_MAX_FAILED 64	 /* apps whose failed release is kept */

/* What a round saw of one container of an app on trial (Docker's inspect
 * of it, and its service's target). */
typedef struct bc_trial_obs {
	int64_t app_id;
	char service[128];
	char container[72]; /* its id */
	int64_t created;    /* unix seconds */
	bool running;	    /* State.Running (and not Restarting) */
	bool restarting;    /* State.Restarting: Docker brings it back */
	int exit_code;	    /* State.ExitCode */
	uint8_t health;	    /* enum bc_health (lib/model/model.h) */
	uint64_t restarts;  /* RestartCount: Docker's restarts by policy */
	bool one_shot;	    /* restart policy no / on-failure: an exit 0 ends it well */
	bool wanted;	    /* the target wants it running (else not judged) */
} bc_trial_obs;

typedef struct bc_trial {
	bool on;
	uint64_t armed;	    /* wall ms: when the target came */
	uint64_t since;	    /* wall ms: when a round first settled it; 0: not yet */
	uint64_t period_ms; /* the longest settle period of its services */
	int64_t apps[BC_STATE_MAX_APPS];
	size_t n_apps;
	/* each container's RestartCount when first seen (one created for the
	 * trial starts from 0) */
	struct {
		char container[72];
		uint64_t restarts;
	} base[BC_TRIAL_MAX_BASE];
	size_t n_base;
} bc_trial;

/* An app's release that failed its trial. */
typedef struct bc_trial_failed {
	int64_t app_id;
	char key[17];	  /* the failed release's content (bc_release_app_key) */
	char commit[128]; /* its commit ("" when it has none) */
	char reason[512]; /* why, for people */
	bool rolled_back; /* the release before it came back (else there was none) */
	uint64_t at;	  /* wall ms */
} bc_trial_failed;

typedef struct bc_trial_book {
	bc_trial_failed v[BC_TRIAL_MAX_FAILED];
	size_t n;
} bc_trial_book;

enum bc_trial_verdict { BC_TRIAL_WAIT = 0, BC_TRIAL_COMMIT, BC_TRIAL_FAIL };

/* apps (n; at most BC_STATE_MAX_APPS are kept) go on trial for period_ms,
 * the target having come at now. n 0: no trial (t->on false). */
void bc_trial_begin(bc_trial *t, const int64_t *apps, size_t n, uint64_t period_ms, uint64_t now);

/* The trial ends (committed, failed or replaced). */
void bc_trial_end(bc_trial *t);

/* A round left the trial's apps as the target says: the settle period
 * starts now, if it has not yet. */
void bc_trial_settled(bc_trial *t, uint64_t now);

/* Is app on trial? */
bool bc_trial_judges(const bc_trial *t, int64_t app);

/* When the settle period ends (wall ms); 0: it has not started. */
uint64_t bc_trial_deadline(const bc_trial *t);

/* Judge the trial by what a round saw of its apps' containers (obs, n; a
 * service of a judged app the target wants running but that has no
 * container yet is waited on). FAIL: why (len bytes) says which service
 * and what, e.g. "service 'main' restarted 3 times (exit code 1)". COMMIT:
 * the period has passed and every judged service ran through it. WAIT:
 * neither yet (before the period started, a failure is still judged). */
int bc_trial_judge(bc_trial *t, const bc_trial_obs *obs, size_t n, uint64_t now, char *why,
		   size_t len);

/* A step of app ended. Does it fail the trial? A create, start or
 * hand-over that failed does (why says so); a fetch does not (the old
 * release runs on while the image is tried again), nor a wait on a lock. */
bool bc_trial_step(const bc_trial *t, int64_t app, const char *action, const char *service, bool ok,
		   bool locked, const char *error, char *why, size_t len);

/* The book of failed releases: app's entry, or NULL. */
const bc_trial_failed *bc_trial_failed_of(const bc_trial_book *b, int64_t app);
/* Record f (replacing app's entry; the oldest goes when it is full). */
void bc_trial_failed_put(bc_trial_book *b, const bc_trial_failed *f);
/* app's entry goes (its target changed, or it left). */
bool bc_trial_failed_drop(bc_trial_book *b, int64_t app);

/* As kept on disk (the caller writes it): a new document, or NULL when out
 * of memory; and back: what is not a valid document leaves *t / *b empty
 * (returns -1). */
json_t *bc_trial_to_json(const bc_trial *t, const bc_trial_book *b);
int bc_trial_from_json(const json_t *doc, bc_trial *t, bc_trial_book *b);

#endif
