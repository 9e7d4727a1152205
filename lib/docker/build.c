#include "lib/docker/build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/buf.h"
#include "lib/base/text.h"
#include "lib/docker/tarball.h"

/* The name the inline Dockerfile gets in the context. */
#define INLINE_NAME ".balena-compose.Dockerfile"

/* &key=value, value percent-encoded */
static int
param(bc_buf *q, const char *key, const char *value, bc_err *err)
{
	char *e = bc_pct_encode(value);
	int rc;

	if (e == NULL)
		return bc_err_sys(err, "build");
	rc = bc_buf_add(q, "&", q->len ? 1 : 0, err) < 0 || bc_buf_add(q, key, strlen(key), err) < 0 ||
		     bc_buf_add(q, "=", 1, err) < 0 || bc_buf_add(q, e, strlen(e), err) < 0
		 ? -1
		 : 0;
	free(e);
	return rc;
}

/* a JSON value as a parameter (buildargs, labels, cachefrom) */
static int
param_json(bc_buf *q, const char *key, const json_t *v, bc_err *err)
{
	char *t = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	int rc;

	if (t == NULL)
		return bc_err_sys(err, "build");
	rc = param(q, key, t, err);
	free(t);
	return rc;
}

static int
want_string(const json_t *build, const char *key, const char **out, bc_err *err)
{
	const json_t *v = json_object_get(build, key);
	*out = json_string_value(v);
	if (v != NULL && *out == NULL)
		return bc_err_set(err, BC_EINVAL, "build.%s must be a string", key);
	return 0;
}

/* an object of strings, or a list of strings (each checked) */
static int
want_kind(const json_t *build, const char *key, bool map, const json_t **out, bc_err *err)
{
	const json_t *v = json_object_get(build, key), *e;
	const char *k;
	size_t i;

	*out = v;
	if (v == NULL)
		return 0;
	if (map && json_is_object(v)) {
		json_object_foreach((json_t *)v, k, e) if (!json_is_string(e)) return bc_err_set(
		    err, BC_EINVAL, "build.%s: '%s' must be a string", key, k);
		return 0;
	}
	if (!map && json_is_array(v)) {
		json_array_foreach(v, i, e) if (!json_is_string(e)) return bc_err_set(
		    err, BC_EINVAL, "build.%s must be a list of strings", key);
		return 0;
	}
	return bc_err_set(err, BC_EINVAL, "build.%s must be %s", key,
			  map ? "a map of strings" : "a list of strings");
}

