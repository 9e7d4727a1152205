#include "lib/model/target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/model/spec.h"
#include "lib/model/values.h"

/* A name we put into Docker object names and paths. */
static bool
good_name(const char *s, size_t max)
{
	size_t n = strlen(s);
	return n > 0 && n <= max &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
		   n &&
	       s[0] != '.' && s[0] != '-';
}

static int
get_id(const json_t *o, const char *key, int64_t *out, const char *where, bc_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return bc_err_set(err, BC_EINVAL, "%s: '%s' must be a non-negative integer", where,
				  key);
	*out = json_integer_value(v);
	return 0;
}

static int
string_map(const json_t *m, const char *what, const char *where, bc_err *err)
{
	const char *k;
	json_t *v;

	if (m == NULL)
		return 0;
	if (!json_is_object(m))
		return bc_err_set(err, BC_EINVAL, "%s: '%s' must be a map of strings", where, what);
	if (json_object_size(m) > BC_TARGET_MAX_MAP)
		return bc_err_set(err, BC_ETOOBIG, "%s: '%s' has more than %d entries", where, what,
				  BC_TARGET_MAX_MAP);
	json_object_foreach((json_t *)m, k, v)
	{
		if (!json_is_string(v))
			return bc_err_set(err, BC_EINVAL, "%s: '%s' value of '%s' must be a string",
					  where, what, k);
		if (!bc_name_ok(k, strcmp(what, "environment") == 0))
			return bc_err_set(err, BC_EINVAL,
					  "%s: '%s': the name '%.64s' is empty, too long, or has a "
					  "space, a quote or a control character",
					  where, what, k);
	}
	return 0;
}

static int
parse_service(bc_app *app, const char *name, const json_t *sj, const bc_spec_ctx *ctx,
	      const char *where, bc_err *err)
{
	char w[512];
	bc_service *svc;
	json_t *run;
	const char *image;

	snprintf(w, sizeof(w), "%s service '%s'", where, name);
	if (!good_name(name, 63))
		return bc_err_set(err, BC_EINVAL, "%s: not a valid service name", w);
	if (!json_is_object(sj))
		return bc_err_set(err, BC_EINVAL, "%s: must be a map", w);
	if ((svc = bc_app_add_service(app)) == NULL || (svc->name = strdup(name)) == NULL)
		return bc_err_sys(err, "%s", w);
	if (get_id(sj, "id", &svc->service_id, w, err) < 0 ||
	    get_id(sj, "image_id", &svc->image_id, w, err) < 0)
		return -1;
	image = json_string_value(json_object_get(sj, "image"));
	if (image == NULL || *image == '\0' || strchr(image, ' '))
		return bc_err_set(err, BC_EINVAL, "%s: 'image' must be an image reference", w);
	/* Docker lists every tag explicitly: "name" is "name:latest" */
	{
		const char *slash = strrchr(image, '/'), *colon = strrchr(image, ':');
		bool tagged = strchr(image, '@') != NULL || (colon && (!slash || colon > slash));
		if (strlen(image) + (tagged ? 0 : strlen(":latest")) > BC_TARGET_MAX_IMAGE)
			return bc_err_set(err, BC_ETOOBIG,
					  "%s: 'image' is longer than %d bytes (with its tag)", w,
					  BC_TARGET_MAX_IMAGE);
		if (asprintf(&svc->image, "%s%s", image, tagged ? "" : ":latest") < 0)
			return bc_err_sys(err, "%s", w);
	}
	run = json_object_get(sj, "running");
	if (run != NULL && !json_is_boolean(run))
		return bc_err_set(err, BC_EINVAL, "%s: 'running' must be true or false", w);
	svc->running = run == NULL || json_is_true(run);
	/* a contract: its shape now, its verdict once the app is whole (judge) */
	{
		const json_t *c = json_object_get(sj, "contract");
		if (c != NULL && !json_is_null(c) && bc_contract_check(c, name, err) < 0)
			return bc_err_wrap(err, "%s", w);
	}
	svc->release_id = app->release_id;
	svc->commit = app->commit ? strdup(app->commit) : NULL;
	if (string_map(json_object_get(sj, "environment"), "environment", w, err) < 0 ||
	    string_map(json_object_get(sj, "labels"), "labels", w, err) < 0)
		return -1;
	return bc_spec_service(svc, json_object_get(sj, "composition"),
			       json_object_get(sj, "environment"), json_object_get(sj, "labels"),
			       ctx, err);
}

