#include "lib/fetch/fetch.h"

#include "lib/base/clock.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>

#include "lib/model/values.h"

void
bc_progress_feed(bc_progress *p, const json_t *obj)
{
	const char *id = json_string_value(json_object_get(obj, "id"));
	const char *status = json_string_value(json_object_get(obj, "status"));
	json_t *detail = json_object_get(obj, "progressDetail");
	size_t i;

	static const char *const layer_status[] = {
	    "Pulling fs layer",	  "Waiting",	       "Downloading",
	    "Verifying Checksum", "Download complete", "Extracting",
	    "Pull complete",	  "Already exists",    NULL};
	bool layer = false;

	/* only layer lines: "Pulling from x" carries the tag as its id */
	for (size_t k = 0; status && layer_status[k]; k++)
		layer = layer || strcmp(status, layer_status[k]) == 0;
	if (id == NULL || !layer || strlen(id) >= sizeof(p->layer[0].id))
		return;
	for (i = 0; i < p->n; i++)
		if (strcmp(p->layer[i].id, id) == 0)
			break;
	if (i == p->n) {
		if (p->n == BC_PROGRESS_MAX_LAYERS)
			return;
		memset(&p->layer[i], 0, sizeof(p->layer[i]));
		strcpy(p->layer[i].id, id);
		p->n++;
	}
	if (strcmp(status, "Downloading") == 0) {
		json_int_t cur = json_integer_value(json_object_get(detail, "current"));
		json_int_t tot = json_integer_value(json_object_get(detail, "total"));
		if (tot > 0)
			p->layer[i].total = (uint64_t)tot;
		if (cur >= 0)
			p->layer[i].current = (uint64_t)cur;
	} else if (strcmp(status, "Download complete") == 0 ||
		   strcmp(status, "Pull complete") == 0 || strcmp(status, "Already exists") == 0) {
		p->layer[i].done = true;
		p->layer[i].current = p->layer[i].total;
	}
}

void
bc_progress_sum(const bc_progress *p, uint64_t *current, uint64_t *total, unsigned *percent)
{
	uint64_t c = 0, t = 0;
	bool all_done = p->n > 0;

	for (size_t i = 0; i < p->n; i++) {
		c += p->layer[i].current < p->layer[i].total ? p->layer[i].current
							     : p->layer[i].total;
		t += p->layer[i].total;
		all_done = all_done && p->layer[i].done;
	}
	*current = c;
	*total = t;
	if (all_done)
		*percent = 100;
	else if (t == 0)
		*percent = 0;
	else
		*percent = (unsigned)(c * 100 / t > 99 ? 99 : c * 100 / t);
}

bool
bc_pull_retryable(const char *e)
{
	static const char *const final[] = {"unauthorized",
					    "denied",
					    "authentication required",
					    "not found",
					    "manifest unknown",
					    "no basic auth",
					    "invalid reference",
					    "disk",
					    NULL};
	static const char *const transient[] = {"connection refused",
						"connection reset",
						"EOF",
						"timeout",
						"timed out",
						"i/o",
						"502",
						"503",
						"504",
						"500 Internal",
						"TLS handshake",
						"no such host",
						"temporary",
						"broken pipe",
						"unexpected end",
						"could not connect",
						NULL};
	char low[1024];
	size_t i;

	if (e == NULL)
		return false;
	for (i = 0; e[i] && i + 1 < sizeof(low); i++)
		low[i] = (char)tolower((unsigned char)e[i]);
	low[i] = '\0';
	for (i = 0; final[i]; i++)
		if (strstr(low, final[i]) != NULL)
			return false;
	for (i = 0; transient[i]; i++) {
		char t[64];
		size_t k;
		for (k = 0; transient[i][k] && k + 1 < sizeof(t); k++)
			t[k] = (char)tolower((unsigned char)transient[i][k]);
		t[k] = '\0';
		if (strstr(low, t) != NULL)
			return true;
	}
	return false;
}

uint64_t
bc_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, uint32_t r)
{
	uint64_t d = bc_doubling_ms(attempt, base_ms, cap_ms);

	return d / 2 + (d / 2 ? r % (d / 2 + 1) : 0);
}

bool
bc_image_registry(const char *ref, char *out, size_t n)
{
	const char *slash = strchr(ref, '/');
	size_t len;

	if (slash == NULL)
		return false;
	len = (size_t)(slash - ref);
	/* Docker's rule: the first part names a registry if it has a '.' or a
	 * ':' or is "localhost" */
	if (!(memchr(ref, '.', len) || memchr(ref, ':', len) ||
	      (len == 9 && strncmp(ref, "localhost", 9) == 0)))
		return false;
	if (len >= n)
		return false;
	memcpy(out, ref, len);
	out[len] = '\0';
	return true;
}

