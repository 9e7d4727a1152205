/* The compose keys a service may use, each with its handler into the Docker
 * create body; the volume and network keys. See lib/model/spec.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/text.h"
#include "lib/model/spec_int.h"
#include "lib/model/values.h"

int
spec_fail(struct sb *b, const char *key, const char *fmt, const char *arg)
{
	char what[256];
	snprintf(what, sizeof(what), fmt, arg);
	return bc_err_set(b->err, BC_EINVAL, "%s service '%s': '%s': %s", b->ctx->where,
			  b->svc->name, key, what);
}

/* Wrap an error from a value parser with where it happened. */
int
spec_wrap(struct sb *b, const char *key)
{
	return bc_err_wrap(b->err, "%s service '%s': '%s'", b->ctx->where, b->svc->name, key);
}

static json_t *
dest(struct sb *b, bool host)
{
	return host ? b->host : b->body;
}

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
		return spec_fail(b, k->name, "%s", "must be true or false");
	json_object_set(dest(b, k->host), k->field, v);
	return 0;
}

static int
k_str(struct sb *b, const struct key *k, json_t *v)
{
	if (!json_is_string(v))
		return spec_fail(b, k->name, "%s", "must be a string");
	json_object_set(dest(b, k->host), k->field, v);
	return 0;
}

static int
k_int(struct sb *b, const struct key *k, json_t *v)
{
	if (!json_is_integer(v))
		return spec_fail(b, k->name, "%s", "must be an integer");
	json_object_set(dest(b, k->host), k->field, v);
	return 0;
}

