/* A target as the reconciler holds it: the v3 document and its model,
 * parsed once when it arrives (an APPLY, the file at start) and never
 * again. Immutable once made; shared by count between the loop's current
 * target, the round that converges it and the release history, all on
 * the loop (a round takes its reference before it goes out and drops it in
 * its done callback, on the loop). */
#ifndef BC_CORE_RELEASE_H
#define BC_CORE_RELEASE_H

#include <jansson.h>

#include "lib/base/err.h"
#include "lib/model/model.h"
#include "lib/model/target.h"

typedef struct bc_release {
	unsigned refs;	    /* the loop's */
	json_t *doc;	    /* the v3 document (the file, merges): the loop's */
	bc_state st;	    /* its model: read only, any thread */
	bool override_lock; /* the device config overrides apps' update locks */
	size_t n_images;    /* st's images, each once */
	char **images;
} bc_release;

/* doc (its reference taken over, kept on failure too: released) parsed
 * into a release with one reference (the caller's). NULL with err when it
 * is not a valid target (the error names app, release, service, field). */
bc_release *bc_release_new(json_t *doc, const bc_target_opts *o, bc_err *err);

/* Another reference to rel (which may be NULL). */
bc_release *bc_release_ref(bc_release *rel);

/* Drop a reference (rel may be NULL); the last frees it. */
void bc_release_unref(bc_release *rel);

/* Does rel run image (some service's)? */
bool bc_release_has_image(const bc_release *rel, const char *image);

#endif
