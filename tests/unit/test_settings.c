/* lib/settings: every BC_* setting checked once; a bad one is named with
 * what is allowed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ipc/settings.h"

static const char *const *table; /* NAME, VALUE, ..., NULL */

static const char *
lookup(const char *name)
{
	for (size_t i = 0; table && table[i]; i += 2)
		if (strcmp(table[i], name) == 0)
			return table[i + 1];
	return NULL;
}

static char unknown_seen[256];

static void
unknown(const char *name)
{
	snprintf(unknown_seen + strlen(unknown_seen), sizeof(unknown_seen) - strlen(unknown_seen),
		 "%s ", name);
}

static void
test_defaults(void **state)
{
	bc_settings s;
	bc_err err = {0};
	(void)state;
	table = NULL;
	assert_int_equal(bc_settings_load(&s, lookup, NULL, NULL, &err), 0);
	assert_string_equal(s.rundir, "/run/balena-compose");
	assert_string_equal(s.statedir, "/var/lib/balena-compose");
	assert_string_equal(s.lockdir, "/run/balena-compose/locks");
	assert_string_equal(s.config, "/mnt/boot/config.json");
	assert_int_equal(s.workers, 4);
	assert_int_equal(s.fetch_concurrency, 3);
	assert_int_equal(s.pull_retries, 5);
	assert_int_equal(s.lock_ttl_ms, 60000);
	assert_string_equal(s.disk_reserve, "");
	assert_int_equal(s.n_scope, 0);
	assert_int_equal(s.log_buffer, 256 << 10);
	assert_string_equal(s.log_remote, "");
	assert_int_equal(s.settle_ms, 30000);
	assert_int_equal(s.unhealthy_ms, 60000);
}

/* BC_SETTLE_PERIOD, BC_UNHEALTHY_RESTART: a duration, 0 to a day */
static void
test_settle_period(void **state)
{
	static const struct {
		const char *v;
		int64_t ms; /* -1: refused */
	} t[] = {{"0", 0},	  {"0s", 0},	  {"1m30s", 90000}, {"250ms", 250}, {"45", 45000},
		 {"24h", 86400000}, {"25h", -1},  {"-1s", -1},	    {"soon", -1},   {"3 s", -1}};
	(void)state;
	for (size_t i = 0; i < 2 * sizeof(t) / sizeof(t[0]); i++) {
		size_t k = i % (sizeof(t) / sizeof(t[0]));
		bool settle = i < sizeof(t) / sizeof(t[0]);
		const char *name = settle ? "BC_SETTLE_PERIOD" : "BC_UNHEALTHY_RESTART";
		const char *tab[] = {name, t[k].v, NULL};
		bc_settings s;
		bc_err err = {0};
		table = tab;
		int rc = bc_settings_load(&s, lookup, NULL, NULL, &err);
		uint64_t got = settle ? s.settle_ms : s.unhealthy_ms;
		if (t[k].ms < 0) {
			if (rc != -1 || strstr(err.msg, name) == NULL)
				fail_msg("%s '%s' accepted or not named: %s", name, t[k].v, err.msg);
		} else if (rc != 0 || got != (uint64_t)t[k].ms) {
			fail_msg("%s '%s': rc %d, %llu ms (%s)", name, t[k].v, rc,
				 (unsigned long long)got, err.msg);
		}
	}
	table = NULL;
}

/* the logger's: BC_LOG_BUFFER sizes; BC_LOG_REMOTE off, or a tls+tcp URL
 * with both certificate files */
