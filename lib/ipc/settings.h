/* Every BC_* setting of the daemons, read and checked in one place, once, at
 * start. A bad value is refused with its name and what is allowed; the
 * daemon then exits 100 and its s6 finish script turns that into "do not
 * restart" (a typo must not restart a daemon forever). An unknown BC_*
 * variable is a warning (a typo of a known one does nothing otherwise).
 *
 *   BC_RUNDIR             sockets                 /run/balena-compose
 *   BC_STATEDIR           kept state              /var/lib/balena-compose
 *   BC_LOGDIR             s6-log output (scripts) /var/log/balena-compose
 *   BC_LOCKDIR            update lock dirs        /run/balena-compose/locks
 *   BC_CONFIG             config.json             /mnt/boot/config.json
 *   BC_WORKERS            Docker workers          1..8, 4
 *   BC_FETCH_CONCURRENCY  pulls at once           1..16, 3
 *   BC_PULL_RETRIES       retries of a pull       0..100, 5
 *   BC_LOCK_TTL_MS        lease without renewal   100..86400000, 60000
 *   BC_DISK_RESERVE       free space a pull keeps N% (0..100) or a size (512M, 2G, ...)
 *   BC_SCOPE_APPS         app ids to touch        comma-separated ids, at most 256
 *   BC_CA_FILE            CAs the gateway trusts  a PEM file; default the system's
 *   BC_OS_RELEASE         the host OS's os-release /etc/os-release (contracts' sw.os)
 *   BC_SETTLE_PERIOD      an update's settle period 0s..24h, 30s (a service's label
 *                         io.balena-compose.update.settle-period overrides it)
 *   BC_UNHEALTHY_RESTART  unhealthy this long:    0s (never)..24h, 60s (the label
 *                         restarted               io.balena-compose.health.restart-after)
 *   BC_CLOUD_LOGS         the cloud log stream    on (default) or off
 *   BC_LOG_BUFFER         the logger's buffer     64K..64M, 256K
 *   BC_LOG_REMOTE         remote tail listener    off (default) or tls+tcp://HOST:PORT
 *   BC_LOG_REMOTE_CERT    its certificate + key   a PEM file (with BC_LOG_REMOTE)
 *   BC_LOG_REMOTE_CLIENTS clients it lets in      a PEM file of certificates (with it)
 *   BC_LOG_SPOOL          the cloud's spool       unset (off) or a path: PATH.0, PATH.1
 *   BC_LOG_SPOOL_MAX      its bound               1M..1024M, 16M
 * and DOCKER_HOST (the engine's socket, read by lib/docker): unset, or
 * unix:///PATH (PATH under 108 bytes).
 */
#ifndef BC_SETTINGS_H
#define BC_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"

#define BC_SETTINGS_MAX_SCOPE 256
#define BC_SETTINGS_LOG_BUFFER (256u << 10)
#define BC_SETTINGS_LOG_SPOOL_MAX (16u << 20)

typedef struct bc_settings {
	char rundir[256], statedir[256], logdir[256], lockdir[256], config[256];
	char ca_file[256];    /* "" when not set: the system's CAs */
	char os_release[256]; /* the host OS's os-release file (contracts' sw.os) */
	bool cloud_logs;      /* stream logs to the cloud (when there is one) */
	uint64_t unhealthy_ms; /* unhealthy this long: restarted (0: never) */
	uint64_t settle_ms;   /* how long an update's services must run before it
				 is committed (lib/core/trial.h) */
	size_t log_buffer;    /* the logger's buffer, bytes */
	/* the remote tail: "" when off, else its tls+tcp:// listen URL, the
	 * logger's certificate and key, the clients' certificates */
	char log_remote[200], log_remote_cert[256], log_remote_clients[256];
	/* the spool of what the cloud has not taken: "" when off */
	char log_spool[256];
	uint64_t log_spool_max;
	unsigned workers;
	unsigned fetch_concurrency;
	unsigned pull_retries;
	uint64_t lock_ttl_ms;
	char disk_reserve[64]; /* "" when not set: the smaller of 10 % and 512 MiB */
	int64_t scope[BC_SETTINGS_MAX_SCOPE];
	size_t n_scope; /* 0: every supervised app */
} bc_settings;

/* Fill s from lookup (getenv, or a table in tests). Returns 0, or -1 with
 * err naming the first bad variable, its value and what is allowed.
 * unknown, if not NULL, is told each BC_* name in environ that is not a
 * setting (envp: the environment to scan, may be NULL). */
/* Is app in BC_SCOPE_APPS (every app when it is not set)? */
bool bc_settings_in_scope(const bc_settings *s, int64_t app);

/* "HOST", "HOST:PORT", "[IPv6]" or "[IPv6]:PORT": HOST (letters, digits,
 * '.', '-', '_'; in brackets hex digits, ':' and '.') into host without
 * brackets, *port the port (1..65535; 0 when none is given). Returns 0, or
 * -1 for anything else. (BC_LOG_REMOTE, and the CLI's --remote.) */
int bc_hostport(const char *s, char *host, size_t hostlen, unsigned *port);

int bc_settings_load(bc_settings *s, const char *(*lookup)(const char *name), char **envp,
		     void (*unknown)(const char *name), bc_err *err);

#endif
