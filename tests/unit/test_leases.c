/* lib/leases: the locker's lease table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/locks/leases.h"

static bc_strv
names(const char *a, const char *b)
{
	bc_strv v = {0};
	bc_strv_add(&v, a);
	if (b)
		bc_strv_add(&v, b);
	return v;
}

static void
test_take_renew_expire(void **state)
{
	static bc_leases t; /* zeroed: every slot free */
	bc_strv s1 = names("web", "db"), s2 = names("api", NULL);
	bc_lease *a, *b, *due;
	uint64_t next;
	(void)state;

	a = bc_leases_slot(&t);
	bc_leases_set(a, 11, 1, &s1, 1000);
	assert_int_equal(s1.n, 0); /* moved in */
	b = bc_leases_slot(&t);
	assert_ptr_not_equal(a, b);
	bc_leases_set(b, 22, 2, &s2, 1500);

	assert_ptr_equal(bc_leases_get(&t, 11, 1), a);
	assert_ptr_equal(bc_leases_get(&t, 11, 0), a);
	assert_null(bc_leases_get(&t, 11, 2)); /* another app's id is not ours */
	assert_null(bc_leases_get(&t, 0, 0));

	/* nothing due yet: the earliest expiry is the wake-up */
	assert_null(bc_leases_expired(&t, 999, &next));
	assert_int_equal(next, 1000);
	/* the first is due; after it is cleared, the second is next */
	due = bc_leases_expired(&t, 1000, &next);
	assert_ptr_equal(due, a);
	assert_int_equal(next, 1500);
	bc_leases_clear(due);
	assert_null(bc_leases_get(&t, 11, 1));
	assert_null(bc_leases_expired(&t, 1000, &next));
	assert_int_equal(next, 1500);
	/* renewed: lives on */
	bc_leases_get(&t, 22, 2)->expires = 5000;
	assert_null(bc_leases_expired(&t, 2000, &next));
	assert_int_equal(next, 5000);
	bc_leases_clear(b);
	assert_null(bc_leases_expired(&t, 9999, &next));
	assert_int_equal(next, UINT64_MAX);
}

static void
test_full_table_and_ids(void **state)
{
	static bc_leases t;
	(void)state;
	for (size_t i = 0; i < BC_LEASES_MAX; i++) {
		bc_strv s = names("s", NULL);
		bc_lease *ls = bc_leases_slot(&t);
		assert_non_null(ls);
		bc_leases_set(ls, i + 1, 7, &s, 100);
	}
	assert_null(bc_leases_slot(&t)); /* bounded */
	for (size_t i = 0; i < BC_LEASES_MAX; i++)
		bc_leases_clear(&t.slot[i]);
	assert_non_null(bc_leases_slot(&t));
	assert_int_equal(bc_lease_id(0), 1);
	assert_int_equal(bc_lease_id(UINT64_MAX), INT64_MAX);
	assert_int_equal(bc_lease_id(42), 42);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_take_renew_expire),
	    cmocka_unit_test(test_full_table_and_ids),
	};
	return cmocka_run_group_tests_name("leases", tests, NULL, NULL);
}
