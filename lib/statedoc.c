#include "statedoc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void
bc_statedoc_key(char *out, size_t n, int64_t app_id, const char *service)
{
	if (service != NULL)
		snprintf(out, n, "%" PRId64 "/%s", app_id, service);
	else
		snprintf(out, n, "%" PRId64, app_id);
}

static json_t *
idle_app(void)
{
	return json_pack("{s:s, s:{}, s:{}, s:{}}", "status", "Idle", "services", "networks",
			 "volumes");
}

static json_t *
service_doc(const bc_service *s, bool current)
{
	json_t *o = json_pack("{s:s, s:s?, s:I, s:s?}", "status",
			      current ? (s->status ? s->status : "unknown") : "pending", "image",
			      s->image, "release", (json_int_t)s->release_id, "commit", s->commit);
	char name[512];

	if (o != NULL && current) {
		if (bc_container_name(name, sizeof(name), s) == 0)
			json_object_set_new(o, "container", json_string(name));
		if (s->container_id != NULL)
			json_object_set_new(o, "id", json_stringn(s->container_id,
								 strnlen(s->container_id, 12)));
	}
	return o;
}

static void
add_services(json_t *map, const bc_app *cur, const bc_app *tgt)
{
	for (size_t i = 0; cur && i < cur->n_services; i++) {
		const bc_service *s = &cur->services[i];
		const bc_service *t = tgt ? bc_app_service(tgt, s->name) : NULL;
		json_t *have = json_object_get(map, s->name);
		/* two containers of one service (a hand-over): show the target's */
		if (have != NULL && !(t && s->release_id == t->release_id))
			continue;
		json_object_set_new(map, s->name, service_doc(s, true));
	}
	for (size_t i = 0; tgt && i < tgt->n_services; i++)
		if (json_object_get(map, tgt->services[i].name) == NULL)
			json_object_set_new(map, tgt->services[i].name,
					    service_doc(&tgt->services[i], false));
}

#define ADD_NAMED(map, cur, tgt, arr, count)                                                       \
	do {                                                                                       \
		for (size_t i_ = 0; (cur) && i_ < (cur)->count; i_++)                              \
			json_object_set_new(map, (cur)->arr[i_].name,                              \
					    json_pack("{s:s}", "status", "created"));              \
		for (size_t i_ = 0; (tgt) && i_ < (tgt)->count; i_++)                              \
			if (json_object_get(map, (tgt)->arr[i_].name) == NULL)                     \
				json_object_set_new(map, (tgt)->arr[i_].name,                      \
						    json_pack("{s:s}", "status", "pending"));      \
	} while (0)

static json_t *
app_doc(const bc_statedoc_in *in, const bc_app *cur, const bc_app *tgt, bool any_failed)
{
	int64_t id = tgt ? tgt->app_id : cur->app_id;
	const bc_app_outcome *o = in->c ? bc_converge_app(in->c, id) : NULL;
	json_t *a = json_pack("{s:I}", "id", (json_int_t)id);

	if (a == NULL)
		return NULL;
	if ((tgt && tgt->uuid) || (cur && cur->uuid))
		json_object_set_new(a, "uuid", json_string(tgt && tgt->uuid ? tgt->uuid : cur->uuid));
	if (tgt && tgt->name)
		json_object_set_new(a, "name", json_string(tgt->name));
	if (tgt && tgt->commit)
		json_object_set_new(a, "commit", json_string(tgt->commit));
	json_object_update_missing_new(a, idle_app());
	if (o != NULL && o->phase == BC_APP_FAILED) {
		json_object_set_new(a, "status", json_string("Failed"));
		json_object_set_new(a, "error", json_string(o->why));
	} else if (o != NULL && o->phase == BC_APP_LOCKED) {
		json_object_set_new(a, "status", json_string("Waiting for update lock"));
		json_object_set_new(a, "waiting", json_string(o->why));
	} else if (o != NULL && o->phase == BC_APP_WAITING) {
		json_object_set_new(a, "status", json_string("Waiting"));
		json_object_set_new(a, "waiting", json_string(o->why));
	} else if (in->error != NULL && !any_failed) {
		/* the converge failed as a whole (Docker unreachable, ...) */
		json_object_set_new(a, "status", json_string("Failed"));
		json_object_set_new(a, "error", json_string(in->error));
	}
	add_services(json_object_get(a, "services"), cur, tgt);
	ADD_NAMED(json_object_get(a, "networks"), cur, tgt, networks, n_networks);
	ADD_NAMED(json_object_get(a, "volumes"), cur, tgt, volumes, n_volumes);
	return a;
}

