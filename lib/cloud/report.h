/* The device's state report to the cloud (PATCH /device/v3/state), built
 * from the reconciler's state (its STATE, typed: lib/plan/statedoc.h), and
 * the diff that makes a report carry only what changed. Pure: no I/O. The
 * report is the cloud's JSON: made here, and what the cloud last accepted
 * kept here (bc_reporter), never in the gateway.
 *
 * The device part of a report (what goes under the device's uuid):
 *
 *   {"status": "Idle" | "Updating",
 *    "apps": {"<app uuid>": {"release_uuid": "<commit>"?,
 *             "releases": {"<commit>": {"update_status": S,
 *                 "services": {"<name>": {"image": "...", "status": "Running" ...,
 *                                         "download_progress": N?}}}}}}}
 *
 * S: "downloading", "applying changes", "done", "aborted" (the app failed),
 * "rejected" (the cloud's target for it was refused). Service status, as
 * the supervisor names them: Downloading, Downloaded, Installing,
 * Installed, Running, exited, Dead, ... Apps without a uuid (local mode
 * compose projects) and apps no longer in the target are not reported.
 *
 * Each container is filed under the release its labels name, as the
 * supervisor's getState does: while an update waits (on a lock, after a
 * failed pull, beside a rejection) the old release keeps its running
 * services (update_status "done") and release_uuid names it; the target
 * release has the app's update_status and only what exists of it (its
 * containers, its images coming). release_uuid is the target once the app
 * is Idle, and absent while only the target's containers exist but it is
 * not yet applied (the cloud keeps what it had). */
#ifndef BC_CLOUD_REPORT_H
#define BC_CLOUD_REPORT_H

#include <jansson.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "proto/proto.h"

#define BC_REPORT_EVERY_MS 10000      /* at most one report in 10 s */
#define BC_CLOUD_BACKOFF_MIN_MS 15000 /* errors: min(15 s x 2^n, the poll interval) */
#define BC_RETRY_AFTER_MAX_S 86400    /* a Retry-After beyond a day is not taken */

/* The target releases refused (the last rejection only), per app: reported
 * with update_status "rejected". uuid and commit: plain ids of the
 * cloud's, 1..64 of [A-Za-z0-9_.-]. */
typedef struct bc_rejected {
	char uuid[65];
	char commit[65];
} bc_rejected;

typedef struct bc_rejections {
	bc_rejected v[BC_STATE_MAX_APPS];
	size_t n;
} bc_rejections;

/* The device part from a state. rejected may be NULL. A new reference, or
 * NULL (no memory). */
json_t *bc_report_from_state(const bc_body_state *st, const bc_rejections *rejected);

/* What the cloud last accepted, and what to send next. */
typedef struct bc_reporter {
	json_t *accepted; /* the device part: ours (what we sent, never the
			     answer), its two keys replaced whole; NULL: none */
} bc_reporter;

/* The body of the next report of st (and rejected) for device uuid:
 * {"<uuid>": <only what changed>}, as text (the caller's, free()), or
 * NULL with err->code 0 when nothing changed (never an empty report);
 * NULL with err when out of memory. */
char *bc_reporter_body(const bc_reporter *r, const char *uuid, const bc_body_state *st,
		       const bc_rejections *rejected, bc_err *err);

/* The cloud accepted body (a text bc_reporter_body made) for uuid. */
void bc_reporter_accepted(bc_reporter *r, const char *uuid, const char *body);

/* When a report of st may go (bc_report_when, against what was accepted). */
uint64_t bc_reporter_when(const bc_reporter *r, const bc_body_state *st,
			  const bc_rejections *rejected, uint64_t last_sent_ms, uint64_t now_ms);

void bc_reporter_free(bc_reporter *r);

/* What to send: the top-level fields of now that differ from last (the
 * last report the cloud accepted; NULL: none yet), "apps" whole when
 * anything in it changed. NULL when nothing did (never an empty report).
 * A new reference. */
json_t *bc_report_diff(const json_t *last, const json_t *now);

/* Did the device's or an app's status change between last and now (a
 * report then goes at once, not at the next 10 s tick)? */
int bc_report_status_changed(const json_t *last, const json_t *now);

/* When a report of now may go (monotonic ms): at once (now_ms) when a
 * status changed since last (as above), else BC_REPORT_EVERY_MS after the
 * last one sent (last_sent_ms; 0: none yet, then at once too). */
uint64_t bc_report_when(const json_t *last, const json_t *now, uint64_t last_sent_ms,
			uint64_t now_ms);

/* The wait after failure n in a row (from 0) of a request to the cloud:
 * the cloud's Retry-After (seconds, 1..BC_RETRY_AFTER_MAX_S; 0: none) when
 * it gave one, else min(BC_CLOUD_BACKOFF_MIN_MS x 2^n, cap_ms). */
uint64_t bc_cloud_backoff_ms(unsigned n, long retry_after_s, uint64_t cap_ms);

#endif