/* name out of list v (a no-op when absent) */
static void
strv_drop(bc_strv *v, const char *name)
{
	size_t o = 0;

	for (size_t i = 0; i < v->n; i++) {
		if (strcmp(v->v[i], name) == 0)
			free(v->v[i]);
		else
			v->v[o++] = v->v[i];
	}
	v->n = o;
}

/* The services' contracts against the device (bc_target_opts.facts): an
 * optional service whose contract is unmet leaves the app (and the
 * depends_on of the others), named in app->skipped; any other refuses the
 * target, with every such service and why. */
static int
judge(bc_app *app, const json_t *svcs, const bc_device_facts *f, const char *where, bc_err *err)
{
	char unmet[400] = "";
	size_t o = 0;

	for (size_t i = 0; i < app->n_services;) {
		bc_service *svc = &app->services[i];
		const json_t *sj = json_object_get(svcs, svc->name);
		const json_t *c = json_object_get(sj, "contract");
		const char *opt = json_string_value(
		    json_object_get(json_object_get(sj, "labels"), "io.balena.features.optional"));
		char why[300];
		int r;
		if (c == NULL || json_is_null(c) ||
		    (r = bc_contract_met(c, svc->name, f, why, sizeof(why), err)) == 1) {
			i++;
			continue;
		}
		if (r < 0)
			return bc_err_wrap(err, "%s", where);
		if (!bc_label_truthy(opt)) {
			if (o < sizeof(unmet))
				o += (size_t)snprintf(unmet + o, sizeof(unmet) - o, "%s%s (%s)",
						      o ? ", " : "", svc->name, why);
			i++;
			continue;
		}
		if (bc_strv_add(&app->skipped, svc->name) < 0)
			return bc_err_sys(err, "%s", where);
		for (size_t k = 0; k < app->n_services; k++)
			strv_drop(&app->services[k].depends_on, svc->name);
		bc_app_remove_service(app, i);
	}
	if (o > 0)
		return bc_err_set(err, BC_EINVAL, "%s: services with unmet requirements: %s", where,
				  unmet);
	return 0;
}

/* Components (volumes, networks) of the release, by name. */
static int
parse_components(bc_app *app, const json_t *m, bool vols, const bc_spec_ctx *ctx, bc_err *err)
{
	const char *name;
	json_t *cfg;

	if (m != NULL && !json_is_object(m))
		return bc_err_set(err, BC_EINVAL, "%s: '%s' must be a map", ctx->where,
				  vols ? "volumes" : "networks");
	if (!vols && bc_app_network(app, "default") == NULL) {
		/* every app has a default network */
		bc_network *n = bc_app_add_network(app);
		if (n == NULL || (n->name = strdup("default")) == NULL)
			return bc_err_sys(err, "%s", ctx->where);
	}
	if (json_object_size(m) > BC_TARGET_MAX_NAMED - (vols ? 0 : 1))
		return bc_err_set(err, BC_ETOOBIG, "%s: more than %d %s", ctx->where,
				  BC_TARGET_MAX_NAMED - (vols ? 0 : 1),
				  vols ? "volumes" : "networks");
	json_object_foreach((json_t *)m, name, cfg)
	{
		if (!vols && strcmp(name, "default") == 0)
			continue;
		if (!good_name(name, 63))
			return bc_err_set(err, BC_EINVAL, "%s: '%s' is not a valid %s name",
					  ctx->where, name, vols ? "volume" : "network");
		if (vols) {
			bc_volume *v = bc_app_add_volume(app);
			if (v == NULL || (v->name = strdup(name)) == NULL)
				return bc_err_sys(err, "%s", ctx->where);
		} else {
			bc_network *n = bc_app_add_network(app);
			if (n == NULL || (n->name = strdup(name)) == NULL)
				return bc_err_sys(err, "%s", ctx->where);
		}
	}
	/* specs after all names exist (services look them up) */
	for (size_t i = 0; vols && i < app->n_volumes; i++)
		if (bc_spec_volume(&app->volumes[i], json_object_get(m, app->volumes[i].name), ctx,
				   err) < 0)
			return -1;
	for (size_t i = 0; !vols && i < app->n_networks; i++)
		if (bc_spec_network(&app->networks[i], json_object_get(m, app->networks[i].name),
				    ctx, err) < 0)
			return -1;
	return 0;
}