static int
k_bytes(struct sb *b, const struct key *k, json_t *v)
{
	int64_t n;
	if (bc_parse_bytes(v, &n, b->err) < 0)
		return spec_wrap(b, k->name);
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
		spec_fail(b, key, "%s",
			  one_ok ? "must be a string or a list of strings"
				 : "must be a list of strings");
		return NULL;
	}
	json_array_foreach(v, i, e) if (!json_is_string(e))
	{
		spec_fail(b, key, "%s", "must be a list of strings");
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
/* environment's and labels' names as the supervisor takes them (the
 * others' pairs, sysctls ..., are checked by the engine): true if fine,
 * else false with the error set */
static bool
name_ok(struct sb *b, const char *key, const char *name)
{
	bool env = strcmp(key, "environment") == 0;

	if ((!env && strcmp(key, "labels") != 0) || bc_name_ok(name, env))
		return true;
	spec_fail(b, key,
		  "the name '%.64s' is empty, too long, or has a space, a quote or a control "
		  "character",
		  name);
	return false;
}

int
spec_pairs_into(struct sb *b, const char *key, json_t *v, json_t *obj, char sep)
{
	size_t i;
	const char *name;
	json_t *e;

	if (json_is_object(v)) {
		json_object_foreach(v, name, e)
		{
			char num[64];
			if (!name_ok(b, key, name))
				return -1;
			if (json_is_string(e))
				json_object_set(obj, name, e);
			else if (json_is_integer(e) || json_is_real(e) || json_is_boolean(e)) {
				if (json_is_integer(e))
					snprintf(num, sizeof(num), "%lld",
						 (long long)json_integer_value(e));
				else if (json_is_real(e))
					snprintf(num, sizeof(num), "%g", json_real_value(e));
				else
					snprintf(num, sizeof(num), "%s",
						 json_is_true(e) ? "true" : "false");
				json_object_set_new(obj, name, json_string(num));
			} else if (!json_is_null(e)) {
				return spec_fail(b, key, "value of '%s' must be a string or number",
						 name);
			}
		}
		return 0;
	}
	if (!json_is_array(v))
		return spec_fail(b, key, "%s", "must be a map or a list of 'name=value'");
	json_array_foreach(v, i, e)
	{
		const char *s = json_string_value(e), *eq;
		if (s == NULL)
			return spec_fail(b, key, "%s", "list entries must be strings");
		eq = strchr(s, sep);
		if (eq == NULL) {
			if (sep == '=')
				continue; /* "NAME" alone: from a shell we do not have */
			return spec_fail(b, key, "'%s' has no separator", s);
		}
		{
			char k2[256];
			size_t n = (size_t)(eq - s);
			if (n == 0 || n >= sizeof(k2))
				return spec_fail(b, key, "'%s' has an empty or overlong name", s);
			memcpy(k2, s, n);
			k2[n] = '\0';
			if (!name_ok(b, key, k2))
				return -1;
			json_object_set_new(obj, k2, json_string(eq + 1));
		}
	}
	return 0;
}

static int
k_env(struct sb *b, const struct key *k, json_t *v)
{
	return spec_pairs_into(b, k->name, v, b->env, '=');
}

static int
k_labels(struct sb *b, const struct key *k, json_t *v)
{
	return spec_pairs_into(b, k->name, v, b->labels, '=');
}

static int
k_sysctls(struct sb *b, const struct key *k, json_t *v)
{
	json_t *o = json_object();
	json_object_set_new(b->host, "Sysctls", o);
	return spec_pairs_into(b, k->name, v, o, '=');
}

static int
k_storage_opt(struct sb *b, const struct key *k, json_t *v)
{
	json_t *o = json_object();
	json_object_set_new(b->host, "StorageOpt", o);
	return spec_pairs_into(b, k->name, v, o, '=');
}

static int
k_extra_hosts(struct sb *b, const struct key *k, json_t *v)
{
	json_t *o = json_object(), *arr = json_array(), *e;
	const char *name;
	int rc = spec_pairs_into(b, k->name, v, o, ':');

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

/* logging: {driver, options}: replaces the bounded json-file default */
static int
k_logging(struct sb *b, const struct key *k, json_t *v)
{
	const char *name, *drv;
	json_t *e, *opts = json_object();
	int rc;

	if (!json_is_object(v)) {
		json_decref(opts);
		return spec_fail(b, k->name, "%s", "must be a map (driver, options)");
	}
	json_object_foreach(v, name, e) if (strcmp(name, "driver") && strcmp(name, "options"))
	{
		json_decref(opts);
		return spec_fail(b, k->name, "key '%s' is not driver or options", name);
	}
	e = json_object_get(v, "driver");
	if (e != NULL && (!json_is_string(e) || json_string_length(e) == 0)) {
		json_decref(opts);
		return spec_fail(b, k->name, "%s", "driver must be a non-empty string");
	}
	drv = e ? json_string_value(e) : "json-file";
	e = json_object_get(v, "options");
	rc = e ? spec_pairs_into(b, "logging.options", e, opts, '=') : 0;
	json_object_set_new(b->host, "LogConfig",
			    json_pack("{s:s, s:o}", "Type", drv, "Config", opts));
	return rc;
}

static int
k_cmd(struct sb *b, const struct key *k, json_t *v)
{
	json_t *arr;

	if (json_is_string(v)) {
		if ((arr = bc_shell_split(json_string_value(v), b->err)) == NULL)
			return spec_wrap(b, k->name);
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
		return spec_fail(b, k->name, "%s", "must be a list");
	bind = json_object();
	json_object_set_new(b->host, "PortBindings", bind);
	json_array_foreach(v, i, e)
	{
		if (json_is_object(e)) {
			json_t *t = json_object_get(e, "target"),
			       *pub = json_object_get(e, "published");
			const char *proto = json_string_value(json_object_get(e, "protocol"));
			const char *ip = json_string_value(json_object_get(e, "host_ip"));
			const char *mode = json_string_value(json_object_get(e, "mode"));
			const char *pk;
			json_t *pv;
			char s[128];
			/* mode ingress is the swarm's: on one device, the same as
			 * host; name and app_protocol are names for people */
			json_object_foreach(
			    e, pk, pv) if (strcmp(pk, "target") && strcmp(pk, "published") &&
					   strcmp(pk, "protocol") && strcmp(pk, "host_ip") &&
					   strcmp(pk, "mode") && strcmp(pk, "name") &&
					   strcmp(pk, "app_protocol"))
			{
				return spec_fail(b, k->name, "long form: key '%s' is not supported",
						 pk);
			}
			if (json_object_get(e, "mode") != NULL &&
			    (mode == NULL || (strcmp(mode, "host") && strcmp(mode, "ingress"))))
				return spec_fail(b, k->name, "%s", "mode must be host or ingress");
			if (!json_is_integer(t))
				return spec_fail(b, k->name, "%s",
						 "long form needs an integer 'target'");
			if (pub != NULL && !json_is_integer(pub) && !json_is_string(pub))
				return spec_fail(b, k->name, "%s", "'published' must be a port");
			if (pub == NULL) /* docker compose: a port the engine picks */
				snprintf(s, sizeof(s), "%s%s:%lld/%s", ip ? ip : "", ip ? ":" : "",
					 (long long)json_integer_value(t), proto ? proto : "tcp");
			else if (json_is_integer(pub))
				snprintf(s, sizeof(s), "%s%s%lld:%lld/%s", ip ? ip : "",
					 ip ? ":" : "", (long long)json_integer_value(pub),
					 (long long)json_integer_value(t), proto ? proto : "tcp");
			else
				snprintf(s, sizeof(s), "%s%s%s:%lld/%s", ip ? ip : "",
					 ip ? ":" : "", json_string_value(pub),
					 (long long)json_integer_value(t), proto ? proto : "tcp");
			json_t *js = json_string(s);
			int rc = bc_parse_port(js, exposed, bind, b->err);
			json_decref(js);
			if (rc < 0)
				return spec_wrap(b, k->name);
		} else if (bc_parse_port(e, exposed, bind, b->err) < 0) {
			return spec_wrap(b, k->name);
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
		rc = spec_fail(b, k->name, "%s", "must be a list");
	json_array_foreach(v, i, e) if (rc == 0 && bc_parse_port(e, exposed, scratch, b->err) < 0)
	    rc = spec_wrap(b, k->name);
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
			return spec_fail(b, k->name, "'%s' must be an absolute path", s);
		}
		memcpy(path, s, n);
		path[n] = '\0';
		json_object_set_new(o, path, json_string(colon ? colon + 1 : ""));
	}
	json_decref(l);
	return 0;
}

/* The long form of a device: {source, target, permissions}, as
 * "source:target:permissions"; NULL (err) for anything else. */
static json_t *
device_long(struct sb *b, const char *key, const json_t *e)
{
	const char *src = json_string_value(json_object_get(e, "source"));
	const char *dst = json_string_value(json_object_get(e, "target"));
	const char *perm = json_string_value(json_object_get(e, "permissions"));
	const char *k;
	json_t *v;
	char s[600];

	json_object_foreach((json_t *)e, k, v) if (strcmp(k, "source") && strcmp(k, "target") &&
						   strcmp(k, "permissions"))
	{
		spec_fail(b, key, "long form: key '%s' is not supported", k);
		return NULL;
	}
	if (src == NULL) {
		spec_fail(b, key, "%s", "long form needs 'source'");
		return NULL;
	}
	if (dst == NULL && perm == NULL)
		snprintf(s, sizeof(s), "%s", src);
	else
		snprintf(s, sizeof(s), "%s:%s%s%s", src, dst ? dst : src, perm ? ":" : "",
			 perm ? perm : "");
	return json_string(s);
}

static int
k_devices(struct sb *b, const struct key *k, json_t *v)
{
	json_t *l, *out = json_array(), *e;
	size_t i;

	json_object_set_new(b->host, "Devices", out);
	/* long-form entries written short first */
	if (json_is_array(v)) {
		json_t *w = json_array();
		json_array_foreach(v, i, e)
		{
			json_t *one =
			    json_is_object(e) ? device_long(b, k->name, e) : json_incref(e);
			if (one == NULL) {
				json_decref(w);
				return -1;
			}
			json_array_append_new(w, one);
		}
		l = strlist(b, k->name, w, false);
		json_decref(w);
	} else {
		l = strlist(b, k->name, v, false);
	}
	if (l == NULL)
		return -1;
	json_array_foreach(l, i, e)
	{
		json_t *d = bc_parse_device(json_string_value(e), b->err);
		if (d == NULL) {
			json_decref(l);
			return spec_wrap(b, k->name);
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
		return spec_fail(b, k->name, "%s", "must be a string");
	if ((p = bc_parse_restart(json_string_value(v), b->err)) == NULL)
		return spec_wrap(b, k->name);
	json_object_set_new(b->host, "RestartPolicy", p);
	return 0;
}

static int
k_grace(struct sb *b, const struct key *k, json_t *v)
{
	int64_t ns;
	if (bc_parse_duration(v, &ns, b->err) < 0)
		return spec_wrap(b, k->name);
	json_object_set_new(b->body, "StopTimeout", json_integer((ns + 999999999) / 1000000000));
	return 0;
}

static int
k_cpus(struct sb *b, const struct key *k, json_t *v)
{
	double c = json_is_number(v) ? json_number_value(v)
				     : (json_is_string(v) ? atof(json_string_value(v)) : -1);
	if (!(c > 0 && c < 4096))
		return spec_fail(b, k->name, "%s", "must be a positive number of CPUs");
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
		return spec_fail(b, k->name, "%s", "must be a map");
	json_object_foreach(v, name, e)
	{
		json_t *soft = e, *hard = e;
		if (json_is_object(e)) {
			soft = json_object_get(e, "soft");
			hard = json_object_get(e, "hard");
		}
		if (!json_is_integer(soft) || !json_is_integer(hard))
			return spec_fail(b, k->name, "'%s' needs integer soft and hard limits",
					 name);
		json_array_append_new(
		    out, json_pack("{s:s,s:O,s:O}", "Name", name, "Soft", soft, "Hard", hard));
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
		return spec_wrap(b, "healthcheck");
	json_object_set_new(hc, to, json_integer(ns));
	return 0;
}

static int
k_health(struct sb *b, const struct key *k, json_t *v)
{
	static const char *const known[] = {"test",	    "interval", "timeout",	 "retries",
					    "start_period", "disable",	"start_interval"};
	json_t *hc = json_object(), *test, *e;
	const char *name;

	json_object_set_new(b->body, "Healthcheck", hc);
	if (!json_is_object(v))
		return spec_fail(b, k->name, "%s", "must be a map");
	json_object_foreach(v, name, e)
	{
		size_t i;
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(name, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0]))
			return spec_fail(b, k->name, "key '%s' is not supported", name);
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
			return spec_fail(b, k->name, "%s",
					 "test must start with NONE, CMD or CMD-SHELL");
	} else if (test != NULL) {
		return spec_fail(b, k->name, "%s", "test must be a string or a list");
	}
	if (json_object_get(v, "retries") != NULL) {
		if (!json_is_integer(json_object_get(v, "retries")))
			return spec_fail(b, k->name, "%s", "retries must be an integer");
		json_object_set(hc, "Retries", json_object_get(v, "retries"));
	}
	return duration_field(b, hc, v, "interval", "Interval") ||
	       duration_field(b, hc, v, "timeout", "Timeout") ||
	       duration_field(b, hc, v, "start_period", "StartPeriod") ||
	       /* Docker Engine 25's (API 1.44): an older engine does not apply it */
	       duration_field(b, hc, v, "start_interval", "StartInterval");
}

static int
k_depends(struct sb *b, const struct key *k, json_t *v)
{
	const char *name;
	size_t i;
	json_t *e;

	if (json_is_object(v)) {
		/* the long form: name -> {condition, required, restart} */
		bc_service *svc = b->svc;
		char why[300];
		if (json_object_size(v) > 0 &&
		    (svc->dep_rules = calloc(json_object_size(v), sizeof(*svc->dep_rules))) == NULL)
			return spec_fail(b, k->name, "%s", "out of memory");
		json_object_foreach(v, name, e)
		{
			bc_dep_rule *r = &svc->dep_rules[svc->n_dep_rules];
			const char *cond = json_string_value(json_object_get(e, "condition"));
			json_t *req = json_object_get(e, "required"),
			       *rs = json_object_get(e, "restart");
			const char *kk, *bad = NULL;
			json_t *kv;
			why[0] = '\0';
			if (!json_is_object(e) && !json_is_null(e))
				snprintf(why, sizeof(why),
					 "'%.63s': must be a map (condition, required, restart)",
					 name);
			json_object_foreach(e, kk, kv)
			{
				if (bad == NULL && strcmp(kk, "condition") &&
				    strcmp(kk, "required") && strcmp(kk, "restart"))
					bad = kk;
			}
			if (!why[0] && bad != NULL)
				snprintf(
				    why, sizeof(why),
				    "'%.63s': key '%.63s' is not supported (condition, required, "
				    "restart)",
				    name, bad);
			if (cond == NULL || strcmp(cond, "service_started") == 0)
				r->cond = BC_DEP_STARTED;
			else if (strcmp(cond, "service_healthy") == 0)
				r->cond = BC_DEP_HEALTHY;
			else if (strcmp(cond, "service_completed_successfully") == 0)
				r->cond = BC_DEP_COMPLETED;
			else if (!why[0])
				snprintf(why, sizeof(why),
					 "'%.63s': condition '%.63s' is not service_started, "
					 "service_healthy or service_completed_successfully",
					 name, cond);
			if (!why[0] && cond == NULL && json_object_get(e, "condition") != NULL)
				snprintf(why, sizeof(why), "'%.63s': condition must be a string",
					 name);
			if (!why[0] && ((req != NULL && !json_is_boolean(req)) ||
					(rs != NULL && !json_is_boolean(rs))))
				snprintf(why, sizeof(why),
					 "'%.63s': required and restart must be true or false",
					 name);
			if (why[0])
				return spec_fail(b, k->name, "%s", why);
			r->optional = req != NULL && json_is_false(req);
			r->restart = rs != NULL && json_is_true(rs);
			if ((r->name = strdup(name)) == NULL)
				return spec_fail(b, k->name, "%s", "out of memory");
			svc->n_dep_rules++;
			bc_strv_add(&svc->depends_on, name);
		}
		return 0;
	}
	if (!json_is_array(v))
		return spec_fail(b, k->name, "%s", "must be a list or a map of service names");
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e))
			return spec_fail(b, k->name, "%s", "must list service names");
		bc_strv_add(&b->svc->depends_on, json_string_value(e));
	}
	return 0;
}

static int
k_network_mode(struct sb *b, const struct key *k, json_t *v)
{
	const char *m = json_string_value(v);

	if (m == NULL)
		return spec_fail(b, k->name, "%s", "must be a string");
	if (strcmp(m, "host") && strcmp(m, "bridge") && strcmp(m, "none") &&
	    strncmp(m, "service:", 8) != 0)
		return spec_fail(b, k->name, "'%s' is not host, bridge, none or service:<name>", m);
	if (strncmp(m, "service:", 8) == 0) {
		/* "service: x" too, as the supervisor takes it */
		const char *name = m + 8 + strspn(m + 8, " ");
		if (*name == '\0' || strlen(name) + 9 > sizeof(b->mode_buf))
			return spec_fail(b, k->name, "'%s' names no service", m);
		snprintf(b->mode_buf, sizeof(b->mode_buf), "service:%s", name);
		bc_strv_add(&b->svc->depends_on, name);
		m = b->mode_buf;
	}
	b->network_mode = m;
	return 0;
}

/* pid and ipc: the host's, none of its own, or another service's of the
 * same app. "container:<id>" is refused: it would join any container on
 * the device, another app's included (its processes, its environment). */
static int
k_share(struct sb *b, const struct key *k, json_t *v)
{
	static const char *const pid[] = {"host", NULL};
	static const char *const ipc[] = {"host", "none", "private", "shareable", NULL};
	const char *const *ok = strcmp(k->name, "pid") == 0 ? pid : ipc;
	const char *m = json_string_value(v);

	if (m == NULL)
		return spec_fail(b, k->name, "%s", "must be a string");
	for (size_t i = 0; ok[i] != NULL; i++)
		if (strcmp(m, ok[i]) == 0)
			return k_str(b, k, v);
	if (strncmp(m, "service:", 8) == 0 && m[8] != '\0') {
		bc_strv_add(&b->svc->depends_on, m + 8); /* checked: a service of this app */
		return k_str(b, k, v);
	}
	return spec_fail(b, k->name,
			 ok == pid
			     ? "'%s' is not host or service:<name> (a service of this app)"
			     : "'%s' is not host, none, private, shareable or service:<name> (a "
			       "service of this app)",
			 m);
}

/* platform: "os[/arch[/variant]]": the container is made for it (the
 * label BC_LABEL_PLATFORM carries it to create, and into the config) */
static int
k_platform(struct sb *b, const struct key *k, json_t *v)
{
	const char *p = json_string_value(v);
	int slashes = 0;

	for (const char *q = p; q != NULL && *q; q++)
		slashes += *q == '/';
	if (p == NULL || *p == '\0' || strlen(p) > 64 || slashes > 2 || p[0] == '/' ||
	    p[strlen(p) - 1] == '/' || strstr(p, "//") != NULL ||
	    strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_/") != strlen(p))
		return spec_fail(b, k->name, "%s",
				 "must be os[/arch[/variant]] (like linux/arm64/v8)");
	json_object_set(b->labels, BC_LABEL_PLATFORM, v);
	return 0;
}

/* post_start and pre_stop: [{command, user, privileged, working_dir,
 * environment}], each an exec's create body in svc->hooks[key]. A
 * privileged hook in a service that is not privileged needs the label
 * (it would be a way to privilege). pre_stop also goes on the container
 * (BC_LABEL_PRE_STOP) so that it is known when the container is stopped
 * by a later release. */
static int
k_hooks(struct sb *b, const struct key *k, json_t *v)
{
	json_t *out = json_array(), *e;
	size_t i;

	if (!json_is_array(v) || json_array_size(v) > 16) {
		json_decref(out);
		return spec_fail(b, k->name, "%s", "must be a list of at most 16 hooks");
	}
	json_array_foreach(v, i, e)
	{
		const json_t *cmd = json_object_get(e, "command"), *priv, *ev;
		const char *user = json_string_value(json_object_get(e, "user"));
		const char *wd = json_string_value(json_object_get(e, "working_dir"));
		const char *hk;
		json_t *hv, *body, *arr, *env = json_object(), *envl = json_array();
		bool bad = !json_is_object(e);

		json_object_foreach(e, hk, hv) bad |= strcmp(hk, "command") && strcmp(hk, "user") &&
						       strcmp(hk, "privileged") &&
						       strcmp(hk, "working_dir") &&
						       strcmp(hk, "environment");
		priv = json_object_get(e, "privileged");
		bad |= (json_object_get(e, "user") && user == NULL) ||
		       (json_object_get(e, "working_dir") && wd == NULL) ||
		       (priv != NULL && !json_is_boolean(priv));
		if (bad) {
			json_decref(env);
			json_decref(envl);
			json_decref(out);
			return spec_fail(b, k->name, "%s",
					 "each hook is {command, user, privileged, working_dir, "
					 "environment}");
		}
		if (json_is_string(cmd))
			arr = bc_shell_split(json_string_value(cmd), b->err);
		else
			arr = strlist(b, k->name, (json_t *)cmd, false);
		if (arr == NULL || json_array_size(arr) == 0) {
			json_decref(arr);
			json_decref(env);
			json_decref(envl);
			json_decref(out);
			return arr == NULL && !json_is_string(cmd) && cmd != NULL
				   ? -1
				   : spec_fail(b, k->name, "%s", "each hook needs a command");
		}
		if ((ev = json_object_get(e, "environment")) != NULL &&
		    spec_pairs_into(b, "environment", (json_t *)ev, env, '=') < 0) {
			json_decref(arr);
			json_decref(env);
			json_decref(envl);
			json_decref(out);
			return -1;
		}
		json_object_foreach(env, hk, hv)
		{
			char line[1200];
			snprintf(line, sizeof(line), "%s=%s", hk, json_string_value(hv));
			json_array_append_new(envl, json_string(line));
		}
		json_decref(env);
		if (json_is_true(priv) && !b->allow_binds &&
		    !json_is_true(json_object_get(b->host, "Privileged"))) {
			json_decref(arr);
			json_decref(envl);
			json_decref(out);
			return spec_fail(b, k->name, "%s",
					 "a privileged hook needs a privileged service (or the "
					 "label " BC_LABEL_BINDS "=1)");
		}
		body = json_pack("{s:o, s:b, s:o}", "Cmd", arr, "Privileged", json_is_true(priv),
				 "Env", envl);
		if (user != NULL)
			json_object_set_new(body, "User", json_string(user));
		if (wd != NULL)
			json_object_set_new(body, "WorkingDir", json_string(wd));
		json_array_append_new(out, body);
	}
	if (b->svc->hooks == NULL)
		b->svc->hooks = json_object();
	json_object_set_new(b->svc->hooks, k->name, out);
	return 0;
}

/* volumes_from: ["service[:ro|rw]"] (a service of this app: it starts
 * first, resolved to its container at create, as network_mode service:)
 * or ["container:NAME[:ro|rw]"] (a container outside the app: the label's
 * gate, as a bind mount). HostConfig.VolumesFrom holds "service:x[:ro]"
 * until create. */
static int
k_volumes_from(struct sb *b, const struct key *k, json_t *v)
{
	json_t *out = json_array(), *e;
	size_t i;

	if (!json_is_array(v)) {
		json_decref(out);
		return spec_fail(b, k->name, "%s", "must be a list");
	}
	json_array_foreach(v, i, e)
	{
		const char *s = json_string_value(e), *mode;
		char name[256], entry[300];
		bool container;
		if (s == NULL || *s == '\0' || strlen(s) >= sizeof(name)) {
			json_decref(out);
			return spec_fail(b, k->name, "%s", "entries must be service names");
		}
		container = strncmp(s, "container:", 10) == 0;
		snprintf(name, sizeof(name), "%s", container ? s + 10 : s);
		mode = strchr(name, ':');
		if (mode != NULL) {
			*(char *)mode++ = '\0';
			if (strcmp(mode, "ro") && strcmp(mode, "rw")) {
				json_decref(out);
				return spec_fail(b, k->name, "'%s': the mode is ro or rw", s);
			}
		}
		if (name[0] == '\0') {
			json_decref(out);
			return spec_fail(b, k->name, "'%s' names nothing", s);
		}
		if (container && !b->allow_binds) {
			json_decref(out);
			return bc_err_set(b->err, BC_EINVAL,
					  "%s service '%s': 'volumes_from': '%s' is a container "
					  "outside the app: refused, that needs the label " BC_LABEL_BINDS
					  "=1",
					  b->ctx->where, b->svc->name, s);
		}
		if (!container)
			bc_strv_add(&b->svc->depends_on, name); /* checked: of this app */
		snprintf(entry, sizeof(entry), "%s%s%s%s", container ? "" : "service:", name,
			 mode ? ":" : "", mode ? mode : "");
		json_array_append_new(out, json_string(entry));
	}
	json_object_set_new(b->host, "VolumesFrom", out);
	return 0;
}

/* links: ["service[:alias]"] (a service of this app, which starts
 * first) and external_links: ["container[:alias]"] (outside the app: the
 * label's gate). On a network of the app a link is a name the linked
 * container is known by to this one: EndpointSettings.Links of each
 * network it joins, "service:x:alias" until create resolves it. */
static int
k_links(struct sb *b, const struct key *k, json_t *v)
{
	bool ext = strcmp(k->name, "external_links") == 0;
	json_t *l = json_object_get(b->body, "x-links"), *e;
	size_t i;

	if (!json_is_array(v))
		return spec_fail(b, k->name, "%s", "must be a list");
	if (ext && json_array_size(v) > 0 && !b->allow_binds)
		return bc_err_set(b->err, BC_EINVAL,
				  "%s service '%s': 'external_links': containers outside the app: "
				  "refused, that needs the label " BC_LABEL_BINDS "=1",
				  b->ctx->where, b->svc->name);
	if (l == NULL)
		json_object_set_new(b->body, "x-links", l = json_array());
	json_array_foreach(v, i, e)
	{
		const char *s = json_string_value(e), *colon;
		char name[256], entry[600];
		if (s == NULL || *s == '\0' || strlen(s) >= sizeof(name) || s[0] == ':')
			return spec_fail(b, k->name, "%s", "entries must be names");
		colon = strchr(s, ':');
		snprintf(name, sizeof(name), "%.*s", (int)(colon ? colon - s : (long)strlen(s)), s);
		if (!ext)
			bc_strv_add(&b->svc->depends_on, name);
		snprintf(entry, sizeof(entry), "%s%s:%s", ext ? "" : "service:", name,
			 colon ? colon + 1 : name);
		json_array_append_new(l, json_string(entry));
	}
	return 0;
}

/* A service's attachment to network name (cfg, a map) into its endpoint
 * config ep and aliases: aliases, ipv4_address, ipv6_address,
 * link_local_ips, mac_address, driver_opts, priority (the network of the
 * highest is joined first, at create, as docker compose does); any other key
 * refused, named. */
static int
network_attachment(struct sb *b, const char *name, const json_t *cfg, json_t *ep, json_t *aliases)
{
	const json_t *al = json_object_get(cfg, "aliases"),
		     *ll = json_object_get(cfg, "link_local_ips");
	const json_t *prio = json_object_get(cfg, "priority"),
		     *dopts = json_object_get(cfg, "driver_opts");
	const char *ip4 = json_string_value(json_object_get(cfg, "ipv4_address"));
	const char *ip6 = json_string_value(json_object_get(cfg, "ipv6_address"));
	const char *mac = json_string_value(json_object_get(cfg, "mac_address"));
	json_t *ipam = NULL, *e;
	const char *k;
	size_t i;

	if (!json_is_object(cfg))
		return spec_fail(b, "networks",
				 "'%s' must map to the attachment's keys (aliases, "
				 "ipv4_address, ...)",
				 name);
	json_object_foreach((json_t *)cfg, k,
			    e) if (strcmp(k, "aliases") && strcmp(k, "ipv4_address") &&
				   strcmp(k, "ipv6_address") && strcmp(k, "link_local_ips") &&
				   strcmp(k, "mac_address") && strcmp(k, "priority") &&
				   strcmp(k, "driver_opts"))
	{
		char what[200];
		snprintf(what, sizeof(what), "'%s': key '%%s' is not supported", name);
		return spec_fail(b, "networks", what, k);
	}
	if ((al != NULL && !json_is_array(al)) || (ll != NULL && !json_is_array(ll)))
		return spec_fail(b, "networks", "'%s': aliases and link_local_ips must be lists",
				 name);
	json_array_foreach(al, i, e)
	{
		if (!json_is_string(e))
			return spec_fail(b, "networks", "'%s': aliases must be names", name);
		json_array_append(aliases, e);
	}
	if ((json_object_get(cfg, "ipv4_address") && ip4 == NULL) ||
	    (json_object_get(cfg, "ipv6_address") && ip6 == NULL) ||
	    (json_object_get(cfg, "mac_address") && mac == NULL))
		return spec_fail(b, "networks", "'%s': an address must be a string", name);
	if (ip4 != NULL || ip6 != NULL || ll != NULL) {
		ipam = json_object();
		if (ip4 != NULL)
			json_object_set_new(ipam, "IPv4Address", json_string(ip4));
		if (ip6 != NULL)
			json_object_set_new(ipam, "IPv6Address", json_string(ip6));
		if (ll != NULL) {
			json_array_foreach(ll, i, e) if (!json_is_string(e))
			{
				json_decref(ipam);
				return spec_fail(b, "networks",
						 "'%s': link_local_ips must be addresses", name);
			}
			json_object_set(ipam, "LinkLocalIPs", (json_t *)ll);
		}
		json_object_set_new(ep, "IPAMConfig", ipam);
	}
	if (mac != NULL)
		json_object_set_new(ep, "MacAddress", json_string(mac));
	if (dopts != NULL) {
		json_t *m = json_object();
		json_object_set_new(ep, "DriverOpts", m);
		if (spec_pairs_into(b, "networks", (json_t *)dopts, m, '=') < 0)
			return -1;
	}
	if (prio != NULL && !json_is_integer(prio))
		return spec_fail(b, "networks", "'%s': priority must be an integer", name);
	return 0;
}

int
spec_add_network(struct sb *b, const char *name, json_t *cfg)
{
	json_t *ep, *aliases;
	int64_t prio = json_integer_value(json_object_get(cfg, "priority")); /* 0: none */

	const bc_network *an = bc_app_network(b->ctx->app, name);

	if (an == NULL)
		return spec_fail(b, "networks", "network '%s' is not declared by the release",
				 name);
	if (!b->allow_binds && (an->external || an->docker_name != NULL))
		return bc_err_set(b->err, BC_EINVAL,
				  "%s service '%s': 'networks': network '%s' is outside the app "
				  "(external or named %s): refused, that needs the label " BC_LABEL_BINDS
				  "=1",
				  b->ctx->where, b->svc->name, name, an->docker_name);
	ep = json_object();
	aliases = json_array();
	json_array_append_new(aliases, json_string(b->svc->name));
	if (cfg != NULL && !json_is_null(cfg) &&
	    network_attachment(b, name, cfg, ep, aliases) < 0) {
		json_decref(ep);
		json_decref(aliases);
		return -1;
	}
	json_object_set_new(ep, "Aliases", aliases);
	json_object_set_new(b->nets, name, ep);
	/* joined first: the highest priority, the first given among equals */
	if (b->first_net == NULL || prio > b->first_prio) {
		b->first_net = name;
		b->first_prio = prio;
	}
	return an->external ? 0 : bc_strv_add(&b->svc->networks, name);
}

static int
k_networks(struct sb *b, const struct key *k, json_t *v)
{
	const char *name;
	size_t i;
	json_t *e;

	if (json_is_object(v)) {
		json_object_foreach(v, name, e) if (spec_add_network(b, name, e) < 0) return -1;
		return 0;
	}
	if (!json_is_array(v))
		return spec_fail(b, k->name, "%s", "must be a list or a map");
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e))
			return spec_fail(b, k->name, "%s", "must list network names");
		if (spec_add_network(b, json_string_value(e), NULL) < 0)
			return -1;
	}
	return 0;
}

