/* The balena target state v3 (see shared/CLOUD-API.md) into the model.
 * Validation is whole: a target with any error is rejected and nothing of
 * it is used; the error names the app, release, service and field. */
#ifndef BC_TARGET_H
#define BC_TARGET_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/base/err.h"
#include "lib/model/contract.h"
#include "lib/model/model.h"

/* What one target may hold. The document is untrusted (the cloud's, a
 * local file's) and what it names is kept, planned, handed on and
 * reported: each bound fits the messages after it (proto.h), so a target
 * accepted here is never one the state report cannot carry. A target past
 * any of them is refused whole, the bound named. */
/* a local file's text; the cloud's answer is capped lower by the gateway
 * (BC_PROTO_MAX_DOC, about 1 MiB: it goes to the reconciler in one message) */
#define BC_TARGET_MAX_BYTES ((size_t)4 << 20)
#define BC_TARGET_MAX_NODES 100000 /* JSON values in all (as a compose file) */
#define BC_TARGET_MAX_DEPTH 64	   /* nesting of JSON values */
#define BC_TARGET_MAX_APPS BC_STATE_MAX_APPS
#define BC_TARGET_MAX_SERVICES BC_STATE_MAX_SERVICES	/* of one app */
#define BC_TARGET_MAX_ALL_SERVICES BC_LOCK_MAX_SERVICES /* of all apps together */
#define BC_TARGET_MAX_NAMED BC_STATE_MAX_NAMED		/* volumes, networks of one app */
#define BC_TARGET_MAX_MAP 1024	/* environment, labels of one service; config */
#define BC_TARGET_MAX_NAME 256	/* bytes of an app's name, of the device's */
#define BC_TARGET_MAX_IMAGE 511 /* bytes of an image reference, with the ":latest" it may get */

typedef struct bc_target_opts {
	const char *lockdir; /* host base of lock dirs bind-mounted into services */
	const char *device_type;
	/* the device, to judge services' contracts by: an unmet one of an
	 * optional service (label io.balena.features.optional) leaves it out
	 * (named in its app's skipped), of any other refuses the target
	 * (BC_EINVAL, naming the app, the services and what they require).
	 * NULL: contracts are only checked for their shape. */
	const bc_device_facts *facts;
	/* what a service labelled io.balena.features.balena-api gets as
	 * BALENA_API_KEY and BALENA_API_URL (config.json's deviceApiKey, a
	 * secret, and apiEndpoint); NULL: nothing */
	const char *api_key, *api_url;
} bc_target_opts;

/* Parse a whole v3 target document: { "<device uuid>": { name, config,
 * apps } }. On success *out is the caller's (bc_state_free); on failure it
 * is left empty. */
int bc_target_parse(const json_t *doc, const bc_target_opts *opts, bc_state *out, bc_err *err);

/* How many JSON values text can hold at most, counted before it is parsed
 * (separators and openings outside strings, plus one): jansson builds a
 * tree of up to ~75 bytes a byte of text ('{},{},...'), so a target's text
 * is refused by this count, past BC_TARGET_MAX_NODES, before its tree is
 * built. Never fewer than the values jansson would make of it. */
size_t bc_json_values_bound(const char *text, size_t len);

/* JSON text of a target (or another document from outside) into a tree,
 * bounded: at most BC_TARGET_MAX_BYTES bytes and, by bc_json_values_bound,
 * BC_TARGET_MAX_NODES values, refused before the tree is built; duplicate
 * keys refused. source names it in errors ("SOURCE:LINE:COLUMN: why"). The
 * tree is the caller's; NULL with err. */
json_t *bc_target_load(const char *text, size_t len, const char *source, bc_err *err);

/* Parse JSON text first (bc_target_load; source names it in errors). */
int bc_target_parse_text(const char *text, size_t len, const char *source,
			 const bc_target_opts *opts, bc_state *out, bc_err *err);

/* The target the reconciler holds, as documents (what it keeps on disk):
 * pure functions, no I/O. */

/* current with the apps of doc merged in (an app of doc replaces the app of
 * that uuid; the others stay), as a new document (the caller's). current
 * may be NULL: doc itself, copied. NULL with err when doc has no device. */
json_t *bc_target_merge(const json_t *current, const json_t *doc, bc_err *err);

/* The uuid (key in apps) of the app that want names by uuid, name or
 * numeric id, or NULL; then names (if not NULL) lists the apps there are,
 * ", "-joined, or "none". Borrowed from target. */
const char *bc_target_find_app(const json_t *target, const char *want, char *names, size_t n);

/* How many apps doc has. */
size_t bc_target_count_apps(const json_t *doc);

/* The apps doc names, at most max: each one's id (0 when it has none
 * that fits) and uuid (its key, borrowed from doc) into ids and uuids.
 * Their number. Reads doc as it is: it is not validated here (the
 * reconciler does, once, on arrival). */
size_t bc_target_apps(const json_t *doc, int64_t *ids, const char **uuids, size_t max);

/* The document of the app whose id is id in target (borrowed from it; *uuid,
 * if not NULL, its key, borrowed too), or NULL. */
json_t *bc_target_app_doc(const json_t *target, int64_t id, const char **uuid);

/* Remove the app of that uuid from target (in place); its id, or 0 when
 * target had no such app. */
int64_t bc_target_remove_app(json_t *target, const char *uuid);

/* Does the device config say to override the apps' update locks
 * (BALENA_SUPERVISOR_OVERRIDE_LOCK "1" or "true")? */
bool bc_target_override_lock(const json_t *target);

#endif