json_t *
bc_statedoc_build(const bc_statedoc_in *in)
{
	static const bc_converge none;
	const bc_converge *c = in->c ? in->c : &none;
	const bc_state *cur = in->current, *tgt = in->target;
	bool any_failed = false;
	json_t *doc, *apps;

	for (size_t i = 0; i < c->n_apps; i++)
		any_failed |= c->apps[i].phase == BC_APP_FAILED;
	doc = json_pack("{s:I, s:b, s:s?, s:s, s:i, s:I, s:I, s:[]}", "generation",
			(json_int_t)in->generation, "settled", in->error == NULL && c->settled,
			"error", in->error, "waiting", c->waiting, "rounds", c->rounds, "steps",
			(json_int_t)c->steps_done, "converge_ms", (json_int_t)c->elapsed_ms, "apps");
	if (doc == NULL)
		return NULL;
	apps = json_object_get(doc, "apps");
	for (size_t i = 0; tgt && i < tgt->n_apps; i++) {
		const bc_app *t = &tgt->apps[i];
		json_array_append_new(apps,
				      app_doc(in, cur ? bc_state_app(cur, t->app_id) : NULL, t,
					      any_failed));
	}
	for (size_t i = 0; cur && i < cur->n_apps; i++)
		if (tgt == NULL || bc_state_app(tgt, cur->apps[i].app_id) == NULL)
			json_array_append_new(apps, app_doc(in, &cur->apps[i], NULL, any_failed));
	return doc;
}

json_t *
bc_statedoc_find(const json_t *doc, int64_t app_id)
{
	size_t i;
	json_t *a;

	json_array_foreach(json_object_get(doc, "apps"), i, a) if (
	    json_integer_value(json_object_get(a, "id")) == app_id) return a;
	return NULL;
}

void
bc_statedoc_overlay(json_t *doc, const json_t *downloads, const json_t *busy)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)busy, k, v)
	{
		long long id;
		json_t *a;
		if (sscanf(k, "%lld", &id) != 1 || !json_is_string(v))
			continue;
		if ((a = bc_statedoc_find(doc, id)) == NULL) {
			/* an app the last converge did not know yet */
			if ((a = idle_app()) == NULL)
				continue;
			json_object_set_new(a, "id", json_integer(id));
			json_array_append_new(json_object_get(doc, "apps"), a);
		}
		json_object_set(a, "status", v);
		json_object_del(a, "error");
		json_object_del(a, "waiting");
	}
	json_object_foreach((json_t *)downloads, k, v)
	{
		long long id;
		int off = 0;
		json_t *a, *svcs, *s;
		if (sscanf(k, "%lld/%n", &id, &off) != 1 || off == 0 || k[off] == '\0')
			continue;
		if ((a = bc_statedoc_find(doc, id)) == NULL)
			continue;
		svcs = json_object_get(a, "services");
		if ((s = json_object_get(svcs, k + off)) == NULL) {
			s = json_pack("{s:s, s:O?}", "status", "downloading", "image",
				      json_object_get(v, "image"));
			json_object_set_new(svcs, k + off, s);
		} else if (strcmp(json_string_value(json_object_get(s, "status")) ?: "",
				  "pending") == 0) {
			json_object_set_new(s, "status", json_string("downloading"));
		}
		json_object_set_new(s, "download",
				    json_pack("{s:O?, s:O?, s:O?, s:O?}", "image",
					      json_object_get(v, "image"), "percent",
					      json_object_get(v, "percent"), "current",
					      json_object_get(v, "current"), "total",
					      json_object_get(v, "total")));
	}
}

json_t *
bc_statedoc_app(const json_t *doc, int64_t app_id)
{
	json_t *a = bc_statedoc_find(doc, app_id);
	return a ? json_incref(a) : idle_app();
}
