/* balena-compose: the Composer API, for programs that embed us.
 *
 * A Composer stands for one app on this device. It is a client of the
 * balena-compose daemons (they must be running): update() hands the app's
 * new release to the reconciler and waits until it runs; state() says what
 * runs now. Several Composers (one per app) can be used side by side; one
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

/* The app's state now, as JSON text: {"id", "name", "commit", "services":
 * [{"name", "container", "id", "status", "image", "commit", "release"}]}
 * ("services" is empty when nothing of the app runs). The string is the
 * caller's: free() it. */
char *bc_composer_state(bc_composer *c, char *errbuf, size_t errlen);

/* Move the app to a new release and wait until it runs as asked (or fails,
 * or the timeout passes). commit names the release; target is JSON text of
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
