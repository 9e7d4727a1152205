/* The balena target state v3 (see shared/CLOUD-API.md) into the model.
 * Validation is whole: a target with any error is rejected and nothing of
 * it is used; the error names the app, release, service and field. */
#ifndef BC_TARGET_H
#define BC_TARGET_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/base/err.h"
#include "lib/model/model.h"

#define BC_TARGET_MAX_BYTES ((size_t)4 << 20)

typedef struct bc_target_opts {
	const char *lockdir; /* host base of lock dirs bind-mounted into services */
	const char *device_type;
} bc_target_opts;

/* Parse a whole v3 target document: { "<device uuid>": { name, config,
 * apps } }. On success *out is the caller's (bc_state_free); on failure it
 * is left empty. */
int bc_target_parse(const json_t *doc, const bc_target_opts *opts, bc_state *out, bc_err *err);

/* Parse JSON text first (bounded; source names it in errors). */
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

/* Remove the app of that uuid from target (in place); its id, or 0 when
 * target had no such app. */
int64_t bc_target_remove_app(json_t *target, const char *uuid);

/* Does the device config say to override the apps' update locks
 * (BALENA_SUPERVISOR_OVERRIDE_LOCK "1" or "true")? */
bool bc_target_override_lock(const json_t *target);

#endif
