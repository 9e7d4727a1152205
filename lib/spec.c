#include "spec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "values.h"

/* The service being built. */
struct sb {
	const bc_spec_ctx *ctx;
	bc_service *svc;
	bc_err *err;
	json_t *body;   /* the create body */
	json_t *host;   /* body.HostConfig (borrowed) */
	json_t *env;    /* name -> value, merged */
	json_t *labels; /* name -> value */
	json_t *binds;  /* HostConfig.Binds (borrowed) */
	json_t *nets;   /* network name -> endpoint config, in order */
	const char *network_mode;
	bool allow_binds;
};

static int
fail(struct sb *b, const char *key, const char *fmt, const char *arg)
{
	char what[256];
	snprintf(what, sizeof(what), fmt, arg);
	return bc_err_set(b->err, BC_EINVAL, "%s service '%s': '%s': %s", b->ctx->where,
			  b->svc->name, key, what);
}

/* Wrap an error from a value parser with where it happened. */
static int
wrap(struct sb *b, const char *key)
{
	return bc_err_wrap(b->err, "%s service '%s': '%s'", b->ctx->where, b->svc->name, key);
}

static json_t *
dest(struct sb *b, bool host)
{
	return host ? b->host : b->body;
}

/* --- generic kinds ---------------------------------------------------------- */

struct key;
typedef int (*keyfn)(struct sb *b, const struct key *k, json_t *v);
struct key {
	const char *name;
	keyfn fn;
	bool host;         /* field lives in HostConfig */
	const char *field; /* Docker field, for the generic kinds */
};

static int
k_ignore(struct sb *b, const struct key *k, json_t *v)
{
	(void)b, (void)k, (void)v;
	return 0;
}

static int
k_bool(struct sb *b, const struct key *k, json_t *v)
{
	if (!json_is_boolean(v))
		return fail(b, k->name, "%s", "must be true or false");
	json_object_set(dest(b, k->host), k->field, v);
	return 0;
}

static int
k_str(struct sb *b, const struct key *k, json_t *v)
{
	if (!json_is_string(v))
		return fail(b, k->name, "%s", "must be a string");
	json_object_set(dest(b, k->host), k->field, v);
	return 0;
}

static int
k_int(struct sb *b, const struct key *k, json_t *v)
{
	if (!json_is_integer(v))
		return fail(b, k->name, "%s", "must be an integer");
	json_object_set(dest(b, k->host), k->field, v);
	return 0;
}

static int
k_bytes(struct sb *b, const struct key *k, json_t *v)
{
	int64_t n;
	if (bc_parse_bytes(v, &n, b->err) < 0)
		return wrap(b, k->name);
	json_object_set_new(dest(b, k->host), k->field, json_integer(n));
	return 0;
}

/* A list of strings; a single string is a list of one where allowed. */
static json_t *
strlist(struct sb *b, const char *key, json_t *v, bool one_ok)
{
	size_t i;
	json_t *e;

	if (one_ok && json_is_string(v))
		return json_pack("[O]", v);
	if (!json_is_array(v)) {
		fail(b, key, "%s", one_ok ? "must be a string or a list of strings"
					  : "must be a list of strings");
		return NULL;
	}
	json_array_foreach(v, i, e) if (!json_is_string(e))
	{
		fail(b, key, "%s", "must be a list of strings");
		return NULL;
	}
	return json_copy(v);
}

static int
k_strlist(struct sb *b, const struct key *k, json_t *v)
{
	json_t *l = strlist(b, k->name, v, strncmp(k->name, "dns", 3) == 0);
	if (l == NULL)
		return -1;
	json_object_set_new(dest(b, k->host), k->field, l);
	return 0;
}

