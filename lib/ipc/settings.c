#include "lib/ipc/settings.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ipc.h"
#include "lib/model/config.h"
#include "lib/fetch/fetch.h"
#include "lib/model/values.h"

static const char *const names[] = {"BC_RUNDIR",
				    "BC_STATEDIR",
				    "BC_LOGDIR",
				    "BC_LOCKDIR",
				    "BC_CONFIG",
				    "BC_WORKERS",
				    "BC_FETCH_CONCURRENCY",
				    "BC_PULL_RETRIES",
				    "BC_LOCK_TTL_MS",
				    "BC_DISK_RESERVE",
				    "BC_SCOPE_APPS",
				    "BC_CA_FILE",
				    "BC_OS_RELEASE",
				    "BC_SETTLE_PERIOD",
				    "BC_UNHEALTHY_RESTART",
				    "BC_CLOUD_LOGS",
				    "BC_LOG_BUFFER",
				    "BC_LOG_REMOTE",
				    "BC_LOG_REMOTE_CERT",
				    "BC_LOG_REMOTE_CLIENTS",
				    "BC_LOG_SPOOL",
				    "BC_LOG_SPOOL_MAX",
				    NULL};

static const char *
value(const char *(*lookup)(const char *), const char *name)
{
	const char *v = lookup(name);
	return v != NULL && *v != '\0' ? v : NULL;
}

/* A duration from 0 to a day ("30s", "1m30s"; a bare number is seconds,
 * as in compose), in ms; dflt when not set. */
static int
duration_setting(const char *(*lookup)(const char *), const char *name, uint64_t dflt,
		 uint64_t *ms, bc_err *err)
{
	const char *dr = value(lookup, name);
	json_t *v;
	int64_t ns = -1;
	bc_err derr = {0};

	*ms = dflt;
	if (dr == NULL)
		return 0;
	v = dr[strspn(dr, "0123456789")] == '\0' && strlen(dr) < 10
		? json_integer(strtoll(dr, NULL, 10))
		: json_string(dr);
	if (v == NULL || bc_parse_duration(v, &ns, &derr) < 0 || ns < 0 ||
	    ns > (int64_t)86400 * 1000000000) {
		json_decref(v);
		return bc_err_set(err, BC_EINVAL,
				  "%s='%.60s': allowed is a duration from 0s to 24h (30s, 2m, 1m30s)",
				  name, dr);
	}
	json_decref(v);
	*ms = (uint64_t)(ns / 1000000);
	return 0;
}

static int
path(const char *(*lookup)(const char *), const char *name, const char *dflt, char *out, size_t n,
     bc_err *err)
{
	const char *v = value(lookup, name);

	if (v == NULL)
		v = dflt;
	if (v[0] != '/')
		return bc_err_set(err, BC_EINVAL, "%s='%.100s': an absolute path is needed", name,
				  v);
	if (strlen(v) >= n)
		return bc_err_set(err, BC_EINVAL, "%s='%.100s...': at most %zu characters", name, v,
				  n - 1);
	strcpy(out, v);
	return 0;
}

static int
number(const char *(*lookup)(const char *), const char *name, uint64_t lo, uint64_t hi,
       uint64_t dflt, uint64_t *out, bc_err *err)
{
	const char *v = value(lookup, name);
	char *end;
	unsigned long long x;

	*out = dflt;
	if (v == NULL)
		return 0;
	if (strspn(v, "0123456789") != strlen(v) || strlen(v) > 19)
		goto bad;
	x = strtoull(v, &end, 10);
	if (x < lo || x > hi)
		goto bad;
	*out = x;
	return 0;
bad:
	return bc_err_set(err, BC_EINVAL, "%s='%.100s': allowed is a whole number %llu..%llu", name,
			  v, (unsigned long long)lo, (unsigned long long)hi);
}

static int
scope(const char *(*lookup)(const char *), bc_settings *s, bc_err *err)
{
	const char *v = value(lookup, "BC_SCOPE_APPS"), *p = v;

	s->n_scope = 0;
	if (v == NULL)
		return 0;
	while (*p) {
		size_t len = strspn(p, "0123456789");
		if (len == 0 || len > 18 || (p[len] != ',' && p[len] != '\0') ||
		    (p[len] == ',' && p[len + 1] == '\0'))
			return bc_err_set(err, BC_EINVAL,
					  "BC_SCOPE_APPS='%.100s': allowed is a comma-separated "
					  "list of app ids (1,2,3)",
					  v);
		if (s->n_scope == BC_SETTINGS_MAX_SCOPE)
			return bc_err_set(err, BC_EINVAL, "BC_SCOPE_APPS: at most %d app ids",
					  BC_SETTINGS_MAX_SCOPE);
		s->scope[s->n_scope++] = strtoll(p, NULL, 10);
		p += len + (p[len] == ',');
	}
	return 0;
}

/* NAME: a size as compose files give them (bc_parse_bytes: 262144, 256K,
 * 1M), from lo to hi (both said in the refusal as lo_s, hi_s); dflt when
 * it is not set */