static int
check_depends(const bc_app *app, const char *where, bc_err *err)
{
	for (size_t i = 0; i < app->n_services; i++) {
		const bc_service *s = &app->services[i];
		for (size_t d = 0; d < s->depends_on.n; d++) {
			const char *dep = s->depends_on.v[d];
			const bc_dep_rule *r = bc_service_dep_rule(s, dep);
			/* required: false: it may be absent (compose warns, goes on) */
			if (bc_app_service(app, dep) == NULL && r != NULL && r->optional)
				continue;
			if (bc_app_service(app, dep) == NULL)
				return bc_err_set(
				    err, BC_EINVAL,
				    "%s service '%s': depends_on '%s' is not a service of "
				    "the release",
				    where, s->name, dep);
			if (strcmp(dep, s->name) == 0)
				return bc_err_set(err, BC_EINVAL,
						  "%s service '%s': depends on itself", where,
						  s->name);
		}
	}
	/* cycles: settle services whose dependencies are all settled; what
	 * never settles is on a cycle */
	{
		bool *done = calloc(app->n_services + 1, sizeof(bool));
		size_t left = app->n_services;
		bool moved = true;
		if (done == NULL)
			return bc_err_sys(err, "%s", where);
		while (left > 0 && moved) {
			moved = false;
			for (size_t i = 0; i < app->n_services; i++) {
				const bc_service *s = &app->services[i];
				bool ready = !done[i];
				for (size_t d = 0; ready && d < s->depends_on.n; d++) {
					const bc_service *ds =
					    bc_app_service(app, s->depends_on.v[d]);
					ready = ds == NULL || done[ds - app->services];
				}
				if (ready) {
					done[i] = true;
					left--;
					moved = true;
				}
			}
		}
		for (size_t i = 0; left > 0 && i < app->n_services; i++)
			if (!done[i]) {
				bc_err_set(err, BC_EINVAL,
					   "%s: depends_on forms a cycle through '%s'", where,
					   app->services[i].name);
				break;
			}
		free(done);
		return left > 0 ? -1 : 0;
	}
}

/* No more than BC_TARGET_MAX_NODES values in all, none deeper than
 * BC_TARGET_MAX_DEPTH: what a target holds is walked many times after. */
static int
bounded(const json_t *j, int depth, size_t *nodes, bc_err *err)
{
	const char *k;
	json_t *v;
	size_t i;

	if (++*nodes > BC_TARGET_MAX_NODES)
		return bc_err_set(err, BC_ETOOBIG, "target: more than %d values",
				  BC_TARGET_MAX_NODES);
	if (depth > BC_TARGET_MAX_DEPTH)
		return bc_err_set(err, BC_ETOOBIG, "target: nested more than %d deep",
				  BC_TARGET_MAX_DEPTH);
	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k,
				    v) if (bounded(v, depth + 1, nodes, err) < 0) return -1;
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v) if (bounded(v, depth + 1, nodes, err) < 0) return -1;
	}
	return 0;
}

