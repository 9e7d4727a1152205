/* lib/locks/held: the reconciler's leases, shared without a lock between
 * a round's workers and the loop. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "lib/locks/held.h"

static void
test_table(void **state)
{
	bc_held *t = calloc(1, sizeof(*t)), *c = calloc(1, sizeof(*c));
	size_t i = 0;
	int64_t a;
	uint64_t l;
	(void)state;

	assert_int_equal(bc_held_get(t, 7), 0);
	assert_false(bc_held_is_lost(t, 7));
	assert_int_equal(bc_held_set(t, 7, 70), 0);
	assert_int_equal(bc_held_set(t, 8, 80), 0);
	assert_int_equal(bc_held_get(t, 7), 70);
	assert_int_equal(bc_held_count(t), 2);
	/* a lease that is not the one held is not marked */
	bc_held_mark_lost(t, 7, 71);
	assert_false(bc_held_is_lost(t, 7));
	bc_held_mark_lost(t, 7, 70);
	assert_true(bc_held_is_lost(t, 7));
	assert_false(bc_held_is_lost(t, 8));
	/* taken anew: not lost any more */
	assert_int_equal(bc_held_set(t, 7, 72), 0);
	assert_false(bc_held_is_lost(t, 7));
	/* dropped: not walked, not counted, its slot kept for the app */
	assert_int_equal(bc_held_set(t, 8, 0), 0);
	assert_int_equal(bc_held_count(t), 1);
	assert_true(bc_held_next(t, &i, &a, &l));
	assert_int_equal(a, 7);
	assert_int_equal(l, 72);
	assert_false(bc_held_next(t, &i, &a, &l));
	/* a copy has the leases, not the marks */
	bc_held_mark_lost(t, 7, 72);
	bc_held_copy(c, t);
	assert_int_equal(bc_held_get(c, 7), 72);
	assert_false(bc_held_is_lost(c, 7));
	assert_int_equal(bc_held_count(c), 1);
	/* full: one app more is refused, dropping one that has none is not */
	for (int64_t app = 100; app < 100 + BC_HELD_MAX - 2; app++)
		assert_int_equal(bc_held_set(t, app, (uint64_t)app), 0);
	assert_int_equal(bc_held_set(t, 5000, 1), -1);
	assert_int_equal(bc_held_set(t, 5000, 0), 0);
	assert_int_equal(bc_held_set(t, 8, 81), 0); /* its slot is still its own */
	assert_int_equal(bc_held_count(t), BC_HELD_MAX);
	free(t);
	free(c);
}

/* Four workers take and drop leases of their own apps while another
 * thread marks them lost: every app ends with the last lease its worker
 * set, each app in one slot. */
struct worker {
	bc_held *t;
	int64_t base;
};

static void *
work(void *ud)
{
	struct worker *w = ud;
	for (uint64_t round = 1; round <= 2000; round++)
		for (int64_t a = w->base; a < w->base + 16; a++) {
			bc_held_set(w->t, a, round * 1000 + (uint64_t)a);
			(void)bc_held_is_lost(w->t, a);
		}
	return NULL;
}

static void *
marker(void *ud)
{
	bc_held *t = ud;
	for (int n = 0; n < 20000; n++) {
		int64_t a = n % 64;
		bc_held_mark_lost(t, a, bc_held_get(t, a));
	}
	return NULL;
}

static void
test_threads(void **state)
{
	bc_held *t = calloc(1, sizeof(*t));
	pthread_t th[5];
	struct worker w[4];
	size_t i = 0, slots = 0;
	int64_t a;
	uint64_t l;
	(void)state;

	for (int k = 0; k < 4; k++) {
		w[k] = (struct worker){t, k * 16};
		assert_int_equal(pthread_create(&th[k], NULL, work, &w[k]), 0);
	}
	assert_int_equal(pthread_create(&th[4], NULL, marker, t), 0);
	for (int k = 0; k < 5; k++)
		pthread_join(th[k], NULL);
	while (bc_held_next(t, &i, &a, &l)) {
		assert_int_equal(l, 2000 * 1000 + (uint64_t)a);
		slots++;
	}
	assert_int_equal(slots, 64);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