/* "K=V" list or map of scalars into obj; sep is '=' (or ':' for hosts). */
static int
pairs_into(struct sb *b, const char *key, json_t *v, json_t *obj, char sep)
{
	size_t i;
	const char *name;
	json_t *e;

	if (json_is_object(v)) {
		json_object_foreach(v, name, e)
		{
			char num[64];
			if (json_is_string(e))
				json_object_set(obj, name, e);
			else if (json_is_integer(e) || json_is_real(e) || json_is_boolean(e)) {
				if (json_is_integer(e))
					snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(e));
				else if (json_is_real(e))
					snprintf(num, sizeof(num), "%g", json_real_value(e));
				else
					snprintf(num, sizeof(num), "%s", json_is_true(e) ? "true" : "false");
				json_object_set_new(obj, name, json_string(num));
			} else if (!json_is_null(e)) {
				return fail(b, key, "value of '%s' must be a string or number", name);
			}
		}
		return 0;
	}
	if (!json_is_array(v))
		return fail(b, key, "%s", "must be a map or a list of 'name=value'");
	json_array_foreach(v, i, e)
	{
		const char *s = json_string_value(e), *eq;
		if (s == NULL)
			return fail(b, key, "%s", "list entries must be strings");
		eq = strchr(s, sep);
		if (eq == NULL) {
			if (sep == '=')
				continue; /* "NAME" alone: from a shell we do not have */
			return fail(b, key, "'%s' has no separator", s);
		}
		{
			char k2[256];
			size_t n = (size_t)(eq - s);
			if (n == 0 || n >= sizeof(k2))
				return fail(b, key, "'%s' has an empty or overlong name", s);
			memcpy(k2, s, n);
			k2[n] = '\0';
			json_object_set_new(obj, k2, json_string(eq + 1));
		}
	}
	return 0;
}

static int
k_env(struct sb *b, const struct key *k, json_t *v)
{
	return pairs_into(b, k->name, v, b->env, '=');
}

static int
k_labels(struct sb *b, const struct key *k, json_t *v)
{
	return pairs_into(b, k->name, v, b->labels, '=');
}

static int
k_sysctls(struct sb *b, const struct key *k, json_t *v)
{
	json_t *o = json_object();
	json_object_set_new(b->host, "Sysctls", o);
	return pairs_into(b, k->name, v, o, '=');
}

static int
k_extra_hosts(struct sb *b, const struct key *k, json_t *v)
{
	json_t *o = json_object(), *arr = json_array(), *e;
	const char *name;
	int rc = pairs_into(b, k->name, v, o, ':');

	json_object_foreach(o, name, e)
	{
		char line[512];
		snprintf(line, sizeof(line), "%s:%s", name, json_string_value(e));
		json_array_append_new(arr, json_string(line));
	}
	json_decref(o);
	json_object_set_new(b->host, "ExtraHosts", arr);
	return rc;
}

/* --- the special ones ---------------------------------------------------------- */

static int
k_cmd(struct sb *b, const struct key *k, json_t *v)
{
	json_t *arr;

	if (json_is_string(v)) {
		if ((arr = bc_shell_split(json_string_value(v), b->err)) == NULL)
			return wrap(b, k->name);
	} else if ((arr = strlist(b, k->name, v, false)) == NULL) {
		return -1;
	}
	json_object_set_new(b->body, k->field, arr);
	return 0;
}

static int
k_ports(struct sb *b, const struct key *k, json_t *v)
{
	json_t *exposed = json_object_get(b->body, "ExposedPorts");
	json_t *bind;
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return fail(b, k->name, "%s", "must be a list");
	bind = json_object();
	json_object_set_new(b->host, "PortBindings", bind);
	json_array_foreach(v, i, e)
	{
		if (json_is_object(e)) {
			json_t *t = json_object_get(e, "target"), *pub = json_object_get(e, "published");
			const char *proto = json_string_value(json_object_get(e, "protocol"));
			const char *ip = json_string_value(json_object_get(e, "host_ip"));
			char s[128];
			if (!json_is_integer(t))
				return fail(b, k->name, "%s", "long form needs an integer 'target'");
			if (pub != NULL && !json_is_integer(pub) && !json_is_string(pub))
				return fail(b, k->name, "%s", "'published' must be a port");
			if (pub == NULL)
				snprintf(s, sizeof(s), "%lld/%s", (long long)json_integer_value(t),
					 proto ? proto : "tcp");
			else if (json_is_integer(pub))
				snprintf(s, sizeof(s), "%s%s%lld:%lld/%s", ip ? ip : "", ip ? ":" : "",
					 (long long)json_integer_value(pub),
					 (long long)json_integer_value(t), proto ? proto : "tcp");
			else
				snprintf(s, sizeof(s), "%s%s%s:%lld/%s", ip ? ip : "", ip ? ":" : "",
					 json_string_value(pub), (long long)json_integer_value(t),
					 proto ? proto : "tcp");
			json_t *js = json_string(s);
			int rc = bc_parse_port(js, exposed, bind, b->err);
			json_decref(js);
			if (rc < 0)
				return wrap(b, k->name);
		} else if (bc_parse_port(e, exposed, bind, b->err) < 0) {
			return wrap(b, k->name);
		}
	}
	return 0;
}