char *
bc_build_query(const json_t *build, const char *image, bc_err *err)
{
	bc_buf q = {.max = 1 << 20};
	const char *dockerfile, *inl, *target, *network, *platform;
	const json_t *args, *labels, *cache, *hosts, *tags, *e, *shm;
	size_t i;
	char *out = NULL;

	if (want_string(build, "dockerfile", &dockerfile, err) < 0 ||
	    want_string(build, "dockerfile_inline", &inl, err) < 0 ||
	    want_string(build, "target", &target, err) < 0 ||
	    want_string(build, "network", &network, err) < 0 ||
	    want_string(build, "platform", &platform, err) < 0 ||
	    want_kind(build, "args", true, &args, err) < 0 ||
	    want_kind(build, "labels", true, &labels, err) < 0 ||
	    want_kind(build, "cache_from", false, &cache, err) < 0 ||
	    want_kind(build, "extra_hosts", false, &hosts, err) < 0 ||
	    want_kind(build, "tags", false, &tags, err) < 0)
		return NULL;
	shm = json_object_get(build, "shm_size");
	if (shm != NULL && (!json_is_integer(shm) || json_integer_value(shm) < 0)) {
		bc_err_set(err, BC_EINVAL, "%s", "build.shm_size must be a size in bytes");
		return NULL;
	}
	if (param(&q, "t", image, err) < 0)
		goto out;
	json_array_foreach(tags, i, e) if (param(&q, "t", json_string_value(e), err) < 0) goto out;
	if (param(&q, "dockerfile", inl ? INLINE_NAME : dockerfile ? dockerfile : "Dockerfile",
		  err) < 0 ||
	    (args && param_json(&q, "buildargs", args, err) < 0) ||
	    (labels && param_json(&q, "labels", labels, err) < 0) ||
	    (cache && param_json(&q, "cachefrom", cache, err) < 0) ||
	    (target && param(&q, "target", target, err) < 0) ||
	    (network && param(&q, "networkmode", network, err) < 0) ||
	    (platform && param(&q, "platform", platform, err) < 0))
		goto out;
	if (json_array_size(hosts) > 0) {
		bc_buf h = {0};
		int rc = 0;
		json_array_foreach(hosts, i, e)
		{
			rc = rc < 0 || (i && bc_buf_add(&h, ",", 1, err) < 0) ||
					     bc_buf_add(&h, json_string_value(e),
							json_string_length(e), err) < 0
				 ? -1
				 : 0;
		}
		if (rc == 0)
			rc = param(&q, "extrahosts", bc_buf_cstr(&h), err);
		bc_buf_free(&h);
		if (rc < 0)
			goto out;
	}
	if (shm != NULL) {
		char n[32];
		snprintf(n, sizeof(n), "%lld", (long long)json_integer_value(shm));
		if (param(&q, "shmsize", n, err) < 0)
			goto out;
	}
	if ((json_is_true(json_object_get(build, "no_cache")) && param(&q, "nocache", "1", err) < 0) ||
	    (json_is_true(json_object_get(build, "pull")) && param(&q, "pull", "1", err) < 0) ||
	    param(&q, "rm", "1", err) < 0)
		goto out;
	out = strdup(bc_buf_cstr(&q));
	if (out == NULL)
		bc_err_sys(err, "build");
out:
	bc_buf_free(&q);
	return out;
}

struct lines {
	bc_build_line_fn fn;
	void *ud;
	bc_buf part; /* a line not yet ended */
};

/* {"stream": text}: the builder's output, in pieces that end lines or not */
static int
on_line(void *ud, json_t *obj)
{
	struct lines *l = ud;
	const char *s = json_string_value(json_object_get(obj, "stream"));

	if (s == NULL || l->fn == NULL)
		return 0;
	for (const char *nl; *s; s = nl + 1) {
		if ((nl = strchr(s, '\n')) == NULL) {
			bc_buf_add(&l->part, s, strlen(s), NULL);
			break;
		}
		bc_buf_add(&l->part, s, (size_t)(nl - s), NULL);
		l->fn(l->ud, bc_buf_cstr(&l->part));
		bc_buf_reset(&l->part);
	}
	return 0;
}

int
bc_build_run(bc_docker *d, const json_t *build, const char *image, bc_build_line_fn fn, void *ud,
	     char id[80], bc_err *err)
{
	const char *context = json_string_value(json_object_get(build, "context"));
	const char *inl = json_string_value(json_object_get(build, "dockerfile_inline"));
	const char *dockerfile = json_string_value(json_object_get(build, "dockerfile"));
	struct lines l = {fn, ud, {.max = 65536}};
	bc_buf tar = {.max = BC_BUILD_MAX_CONTEXT};
	char *query;
	int rc = -1;

	if (context == NULL || context[0] != '/')
		return bc_err_set(err, BC_EINVAL, "%s", "build.context must be an absolute path");
	if ((query = bc_build_query(build, image, err)) == NULL)
		return -1;
	if (bc_tar_context_with(context, inl ? INLINE_NAME : dockerfile, inl ? INLINE_NAME : NULL,
				inl, &tar, err) == 0)
		rc = bc_docker_image_build(d, query, tar.data, tar.len, on_line, &l, id, err);
	if (rc == 0 && l.part.len > 0 && fn != NULL)
		fn(ud, bc_buf_cstr(&l.part));
	bc_buf_free(&l.part);
	bc_buf_free(&tar);
	free(query);
	return rc;
}
