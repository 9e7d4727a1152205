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

/* The content key of app in rel: a hash of its document (all of it: its
 * releases, services, labels, ...); "" when rel is NULL or has no such app.
 * Two targets with the same key for an app are the same release of it. */
void bc_release_app_key(const bc_release *rel, int64_t app, char key[17]);

/* The apps of to whose document is not the one from has (from NULL: all of
 * to's): their ids into out (at most max). How many. */
size_t bc_release_changed(const bc_release *from, const bc_release *to, int64_t *out, size_t max);

/* A new document (the caller's): to's, with each app of apps (n) as from
 * has it; an app from lacks stays as to has it. NULL when out of memory. */
json_t *bc_release_with_apps_of(const bc_release *to, const bc_release *from, const int64_t *apps,
				size_t n);

/* The longest settle period of app's services in rel (their label
 * io.balena-compose.update.settle-period), or dflt where none says. */
uint64_t bc_release_settle_ms(const bc_release *rel, const int64_t *apps, size_t n, uint64_t dflt);

#endif