static int
k_expose(struct sb *b, const struct key *k, json_t *v)
{
	json_t *exposed = json_object_get(b->body, "ExposedPorts"), *scratch = json_object();
	size_t i;
	json_t *e;
	int rc = 0;

	if (!json_is_array(v))
		rc = fail(b, k->name, "%s", "must be a list");
	json_array_foreach(v, i, e) if (rc == 0 && bc_parse_port(e, exposed, scratch, b->err) < 0)
		rc = wrap(b, k->name);
	json_decref(scratch);
	return rc;
}

static int
k_tmpfs(struct sb *b, const struct key *k, json_t *v)
{
	json_t *l = strlist(b, k->name, v, true), *o, *e;
	size_t i;

	if (l == NULL)
		return -1;
	o = json_object_get(b->host, "Tmpfs");
	json_array_foreach(l, i, e)
	{
		const char *s = json_string_value(e), *colon = strchr(s, ':');
		char path[256];
		size_t n = colon ? (size_t)(colon - s) : strlen(s);
		if (s[0] != '/' || n >= sizeof(path)) {
			json_decref(l);
			return fail(b, k->name, "'%s' must be an absolute path", s);
		}
		memcpy(path, s, n);
		path[n] = '\0';
		json_object_set_new(o, path, json_string(colon ? colon + 1 : ""));
	}
	json_decref(l);
	return 0;
}

static int
k_devices(struct sb *b, const struct key *k, json_t *v)
{
	json_t *l = strlist(b, k->name, v, false), *out = json_array(), *e;
	size_t i;

	json_object_set_new(b->host, "Devices", out);
	if (l == NULL)
		return -1;
	json_array_foreach(l, i, e)
	{
		json_t *d = bc_parse_device(json_string_value(e), b->err);
		if (d == NULL) {
			json_decref(l);
			return wrap(b, k->name);
		}
		json_array_append_new(out, d);
	}
	json_decref(l);
	return 0;
}

static int
k_restart(struct sb *b, const struct key *k, json_t *v)
{
	json_t *p;
	if (!json_is_string(v))
		return fail(b, k->name, "%s", "must be a string");
	if ((p = bc_parse_restart(json_string_value(v), b->err)) == NULL)
		return wrap(b, k->name);
	json_object_set_new(b->host, "RestartPolicy", p);
	return 0;
}

static int
k_grace(struct sb *b, const struct key *k, json_t *v)
{
	int64_t ns;
	if (bc_parse_duration(v, &ns, b->err) < 0)
		return wrap(b, k->name);
	json_object_set_new(b->body, "StopTimeout", json_integer((ns + 999999999) / 1000000000));
	return 0;
}

static int
k_cpus(struct sb *b, const struct key *k, json_t *v)
{
	double c = json_is_number(v) ? json_number_value(v)
				     : (json_is_string(v) ? atof(json_string_value(v)) : -1);
	if (!(c > 0 && c < 4096))
		return fail(b, k->name, "%s", "must be a positive number of CPUs");
	json_object_set_new(b->host, "NanoCpus", json_integer((json_int_t)llround(c * 1e9)));
	return 0;
}

static int
k_ulimits(struct sb *b, const struct key *k, json_t *v)
{
	json_t *out = json_array(), *e;
	const char *name;

	json_object_set_new(b->host, "Ulimits", out);
	if (!json_is_object(v))
		return fail(b, k->name, "%s", "must be a map");
	json_object_foreach(v, name, e)
	{
		json_t *soft = e, *hard = e;
		if (json_is_object(e)) {
			soft = json_object_get(e, "soft");
			hard = json_object_get(e, "hard");
		}
		if (!json_is_integer(soft) || !json_is_integer(hard))
			return fail(b, k->name, "'%s' needs integer soft and hard limits", name);
		json_array_append_new(out, json_pack("{s:s,s:O,s:O}", "Name", name, "Soft", soft,
						     "Hard", hard));
	}
	return 0;
}

static int
duration_field(struct sb *b, json_t *hc, json_t *src, const char *from, const char *to)
{
	json_t *v = json_object_get(src, from);
	int64_t ns;

	if (v == NULL)
		return 0;
	if (bc_parse_duration(v, &ns, b->err) < 0)
		return wrap(b, "healthcheck");
	json_object_set_new(hc, to, json_integer(ns));
	return 0;
}