static int
size_setting(const char *(*lookup)(const char *), const char *name, uint64_t lo, const char *lo_s,
	     uint64_t hi, const char *hi_s, uint64_t dflt, uint64_t *out, bc_err *err)
{
	const char *v = value(lookup, name);
	json_t *j;
	int64_t n = 0;
	int rc;

	*out = dflt;
	if (v == NULL)
		return 0;
	j = json_string(v);
	rc = j != NULL ? bc_parse_bytes(j, &n, NULL) : -1;
	json_decref(j);
	if (rc < 0 || (uint64_t)n < lo || (uint64_t)n > hi)
		return bc_err_set(err, BC_EINVAL,
				  "%s='%.60s': allowed is a size from %s to %s (262144, 256K, 1M)",
				  name, v, lo_s, hi_s);
	*out = (uint64_t)n;
	return 0;
}

int
bc_hostport(const char *s, char *host, size_t hostlen, unsigned *port)
{
	const char *h = s, *end, *rest;
	char *pe;
	long p;

	if (*s == '[') { /* an IPv6 address */
		h = s + 1;
		if ((end = strchr(h, ']')) == NULL)
			return -1;
		rest = end + 1;
		for (const char *c = h; c < end; c++)
			if (!(isxdigit((unsigned char)*c) || *c == ':' || *c == '.'))
				return -1;
	} else {
		end = h + strcspn(h, ":");
		rest = end;
		for (const char *c = h; c < end; c++)
			if (!(isalnum((unsigned char)*c) || strchr(".-_", *c) != NULL))
				return -1;
	}
	if (end == h || (size_t)(end - h) >= hostlen || (*rest != '\0' && *rest != ':'))
		return -1;
	*port = 0;
	if (*rest == ':') {
		if (rest[1] < '0' || rest[1] > '9')
			return -1;
		p = strtol(rest + 1, &pe, 10);
		if (*pe != '\0' || p < 1 || p > 65535)
			return -1;
		*port = (unsigned)p;
	}
	snprintf(host, hostlen, "%.*s", (int)(end - h), h);
	return 0;
}

/* "tls+tcp://HOST:PORT" (bc_hostport, the port given) */
static bool
remote_url_ok(const char *v)
{
	char host[200];
	unsigned port;

	return strncmp(v, "tls+tcp://", strlen("tls+tcp://")) == 0 && strlen(v) < 200 &&
	       bc_hostport(v + strlen("tls+tcp://"), host, sizeof(host), &port) == 0 && port != 0;
}

static int
log_settings(const char *(*lookup)(const char *), bc_settings *s, bc_err *err)
{
	const char *v;
	uint64_t n;

	if (size_setting(lookup, "BC_LOG_BUFFER", 64u << 10, "64K", 64u << 20, "64M",
			 BC_SETTINGS_LOG_BUFFER, &n, err) < 0 ||
	    size_setting(lookup, "BC_LOG_SPOOL_MAX", 1u << 20, "1M", 1024u << 20, "1024M",
			 BC_SETTINGS_LOG_SPOOL_MAX, &s->log_spool_max, err) < 0)
		return -1;
	s->log_buffer = (size_t)n;
	if (value(lookup, "BC_LOG_SPOOL") != NULL &&
	    path(lookup, "BC_LOG_SPOOL", "", s->log_spool, sizeof(s->log_spool), err) < 0)
		return -1;
	if ((v = value(lookup, "BC_LOG_REMOTE")) == NULL || strcmp(v, "off") == 0) {
		if (value(lookup, "BC_LOG_REMOTE_CERT") != NULL ||
		    value(lookup, "BC_LOG_REMOTE_CLIENTS") != NULL)
			return bc_err_set(err, BC_EINVAL,
					  "BC_LOG_REMOTE_CERT and BC_LOG_REMOTE_CLIENTS are for "
					  "BC_LOG_REMOTE, which is off");
		return 0;
	}
	if (!remote_url_ok(v))
		return bc_err_set(err, BC_EINVAL,
				  "BC_LOG_REMOTE='%.100s': allowed is off (the default) or "
				  "tls+tcp://HOST:PORT",
				  v);
	strcpy(s->log_remote, v);
	if (value(lookup, "BC_LOG_REMOTE_CERT") == NULL ||
	    value(lookup, "BC_LOG_REMOTE_CLIENTS") == NULL)
		return bc_err_set(err, BC_EINVAL,
				  "BC_LOG_REMOTE is on: BC_LOG_REMOTE_CERT (the logger's "
				  "certificate and key, PEM) and BC_LOG_REMOTE_CLIENTS (the "
				  "certificates of the clients let in, PEM) are needed too");
	return path(lookup, "BC_LOG_REMOTE_CERT", "", s->log_remote_cert,
		    sizeof(s->log_remote_cert), err) < 0 ||
		       path(lookup, "BC_LOG_REMOTE_CLIENTS", "", s->log_remote_clients,
			    sizeof(s->log_remote_clients), err) < 0
		   ? -1
		   : 0;
}

