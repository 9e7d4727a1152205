#include "lib/model/compose.h"

#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/base/buf.h"
#include "lib/base/fsutil.h"
#include "lib/model/spec.h"
#include "lib/model/target.h"
#include "lib/model/values.h"

struct cx {
	const char *source;
	const char *dir;
	const bc_compose_opts *opts;
	json_t *dotenv; /* .env: name -> value */
	json_t *unset;	/* variables found unset, told once each (opts->unset) */
	/* the whole file, includes merged, extends resolved (its top-level
	 * secrets, configs): owned */
	json_t *tree;
	char dirbuf[1024]; /* dir, when it is made here (include, extends) */
	const char *project; /* the app's name, once known */
	int *files;	     /* files read for include and extends, all told */
	int depth;	     /* of include */
	yaml_document_t *doc;
	size_t nodes;
	bc_err *err;
	char locbuf[1100];
};

/* "file:line" for errors, or just "file" where there are no lines (a
 * compose structure that came as JSON). The text lives in c. */
static const char *
loc(struct cx *c, int line)
{
	if (line > 0)
		snprintf(c->locbuf, sizeof(c->locbuf), "%s:%d", c->source, line);
	else
		snprintf(c->locbuf, sizeof(c->locbuf), "%s", c->source);
	return c->locbuf;
}

/* --- interpolation ------------------------------------------------------------ */

static const char *
lookup(struct cx *c, const char *name)
{
	const char *v =
	    c->opts && c->opts->lookup ? c->opts->lookup(c->opts->ud, name) : getenv(name);
	if (v == NULL && c->dotenv != NULL)
		v = json_string_value(json_object_get(c->dotenv, name));
	return v;
}

/* name is unset and has no default: the caller hears of it once. */
static void
tell_unset(struct cx *c, const char *name)
{
	if (c->opts == NULL || c->opts->unset == NULL || json_object_get(c->unset, name) != NULL)
		return;
	if (c->unset == NULL)
		c->unset = json_object();
	json_object_set_new(c->unset, name, json_true());
	c->opts->unset(c->opts->ud, name);
}

/* The '}' that closes the "${" at p (nested "${...}" inside counted), or
 * NULL. */
static const char *
closing_brace(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (p[0] == '$' && p[1] == '{') {
			depth++;
			p++;
		} else if (*p == '}' && --depth == 0) {
			return p;
		}
	}
	return NULL;
}

static int interpolate_at(struct cx *c, const char *in, int line, bc_buf *out, int depth);

/* As the compose specification interpolates: $VAR, ${VAR}, ${VAR:-default},
 * ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt},
 * $$; a default, error or alternative is interpolated too (nested, at most
 * 8 deep). */
static int
interpolate(struct cx *c, const char *in, int line, bc_buf *out)
{
	return interpolate_at(c, in, line, out, 0);
}

static int
interpolate_at(struct cx *c, const char *in, int line, bc_buf *out, int depth)
{
	const char *p = in;
	bc_buf sub = {0};
	int rc = -1;

	bc_buf_reset(out);
	if (depth > 8) {
		bc_err_set(c->err, BC_EINVAL, "%s: substitutions nested too deep in '%.64s'",
			   loc(c, line), in);
		goto out;
	}
	while (*p) {
		char name[256], op[3] = "", arg[1024] = "";
		const char *val, *end;
		size_t n;

		if (*p != '$') {
			if (bc_buf_add(out, p++, 1, c->err) < 0)
				goto out;
			continue;
		}
		if (p[1] == '$') { /* $$ is a literal $ */
			if (bc_buf_add(out, "$", 1, c->err) < 0)
				goto out;
			p += 2;
			continue;
		}
		if (p[1] == '{') {
			end = closing_brace(p);
			if (end == NULL) {
				bc_err_set(c->err, BC_EINVAL, "%s: unterminated ${ in '%.64s'",
					   loc(c, line), in);
				goto out;
			}
			n = strspn(
			    p + 2,
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
			if (n == 0 || n >= sizeof(name)) {
				bc_err_set(c->err, BC_EINVAL, "%s: bad variable in '%.64s'",
					   loc(c, line), in);
				goto out;
			}
			memcpy(name, p + 2, n);
			name[n] = '\0';
			{
				const char *o = p + 2 + n;
				size_t ol = (o[0] == ':' && o < end) ? 2 : (o < end ? 1 : 0);
				if (ol && strchr("-?+", o[ol - 1]) == NULL) {
					bc_err_set(c->err, BC_EINVAL,
						   "%s: bad substitution in '%.64s'", loc(c, line),
						   in);
					goto out;
				}
				memcpy(op, o, ol);
				op[ol] = '\0';
				if ((size_t)(end - (o + ol)) >= sizeof(arg)) {
					bc_err_set(c->err, BC_EINVAL,
						   "%s: substitution too long in '%.64s'",
						   loc(c, line), in);
					goto out;
				}
				snprintf(arg, sizeof(arg), "%.*s", (int)(end - (o + ol)), o + ol);
			}
			p = end + 1;
		} else {
			n = strspn(
			    p + 1,
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
			if (n == 0 || n >= sizeof(name)) { /* a lone $ */
				if (bc_buf_add(out, p++, 1, c->err) < 0)
					goto out;
				continue;
			}
			memcpy(name, p + 1, n);
			name[n] = '\0';
			p += 1 + n;
		}
		val = lookup(c, name);
		if (val == NULL && op[0] == '\0')
			tell_unset(c, name);
		if (op[0] != '\0') {
			bool colon = op[0] == ':', missing = val == NULL || (colon && *val == '\0');
			char kind = op[strlen(op) - 1];
			/* the word used is interpolated in its turn */
			if ((missing && kind != '+') || (!missing && kind == '+')) {
				if (interpolate_at(c, arg, line, &sub, depth + 1) < 0)
					goto out;
			}
			if (missing && kind == '-') {
				val = sub.len ? sub.data : "";
			} else if (missing && kind == '?') {
				bc_err_set(c->err, BC_EINVAL, "%s: variable %s: %s", loc(c, line),
					   name, sub.len ? sub.data : "required but not set");
				goto out;
			} else if (kind == '+') {
				val = !missing && sub.len ? sub.data : "";
			}
		}
		if (val != NULL && bc_buf_add(out, val, strlen(val), c->err) < 0)
			goto out;
	}
	rc = 0;
out:
	bc_buf_free(&sub);
	return rc;
}

/* --- YAML to JSON ------------------------------------------------------------------- */

static json_t *convert(struct cx *c, yaml_node_t *node, int depth, bool is_key);

static int
line_of(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

static json_t *
scalar(struct cx *c, yaml_node_t *n, bool is_key)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	bc_buf b = {.max = 65536};
	json_t *out;
	char *end;

	if (memchr(s, '\0', len) != NULL) {
		bc_err_set(c->err, BC_EINVAL, "%s: NUL in a value", loc(c, line_of(n)));
		return NULL;
	}
	if (!is_key && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
		    strcmp(s, "Null") == 0)
			return json_null();
		if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0)
			return json_true();
		if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0)
			return json_false();
		if (isdigit((unsigned char)s[0]) ||
		    ((s[0] == '-' || s[0] == '+') && isdigit((unsigned char)s[1]))) {
			long long v;
			double d;
			/* as docker compose's YAML reads an integer: 0x hex,
			 * 0o and a leading 0 octal (file modes: 0440) */
			const char *digits = s[0] == '0' && s[1] == 'o' ? s + 2 : s;
			errno = 0;
			v = strtoll(digits, &end, digits == s ? 0 : 8);
			if (*end == '\0' && errno == 0 && end != digits)
				return json_integer(v);
			d = strtod(s, &end);
			if (*end == '\0' && errno == 0 && strchr(s, ':') == NULL)
				return json_real(d);
		}
	}
	if (is_key)
		return json_stringn(s, len);
	if (interpolate(c, s, line_of(n), &b) < 0) {
		bc_buf_free(&b);
		return NULL;
	}
	out = json_stringn(bc_buf_cstr(&b), b.len);
	bc_buf_free(&b);
	if (out == NULL)
		bc_err_set(c->err, BC_EINVAL, "%s: value is not valid UTF-8", loc(c, line_of(n)));
	return out;
}

static int
merge_into(struct cx *c, json_t *obj, json_t *from, int line)
{
	const char *k;
	json_t *v;

	if (!json_is_object(from))
		return bc_err_set(c->err, BC_EINVAL, "%s: '<<' must merge a mapping", loc(c, line));
	json_object_foreach(from, k, v) if (json_object_get(obj, k) == NULL)
	    json_object_set(obj, k, v);
	return 0;
}

static json_t *
mapping(struct cx *c, yaml_node_t *n, int depth)
{
	json_t *obj = json_object(), *merges = json_array();
	yaml_node_pair_t *pair;

	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = yaml_document_get_node(c->doc, pair->key);
		yaml_node_t *vn = yaml_document_get_node(c->doc, pair->value);
		json_t *k, *v;

		if (kn == NULL || vn == NULL || kn->type != YAML_SCALAR_NODE) {
			bc_err_set(c->err, BC_EINVAL, "%s: mapping keys must be plain strings",
				   loc(c, kn ? line_of(kn) : line_of(n)));
			goto fail;
		}
		if ((k = convert(c, kn, depth + 1, true)) == NULL)
			goto fail;
		if ((v = convert(c, vn, depth + 1, false)) == NULL) {
			json_decref(k);
			goto fail;
		}
		if (strcmp(json_string_value(k), "<<") == 0) {
			json_array_append_new(merges, v);
		} else if (json_object_get(obj, json_string_value(k)) != NULL) {
			bc_err_set(c->err, BC_EINVAL, "%s: key '%s' appears twice",
				   loc(c, line_of(kn)), json_string_value(k));
			json_decref(k);
			json_decref(v);
			goto fail;
		} else {
			json_object_set_new(obj, json_string_value(k), v);
		}
		json_decref(k);
	}
	/* merge keys fill in what the mapping does not say itself */
	for (size_t i = 0; i < json_array_size(merges); i++) {
		json_t *m = json_array_get(merges, i);
		if (json_is_array(m)) {
			size_t k;
			json_t *e;
			json_array_foreach(m, k,
					   e) if (merge_into(c, obj, e, line_of(n)) < 0) goto fail;
		} else if (merge_into(c, obj, m, line_of(n)) < 0) {
			goto fail;
		}
	}
	json_decref(merges);
	return obj;
fail:
	json_decref(merges);
	json_decref(obj);
	return NULL;
}