static int
k_health(struct sb *b, const struct key *k, json_t *v)
{
	static const char *const known[] = {"test",     "interval",     "timeout",
					    "retries",  "start_period", "disable"};
	json_t *hc = json_object(), *test, *e;
	const char *name;

	json_object_set_new(b->body, "Healthcheck", hc);
	if (!json_is_object(v))
		return fail(b, k->name, "%s", "must be a map");
	json_object_foreach(v, name, e)
	{
		size_t i;
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(name, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0]))
			return fail(b, k->name, "key '%s' is not supported", name);
	}
	if (json_is_true(json_object_get(v, "disable"))) {
		json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
		return 0;
	}
	test = json_object_get(v, "test");
	if (json_is_string(test)) {
		json_object_set_new(hc, "Test", json_pack("[s,O]", "CMD-SHELL", test));
	} else if (json_is_array(test) && json_array_size(test) > 0) {
		const char *t0 = json_string_value(json_array_get(test, 0));
		json_t *l = strlist(b, "healthcheck.test", test, false);
		if (l == NULL)
			return -1;
		json_object_set_new(hc, "Test", l);
		if (strcmp(t0, "NONE") && strcmp(t0, "CMD") && strcmp(t0, "CMD-SHELL"))
			return fail(b, k->name, "%s", "test must start with NONE, CMD or CMD-SHELL");
	} else if (test != NULL) {
		return fail(b, k->name, "%s", "test must be a string or a list");
	}
	if (json_object_get(v, "retries") != NULL) {
		if (!json_is_integer(json_object_get(v, "retries")))
			return fail(b, k->name, "%s", "retries must be an integer");
		json_object_set(hc, "Retries", json_object_get(v, "retries"));
	}
	return duration_field(b, hc, v, "interval", "Interval") ||
	       duration_field(b, hc, v, "timeout", "Timeout") ||
	       duration_field(b, hc, v, "start_period", "StartPeriod");
}

static int
k_depends(struct sb *b, const struct key *k, json_t *v)
{
	const char *name;
	size_t i;
	json_t *e;

	if (json_is_object(v)) {
		json_object_foreach(v, name, e) bc_strv_add(&b->svc->depends_on, name);
		return 0;
	}
	if (!json_is_array(v))
		return fail(b, k->name, "%s", "must be a list or a map of service names");
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e))
			return fail(b, k->name, "%s", "must list service names");
		bc_strv_add(&b->svc->depends_on, json_string_value(e));
	}
	return 0;
}

static int
k_network_mode(struct sb *b, const struct key *k, json_t *v)
{
	const char *m = json_string_value(v);

	if (m == NULL)
		return fail(b, k->name, "%s", "must be a string");
	if (strcmp(m, "host") && strcmp(m, "bridge") && strcmp(m, "none") &&
	    strncmp(m, "service:", 8) != 0)
		return fail(b, k->name, "'%s' is not host, bridge, none or service:<name>", m);
	if (strncmp(m, "service:", 8) == 0)
		bc_strv_add(&b->svc->depends_on, m + 8);
	b->network_mode = m;
	return 0;
}

static int
add_network(struct sb *b, const char *name, json_t *cfg)
{
	json_t *ep, *aliases, *e;
	size_t i;

	if (bc_app_network(b->ctx->app, name) == NULL)
		return fail(b, "networks", "network '%s' is not declared by the release", name);
	ep = json_object();
	aliases = json_array();
	json_array_append_new(aliases, json_string(b->svc->name));
	if (cfg != NULL && !json_is_null(cfg)) {
		json_t *al = json_object_get(cfg, "aliases");
		const char *ip = json_string_value(json_object_get(cfg, "ipv4_address"));
		if (!json_is_object(cfg) || (al != NULL && !json_is_array(al))) {
			json_decref(ep);
			json_decref(aliases);
			return fail(b, "networks", "'%s' must map to aliases / ipv4_address", name);
		}
		json_array_foreach(al, i, e) if (json_is_string(e))
			json_array_append(aliases, e);
		if (ip != NULL)
			json_object_set_new(ep, "IPAMConfig", json_pack("{s:s}", "IPv4Address", ip));
	}
	json_object_set_new(ep, "Aliases", aliases);
	json_object_set_new(b->nets, name, ep);
	return bc_strv_add(&b->svc->networks, name);
}

static int
k_networks(struct sb *b, const struct key *k, json_t *v)
{
	const char *name;
	size_t i;
	json_t *e;

	if (json_is_object(v)) {
		json_object_foreach(v, name, e) if (add_network(b, name, e) < 0) return -1;
		return 0;
	}
	if (!json_is_array(v))
		return fail(b, k->name, "%s", "must be a list or a map");
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e))
			return fail(b, k->name, "%s", "must list network names");
		if (add_network(b, json_string_value(e), NULL) < 0)
			return -1;
	}
	return 0;
}

