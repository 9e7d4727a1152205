/* lib/core/gateway: the gateway's poll and report decisions, as tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/core/gateway.h"
#include "lib/cloud/report.h"

#define NONE UINT64_MAX
#define MIN 600000 /* a poll interval of 10 min */

static void
test_poll_schedule(void **state)
{
	bc_gw_poll p;
	(void)state;

	bc_gw_poll_init(&p, MIN, 1000);
	/* the first at once; none for a device not registered */
	assert_int_equal(bc_gw_poll_due(&p, true), 1000);
	assert_int_equal(bc_gw_poll_due(&p, false), NONE);
	bc_gw_poll_sent(&p, 1000);
	assert_int_equal(bc_gw_poll_due(&p, true), NONE);
	/* it went well: the interval plus the jitter (bounded by 60 s) */
	bc_gw_poll_answered(&p);
	assert_int_equal(bc_gw_poll_ended(&p, true, 2000, 123), 0);
	assert_int_equal(bc_gw_poll_due(&p, true), 2000 + MIN + 123);
	bc_gw_poll_sent(&p, 5000);
	bc_gw_poll_ended(&p, true, 5000, 60000 + 7);
	assert_int_equal(p.next, 5000 + MIN + 7);
	/* failures back off from the cloud's minimum, doubling to the interval */
	uint64_t now = 10000, want = BC_CLOUD_BACKOFF_MIN_MS;
	for (int i = 0; i < 12; i++) {
		bc_gw_poll_sent(&p, now);
		bc_gw_poll_ended(&p, false, now, 0);
		assert_int_equal(bc_gw_poll_due(&p, true) - now, want < MIN ? want : MIN);
		want *= 2;
		now += 1;
	}
	/* one that works ends the backoff */
	bc_gw_poll_sent(&p, now);
	bc_gw_poll_ended(&p, true, now, 0);
	assert_int_equal(p.errors, 0);
	assert_int_equal(p.next, now + MIN);
}

static void
test_poll_clients(void **state)
{
	bc_gw_poll p;
	(void)state;

	bc_gw_poll_init(&p, MIN, 0);
	bc_gw_poll_sent(&p, 0);
	bc_gw_poll_ended(&p, true, 10, 0);
	/* a client asks: a poll at once, which is its */
	assert_int_equal(bc_gw_poll_ask(&p, 100), 0);
	assert_int_equal(bc_gw_poll_due(&p, true), 100);
	bc_gw_poll_sent(&p, 100);
	assert_int_equal(p.n_asked, 1);
	/* another asks while it is out (answered within 2 s): it waits for
	 * the next poll, sent right after this one */
	assert_int_equal(bc_gw_poll_ask(&p, 500), 0);
	bc_gw_poll_answered(&p);
	assert_int_equal(bc_gw_poll_ended(&p, true, 600, 0), 1);
	assert_int_equal(p.n_waiters, 1);
	assert_int_equal(bc_gw_poll_due(&p, true), 600);
	bc_gw_poll_sent(&p, 600);
	assert_int_equal(p.n_asked, 1);
	/* a client that asks after 2 s with no answer: the poll is given up
	 * (once), and everyone waits on a new one sent at once */
	assert_int_equal(bc_gw_poll_ask(&p, 2601), 1);
	assert_int_equal(bc_gw_poll_ask(&p, 2700), 0);
	assert_int_equal(bc_gw_poll_verdict(&p, &(bc_gw_answer){.cancelled = true}),
			 BC_GW_POLL_GIVEN_UP);
	bc_gw_poll_answered(&p);
	bc_gw_poll_given_up(&p, 2800);
	assert_int_equal(p.n_waiters, 3);
	assert_int_equal(bc_gw_poll_due(&p, true), 2800);
	bc_gw_poll_sent(&p, 2800);
	assert_int_equal(p.n_asked, 3);
	/* its answer came; while its target is handed over, a client that
	 * asks gives nothing up: it waits for the next */
	bc_gw_poll_answered(&p);
	assert_int_equal(bc_gw_poll_ask(&p, 9000), 0);
	assert_int_equal(bc_gw_poll_due(&p, true), NONE);
	assert_int_equal(bc_gw_poll_ended(&p, true, 9100, 0), 3);
	assert_int_equal(p.n_waiters, 1);
	assert_int_equal(bc_gw_poll_due(&p, true), 9100);
	/* at most BC_GW_MAX_WAITERS wait */
	for (int i = 1; i < BC_GW_MAX_WAITERS; i++)
		assert_int_equal(bc_gw_poll_ask(&p, 9200), 0);
	assert_int_equal(bc_gw_poll_ask(&p, 9200), -1);
	assert_int_equal(p.n_waiters, BC_GW_MAX_WAITERS);
	/* a cancel that was not a giving up (the daemon stops) is no GIVEN_UP */
	bc_gw_poll_sent(&p, 9300);
	assert_int_equal(bc_gw_poll_verdict(&p, &(bc_gw_answer){.cancelled = true}),
			 BC_GW_POLL_UNREACHABLE);
}

