#include "lib/plan/statedoc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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
			json_object_set_new(
			    o, "id", json_stringn(s->container_id, strnlen(s->container_id, 12)));
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

/* An app's list of names (skipped, ignored): a[key], when it has any */
static void
list_to_json(json_t *a, const char *key, const bc_strs *l)
{
	json_t *arr;

	if (l->n == 0 || (arr = json_array()) == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(arr, json_string(l->v[i]));
	json_object_set_new(a, key, arr);
}

/* and back, at most the message's bound; -1 when out of memory */
static int
list_from_json(const json_t *a, const char *key, bc_strs *l)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(a, key), i, v)
	{
		if (l->n == BC_STATE_MAX_SERVICES || !json_is_string(v))
			break;
		if (bc_strs_add(l, json_string_value(v)) < 0)
			return -1;
	}
	return 0;
}

static json_t *
app_doc(const bc_statedoc_in *in, const bc_app *cur, const bc_app *tgt, bool any_failed)
{
	int64_t id = tgt ? tgt->app_id : cur->app_id;
	const bc_app_outcome *o = in->c ? bc_converge_app(in->c, id) : NULL;
	json_t *a = json_pack("{s:I}", "id", (json_int_t)id);

	if (a == NULL)
		return NULL;
	if ((tgt && tgt->uuid) || (cur && cur->uuid))
		json_object_set_new(a, "uuid",
				    json_string(tgt && tgt->uuid ? tgt->uuid : cur->uuid));
	if ((tgt && tgt->name) || (cur && cur->name))
		json_object_set_new(a, "name", json_string(tgt ? tgt->name : cur->name));
	if (tgt == NULL)
		json_object_set_new(a, "removed", json_true());
	if (tgt && tgt->commit)
		json_object_set_new(a, "commit", json_string(tgt->commit));
	if (tgt)
		list_to_json(a, "skipped", &tgt->skipped);
	for (size_t i = 0; tgt && i < tgt->n_services; i++) {
		const bc_service *ts = &tgt->services[i];
		json_t *ig = json_object_get(a, "ignored");
		for (size_t k = 0; k < ts->ignored.n; k++) {
			char one[256];
			snprintf(one, sizeof(one), "%s: %s", ts->name, ts->ignored.v[k]);
			if (ig == NULL)
				json_object_set_new(a, "ignored", ig = json_array());
			json_array_append_new(ig, json_string(one));
		}
	}
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
	doc =
	    json_pack("{s:I, s:b, s:s?, s:s, s:i, s:I, s:I, s:[]}", "generation",
		      (json_int_t)in->generation, "settled", in->error == NULL && c->settled,
		      "error", in->error, "waiting", c->waiting, "rounds", c->rounds, "steps",
		      (json_int_t)c->steps_done, "converge_ms", (json_int_t)c->elapsed_ms, "apps");
	if (doc == NULL)
		return NULL;
	apps = json_object_get(doc, "apps");
	for (size_t i = 0; tgt && i < tgt->n_apps; i++) {
		const bc_app *t = &tgt->apps[i];
		json_array_append_new(
		    apps, app_doc(in, cur ? bc_state_app(cur, t->app_id) : NULL, t, any_failed));
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

	json_array_foreach(json_object_get(doc, "apps"), i,
			   a) if (json_integer_value(json_object_get(a, "id")) == app_id) return a;
	return NULL;
}

bool
bc_statedoc_app_is(const json_t *app, const char *want)
{
	char id[32];
	const char *uuid = json_string_value(json_object_get(app, "uuid"));
	const char *name = json_string_value(json_object_get(app, "name"));

	snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(app, "id")));
	return strcmp(id, want) == 0 || (uuid && strcmp(uuid, want) == 0) ||
	       (name && strcmp(name, want) == 0);
}

json_t *
bc_statedoc_app(const json_t *doc, int64_t app_id)
{
	json_t *a = bc_statedoc_find(doc, app_id);
	return a ? json_incref(a) : idle_app();
}

/* --- the typed form (STATE) ------------------------------------------------- */

static const char *const status_names[] = {
    "Idle",   "Downloading", "Updating",   "Waiting", "Waiting for update lock",
    "Failed", "Settling",    "Rolled back"};

const char *
bc_app_status_name(int status)
{
	return status >= 0 && status <= BC_APP_ROLLED_BACK ? status_names[status] : NULL;
}

