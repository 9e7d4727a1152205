#include "lib/ipc/settings.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ipc.h"
#include "lib/model/config.h"
#include "lib/fetch/fetch.h"

static const char *const names[] = {
    "BC_RUNDIR",       "BC_STATEDIR",	  "BC_LOGDIR",	 "BC_LOCKDIR",
    "BC_CONFIG",       "BC_WORKERS",	  "BC_FETCH_CONCURRENCY", "BC_PULL_RETRIES",
    "BC_LOCK_TTL_MS",  "BC_DISK_RESERVE", "BC_SCOPE_APPS", "BC_CA_FILE", "BC_CLOUD_LOGS",
    "BC_LOG_BUFFER",   "BC_LOG_REMOTE",   "BC_LOG_REMOTE_CERT", "BC_LOG_REMOTE_CLIENTS",
    "BC_LOG_SPOOL",    "BC_LOG_SPOOL_MAX", NULL};

static const char *
value(const char *(*lookup)(const char *), const char *name)
{
	const char *v = lookup(name);
	return v != NULL && *v != '\0' ? v : NULL;
}

static int
path(const char *(*lookup)(const char *), const char *name, const char *dflt, char *out,
     size_t n, bc_err *err)
{
	const char *v = value(lookup, name);

	if (v == NULL)
		v = dflt;
	if (v[0] != '/')
		return bc_err_set(err, BC_EINVAL, "%s='%.100s': an absolute path is needed", name,
				  v);
	if (strlen(v) >= n)
		return bc_err_set(err, BC_EINVAL, "%s='%.100s...': at most %zu characters", name,
				  v, n - 1);
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

/* "262144", "256K", "1M": bytes (K and M are 1024 and 1024 * 1024) */
static bool
bytes_of(const char *v, uint64_t *out)
{
	uint64_t n = 0;
	size_t i = 0;

	if (v[0] < '0' || v[0] > '9')
		return false;
	for (; v[i] >= '0' && v[i] <= '9'; i++) {
		if (n > UINT64_MAX / 10 / (1 << 20))
			return false;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (v[i] == 'K' || v[i] == 'k' || v[i] == 'M' || v[i] == 'm') {
		unsigned shift = v[i] == 'K' || v[i] == 'k' ? 10 : 20;
		if (n > (UINT64_MAX >> shift))
			return false;
		n <<= shift;
		i++;
	}
	if (v[i] != '\0')
		return false;
	*out = n;
	return true;
}

/* "tls+tcp://HOST:PORT", HOST a name, an IPv4 address or [IPv6], PORT 1..65535 */
static bool
remote_url_ok(const char *v)
{
	const char *host = v + strlen("tls+tcp://"), *colon;
	char *end;
	long port;

	if (strncmp(v, "tls+tcp://", strlen("tls+tcp://")) != 0 || strlen(v) >= 200)
		return false;
	if ((colon = strrchr(host, ':')) == NULL || colon == host)
		return false;
	for (const char *c = host; c < colon; c++)
		if (!(isalnum((unsigned char)*c) || strchr(".-_[]:", *c) != NULL))
			return false;
	if (colon[1] < '0' || colon[1] > '9')
		return false;
	port = strtol(colon + 1, &end, 10);
	return *end == '\0' && port >= 1 && port <= 65535;
}

static int
log_settings(const char *(*lookup)(const char *), bc_settings *s, bc_err *err)
{
	const char *v;
	uint64_t n = BC_SETTINGS_LOG_BUFFER;

	if ((v = value(lookup, "BC_LOG_BUFFER")) != NULL &&
	    (!bytes_of(v, &n) || n < (64u << 10) || n > (64u << 20)))
		return bc_err_set(err, BC_EINVAL,
				  "BC_LOG_BUFFER='%.60s': allowed is a size from 64K to 64M "
				  "(bytes, or with K or M: 262144, 256K, 1M)",
				  v);
	s->log_buffer = (size_t)n;
	n = BC_SETTINGS_LOG_SPOOL_MAX;
	if ((v = value(lookup, "BC_LOG_SPOOL_MAX")) != NULL &&
	    (!bytes_of(v, &n) || n < (1u << 20) || n > (1024u << 20)))
		return bc_err_set(err, BC_EINVAL,
				  "BC_LOG_SPOOL_MAX='%.60s': allowed is a size from 1M to 1024M "
				  "(bytes, or with K or M: 16M)",
				  v);
	s->log_spool_max = n;
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
	if (path(lookup, "BC_RUNDIR", BC_RUNDIR_DEFAULT, s->rundir, sizeof(s->rundir), err) <
		0 ||
	    path(lookup, "BC_STATEDIR", "/var/lib/balena-compose", s->statedir,
		 sizeof(s->statedir), err) < 0 ||
	    path(lookup, "BC_LOGDIR", "/var/log/balena-compose", s->logdir, sizeof(s->logdir),
		 err) < 0 ||
	    path(lookup, "BC_LOCKDIR", "/run/balena-compose/locks", s->lockdir,
		 sizeof(s->lockdir), err) < 0 ||
	    path(lookup, "BC_CONFIG", BC_CONFIG_PATH_DEFAULT, s->config, sizeof(s->config), err) <
		0 ||
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
	s->cloud_logs = true;
	if ((dr = value(lookup, "BC_CLOUD_LOGS")) != NULL) {
		if (strcmp(dr, "off") != 0 && strcmp(dr, "on") != 0)
			return bc_err_set(err, BC_EINVAL, "BC_CLOUD_LOGS='%.60s': allowed is on or off",
					  dr);
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
