/* lib/fetch/backoff: a pull that failed waits, doubling up to the cap; a
 * pull that works, and nothing else, ends the wait. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lib/fetch/backoff.h"

#define WALL 1796600000000ULL /* 2026-12-06T... in ms */

static void
test_doubles_to_the_cap(void **state)
{
	bc_pull_backoff t = {0};
	char why[512], when[96];
	uint64_t now = 1000000, wait;
	(void)state;

	assert_false(bc_pull_backoff_waits(&t, "img:1", now, WALL, why, sizeof(why)));
	assert_int_equal(bc_pull_backoff_next(&t), UINT64_MAX);
	/* 2 s, 4 s, 8 s, ... never past the cap (60 s) */
	for (unsigned i = 0; i < 10; i++) {
		bc_pull_backoff_failed(&t, "img:1", "404 not found", now, WALL, 60000, when,
				       sizeof(when));
		wait = bc_pull_backoff_next(&t) - now;
		assert_int_equal(wait, i < 5 ? 2000ULL << i : 60000);
		assert_non_null(strstr(when, "next try at 20"));
		/* it waits until then, not a millisecond less */
		assert_true(
		    bc_pull_backoff_waits(&t, "img:1", now + wait - 1, WALL, why, sizeof(why)));
		assert_false(
		    bc_pull_backoff_waits(&t, "img:1", now + wait, WALL, why, sizeof(why)));
		now += wait;
	}
	assert_true(bc_pull_backoff_waits(&t, "img:1", now - 1, WALL, why, sizeof(why)));
	assert_non_null(strstr(why, "pull failed 10 time(s), last: 404 not found; next try at "));
	assert_non_null(strstr(why, "(in 1 s)"));
	/* another image is not held back by it */
	assert_false(bc_pull_backoff_waits(&t, "img:2", now - 1, WALL, why, sizeof(why)));
	/* a pull that works starts it over */
	bc_pull_backoff_ok(&t, "img:1");
	assert_false(bc_pull_backoff_waits(&t, "img:1", now - 1, WALL, why, sizeof(why)));
	bc_pull_backoff_failed(&t, "img:1", NULL, now, WALL, 60000, NULL, 0);
	assert_int_equal(bc_pull_backoff_next(&t) - now, 2000);
	bc_pull_backoff_clear(&t);
}

static void
test_bounded(void **state)
{
	bc_pull_backoff t = {0};
	char img[32];
	(void)state;

	/* a cap below the first wait still waits the first */
	bc_pull_backoff_failed(&t, "small", "x", 0, WALL, 10, NULL, 0);
	assert_int_equal(bc_pull_backoff_next(&t), 2000);
	for (int i = 0; i < BC_PULL_BACKOFF_MAX_IMAGES + 10; i++) {
		snprintf(img, sizeof(img), "img:%d", i);
		bc_pull_backoff_failed(&t, img, "x", (uint64_t)i, WALL, 60000, NULL, 0);
	}
	assert_int_equal(t.n, BC_PULL_BACKOFF_MAX_IMAGES);
	/* the ones due first went: the newest are there */
	assert_non_null(bc_pull_backoff_get(&t, "img:265"));
	assert_null(bc_pull_backoff_get(&t, "small"));
	bc_pull_backoff_clear(&t);
}

/* A copy is the round's: what the loop writes later does not reach it, and
 * after() says when a failure would put the next try without writing. */
static void
test_copy_and_after(void **state)
{
	bc_pull_backoff t = {0}, c = {0};
	char when[96], why[512];
	(void)state;

	bc_pull_backoff_failed(&t, "a", "boom", 0, WALL, 60000, NULL, 0);
	bc_pull_backoff_failed(&t, "a", "boom again", 0, WALL, 60000, NULL, 0);
	assert_int_equal(bc_pull_backoff_copy(&c, &t), 0);
	bc_pull_backoff_ok(&t, "a");
	assert_null(bc_pull_backoff_get(&t, "a"));
	assert_true(bc_pull_backoff_waits(&c, "a", 10, WALL, why, sizeof(why)));
	assert_non_null(strstr(why, "pull failed 2 time(s), last: boom again;"));
	/* a third failure would wait 8 s; the copy is unchanged by asking */
	assert_int_equal(bc_pull_backoff_after(&c, "a", 100, WALL, 60000, when, sizeof(when)),
			 8100);
	assert_non_null(strstr(when, "(in 8 s)"));
	assert_int_equal(bc_pull_backoff_get(&c, "a")->fails, 2);
	assert_int_equal(bc_pull_backoff_after(&c, "b", 100, WALL, 60000, NULL, 0), 2100);
	/* the loop writes the same failure with the same now: the same time */
	bc_pull_backoff_failed(&c, "a", "x", 100, WALL, 60000, NULL, 0);
	assert_int_equal(bc_pull_backoff_next(&c), 8100);
	bc_pull_backoff_clear(&c);
	assert_int_equal(bc_pull_backoff_copy(&c, &t), 0);
	assert_int_equal(c.n, 0);
	bc_pull_backoff_clear(&c);
	bc_pull_backoff_clear(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_doubles_to_the_cap),
	    cmocka_unit_test(test_bounded),
	    cmocka_unit_test(test_copy_and_after),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