static json_t *
convert(struct cx *c, yaml_node_t *n, int depth, bool is_key)
{
	/* aliases share nodes: count every visit, so expansion is bounded */
	if (++c->nodes > BC_COMPOSE_MAX_NODES) {
		bc_err_set(c->err, BC_ETOOBIG, "%s: more than %d YAML nodes (alias expansion?)",
			   c->source, BC_COMPOSE_MAX_NODES);
		return NULL;
	}
	if (depth > BC_COMPOSE_MAX_DEPTH) {
		bc_err_set(c->err, BC_ETOOBIG, "%s: nested deeper than %d", loc(c, line_of(n)),
			   BC_COMPOSE_MAX_DEPTH);
		return NULL;
	}
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return scalar(c, n, is_key);
	case YAML_SEQUENCE_NODE: {
		json_t *arr = json_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++) {
			json_t *v =
			    convert(c, yaml_document_get_node(c->doc, *it), depth + 1, false);
			if (v == NULL) {
				json_decref(arr);
				return NULL;
			}
			json_array_append_new(arr, v);
		}
		return arr;
	}
	case YAML_MAPPING_NODE:
		return mapping(c, n, depth);
	default:
		bc_err_set(c->err, BC_EINVAL, "%s: empty node", loc(c, line_of(n)));
		return NULL;
	}
}

/* The line of key `key` inside the mapping at node n (0 if not found). */
static int
key_line(struct cx *c, yaml_node_t *n, const char *key)
{
	if (c->doc == NULL || n == NULL || n->type != YAML_MAPPING_NODE)
		return 0;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
		if (kn && kn->type == YAML_SCALAR_NODE &&
		    strcmp((char *)kn->data.scalar.value, key) == 0)
			return line_of(kn);
	}
	return 0;
}

static yaml_node_t *
child(struct cx *c, yaml_node_t *n, const char *key)
{
	if (c->doc == NULL || n == NULL || n->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
		if (kn && kn->type == YAML_SCALAR_NODE &&
		    strcmp((char *)kn->data.scalar.value, key) == 0)
			return yaml_document_get_node(c->doc, p->value);
	}
	return NULL;
}

/* --- files ------------------------------------------------------------------------- */

/* KEY=VALUE lines ('#' comments, optional "export ", optional quotes). */
static int
read_env_file(struct cx *c, const char *path, json_t *into, bool optional)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int ln = 0;

	if (f == NULL) {
		if (optional && errno == ENOENT)
			return 0;
		return bc_err_sys(c->err, "%s: env_file '%s'", c->source, path);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line, *eq, *v;
		size_t n;
		ln++;
		if (ln > 10000) {
			fclose(f);
			return bc_err_set(c->err, BC_ETOOBIG, "%s: more than 10000 lines", path);
		}
		line[strcspn(line, "\r\n")] = '\0';
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (strncmp(p, "export ", 7) == 0)
			p += 7;
		if ((eq = strchr(p, '=')) == NULL || eq == p) {
			fclose(f);
			return bc_err_set(c->err, BC_EINVAL, "%s:%d: expected NAME=VALUE", path,
					  ln);
		}
		*eq = '\0';
		v = eq + 1;
		n = strlen(v);
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v[n - 1] = '\0';
			v++;
		}
		json_object_set_new(into, p, json_string(v));
	}
	fclose(f);
	return 0;
}

/* --- from compose to v3 ----------------------------------------------------------------- */

static uint64_t
fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int
bad_key(struct cx *c, yaml_node_t *map, const char *what, const char *key)
{
	return bc_err_set(c->err, BC_EINVAL, "%s: %s: key '%s' is not supported",
			  loc(c, key_line(c, map, key)), what, key);
}

static json_t *pairs(struct cx *c, const char *what, const char *key, const json_t *v, char sep,
		     int line);

/* environment (map or list) into a map; null values come from the shell */
static int
env_map(struct cx *c, json_t *v, json_t *into, yaml_node_t *svc, const char *name)
{
	char what[128];
	json_t *m;

	snprintf(what, sizeof(what), "service '%s'", name);
	if ((m = pairs(c, what, "environment", v, '=', key_line(c, svc, "environment"))) == NULL)
		return -1;
	json_object_update(into, m);
	json_decref(m);
	return 0;
}

/* text as YAML (c->source names it in errors), its root converted: the
 * tree, or NULL with c->err. The document stays (key lines are looked up
 * in it, *root is its root) until yaml_done. */
static json_t *
yaml_tree(struct cx *c, yaml_parser_t *parser, yaml_document_t *doc, const char *text, size_t len,
	  yaml_node_t **root)
{
	*root = NULL;
	c->doc = NULL;
	yaml_parser_initialize(parser);
	yaml_parser_set_input_string(parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(parser, doc)) {
		bc_err_set(c->err, BC_EINVAL, "%s:%zu: %s", c->source,
			   parser->problem_mark.line + 1,
			   parser->problem ? parser->problem : "not valid YAML");
		return NULL;
	}
	c->doc = doc;
	if ((*root = yaml_document_get_root_node(doc)) == NULL) {
		bc_err_set(c->err, BC_EINVAL, "%s: the file is empty", c->source);
		return NULL;
	}
	return convert(c, *root, 0, false);
}

static void
yaml_done(struct cx *c, yaml_parser_t *parser)
{
	if (c->doc != NULL)
		yaml_document_delete(c->doc);
	c->doc = NULL;
	yaml_parser_delete(parser);
}

/* The contract.yml at the root of a service's build context (as balena's
 * tools read it), as JSON: NULL and no error when there is none. The
 * context is where its build: says, under the compose file's directory. */
#define CONTRACT_MAX_BYTES 65536
static json_t *
build_contract(struct cx *c, const json_t *build, const char *what, yaml_node_t *node, bool *bad)
{
	const char *ctx = json_is_string(build)
			      ? json_string_value(build)
			      : json_string_value(json_object_get(build, "context"));
	char path[1024], text[CONTRACT_MAX_BYTES + 1];
	struct cx sub = {.opts = c->opts, .err = c->err};
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	json_t *out = NULL;
	FILE *f;
	size_t n;

	*bad = false;
	if (ctx == NULL) {
		*bad = true;
		bc_err_set(c->err, BC_EINVAL, "%s: %s: build must be a path or have a context",
			   loc(c, key_line(c, node, "build")), what);
		return NULL;
	}
	if (c->dir == NULL) /* no files are read: no contract */
		return NULL;
	snprintf(path, sizeof(path), "%s%s%s/contract.yml", ctx[0] == '/' ? "" : c->dir,
		 ctx[0] == '/' ? "" : "/", ctx);
	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return NULL;
		*bad = true;
		bc_err_sys(c->err, "%s: open '%s'", what, path);
		return NULL;
	}
	n = fread(text, 1, sizeof(text), f);
	fclose(f);
	if (n > CONTRACT_MAX_BYTES) {
		*bad = true;
		bc_err_set(c->err, BC_ETOOBIG, "%s: larger than %d bytes", path,
			   CONTRACT_MAX_BYTES);
		return NULL;
	}
	sub.source = path;
	out = yaml_tree(&sub, &parser, &doc, text, n, &root);
	json_decref(sub.unset);
	yaml_done(&sub, &parser);
	*bad = out == NULL;
	return out;
}