static int
parse_app(bc_state *st, const char *uuid, const json_t *aj, const char *device_uuid,
	  const char *device_name, const bc_target_opts *opts, bc_err *err)
{
	char where[256];
	const char *cls, *name, *commit = NULL;
	json_t *rels, *rel = NULL, *svcs, *sj;
	bc_app *app;
	bc_spec_ctx ctx;

	snprintf(where, sizeof(where), "app '%.64s'", uuid);
	if (!good_name(uuid, 64))
		return bc_err_set(err, BC_EINVAL, "%s: not a valid app uuid", where);
	if (!json_is_object(aj))
		return bc_err_set(err, BC_EINVAL, "%s: must be a map", where);
	if (json_is_true(json_object_get(aj, "is_host")))
		return 0; /* the host OS app: not ours to run */
	cls = json_string_value(json_object_get(aj, "class"));
	if (cls != NULL && strcmp(cls, "fleet") && strcmp(cls, "app") && strcmp(cls, "block"))
		return bc_err_set(err, BC_EINVAL, "%s: 'class' must be fleet, app or block", where);
	name = json_string_value(json_object_get(aj, "name"));
	if (name == NULL)
		return bc_err_set(err, BC_EINVAL, "%s: 'name' must be a string", where);
	if (strlen(name) > BC_TARGET_MAX_NAME)
		return bc_err_set(err, BC_ETOOBIG, "%s: 'name' is longer than %d bytes", where,
				  BC_TARGET_MAX_NAME);
	if (st->n_apps == BC_TARGET_MAX_APPS)
		return bc_err_set(err, BC_ETOOBIG, "%s: more than %d apps", where,
				  BC_TARGET_MAX_APPS);
	if ((app = bc_state_add_app(st)) == NULL)
		return bc_err_sys(err, "%s", where);
	app->uuid = strdup(uuid);
	app->name = strdup(name);
	if (get_id(aj, "id", &app->app_id, where, err) < 0)
		return -1;
	if (app->app_id == 0) /* no lock directory, no label could name it */
		return bc_err_set(err, BC_EINVAL, "%s: 'id' must be a positive integer", where);
	for (size_t i = 0; i + 1 < st->n_apps; i++)
		if (st->apps[i].app_id == app->app_id)
			return bc_err_set(err, BC_EINVAL, "%s: id %lld is used by another app",
					  where, (long long)app->app_id);
	rels = json_object_get(aj, "releases");
	if (rels != NULL && !json_is_object(rels))
		return bc_err_set(err, BC_EINVAL, "%s: 'releases' must be a map", where);
	/* only the first release counts */
	json_object_foreach(rels, commit, rel) break;
	if (rel == NULL)
		return 0; /* no release: the app is installed with nothing running */
	snprintf(where, sizeof(where), "app '%.64s' release '%.40s'", name, commit);
	if (!good_name(commit, 64) || !json_is_object(rel))
		return bc_err_set(err, BC_EINVAL, "%s: not a valid release", where);
	app->commit = strdup(commit);
	if (get_id(rel, "id", &app->release_id, where, err) < 0)
		return -1;
	ctx = (bc_spec_ctx){.app_id = app->app_id,
			    .app_uuid = app->uuid,
			    .app_name = app->name,
			    .device_uuid = device_uuid,
			    .device_name = device_name,
			    .device_type = opts ? opts->device_type : NULL,
			    .board_rev = opts && opts->facts && opts->facts->board_rev[0]
					     ? opts->facts->board_rev
					     : NULL,
			    .device_arch = opts && opts->facts && opts->facts->arch[0]
					       ? opts->facts->arch
					       : NULL,
			    .host_os = opts && opts->facts && opts->facts->os_pretty[0]
					   ? opts->facts->os_pretty
					   : NULL,
			    .lockdir = opts ? opts->lockdir : NULL,
			    .api_key = opts ? opts->api_key : NULL,
			    .api_url = opts ? opts->api_url : NULL,
			    .app = app,
			    .where = where};
	if (parse_components(app, json_object_get(rel, "volumes"), true, &ctx, err) < 0)
		return -1;
	if (parse_components(app, json_object_get(rel, "networks"), false, &ctx, err) < 0)
		return -1;
	svcs = json_object_get(rel, "services");
	if (svcs != NULL && !json_is_object(svcs))
		return bc_err_set(err, BC_EINVAL, "%s: 'services' must be a map", where);
	if (json_object_size(svcs) > BC_TARGET_MAX_SERVICES)
		return bc_err_set(err, BC_ETOOBIG, "%s: more than %d services", where,
				  BC_TARGET_MAX_SERVICES);
	for (size_t i = 0, all = json_object_size(svcs); i < st->n_apps; i++)
		if ((all += st->apps[i].n_services) > BC_TARGET_MAX_ALL_SERVICES)
			return bc_err_set(err, BC_ETOOBIG, "%s: more than %d services in all apps",
					  where, BC_TARGET_MAX_ALL_SERVICES);
	json_object_foreach(svcs, name,
			    sj) if (parse_service(app, name, sj, &ctx, where, err) < 0) return -1;
	if (check_depends(app, where, err) < 0)
		return -1;
	return opts != NULL && opts->facts != NULL ? judge(app, svcs, opts->facts, where, err) : 0;
}

