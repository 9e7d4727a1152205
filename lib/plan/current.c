#include "lib/plan/current.h"

#include <stdlib.h>
#include <string.h>

#include "lib/model/spec.h"

static const char *
label(const json_t *obj, const char *name)
{
	return json_string_value(json_object_get(json_object_get(obj, "Labels"), name));
}

static bool
parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return false;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < 0)
		return false;
	*out = v;
	return true;
}

/* The app of a container, volume or network o (its labels say which). */
static bc_app *
app_for(bc_state *st, int64_t id, const json_t *o)
{
	const char *uuid = label(o, "io.balena.app-uuid"), *name = label(o, BC_LABEL_APP_NAME);
	bc_app *a = bc_state_app(st, id);

	if (a == NULL) {
		if ((a = bc_state_add_app(st)) == NULL)
			return NULL;
		a->app_id = id;
	}
	if (a->uuid == NULL && uuid != NULL)
		a->uuid = strdup(uuid);
	if (a->name == NULL && name != NULL)
		a->name = strdup(name);
	return a;
}

/* "<service>_<imageId>_<releaseId>_<commit>" */
static void
parse_container_name(const char *name, bc_service *s)
{
	const char *u3 = strrchr(name, '_'), *u2 = NULL, *u1 = NULL;
	char buf[32];

	for (const char *p = u3 ? u3 - 1 : NULL; p && p >= name && (u1 == NULL); p--)
		if (*p == '_') {
			if (u2 == NULL)
				u2 = p;
			else
				u1 = p;
		}
	if (u1 == NULL || u2 - u1 - 1 >= (long)sizeof(buf) || u3 - u2 - 1 >= (long)sizeof(buf))
		return;
	memcpy(buf, u1 + 1, (size_t)(u2 - u1 - 1));
	buf[u2 - u1 - 1] = '\0';
	if (!parse_i64(buf, &s->image_id))
		return;
	memcpy(buf, u2 + 1, (size_t)(u3 - u2 - 1));
	buf[u3 - u2 - 1] = '\0';
	if (!parse_i64(buf, &s->release_id)) {
		s->image_id = 0;
		return;
	}
	if (strcmp(u3 + 1, "none") != 0)
		s->commit = strdup(u3 + 1);
}

/* The part of a Docker name after "<prefix>_", or NULL. */
static const char *
after_prefix(const char *name, const char *prefix)
{
	size_t n = prefix ? strlen(prefix) : 0;
	if (n == 0 || strncmp(name, prefix, n) != 0 || name[n] != '_' || name[n + 1] == '\0')
		return NULL;
	return name + n + 1;
}

/* What the engine's Status words say beyond State (the words docker ps
 * shows, the list's only account of them): the health of a running
 * container, "Up 5 minutes (healthy)", "(unhealthy)", "(health:
 * starting)"; the code of an exited one, "Exited (0) 3 seconds ago". */
static void
status_words(const char *st, bc_service *s)
{
	s->health = BC_HEALTH_NONE;
	s->exit_code = -1;
	if (st == NULL)
		return;
	if (strstr(st, "(healthy)") != NULL)
		s->health = BC_HEALTH_HEALTHY;
	else if (strstr(st, "(unhealthy)") != NULL)
		s->health = BC_HEALTH_UNHEALTHY;
	else if (strstr(st, "(health: starting)") != NULL)
		s->health = BC_HEALTH_STARTING;
	if (strncmp(st, "Exited (", 8) == 0) {
		char *end;
		long code = strtol(st + 8, &end, 10);
		if (end != st + 8 && *end == ')' && code >= -1 && code <= 255)
			s->exit_code = (int)code;
	}
}

/* The app-level name of a network the app named itself (compose's name:)
 * that a container of app_id joins as net: its label says it; NULL if net
 * is no such network of the app. */
