/* The balena target state v3 (see shared/CLOUD-API.md) into the model.
 * Validation is whole: a target with any error is rejected and nothing of
 * it is used; the error names the app, release, service and field. */
#ifndef BC_TARGET_H
#define BC_TARGET_H

#include <jansson.h>

#include "err.h"
#include "model.h"

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

#endif