int
bc_target_parse(const json_t *doc, const bc_target_opts *opts, bc_state *out, bc_err *err)
{
	const char *device_uuid, *uuid, *dname;
	json_t *dev, *apps, *aj;
	size_t nodes = 0;

	memset(out, 0, sizeof(*out));
	if (bounded(doc, 0, &nodes, err) < 0)
		return -1;
	if (!json_is_object(doc) || json_object_size(doc) != 1)
		return bc_err_set(err, BC_EINVAL,
				  "target: must be a map with exactly one device uuid key");
	json_object_foreach((json_t *)doc, device_uuid, dev) break;
	if (!json_is_object(dev))
		return bc_err_set(err, BC_EINVAL, "target device '%.64s': must be a map",
				  device_uuid);
	apps = json_object_get(dev, "apps");
	if (apps != NULL && !json_is_object(apps))
		return bc_err_set(err, BC_EINVAL, "target device: 'apps' must be a map");
	if (json_object_get(dev, "config") != NULL &&
	    string_map(json_object_get(dev, "config"), "config", "target device", err) < 0)
		return -1;
	dname = json_string_value(json_object_get(dev, "name"));
	if (dname != NULL && strlen(dname) > BC_TARGET_MAX_NAME)
		return bc_err_set(err, BC_ETOOBIG, "target device: 'name' is longer than %d bytes",
				  BC_TARGET_MAX_NAME);
	json_object_foreach(apps, uuid, aj)
	{
		if (parse_app(out, uuid, aj, device_uuid, dname, opts, err) < 0) {
			bc_err_wrap(err, "target rejected");
			bc_state_free(out);
			return -1;
		}
	}
	return 0;
}

size_t
bc_json_values_bound(const char *text, size_t len)
{
	size_t n = 1;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == ',' || c == '[' || c == '{') {
			n++;
		}
	}
	return n;
}

/* An id written as a string of digits ("1234"), as the supervisor accepts
 * it, made the integer it names, in place; anything else is left for the
 * parser to refuse, naming it. */
static void
id_as_integer(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	size_t n = s ? strlen(s) : 0;

	if (n > 0 && n <= 18 && strspn(s, "0123456789") == n)
		json_object_set_new(o, key, json_integer(strtoll(s, NULL, 10)));
}

/* Every id of doc (apps', releases', services', images') an integer. */
static void
ids_as_integers(json_t *doc)
{
	json_t *dev, *app, *rel, *svc;
	const char *dk, *ak, *rk, *sk;

	json_object_foreach(doc, dk, dev)
	{
		json_object_foreach(json_object_get(dev, "apps"), ak, app)
		{
			id_as_integer(app, "id");
			json_object_foreach(json_object_get(app, "releases"), rk, rel)
			{
				id_as_integer(rel, "id");
				json_object_foreach(json_object_get(rel, "services"), sk, svc)
				{
					id_as_integer(svc, "id");
					id_as_integer(svc, "image_id");
				}
			}
		}
	}
}

json_t *
bc_target_load(const char *text, size_t len, const char *source, bc_err *err)
{
	json_error_t je;
	json_t *doc;

	if (len > BC_TARGET_MAX_BYTES) {
		bc_err_set(err, BC_ETOOBIG, "%s: larger than %zu bytes", source,
			   BC_TARGET_MAX_BYTES);
		return NULL;
	}
	if (bc_json_values_bound(text, len) > BC_TARGET_MAX_NODES) {
		bc_err_set(err, BC_ETOOBIG, "%s: more than %d values", source, BC_TARGET_MAX_NODES);
		return NULL;
	}
	if ((doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		bc_err_set(err, BC_EINVAL, "%s:%d:%d: %s", source, je.line, je.column, je.text);
	else
		ids_as_integers(doc);
	return doc;
}

int
bc_target_parse_text(const char *text, size_t len, const char *source, const bc_target_opts *opts,
		     bc_state *out, bc_err *err)
{
	json_t *doc;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((doc = bc_target_load(text, len, source, err)) == NULL)
		return -1;
	rc = bc_target_parse(doc, opts, out, err);
	if (rc < 0)
		bc_err_wrap(err, "%s", source);
	json_decref(doc);
	return rc;
}

/* The device's object: the only value of the document. */
static json_t *
device_of(const json_t *doc, const char **uuid)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)doc, k, v)
	{
		if (uuid)
			*uuid = k;
		return v;
	}
	return NULL;
}