static void warn(struct cx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
warn(struct cx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (c->opts == NULL || c->opts->warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->opts->warn(c->opts->ud, msg);
}

/* comp[key] = v, unless the service gave key itself: the same value is
 * fine, another an error (as docker compose says). */
static int
set_once(struct cx *c, json_t *comp, const char *key, json_t *v, const char *what, const char *from,
	 int line)
{
	json_t *was = json_object_get(comp, key);

	if (was != NULL && !json_equal(was, v)) {
		json_decref(v);
		return bc_err_set(c->err, BC_EINVAL, "%s: %s: %s and %s differ", loc(c, line), what,
				  key, from);
	}
	json_object_set_new(comp, key, v);
	return 0;
}

/* deploy, as docker compose reads it on one engine: resources' limits and
 * reservations become the container's (mem_limit, cpus, pids_limit,
 * mem_reservation), restart_policy its restart when it has none; the
 * swarm's keys and replicas other than 1 have no meaning on one device:
 * accepted, a warning names each. Any other key is an error. */
static int
deploy(struct cx *c, const char *what, const json_t *d, json_t *comp, int line)
{
	static const char *const swarm[] = {
	    "mode",   "placement", "update_config", "rollback_config", "endpoint_mode",
	    "labels", NULL};
	const json_t *res = json_object_get(d, "resources"), *lim, *rsv, *rp, *v;
	const char *k;

	if (!json_is_object(d))
		return bc_err_set(c->err, BC_EINVAL, "%s: %s: deploy must be a mapping",
				  loc(c, line), what);
	json_object_foreach((json_t *)d, k, v)
	{
		size_t i;
		for (i = 0; swarm[i] != NULL && strcmp(swarm[i], k) != 0; i++)
			;
		if (swarm[i] != NULL) {
			warn(c, "%s: deploy.%s has no meaning on one device (swarm): ignored", what,
			     k);
			continue;
		}
		if (strcmp(k, "resources") && strcmp(k, "replicas") && strcmp(k, "restart_policy"))
			return bc_err_set(c->err, BC_EINVAL,
					  "%s: %s: key 'deploy.%s' is not supported", loc(c, line),
					  what, k);
	}
	if ((v = json_object_get(d, "replicas")) != NULL &&
	    (!json_is_integer(v) || json_integer_value(v) != 1))
		warn(c,
		     "%s: deploy.replicas other than 1 has no meaning on one device: one "
		     "container runs",
		     what);
	lim = json_object_get(res, "limits");
	rsv = json_object_get(res, "reservations");
	json_object_foreach(
	    (json_t *)res, k,
	    v) if (strcmp(k, "limits") &&
		   strcmp(k, "reservations")) return bc_err_set(c->err, BC_EINVAL,
								"%s: %s: key 'deploy.resources.%s' "
								"is not supported",
								loc(c, line), what, k);
	json_object_foreach((json_t *)lim, k, v)
	{
		const char *to = strcmp(k, "cpus") == 0	    ? "cpus"
				 : strcmp(k, "memory") == 0 ? "mem_limit"
				 : strcmp(k, "pids") == 0   ? "pids_limit"
							    : NULL;
		if (to == NULL) {
			warn(c, "%s: deploy.resources.limits.%s is not applied here", what, k);
			continue;
		}
		if (set_once(c, comp, to, json_deep_copy(v), what, "deploy.resources.limits",
			     line) < 0)
			return -1;
	}
	json_object_foreach((json_t *)rsv, k, v)
	{
		if (strcmp(k, "memory") != 0) {
			warn(c, "%s: deploy.resources.reservations.%s is not applied here", what,
			     k);
			continue;
		}
		if (set_once(c, comp, "mem_reservation", json_deep_copy(v), what,
			     "deploy.resources.reservations", line) < 0)
			return -1;
	}
	if ((rp = json_object_get(d, "restart_policy")) != NULL &&
	    json_object_get(comp, "restart") == NULL) {
		const char *cond = json_string_value(json_object_get(rp, "condition"));
		const json_t *max = json_object_get(rp, "max_attempts");
		char r[64];
		if (cond == NULL || strcmp(cond, "any") == 0)
			snprintf(r, sizeof(r), "always");
		else if (strcmp(cond, "none") == 0)
			snprintf(r, sizeof(r), "no");
		else if (strcmp(cond, "on-failure") == 0 && json_is_integer(max))
			snprintf(r, sizeof(r), "on-failure:%lld",
				 (long long)json_integer_value(max));
		else if (strcmp(cond, "on-failure") == 0)
			snprintf(r, sizeof(r), "on-failure");
		else
			return bc_err_set(
			    c->err, BC_EINVAL,
			    "%s: %s: deploy.restart_policy.condition '%s' is not none, "
			    "on-failure or any",
			    loc(c, line), what, cond);
		json_object_set_new(comp, "restart", json_string(r));
		if (json_object_get(rp, "delay") || json_object_get(rp, "window"))
			warn(c, "%s: deploy.restart_policy's delay and window are not applied here",
			     what);
	}
	return 0;
}

/* docker compose publishes a port given alone ("80", 80, "8000-8001/udp")
 * on one the engine picks; a v3 target (the supervisor) on the same one:
 * the target says docker compose's meaning so, "0:80". */
static void
ephemeral_ports(json_t *comp)
{
	json_t *ports = json_object_get(comp, "ports"), *e;
	size_t i;

	if (!json_is_array(ports))
		return; /* refused as it is by the target's parser */
	/* its own copy: the file's tree may be shared (YAML anchors) */
	json_object_set_new(comp, "ports", ports = json_deep_copy(ports));
	json_array_foreach(ports, i, e)
	{
		const char *s = json_string_value(e);
		char buf[80];
		if (json_is_integer(e))
			snprintf(buf, sizeof(buf), "0:%lld", (long long)json_integer_value(e));
		else if (s != NULL && strchr(s, ':') == NULL && strlen(s) < 64)
			snprintf(buf, sizeof(buf), "0:%s", s);
		else
			continue;
		json_array_set_new(ports, i, json_string(buf));
	}
}

/* A host path of a bind mount ("./data", "../x", "~/x", "/srv") made
 * absolute and clean, as docker compose makes it: relative to the project
 * directory, "~" the user's HOME. 0, or -1 with err. */
static int
host_path(struct cx *c, const char *what, const char *src, int line, char *out, size_t n)
{
	char base[PATH_MAX], full[4096];
	const char *home = lookup(c, "HOME");
	int w;

	if (src[0] == '/') {
		snprintf(full, sizeof(full), "%s", src);
	} else if (src[0] == '~' && (src[1] == '/' || src[1] == '\0')) {
		if (home == NULL || home[0] != '/')
			return bc_err_set(c->err, BC_EINVAL,
					  "%s: %s: '%s': HOME is not set to an absolute path",
					  loc(c, line), what, src);
		snprintf(full, sizeof(full), "%s/%s", home, src + 1);
	} else {
		if (c->dir == NULL)
			return bc_err_set(c->err, BC_EINVAL,
					  "%s: %s: the relative host path '%s' needs a file on disk",
					  loc(c, line), what, src);
		if (realpath(c->dir, base) == NULL)
			snprintf(base, sizeof(base), "%s", c->dir);
		if ((w = snprintf(full, sizeof(full), "%s/%s", base, src)) < 0 ||
		    (size_t)w >= sizeof(full))
			full[0] = '\0';
	}
	bc_path_clean(full);
	if (strlen(full) >= n || strlen(full) >= 500 || full[0] != '/')
		return bc_err_set(c->err, BC_EINVAL, "%s: %s: host path '%.100s' is too long",
				  loc(c, line), what, src);
	snprintf(out, n, "%s", full);
	return 0;
}

/* The service's volumes with every host path made absolute (a local file's
 * bind mounts are the device owner's: the label that lets a target bind
 * them is set, docs/security.md); *binds tells whether there was one. */
static int
local_binds(struct cx *c, const char *what, json_t *comp, int line, bool *binds)
{
	json_t *vols = json_object_get(comp, "volumes"), *e;
	size_t i;

	if (!json_is_array(vols))
		return 0; /* refused as it is by the target's parser */
	json_object_set_new(comp, "volumes", vols = json_deep_copy(vols));
	json_array_foreach(vols, i, e)
	{
		const char *s = json_string_value(e);
		char src[1024], abs[1024], buf[2200];
		if (json_is_object(e)) {
			const char *t = json_string_value(json_object_get(e, "type"));
			s = json_string_value(json_object_get(e, "source"));
			if (t == NULL || strcmp(t, "bind") != 0 || s == NULL)
				continue;
			if (host_path(c, what, s, line, abs, sizeof(abs)) < 0)
				return -1;
			json_object_set_new(e, "source", json_string(abs));
			*binds = true;
			continue;
		}
		if (s == NULL || strchr(s, ':') == NULL || strlen(s) >= sizeof(src))
			continue;
		snprintf(src, sizeof(src), "%.*s", (int)(strchr(s, ':') - s), s);
		if (src[0] != '.' && src[0] != '/' && src[0] != '~')
			continue; /* a named volume */
		if (host_path(c, what, src, line, abs, sizeof(abs)) < 0)
			return -1;
		snprintf(buf, sizeof(buf), "%s%s", abs, strchr(s, ':'));
		json_array_set_new(vols, i, json_string(buf));
		*binds = true;
	}
	return 0;
}

/* A service's secrets or configs (kind "secret" or "config"), as docker
 * compose gives them on one engine: a file source bind-mounted read-only,
 * an environment or content source made as a file in the container
 * (composition "files", mode 0444 unless given). Secrets land in
 * /run/secrets/, configs at /NAME, unless a target says otherwise. */
static int
secrets(struct cx *c, const char *what, const json_t *list, json_t *comp, int line, bool secret,
	bool *binds)
{
	const char *kind = secret ? "secret" : "config", *top = secret ? "secrets" : "configs";
	const json_t *defs = json_object_get(c->tree, top), *e;
	size_t i;

	if (!json_is_array(list))
		return bc_err_set(c->err, BC_EINVAL, "%s: %s: %s must be a list", loc(c, line),
				  what, top);
	json_array_foreach(list, i, e)
	{
		const char *src = json_string_value(e), *t = NULL, *k, *file, *var;
		const json_t *def, *v, *content;
		char target[1100], abs[1024];
		if (json_is_object(e)) {
			src = json_string_value(json_object_get(e, "source"));
			t = json_string_value(json_object_get(e, "target"));
			json_object_foreach((json_t *)e, k, v) if (strcmp(k, "source") &&
								   strcmp(k, "target") &&
								   strcmp(k, "uid") &&
								   strcmp(k, "gid") &&
								   strcmp(k, "mode")) src = NULL;
		}
		if (src == NULL || (json_is_object(e) && json_object_get(e, "target") && t == NULL))
			return bc_err_set(c->err, BC_EINVAL,
					  "%s: %s: each of %s is a name or {source, target, uid, "
					  "gid, mode}",
					  loc(c, line), what, top);
		if ((def = json_object_get(defs, src)) == NULL)
			return bc_err_set(c->err, BC_EINVAL,
					  "%s: %s: %s '%s' is not defined in the top-level %s",
					  loc(c, line), what, kind, src, top);
		if (t == NULL)
			snprintf(target, sizeof(target), "%s%s", secret ? "/run/secrets/" : "/",
				 src);
		else if (t[0] == '/')
			snprintf(target, sizeof(target), "%s", t);
		else
			snprintf(target, sizeof(target), "%s%s", secret ? "/run/secrets/" : "/", t);
		file = json_string_value(json_object_get(def, "file"));
		var = json_string_value(json_object_get(def, "environment"));
		content = json_object_get(def, "content");
		if (file != NULL) {
			char bind[2200];
			json_t *vols = json_object_get(comp, "volumes");
			if (host_path(c, what, file, line, abs, sizeof(abs)) < 0)
				return -1;
			if (json_is_object(e) && (json_object_get(e, "uid") ||
						  json_object_get(e, "gid") ||
						  json_object_get(e, "mode")))
				warn(c,
				     "%s: %s '%s': uid, gid and mode do not apply to a file "
				     "source (it is bind-mounted): ignored",
				     what, kind, src);
			snprintf(bind, sizeof(bind), "%s:%s:ro", abs, target);
			if (vols == NULL)
				json_object_set_new(comp, "volumes", vols = json_array());
			if (!json_is_array(vols))
				return bc_err_set(c->err, BC_EINVAL, "%s: %s: volumes must be a list",
						  loc(c, line), what);
			json_array_append_new(vols, json_string(bind));
			*binds = true;
		} else {
			json_t *files = json_object_get(comp, "files"), *f;
			const char *val = var ? lookup(c, var) : json_string_value(content);
			if (val == NULL)
				return bc_err_set(c->err, BC_EINVAL,
						  var ? "%s: %s: %s '%s': its environment variable "
							"'%s' is not set"
						      : "%s: %s: %s '%s': no file, environment or "
							"content%s",
						  loc(c, line), what, kind, src, var ? var : "");
			f = json_pack("{s:s, s:s}", "target", target, "content", val);
			json_object_foreach((json_t *)e, k, v) if (strcmp(k, "source") &&
								   strcmp(k, "target"))
			    json_object_set(f, k, (json_t *)v);
			if (files == NULL)
				json_object_set_new(comp, "files", files = json_array());
			json_array_append_new(files, f);
		}
	}
	return 0;
}

/* Top-level secrets and configs: name -> {file | environment | content
 * (configs)}, with name and labels accepted; external needs a swarm. */
static int
secret_defs(struct cx *c, yaml_node_t *root, bool secret)
{
	const char *top = secret ? "secrets" : "configs", *name, *k;
	const json_t *defs = json_object_get(c->tree, top), *d, *v;

	if (defs == NULL)
		return 0;
	if (!json_is_object(defs))
		return bc_err_set(c->err, BC_EINVAL, "%s: '%s' must be a mapping",
				  loc(c, key_line(c, root, top)), top);
	json_object_foreach((json_t *)defs, name, d)
	{
		int sources = 0, line = key_line(c, child(c, root, top), name);
		if (!json_is_object(d))
			return bc_err_set(c->err, BC_EINVAL, "%s: %s '%s' must be a mapping",
					  loc(c, line), top, name);
		json_object_foreach((json_t *)d, k, v)
		{
			if (strcmp(k, "file") == 0 || strcmp(k, "environment") == 0 ||
			    (!secret && strcmp(k, "content") == 0)) {
				if (!json_is_string(v))
					return bc_err_set(c->err, BC_EINVAL,
							  "%s: %s '%s': %s must be a string",
							  loc(c, line), top, name, k);
				sources++;
			} else if (strcmp(k, "external") == 0) {
				if (json_is_true(v))
					return bc_err_set(
					    c->err, BC_EINVAL,
					    "%s: %s '%s': external %s need a swarm; give a file, "
					    "environment%s source",
					    loc(c, line), top, name, top,
					    secret ? " or" : ", or content");
			} else if (strcmp(k, "name") && strcmp(k, "labels") &&
				   strncmp(k, "x-", 2)) {
				char what[160];
				snprintf(what, sizeof(what), "%s '%s'", secret ? "secret" : "config",
					 name);
				return bad_key(c, child(c, child(c, root, top), name), what, k);
			}
		}
		if (sources != 1)
			return bc_err_set(c->err, BC_EINVAL,
					  "%s: %s '%s' needs one source: file, environment%s",
					  loc(c, line), top, name, secret ? "" : " or content");
	}
	return 0;
}

/* "K=V" list or map of scalars (null, or "K" alone: from the environment,
 * left out when unset) into a map of strings: environment, build's args
 * and labels, extra_hosts as "host:ip" with sep ':'. key names it in
 * errors. NULL with err. */
static json_t *
pairs(struct cx *c, const char *what, const char *key, const json_t *v, char sep, int line)
{
	json_t *out = json_object(), *e;
	const char *k;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, e)
		{
			const char *sv = json_is_null(e) ? lookup(c, k) : json_string_value(e);
			char num[64];
			if (json_is_number(e) || json_is_boolean(e)) {
				char *t = json_dumps(e, JSON_ENCODE_ANY);
				snprintf(num, sizeof(num), "%s", t ? t : "");
				free(t);
				sv = num;
			} else if (!json_is_null(e) && sv == NULL) {
				bc_err_set(c->err, BC_EINVAL, "%s: %s: %s '%s' must be a scalar",
					   loc(c, line), what, key, k);
				goto bad;
			}
			if (sv != NULL)
				json_object_set_new(out, k, json_string(sv));
		}
		return out;
	}
	if (!json_is_array(v)) {
		bc_err_set(c->err, BC_EINVAL, "%s: %s: %s must be a map or a list", loc(c, line),
			   what, key);
		goto bad;
	}
	json_array_foreach(v, i, e)
	{
		const char *s = json_string_value(e), *at;
		char name[256];
		if (s == NULL) {
			bc_err_set(c->err, BC_EINVAL, "%s: %s: %s entries must be strings",
				   loc(c, line), what, key);
			goto bad;
		}
		at = strchr(s, sep == ':' ? '=' : sep);
		if (sep == ':' && at == NULL)
			at = strchr(s, ':');
		snprintf(name, sizeof(name), "%.*s", (int)(at ? at - s : (long)strlen(s)), s);
		if (at != NULL)
			json_object_set_new(out, name, json_string(at + 1));
		else if (lookup(c, name) != NULL)
			json_object_set_new(out, name, json_string(lookup(c, name)));
	}
	return out;
bad:
	json_decref(out);
	return NULL;
}

