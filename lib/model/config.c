#include "lib/model/config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/buf.h"
#include "lib/base/fsutil.h"

enum ckind { C_STR, C_SECRET, C_URL, C_NUM, C_BOOL };

struct ckey {
	const char *name;
	enum ckind kind;
	size_t off;
	uint64_t min, max; /* numbers: inclusive range; strings: max length */
	size_t width;	   /* numbers: sizeof the member */
};

#define S(n, f, k, mx)                                                                             \
	{                                                                                          \
		n, k, offsetof(bc_config, f), 0, mx, 0                                             \
	}
#define N(n, f, lo, hi)                                                                            \
	{                                                                                          \
		n, C_NUM, offsetof(bc_config, f), lo, hi, sizeof(((bc_config *)0)->f)              \
	}
#define B(n, f)                                                                                    \
	{                                                                                          \
		n, C_BOOL, offsetof(bc_config, f), 0, 0, 0                                         \
	}

/* A registry's host[:port], as an image reference names it. */
static bool
host_port(const char *s, size_t n)
{
	size_t h = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");

	if (h == 0 && n > 2 && s[0] == '[') /* [v6] */
		h = strspn(s + 1, "0123456789abcdefABCDEF:") + 2;
	if (h == 0 || h > n || (s[0] == '[' && s[h - 1] != ']'))
		return false;
	if (h == n)
		return true;
	return s[h] == ':' && n - h >= 2 && n - h <= 6 &&
	       strspn(s + h + 1, "0123456789") == n - h - 1;
}

static const struct ckey keys[] = {
    S("uuid", uuid, C_STR, 64),
    S("deviceApiKey", device_api_key, C_SECRET, 512),
    S("apiKey", api_key, C_SECRET, 512),
    S("apiEndpoint", api_endpoint, C_URL, 2048),
    S("deltaEndpoint", delta_endpoint, C_URL, 2048),
    S("registryEndpoint", registry_endpoint, C_STR, 255),
    S("deviceType", device_type, C_STR, 128),
    S("hostname", hostname, C_STR, 253),
    N("applicationId", application_id, 0, INT64_MAX),
    N("deviceId", device_id, 0, INT64_MAX),
    N("listenPort", listen_port, 1, 65535),
    N("appUpdatePollInterval", app_update_poll_interval_ms, 1000, 7ull * 86400 * 1000),
    N("apiTimeout", api_timeout_ms, 1, 86400ull * 1000),
    B("delta", delta),
    N("deltaVersion", delta_version, 2, 3),
    N("deltaRequestTimeout", delta_request_timeout_ms, 0, 86400ull * 1000),
    N("deltaApplyTimeout", delta_apply_timeout_ms, 0, 86400ull * 1000),
    N("deltaRetryCount", delta_retry_count, 0, 100000),
    N("deltaRetryInterval", delta_retry_interval_ms, 0, 86400ull * 1000),
    B("localMode", local_mode),
    B("persistentLogging", persistent_logging),
    B("developmentMode", development_mode),
};

static void
defaults(bc_config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen_port = 48484;
	c->app_update_poll_interval_ms = 900000;
	c->api_timeout_ms = 900000;
	c->delta_version = 3;
	c->delta_request_timeout_ms = 59000;
	c->delta_retry_count = 30;
	c->delta_retry_interval_ms = 10000;
}

/* The supervisor's PermissiveNumber: a JSON integer or a string of digits. */
static int
get_num(json_t *v, uint64_t *out)
{
	const char *s;
	char *end;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return -1;
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return (errno || *end) ? -1 : 0;
}

