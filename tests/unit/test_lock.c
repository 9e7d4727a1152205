/* lib/lock: lockfiles on a real filesystem (a temp dir). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	};
	return cmocka_run_group_tests_name("lock", tests, setup, teardown);
}
