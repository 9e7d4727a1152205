/* lib/lock: lockfiles on a real filesystem (a temp dir). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/locks/lock.h"

static char base[64];

static void
path(char *out, size_t n, const char *svc, const char *file)
{
	snprintf(out, n, "%s/7/%s/%s", base, svc, file);
}

static void
app_lock(const char *svc, const char *file)
{
	char p[256];
	FILE *f;
	path(p, sizeof(p), svc, file);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("held by the app\n", f);
	fclose(f);
}

static bc_strv
two(void)
{
	bc_strv v = {0};
	bc_strv_add(&v, "web");
	bc_strv_add(&v, "db");
	return v;
}

static void
test_take_release(void **state)
{
	bc_strv v = two();
	char d[256];
	uint64_t lease = 0;
	(void)state;
	assert_int_equal(bc_lock_take(base, 7, &v, 41, false, NULL, NULL), 0);
	bc_lock_dir(d, sizeof(d), base, 7, "web");
	assert_int_equal(bc_lock_holder(d, &lease), 2);
	assert_int_equal(lease, 41);
	/* the same lease again: fine; another lease: held (by us, not the app) */
	assert_int_equal(bc_lock_take(base, 7, &v, 41, false, NULL, NULL), 0);
	assert_int_equal(bc_lock_take(base, 7, &v, 42, false, NULL, NULL), 1);
	assert_int_equal(bc_lock_release(base, 7, &v, 42, NULL), 0); /* not its files */
	assert_int_equal(bc_lock_holder(d, NULL), 2);
	assert_int_equal(bc_lock_release(base, 7, &v, 41, NULL), 0);
	assert_int_equal(bc_lock_holder(d, NULL), 0);
	bc_strv_free(&v);
}

static void
test_app_holds(void **state)
{
	bc_strv v = two();
	const char *held = NULL;
	char d[256], p[256];
	(void)state;
	assert_int_equal(bc_lock_take(base, 7, &v, 1, false, NULL, NULL), 0);
	assert_int_equal(bc_lock_release(base, 7, &v, 1, NULL), 0);
	app_lock("db", "updates.lock");
	assert_int_equal(bc_lock_take(base, 7, &v, 5, false, &held, NULL), 1);
	assert_string_equal(held, "db");
	/* all or nothing: web was taken then undone */
	bc_lock_dir(d, sizeof(d), base, 7, "web");
	assert_int_equal(bc_lock_holder(d, NULL), 0);
	bc_lock_dir(d, sizeof(d), base, 7, "db");
	assert_int_equal(bc_lock_holder(d, NULL), 1);
	/* release and sweep never touch the app's file */
	assert_int_equal(bc_lock_release(base, 7, &v, 0, NULL), 0);
	assert_int_equal(bc_lock_sweep(base, NULL, NULL, NULL), 0);
	path(p, sizeof(p), "db", "updates.lock");
	assert_int_equal(access(p, F_OK), 0);
	/* the legacy name counts too */
	unlink(p);
	app_lock("db", "resin-updates.lock");
	assert_int_equal(bc_lock_holder(d, NULL), 1);
	/* force overrides the app */
	assert_int_equal(bc_lock_take(base, 7, &v, 9, true, NULL, NULL), 0);
	assert_int_equal(bc_lock_holder(d, NULL), 2);
	assert_int_equal(bc_lock_release(base, 7, &v, 9, NULL), 0);
	bc_strv_free(&v);
}

static bool
keep_odd(void *ud, uint64_t lease)
{
	(void)ud;
	return lease % 2 == 1;
}

