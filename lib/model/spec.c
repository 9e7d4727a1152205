#include "lib/model/spec_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/locks/lock.h"
#include "lib/model/values.h"

/* --- what the supervisor adds to every service ------------------------------- */

/* io.balena.features.* labels that mount parts of the host. */
static const struct {
	const char *label;
	const char *binds[3];
	const char *env, *env_val;
} features[] = {
    {"io.balena.features.balena-socket",
     {"/var/run/docker.sock:/var/run/balena.sock", "/var/run/docker.sock:/var/run/docker.sock"},
     "DOCKER_HOST",
     "unix:///var/run/balena.sock"},
    {"io.balena.features.dbus",
     {"/run/dbus:/host/run/dbus"},
     "DBUS_SYSTEM_BUS_ADDRESS",
     "unix:path=/host/run/dbus/system_bus_socket"},
    {"io.balena.features.sysfs", {"/sys:/sys"}, NULL, NULL},
    {"io.balena.features.procfs", {"/proc:/proc"}, NULL, NULL},
    {"io.balena.features.kernel-modules", {"/lib/modules:/lib/modules"}, NULL, NULL},
    {"io.balena.features.firmware", {"/lib/firmware:/lib/firmware"}, NULL, NULL},
    {"io.balena.features.journal-logs",
     {"/var/log/journal:/var/log/journal:ro", "/run/log/journal:/run/log/journal:ro",
      "/etc/machine-id:/etc/machine-id:ro"},
     NULL,
     NULL},
    /* the device's named volume of extra firmware (not the app's: one for
     * the device), written by the services that bring firmware */
    {"io.balena.features.extra-firmware", {"extra-firmware:/extra-firmware"}, NULL, NULL},
};

static bool
truthy(const json_t *v)
{
	return bc_label_truthy(json_string_value(v));
}

/* io.resin.* labels are read as io.balena.* */
static void
normalise_labels(json_t *labels)
{
	const char *name;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(labels, tmp, name, v)
	{
		if (strncmp(name, "io.resin.", 9) == 0) {
			char nn[512];
			snprintf(nn, sizeof(nn), "io.balena.%s", name + 9);
			if (json_object_get(labels, nn) == NULL)
				json_object_set(labels, nn, v);
			json_object_del(labels, name);
		}
	}
}

/* A label's duration (v: its value, or NULL: -1) in ms, at most a day;
 * refused naming the label and what would do (like). */
static int
label_ms(struct sb *b, const json_t *v, const char *label, const char *like, int64_t *ms)
{
	char what[160];
	int64_t ns;
	bc_err derr = {0};

	*ms = -1;
	if (v == NULL)
		return 0;
	if (bc_parse_duration(v, &ns, &derr) == 0 && ns >= 0 && ns <= (int64_t)86400 * 1000000000) {
		*ms = ns / 1000000;
		return 0;
	}
	snprintf(what, sizeof(what), "%s '%%s' is not a duration such as %s (at most a day)", label,
		 like);
	return spec_fail(b, "labels", what, json_string_value(v));
}

