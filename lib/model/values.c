#include "lib/model/values.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/base/buf.h"

int
bc_parse_duration(const json_t *v, int64_t *ns, bc_err *err)
{
	static const struct {
		const char *u;
		double mul;
	} units[] = {{"ns", 1},	 {"us", 1e3}, {"µs", 1e3},  {"ms", 1e6},
		     {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
	const char *s, *p;
	double total = 0;

	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= INT64_MAX / 1000000000) {
		*ns = json_integer_value(v) * 1000000000;
		return 0;
	}
	if (!json_is_string(v) || *(s = json_string_value(v)) == '\0')
		return bc_err_set(err, BC_EINVAL, "a duration must be a string like '1m30s'");
	for (p = s; *p;) {
		char *end;
		double num;
		size_t best = 0, bi = 0;

		if (!isdigit((unsigned char)*p) && *p != '.')
			goto bad;
		errno = 0;
		num = strtod(p, &end);
		if (errno || end == p || num < 0)
			goto bad;
		p = end;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = strlen(units[i].u);
			if (strncmp(p, units[i].u, n) == 0 && n > best) {
				best = n;
				bi = i;
			}
		}
		if (best == 0)
			goto bad;
		p += best;
		total += num * units[bi].mul;
	}
	if (total > 9.2e18)
		goto bad;
	*ns = (int64_t)llround(total);
	return 0;
bad:
	return bc_err_set(err, BC_EINVAL, "'%.64s' is not a duration (like 1m30s, 500ms)", s);
}

int
bc_parse_bytes(const json_t *v, int64_t *bytes, bc_err *err)
{
	const char *s;
	char *end;
	double num, mul = 1;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*bytes = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return bc_err_set(err, BC_EINVAL,
				  "a size must be a number or a string like '512m'");
	s = json_string_value(v);
	errno = 0;
	num = strtod(s, &end);
	if (errno || end == s || num < 0 || !isdigit((unsigned char)*s))
		goto bad;
	switch (tolower((unsigned char)*end)) {
	case '\0':
		break;
	case 'b':
		mul = 1;
		end++;
		break;
	case 'k':
		mul = 1024.0;
		end++;
		break;
	case 'm':
		mul = 1024.0 * 1024;
		end++;
		break;
	case 'g':
		mul = 1024.0 * 1024 * 1024;
		end++;
		break;
	default:
		goto bad;
	}
	if (mul > 1 && tolower((unsigned char)*end) == 'b')
		end++;
	if (*end != '\0' || num * mul > 9.2e18)
		goto bad;
	*bytes = (int64_t)(num * mul);
	return 0;
bad:
	return bc_err_set(err, BC_EINVAL, "'%.64s' is not a size (like 512m, 1g)", s);
}

json_t *
bc_shell_split(const char *s, bc_err *err)
{
	json_t *arr = json_array();
	bc_buf w = {.max = 65536};
	int inword = 0;
	char q = 0;

	if (arr == NULL)
		return NULL;
	for (const char *p = s;; p++) {
		char c = *p;
		if (c == '\0') {
			if (q) {
				bc_err_set(err, BC_EINVAL, "unterminated %c quote in '%.64s'", q,
					   s);
				goto fail;
			}
			break;
		}
		if (q == '\'') {
			if (c == '\'')
				q = 0;
			else if (bc_buf_add(&w, &c, 1, err) < 0)
				goto fail;
			continue;
		}
		if (q == '"') {
			if (c == '"') {
				q = 0;
				continue;
			}
			if (c == '\\' && p[1] && strchr("\"\\$`", p[1]))
				c = *++p;
			if (bc_buf_add(&w, &c, 1, err) < 0)
				goto fail;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n') {
			if (inword) {
				json_array_append_new(arr, json_string(bc_buf_cstr(&w)));
				bc_buf_reset(&w);
				inword = 0;
			}
			continue;
		}
		inword = 1;
		if (c == '\'' || c == '"') {
			q = c;
			continue;
		}
		if (c == '\\' && p[1])
			c = *++p;
		if (bc_buf_add(&w, &c, 1, err) < 0)
			goto fail;
	}
	if (inword)
		json_array_append_new(arr, json_string(bc_buf_cstr(&w)));
	bc_buf_free(&w);
	return arr;
fail:
	bc_buf_free(&w);
	json_decref(arr);
	return NULL;
}

/* "a" or "a-b" -> [lo, hi]. */
static int
port_range(const char *s, long *lo, long *hi)
{
	char *end;
	*lo = strtol(s, &end, 10);
	if (end == s || *lo < 0 || *lo > 65535)
		return -1;
	*hi = *lo;
	if (*end == '-') {
		const char *h = end + 1;
		*hi = strtol(h, &end, 10);
		if (end == h || *hi < *lo || *hi > 65535)
			return -1;
	}
	return *end == '\0' ? 0 : -1;
}

/* An IP as a port mapping names it: v4, or v6 (in brackets or not);
 * brackets are dropped in place. */