/* Does a top-level volume or network of the file (top "volumes" or
 * "networks") live outside the app: external, or a name of its own? */
static bool
outside(struct cx *c, const char *top, const char *name)
{
	const json_t *d = json_object_get(json_object_get(c->tree, top), name);
	return json_is_true(json_object_get(d, "external")) || json_object_get(d, "name") != NULL;
}

/* Does the service use a volume or network outside the app? The label
 * that lets a target do that is set then (a local file is its owner's,
 * docs/security.md), as for a bind mount. */
static bool
uses_outside(struct cx *c, const json_t *comp)
{
	const json_t *vols = json_object_get(comp, "volumes"), *nets, *e;
	const char *k;
	size_t i;

	json_array_foreach(vols, i, e)
	{
		const char *sv = json_string_value(e);
		char name[256];
		if (json_is_object(e))
			sv = json_string_value(json_object_get(e, "source"));
		if (sv == NULL)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(sv, ":"), sv);
		if (outside(c, "volumes", name))
			return true;
	}
	if (json_array_size(json_object_get(comp, "external_links")) > 0)
		return true;
	json_array_foreach(json_object_get(comp, "volumes_from"), i, e) if (
	    json_is_string(e) && strncmp(json_string_value(e), "container:", 10) == 0) return true;
	if (json_object_get(comp, "network_mode") != NULL)
		return false;
	nets = json_object_get(comp, "networks");
	if (nets == NULL)
		return outside(c, "networks", "default");
	json_array_foreach(nets, i, e) if (json_is_string(e) &&
					   outside(c, "networks", json_string_value(e))) return true;
	json_object_foreach((json_t *)nets, k, e) if (outside(c, "networks", k)) return true;
	return false;
}


/* container_name: the container's own name (the target carries it as the
 * label BC_LABEL_CONTAINER_NAME). */
static int
container_name(struct cx *c, const char *what, const json_t *v, json_t *labels, int line)
{
	if (!bc_docker_name_ok(json_string_value(v), 128))
		return bc_err_set(c->err, BC_EINVAL,
				  "%s: %s: container_name must be a name of "
				  "[a-zA-Z0-9][a-zA-Z0-9_.-]* (at most 128)",
				  loc(c, line), what);
	json_object_set(labels, BC_LABEL_CONTAINER_NAME, (json_t *)v);
	return 0;
}

/* A service's build: (a path, or the long form) as the object the CLI
 * builds from (lib/docker/build.h), its context made absolute. The
 * engine's classic builder has no ssh, secrets, cache_to, ... : those are
 * accepted and named in a warning. NULL with err; *none when there is no
 * directory to build from (a compose structure given as JSON). */
static json_t *
build_spec(struct cx *c, const char *what, const json_t *b, int line, bool *none)
{
	static const char *const unapplied[] = {
	    "ssh",	"cache_to", "additional_contexts", "isolation", "privileged",
	    "secrets",	"ulimits",  "entitlements",	   NULL};
	static const char *const strings[] = {"dockerfile", "dockerfile_inline", "target",
					      "network", NULL};
	const char *ctx = json_is_string(b) ? json_string_value(b)
					    : json_string_value(json_object_get(b, "context"));
	const json_t *v;
	const char *k;
	json_t *out;
	char abs[1024];

	*none = false;
	if (!json_is_string(b) && !json_is_object(b))
		goto bad;
	if (ctx == NULL && json_object_get(b, "context") != NULL)
		goto bad;
	if (ctx == NULL)
		ctx = ".";
	if (strstr(ctx, "://") != NULL || strncmp(ctx, "git@", 4) == 0) {
		bc_err_set(c->err, BC_EINVAL,
			   "%s: %s: build.context '%.200s': a remote context (git, URL) is not "
			   "supported; clone it and give its directory",
			   loc(c, line), what, ctx);
		return NULL;
	}
	if (c->dir == NULL && ctx[0] != '/') {
		*none = true;
		return NULL;
	}
	if (host_path(c, what, ctx, line, abs, sizeof(abs)) < 0)
		return NULL;
	out = json_pack("{s:s}", "context", abs);
	if (json_is_string(b))
		return out;
	json_object_foreach((json_t *)b, k, v)
	{
		size_t i;
		json_t *m;
		if (strncmp(k, "x-", 2) == 0 || strcmp(k, "context") == 0)
			continue;
		for (i = 0; unapplied[i] && strcmp(unapplied[i], k); i++)
			;
		if (unapplied[i] != NULL) {
			warn(c, "%s: build.%s is not applied by the engine's builder here: ignored",
			     what, k);
			continue;
		}
		for (i = 0; strings[i] && strcmp(strings[i], k); i++)
			;
		if (strings[i] != NULL) {
			if (!json_is_string(v)) {
				bc_err_set(c->err, BC_EINVAL, "%s: %s: build.%s must be a string",
					   loc(c, line), what, k);
				goto fail;
			}
			json_object_set(out, k, (json_t *)v);
		} else if (strcmp(k, "args") == 0 || strcmp(k, "labels") == 0 ||
			   strcmp(k, "extra_hosts") == 0) {
			bool hosts = strcmp(k, "extra_hosts") == 0;
			char full[64];
			snprintf(full, sizeof(full), "build.%s", k);
			if ((m = pairs(c, what, full, v, hosts ? ':' : '=', line)) == NULL)
				goto fail;
			if (hosts) { /* the builder takes "host:ip" */
				json_t *l = json_array(), *e;
				const char *h;
				json_object_foreach(m, h, e)
				{
					char hp[512];
					snprintf(hp, sizeof(hp), "%s:%s", h, json_string_value(e));
					json_array_append_new(l, json_string(hp));
				}
				json_decref(m);
				m = l;
			}
			json_object_set_new(out, k, m);
		} else if (strcmp(k, "cache_from") == 0 || strcmp(k, "tags") == 0 ||
			   strcmp(k, "platforms") == 0) {
			json_t *e;
			bool ok = json_is_array(v);
			json_array_foreach(v, i, e) ok &= json_is_string(e);
			if (!ok) {
				bc_err_set(c->err, BC_EINVAL,
					   "%s: %s: build.%s must be a list of strings", loc(c, line),
					   what, k);
				goto fail;
			}
			if (strcmp(k, "platforms") != 0)
				json_object_set(out, k, (json_t *)v);
			else if (json_array_size(v) > 0)
				json_object_set(out, "platform", json_array_get(v, 0));
			if (strcmp(k, "platforms") == 0 && json_array_size(v) > 1)
				warn(c,
				     "%s: build.platforms: one engine builds one platform: %s only",
				     what, json_string_value(json_array_get(v, 0)));
		} else if (strcmp(k, "no_cache") == 0 || strcmp(k, "pull") == 0) {
			if (!json_is_boolean(v)) {
				bc_err_set(c->err, BC_EINVAL, "%s: %s: build.%s must be true or false",
					   loc(c, line), what, k);
				goto fail;
			}
			json_object_set(out, k, (json_t *)v);
		} else if (strcmp(k, "shm_size") == 0) {
			int64_t bytes;
			if (bc_parse_bytes(v, &bytes, c->err) < 0) {
				bc_err_wrap(c->err, "%s: %s: build.shm_size", loc(c, line), what);
				goto fail;
			}
			json_object_set_new(out, k, json_integer(bytes));
		} else {
			bc_err_set(c->err, BC_EINVAL, "%s: %s: key 'build.%s' is not supported",
				   loc(c, line), what, k);
			goto fail;
		}
	}
	if (json_object_get(out, "dockerfile") && json_object_get(out, "dockerfile_inline")) {
		bc_err_set(c->err, BC_EINVAL,
			   "%s: %s: build.dockerfile and build.dockerfile_inline: give one",
			   loc(c, line), what);
		goto fail;
	}
	return out;
fail:
	json_decref(out);
	return NULL;
bad:
	bc_err_set(c->err, BC_EINVAL, "%s: %s: build must be a path or have a context",
		   loc(c, line), what);
	return NULL;
}