static int
strategy_from_labels(struct sb *b)
{
	static const struct {
		const char *n;
		enum bc_strategy s;
	} strat[] = {{"download-then-kill", BC_STRAT_DOWNLOAD_THEN_KILL},
		     {"kill-then-download", BC_STRAT_KILL_THEN_DOWNLOAD},
		     {"delete-then-download", BC_STRAT_DELETE_THEN_DOWNLOAD},
		     {"hand-over", BC_STRAT_HAND_OVER}};
	json_t *v = json_object_get(b->labels, "io.balena.update.strategy");
	json_t *t = json_object_get(b->labels, "io.balena.update.handover-timeout");
	json_t *settle = json_object_get(b->labels, BC_LABEL_SETTLE);
	json_t *sick = json_object_get(b->labels, BC_LABEL_UNHEALTHY);
	size_t i;

	b->svc->strategy = BC_STRAT_DOWNLOAD_THEN_KILL;
	b->svc->handover_timeout_ms = 60000;
	if (v != NULL) {
		for (i = 0; i < sizeof(strat) / sizeof(strat[0]); i++)
			if (strcmp(json_string_value(v), strat[i].n) == 0)
				break;
		if (i == sizeof(strat) / sizeof(strat[0]))
			return spec_fail(
			    b, "labels",
			    "io.balena.update.strategy '%s' is not download-then-kill, "
			    "kill-then-download, delete-then-download or hand-over",
			    json_string_value(v));
		b->svc->strategy = strat[i].s;
	}
	if (t != NULL) {
		char *end;
		long long ms = strtoll(json_string_value(t), &end, 10);
		if (*end || ms <= 0 || end == json_string_value(t))
			return spec_fail(b, "labels",
					 "io.balena.update.handover-timeout '%s' is not a "
					 "number of milliseconds",
					 json_string_value(t));
		b->svc->handover_timeout_ms = (uint64_t)ms;
	}
	if (label_ms(b, settle, BC_LABEL_SETTLE, "\"30s\" or \"2m\"", &b->svc->settle_ms) < 0 ||
	    label_ms(b, sick, BC_LABEL_UNHEALTHY, "\"1m\" or \"0\" (never)",
		     &b->svc->unhealthy_ms) < 0)
		return -1;
	return 0;
}

static void
setenv_default(json_t *env, const char *k, const char *v)
{
	if (v != NULL && json_object_get(env, k) == NULL)
		json_object_set_new(env, k, json_string(v));
}

static void
inject(struct sb *b)
{
	const bc_spec_ctx *c = b->ctx;
	char id[32], bind[1024];

	snprintf(id, sizeof(id), "%lld", (long long)c->app_id);
	for (int pass = 0; pass < 2; pass++) {
		const char *pre = pass ? "RESIN" : "BALENA";
		char k[64];
#define ENV(suffix, val)                                                                           \
	(snprintf(k, sizeof(k), "%s%s", pre, suffix), setenv_default(b->env, k, val))
		ENV("", "1");
		ENV("_APP_ID", id);
		ENV("_APP_NAME", c->app_name);
		ENV("_SERVICE_NAME", b->svc->name);
		ENV("_DEVICE_UUID", c->device_uuid);
		ENV("_DEVICE_TYPE", c->device_type);
		ENV("_DEVICE_ARCH", c->device_arch);
		ENV("_HOST_OS_VERSION", c->host_os);
		ENV("_APP_UUID", c->app_uuid);
		ENV("_DEVICE_NAME_AT_INIT", c->device_name);
#undef ENV
	}
	/* where a hand-over's new container says the old one may go (the lock
	 * directory, at /tmp/balena: the executor watches it there) */
	if (c->lockdir != NULL) {
		setenv_default(b->env, "BALENA_SERVICE_HANDOVER_COMPLETE_PATH",
			       "/tmp/balena/handover-complete");
		setenv_default(b->env, "RESIN_SERVICE_KILL_ME_PATH", "/tmp/balena/handover-complete");
	}
	setenv_default(b->env, "BALENA_APP_LOCK_PATH", "/tmp/balena/updates.lock");
	setenv_default(b->env, "RESIN_APP_LOCK_PATH", "/tmp/resin/resin-updates.lock");
	if (c->lockdir != NULL) {
		const char *dst[] = {"/tmp/balena", "/tmp/resin"};
		char dir[sizeof(bind) - 16];
		if (bc_lock_dir(dir, sizeof(dir), c->lockdir, c->app_id, b->svc->name) == 0)
			for (int i = 0; i < 2; i++) {
				snprintf(bind, sizeof(bind), "%s:%s", dir, dst[i]);
				json_array_append_new(b->binds, json_string(bind));
			}
	}
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		if (!truthy(json_object_get(b->labels, features[i].label)))
			continue;
		for (int j = 0; j < 3 && features[i].binds[j]; j++)
			json_array_append_new(b->binds, json_string(features[i].binds[j]));
		if (features[i].env)
			setenv_default(b->env, features[i].env, features[i].env_val);
	}
	/* the GPU, as docker run --gpus 1 asks for it: every field given, as
	 * the engine reports it back (a partial one never compares equal) */
	if (truthy(json_object_get(b->labels, "io.balena.features.gpu")))
		json_object_set_new(b->host, "DeviceRequests",
				    json_pack("[{s:s, s:i, s:[], s:[[s]], s:{}}]", "Driver", "",
					      "Count", 1, "DeviceIDs", "Capabilities", "gpu",
					      "Options"));
	/* the device's API key and the cloud's address, as the supervisor
	 * gives them (a release owner's decision: docs/security.md) */
	if (truthy(json_object_get(b->labels, "io.balena.features.balena-api")) &&
	    c->api_key != NULL && c->api_url != NULL) {
		const char *names[][2] = {{"BALENA_API_KEY", "BALENA_API_URL"},
					  {"RESIN_API_KEY", "RESIN_API_URL"}};
		for (int i = 0; i < 2; i++) {
			setenv_default(b->env, names[i][0], c->api_key);
			setenv_default(b->env, names[i][1], c->api_url);
		}
	}
	/* the board's revision, from the host OS's os-release */
	if (truthy(json_object_get(b->labels, "io.balena.features.host-os.board-rev")))
		setenv_default(b->env, "BALENA_HOST_OS_BOARD_REV",
			       c->board_rev != NULL ? c->board_rev : "");
	json_object_set_new(b->labels, "io.balena.supervised", json_string("true"));
	json_object_set_new(b->labels, "io.balena.app-id", json_string(id));
	json_object_set_new(b->labels, "io.balena.app-uuid", json_string(c->app_uuid));
	json_object_set_new(b->labels, "io.balena.service-name", json_string(b->svc->name));
	snprintf(id, sizeof(id), "%lld", (long long)b->svc->service_id);
	json_object_set_new(b->labels, "io.balena.service-id", json_string(id));
}

