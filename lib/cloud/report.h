/* The device's state report to the cloud (PATCH /device/v3/state), built
 * from the reconciler's state document (lib/plan/statedoc.h), and the
 * diff that makes a report carry only what changed. Pure: no I/O.
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

#define BC_REPORT_EVERY_MS 10000      /* at most one report in 10 s */
#define BC_CLOUD_BACKOFF_MIN_MS 15000 /* errors: min(15 s x 2^n, the poll interval) */
#define BC_RETRY_AFTER_MAX_S 86400    /* a Retry-After beyond a day is not taken */

/* The device part from a state document. rejected, if not NULL, maps an
 * app uuid to the commit of a target release that was refused: reported
 * with update_status "rejected". A new reference, or NULL (no memory). */
json_t *bc_report_from_state(const json_t *state, const json_t *rejected);

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
