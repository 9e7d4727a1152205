#include "lib/core/release.h"

#include <stdlib.h>
#include <string.h>

#include "lib/model/spec.h"

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

void
bc_release_app_key(const bc_release *rel, int64_t app, char key[17])
{
	const json_t *a = rel != NULL ? bc_target_app_doc(rel->doc, app, NULL) : NULL;

	key[0] = '\0';
	if (a != NULL)
		bc_json_hash(a, NULL, key);
}

size_t
bc_release_changed(const bc_release *from, const bc_release *to, int64_t *out, size_t max)
{
	size_t n = 0;

	for (size_t a = 0; to != NULL && a < to->st.n_apps && n < max; a++) {
		int64_t id = to->st.apps[a].app_id;
		const json_t *now = bc_target_app_doc(to->doc, id, NULL);
		const json_t *was = from != NULL ? bc_target_app_doc(from->doc, id, NULL) : NULL;
		if (was == NULL || !json_equal((json_t *)now, (json_t *)was))
			out[n++] = id;
	}
	return n;
}

json_t *
bc_release_with_apps_of(const bc_release *to, const bc_release *from, const int64_t *apps, size_t n)
{
	json_t *doc = json_deep_copy(to->doc), *parent = NULL, *d;
	const char *dev;

	json_object_foreach(doc, dev, d) parent = json_object_get(d, "apps");
	for (size_t i = 0; doc != NULL && i < n; i++) {
		const char *uuid = NULL;
		const json_t *was = from ? bc_target_app_doc(from->doc, apps[i], NULL) : NULL;
		char key[256];
		if (was == NULL || bc_target_app_doc(doc, apps[i], &uuid) == NULL ||
		    strlen(uuid) >= sizeof(key))
			continue;
		memcpy(key, uuid, strlen(uuid) + 1);
		if (json_object_set_new(parent, key, json_deep_copy(was)) < 0) {
			json_decref(doc);
			return NULL;
		}
	}
	return doc;
}

uint64_t
bc_release_settle_ms(const bc_release *rel, const int64_t *apps, size_t n, uint64_t dflt)
{
	uint64_t ms = 0;
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		const bc_app *a = bc_state_app(&rel->st, apps[i]);
		for (size_t s = 0; a != NULL && s < a->n_services; s++) {
			int64_t v = a->services[s].settle_ms;
			uint64_t one = v >= 0 ? (uint64_t)v : dflt;
			any = true;
			if (one > ms)
				ms = one;
		}
	}
	return any ? ms : dflt;
}