/* Networks: the first becomes NetworkMode with its endpoint at create; the
 * others are joined after create (API 1.41 takes one endpoint). */
static int
wire_networks(struct sb *b)
{
	const char *name;
	json_t *ep;
	int first = 1;
	char dn[600];

	json_t *links = json_incref(json_object_get(b->body, "x-links"));

	json_object_del(b->body, "x-links");
	if (b->network_mode != NULL) {
		if (json_array_size(links) > 0) {
			json_decref(links);
			return spec_fail(b, "network_mode", "%s", "cannot be combined with links");
		}
		json_decref(links);
		if (json_object_size(b->nets) > 0)
			return spec_fail(b, "network_mode", "%s",
					 "cannot be combined with networks");
		json_object_set_new(b->host, "NetworkMode", json_string(b->network_mode));
		return 0;
	}
	if (json_object_size(b->nets) == 0 && spec_add_network(b, "default", NULL) < 0) {
		json_decref(links);
		return -1;
	}
	/* links: names of other containers on each network it joins */
	if (json_array_size(links) > 0)
		json_object_foreach(b->nets, name, ep) json_object_set(ep, "Links", links);
	json_decref(links);
	b->svc->connect = json_object();
	json_object_foreach(b->nets, name, ep)
	{
		const bc_network *an = bc_app_network(b->ctx->app, name);
		if (an == NULL || bc_network_dname(dn, sizeof(dn), b->ctx->app_uuid, an) < 0)
			bc_network_docker_name(dn, sizeof(dn), b->ctx->app_uuid, name);
		/* the network of the highest priority is joined at create */
		if (b->first_net != NULL ? strcmp(name, b->first_net) == 0 : first) {
			json_object_set_new(b->host, "NetworkMode", json_string(dn));
			json_object_set_new(b->body, "NetworkingConfig",
					    json_pack("{s:{s:O}}", "EndpointsConfig", dn, ep));
			first = 0;
		} else {
			json_object_set(b->svc->connect, dn, ep);
		}
	}
	return 0;
}