static char *
dup_or_null(const json_t *v)
{
	const char *s = json_string_value(v);
	return s ? strdup(s) : NULL;
}

static int
named_to_msg(const json_t *map, bc_named_list *out)
{
	const char *k;
	json_t *v;

	out->n = 0;
	if (json_object_size(map) > 0 &&
	    (out->v = calloc(json_object_size(map), sizeof(*out->v))) == NULL)
		return -1;
	json_object_foreach((json_t *)map, k, v)
	{
		bc_named_rec *r;
		if (out->n == BC_STATE_MAX_NAMED)
			break; /* the message's bound: the rest is not shown */
		r = &out->v[out->n++];
		r->name = strdup(k);
		r->status = strdup(json_string_value(json_object_get(v, "status")) ?: "unknown");
		if (r->name == NULL || r->status == NULL)
			return -1;
	}
	return 0;
}

static int
app_to_msg(const json_t *a, bc_app_rec *r)
{
	const char *st = json_string_value(json_object_get(a, "status")), *k;
	json_t *svcs = json_object_get(a, "services"), *v;

	r->id = json_integer_value(json_object_get(a, "id"));
	r->uuid = dup_or_null(json_object_get(a, "uuid"));
	r->name = dup_or_null(json_object_get(a, "name"));
	r->commit = dup_or_null(json_object_get(a, "commit"));
	r->error = dup_or_null(json_object_get(a, "error"));
	r->waiting = dup_or_null(json_object_get(a, "waiting"));
	r->removed = json_is_true(json_object_get(a, "removed"));
	r->status = -1;
	r->rolled_back = dup_or_null(json_object_get(a, "rolled_back"));
	if (list_from_json(a, "skipped", &r->skipped) < 0 ||
	    list_from_json(a, "ignored", &r->ignored) < 0)
		return -1;
	for (int i = 0; st && i <= BC_APP_ROLLED_BACK; i++)
		if (strcmp(st, status_names[i]) == 0)
			r->status = i;
	if (r->status < 0)
		return -1;
	if (json_object_size(svcs) > 0 &&
	    (r->services.v = calloc(json_object_size(svcs), sizeof(bc_svc_rec))) == NULL)
		return -1;
	json_object_foreach(svcs, k, v)
	{
		bc_svc_rec *s;
		if (r->services.n == BC_STATE_MAX_SERVICES)
			break;
		s = &r->services.v[r->services.n++];
		json_t *dl = json_object_get(v, "download");
		s->name = strdup(k);
		s->status = strdup(json_string_value(json_object_get(v, "status")) ?: "unknown");
		s->image = dup_or_null(json_object_get(v, "image"));
		s->release = json_integer_value(json_object_get(v, "release"));
		s->commit = dup_or_null(json_object_get(v, "commit"));
		s->container = dup_or_null(json_object_get(v, "container"));
		s->id = dup_or_null(json_object_get(v, "id"));
		s->health_restarts =
		    (uint64_t)json_integer_value(json_object_get(v, "health_restarts"));
		if (dl != NULL) {
			s->dl_image = strdup(json_string_value(json_object_get(dl, "image")) ?: "");
			s->dl_percent =
			    (uint64_t)json_integer_value(json_object_get(dl, "percent"));
			s->dl_current =
			    (uint64_t)json_integer_value(json_object_get(dl, "current"));
			s->dl_total = (uint64_t)json_integer_value(json_object_get(dl, "total"));
		}
		if (s->name == NULL || s->status == NULL)
			return -1;
	}
	return named_to_msg(json_object_get(a, "networks"), &r->networks) < 0 ||
		       named_to_msg(json_object_get(a, "volumes"), &r->volumes) < 0
		   ? -1
		   : 0;
}

int
bc_statedoc_to_msg(const json_t *doc, bc_body_state *out, bc_err *err)
{
	json_t *apps = json_object_get(doc, "apps"), *a;
	size_t i;

	out->generation = (uint64_t)json_integer_value(json_object_get(doc, "generation"));
	out->settled = json_is_true(json_object_get(doc, "settled"));
	out->error = dup_or_null(json_object_get(doc, "error"));
	out->waiting = dup_or_null(json_object_get(doc, "waiting"));
	out->rounds = (uint64_t)json_integer_value(json_object_get(doc, "rounds"));
	out->steps = (uint64_t)json_integer_value(json_object_get(doc, "steps"));
	out->converge_ms = (uint64_t)json_integer_value(json_object_get(doc, "converge_ms"));
	out->apps.n = 0;
	if (json_array_size(apps) > 0 &&
	    (out->apps.v = calloc(json_array_size(apps), sizeof(*out->apps.v))) == NULL)
		return bc_err_sys(err, "state");
	json_array_foreach(apps, i, a)
	{
		if (out->apps.n == BC_STATE_MAX_APPS)
			break;
		if (app_to_msg(a, &out->apps.v[out->apps.n++]) < 0)
			return bc_err_set(err, BC_EINVAL, "state: app %lld has no valid status",
					  (long long)json_integer_value(json_object_get(a, "id")));
	}
	return 0;
}