static const char *
named_network(const json_t *networks, const char *net, const char *appid_s)
{
	const json_t *o;
	size_t i;

	json_array_foreach(networks, i, o)
	{
		const char *n = json_string_value(json_object_get(o, "Name"));
		const char *id = label(o, "io.balena.app-id");
		if (n != NULL && strcmp(n, net) == 0 && id != NULL && strcmp(id, appid_s) == 0)
			return label(o, BC_LABEL_COMPONENT);
	}
	return NULL;
}

static int
add_container(bc_state *st, const json_t *c, const json_t *networks, bc_err *err)
{
	const char *sname = label(c, "io.balena.service-name"), *nm, *v;
	int64_t app_id;
	char appid_s[32];
	bc_app *a;
	bc_service *s;
	json_t *e;
	size_t i;

	if (!parse_i64(label(c, "io.balena.app-id"), &app_id) || sname == NULL)
		return 0; /* not one of ours */
	if ((a = app_for(st, app_id, c)) == NULL || (s = bc_app_add_service(a)) == NULL)
		return bc_err_sys(err, "current state");
	s->name = strdup(sname);
	parse_i64(label(c, "io.balena.service-id"), &s->service_id);
	nm = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
	if (nm != NULL && label(c, BC_LABEL_IMAGE_ID) != NULL) {
		/* named by its release (container_name): its labels say the rest */
		const char *cm = label(c, BC_LABEL_COMMIT);
		s->container_name = strdup(nm[0] == '/' ? nm + 1 : nm);
		if (!parse_i64(label(c, BC_LABEL_IMAGE_ID), &s->image_id) ||
		    !parse_i64(label(c, BC_LABEL_RELEASE_ID), &s->release_id))
			s->image_id = s->release_id = 0;
		if (cm != NULL && strcmp(cm, "none") != 0)
			s->commit = strdup(cm);
	} else if (nm != NULL) {
		parse_container_name(nm[0] == '/' ? nm + 1 : nm, s);
	}
	s->container_id = strdup(json_string_value(json_object_get(c, "Id")) ?: "");
	s->status = strdup(json_string_value(json_object_get(c, "State")) ?: "unknown");
	s->running = strcmp(s->status, "running") == 0 || strcmp(s->status, "restarting") == 0;
	status_words(json_string_value(json_object_get(c, "Status")), s);
	s->image = strdup(json_string_value(json_object_get(c, "Image")) ?: "");
	if ((v = json_string_value(json_object_get(c, "ImageID"))) != NULL)
		s->image_ref_id = strdup(v);
	if ((v = label(c, "io.balena-compose.config-hash")) != NULL)
		s->config_hash = strdup(v);
	/* its pre_stop hooks, as we wrote them; of a shape we did not write:
	 * none (the engine's labels are not ours alone) */
	if ((v = label(c, BC_LABEL_PRE_STOP)) != NULL && strlen(v) < 65536) {
		json_t *h = json_loads(v, JSON_REJECT_DUPLICATES, NULL), *hb;
		size_t k;
		bool ok = json_is_array(h) && json_array_size(h) <= 16;
		json_array_foreach(h, k, hb) ok &= json_is_object(hb) &&
						  json_is_array(json_object_get(hb, "Cmd"));
		if (ok)
			s->hooks = json_pack("{s:O}", "pre_stop", h);
		json_decref(h);
	}
	s->created = json_integer_value(json_object_get(c, "Created"));
	{
		const char *net;
		snprintf(appid_s, sizeof(appid_s), "%lld", (long long)app_id);
		json_object_foreach(
		    json_object_get(json_object_get(c, "NetworkSettings"), "Networks"), net, e)
		{
			const char *short_name = after_prefix(net, a->uuid);
			if (short_name == NULL)
				short_name = named_network(networks, net, appid_s);
			if (short_name != NULL)
				bc_strv_add(&s->networks, short_name);
		}
	}
	json_array_foreach(json_object_get(c, "Mounts"), i, e)
	{
		const char *vn = json_string_value(json_object_get(e, "Name"));
		const char *short_name = vn ? after_prefix(vn, appid_s) : NULL;
		if (short_name != NULL && !bc_strv_has(&s->volumes, short_name))
			bc_strv_add(&s->volumes, short_name);
	}
	return (s->name && s->container_id && s->status && s->image)
		   ? 0
		   : bc_err_sys(err, "current state");
}