static json_t *
env_array(json_t *env)
{
	json_t *arr = json_array(), *v;
	const char **names;
	const char *name;
	size_t n = 0, i = 0;

	names = calloc(json_object_size(env) + 1, sizeof(*names));
	json_object_foreach(env, name, v) names[n++] = name;
	/* sorted, so the hash does not depend on the order of the input */
	for (size_t a = 1; a < n; a++)
		for (size_t c = a; c > 0 && strcmp(names[c - 1], names[c]) > 0; c--) {
			const char *t = names[c];
			names[c] = names[c - 1];
			names[c - 1] = t;
		}
	for (i = 0; i < n; i++) {
		char *kv;
		if (asprintf(&kv, "%s=%s", names[i],
			     json_string_value(json_object_get(env, names[i]))) >= 0) {
			json_array_append_new(arr, json_string(kv));
			free(kv);
		}
	}
	free(names);
	return arr;
}

/* The labels outside the hash: the hash itself and the app's name. */
static void
label_unhashed(json_t *labels, const char *hash, const bc_spec_ctx *ctx)
{
	json_object_set_new(labels, BC_LABEL_HASH, json_string(hash));
	if (ctx->app_name != NULL)
		json_object_set_new(labels, BC_LABEL_APP_NAME, json_string(ctx->app_name));
}