/* One volume entry: "name:/path[:ro]", "/host:/path[:ro]" (binds need the
 * feature label), "/path" (anonymous), or the long form. */
static int
volume_entry(struct sb *b, json_t *e)
{
	char src[512] = "", dst[512] = "", bind[1200];
	bool ro = false;
	const char *type = "volume";

	if (json_is_object(e)) {
		const char *t = json_string_value(json_object_get(e, "type"));
		const char *s = json_string_value(json_object_get(e, "source"));
		const char *d = json_string_value(json_object_get(e, "target"));
		if (t != NULL)
			type = t;
		if (d == NULL)
			return fail(b, "volumes", "%s", "long form needs 'target'");
		snprintf(src, sizeof(src), "%s", s ? s : "");
		snprintf(dst, sizeof(dst), "%s", d);
		ro = json_is_true(json_object_get(e, "read_only"));
		if (strcmp(type, "tmpfs") == 0) {
			json_object_set_new(json_object_get(b->host, "Tmpfs"), dst, json_string(""));
			return 0;
		}
		if (strcmp(type, "volume") && strcmp(type, "bind"))
			return fail(b, "volumes", "type '%s' is not volume, bind or tmpfs", type);
	} else if (json_is_string(e)) {
		const char *s = json_string_value(e), *c1 = strchr(s, ':'), *c2;
		if (c1 == NULL) {
			snprintf(dst, sizeof(dst), "%s", s);
		} else {
			snprintf(src, sizeof(src), "%.*s", (int)(c1 - s), s);
			c2 = strchr(c1 + 1, ':');
			snprintf(dst, sizeof(dst), "%.*s", (int)(c2 ? c2 - c1 - 1 : (long)strlen(c1 + 1)),
				 c1 + 1);
			if (c2 != NULL) {
				if (strcmp(c2 + 1, "ro") == 0)
					ro = true;
				else if (strcmp(c2 + 1, "rw") != 0)
					return fail(b, "volumes", "mode in '%s' must be ro or rw", s);
			}
		}
		if (src[0] == '/' || src[0] == '.' || src[0] == '~')
			type = "bind";
	} else {
		return fail(b, "volumes", "%s", "entries must be strings or maps");
	}
	if (dst[0] != '/')
		return fail(b, "volumes", "target '%s' must be an absolute path", dst);
	if (src[0] == '\0') { /* anonymous volume */
		json_object_set_new(json_object_get(b->body, "Volumes"), dst, json_object());
		return 0;
	}
	if (strcmp(type, "bind") == 0) {
		if (!b->allow_binds)
			return fail(b, "volumes",
				    "host path '%s' refused: bind mounts need the label " BC_LABEL_BINDS
				    "=1",
				    src);
		if (src[0] != '/')
			return fail(b, "volumes", "host path '%s' must be absolute", src);
		snprintf(bind, sizeof(bind), "%s:%s%s", src, dst, ro ? ":ro" : "");
	} else {
		char vname[600];
		if (bc_app_volume(b->ctx->app, src) == NULL)
			return fail(b, "volumes", "volume '%s' is not declared by the release", src);
		bc_volume_docker_name(vname, sizeof(vname), b->ctx->app_id, src);
		snprintf(bind, sizeof(bind), "%s:%s%s", vname, dst, ro ? ":ro" : "");
		if (!bc_strv_has(&b->svc->volumes, src))
			bc_strv_add(&b->svc->volumes, src);
	}
	json_array_append_new(b->binds, json_string(bind));
	return 0;
}

static int
k_volumes(struct sb *b, const struct key *k, json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return fail(b, k->name, "%s", "must be a list");
	json_array_foreach(v, i, e) if (volume_entry(b, e) < 0) return -1;
	return 0;
}

static int
k_refuse(struct sb *b, const struct key *k, json_t *v)
{
	(void)v;
	return fail(b, k->name, "%s",
		    strcmp(k->name, "build") == 0
			    ? "is not supported on the device: build and push the image first"
			    : "is not supported: containers are named after the release");
}