static void
test_poll_verdicts(void **state)
{
	bc_gw_poll p;
	(void)state;
	bc_gw_poll_init(&p, MIN, 0);
	const struct {
		bc_gw_answer a;
		enum bc_gw_poll_verdict v;
		bool ok, error;
	} rows[] = {
	    {{.too_large = true}, BC_GW_POLL_TOO_LARGE, false, true},
	    {{.answered = false}, BC_GW_POLL_UNREACHABLE, false, true},
	    {{.answered = true, .status = 304, .etag_refused = true, .have_target = true},
	     BC_GW_POLL_STILL_REFUSED,
	     true,
	     true},
	    {{.answered = true, .status = 304, .have_target = true},
	     BC_GW_POLL_UNCHANGED,
	     true,
	     false},
	    {{.answered = true, .status = 304}, BC_GW_POLL_UNKNOWN, false, true},
	    {{.answered = true, .status = 200}, BC_GW_POLL_NEW, true, false},
	    {{.answered = true, .status = 200, .etag_refused = true}, BC_GW_POLL_NEW, true, false},
	    {{.answered = true, .status = 401}, BC_GW_POLL_FAILED, false, true},
	    {{.answered = true, .status = 503}, BC_GW_POLL_FAILED, false, true},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		enum bc_gw_poll_verdict v = bc_gw_poll_verdict(&p, &rows[i].a);
		if (v != rows[i].v || bc_gw_poll_verdict_ok(v) != rows[i].ok ||
		    bc_gw_poll_verdict_error(v) != rows[i].error)
			fail_msg("row %zu: verdict %d ok %d error %d", i, v,
				 bc_gw_poll_verdict_ok(v), bc_gw_poll_verdict_error(v));
	}
}

static void
test_report(void **state)
{
	bc_gw_report r;
	(void)state;

	bc_gw_report_init(&r, MIN);
	/* nothing until there is something to say */
	assert_int_equal(bc_gw_report_due(&r, true), NONE);
	bc_gw_report_soon(&r, 100);
	assert_int_equal(bc_gw_report_due(&r, true), 100);
	assert_int_equal(bc_gw_report_due(&r, false), NONE);
	/* a later time does not push it back */
	bc_gw_report_soon(&r, 5000);
	assert_int_equal(r.next, 100);
	bc_gw_report_sent(&r);
	assert_int_equal(bc_gw_report_due(&r, true), NONE);
	bc_gw_report_accepted(&r, 200);
	assert_int_equal(r.last_sent, 200);
	assert_int_equal(bc_gw_report_due(&r, true), NONE);
	/* failures back off; Retry-After is honoured; what changes meanwhile
	 * waits for the backoff */
	bc_gw_report_soon(&r, 300);
	bc_gw_report_sent(&r);
	assert_int_equal(bc_gw_report_failed(&r, 400, 0), BC_CLOUD_BACKOFF_MIN_MS);
	assert_int_equal(bc_gw_report_due(&r, true), 400 + BC_CLOUD_BACKOFF_MIN_MS);
	bc_gw_report_soon(&r, 401);
	assert_int_equal(r.next, 400 + BC_CLOUD_BACKOFF_MIN_MS);
	bc_gw_report_sent(&r);
	assert_int_equal(bc_gw_report_failed(&r, 500, 0), 2 * BC_CLOUD_BACKOFF_MIN_MS);
	bc_gw_report_sent(&r);
	assert_int_equal(bc_gw_report_failed(&r, 600, 42), 42000);
	assert_int_equal(r.next, 42600);
	/* accepted: the backoff is over, a change goes at its time again */
	bc_gw_report_sent(&r);
	bc_gw_report_accepted(&r, 50000);
	assert_int_equal(r.errors, 0);
	bc_gw_report_soon(&r, 50001);
	assert_int_equal(r.next, 50001);
	/* nothing to send: none due; could not send: again later */
	bc_gw_report_nothing(&r);
	assert_int_equal(bc_gw_report_due(&r, true), NONE);
	bc_gw_report_soon(&r, 60000);
	bc_gw_report_sent(&r);
	bc_gw_report_not_sent(&r, 60000, BC_REPORT_EVERY_MS);
	assert_int_equal(bc_gw_report_due(&r, true), 60000 + BC_REPORT_EVERY_MS);
}

static void
test_provisioning(void **state)
{
	(void)state;
	const struct {
		bool lookup; /* else register */
		bool answered;
		long status;
		int64_t id;
		enum bc_gw_prov_next next;
	} rows[] = {
	    {false, true, 201, 42, BC_GW_PROV_REGISTERED},
	    {false, true, 201, 0, BC_GW_PROV_RETRY},  /* 201 without a device id */
	    {false, true, 409, 0, BC_GW_PROV_LOOKUP}, /* registered before? */
	    {false, true, 401, 0, BC_GW_PROV_RETRY},
	    {false, true, 500, 0, BC_GW_PROV_RETRY},
	    {false, false, 0, 0, BC_GW_PROV_RETRY},	   /* no answer */
	    {true, true, 200, 42, BC_GW_PROV_REGISTERED},  /* ours: a restart mid-way */
	    {true, true, 200, 0, BC_GW_PROV_NEW_IDENTITY}, /* someone else's uuid */
	    {true, true, 404, 0, BC_GW_PROV_RETRY},
	    {true, false, 0, 42, BC_GW_PROV_RETRY},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		enum bc_gw_prov_next n =
		    rows[i].lookup
			? bc_gw_prov_after_lookup(rows[i].answered, rows[i].status, rows[i].id)
			: bc_gw_prov_after_register(rows[i].answered, rows[i].status, rows[i].id);
		if (n != rows[i].next)
			fail_msg("row %zu: %d, not %d", i, n, rows[i].next);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_poll_schedule), cmocka_unit_test(test_poll_clients),
	    cmocka_unit_test(test_poll_verdicts), cmocka_unit_test(test_report),
	    cmocka_unit_test(test_provisioning),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