static json_t *
service(struct cx *c, const char *name, json_t *s, yaml_node_t *node)
{
	json_t *out = NULL, *comp = json_object(), *env = json_object(), *labels = NULL, *v;
	json_t *contract = NULL, *build = NULL;
	const char *k, *image = json_string_value(json_object_get(s, "image")), *policy = NULL;
	char what[128], path[1024], dflt[200];
	int64_t sid = 1 + (int64_t)(fnv(name) % 999999);

	snprintf(what, sizeof(what), "service '%s'", name);
	if (!json_is_object(s)) {
		bc_err_set(c->err, BC_EINVAL, "%s: %s must be a mapping",
			   loc(c, node ? line_of(node) : 0), what);
		goto out;
	}
	if ((v = json_object_get(s, "build")) != NULL) {
		bool none;
		build = build_spec(c, what, v, key_line(c, node, "build"), &none);
		if (build == NULL && !none)
			goto out;
		if (build != NULL && image == NULL) {
			/* as docker compose names what it builds */
			snprintf(dflt, sizeof(dflt), "%s-%s", c->project ? c->project : "local",
				 name);
			image = dflt;
		}
		if (build != NULL)
			json_object_set_new(build, "image_given", json_boolean(image != dflt));
	}
	if ((v = json_object_get(s, "pull_policy")) != NULL) {
		const char *pp = json_string_value(v);
		bool known = pp && (!strcmp(pp, "build") || !strcmp(pp, "missing") ||
				    !strcmp(pp, "if_not_present") || !strcmp(pp, "always") ||
				    !strcmp(pp, "never") || !strcmp(pp, "daily") ||
				    !strcmp(pp, "weekly") || !strncmp(pp, "every_", 6));
		if (!known) {
			bc_err_set(c->err, BC_EINVAL,
				   "%s: %s: pull_policy '%s' is not always, never, missing, "
				   "if_not_present, build, daily, weekly or every_<duration>",
				   loc(c, key_line(c, node, "pull_policy")), what, pp ? pp : "?");
			goto out;
		}
		if (strcmp(pp, "build") == 0 && build == NULL) {
			bc_err_set(c->err, BC_EINVAL, "%s: %s: pull_policy build needs a build",
				   loc(c, key_line(c, node, "pull_policy")), what);
			goto out;
		}
		if (build != NULL)
			json_object_set_new(build, "always", json_boolean(strcmp(pp, "build") == 0));
		if (!strcmp(pp, "daily") || !strcmp(pp, "weekly") || !strncmp(pp, "every_", 6))
			warn(c,
			     "%s: pull_policy %s is taken as missing here (when an image was last "
			     "pulled is not kept)",
			     what, pp);
		if (!strcmp(pp, "always") || !strcmp(pp, "never"))
			policy = pp;
	}
	if (image == NULL) {
		bc_err_set(c->err, BC_EINVAL, "%s: %s: 'image' or 'build' is required",
			   loc(c, node ? line_of(node) : 0), what);
		goto out;
	}
	json_object_foreach(s, k, v)
	{
		/* build: only where its contract.yml is (the image is built
		 * elsewhere) */
		if (strncmp(k, "x-", 2) == 0 || strcmp(k, "image") == 0 ||
		    strcmp(k, "environment") == 0 || strcmp(k, "env_file") == 0 ||
		    strcmp(k, "build") == 0 || strcmp(k, "profiles") == 0 ||
		    strcmp(k, "deploy") == 0 || strcmp(k, "secrets") == 0 ||
		    strcmp(k, "configs") == 0 || strcmp(k, "pull_policy") == 0 ||
		    strcmp(k, "container_name") == 0)
			continue;
		if (strcmp(k, "labels") == 0) {
			labels = v;
			continue;
		}
		/* files is the target's own, not the compose specification's */
		if (!bc_spec_service_key(k) || strcmp(k, "files") == 0) {
			bad_key(c, node, what, k);
			goto out;
		}
		json_object_set(comp, k, v);
	}
	if ((v = json_object_get(s, "deploy")) != NULL &&
	    deploy(c, what, v, comp, key_line(c, node, "deploy")) < 0)
		goto out;
	/* env_file first, environment wins */
	if ((v = json_object_get(s, "env_file")) != NULL) {
		json_t *files = json_is_string(v) ? json_pack("[O]", v) : json_incref(v);
		size_t i;
		json_t *f;
		int bad = !json_is_array(files);
		json_array_foreach(files, i, f) if (!bad)
		{
			/* "path", or the long form {path, required} */
			const char *fp = json_string_value(f);
			bool required = true;
			if (json_is_object(f)) {
				const char *fk;
				json_t *fv;
				const json_t *req = json_object_get(f, "required");
				fp = json_string_value(json_object_get(f, "path"));
				json_object_foreach(f, fk, fv) if (strcmp(fk, "path") &&
								   strcmp(fk, "required")) fp =
				    NULL;
				if (req != NULL && !json_is_boolean(req))
					fp = NULL;
				required = req == NULL || json_is_true(req);
			}
			if (fp == NULL) {
				bad = 1;
				break;
			}
			if (c->dir == NULL) {
				bc_err_set(c->err, BC_EINVAL,
					   "%s: %s: env_file needs a file on disk", c->source,
					   what);
				bad = 2;
				break;
			}
			snprintf(path, sizeof(path), "%s%s%s", fp[0] == '/' ? "" : c->dir,
				 fp[0] == '/' ? "" : "/", fp);
			if (read_env_file(c, path, env, !required) < 0) {
				bad = 2;
				break;
			}
		}
		json_decref(files);
		if (bad == 1)
			bc_err_set(c->err, BC_EINVAL,
				   "%s: %s: env_file must be a path, or a list of paths and "
				   "{path, required} maps",
				   loc(c, key_line(c, node, "env_file")), what);
		if (bad)
			goto out;
	}
	if ((v = json_object_get(s, "environment")) != NULL && env_map(c, v, env, node, name) < 0)
		goto out;
	if (labels != NULL && !json_is_object(labels)) {
		/* list form: to a map, as the v3 target carries it */
		json_t *m = json_object(), *e;
		size_t i;
		json_array_foreach(labels, i, e)
		{
			const char *ls = json_string_value(e), *eq = ls ? strchr(ls, '=') : NULL;
			char key[256];
			if (ls == NULL) {
				json_decref(m);
				bc_err_set(c->err, BC_EINVAL,
					   "%s: %s: labels must be a map or a list of strings",
					   loc(c, key_line(c, node, "labels")), what);
				goto out;
			}
			snprintf(key, sizeof(key), "%.*s", (int)(eq ? eq - ls : (long)strlen(ls)),
				 ls);
			json_object_set_new(m, key, json_string(eq ? eq + 1 : ""));
		}
		labels = m;
	} else {
		labels = labels ? json_deep_copy(labels) : json_object();
	}
	/* label values are strings in a target */
	json_object_foreach(labels, k, v) if (!json_is_string(v))
	{
		char *t = json_dumps(v, JSON_ENCODE_ANY);
		json_object_set_new(labels, k, json_string(t));
		free(t);
	}
	if ((v = json_object_get(s, "build")) != NULL) {
		bool bad;
		contract = build_contract(c, v, what, node, &bad);
		if (bad) {
			json_decref(labels);
			goto out;
		}
	}
	ephemeral_ports(comp);
	if ((v = json_object_get(s, "container_name")) != NULL &&
	    container_name(c, what, v, labels, key_line(c, node, "container_name")) < 0) {
		json_decref(labels);
		goto out;
	}
	{
		bool binds = false;
		if (local_binds(c, what, comp, key_line(c, node, "volumes"), &binds) < 0 ||
		    ((v = json_object_get(s, "secrets")) != NULL &&
		     secrets(c, what, v, comp, key_line(c, node, "secrets"), true, &binds) < 0) ||
		    ((v = json_object_get(s, "configs")) != NULL &&
		     secrets(c, what, v, comp, key_line(c, node, "configs"), false, &binds) < 0)) {
			json_decref(labels);
			goto out;
		}
		if (binds || uses_outside(c, comp))
			json_object_set_new(labels, BC_LABEL_BINDS, json_string("1"));
	}
	out = json_pack("{s:I, s:I, s:s, s:O, s:o, s:O}", "id", (json_int_t)sid, "image_id",
			(json_int_t)sid, "image", image, "environment", env, "labels", labels,
			"composition", comp);
	if (out != NULL && contract != NULL)
		json_object_set(out, "contract", contract);
	if (out != NULL && build != NULL)
		json_object_set(out, "build", build);
	/* for up (cli_pull_policy): the reconciler has no use for it */
	if (out != NULL && policy != NULL)
		json_object_set_new(out, "pull_policy", json_string(policy));
out:
	json_decref(contract);
	json_decref(build);
	json_decref(comp);
	json_decref(env);
	return out;
}

/* volumes: / networks: at the top: name -> null or a mapping of known keys */
static json_t *
components(struct cx *c, json_t *m, yaml_node_t *node, bool vols)
{
	const char *name, *k;
	json_t *v, *out = json_object(), *e;
	char what[128];

	if (m == NULL)
		return out;
	if (!json_is_object(m)) {
		bc_err_set(c->err, BC_EINVAL, "%s: '%s' must be a mapping",
			   loc(c, node ? line_of(node) : 0), vols ? "volumes" : "networks");
		json_decref(out);
		return NULL;
	}
	json_object_foreach(m, name, v)
	{
		snprintf(what, sizeof(what), "%s '%s'", vols ? "volume" : "network", name);
		if (!json_is_null(v) && !json_is_object(v)) {
			bc_err_set(c->err, BC_EINVAL, "%s: %s must be a mapping",
				   loc(c, key_line(c, node, name)), what);
			json_decref(out);
			return NULL;
		}
		json_object_foreach(v, k,
				    e) if (strncmp(k, "x-", 2) != 0 &&
					   !(vols ? bc_spec_volume_key(k) : bc_spec_network_key(k)))
		{
			bad_key(c, child(c, node, name), what, k);
			json_decref(out);
			return NULL;
		}
		json_object_set_new(out, name, json_is_null(v) ? json_object() : json_deep_copy(v));
		{
			void *tmp;
			json_object_foreach_safe(json_object_get(out, name), tmp, k,
						 e) if (strncmp(k, "x-", 2) == 0)
			    json_object_del(json_object_get(out, name), k);
		}
	}
	return out;
}