/* Does a volume of the local driver mount something of the host when a
 * container uses it: driver_opts with a device (a host path with
 * type=none,o=bind, or a block device with type=ext4, ...) other than a
 * tmpfs, or o=bind/rbind? That is a bind mount by another name, and needs
 * the same label. why gets what it mounts. */
static bool
host_mount(const json_t *vspec, char *why, size_t n)
{
	const char *drv = json_string_value(json_object_get(vspec, "Driver"));
	const json_t *o = json_object_get(vspec, "DriverOpts");
	const char *type = json_string_value(json_object_get(o, "type"));
	const char *dev = json_string_value(json_object_get(o, "device"));
	const char *opt = json_string_value(json_object_get(o, "o"));
	bool bind = false;

	if (drv != NULL && strcmp(drv, "local") != 0)
		return false; /* a plugin: what the device's owner installed */
	for (const char *p = opt; p != NULL && *p; p += strcspn(p, ","), p += *p == ',') {
		size_t len = strcspn(p, ",");
		bind |= (len == 4 && strncmp(p, "bind", 4) == 0) ||
			(len == 5 && strncmp(p, "rbind", 5) == 0);
	}
	if (!bind && (dev == NULL || (type != NULL && strcmp(type, "tmpfs") == 0)))
		return false;
	snprintf(why, n, "device '%.200s', type '%.40s', o '%.100s'", dev ? dev : "",
		 type ? type : "", opt ? opt : "");
	return true;
}