json_t *
bc_target_merge(const json_t *current, const json_t *doc, bc_err *err)
{
	json_t *merged, *dev, *apps, *app;
	const char *uuid;

	if (!json_is_object(device_of(doc, NULL))) {
		bc_err_set(err, BC_EINVAL, "target: no device object");
		return NULL;
	}
	merged = json_deep_copy(current && device_of(current, NULL) ? current : doc);
	dev = device_of(merged, NULL);
	if (!json_is_object(json_object_get(dev, "apps")))
		json_object_set_new(dev, "apps", json_object());
	apps = json_object_get(dev, "apps");
	json_object_foreach(json_object_get(device_of(doc, NULL), "apps"), uuid, app)
	    json_object_set_new(apps, uuid, json_deep_copy(app));
	return merged;
}

const char *
bc_target_find_app(const json_t *target, const char *want, char *names, size_t n)
{
	json_t *apps = json_object_get(device_of(target, NULL), "apps"), *app;
	const char *uuid, *found = NULL;

	if (names && n)
		names[0] = '\0';
	json_object_foreach(apps, uuid, app)
	{
		char id[32];
		const char *name = json_string_value(json_object_get(app, "name"));
		snprintf(id, sizeof(id), "%lld",
			 (long long)json_integer_value(json_object_get(app, "id")));
		if (found == NULL && (strcmp(uuid, want) == 0 || strcmp(id, want) == 0 ||
				      (name && strcmp(name, want) == 0)))
			found = uuid;
		if (names && n) {
			size_t used = strlen(names);
			snprintf(names + used, n - used, "%s%s", used ? ", " : "",
				 name ? name : uuid);
		}
	}
	if (found == NULL && names && n && names[0] == '\0')
		snprintf(names, n, "none");
	return found;
}

bool
bc_target_override_lock(const json_t *target)
{
	json_t *ov = json_object_get(json_object_get(device_of(target, NULL), "config"),
				     "BALENA_SUPERVISOR_OVERRIDE_LOCK");
	const char *v = json_string_value(ov);

	return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

size_t
bc_target_count_apps(const json_t *doc)
{
	return json_object_size(json_object_get(device_of(doc, NULL), "apps"));
}

size_t
bc_target_apps(const json_t *doc, int64_t *ids, const char **uuids, size_t max)
{
	json_t *apps = json_object_get(device_of(doc, NULL), "apps"), *app;
	const char *uuid;
	size_t n = 0;

	json_object_foreach(apps, uuid, app)
	{
		json_t *id = json_object_get(app, "id");
		if (n == max)
			break;
		ids[n] = json_is_integer(id) ? json_integer_value(id) : 0;
		uuids[n++] = uuid;
	}
	return n;
}

json_t *
bc_target_app_doc(const json_t *target, int64_t id, const char **uuid)
{
	json_t *apps = json_object_get(device_of(target, NULL), "apps"), *app;
	const char *k;

	json_object_foreach(apps, k, app)
	{
		json_t *v = json_object_get(app, "id");
		if (json_is_integer(v) && json_integer_value(v) == id) {
			if (uuid != NULL)
				*uuid = k;
			return app;
		}
	}
	return NULL;
}

int64_t
bc_target_remove_app(json_t *target, const char *uuid)
{
	json_t *apps = json_object_get(device_of(target, NULL), "apps");
	int64_t id = json_integer_value(json_object_get(json_object_get(apps, uuid), "id"));

	json_object_del(apps, uuid);
	return id;
}