static int
project_name(struct cx *c, json_t *tree, char *out, size_t n)
{
	const char *p = c->opts && c->opts->project
			    ? c->opts->project
			    : json_string_value(json_object_get(tree, "name"));
	char dirbuf[PATH_MAX];
	size_t j = 0;

	if (p == NULL && c->dir != NULL) {
		/* the directory's own name, as docker compose takes it: "." or
		 * "sub/.." name no directory until made absolute */
		if (realpath(c->dir, dirbuf) == NULL)
			snprintf(dirbuf, sizeof(dirbuf), "%s", c->dir);
		p = basename(dirbuf);
	}
	/* normalised as docker compose does: lowercase, only [a-z0-9_-], not
	 * starting with '_' or '-' */
	for (; p && *p && j + 1 < n; p++) {
		char ch = (char)tolower((unsigned char)*p);
		if (isalnum((unsigned char)ch) || ((ch == '-' || ch == '_') && j > 0))
			out[j++] = ch;
	}
	out[j] = '\0';
	if (j == 0)
		return bc_err_set(c->err, BC_EINVAL, "%s: no project name (give one with -p)",
				  c->source);
	return 0;
}

/* Does service s run with the profiles enabled (c->opts->profiles)? A
 * service without profiles always does. 1 yes, 0 no, -1 a bad profiles
 * key (err). */
static int
enabled(struct cx *c, const char *name, const json_t *s, yaml_node_t *node)
{
	const json_t *p = json_object_get(s, "profiles"), *e;
	const char *on = c->opts ? c->opts->profiles : NULL;
	bool names = json_is_array(p) && json_array_size(p) > 0;
	size_t i;

	if (p == NULL)
		return 1;
	json_array_foreach(p, i, e) names &= json_is_string(e) && json_string_length(e) > 0;
	if (!names) {
		bc_err_set(c->err, BC_EINVAL, "%s: service '%s': profiles must be a list of names",
			   loc(c, key_line(c, node, "profiles")), name);
		return -1;
	}
	for (const char *q = on; q != NULL && *q;) {
		size_t n = strcspn(q, ",");
		if (n == 1 && *q == '*')
			return 1;
		json_array_foreach(p, i, e) if (strlen(json_string_value(e)) == n &&
						strncmp(json_string_value(e), q, n) == 0) return 1;
		q += n + (q[n] == ',');
	}
	return 0;
}

/* --- include and extends ------------------------------------------------------- */

#define MAX_FILES 256 /* files read for include and extends, in all */
#define MAX_INCLUDE 8	/* include nested */
#define MAX_EXTENDS 16	/* extends chained */

/* The text of the file at path (bounded), into b. */
static int
read_text(struct cx *c, const char *path, bc_buf *b)
{
	FILE *f;
	int rc;

	if (c->files != NULL && ++*c->files > MAX_FILES)
		return bc_err_set(c->err, BC_ETOOBIG, "%s: more than %d file reads through include and "
						      "extends",
				  c->source, MAX_FILES);
	b->max = BC_COMPOSE_MAX_BYTES;
	if (c->opts != NULL && c->opts->read != NULL)
		return c->opts->read(c->opts->ud, path, b, c->err) < 0
			   ? bc_err_wrap(c->err, "%s", c->source)
			   : 0;
	if ((f = fopen(path, "re")) == NULL)
		return bc_err_sys(c->err, "%s: open '%s'", c->source, path);
	rc = bc_buf_read(b, f, c->err);
	fclose(f);
	return rc < 0 ? bc_err_wrap(c->err, "%s", path) : 0;
}

/* path (relative to c->dir) as an absolute, clean path into out */
static int
file_near(struct cx *c, const char *what, const char *path, char *out, size_t n)
{
	if (c->dir == NULL && path[0] != '/')
		return bc_err_set(c->err, BC_EINVAL, "%s: %s '%s' needs a file on disk", c->source,
				  what, path);
	return host_path(c, what, path, 0, out, n);
}

/* A relative path of a service that came from another file (an included
 * one, an extends' file) made absolute against that file's directory
 * (c->dir), as docker compose resolves each file's paths: the build
 * context, env_file, bind mounts' host paths. */
static int
absolutize(struct cx *c, const char *what, json_t *svc)
{
	json_t *b = json_object_get(svc, "build"), *ef = json_object_get(svc, "env_file"), *e;
	char abs[1024];
	size_t i;

	if (c->dir == NULL || !json_is_object(svc))
		return 0;
	if (json_is_string(b) || (json_is_object(b) && json_object_get(b, "context") == NULL)) {
		const char *ctx = json_is_string(b) ? json_string_value(b) : ".";
		if (strstr(ctx, "://") == NULL && strncmp(ctx, "git@", 4) != 0) {
			if (host_path(c, what, ctx, 0, abs, sizeof(abs)) < 0)
				return -1;
			if (json_is_string(b))
				json_object_set_new(svc, "build", json_string(abs));
			else
				json_object_set_new(b, "context", json_string(abs));
		}
	} else if (json_is_object(b) && json_is_string(json_object_get(b, "context"))) {
		const char *ctx = json_string_value(json_object_get(b, "context"));
		if (strstr(ctx, "://") == NULL && strncmp(ctx, "git@", 4) != 0) {
			if (host_path(c, what, ctx, 0, abs, sizeof(abs)) < 0)
				return -1;
			json_object_set_new(b, "context", json_string(abs));
		}
	}
	if (json_is_string(ef))
		json_object_set_new(svc, "env_file", ef = json_pack("[O]", ef));
	json_array_foreach(ef, i, e)
	{
		json_t *pj = json_is_object(e) ? json_object_get(e, "path") : e;
		if (!json_is_string(pj))
			continue; /* refused as it is later */
		if (host_path(c, what, json_string_value(pj), 0, abs, sizeof(abs)) < 0)
			return -1;
		if (json_is_object(e))
			json_object_set_new(e, "path", json_string(abs));
		else
			json_array_set_new(ef, i, json_string(abs));
	}
	{
		bool binds; /* the label is the including file's to set */
		return local_binds(c, what, svc, 0, &binds);
	}
}

/* The top-level secrets' and configs' file sources, made absolute too. */
static int
absolutize_defs(struct cx *c, json_t *tree)
{
	static const char *const tops[] = {"secrets", "configs"};
	for (int t = 0; t < 2 && c->dir != NULL; t++) {
		const char *name;
		json_t *d;
		json_object_foreach(json_object_get(tree, tops[t]), name, d)
		{
			const char *f = json_string_value(json_object_get(d, "file"));
			char abs[1024];
			if (f == NULL)
				continue;
			if (host_path(c, tops[t], f, 0, abs, sizeof(abs)) < 0)
				return -1;
			json_object_set_new(d, "file", json_string(abs));
		}
	}
	return 0;
}

/* A list of "K=V" (or "host:ip", "host=ip" for extra_hosts) as a map; a
 * map as it is (copied); NULL for anything else. */
static json_t *
as_map(const json_t *v, bool hosts)
{
	json_t *out, *e;
	size_t i;

	if (json_is_object(v))
		return json_deep_copy(v);
	if (!json_is_array(v))
		return NULL;
	out = json_object();
	json_array_foreach(v, i, e)
	{
		const char *s = json_string_value(e), *at;
		char k[256];
		if (s == NULL) {
			json_decref(out);
			return NULL;
		}
		at = strchr(s, '=');
		if (hosts && at == NULL)
			at = strchr(s, ':');
		snprintf(k, sizeof(k), "%.*s", (int)(at ? at - s : (long)strlen(s)), s);
		json_object_set_new(out, k, at ? json_string(at + 1) : json_null());
	}
	return out;
}

/* networks or depends_on as a map (a list's names with null, or with
 * {condition: service_started}) */
static json_t *
names_map(const json_t *v, bool deps)
{
	json_t *m = as_map(v, false), *e;
	const char *k;

	if (m != NULL && deps && json_is_array(v))
		json_object_foreach(m, k, e)
		    json_object_set_new(m, k, json_pack("{s:s}", "condition", "service_started"));
	return m;
}

/* What a mount or a device is keyed by when merged: its target ("/data"
 * of "vol:/data:ro", "/dev/ttyS0" of "/dev/ttyUSB0:/dev/ttyS0:rw"; a long
 * form's target). */
static void
mount_key(const json_t *e, char *out, size_t n)
{
	const char *s = json_string_value(e), *a, *b;

	out[0] = '\0';
	if (json_is_object(e)) {
		const char *t = json_string_value(json_object_get(e, "target"));
		snprintf(out, n, "%s", t ? t : "");
		return;
	}
	if (s == NULL)
		return;
	a = strchr(s, ':');
	if (a == NULL) {
		snprintf(out, n, "%s", s);
		return;
	}
	b = strchr(a + 1, ':');
	snprintf(out, n, "%.*s", (int)(b ? b - a - 1 : (long)strlen(a + 1)), a + 1);
}

/* base's list with over's appended: entries equal to one already there
 * not again; keyed lists (volumes, devices: by target; secrets, configs:
 * by source) replace the base's entry of the same key. */
static json_t *
merge_list(const json_t *base, const json_t *over, int keyed)
{
	json_t *out = json_deep_copy(base), *e, *f;
	size_t i, j;

	json_array_foreach(over, i, e)
	{
		bool done = false;
		json_array_foreach(out, j, f)
		{
			char ka[1024], kb[1024];
			if (json_equal(e, f)) {
				done = true;
				break;
			}
			if (keyed == 0)
				continue;
			if (keyed == 1 || keyed == 2) {
				mount_key(e, ka, sizeof(ka));
				mount_key(f, kb, sizeof(kb));
			} else {
				const char *a = json_is_object(e) ? json_string_value(json_object_get(
									e, "source"))
								  : json_string_value(e);
				const char *b = json_is_object(f) ? json_string_value(json_object_get(
									f, "source"))
								  : json_string_value(f);
				snprintf(ka, sizeof(ka), "%s", a ? a : "");
				snprintf(kb, sizeof(kb), "%s", b ? b : "");
			}
			if (ka[0] && strcmp(ka, kb) == 0) {
				json_array_set(out, j, e);
				done = true;
				break;
			}
		}
		if (!done)
			json_array_append(out, e);
	}
	return out;
}

/* over's value merged onto base's (both deep), as the compose
 * specification merges a service with the one it extends: mappings key by
 * key, the lists of ports, dns, ... appended without repeats, volumes and
 * devices by target, secrets and configs by source, command, entrypoint
 * and everything else replaced. */