static void
test_log_settings(void **state)
{
	static const char *const ok[] = {"BC_LOG_BUFFER",
					 "1M",
					 "BC_LOG_REMOTE",
					 "tls+tcp://0.0.0.0:48484",
					 "BC_LOG_REMOTE_CERT",
					 "/a/c.pem",
					 "BC_LOG_REMOTE_CLIENTS",
					 "/a/clients.pem",
					 NULL};
	static const char *const bad[][9] = {
	    {"BC_LOG_BUFFER", "1K", NULL},
	    {"BC_LOG_BUFFER", "65M", NULL},
	    {"BC_LOG_BUFFER", "12x", NULL},
	    {"BC_LOG_BUFFER", "99999999999999999999", NULL},
	    {"BC_LOG_REMOTE", "tcp://0.0.0.0:1", "BC_LOG_REMOTE_CERT", "/c",
	     "BC_LOG_REMOTE_CLIENTS", "/k", NULL},
	    {"BC_LOG_REMOTE", "tls+tcp://host", "BC_LOG_REMOTE_CERT", "/c", "BC_LOG_REMOTE_CLIENTS",
	     "/k", NULL},
	    {"BC_LOG_REMOTE", "tls+tcp://host:0", "BC_LOG_REMOTE_CERT", "/c",
	     "BC_LOG_REMOTE_CLIENTS", "/k", NULL},
	    {"BC_LOG_REMOTE", "tls+tcp://h o:1", "BC_LOG_REMOTE_CERT", "/c",
	     "BC_LOG_REMOTE_CLIENTS", "/k", NULL},
	    {"BC_LOG_REMOTE", "tls+tcp://host:1", "BC_LOG_REMOTE_CERT", "/c", NULL},
	    {"BC_LOG_REMOTE", "tls+tcp://host:1", "BC_LOG_REMOTE_CERT", "c.pem",
	     "BC_LOG_REMOTE_CLIENTS", "/k", NULL},
	    {"BC_LOG_REMOTE_CERT", "/c", NULL},
	    {"BC_LOG_SPOOL", "spool", NULL},
	    {"BC_LOG_SPOOL_MAX", "2048M", NULL},
	};
	const char *const named[] = {"BC_LOG_BUFFER",	   "BC_LOG_BUFFER", "BC_LOG_BUFFER",
				     "BC_LOG_BUFFER",	   "BC_LOG_REMOTE", "BC_LOG_REMOTE",
				     "BC_LOG_REMOTE",	   "BC_LOG_REMOTE", "BC_LOG_REMOTE_CLIENTS",
				     "BC_LOG_REMOTE_CERT", "BC_LOG_REMOTE", "BC_LOG_SPOOL",
				     "BC_LOG_SPOOL_MAX"};
	bc_settings s;
	bc_err err = {0};
	(void)state;
	table = ok;
	assert_int_equal(bc_settings_load(&s, lookup, NULL, NULL, &err), 0);
	assert_int_equal(s.log_buffer, 1 << 20);
	assert_string_equal(s.log_remote, "tls+tcp://0.0.0.0:48484");
	assert_string_equal(s.log_remote_cert, "/a/c.pem");
	assert_string_equal(s.log_remote_clients, "/a/clients.pem");
	assert_string_equal(s.log_spool, "");
	assert_int_equal(s.log_spool_max, 16 << 20);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		table = bad[i];
		memset(&err, 0, sizeof(err));
		if (bc_settings_load(&s, lookup, NULL, NULL, &err) != -1)
			fail_msg("case %zu (%s=%s) accepted", i, bad[i][0], bad[i][1]);
		if (strstr(err.msg, named[i]) == NULL)
			fail_msg("case %zu: '%s' does not name %s", i, err.msg, named[i]);
	}
}

static void
test_values(void **state)
{
	static const char *const t[] = {"BC_WORKERS",
					"8",
					"BC_SCOPE_APPS",
					"1,22,333",
					"BC_DISK_RESERVE",
					"15%",
					"BC_STATEDIR",
					"/data/bc",
					"BC_PULL_RETRIES",
					"0",
					"BC_CONFIG",
					"/x/config.json",
					NULL};
	char *env[] = {"PATH=/bin",	  "BC_WORKERS=8", "BC_WORKER=3",
		       "BC_SCOPE_APPS=1", "BCX=1",	  NULL};
	bc_settings s;
	bc_err err = {0};
	(void)state;
	table = t;
	unknown_seen[0] = '\0';
	assert_int_equal(bc_settings_load(&s, lookup, env, unknown, &err), 0);
	assert_int_equal(s.workers, 8);
	assert_int_equal(s.pull_retries, 0);
	assert_int_equal(s.n_scope, 3);
	assert_int_equal(s.scope[2], 333);
	assert_true(bc_settings_in_scope(&s, 22));
	assert_false(bc_settings_in_scope(&s, 2));
	assert_string_equal(s.disk_reserve, "15%");
	assert_string_equal(s.statedir, "/data/bc");
	assert_string_equal(s.config, "/x/config.json"); /* was lib/config's own */
	/* a typo of a known name is told, the known ones are not */
	assert_string_equal(unknown_seen, "BC_WORKER ");
	s.n_scope = 0; /* not set: every app */
	assert_true(bc_settings_in_scope(&s, 2));
}

/* BC_SCOPE_APPS: up to 256 ids (it kept 64 once, silently), then an error */
static void
test_scope_many(void **state)
{
	static char list[257 * 8];
	const char *t[] = {"BC_SCOPE_APPS", list, NULL};
	bc_settings s;
	bc_err err = {0};
	size_t len = 0;
	(void)state;

	for (int i = 1; i <= 256; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d", i > 1 ? "," : "",
					1000 + i);
	table = t;
	assert_int_equal(bc_settings_load(&s, lookup, NULL, NULL, &err), 0);
	assert_int_equal(s.n_scope, 256);
	assert_int_equal(s.scope[255], 1256);
	snprintf(list + len, sizeof(list) - len, ",2000");
	assert_int_equal(bc_settings_load(&s, lookup, NULL, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "BC_SCOPE_APPS: at most 256 app ids"));
}