/* PermissiveBoolean: true/false, or the strings "true"/"false"/"1"/"0"/"on"/"off". */
static int
get_bool(json_t *v, bool *out)
{
	static const char *yes[] = {"true", "1", "on"}, *no[] = {"false", "0", "off"};
	const char *s;

	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	for (size_t i = 0; i < 3; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int
set_key(const struct ckey *k, json_t *v, bc_config *c, const char *src, bc_err *err)
{
	char *p = (char *)c + k->off;
	const char *s;
	size_t n;
	uint64_t num;

	switch (k->kind) {
	case C_STR:
	case C_SECRET:
	case C_URL:
		if (json_is_null(v))
			return 0;
		if (!json_is_string(v))
			return bc_err_set(err, BC_EINVAL, "%s: field '%s' must be a string", src,
					  k->name);
		s = json_string_value(v);
		n = json_string_length(v);
		if (n == 0)
			return 0; /* the supervisor treats "" as unset */
		if (n > k->max)
			return bc_err_set(err, BC_EINVAL,
					  "%s: field '%s' is longer than %llu characters", src,
					  k->name, (unsigned long long)k->max);
		if (memchr(s, '\0', n) != NULL)
			return bc_err_set(err, BC_EINVAL, "%s: field '%s' contains a NUL", src,
					  k->name);
		if (k->kind == C_URL && strncmp(s, "https://", 8) != 0 &&
		    strncmp(s, "http://", 7) != 0)
			return bc_err_set(err, BC_EINVAL,
					  "%s: field '%s' must be an http:// or https:// URL", src,
					  k->name);
		if (k->off == offsetof(bc_config, registry_endpoint) && !host_port(s, n))
			return bc_err_set(
			    err, BC_EINVAL,
			    "%s: field 'registryEndpoint' must be a host or host:port "
			    "(registry2.balena-cloud.com), without scheme or path",
			    src);
		if (k->off == offsetof(bc_config, uuid) && strspn(s, "0123456789abcdef") != n)
			return bc_err_set(err, BC_EINVAL,
					  "%s: field 'uuid' must be lower-case hexadecimal", src);
		free(*(char **)p);
		if ((*(char **)p = strdup(s)) == NULL)
			return bc_err_sys(err, "%s: field '%s'", src, k->name);
		return 0;
	case C_NUM:
		if (get_num(v, &num) < 0)
			return bc_err_set(err, BC_EINVAL,
					  "%s: field '%s' must be a non-negative integer", src,
					  k->name);
		if (num < k->min || num > k->max)
			return bc_err_set(err, BC_EINVAL,
					  "%s: field '%s' is %llu, outside %llu..%llu", src,
					  k->name, (unsigned long long)num,
					  (unsigned long long)k->min, (unsigned long long)k->max);
		if (k->width == sizeof(uint32_t))
			*(uint32_t *)p = (uint32_t)num;
		else
			*(uint64_t *)p = num;
		return 0;
	case C_BOOL:
		if (get_bool(v, (bool *)p) < 0)
			return bc_err_set(err, BC_EINVAL, "%s: field '%s' must be a boolean", src,
					  k->name);
		return 0;
	}
	return 0;
}

int
bc_config_parse(const char *json, size_t len, const char *source, bc_config *c, bc_err *err)
{
	json_error_t je;
	json_t *root;

	defaults(c);
	if (len > BC_CONFIG_MAX_BYTES)
		return bc_err_set(err, BC_ETOOBIG, "%s: larger than %zu bytes", source,
				  BC_CONFIG_MAX_BYTES);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		/* jansson quotes the token it stopped at ("near '...'"), which may
		 * be part of a secret: keep only the description. */
		char *near = strstr(je.text, " near ");
		if (near != NULL)
			*near = '\0';
		return bc_err_set(err, BC_EINVAL, "%s:%d:%d: %s", source, je.line, je.column,
				  je.text);
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return bc_err_set(err, BC_EINVAL, "%s: top level must be a JSON object", source);
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(root, keys[i].name);
		if (v != NULL && set_key(&keys[i], v, c, source, err) < 0)
			goto fail;
	}
	json_decref(root);
	c->unmanaged = c->api_endpoint == NULL;
	/* managed: a device of its own, or the fleet's key to register one */
	if (!c->unmanaged && c->api_key == NULL && (c->uuid == NULL || c->device_api_key == NULL)) {
		bc_err_set(
		    err, BC_EINVAL,
		    "%s: apiEndpoint is set, so fields 'uuid' and 'deviceApiKey' are required "
		    "(or 'apiKey', the fleet's provisioning key, to register the device)",
		    source);
		bc_config_free(c);
		return -1;
	}
	return 0;
fail:
	json_decref(root);
	bc_config_free(c);
	return -1;
}

/* The file holds the device's key: it is read into one buffer of its size
 * (no realloc leaving copies behind), wiped before it is freed. */
int
bc_config_load(const char *path, bc_config *c, bc_err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0, cap = 0;
	int fd, rc = -1;

	defaults(c);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return bc_err_sys(err, "open config '%s'", path);
	if (fstat(fd, &st) < 0) {
		bc_err_sys(err, "stat config '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		bc_err_set(err, BC_EINVAL, "config '%s' is not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > BC_CONFIG_MAX_BYTES) {
		bc_err_set(err, BC_ETOOBIG, "%s: larger than %u bytes", path,
			   (unsigned)BC_CONFIG_MAX_BYTES);
		goto out;
	}
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap)) == NULL) {
		bc_err_sys(err, "read config '%s'", path);
		goto out;
	}
	while (got < cap - 1) {
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			bc_err_sys(err, "read config '%s'", path);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	rc = bc_config_parse(buf, got, path, c, err);
out:
	close(fd);
	if (buf != NULL) {
		explicit_bzero(buf, cap);
		free(buf);
	}
	return rc;
}