static json_t *
merge_value(const char *key, const json_t *base, const json_t *over)
{
	static const char *const maps[] = {"environment", "labels", "sysctls", "annotations",
					   "extra_hosts", NULL};
	static const char *const replaced[] = {"command", "entrypoint", NULL};
	json_t *out;
	const char *k;
	json_t *v;
	size_t i;

	for (i = 0; replaced[i]; i++)
		if (key && strcmp(key, replaced[i]) == 0)
			return json_deep_copy(over);
	for (i = 0; maps[i]; i++)
		if (key && strcmp(key, maps[i]) == 0) {
			bool hosts = strcmp(key, "extra_hosts") == 0;
			json_t *a = as_map(base, hosts), *b = as_map(over, hosts);
			if (a == NULL || b == NULL) {
				json_decref(a);
				json_decref(b);
				return json_deep_copy(over); /* refused as it is later */
			}
			json_object_update(a, b);
			json_decref(b);
			return a;
		}
	if (key && (strcmp(key, "networks") == 0 || strcmp(key, "depends_on") == 0) &&
	    json_is_array(base) != json_is_array(over)) {
		bool deps = strcmp(key, "depends_on") == 0;
		json_t *a = names_map(base, deps), *b = names_map(over, deps);
		if (a != NULL && b != NULL)
			json_object_update(a, b);
		json_decref(b);
		return a ? a : json_deep_copy(over);
	}
	if (json_is_array(base) && json_is_array(over)) {
		int keyed = 0;
		if (key && strcmp(key, "volumes") == 0)
			keyed = 1;
		else if (key && strcmp(key, "devices") == 0)
			keyed = 2;
		else if (key && (strcmp(key, "secrets") == 0 || strcmp(key, "configs") == 0))
			keyed = 3;
		return merge_list(base, over, keyed);
	}
	if (!json_is_object(base) || !json_is_object(over))
		return json_deep_copy(over);
	out = json_deep_copy(base);
	json_object_foreach((json_t *)over, k, v)
	{
		json_t *b = json_object_get(out, k);
		/* inside a mapping (healthcheck, deploy, build, logging ...):
		 * its own maps merged (build.args, logging.options), lists
		 * replaced, except healthcheck.test is a command */
		json_object_set_new(out, k,
				    b ? merge_value(strcmp(k, "test") == 0 ? "command"
						    : strcmp(k, "args") == 0 ? "environment"
									      : NULL,
						    b, v)
				      : json_deep_copy(v));
	}
	return out;
}

static json_t *load_tree(struct cx *c, const char *path, struct cx *sub, bc_buf *text);

/* The service name of services (of the file c reads) with its extends
 * resolved: its base (in the same file, or in extends.file) resolved
 * first, then this one merged onto it. A new reference, without extends;
 * NULL with err. */
static json_t *
extended(struct cx *c, const json_t *services, const char *name, int depth)
{
	const json_t *s = json_object_get(services, name), *ext;
	const char *base_name, *file = NULL, *k;
	json_t *base = NULL, *own, *out, *v;

	if (!json_is_object(s))
		return json_deep_copy(s); /* refused as it is by service() */
	if ((ext = json_object_get(s, "extends")) == NULL)
		return json_deep_copy(s);
	if (depth >= MAX_EXTENDS) {
		bc_err_set(c->err, BC_EINVAL,
			   "%s: service '%s': extends goes round in a cycle or deeper than %d",
			   c->source, name, MAX_EXTENDS);
		return NULL;
	}
	base_name = json_is_string(ext) ? json_string_value(ext)
					: json_string_value(json_object_get(ext, "service"));
	json_object_foreach((json_t *)ext, k, v) if (strcmp(k, "service") && strcmp(k, "file"))
	    base_name = NULL;
	if (json_is_object(ext) && json_object_get(ext, "file") != NULL &&
	    (file = json_string_value(json_object_get(ext, "file"))) == NULL)
		base_name = NULL;
	if (base_name == NULL) {
		bc_err_set(c->err, BC_EINVAL,
			   "%s: service '%s': extends must be a service name or {service, file}",
			   c->source, name);
		return NULL;
	}
	if (file != NULL) {
		struct cx sub;
		bc_buf text = {0};
		char path[1024];
		json_t *tree;
		if (file_near(c, "extends.file", file, path, sizeof(path)) < 0)
			return NULL;
		if ((tree = load_tree(c, path, &sub, &text)) == NULL) {
			bc_buf_free(&text);
			return NULL;
		}
		if (json_object_get(json_object_get(tree, "services"), base_name) == NULL)
			bc_err_set(c->err, BC_EINVAL,
				   "%s: service '%s': extends: %s has no service '%s'", c->source,
				   name, path, base_name);
		else if ((base = extended(&sub, json_object_get(tree, "services"), base_name,
					  depth + 1)) != NULL &&
			 absolutize(&sub, "extends", base) < 0) {
			json_decref(base);
			base = NULL;
		}
		json_decref(tree);
		json_decref(sub.unset);
		bc_buf_free(&text);
	} else if (json_object_get(services, base_name) == NULL) {
		bc_err_set(c->err, BC_EINVAL, "%s: service '%s': extends: no service '%s'",
			   c->source, name, base_name);
	} else {
		base = extended(c, services, base_name, depth + 1);
	}
	if (base == NULL)
		return NULL;
	own = json_deep_copy(s);
	json_object_del(own, "extends");
	out = json_deep_copy(base);
	json_object_foreach(own, k, v)
	{
		json_t *b = json_object_get(out, k);
		json_object_set_new(out, k, b ? merge_value(k, b, v) : json_deep_copy(v));
	}
	json_decref(own);
	json_decref(base);
	return out;
}

/* The file at path read and converted for extends (interpolated with the
 * environment and c's .env, as docker compose interpolates it), in sub
 * (its errors name it). text holds the file; the tree is the caller's. */
static json_t *
load_tree(struct cx *c, const char *path, struct cx *sub, bc_buf *text)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	json_t *tree = NULL;
	char *dir;

	memset(sub, 0, sizeof(*sub));
	if (read_text(c, path, text) < 0)
		return NULL;
	sub->source = path;
	sub->opts = c->opts;
	sub->err = c->err;
	sub->dotenv = c->dotenv;
	sub->files = c->files;
	sub->project = c->project;
	snprintf(sub->dirbuf, sizeof(sub->dirbuf), "%s", path);
	if ((dir = dirname(sub->dirbuf)) != sub->dirbuf)
		snprintf(sub->dirbuf, sizeof(sub->dirbuf), "%s", dir);
	sub->dir = sub->dirbuf;
	tree = yaml_tree(sub, &parser, &doc, bc_buf_cstr(text), text->len, &root);
	yaml_done(sub, &parser);
	if (tree != NULL && !json_is_object(json_object_get(tree, "services"))) {
		bc_err_set(c->err, BC_EINVAL, "%s: 'services' must be a mapping", path);
		json_decref(tree);
		return NULL;
	}
	return tree;
}

/* tree's services with their extends resolved (a new tree). */
static json_t *
resolve_extends(struct cx *c, const json_t *tree)
{
	json_t *out = json_deep_copy(tree), *svcs = json_object_get(out, "services"), *v;
	const char *name;
	bool any = false;

	json_object_foreach(svcs, name, v) any |= json_object_get(v, "extends") != NULL;
	if (!any)
		return out;
	json_object_foreach(svcs, name, v)
	{
		json_t *r = extended(c, json_object_get(tree, "services"), name, 0);
		if (r == NULL) {
			json_decref(out);
			return NULL;
		}
		json_object_set_new(svcs, name, r);
	}
	return out;
}

static json_t *to_target_x(struct cx *c, json_t *tree, yaml_node_t *root, bool part);

/* The included file's resources added to into (the including file's
 * tree): an included file is read as its own project directory (or the
 * entry's project_directory), interpolated with its own .env (or the
 * entry's env_file), checked whole with errors naming it, its paths made
 * absolute; a name defined twice differently is an error. */
static int
include_one(struct cx *c, const json_t *entry, json_t *into, int line)
{
	static const char *const tops[] = {"services", "volumes", "networks", "secrets", "configs"};
	const char *p = json_string_value(entry), *pd = NULL, *k;
	const json_t *envf = NULL, *v;
	struct cx sub = {0};
	bc_compose_opts so = c->opts ? *c->opts : (bc_compose_opts){0};
	bc_buf text = {0};
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root = NULL;
	json_t *tree = NULL, *exp = NULL;
	char path[1024], envpath[1024], dirbuf[1024], *d;
	int rc = -1;

	if (json_is_object(entry)) {
		const json_t *pj = json_object_get(entry, "path");
		p = json_string_value(pj);
		if (json_is_array(pj) && json_array_size(pj) == 1)
			p = json_string_value(json_array_get(pj, 0));
		else if (json_is_array(pj))
			return bc_err_set(c->err, BC_EINVAL,
					  "%s: include: a path of several files (an override) is "
					  "not supported; include each",
					  loc(c, line));
		pd = json_string_value(json_object_get(entry, "project_directory"));
		envf = json_object_get(entry, "env_file");
		json_object_foreach((json_t *)entry, k, v) if (strcmp(k, "path") &&
							       strcmp(k, "project_directory") &&
							       strcmp(k, "env_file")) p = NULL;
		if ((json_object_get(entry, "project_directory") && pd == NULL) ||
		    (envf && !json_is_string(envf)))
			p = NULL;
	}
	if (p == NULL)
		return bc_err_set(c->err, BC_EINVAL,
				  "%s: include: each entry is a path or {path, project_directory, "
				  "env_file}",
				  loc(c, line));
	if (c->depth >= MAX_INCLUDE)
		return bc_err_set(c->err, BC_EINVAL,
				  "%s: include goes round in a cycle or deeper than %d", loc(c, line),
				  MAX_INCLUDE);
	if (file_near(c, "include", p, path, sizeof(path)) < 0)
		return -1;
	if (read_text(c, path, &text) < 0)
		goto out;
	sub.source = path;
	sub.err = c->err;
	sub.files = c->files;
	sub.depth = c->depth + 1;
	sub.project = c->project;
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	d = dirname(dirbuf);
	if (pd != NULL && file_near(c, "include.project_directory", pd, sub.dirbuf,
				    sizeof(sub.dirbuf)) < 0)
		goto out;
	if (pd == NULL)
		snprintf(sub.dirbuf, sizeof(sub.dirbuf), "%s", d);
	sub.dir = sub.dirbuf;
	/* its own variables: env_file, else its project directory's .env */
	sub.dotenv = json_object();
	if (envf != NULL && file_near(c, "include.env_file", json_string_value(envf), envpath,
				      sizeof(envpath)) < 0)
		goto out;
	if (envf == NULL)
		snprintf(envpath, sizeof(envpath), "%s/.env", sub.dir);
	if (read_env_file(&sub, envpath, sub.dotenv, envf == NULL) < 0)
		goto out;
	so.env_file = NULL;
	sub.opts = &so;
	so.project = c->project;
	if ((tree = yaml_tree(&sub, &parser, &doc, bc_buf_cstr(&text), text.len, &root)) == NULL ||
	    (exp = to_target_x(&sub, tree, root, true)) == NULL) {
		yaml_done(&sub, &parser);
		goto out;
	}
	yaml_done(&sub, &parser);
	/* checked whole; what it adds is its tree, includes and extends done */
	json_decref(exp);
	exp = json_incref(sub.tree);
	/* its paths are its directory's */
	json_object_foreach(json_object_get(exp, "services"), k, v)
	{
		char what[1300];
		snprintf(what, sizeof(what), "%s: service '%s'", path, k);
		if (absolutize(&sub, what, (json_t *)v) < 0)
			goto out;
	}
	if (absolutize_defs(&sub, exp) < 0)
		goto out;
	for (size_t t = 0; t < sizeof(tops) / sizeof(tops[0]); t++) {
		json_t *mine = json_object_get(into, tops[t]);
		json_object_foreach(json_object_get(exp, tops[t]), k, v)
		{
			const json_t *was = json_object_get(mine, k);
			if (was != NULL && !json_equal(was, v)) {
				bc_err_set(c->err, BC_EINVAL,
					   "%s: include: %s '%s' of %s is defined here too, "
					   "differently",
					   loc(c, line), tops[t], k, path);
				goto out;
			}
			if (mine == NULL)
				json_object_set_new(into, tops[t], mine = json_object());
			json_object_set(mine, k, (json_t *)v);
		}
	}
	rc = 0;
out:
	json_decref(sub.tree);
	json_decref(tree);
	json_decref(exp);
	json_decref(sub.dotenv);
	json_decref(sub.unset);
	bc_buf_free(&text);
	return rc;
}