static void
named_from_msg(json_t *map, const bc_named_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		json_object_set_new(map, l->v[i].name,
				    json_pack("{s:s}", "status", l->v[i].status));
}

json_t *
bc_statedoc_from_msg(const bc_body_state *st)
{
	json_t *doc = json_pack("{s:I, s:b, s:s?, s:s, s:I, s:I, s:I, s:[]}", "generation",
				(json_int_t)st->generation, "settled", st->settled, "error",
				st->error, "waiting", st->waiting ? st->waiting : "", "rounds",
				(json_int_t)st->rounds, "steps", (json_int_t)st->steps,
				"converge_ms", (json_int_t)st->converge_ms, "apps");
	json_t *apps = json_object_get(doc, "apps");

	for (size_t i = 0; doc != NULL && i < st->apps.n; i++) {
		const bc_app_rec *r = &st->apps.v[i];
		json_t *a = json_pack("{s:I}", "id", (json_int_t)r->id), *svcs = json_object();
		if (r->uuid)
			json_object_set_new(a, "uuid", json_string(r->uuid));
		if (r->name)
			json_object_set_new(a, "name", json_string(r->name));
		if (r->commit)
			json_object_set_new(a, "commit", json_string(r->commit));
		json_object_set_new(a, "status", json_string(status_names[r->status]));
		if (r->error)
			json_object_set_new(a, "error", json_string(r->error));
		if (r->waiting)
			json_object_set_new(a, "waiting", json_string(r->waiting));
		if (r->removed)
			json_object_set_new(a, "removed", json_true());
		if (r->rolled_back)
			json_object_set_new(a, "rolled_back", json_string(r->rolled_back));
		list_to_json(a, "skipped", &r->skipped);
		list_to_json(a, "ignored", &r->ignored);
		for (size_t k = 0; k < r->services.n; k++) {
			const bc_svc_rec *s = &r->services.v[k];
			json_t *o = json_pack("{s:s, s:s?, s:I, s:s?}", "status", s->status,
					      "image", s->image, "release", (json_int_t)s->release,
					      "commit", s->commit);
			if (s->container)
				json_object_set_new(o, "container", json_string(s->container));
			if (s->id)
				json_object_set_new(o, "id", json_string(s->id));
			if (s->health_restarts > 0)
				json_object_set_new(o, "health_restarts",
						    json_integer((json_int_t)s->health_restarts));
			if (s->dl_image != NULL)
				json_object_set_new(o, "download",
						    json_pack("{s:s, s:I, s:I, s:I}", "image",
							      s->dl_image, "percent",
							      (json_int_t)s->dl_percent, "current",
							      (json_int_t)s->dl_current, "total",
							      (json_int_t)s->dl_total));
			json_object_set_new(svcs, s->name, o);
		}
		json_object_set_new(a, "services", svcs);
		json_object_set_new(a, "networks", json_object());
		json_object_set_new(a, "volumes", json_object());
		named_from_msg(json_object_get(a, "networks"), &r->networks);
		named_from_msg(json_object_get(a, "volumes"), &r->volumes);
		json_array_append_new(apps, a);
	}
	return doc;
}

/* --- the typed form, between converges ------------------------------------- */

int
bc_statebody_copy(bc_body_state *to, const bc_body_state *from, bc_err *err)
{
	bc_msg m = {.type = BC_MSG_STATE}, back = {.type = BC_MSG_NONE};
	bc_buf b = {0};
	int rc;

	m.body.state = *from; /* borrowed: never cleared here */
	rc =
	    bc_msg_encode(&m, &b, err) < 0 || bc_msg_decode(b.data, b.len, &back, err) < 0 ? -1 : 0;
	bc_buf_free(&b);
	*to = rc == 0 ? back.body.state : (bc_body_state){0};
	if (rc < 0)
		bc_msg_clear(&back);
	return rc;
}