/* The long form's own keys, each known: bind.propagation (and selinux),
 * volume.nocopy, tmpfs.size and mode, into opts (the mount's options as
 * Binds or Tmpfs write them: "rslave", "nocopy", "size=65536,mode=1777");
 * consistency (no meaning on Linux) accepted; anything else refused,
 * named. */
static int
volume_long_opts(struct sb *b, const json_t *e, const char *type, char *opts, size_t n)
{
	static const char *const keys[] = {"type",   "source", "target",      "read_only", "bind",
					   "volume", "tmpfs",  "consistency", NULL};
	const json_t *sub;
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)e, k, v)
	{
		size_t i;
		for (i = 0; keys[i] != NULL && strcmp(keys[i], k) != 0; i++)
			;
		if (keys[i] == NULL)
			return spec_fail(b, "volumes", "long form: key '%s' is not supported", k);
	}
	opts[0] = '\0';
	if ((sub = json_object_get(e, "bind")) != NULL) {
		const char *prop = json_string_value(json_object_get(sub, "propagation"));
		const char *sel = json_string_value(json_object_get(sub, "selinux"));
		json_object_foreach((json_t *)sub, k, v) if (strcmp(k, "propagation") &&
							     strcmp(k, "selinux") &&
							     strcmp(k, "create_host_path"))
		{
			return spec_fail(b, "volumes", "bind: key '%s' is not supported", k);
		}
		if (strcmp(type, "bind") != 0)
			return spec_fail(b, "volumes", "%s", "'bind' options need type: bind");
		if (prop != NULL && strcmp(prop, "private") && strcmp(prop, "rprivate") &&
		    strcmp(prop, "shared") && strcmp(prop, "rshared") && strcmp(prop, "slave") &&
		    strcmp(prop, "rslave"))
			return spec_fail(b, "volumes",
					 "bind.propagation '%s' is not one of "
					 "[r]private, [r]shared, [r]slave",
					 prop);
		if (sel != NULL && strcmp(sel, "z") && strcmp(sel, "Z"))
			return spec_fail(b, "volumes", "bind.selinux '%s' is not z or Z", sel);
		snprintf(opts, n, "%s%s%s", prop ? prop : "", prop && sel ? "," : "",
			 sel ? sel : "");
	}
	if ((sub = json_object_get(e, "volume")) != NULL) {
		json_object_foreach((json_t *)sub, k, v) if (strcmp(k, "nocopy"))
		{
			return spec_fail(b, "volumes",
					 "volume: key '%s' is not supported here "
					 "(nocopy is)",
					 k);
		}
		if (strcmp(type, "volume") != 0)
			return spec_fail(b, "volumes", "%s", "'volume' options need type: volume");
		if (json_is_true(json_object_get(sub, "nocopy")))
			snprintf(opts, n, "nocopy");
	}
	if ((sub = json_object_get(e, "tmpfs")) != NULL) {
		const json_t *size = json_object_get(sub, "size"),
			     *mode = json_object_get(sub, "mode");
		int64_t bytes = 0;
		size_t o = 0;
		json_object_foreach((json_t *)sub, k, v) if (strcmp(k, "size") && strcmp(k, "mode"))
		{
			return spec_fail(b, "volumes", "tmpfs: key '%s' is not supported", k);
		}
		if (strcmp(type, "tmpfs") != 0)
			return spec_fail(b, "volumes", "%s", "'tmpfs' options need type: tmpfs");
		if (size != NULL) {
			if (bc_parse_bytes(size, &bytes, b->err) < 0)
				return spec_wrap(b, "volumes");
			o += (size_t)snprintf(opts + o, n - o, "size=%lld", (long long)bytes);
		}
		if (mode != NULL) {
			if (!json_is_integer(mode) || json_integer_value(mode) < 0 ||
			    json_integer_value(mode) > 07777)
				return spec_fail(b, "volumes", "%s",
						 "tmpfs.mode must be a file mode (like 1777)");
			snprintf(opts + o, n - o, "%smode=%llo", o ? "," : "",
				 (unsigned long long)json_integer_value(mode));
		}
	}
	return 0;
}

