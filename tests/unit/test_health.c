/* lib/core/health: which unhealthy containers are due a restart, when. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lib/core/health.h"

static bc_sick_obs
sick(const char *id, uint64_t period)
{
	bc_sick_obs o = {.app_id = 1, .period_ms = period};
	snprintf(o.service, sizeof(o.service), "svc-%s", id);
	snprintf(o.container, sizeof(o.container), "%s", id);
	return o;
}

static void
test_due_after_its_period(void **state)
{
	static bc_sick_table t;
	bc_sick_obs out[4], a = sick("a", 1000), b = sick("b", 5000), never = sick("n", 0);
	bc_sick_obs seen[] = {a, b, never};
	(void)state;

	t.n = 0;
	bc_sick_seen(&t, seen, 3, 100);
	assert_int_equal(bc_sick_next(&t), 1100);
	assert_int_equal(bc_sick_due(&t, 1099, out, 4), 0);
	/* seen again later: still unhealthy since 100 */
	bc_sick_seen(&t, seen, 3, 600);
	assert_int_equal(bc_sick_due(&t, 1100, out, 4), 1);
	assert_string_equal(out[0].container, "a");
	/* restarted: its period starts again */
	assert_int_equal(bc_sick_due(&t, 1100, out, 4), 0);
	assert_int_equal(bc_sick_next(&t), 2100);
	assert_int_equal(bc_sick_due(&t, 5100, out, 4), 2);
	/* never (period 0) is never due */
	for (size_t i = 0; i < 2; i++)
		assert_string_not_equal(out[i].container, "n");
}

static void
test_healthy_again_forgets(void **state)
{
	static bc_sick_table t;
	bc_sick_obs out[4], a = sick("a", 1000);
	(void)state;

	t.n = 0;
	bc_sick_seen(&t, &a, 1, 0);
	bc_sick_seen(&t, NULL, 0, 900); /* healthy again */
	assert_int_equal(bc_sick_next(&t), UINT64_MAX);
	bc_sick_seen(&t, &a, 1, 950); /* unhealthy anew: from now */
	assert_int_equal(bc_sick_due(&t, 1000, out, 4), 0);
	assert_int_equal(bc_sick_due(&t, 1950, out, 4), 1);
	/* no room: nothing taken, still due */
	bc_sick_seen(&t, &a, 1, 1950);
	assert_int_equal(bc_sick_due(&t, 5000, out, 0), 0);
	assert_int_equal(bc_sick_due(&t, 5000, out, 1), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_due_after_its_period),
	    cmocka_unit_test(test_healthy_again_forgets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