static const struct key keys[] = {
	{"labels", k_labels, 0, NULL}, /* first: feature labels steer the rest */
	{"image", k_ignore, 0, NULL},
	{"command", k_cmd, 0, "Cmd"},
	{"entrypoint", k_cmd, 0, "Entrypoint"},
	{"environment", k_env, 0, NULL},
	{"ports", k_ports, 1, NULL},
	{"expose", k_expose, 0, NULL},
	{"volumes", k_volumes, 1, NULL},
	{"tmpfs", k_tmpfs, 1, NULL},
	{"networks", k_networks, 0, NULL},
	{"network_mode", k_network_mode, 1, NULL},
	{"restart", k_restart, 1, NULL},
	{"privileged", k_bool, 1, "Privileged"},
	{"init", k_bool, 1, "Init"},
	{"read_only", k_bool, 1, "ReadonlyRootfs"},
	{"tty", k_bool, 0, "Tty"},
	{"stdin_open", k_bool, 0, "OpenStdin"},
	{"cap_add", k_strlist, 1, "CapAdd"},
	{"cap_drop", k_strlist, 1, "CapDrop"},
	{"group_add", k_strlist, 1, "GroupAdd"},
	{"security_opt", k_strlist, 1, "SecurityOpt"},
	{"dns", k_strlist, 1, "Dns"},
	{"dns_search", k_strlist, 1, "DnsSearch"},
	{"dns_opt", k_strlist, 1, "DnsOptions"},
	{"devices", k_devices, 1, NULL},
	{"healthcheck", k_health, 0, NULL},
	{"depends_on", k_depends, 0, NULL},
	{"stop_grace_period", k_grace, 0, NULL},
	{"stop_signal", k_str, 0, "StopSignal"},
	{"user", k_str, 0, "User"},
	{"working_dir", k_str, 0, "WorkingDir"},
	{"hostname", k_str, 0, "Hostname"},
	{"domainname", k_str, 0, "Domainname"},
	{"pid", k_str, 1, "PidMode"},
	{"ipc", k_str, 1, "IpcMode"},
	{"sysctls", k_sysctls, 1, NULL},
	{"ulimits", k_ulimits, 1, NULL},
	{"mem_limit", k_bytes, 1, "Memory"},
	{"mem_reservation", k_bytes, 1, "MemoryReservation"},
	{"shm_size", k_bytes, 1, "ShmSize"},
	{"cpus", k_cpus, 1, NULL},
	{"cpu_shares", k_int, 1, "CpuShares"},
	{"oom_score_adj", k_int, 1, "OomScoreAdj"},
	{"extra_hosts", k_extra_hosts, 1, NULL},
	{"build", k_refuse, 0, NULL},
	{"container_name", k_refuse, 0, NULL},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const volume_keys[] = {"driver", "driver_opts", "labels", NULL};
static const char *const network_keys[] = {"driver",      "driver_opts", "labels", "ipam",
					   "enable_ipv6", "internal",    NULL};

bool
bc_spec_service_key(const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, key) == 0)
			return keys[i].fn != k_refuse;
	return false;
}

static bool
in_list(const char *const *l, const char *key)
{
	for (; *l; l++)
		if (strcmp(*l, key) == 0)
			return true;
	return false;
}

bool
bc_spec_volume_key(const char *key)
{
	return in_list(volume_keys, key);
}

bool
bc_spec_network_key(const char *key)
{
	return in_list(network_keys, key);
}

/* --- what the supervisor adds to every service ------------------------------- */

/* io.balena.features.* labels that mount parts of the host. */
static const struct {
	const char *label;
	const char *binds[3];
	const char *env, *env_val;
} features[] = {
	{"io.balena.features.balena-socket",
	 {"/var/run/docker.sock:/var/run/balena.sock", "/var/run/docker.sock:/var/run/docker.sock"},
	 "DOCKER_HOST", "unix:///var/run/balena.sock"},
	{"io.balena.features.dbus", {"/run/dbus:/host/run/dbus"}, "DBUS_SYSTEM_BUS_ADDRESS",
	 "unix:path=/host/run/dbus/system_bus_socket"},
	{"io.balena.features.sysfs", {"/sys:/sys"}, NULL, NULL},
	{"io.balena.features.procfs", {"/proc:/proc"}, NULL, NULL},
	{"io.balena.features.kernel-modules", {"/lib/modules:/lib/modules"}, NULL, NULL},
	{"io.balena.features.firmware", {"/lib/firmware:/lib/firmware"}, NULL, NULL},
	{"io.balena.features.journal-logs",
	 {"/var/log/journal:/var/log/journal:ro", "/run/log/journal:/run/log/journal:ro",
	  "/etc/machine-id:/etc/machine-id:ro"},
	 NULL, NULL},
};