/* One volume entry: "name:/path[:ro]", "/host:/path[:ro]" (binds need the
 * feature label), "/path" (anonymous), or the long form. */
static int
volume_entry(struct sb *b, json_t *e)
{
	char src[512] = "", dst[512] = "", bind[1200], opts[64] = "";
	bool ro = false;
	const char *type = "volume";

	if (json_is_object(e)) {
		const char *t = json_string_value(json_object_get(e, "type"));
		const char *s = json_string_value(json_object_get(e, "source"));
		const char *d = json_string_value(json_object_get(e, "target"));
		if (t != NULL)
			type = t;
		if (d == NULL)
			return spec_fail(b, "volumes", "%s", "long form needs 'target'");
		snprintf(src, sizeof(src), "%s", s ? s : "");
		snprintf(dst, sizeof(dst), "%s", d);
		ro = json_is_true(json_object_get(e, "read_only"));
		if (volume_long_opts(b, e, type, opts, sizeof(opts)) < 0)
			return -1;
		if (strcmp(type, "tmpfs") == 0) {
			json_object_set_new(json_object_get(b->host, "Tmpfs"), dst,
					    json_string(opts));
			return 0;
		}
		if (strcmp(type, "volume") && strcmp(type, "bind"))
			return spec_fail(b, "volumes", "type '%s' is not volume, bind or tmpfs",
					 type);
	} else if (json_is_string(e)) {
		const char *s = json_string_value(e), *c1 = strchr(s, ':'), *c2;
		if (c1 == NULL) {
			snprintf(dst, sizeof(dst), "%s", s);
		} else {
			snprintf(src, sizeof(src), "%.*s", (int)(c1 - s), s);
			c2 = strchr(c1 + 1, ':');
			snprintf(dst, sizeof(dst), "%.*s",
				 (int)(c2 ? c2 - c1 - 1 : (long)strlen(c1 + 1)), c1 + 1);
			if (c2 != NULL) {
				if (strcmp(c2 + 1, "ro") == 0)
					ro = true;
				else if (strcmp(c2 + 1, "rw") != 0)
					return spec_fail(b, "volumes",
							 "mode in '%s' must be ro or rw", s);
			}
		}
		if (src[0] == '/' || src[0] == '.' || src[0] == '~')
			type = "bind";
	} else {
		return spec_fail(b, "volumes", "%s", "entries must be strings or maps");
	}
	if (dst[0] != '/')
		return spec_fail(b, "volumes", "target '%s' must be an absolute path", dst);
	if (src[0] == '\0') { /* anonymous volume */
		json_object_set_new(json_object_get(b->body, "Volumes"), dst, json_object());
		return 0;
	}
	if (strcmp(type, "bind") == 0) {
		if (!b->allow_binds)
			return spec_fail(
			    b, "volumes",
			    "host path '%s' refused: bind mounts need the label " BC_LABEL_BINDS
			    "=1",
			    src);
		if (src[0] != '/')
			return spec_fail(b, "volumes", "host path '%s' must be absolute", src);
		snprintf(bind, sizeof(bind), "%s:%s%s%s%s", src, dst, ro ? ":ro" : "",
			 opts[0] && !ro ? ":" : "", opts[0] ? (ro ? "," : "") : "");
		strncat(bind, opts, sizeof(bind) - strlen(bind) - 1);
	} else {
		char vname[600], why[400];
		const bc_volume *vol = bc_app_volume(b->ctx->app, src);
		if (vol == NULL)
			return spec_fail(b, "volumes", "volume '%s' is not declared by the release",
					 src);
		if (!b->allow_binds && (vol->external || vol->docker_name != NULL))
			return bc_err_set(
			    b->err, BC_EINVAL,
			    "%s service '%s': 'volumes': volume '%s' is outside the app (external "
			    "or named %s): refused, that needs the label " BC_LABEL_BINDS "=1",
			    b->ctx->where, b->svc->name, src, vol->docker_name);
		if (!b->allow_binds && vol->spec != NULL && host_mount(vol->spec, why, sizeof(why))) {
			return bc_err_set(
			    b->err, BC_EINVAL,
			    "%s service '%s': 'volumes': volume '%s' mounts the host's %s: "
			    "refused, bind mounts need the label " BC_LABEL_BINDS "=1",
			    b->ctx->where, b->svc->name, src, why);
		}
		if (bc_volume_dname(vname, sizeof(vname), b->ctx->app_id, vol) < 0)
			return spec_fail(b, "volumes", "volume '%s': name too long", src);
		snprintf(bind, sizeof(bind), "%s:%s%s%s%s", vname, dst, ro ? ":ro" : "",
			 opts[0] && !ro ? ":" : "", opts[0] ? (ro ? "," : "") : "");
		strncat(bind, opts, sizeof(bind) - strlen(bind) - 1);
		/* what it waits for: the app's own (an external one is there) */
		if (!vol->external && !bc_strv_has(&b->svc->volumes, src))
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
		return spec_fail(b, k->name, "%s", "must be a list");
	json_array_foreach(v, i, e) if (volume_entry(b, e) < 0) return -1;
	return 0;
}

/* files: made in the container after create (what a compose file's
 * secrets and configs with an environment or content source become):
 * [{target, content, mode, uid, gid}], target an absolute path of a file,
 * mode 0..07777 (0444 if not given), uid and gid numbers (as strings or
 * integers; "0"). The content is never named in an error. */
#define FILES_MAX 64
#define FILES_MAX_BYTES ((size_t)1 << 20)
static int
k_files(struct sb *b, const struct key *k, json_t *v)
{
	static const char *const keys[] = {"target", "content", "mode", "uid", "gid", NULL};
	json_t *out = json_array(), *e;
	size_t i, total = 0;

	if (!json_is_array(v) || json_array_size(v) > FILES_MAX) {
		json_decref(out);
		return spec_fail(b, k->name, "%s", "must be a list of at most 64 files");
	}
	json_array_foreach(v, i, e)
	{
		const char *t = json_string_value(json_object_get(e, "target")), *fk, *why = NULL;
		const json_t *mode = json_object_get(e, "mode"), *c = json_object_get(e, "content");
		char ids[2][24] = {"0", "0"};
		json_t *fv;

		if (!json_is_object(e))
			why = "each file must be a map";
		else if (t == NULL || t[0] != '/' || t[1] == '\0' || t[strlen(t) - 1] == '/' ||
			 strstr(t, "/../") != NULL ||
			 strcmp(t + strlen(t) - 3 > t ? t + strlen(t) - 3 : t, "/..") == 0)
			why = "each file needs a target: the absolute path of a file (no ..)";
		else if (!bc_tar_name_fits(t))
			why = "a file's target is too long (a tar name: at most 100 bytes after a "
			      "'/', 155 before it)";
		else if (!json_is_string(c))
			why = "each file needs its content as a string";
		else if (mode != NULL && (!json_is_integer(mode) || json_integer_value(mode) < 0 ||
					  json_integer_value(mode) > 07777))
			why = "a file's mode must be a number 0..07777";
		json_object_foreach(e, fk, fv)
		{
			size_t j;
			for (j = 0; keys[j] && strcmp(keys[j], fk); j++)
				;
			if (keys[j] == NULL && why == NULL)
				why = "a file's keys are target, content, mode, uid and gid";
		}
		for (int w = 0; w < 2 && why == NULL; w++) {
			const json_t *id = json_object_get(e, w ? "gid" : "uid");
			const char *is = json_string_value(id);
			if (id == NULL)
				continue;
			if (json_is_integer(id) && json_integer_value(id) >= 0 &&
			    json_integer_value(id) <= 0x7fffffff)
				snprintf(ids[w], sizeof(ids[w]), "%lld",
					 (long long)json_integer_value(id));
			else if (is != NULL && *is && strlen(is) < 11 &&
				 strspn(is, "0123456789") == strlen(is))
				snprintf(ids[w], sizeof(ids[w]), "%s", is);
			else
				why = "a file's uid and gid must be numbers";
		}
		if (why == NULL && (total += json_string_length(c)) > FILES_MAX_BYTES)
			why = "the files' contents are larger than 1 MiB together";
		if (why != NULL) {
			json_decref(out);
			return spec_fail(b, k->name, "%s", why);
		}
		json_array_append_new(out, json_pack("{s:s, s:O, s:I, s:s, s:s}", "target", t,
						     "content", c, "mode",
						     (json_int_t)(mode ? json_integer_value(mode)
								       : 0444),
						     "uid", ids[0], "gid", ids[1]));
	}
	json_decref(b->svc->files);
	b->svc->files = out;
	return 0;
}

static int
k_refuse(struct sb *b, const struct key *k, json_t *v)
{
	(void)v;
	return spec_fail(b, k->name, "%s",
			 strcmp(k->name, "build") == 0
			     ? "is not supported on the device: build and push the image first"
			     : "is not supported: containers are named after the release");
}

const struct key bc_spec_keys[] = {
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
    {"logging", k_logging, 1, NULL},
    {"pid", k_share, 1, "PidMode"},
    {"ipc", k_share, 1, "IpcMode"},
    {"sysctls", k_sysctls, 1, NULL},
    {"ulimits", k_ulimits, 1, NULL},
    {"mem_limit", k_bytes, 1, "Memory"},
    {"mem_reservation", k_bytes, 1, "MemoryReservation"},
    {"shm_size", k_bytes, 1, "ShmSize"},
    {"cpus", k_cpus, 1, NULL},
    {"cpu_shares", k_int, 1, "CpuShares"},
    {"oom_score_adj", k_int, 1, "OomScoreAdj"},
    {"extra_hosts", k_extra_hosts, 1, NULL},
    /* the rest of the supervisor's (its supportedComposeFields) */
    {"cgroup_parent", k_str, 1, "CgroupParent"},
    {"cpu_quota", k_int, 1, "CpuQuota"},
    {"cpuset", k_str, 1, "CpusetCpus"},
    {"mac_address", k_str, 0, "MacAddress"},
    {"oom_kill_disable", k_bool, 1, "OomKillDisable"},
    {"pids_limit", k_int, 1, "PidsLimit"},
    {"storage_opt", k_storage_opt, 1, NULL},
    {"userns_mode", k_str, 1, "UsernsMode"},
    {"runtime", k_str, 1, "Runtime"},
    {"volumes_from", k_volumes_from, 1, NULL},
    {"post_start", k_hooks, 0, NULL},
    {"platform", k_platform, 0, NULL},
    {"pre_stop", k_hooks, 0, NULL},
    {"links", k_links, 0, NULL},
    {"external_links", k_links, 0, NULL},
    /* balena-compose's own: files made in the container (docs/compatibility.md) */
    {"files", k_files, 0, NULL},
    {"build", k_refuse, 0, NULL},
    {"container_name", k_refuse, 0, NULL},
};

const size_t bc_spec_nkeys = sizeof(bc_spec_keys) / sizeof(bc_spec_keys[0]);

const char *const bc_spec_volume_keys[] = {"driver", "driver_opts", "labels",
					   "external", "name",	      NULL};
const char *const bc_spec_network_keys[] = {"driver",	   "driver_opts", "labels", "ipam",
					    "enable_ipv6", "internal",	  "external", "name",
					    NULL};

bool
bc_spec_service_key(const char *key)
{
	for (size_t i = 0; i < bc_spec_nkeys; i++)
		if (strcmp(bc_spec_keys[i].name, key) == 0)
			return bc_spec_keys[i].fn != k_refuse;
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
	return in_list(bc_spec_volume_keys, key);
}

bool
bc_spec_network_key(const char *key)
{
	return in_list(bc_spec_network_keys, key);
}