static int
add_component(bc_state *st, const json_t *o, bool vol, bc_err *err)
{
	const char *name = json_string_value(json_object_get(o, "Name"));
	const char *uuid = label(o, "io.balena.app-uuid"), *short_name, *h;
	bool named = false;
	char appid_s[32];
	int64_t app_id;
	bc_app *a;

	if (name == NULL || !parse_i64(label(o, "io.balena.app-id"), &app_id))
		return 0;
	snprintf(appid_s, sizeof(appid_s), "%lld", (long long)app_id);
	/* volumes are <appId>_<name>; networks <appUuid>_<name> (or the old
	 * <appId>_<name>) */
	short_name = after_prefix(name, vol ? appid_s : uuid);
	if (short_name == NULL && !vol)
		short_name = after_prefix(name, appid_s);
	/* one the release named itself (compose's name:) says whose it is */
	if (short_name == NULL && (short_name = label(o, BC_LABEL_COMPONENT)) != NULL)
		named = true;
	if (short_name == NULL)
		return 0;
	if ((a = app_for(st, app_id, o)) == NULL)
		return bc_err_sys(err, "current state");
	h = label(o, "io.balena-compose.config-hash");
	if (vol) {
		bc_volume *v = bc_app_add_volume(a);
		if (v == NULL || (v->name = strdup(short_name)) == NULL ||
		    (named && (v->docker_name = strdup(name)) == NULL))
			return bc_err_sys(err, "current state");
		v->config_hash = h ? strdup(h) : NULL;
	} else {
		bc_network *n = bc_app_add_network(a);
		if (n == NULL || (n->name = strdup(short_name)) == NULL ||
		    (named && (n->docker_name = strdup(name)) == NULL))
			return bc_err_sys(err, "current state");
		n->config_hash = h ? strdup(h) : NULL;
	}
	return 0;
}

int
bc_current_from_docker(const json_t *containers, const json_t *volumes, const json_t *networks,
		       bc_state *out, bc_err *err)
{
	size_t i;
	json_t *e;

	memset(out, 0, sizeof(*out));
	json_array_foreach(containers, i, e) if (add_container(out, e, networks, err) < 0) goto fail;
	json_array_foreach(volumes, i, e) if (add_component(out, e, true, err) < 0) goto fail;
	json_array_foreach(networks, i, e) if (add_component(out, e, false, err) < 0) goto fail;
	return 0;
fail:
	bc_state_free(out);
	return -1;
}

int
bc_images_have(const json_t *images, bc_image_have **out, size_t *n, bc_err *err)
{
	size_t cap = 0, i, k;
	json_t *img, *t;
	bc_image_have *v = NULL;

	*n = 0;
	json_array_foreach(images, i, img)
	{
		const char *id = json_string_value(json_object_get(img, "Id"));
		const char *lists[] = {"RepoTags", "RepoDigests"};
		if (id == NULL)
			continue;
		for (int l = 0; l < 2; l++)
			json_array_foreach(json_object_get(img, lists[l]), k, t)
			{
				const char *ref = json_string_value(t);
				if (ref == NULL || strcmp(ref, "<none>:<none>") == 0 ||
				    strcmp(ref, "<none>@<none>") == 0)
					continue;
				if (*n + 1 > cap) {
					bc_image_have *nv =
					    realloc(v, (cap = cap * 2 + 16) * sizeof(*v));
					if (nv == NULL) {
						free(v);
						return bc_err_sys(err, "image table");
					}
					v = nv;
				}
				v[*n].ref = ref;
				v[(*n)++].id = id;
			}
	}
	*out = v;
	return 0;
}
