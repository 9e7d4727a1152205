/* lib/core/logstream: the logger's cloud stream decisions, as tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/core/logstream.h"

#define NONE UINT64_MAX
static const bc_ls_queue EMPTY = {0}, SOME = {.unsent = true},
			 FULL = {.unsent = true, .full = true, .behind = true};

static void
test_config(void **state)
{
	bc_logstream s = {0};
	(void)state;

	/* local mode: off for good */
	bc_ls_config(&s, false, false, 100);
	assert_int_equal(s.state, BC_LS_OFF);
	assert_int_equal(bc_ls_due(&s, &FULL), NONE);
	/* a cloud, the device not registered yet: config.json again later */
	bc_ls_config(&s, true, false, 100);
	assert_int_equal(bc_ls_due(&s, &FULL), 100 + BC_LS_CONFIG_AGAIN_MS);
	assert_int_equal(bc_ls_fire(&s, &FULL), BC_LS_READ_CONFIG);
	assert_int_equal(bc_ls_due(&s, &FULL), NONE); /* until it is read */
	bc_ls_config(&s, true, true, 10100);
	assert_int_equal(s.state, BC_LS_IDLE);
	/* idle: a connection only when there is something to send */
	assert_int_equal(bc_ls_due(&s, &EMPTY), NONE);
	assert_int_equal(bc_ls_due(&s, &SOME), 0);
	assert_int_equal(bc_ls_fire(&s, &SOME), BC_LS_OPEN);
}

static void
test_stream(void **state)
{
	bc_logstream s = {0};
	bool say;
	(void)state;

	bc_ls_config(&s, true, true, 0);
	bc_ls_connecting(&s);
	assert_int_equal(bc_ls_due(&s, &FULL), NONE); /* the connect's own timeout */
	bc_ls_connected(&s, 1000);
	bc_ls_write_started(&s, 1000);
	assert_int_equal(bc_ls_due(&s, &FULL), NONE); /* one write at a time */
	bc_ls_write_done(&s, 1010);
	/* a few lines wait for company; a full write goes at once */
	assert_int_equal(bc_ls_due(&s, &SOME), 1010 + BC_LS_COALESCE_MS);
	assert_true(1010 + BC_LS_COALESCE_MS < 1010 + BC_LS_FLUSH_MS);
	assert_int_equal(bc_ls_due(&s, &FULL), 0);
	assert_int_equal(bc_ls_fire(&s, &SOME), BC_LS_WRITE);
	bc_ls_write_started(&s, 1030);
	bc_ls_write_done(&s, 1040);
	/* a minute with nothing: the body ends, its answer is waited for */
	assert_int_equal(bc_ls_due(&s, &EMPTY), 1040 + BC_LS_IDLE_CLOSE_MS);
	assert_int_equal(bc_ls_fire(&s, &EMPTY), BC_LS_END_BODY);
	assert_int_equal(s.state, BC_LS_CLOSING);
	bc_ls_write_started(&s, 61040);
	assert_int_equal(bc_ls_due(&s, &EMPTY), NONE);
	bc_ls_write_done(&s, 61050);
	assert_int_equal(bc_ls_due(&s, &SOME), 61050 + BC_LS_ANSWER_MS);
	/* a 201 then: a good end, no backoff; anything else is not */
	assert_false(bc_ls_answered_well(&s, 401));
	assert_true(bc_ls_answered_well(&s, 201));
	assert_int_equal(bc_ls_hung_up(&s, false, 61060, &say), 0);
	assert_false(say);
	assert_int_equal(s.state, BC_LS_IDLE);
	assert_int_equal(bc_ls_due(&s, &SOME), 0);
	/* while streaming, a status is never a good end */
	s.state = BC_LS_STREAMING;
	assert_false(bc_ls_answered_well(&s, 201));
	/* no answer to the body's end in time: given up, a failure */
	s.state = BC_LS_CLOSING;
	assert_int_equal(bc_ls_fire(&s, &EMPTY), BC_LS_GIVE_UP);
}

static void
test_backoff(void **state)
{
	bc_logstream s = {0};
	uint64_t now = 0;
	bool say;
	int said = 0;
	(void)state;

	bc_ls_config(&s, true, true, 0);
	for (int i = 0; i < 25; i++) {
		uint64_t want = (uint64_t)BC_LS_BACKOFF_MIN_MS << (i < 10 ? i : 10);
		bc_ls_connecting(&s);
		assert_int_equal(bc_ls_hung_up(&s, true, now, &say),
				 want < BC_LS_BACKOFF_MAX_MS ? want : BC_LS_BACKOFF_MAX_MS);
		said += say;
		assert_int_equal(bc_ls_due(&s, &SOME), s.retry_at);
		assert_int_equal(bc_ls_fire(&s, &SOME), BC_LS_OPEN);
		now = s.retry_at;
	}
	/* said the first time, then every tenth */
	assert_int_equal(said, 3);
	/* a connection that is up for a minute ends the backoff; a shorter
	 * one does not */
	bc_ls_connected(&s, now);
	bc_ls_write_done(&s, now + BC_LS_IDLE_CLOSE_MS);
	assert_int_equal(s.failures, 25);
	bc_ls_write_done(&s, now + BC_LS_IDLE_CLOSE_MS + 1);
	assert_int_equal(s.failures, 0);
}

static void
test_hold(void **state)
{
	bc_logstream s = {0};
	(void)state;

	bc_ls_config(&s, true, true, 0);
	/* only a stream that is up holds the reading back */
	assert_false(bc_ls_holds(&s, &FULL, 0));
	bc_ls_connected(&s, 0);
	assert_true(bc_ls_holds(&s, &FULL, 0));
	assert_false(bc_ls_holds(&s, &SOME, 0)); /* not behind: nothing to hold */
	/* a write that takes longer than the pace: slow, the buffer drops */
	bc_ls_write_started(&s, 100);
	assert_true(bc_ls_holds(&s, &FULL, 100 + BC_LS_PACE_MS - 1));
	assert_false(bc_ls_holds(&s, &FULL, 100 + BC_LS_PACE_MS));
	assert_int_equal(bc_ls_hold_until(&s, 500), 100 + BC_LS_PACE_MS);
	bc_ls_write_done(&s, 200);
	assert_int_equal(bc_ls_hold_until(&s, 500), 500 + BC_LS_PACE_MS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_stream),
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_hold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