void
bc_statebody_free(bc_body_state *st)
{
	bc_msg m = {.type = BC_MSG_STATE};

	m.body.state = *st;
	bc_msg_clear(&m);
	*st = (bc_body_state){0};
}

bc_app_rec *
bc_statebody_find(const bc_body_state *st, int64_t app_id)
{
	for (size_t i = 0; i < st->apps.n; i++)
		if (st->apps.v[i].id == app_id)
			return &st->apps.v[i];
	return NULL;
}

bool
bc_app_rec_is(const bc_app_rec *a, const char *want)
{
	char id[32];

	snprintf(id, sizeof(id), "%lld", (long long)a->id);
	return strcmp(id, want) == 0 || (a->uuid && strcmp(a->uuid, want) == 0) ||
	       (a->name && strcmp(a->name, want) == 0);
}

/* app_id's record, added Idle (nothing of it known yet) when st has none:
 * NULL when out of memory, or st holds BC_STATE_MAX_APPS already. */
static bc_app_rec *
app_rec(bc_body_state *st, int64_t app_id)
{
	bc_app_rec *a = bc_statebody_find(st, app_id), *v;

	if (a != NULL)
		return a;
	if (st->apps.n == BC_STATE_MAX_APPS ||
	    (v = realloc(st->apps.v, (st->apps.n + 1) * sizeof(*v))) == NULL)
		return NULL;
	st->apps.v = v;
	a = &v[st->apps.n++];
	*a = (bc_app_rec){.id = app_id, .status = BC_APP_IDLE};
	return a;
}

static void
set_str(char **at, const char *s)
{
	free(*at);
	*at = s ? strdup(s) : NULL;
}

/* The app is busy now: what it said of a wait or a failure is over. */
static void
app_status(bc_app_rec *a, enum bc_app_status status)
{
	a->status = status;
	set_str(&a->error, NULL);
	set_str(&a->waiting, NULL);
}

int
bc_statebody_pending(bc_body_state *st, const bc_state *target)
{
	for (size_t i = 0; target != NULL && i < target->n_apps; i++) {
		const bc_app *t = &target->apps[i];
		bc_app_rec *a;
		bool known;
		if (t->commit == NULL)
			continue;
		known = bc_statebody_find(st, t->app_id) != NULL;
		if ((a = app_rec(st, t->app_id)) == NULL)
			return -1;
		if (!known) {
			set_str(&a->uuid, t->uuid);
			set_str(&a->name, t->name);
		}
		if (a->commit != NULL && strcmp(a->commit, t->commit) == 0)
			continue;
		set_str(&a->commit, t->commit);
		a->removed = false;
		app_status(a, BC_APP_UPDATING);
	}
	return 0;
}

int
bc_statebody_overlay(bc_body_state *st, const bc_download *dl, size_t n_dl, const bc_busy *busy,
		     size_t n_busy)
{
	for (size_t i = 0; i < n_busy; i++) {
		bc_app_rec *a = app_rec(st, busy[i].app_id);
		if (a == NULL)
			return -1;
		app_status(a, busy[i].downloading ? BC_APP_DOWNLOADING : BC_APP_UPDATING);
	}
	for (size_t i = 0; i < n_dl; i++) {
		bc_app_rec *a = bc_statebody_find(st, dl[i].app_id);
		bc_svc_rec *s = NULL, *v;
		if (a == NULL)
			continue;
		for (size_t k = 0; k < a->services.n && s == NULL; k++)
			if (strcmp(a->services.v[k].name, dl[i].service) == 0)
				s = &a->services.v[k];
		if (s == NULL) {
			if (a->services.n == BC_STATE_MAX_SERVICES ||
			    (v = realloc(a->services.v, (a->services.n + 1) * sizeof(*v))) == NULL)
				return -1;
			a->services.v = v;
			s = &v[a->services.n++];
			*s = (bc_svc_rec){.name = strdup(dl[i].service),
					  .status = strdup("downloading"),
					  .image = strdup(dl[i].image)};
		} else if (strcmp(s->status, "pending") == 0) {
			set_str(&s->status, "downloading");
		}
		set_str(&s->dl_image, dl[i].image);
		s->dl_percent = dl[i].percent;
		s->dl_current = dl[i].current;
		s->dl_total = dl[i].total;
		if (s->name == NULL || s->status == NULL || s->dl_image == NULL)
			return -1;
	}
	return 0;
}