static bool
port_ip(char **ip)
{
	size_t n = strlen(*ip);
	unsigned char a[16];

	if (n >= 2 && (*ip)[0] == '[' && (*ip)[n - 1] == ']') {
		(*ip)[n - 1] = '\0';
		(*ip)++;
	}
	return inet_pton(AF_INET, *ip, a) == 1 || inet_pton(AF_INET6, *ip, a) == 1;
}

int
bc_parse_port(const json_t *v, json_t *exposed, json_t *bindings, bc_err *err)
{
	char buf[128], *proto = "tcp", *slash, *c, *h, *ip = "", *hostp = NULL, *contp = buf;
	long clo, chi, hlo = 0, hhi = 0;

	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	else if (json_is_string(v) && json_string_length(v) < sizeof(buf))
		snprintf(buf, sizeof(buf), "%s", json_string_value(v));
	else
		return bc_err_set(err, BC_EINVAL,
				  "a port must be a string like '8080:80' or a number");
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash = '\0';
		proto = slash + 1;
		if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
			goto bad;
	}
	/* [IP:][HOST:]CONTAINER, from the right: the IP may hold ':' (v6) */
	if ((c = strrchr(buf, ':')) != NULL) {
		*c = '\0';
		contp = c + 1;
		hostp = buf;
		if ((h = strrchr(buf, ':')) != NULL) {
			*h = '\0';
			hostp = h + 1;
			ip = buf;
			if (*ip != '\0' && !port_ip(&ip)) /* "::80": no IP */
				goto bad;
		}
	}
	if (port_range(contp, &clo, &chi) < 0 ||
	    (hostp && *hostp && port_range(hostp, &hlo, &hhi) < 0))
		goto bad;
	if (hostp == NULL) { /* "80": the same host port (the supervisor's) */
		hlo = clo;
		hhi = chi;
	}
	if (hhi - hlo != chi - clo && hlo != hhi)
		goto bad;
	for (long p = clo; p <= chi; p++) {
		char key[32], hp[24] = "";
		json_t *arr;
		long host = hlo == hhi ? hlo : hlo + (p - clo);
		snprintf(key, sizeof(key), "%ld/%s", p, proto);
		json_object_set_new(exposed, key, json_object());
		arr = json_object_get(bindings, key);
		if (arr == NULL) {
			arr = json_array();
			json_object_set_new(bindings, key, arr);
		}
		/* an empty or 0 host port: one the engine picks */
		if (host > 0)
			snprintf(hp, sizeof(hp), "%ld", host);
		json_array_append_new(arr, json_pack("{s:s,s:s}", "HostIp", ip, "HostPort", hp));
	}
	return 0;
bad:
	return bc_err_set(err, BC_EINVAL,
			  "'%.64s' is not a port mapping (like 127.0.0.1:8080:80/tcp)",
			  json_is_string(v) ? json_string_value(v) : "(number)");
}

json_t *
bc_parse_device(const char *s, bc_err *err)
{
	char buf[512], *a, *b = NULL, *c = NULL;

	if (strlen(s) >= sizeof(buf) || s[0] != '/') {
		bc_err_set(err, BC_EINVAL, "device '%.64s' must be an absolute path", s);
		return NULL;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	a = buf;
	if ((b = strchr(a, ':')) != NULL) {
		*b++ = '\0';
		if ((c = strchr(b, ':')) != NULL)
			*c++ = '\0';
	}
	if ((b && *b != '/') || (c && (strspn(c, "rwm") != strlen(c) || *c == '\0'))) {
		bc_err_set(err, BC_EINVAL, "device '%.64s' is not host[:container[:rwm]]", s);
		return NULL;
	}
	return json_pack("{s:s,s:s,s:s}", "PathOnHost", a, "PathInContainer", b ? b : a,
			 "CgroupPermissions", c ? c : "rwm");
}

json_t *
bc_parse_restart(const char *s, bc_err *err)
{
	char *end;
	long n = 0;

	if (strcmp(s, "no") == 0 || strcmp(s, "always") == 0 || strcmp(s, "unless-stopped") == 0)
		return json_pack("{s:s,s:i}", "Name", strcmp(s, "no") ? s : "", "MaximumRetryCount",
				 0);
	if (strncmp(s, "on-failure", 10) == 0 && (s[10] == '\0' || s[10] == ':')) {
		if (s[10] == ':') {
			n = strtol(s + 11, &end, 10);
			if (end == s + 11 || *end || n < 0)
				goto bad;
		}
		return json_pack("{s:s,s:i}", "Name", "on-failure", "MaximumRetryCount", (int)n);
	}
bad:
	bc_err_set(err, BC_EINVAL,
		   "restart '%.64s' is not one of no, always, unless-stopped, on-failure[:N]", s);
	return NULL;
}

bool
bc_label_truthy(const char *v)
{
	return v != NULL &&
	       (strcasecmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "on") == 0);
}

bool
bc_name_ok(const char *name, bool env)
{
	size_t n = strlen(name);

	if (n == 0 || n > 255)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '\'' || *p == '`' ||
		    (env && *p == '='))
			return false;
	return true;
}

bool
bc_docker_name_ok(const char *name, size_t max)
{
	size_t n = name ? strlen(name) : 0;

	return n > 0 && n <= max && isalnum((unsigned char)name[0]) &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}