static bool
truthy(const json_t *v)
{
	const char *s = json_string_value(v);
	return s && (strcmp(s, "1") == 0 || strcmp(s, "true") == 0 || strcmp(s, "on") == 0);
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
	size_t i;

	b->svc->strategy = BC_STRAT_DOWNLOAD_THEN_KILL;
	b->svc->handover_timeout_ms = 60000;
	if (v != NULL) {
		for (i = 0; i < sizeof(strat) / sizeof(strat[0]); i++)
			if (strcmp(json_string_value(v), strat[i].n) == 0)
				break;
		if (i == sizeof(strat) / sizeof(strat[0]))
			return fail(b, "labels",
				    "io.balena.update.strategy '%s' is not download-then-kill, "
				    "kill-then-download, delete-then-download or hand-over",
				    json_string_value(v));
		b->svc->strategy = strat[i].s;
	}
	if (t != NULL) {
		char *end;
		long long ms = strtoll(json_string_value(t), &end, 10);
		if (*end || ms <= 0 || end == json_string_value(t))
			return fail(b, "labels", "io.balena.update.handover-timeout '%s' is not a "
						 "number of milliseconds",
				    json_string_value(t));
		b->svc->handover_timeout_ms = (uint64_t)ms;
	}
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
#define ENV(suffix, val)                                                                      \
	(snprintf(k, sizeof(k), "%s%s", pre, suffix), setenv_default(b->env, k, val))
		ENV("", "1");
		ENV("_APP_ID", id);
		ENV("_APP_NAME", c->app_name);
		ENV("_SERVICE_NAME", b->svc->name);
		ENV("_DEVICE_UUID", c->device_uuid);
		ENV("_DEVICE_TYPE", c->device_type);
#undef ENV
	}
	setenv_default(b->env, "BALENA_APP_UUID", c->app_uuid);
	setenv_default(b->env, "BALENA_DEVICE_NAME_AT_INIT", c->device_name);
	setenv_default(b->env, "BALENA_APP_LOCK_PATH", "/tmp/balena/updates.lock");
	setenv_default(b->env, "RESIN_APP_LOCK_PATH", "/tmp/resin/resin-updates.lock");
	if (c->lockdir != NULL) {
		const char *dst[] = {"/tmp/balena", "/tmp/resin"};
		for (int i = 0; i < 2; i++) {
			snprintf(bind, sizeof(bind), "%s/%lld/%s:%s", c->lockdir,
				 (long long)c->app_id, b->svc->name, dst[i]);
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

	if (b->network_mode != NULL) {
		if (json_object_size(b->nets) > 0)
			return fail(b, "network_mode", "%s", "cannot be combined with networks");
		json_object_set_new(b->host, "NetworkMode", json_string(b->network_mode));
		return 0;
	}
	if (json_object_size(b->nets) == 0 && add_network(b, "default", NULL) < 0)
		return -1;
	b->svc->connect = json_object();
	json_object_foreach(b->nets, name, ep)
	{
		bc_network_docker_name(dn, sizeof(dn), b->ctx->app_uuid, name);
		if (first) {
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
		if (asprintf(&kv, "%s=%s", names[i], json_string_value(json_object_get(env, names[i]))) >= 0) {
			json_array_append_new(arr, json_string(kv));
			free(kv);
		}
	}
	free(names);
	return arr;
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

int
bc_spec_service(bc_service *svc, const json_t *composition, const json_t *environment,
		const json_t *labels, const bc_spec_ctx *ctx, bc_err *err)
{
	struct sb b = {.ctx = ctx, .svc = svc, .err = err};
	const char *name;
	json_t *v;
	char hash[17];
	int rc = -1;

	if (composition != NULL && !json_is_object(composition))
		return bc_err_set(err, BC_EINVAL, "%s service '%s': composition must be a map",
				  ctx->where, svc->name);
	b.body = json_pack("{s:b, s:i, s:{}, s:{}, s:{s:[], s:{}, s:{s:s,s:i}}}", "Tty", 1,
			   "StopTimeout", 10, "ExposedPorts", "Volumes", "HostConfig", "Binds",
			   "Tmpfs", "RestartPolicy", "Name", "always", "MaximumRetryCount", 0);
	b.host = json_object_get(b.body, "HostConfig");
	b.binds = json_object_get(b.host, "Binds");
	b.env = json_object();
	b.labels = json_object();
	b.nets = json_object();

	/* every key must be known */
	json_object_foreach((json_t *)composition, name, v)
	{
		size_t i;
		for (i = 0; i < NKEYS; i++)
			if (strcmp(keys[i].name, name) == 0)
				break;
		if (i == NKEYS) {
			bc_err_set(err, BC_EINVAL, "%s service '%s': composition key '%s' is not supported",
				   ctx->where, svc->name, name);
			goto out;
		}
	}
	/* labels first (composition, then the service's own, which win) */
	if ((v = json_object_get(composition, "labels")) != NULL && k_labels(&b, &keys[0], v) < 0)
		goto out;
	if (labels != NULL && k_labels(&b, &keys[0], (json_t *)labels) < 0)
		goto out;
	normalise_labels(b.labels);
	b.allow_binds = truthy(json_object_get(b.labels, BC_LABEL_BINDS));
	if (strategy_from_labels(&b) < 0)
		goto out;
	for (size_t i = 1; i < NKEYS; i++)
		if ((v = json_object_get(composition, keys[i].name)) != NULL &&
		    keys[i].fn(&b, &keys[i], v) < 0)
			goto out;
	if (environment != NULL && pairs_into(&b, "environment", (json_t *)environment, b.env, '=') < 0)
		goto out;
	inject(&b);
	if (wire_networks(&b) < 0)
		goto out;
	json_object_set_new(b.body, "Env", env_array(b.env));
	json_object_set(b.body, "Labels", b.labels);
	bc_json_hash(b.body, svc->connect, hash);
	json_object_set_new(b.labels, BC_LABEL_HASH, json_string(hash));
	svc->config_hash = strdup(hash);
	svc->spec = json_incref(b.body);
	rc = 0;
out:
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
		return bc_err_set(err, BC_EINVAL, "%s %s '%s': must be a map", ctx->where, what, name);
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
seal(json_t *body, char **hash_out)
{
	char hash[17];
	bc_json_hash(body, NULL, hash);
	json_object_set_new(json_object_get(body, "Labels"), BC_LABEL_HASH, json_string(hash));
	*hash_out = strdup(hash);
}

int
bc_spec_volume(bc_volume *vol, const json_t *cfg, const bc_spec_ctx *ctx, bc_err *err)
{
	const char *drv = json_string_value(json_object_get(cfg, "driver"));
	json_t *opts = json_object_get(cfg, "driver_opts");
	char dn[600];

	if (only_keys(cfg, volume_keys, "volume", vol->name, ctx, err) < 0)
		return -1;
	bc_volume_docker_name(dn, sizeof(dn), ctx->app_id, vol->name);
	vol->spec = json_pack("{s:s, s:s, s:o, s:o}", "Name", dn, "Driver", drv ? drv : "local",
			      "DriverOpts", json_is_object(opts) ? json_copy(opts) : json_object(),
			      "Labels", component_labels(cfg, ctx));
	seal(vol->spec, &vol->config_hash);
	return 0;
}

int
bc_spec_network(bc_network *net, const json_t *cfg, const bc_spec_ctx *ctx, bc_err *err)
{
	const char *drv = json_string_value(json_object_get(cfg, "driver"));
	json_t *ipam = json_object_get(cfg, "ipam"), *ic = json_array(), *e;
	char dn[600];
	size_t i;

	if (only_keys(cfg, network_keys, "network", net->name, ctx, err) < 0) {
		json_decref(ic);
		return -1;
	}
	json_array_foreach(json_object_get(ipam, "config"), i, e)
	{
		json_t *c = json_object();
		static const char *const m[][2] = {{"subnet", "Subnet"}, {"gateway", "Gateway"},
						   {"ip_range", "IPRange"}};
		for (int k = 0; k < 3; k++)
			if (json_is_string(json_object_get(e, m[k][0])))
				json_object_set(c, m[k][1], json_object_get(e, m[k][0]));
		json_array_append_new(ic, c);
	}
	bc_network_docker_name(dn, sizeof(dn), ctx->app_uuid, net->name);
	net->spec = json_pack("{s:s, s:s, s:b, s:{s:s, s:o}, s:b, s:b, s:o}", "Name", dn, "Driver",
			      drv ? drv : "bridge", "CheckDuplicate", 1, "IPAM", "Driver",
			      json_string_value(json_object_get(ipam, "driver"))
				      ? json_string_value(json_object_get(ipam, "driver"))
				      : "default",
			      "Config", ic, "EnableIPv6", json_is_true(json_object_get(cfg, "enable_ipv6")),
			      "Internal", json_is_true(json_object_get(cfg, "internal")), "Labels",
			      component_labels(cfg, ctx));
	if (json_is_object(json_object_get(cfg, "driver_opts")))
		json_object_set(net->spec, "Options", json_object_get(cfg, "driver_opts"));
	seal(net->spec, &net->config_hash);
	return 0;
}
