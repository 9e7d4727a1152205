/* balena-compose: the Composer API, for programs that embed us.
 *
 * A Composer stands for one app on this device. It is a client of the
 * balena-compose daemons (they must be running): update() hands the app's
 * new release to the reconciler and waits until it runs; state() says what
 * runs now. On a device that follows the cloud (config.json names an
 * apiEndpoint) the cloud's target rules: update() fails, saying so;
 * state() works. Link: pkg-config --cflags --libs balena-compose
 * (libbalena-compose.so.0). Several Composers (one per app) can be used side by side; one
 * Composer is used from one thread at a time.
 *
 * Errors: functions that can fail return -1 (or NULL) and, when errbuf is
 * not NULL, write a message naming what failed into it (NUL-terminated,
 * truncated to errlen). Messages never contain the deviceApiKey. */
#ifndef BALENA_COMPOSE_H
#define BALENA_COMPOSE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bc_composer bc_composer;

typedef struct bc_composer_options {
	const char *uuid;	    /* device uuid; NULL: "local" */
	const char *device_api_key; /* for registry auth in cloud mode; may be NULL */
	const char *rundir;	    /* the daemons' socket directory; NULL: $BC_RUNDIR
				       or /run/balena-compose */
	int timeout_ms;		    /* how long update() waits; 0: 600000 */
} bc_composer_options;

/* A Composer for app app_id (> 0). opts may be NULL. The strings in opts
 * are copied. Returns NULL on bad arguments. Free with bc_composer_free. */
bc_composer *bc_composer_new(int64_t app_id, const bc_composer_options *opts, char *errbuf,
			     size_t errlen);

/* The app's state now, as JSON text (the caller's: free() it), shaped as
 * @balena/compose's Composer state:
 *
 *   {"id": 1234, "uuid": "...", "name": "...", "commit": "...",
 *    "status": "Idle",
 *    "services": {"web": {"status": "running", "image": "...",
 *                         "release": 3, "commit": "...",
 *                         "container": "web_11_3_abc", "id": "0123456789ab",
 *                         "download": {"image": "...", "percent": 40,
 *                                      "current": 4000, "total": 10000}},
 *                 ...},
 *    "networks": {"default": {"status": "created"}},
 *    "volumes": {"data": {"status": "created"}}}
 *
 * status: "Idle" when nothing is happening to the app (it runs as its
 * release says, or none of it exists); "Downloading" while an image of it
 * comes; "Updating" while its containers change; "Waiting" (with
 * "waiting": on what, e.g. a hand-over); "Waiting for update lock" (the app
 * holds its lock; "waiting" names the service); "Failed" (with "error":
 * why; the update is retried); "Settling" while the new release runs its
 * settle period (health-gated updates: README); "Rolled back" (with
 * "error": why, "rolled_back": the release that failed) when it failed
 * it and the release before it came back. update() returns -1 then, its
 * error saying why. "skipped" lists the optional services of its release
 * left out because their contracts are unmet.
 * A service's status is Docker's state of its container ("running",
 * "exited", ...), or "downloading" / "pending" while it has none yet;
 * "download" is there while its next image comes. Networks and volumes:
 * "created", or "pending" before they exist.
 * When no container, network or volume of the app exists and it has no
 * target, the document is exactly
 *   {"status": "Idle", "services": {}, "networks": {}, "volumes": {}} */
char *bc_composer_state(bc_composer *c, char *errbuf, size_t errlen);

/* Move the app to a new release and wait until it runs as asked (or fails,
 * or the timeout passes). Only this app's outcome counts: another app that
 * fails does not fail this update. A reconciler that restarts meanwhile is
 * followed to the end of the same release. commit names the release (the
 * first release of the app is numbered 1, another commit the next number,
 * the same commit keeps its number); target is JSON text of
 * the release in compose form (@balena/compose's ComposerTarget):
 * {"name": "...", "services": {"<name>": {"image": ..., <compose keys>}},
 *  "volumes": {...}, "networks": {...}}. An empty "services" map removes
 * the app's containers and networks (volumes stay). Returns 0 or -1. */
int bc_composer_update(bc_composer *c, const char *commit, const char *target, char *errbuf,
		       size_t errlen);

void bc_composer_free(bc_composer *c);

#ifdef __cplusplus
}
#endif

#endif