bool
bc_host_is_loopback(const char *host, size_t len)
{
	const char *end = host + len, *port;
	unsigned char a[4];
	char v4[16];

	if (len >= 5 && strncmp(host, "[::1]", 5) == 0) {
		port = host + 5;
	} else {
		port = memchr(host, ':', len);
		if (port == NULL)
			port = end;
		if (!((size_t)(port - host) == 9 && strncasecmp(host, "localhost", 9) == 0)) {
			/* 127.a.b.c, four decimal bytes, as inet_pton reads them */
			if ((size_t)(port - host) >= sizeof(v4))
				return false;
			memcpy(v4, host, (size_t)(port - host));
			v4[port - host] = '\0';
			if (inet_pton(AF_INET, v4, a) != 1 || a[0] != 127)
				return false;
		}
	}
	if (port == end)
		return true;
	if (*port != ':' || end - port < 2 || end - port > 6)
		return false;
	for (const char *p = port + 1; p < end; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

int
bc_registry_url_check(const char *url, bool *plain, bc_err *err)
{
	const char *auth, *end;
	size_t n;

	if (strncasecmp(url, "https://", 8) == 0) {
		auth = url + 8;
		*plain = false;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		auth = url + 7;
		*plain = true;
	} else {
		return bc_err_set(err, BC_EPROTO, "'%.200s': refused, a registry is spoken to over "
						  "https only",
				  url);
	}
	n = strcspn(auth, "/?#");
	end = auth + n;
	if (n == 0 || memchr(auth, '@', n) != NULL || memchr(auth, '\\', n) != NULL)
		return bc_err_set(err, BC_EPROTO, "'%.200s': refused, not a plain host[:port]", url);
	if (*plain && !bc_host_is_loopback(auth, (size_t)(end - auth)))
		return bc_err_set(err, BC_EPROTO,
				  "'%.200s': refused, plain http only to a loopback address "
				  "(localhost, 127.x.x.x, [::1])",
				  url);
	return 0;
}

bool
bc_auth_param(const char *hdr, const char *key, char *out, size_t n)
{
	char pat[32];
	const char *p, *e;

	if ((size_t)snprintf(pat, sizeof(pat), "%s=\"", key) >= sizeof(pat))
		return false;
	if ((p = strstr(hdr, pat)) == NULL || (e = strchr(p + strlen(pat), '"')) == NULL)
		return false;
	p += strlen(pat);
	if ((size_t)(e - p) >= n)
		return false;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return true;
}

bool
bc_registry_same(const char *a, const char *b)
{
	return a != NULL && b != NULL && *a != '\0' && strcasecmp(a, b) == 0;
}

static char *
base64(const unsigned char *in, size_t n)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);
		*o++ = tbl[v >> 18 & 63];
		*o++ = tbl[v >> 12 & 63];
		*o++ = i + 1 < n ? tbl[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? tbl[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

char *
bc_registry_auth(const char *user, const char *password, const char *server)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "username", user, "password", password,
			      "serveraddress", server);
	char *js, *out;

	if (j == NULL)
		return NULL;
	js = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (js == NULL)
		return NULL;
	out = base64((const unsigned char *)js, strlen(js));
	explicit_bzero(js, strlen(js));
	free(js);
	return out;
}

int
bc_disk_reserve(const char *spec, uint64_t fs_size, uint64_t *reserve, bc_err *err)
{
	size_t n;

	if (spec == NULL || *spec == '\0') {
		uint64_t tenth = fs_size / 10, cap = 512ull << 20;
		*reserve = tenth < cap ? tenth : cap;
		return 0;
	}
	n = strlen(spec);
	if (spec[n - 1] == '%') {
		char *end;
		double pct = strtod(spec, &end);
		if (end != spec + n - 1 || pct < 0 || pct > 100)
			return bc_err_set(err, BC_EINVAL, "disk reserve '%s' is not a percentage",
					  spec);
		*reserve = (uint64_t)((double)fs_size * pct / 100.0);
		return 0;
	}
	{
		json_t *v = json_string(spec);
		int64_t b;
		int rc = bc_parse_bytes(v, &b, err);
		json_decref(v);
		if (rc < 0)
			return bc_err_wrap(err, "disk reserve");
		*reserve = (uint64_t)b;
	}
	return 0;
}

int
bc_disk_space(const char *path, uint64_t *avail, uint64_t *size, bc_err *err)
{
	struct statvfs st;

	if (statvfs(path, &st) < 0)
		return bc_err_sys(err, "statvfs '%s'", path);
	*avail = (uint64_t)st.f_bavail * st.f_frsize;
	*size = (uint64_t)st.f_blocks * st.f_frsize;
	return 0;
}