int
bc_settings_load(bc_settings *s, const char *(*lookup)(const char *name), char **envp,
		 void (*unknown)(const char *name), bc_err *err)
{
	uint64_t w, fc, pr, ttl, reserve;
	const char *dr;

	memset(s, 0, sizeof(*s));
	/* the engine's socket, read by lib/docker when it connects: checked
	 * here with the others, so a bad one stops the daemon at start */
	{
		const char *dh = lookup("DOCKER_HOST");
		if (dh != NULL && *dh != '\0' &&
		    (strncmp(dh, "unix:///", 8) != 0 || strlen(dh + 7) >= 108))
			return bc_err_set(
			    err, BC_EINVAL,
			    "DOCKER_HOST='%.100s': the engine is reached by a unix socket "
			    "only: unix:///PATH, under 108 bytes",
			    dh);
	}
	if (path(lookup, "BC_RUNDIR", BC_RUNDIR_DEFAULT, s->rundir, sizeof(s->rundir), err) < 0 ||
	    path(lookup, "BC_STATEDIR", "/var/lib/balena-compose", s->statedir, sizeof(s->statedir),
		 err) < 0 ||
	    path(lookup, "BC_LOGDIR", "/var/log/balena-compose", s->logdir, sizeof(s->logdir),
		 err) < 0 ||
	    path(lookup, "BC_LOCKDIR", "/run/balena-compose/locks", s->lockdir, sizeof(s->lockdir),
		 err) < 0 ||
	    path(lookup, "BC_CONFIG", BC_CONFIG_PATH_DEFAULT, s->config, sizeof(s->config), err) <
		0 ||
	    path(lookup, "BC_OS_RELEASE", "/etc/os-release", s->os_release, sizeof(s->os_release),
		 err) < 0 ||
	    number(lookup, "BC_WORKERS", 1, 8, 4, &w, err) < 0 ||
	    number(lookup, "BC_FETCH_CONCURRENCY", 1, 16, 3, &fc, err) < 0 ||
	    number(lookup, "BC_PULL_RETRIES", 0, 100, 5, &pr, err) < 0 ||
	    number(lookup, "BC_LOCK_TTL_MS", 100, 86400000, 60000, &ttl, err) < 0 ||
	    scope(lookup, s, err) < 0)
		return -1;
	/* optional: without it, the system's CA certificates */
	if (value(lookup, "BC_CA_FILE") != NULL &&
	    path(lookup, "BC_CA_FILE", "", s->ca_file, sizeof(s->ca_file), err) < 0)
		return -1;
	if (duration_setting(lookup, "BC_SETTLE_PERIOD", 30000, &s->settle_ms, err) < 0 ||
	    duration_setting(lookup, "BC_UNHEALTHY_RESTART", 60000, &s->unhealthy_ms, err) < 0)
		return -1;
	s->cloud_logs = true;
	if ((dr = value(lookup, "BC_CLOUD_LOGS")) != NULL) {
		if (strcmp(dr, "off") != 0 && strcmp(dr, "on") != 0)
			return bc_err_set(err, BC_EINVAL,
					  "BC_CLOUD_LOGS='%.60s': allowed is on or off", dr);
		s->cloud_logs = strcmp(dr, "on") == 0;
	}
	if (log_settings(lookup, s, err) < 0)
		return -1;
	s->workers = (unsigned)w;
	s->fetch_concurrency = (unsigned)fc;
	s->pull_retries = (unsigned)pr;
	s->lock_ttl_ms = ttl;
	if ((dr = value(lookup, "BC_DISK_RESERVE")) != NULL) {
		if (strlen(dr) >= sizeof(s->disk_reserve) ||
		    bc_disk_reserve(dr, 1000, &reserve, NULL) < 0)
			return bc_err_set(err, BC_EINVAL,
					  "BC_DISK_RESERVE='%.60s': allowed is N%% (0..100) or a "
					  "size (512M, 2G, 1048576)",
					  dr);
		strcpy(s->disk_reserve, dr);
	}
	for (char **e = envp; e != NULL && *e != NULL && unknown != NULL; e++) {
		bool known = false;
		size_t len = strcspn(*e, "=");
		if (strncmp(*e, "BC_", 3) != 0)
			continue;
		for (size_t i = 0; names[i] != NULL && !known; i++)
			known = strlen(names[i]) == len && strncmp(*e, names[i], len) == 0;
		if (!known) {
			char name[64];
			snprintf(name, sizeof(name), "%.*s", (int)(len < 63 ? len : 63), *e);
			unknown(name);
		}
	}
	return 0;
}

bool
bc_settings_in_scope(const bc_settings *s, int64_t app)
{
	if (s->n_scope == 0)
		return true;
	for (size_t i = 0; i < s->n_scope; i++)
		if (s->scope[i] == app)
			return true;
	return false;
}