/* The compose structure (tree) into a v3 document. root is its YAML node
 * when it came from YAML (for line numbers), else NULL. */
/* doc (what the file became) through the target's own parser, as the
 * reconciler will take it: an error there is said with the file and the
 * line of the service's key it is about ("service 'x': 'key': ..."), not
 * found after the file is gone. 0, or -1 with c->err. */
static int
checked_whole(struct cx *c, const json_t *doc, yaml_node_t *svcs_node)
{
	bc_state st;
	bc_err e = {0};
	const char *at, *q;
	char name[128] = "", key[128] = "";
	int line = 0;

	if (bc_target_parse(doc, NULL, &st, &e) == 0) {
		bc_state_free(&st);
		return 0;
	}
	if ((at = strstr(e.msg, "service '")) != NULL &&
	    (q = strchr(at + 9, '\'')) != NULL && (size_t)(q - at - 9) < sizeof(name)) {
		yaml_node_t *sn;
		snprintf(name, sizeof(name), "%.*s", (int)(q - at - 9), at + 9);
		sn = child(c, svcs_node, name);
		if (strncmp(q, "': '", 4) == 0) {
			const char *q2 = strchr(q + 4, '\'');
			if (q2 != NULL && (size_t)(q2 - q - 4) < sizeof(key))
				snprintf(key, sizeof(key), "%.*s", (int)(q2 - q - 4), q + 4);
		}
		line = key[0] ? key_line(c, sn, key) : 0;
		if (line == 0 && sn != NULL)
			line = line_of(sn);
	}
	return bc_err_set(c->err, e.code ? e.code : BC_EINVAL, "%s: %s", loc(c, line),
			  at ? at : e.msg);
}

static json_t *
to_target_x(struct cx *c, json_t *tree, yaml_node_t *root, bool part)
{
	yaml_node_t *svcs_node;
	json_t *out = NULL, *services, *vols = NULL, *nets = NULL, *v, *merged;
	const char *k;
	char project[64], uuid[64];
	int64_t app_id;

	if (!json_is_object(tree)) {
		bc_err_set(c->err, BC_EINVAL, "%s: the top level must be a mapping", loc(c, 1));
		return NULL;
	}
	json_object_foreach(tree, k, v) if (strncmp(k, "x-", 2) != 0 && strcmp(k, "version") &&
					    strcmp(k, "name") && strcmp(k, "services") &&
					    strcmp(k, "volumes") && strcmp(k, "networks") &&
					    strcmp(k, "secrets") && strcmp(k, "configs") &&
					    strcmp(k, "include"))
	{
		bad_key(c, root, "top level", k);
		return NULL;
	}
	if (project_name(c, tree, project, sizeof(project)) < 0)
		return NULL;
	c->project = project;
	/* include: the other files' resources first; then extends */
	merged = json_deep_copy(tree);
	json_object_del(merged, "include");
	if ((v = json_object_get(tree, "include")) != NULL) {
		size_t i;
		json_t *e;
		int line = key_line(c, root, "include");
		if (!json_is_array(v)) {
			json_decref(merged);
			bc_err_set(c->err, BC_EINVAL, "%s: include must be a list", loc(c, line));
			return NULL;
		}
		json_array_foreach(v, i, e) if (include_one(c, e, merged, line) < 0)
		{
			json_decref(merged);
			return NULL;
		}
	}
	json_decref(c->tree);
	c->tree = resolve_extends(c, merged);
	json_decref(merged);
	if ((tree = c->tree) == NULL)
		return NULL;
	if (secret_defs(c, root, true) < 0 || secret_defs(c, root, false) < 0)
		return NULL;
	if (part && json_object_get(tree, "services") == NULL)
		return json_object(); /* an included file of volumes, networks ... only */
	svcs_node = child(c, root, "services");
	if (!json_is_object(json_object_get(tree, "services")) ||
	    json_object_size(json_object_get(tree, "services")) == 0) {
		bc_err_set(c->err, BC_EINVAL, "%s: 'services' must map at least one service",
			   loc(c, key_line(c, root, "services")));
		return NULL;
	}
	services = json_object();
	json_object_foreach(json_object_get(tree, "services"), k, v)
	{
		int on = json_is_object(v) ? enabled(c, k, v, child(c, svcs_node, k)) : 1;
		json_t *s = on > 0 ? service(c, k, v, child(c, svcs_node, k)) : NULL;
		if (on == 0)
			continue; /* in profiles not enabled */
		if (s == NULL) {
			json_decref(services);
			return NULL;
		}
		json_object_set_new(services, k, s);
	}
	if (json_object_size(services) == 0 && !part) {
		json_decref(services);
		bc_err_set(c->err, BC_EINVAL,
			   "%s: no service runs: each is in profiles not enabled (--profile NAME, "
			   "or COMPOSE_PROFILES)",
			   loc(c, key_line(c, root, "services")));
		return NULL;
	}
	if ((vols = components(c, json_object_get(tree, "volumes"), child(c, root, "volumes"),
			       true)) == NULL ||
	    (nets = components(c, json_object_get(tree, "networks"), child(c, root, "networks"),
			       false)) == NULL) {
		json_decref(services);
		goto out;
	}
	app_id = c->opts && c->opts->app_id > 0 ? c->opts->app_id
						: 1000000000 + (int64_t)(fnv(project) % 1000000000);
	if (c->opts && c->opts->app_id > 0)
		snprintf(uuid, sizeof(uuid), "app%lld", (long long)app_id);
	else
		snprintf(uuid, sizeof(uuid), "local%016llx", (unsigned long long)fnv(project));
	out = json_pack("{s:{s:s, s:{s:{s:I, s:s, s:s, s:{s:{s:I, s:o, s:O, s:O}}}}}}",
			c->opts && c->opts->device ? c->opts->device : "local", "name", "local",
			"apps", uuid, "id", (json_int_t)app_id, "name", project, "class", "fleet",
			"releases", c->opts && c->opts->commit ? c->opts->commit : "local", "id",
			(json_int_t)(c->opts && c->opts->release_id > 0 ? c->opts->release_id : 1),
			"services", services, "volumes", vols, "networks", nets);
	if (out != NULL && root != NULL && checked_whole(c, out, svcs_node) < 0) {
		json_decref(out);
		out = NULL;
	}
out:
	json_decref(vols);
	json_decref(nets);
	return out;
}

static json_t *
to_target(struct cx *c, json_t *tree, yaml_node_t *root)
{
	return to_target_x(c, tree, root, false);
}

json_t *
bc_compose_to_target(const json_t *compose, const char *source, const bc_compose_opts *opts,
		     bc_err *err)
{
	int files = 0;
	struct cx c = {.source = source, .opts = opts, .err = err, .files = &files};
	json_t *out = to_target(&c, (json_t *)compose, NULL);
	json_decref(c.tree);
	json_decref(c.unset);
	return out;
}

json_t *
bc_compose_parse(const char *text, size_t len, const char *source, const char *dir,
		 const bc_compose_opts *opts, bc_err *err)
{
	int files = 0;
	struct cx c = {.source = source, .dir = dir, .opts = opts, .err = err, .files = &files};
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	json_t *tree = NULL, *out = NULL;
	char path[1024];

	if (len > BC_COMPOSE_MAX_BYTES) {
		bc_err_set(err, BC_ETOOBIG, "%s: larger than %zu bytes", source,
			   BC_COMPOSE_MAX_BYTES);
		return NULL;
	}
	if (dir != NULL || (opts && opts->env_file)) {
		bool given = opts && opts->env_file;
		c.dotenv = json_object();
		snprintf(path, sizeof(path), "%s%s", given ? opts->env_file : dir,
			 given ? "" : "/.env");
		if (read_env_file(&c, path, c.dotenv, !given) < 0) {
			json_decref(c.dotenv);
			return NULL;
		}
	}
	if ((tree = yaml_tree(&c, &parser, &doc, text, len, &root)) != NULL)
		out = to_target(&c, tree, root);
	json_decref(tree);
	json_decref(c.tree);
	json_decref(c.dotenv);
	json_decref(c.unset);
	yaml_done(&c, &parser);
	return out;
}

json_t *
bc_compose_load(const char *path, const bc_compose_opts *opts, bc_err *err)
{
	bc_buf b = {.max = BC_COMPOSE_MAX_BYTES};
	char dirbuf[1024];
	json_t *out;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		bc_err_sys(err, "open '%s'", path);
		return NULL;
	}
	if (bc_buf_read(&b, f, err) < 0) {
		fclose(f);
		bc_buf_free(&b);
		bc_err_wrap(err, "%s", path);
		return NULL;
	}
	fclose(f);
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	out = bc_compose_parse(bc_buf_cstr(&b), b.len, path, dirname(dirbuf), opts, err);
	bc_buf_free(&b);
	return out;
}