static void
test_sweep_orphans(void **state)
{
	bc_strv a = {0}, b = {0};
	char d[256];
	(void)state;
	bc_strv_add(&a, "x");
	bc_strv_add(&b, "y");
	assert_int_equal(bc_lock_take(base, 7, &a, 3, false, NULL, NULL), 0); /* live */
	assert_int_equal(bc_lock_take(base, 7, &b, 4, false, NULL, NULL), 0); /* orphan */
	assert_int_equal(bc_lock_sweep(base, keep_odd, NULL, NULL), 2);	      /* both files of y */
	bc_lock_dir(d, sizeof(d), base, 7, "x");
	assert_int_equal(bc_lock_holder(d, NULL), 2);
	bc_lock_dir(d, sizeof(d), base, 7, "y");
	assert_int_equal(bc_lock_holder(d, NULL), 0);
	assert_int_equal(bc_lock_sweep(base, NULL, NULL, NULL), 2);
	bc_strv_free(&a);
	bc_strv_free(&b);
}

/* What an app may leave at its lock's name: never opened (a FIFO would
 * hang us, a device would be opened by root), never followed (a symlink
 * leads anywhere), and all of it counts as the app's lock; --force removes
 * each, a directory with what is in it, and nothing outside. */
static void
on_alarm(int sig)
{
	(void)sig;
	fprintf(stderr, "hung on an app's lock entry\n");
	_exit(1);
}

static void
test_hostile_entries(void **state)
{
	bc_strv web = {0};
	char d[256], p[512], outside[256], inner[600];
	const char *held = NULL;
	int kinds;
	(void)state;

	bc_strv_add(&web, "web");
	bc_lock_dir(d, sizeof(d), base, 7, "web");
	assert_int_equal(bc_lock_take(base, 7, &web, 50, false, NULL, NULL), 0); /* makes d */
	assert_int_equal(bc_lock_release(base, 7, &web, 50, NULL), 0);
	snprintf(p, sizeof(p), "%s/updates.lock", d);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	{
		FILE *f = fopen(outside, "w");
		assert_non_null(f);
		fputs("{\"owner\":\"balena-compose\",\"lease\":50}", f);
		fclose(f);
	}
	signal(SIGALRM, on_alarm);
	for (kinds = 0; kinds < 5; kinds++) {
		uint64_t l = 0;
		switch (kinds) {
		case 0: /* a FIFO: an open for reading would wait for a writer */
			assert_int_equal(mkfifo(p, 0644), 0);
			break;
		case 1: /* a device node (root only: skipped without) */
			if (mknod(p, S_IFCHR | 0644, makedev(1, 3)) < 0)
				continue;
			break;
		case 2: /* a dangling symlink */
			assert_int_equal(symlink("/nonexistent/x", p), 0);
			break;
		case 3: /* a symlink to a file that looks like ours */
			assert_int_equal(symlink(outside, p), 0);
			break;
		case 4: /* a directory, with a symlink out and a FIFO inside */
			assert_int_equal(mkdir(p, 0755), 0);
			snprintf(inner, sizeof(inner), "%s/out", p);
			assert_int_equal(symlink(base, inner), 0);
			snprintf(inner, sizeof(inner), "%s/fifo", p);
			assert_int_equal(mkfifo(inner, 0644), 0);
			break;
		}
		alarm(5);
		assert_int_equal(bc_lock_holder(d, &l), 1); /* the app's */
		assert_int_equal(bc_lock_take(base, 7, &web, 51, false, &held, NULL), 1);
		assert_string_equal(held, "web");
		assert_int_equal(bc_lock_release(base, 7, &web, 0, NULL), 0);
		{
			struct stat st;
			assert_int_equal(lstat(p, &st), 0); /* release left it alone */
		}
		assert_int_equal(bc_lock_take(base, 7, &web, 51, true, NULL, NULL), 0);
		alarm(0);
		assert_int_equal(bc_lock_holder(d, &l), 2);
		assert_int_equal(l, 51);
		assert_int_equal(bc_lock_release(base, 7, &web, 51, NULL), 0);
		assert_int_equal(access(outside, F_OK), 0); /* nothing outside went */
		assert_int_equal(access(base, F_OK), 0);
	}
	unlink(outside);
	bc_strv_free(&web);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/bc-lock-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_take_release),
	    cmocka_unit_test(test_app_holds),
	    cmocka_unit_test(test_sweep_orphans),
	    cmocka_unit_test(test_hostile_entries),
	};
	return cmocka_run_group_tests_name("lock", tests, setup, teardown);
}