void
bc_config_free(bc_config *c)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *v;
		if (keys[i].kind != C_STR && keys[i].kind != C_SECRET && keys[i].kind != C_URL)
			continue;
		v = *(char **)((char *)c + keys[i].off);
		if (keys[i].kind == C_SECRET && v != NULL)
			explicit_bzero(v, strlen(v)); /* the device's keys */
		free(v);
	}
	defaults(c);
}

int
bc_config_update(const char *path, const json_t *changes, int *was_mode, bc_err *err)
{
	json_error_t je;
	struct stat st;
	json_t *doc = bc_read_json(path, JSON_REJECT_DUPLICATES, BC_CONFIG_MAX_BYTES, &je), *v;
	const char *k;
	int rc;

	if (doc == NULL || !json_is_object(doc)) {
		json_decref(doc);
		return bc_err_set(err, BC_EINVAL, "%s: cannot be updated: %s", path,
				  je.text[0] ? je.text : "not a JSON object");
	}
	json_object_foreach((json_t *)changes, k, v)
	{
		if (json_is_null(v))
			json_object_del(doc, k);
		else
			json_object_set(doc, k, v);
	}
	if (was_mode != NULL)
		*was_mode = stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : 0600;
	rc = bc_write_json_atomic(path, doc, 0600, err);
	json_decref(doc); /* the daemon that holds the key wipes what jansson frees */
	return rc;
}

int
bc_config_mode(const char *path, bc_config *c, char *why, size_t whylen, bc_err *err)
{
	bc_err lerr = {0};

	if (bc_config_load(path, c, &lerr) < 0) {
		if (lerr.code == BC_ESYS && lerr.errno_ == ENOENT) {
			snprintf(why, whylen, "no config.json at %s", path);
			return BC_MODE_LOCAL;
		}
		if (err != NULL)
			*err = lerr;
		return -1;
	}
	if (c->unmanaged || c->local_mode) {
		snprintf(why, whylen, "%s in %s", c->unmanaged ? "no apiEndpoint" : "localMode",
			 path);
		bc_config_free(c);
		return BC_MODE_LOCAL;
	}
	snprintf(why, whylen, "apiEndpoint in %s", path);
	return BC_MODE_CLOUD;
}