void
bc_json_hash(const json_t *j, const json_t *extra, char out[17])
{
	uint64_t h = 1469598103934665603ULL;
	const json_t *parts[2] = {j, extra};

	for (int p = 0; p < 2; p++) {
		char *s = parts[p] ? json_dumps(parts[p], JSON_SORT_KEYS | JSON_COMPACT) : NULL;
		for (const char *c = s ? s : ""; *c; c++) {
			h ^= (unsigned char)*c;
			h *= 1099511628211ULL;
		}
		h ^= 0xff; /* separator */
		h *= 1099511628211ULL;
		free(s);
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* The snake_case of a camelCase key ("capAdd" -> "cap_add"), as the
 * supervisor takes either; out n bytes. A key with no capital is itself. */
static void
snake_of(const char *k, char *out, size_t n)
{
	size_t o = 0;

	for (; *k && o + 2 < n; k++) {
		if (*k >= 'A' && *k <= 'Z') {
			if (o > 0)
				out[o++] = '_';
			out[o++] = (char)(*k - 'A' + 'a');
		} else {
			out[o++] = *k;
		}
	}
	out[o] = '\0';
}

/* The composition as we read it: each key in snake_case (the supervisor
 * takes camelCase too); a key we do not run is left out and named in
 * svc->ignored, as the supervisor drops it with a warning rather than
 * refuse the release (a compose file's keys were checked before: a typo
 * there is an error). A key given in both spellings is refused. NULL with
 * err then, or when out of memory. */
static json_t *
normalised(bc_service *svc, const json_t *composition, const bc_spec_ctx *ctx, bc_err *err)
{
	json_t *out = json_object(), *v;
	const char *k;

	json_object_foreach((json_t *)composition, k, v)
	{
		char key[128];
		snake_of(k, key, sizeof(key));
		if (json_object_get(out, key) != NULL) {
			bc_err_set(err, BC_EINVAL,
				   "%s service '%s': composition key '%s' is given twice (as '%s' "
				   "and in another spelling)",
				   ctx->where, svc->name, key, k);
			json_decref(out);
			return NULL;
		}
		if (!bc_spec_service_key(key)) {
			if (bc_strv_add(&svc->ignored, k) < 0) {
				json_decref(out);
				bc_err_sys(err, "composition");
				return NULL;
			}
			continue;
		}
		json_object_set(out, key, v);
	}
	return out;
}

int
bc_spec_service(bc_service *svc, const json_t *composition, const json_t *environment,
		const json_t *labels, const bc_spec_ctx *ctx, bc_err *err)
{
	json_t *comp = NULL;
	struct sb b = {.ctx = ctx, .svc = svc, .err = err};
	json_t *v;
	char hash[17];
	int rc = -1;

	if (composition != NULL && !json_is_object(composition))
		return bc_err_set(err, BC_EINVAL, "%s service '%s': composition must be a map",
				  ctx->where, svc->name);
	/* logs are bounded unless the composition's logging says otherwise:
	 * json-file without max-size grows until /var/lib/docker is full */
	b.body = json_pack(
	    "{s:b, s:i, s:{}, s:{}, s:{s:[], s:{}, s:{s:s,s:i}, s:{s:s, s:{s:s,s:s}}}}", "Tty", 1,
	    "StopTimeout", 10, "ExposedPorts", "Volumes", "HostConfig", "Binds", "Tmpfs",
	    "RestartPolicy", "Name", "always", "MaximumRetryCount", 0, "LogConfig", "Type",
	    "json-file", "Config", "max-size", BC_LOG_MAX_SIZE, "max-file", BC_LOG_MAX_FILE);
	b.host = json_object_get(b.body, "HostConfig");
	b.binds = json_object_get(b.host, "Binds");
	b.env = json_object();
	b.labels = json_object();
	b.nets = json_object();

	/* snake_case; what we do not run left out, named */
	if ((comp = normalised(svc, composition, ctx, err)) == NULL)
		goto out;
	composition = comp;
	/* labels first (composition, then the service's own, which win) */
	if ((v = json_object_get(composition, "labels")) != NULL &&
	    bc_spec_keys[0].fn(&b, &bc_spec_keys[0], v) < 0)
		goto out;
	if (labels != NULL && bc_spec_keys[0].fn(&b, &bc_spec_keys[0], (json_t *)labels) < 0)
		goto out;
	normalise_labels(b.labels);
	/* the supervisor's API is not served here (yet): a service that needs
	 * it would start and fail to reach it */
	if (truthy(json_object_get(b.labels, "io.balena.features.supervisor-api"))) {
		spec_fail(&b, "labels", "%s",
			  "io.balena.features.supervisor-api: the supervisor API is not provided "
			  "by balena-compose (no device API yet); remove the label or run the "
			  "service without it");
		goto out;
	}
	b.allow_binds = truthy(json_object_get(b.labels, BC_LABEL_BINDS));
	/* a name of its own: one container at a time has it */
	if ((v = json_object_get(b.labels, BC_LABEL_CONTAINER_NAME)) != NULL) {
		if (!bc_docker_name_ok(json_string_value(v), 128)) {
			spec_fail(&b, "labels", "%s",
				  BC_LABEL_CONTAINER_NAME " must be a Docker name "
							  "([a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128)");
			goto out;
		}
		free(svc->container_name);
		svc->container_name = strdup(json_string_value(v));
	}
	if (strategy_from_labels(&b) < 0)
		goto out;
	for (size_t i = 1; i < bc_spec_nkeys; i++)
		if ((v = json_object_get(composition, bc_spec_keys[i].name)) != NULL &&
		    bc_spec_keys[i].fn(&b, &bc_spec_keys[i], v) < 0)
			goto out;
	if (environment != NULL &&
	    spec_pairs_into(&b, "environment", (json_t *)environment, b.env, '=') < 0)
		goto out;
	inject(&b);
	if (wire_networks(&b) < 0)
		goto out;
	json_object_set_new(b.body, "Env", env_array(b.env));
	json_object_set(b.body, "Labels", b.labels);
	if (json_object_get(svc->hooks, "pre_stop") != NULL) {
		char *t = json_dumps(json_object_get(svc->hooks, "pre_stop"), JSON_COMPACT);
		if (t != NULL)
			json_object_set_new(b.labels, BC_LABEL_PRE_STOP, json_string(t));
		free(t);
		json_object_set(b.body, "Labels", b.labels);
	}
	if (svc->files != NULL || svc->hooks != NULL) {
		/* the files made in it and its hooks are part of its config */
		json_t *extra = json_pack("{s:O}", "connect", svc->connect);
		if (svc->files != NULL)
			json_object_set(extra, "files", svc->files);
		if (svc->hooks != NULL)
			json_object_set(extra, "hooks", svc->hooks);
		bc_json_hash(b.body, extra, hash);
		json_decref(extra);
	} else {
		bc_json_hash(b.body, svc->connect, hash);
	}
	label_unhashed(b.labels, hash, ctx);
	svc->config_hash = strdup(hash);
	svc->spec = json_incref(b.body);
	rc = 0;
out:
	json_decref(comp);
	json_decref(b.body);
	json_decref(b.env);
	json_decref(b.labels);
	json_decref(b.nets);
	return rc;
}

/* --- volumes and networks -------------------------------------------------------- */

static int
only_keys(const json_t *cfg, const char *const *ok, const char *what, const char *name,
	  const bc_spec_ctx *ctx, bc_err *err)
{
	const char *k;
	json_t *v;

	if (cfg != NULL && !json_is_object(cfg) && !json_is_null(cfg))
		return bc_err_set(err, BC_EINVAL, "%s %s '%s': must be a map", ctx->where, what,
				  name);
	json_object_foreach((json_t *)cfg, k, v)
	{
		size_t i;
		for (i = 0; ok[i]; i++)
			if (strcmp(ok[i], k) == 0)
				break;
		if (ok[i] == NULL)
			return bc_err_set(err, BC_EINVAL, "%s %s '%s': key '%s' is not supported",
					  ctx->where, what, name, k);
	}
	return 0;
}

static json_t *
component_labels(const json_t *cfg, const bc_spec_ctx *ctx)
{
	json_t *l = json_object(), *v;
	const char *k;
	char id[32];

	json_object_foreach(json_object_get(cfg, "labels"), k, v) if (json_is_string(v))
	    json_object_set(l, k, v);
	normalise_labels(l);
	snprintf(id, sizeof(id), "%lld", (long long)ctx->app_id);
	json_object_set_new(l, "io.balena.supervised", json_string("true"));
	json_object_set_new(l, "io.balena.app-id", json_string(id));
	json_object_set_new(l, "io.balena.app-uuid", json_string(ctx->app_uuid));
	return l;
}

static void
seal(json_t *body, const bc_spec_ctx *ctx, char **hash_out)
{
	char hash[17];
	bc_json_hash(body, NULL, hash);
	label_unhashed(json_object_get(body, "Labels"), hash, ctx);
	*hash_out = strdup(hash);
}

/* external and name (volumes' and networks'): the Docker name, checked
 * as Docker names it; 1 external, 0 not, -1 err */
static int
outside_name(const json_t *cfg, const char *what, const char *name, char **docker_name,
	     const bc_spec_ctx *ctx, bc_err *err)
{
	const json_t *ext = json_object_get(cfg, "external"), *nj = json_object_get(cfg, "name");
	const char *n = json_string_value(nj);

	if (ext != NULL && !json_is_boolean(ext))
		return bc_err_set(err, BC_EINVAL, "%s %s '%s': external must be true or false",
				  ctx->where, what, name);
	if (nj != NULL && !bc_docker_name_ok(n, 255))
		return bc_err_set(err, BC_EINVAL,
				  "%s %s '%s': name must be a Docker name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)",
				  ctx->where, what, name);
	if (json_is_true(ext) && n == NULL)
		n = name; /* external: its own name, unless name says another */
	if (n != NULL && (*docker_name = strdup(n)) == NULL)
		return bc_err_sys(err, "%s", what);
	return json_is_true(ext) ? 1 : 0;
}

int
bc_spec_volume(bc_volume *vol, const json_t *cfg, const bc_spec_ctx *ctx, bc_err *err)
{
	const char *drv = json_string_value(json_object_get(cfg, "driver"));
	json_t *opts = json_object_get(cfg, "driver_opts");
	char dn[600];
	int ext;

	if (only_keys(cfg, bc_spec_volume_keys, "volume", vol->name, ctx, err) < 0)
		return -1;
	if (opts != NULL) {
		const char *k;
		json_t *v;
		if (!json_is_object(opts))
			return bc_err_set(err, BC_EINVAL,
					  "%s volume '%s': driver_opts must be a map", ctx->where,
					  vol->name);
		json_object_foreach(opts, k, v) if (!json_is_string(v)) return bc_err_set(
		    err, BC_EINVAL, "%s volume '%s': driver_opts '%s' must be a string", ctx->where,
		    vol->name, k);
	}
	if ((ext = outside_name(cfg, "volume", vol->name, &vol->docker_name, ctx, err)) < 0)
		return -1;
	if ((vol->external = ext == 1))
		return 0; /* used as it is: nothing to make */
	if (bc_volume_dname(dn, sizeof(dn), ctx->app_id, vol) < 0)
		return bc_err_set(err, BC_ETOOBIG, "%s volume '%s': name too long", ctx->where,
				  vol->name);
	vol->spec = json_pack("{s:s, s:s, s:o, s:o}", "Name", dn, "Driver", drv ? drv : "local",
			      "DriverOpts", json_is_object(opts) ? json_copy(opts) : json_object(),
			      "Labels", component_labels(cfg, ctx));
	/* a name of its own: the label says whose it is */
	if (vol->docker_name != NULL)
		json_object_set_new(json_object_get(vol->spec, "Labels"), BC_LABEL_COMPONENT,
				    json_string(vol->name));
	seal(vol->spec, ctx, &vol->config_hash);
	return 0;
}

int
bc_spec_network(bc_network *net, const json_t *cfg, const bc_spec_ctx *ctx, bc_err *err)
{
	const char *drv = json_string_value(json_object_get(cfg, "driver"));
	json_t *ipam = json_object_get(cfg, "ipam"), *ic = json_array(), *e;
	char dn[600];
	size_t i;
	int ext;

	if (only_keys(cfg, bc_spec_network_keys, "network", net->name, ctx, err) < 0) {
		json_decref(ic);
		return -1;
	}
	json_array_foreach(json_object_get(ipam, "config"), i, e)
	{
		json_t *c = json_object();
		static const char *const m[][2] = {
		    {"subnet", "Subnet"}, {"gateway", "Gateway"}, {"ip_range", "IPRange"}};
		for (int k = 0; k < 3; k++)
			if (json_is_string(json_object_get(e, m[k][0])))
				json_object_set(c, m[k][1], json_object_get(e, m[k][0]));
		json_array_append_new(ic, c);
	}
	if ((ext = outside_name(cfg, "network", net->name, &net->docker_name, ctx, err)) < 0) {
		json_decref(ic);
		return -1;
	}
	if ((net->external = ext == 1)) {
		json_decref(ic);
		return 0;
	}
	if (bc_network_dname(dn, sizeof(dn), ctx->app_uuid, net) < 0) {
		json_decref(ic);
		return bc_err_set(err, BC_ETOOBIG, "%s network '%s': name too long", ctx->where,
				  net->name);
	}
	net->spec =
	    json_pack("{s:s, s:s, s:b, s:{s:s, s:o}, s:b, s:b, s:o}", "Name", dn, "Driver",
		      drv ? drv : "bridge", "CheckDuplicate", 1, "IPAM", "Driver",
		      json_string_value(json_object_get(ipam, "driver"))
			  ? json_string_value(json_object_get(ipam, "driver"))
			  : "default",
		      "Config", ic, "EnableIPv6", json_is_true(json_object_get(cfg, "enable_ipv6")),
		      "Internal", json_is_true(json_object_get(cfg, "internal")), "Labels",
		      component_labels(cfg, ctx));
	if (json_is_object(json_object_get(cfg, "driver_opts")))
		json_object_set(net->spec, "Options", json_object_get(cfg, "driver_opts"));
	if (net->docker_name != NULL)
		json_object_set_new(json_object_get(net->spec, "Labels"), BC_LABEL_COMPONENT,
				    json_string(net->name));
	seal(net->spec, ctx, &net->config_hash);
	return 0;
}
