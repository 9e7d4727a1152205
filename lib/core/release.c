#include "lib/core/release.h"

#include <stdlib.h>
#include <string.h>

bc_release *
bc_release_new(json_t *doc, const bc_target_opts *o, bc_err *err)
{
	bc_release *rel = calloc(1, sizeof(*rel));
	size_t all = 0;

	if (rel == NULL) {
		json_decref(doc);
		bc_err_sys(err, "target");
		return NULL;
	}
	rel->refs = 1;
	rel->doc = doc;
	if (bc_target_parse(doc, o, &rel->st, err) < 0) {
		bc_release_unref(rel);
		return NULL;
	}
	rel->override_lock = bc_target_override_lock(doc);
	for (size_t a = 0; a < rel->st.n_apps; a++)
		all += rel->st.apps[a].n_services;
	if (all > 0 && (rel->images = calloc(all, sizeof(*rel->images))) == NULL) {
		bc_release_unref(rel);
		bc_err_sys(err, "target");
		return NULL;
	}
	for (size_t a = 0; a < rel->st.n_apps; a++)
		for (size_t s = 0; s < rel->st.apps[a].n_services; s++) {
			char *img = rel->st.apps[a].services[s].image;
			if (img != NULL && !bc_release_has_image(rel, img))
				rel->images[rel->n_images++] = img; /* borrowed from st */
		}
	return rel;
}

bc_release *
bc_release_ref(bc_release *rel)
{
	if (rel != NULL)
		rel->refs++;
	return rel;
}

void
bc_release_unref(bc_release *rel)
{
	if (rel == NULL || --rel->refs > 0)
		return;
	json_decref(rel->doc);
	bc_state_free(&rel->st);
	free(rel->images);
	free(rel);
}

bool
bc_release_has_image(const bc_release *rel, const char *image)
{
	for (size_t i = 0; rel != NULL && i < rel->n_images; i++)
		if (strcmp(rel->images[i], image) == 0)
			return true;
	return false;
}