static void
test_bad_values_named(void **state)
{
	static const struct {
		const char *name, *value, *want;
	} bad[] = {
	    {"BC_WORKERS", "abc", "BC_WORKERS='abc': allowed is a whole number 1..8"},
	    {"BC_WORKERS", "0", "1..8"},
	    {"BC_WORKERS", "9", "1..8"},
	    {"BC_WORKERS", "4 ", "1..8"},
	    {"BC_FETCH_CONCURRENCY", "-1", "BC_FETCH_CONCURRENCY='-1'"},
	    {"BC_PULL_RETRIES", "101", "0..100"},
	    {"BC_LOCK_TTL_MS", "99", "100..86400000"},
	    {"BC_LOCK_TTL_MS", "99999999999999999999999", "100..86400000"},
	    {"BC_SCOPE_APPS", "1,,2", "comma-separated list of app ids"},
	    {"BC_SCOPE_APPS", "1,", "comma-separated"},
	    {"BC_SCOPE_APPS", "x", "comma-separated"},
	    {"BC_DISK_RESERVE", "101%", "BC_DISK_RESERVE='101%': allowed is N% (0..100) or a size"},
	    {"BC_DISK_RESERVE", "lots", "allowed is N%"},
	    {"BC_STATEDIR", "relative/dir",
	     "BC_STATEDIR='relative/dir': an absolute path is needed"},
	    {"BC_RUNDIR", "run", "BC_RUNDIR"},
	    {"DOCKER_HOST", "tcp://10.0.0.1:2375",
	     "DOCKER_HOST='tcp://10.0.0.1:2375': the engine is reached by a unix socket only"},
	    {"DOCKER_HOST", "unix://relative.sock", "unix:///PATH"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *t[] = {bad[i].name, bad[i].value, NULL};
		bc_settings s;
		bc_err err = {0};
		table = t;
		if (bc_settings_load(&s, lookup, NULL, NULL, &err) != -1)
			fail_msg("accepted %s=%s", bad[i].name, bad[i].value);
		if (strstr(err.msg, bad[i].want) == NULL)
			fail_msg("%s=%s: '%s' lacks '%s'", bad[i].name, bad[i].value, err.msg,
				 bad[i].want);
	}
}

static void
test_scope_bound(void **state)
{
	char big[BC_SETTINGS_MAX_SCOPE * 4 + 16] = "";
	const char *t[] = {"BC_SCOPE_APPS", big, NULL};
	bc_settings s;
	bc_err err = {0};
	(void)state;
	for (int i = 0; i <= BC_SETTINGS_MAX_SCOPE; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s%d", i ? "," : "", i + 1);
	table = t;
	assert_int_equal(bc_settings_load(&s, lookup, NULL, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "at most 256")); /* not silently cut */
}

/* one parser of HOST[:PORT] for BC_LOG_REMOTE and logs --remote */
static void
test_hostport(void **state)
{
	static const char *const good[][3] = {{"dev", "dev", "0"},
					      {"dev:1", "dev", "1"},
					      {"10.0.0.2:65535", "10.0.0.2", "65535"},
					      {"[::1]", "::1", "0"},
					      {"[fe80::1]:99", "fe80::1", "99"},
					      {"a-b_c.d", "a-b_c.d", "0"}};
	static const char *const bad[] = {"",	    ":5",     "h:",   "h:0",   "h:65536",
					  "h:+1",   "h:1x",   "h o",  "a/b",   "[::1",
					  "[::1]x", "[g::1]", "[]:1", "h:1:2", "a[b]:1"};
	char host[64];
	unsigned port;
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (bc_hostport(good[i][0], host, sizeof(host), &port) != 0)
			fail_msg("'%s' refused", good[i][0]);
		assert_string_equal(host, good[i][1]);
		assert_int_equal(port, strtoul(good[i][2], NULL, 10));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (bc_hostport(bad[i], host, sizeof(host), &port) == 0)
			fail_msg("'%s' accepted", bad[i]);
	assert_int_equal(bc_hostport("abcdefgh", host, 8, &port), -1); /* no room */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_settle_period),	cmocka_unit_test(test_log_settings),
	    cmocka_unit_test(test_hostport),	cmocka_unit_test(test_values),
	    cmocka_unit_test(test_scope_many),	cmocka_unit_test(test_bad_values_named),
	    cmocka_unit_test(test_scope_bound),
	};
	return cmocka_run_group_tests_name("settings", tests, NULL, NULL);
}
