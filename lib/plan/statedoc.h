/* The state document: what the reconciler publishes in STATE and what the
 * CLI (`state --json`, `ps --json`) and the Composer API read. Built here,
 * from data only (no I/O), so its shape is written down once:
 *
 *   {"generation": N, "settled": bool, "error": "..."?, "waiting": "...",
 *    "rounds": N, "steps": N, "converge_ms": N,
 *    "apps": [APP, ...]}
 *
 * APP, one per app of the target and per app that still runs (the same
 * document bc_composer_state returns):
 *
 *   {"id": N, "uuid": "..."?, "name": "..."?, "commit": "..."?,
 *    "removed": true? (not in the target: what is left of it is on its way
 *                      out, or is its volumes, kept by a down without -v;
 *                      name: from the labels of what is left),
 *    "status": "Idle" | "Downloading" | "Updating" | "Waiting" |
 *              "Waiting for update lock" | "Failed" | "Settling" |
 *              "Rolled back",
 *    "error": "..."?   (status Failed, Rolled back: why),
 *    "rolled_back": "<commit>"? (status Rolled back: the release that failed
 *                      its settle period; the one before it runs),
 *    "skipped": ["<service>", ...]? (optional services of its release left
 *                      out: their contracts are unmet),
 *    "ignored": ["<service>: <key>", ...]? (composition keys of its release
 *                      left out, as the supervisor drops what it does not
 *                      know),
 *    "waiting": "..."? (status Waiting*: on what),
 *    "services": {"<name>": SERVICE, ...},
 *    "networks": {"<name>": {"status": "created" | "pending"}, ...},
 *    "volumes":  {"<name>": {"status": "created" | "pending"}, ...}}
 *
 * SERVICE: {"status": Docker's state ("running", "exited", ...), or
 *                     "downloading" / "pending" while it has no container,
 *           "image": "...", "release": N, "commit": "..."?,
 *           "container": "..."?, "id": "<12 hex>"?,
 *           "health_restarts": N? (restarted for being unhealthy, since the
 *                      reconciler started),
 *           "download": {"image": "...", "percent": N, "current": N,
 *                        "total": N}? (while its next image comes)}
 *
 * "Idle": nothing is happening to the app (it runs as its target says, or
 * nothing of it exists). An app with no container and no target is
 * {"status": "Idle", "services": {}, "networks": {}, "volumes": {}}. */
#ifndef BC_STATEDOC_H
#define BC_STATEDOC_H

#include <jansson.h>

#include "proto/proto.h"
#include "lib/plan/engine.h"
#include "lib/model/model.h"

typedef struct bc_statedoc_in {
	uint64_t generation;
	const bc_state *current; /* as Docker has it, in scope; may be NULL */
	const bc_state *target;	 /* may be NULL */
	const bc_converge *c;	 /* the converge's totals and app outcomes */
	const char *error;	 /* the converge failed as a whole: why; may be NULL */
} bc_statedoc_in;

/* A new document (the caller's), or NULL when out of memory. */
json_t *bc_statedoc_build(const bc_statedoc_in *in);

/* app_id's document in doc, borrowed from it; NULL when doc has none. */
json_t *bc_statedoc_find(const json_t *doc, int64_t app_id);

/* Is app (one app's document) the one want names: its id, uuid or name? */
bool bc_statedoc_app_is(const json_t *app, const char *want);

/* app_id's document out of doc (a new reference), or the Idle document when
 * doc has no such app. NULL only when out of memory. */
json_t *bc_statedoc_app(const json_t *doc, int64_t app_id);

/* An app's status (enum bc_app_status) as the document writes it ("Idle",
 * ..., "Failed"), or NULL for a number that is none. */
const char *bc_app_status_name(int status);

/* The document as a STATE body (typed, proto/proto.h) and back. to_msg
 * fills out with owned copies (bc_msg_clear of the message frees them),
 * cut to the message's bounds (BC_STATE_MAX_*);
 * -1 with err when doc does not have the shape above or exceeds a bound.
 * from_msg returns a new document (the caller's), NULL when out of memory. */
int bc_statedoc_to_msg(const json_t *doc, bc_body_state *out, bc_err *err);
json_t *bc_statedoc_from_msg(const bc_body_state *st);

/* --- the typed form, between converges ----------------------------------
 * The reconciler keeps the last converge's state as its STATE body and
 * lays over it what changes until the next one ends. */

/* An app being converged now: "Downloading" while one of its images
 * comes, else "Updating". */
typedef struct bc_busy {
	int64_t app_id;
	bool downloading;
} bc_busy;

/* A service's next image, coming. */
typedef struct bc_download {
	int64_t app_id;
	char service[256];
	char image[512];
	unsigned percent;
	uint64_t current, total;
} bc_download;

/* A deep copy of from into to (the caller's: bc_msg_clear of a message
 * holding it, or bc_statebody_free). -1 with err when out of memory. */
int bc_statebody_copy(bc_body_state *to, const bc_body_state *from, bc_err *err);
void bc_statebody_free(bc_body_state *st);

/* app_id's record in st, borrowed from it; NULL when st has none. */
bc_app_rec *bc_statebody_find(const bc_body_state *st, int64_t app_id);

/* Is a the app want names: its id, uuid or name? */
bool bc_app_rec_is(const bc_app_rec *a, const char *want);

/* Lay a newer target over st, in place, before a converge has run on it:
 * each of its apps whose release (commit) is not the one st shows gets
 * that commit and status Updating (an app st does not know yet is added
 * so); the containers stay as they are. Apps without a commit (a compose
 * project) change nothing. -1 when out of memory (st holds less). */
int bc_statebody_pending(bc_body_state *st, const bc_state *target);

/* Lay what changes between converges over st, in place: the apps being
 * converged (an app st does not know is added), the images coming (a
 * service with no record gets one, "downloading"; a pending one is
 * "downloading" now). -1 when out of memory (st holds less). */
int bc_statebody_overlay(bc_body_state *st, const bc_download *dl, size_t n_dl, const bc_busy *busy,
			 size_t n_busy);

#endif
