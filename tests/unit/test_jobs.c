/* lib/jobs: the fetcher's job table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fetch/jobs.h"

static void
test_coalesce_order_end(void **state)
{
	static bc_jobs t;
	bool fresh;
	bc_job *a, *b, *a2, *run;
	char *auth = NULL;
	(void)state;

	a = bc_jobs_submit(&t, "reg/a:1", "secret-a", &fresh);
	assert_true(fresh);
	assert_int_equal(a->id, 1);
	b = bc_jobs_submit(&t, "reg/b:1", NULL, &fresh);
	assert_int_equal(b->id, 2);
	/* the same image again: the same job */
	a2 = bc_jobs_submit(&t, "reg/a:1", "other", &fresh);
	assert_ptr_equal(a2, a);
	assert_false(fresh);
	assert_true(bc_jobs_in_flight(&t, "reg/a:1"));
	assert_false(bc_jobs_in_flight(&t, "reg/c:1"));

	/* oldest first; its auth goes to the worker */
	run = bc_jobs_start_next(&t, &auth);
	assert_ptr_equal(run, a);
	assert_int_equal(a->state, BC_JOB_PULLING);
	assert_string_equal(auth, "secret-a");
	assert_null(a->auth);
	free(auth);
	/* still one job while it pulls */
	assert_ptr_equal(bc_jobs_submit(&t, "reg/a:1", NULL, &fresh), a);

	bc_jobs_end(a, BC_JOB_DONE, "sha256:1", NULL);
	assert_int_equal(a->percent, 100);
	assert_string_equal(bc_job_state_name(a->state), "done");
	assert_false(bc_jobs_in_flight(&t, "reg/a:1"));
	/* ended: asking again makes a new job */
	a2 = bc_jobs_submit(&t, "reg/a:1", NULL, &fresh);
	assert_true(fresh);
	assert_int_equal(a2->id, 3);
	assert_ptr_equal(bc_jobs_get(&t, 1), a);
	assert_null(bc_jobs_get(&t, 99));
	assert_null(bc_jobs_get(&t, 0));
}

static void
test_cancel(void **state)
{
	static bc_jobs t;
	bool fresh;
	bc_job *q, *p;
	char *auth = NULL;
	(void)state;

	p = bc_jobs_submit(&t, "reg/p:1", NULL, &fresh);
	q = bc_jobs_submit(&t, "reg/q:1", "secret-q", &fresh);
	assert_ptr_equal(bc_jobs_start_next(&t, &auth), p);
	/* a queued job ends at once, its secret wiped and freed */
	assert_int_equal(bc_jobs_cancel(q), 1);
	assert_int_equal(q->state, BC_JOB_CANCELLED);
	assert_string_equal(q->error, "cancelled");
	assert_null(q->auth);
	/* a pulling one is only marked: its worker stops it */
	assert_int_equal(bc_jobs_cancel(p), 0);
	assert_true(p->cancel);
	assert_int_equal(p->state, BC_JOB_PULLING);
	assert_null(bc_jobs_start_next(&t, &auth)); /* nothing queued any more */
}

static void
test_bounded(void **state)
{
	static bc_jobs t;
	bool fresh;
	char img[32];
	bc_job *j;
	(void)state;

	for (int i = 0; i < BC_JOBS_MAX; i++) {
		snprintf(img, sizeof(img), "reg/i%d:1", i);
		assert_non_null(bc_jobs_submit(&t, img, NULL, &fresh));
	}
	/* every job in flight: refused */
	assert_null(bc_jobs_submit(&t, "reg/more:1", NULL, &fresh));
	/* two end; the oldest ended slot is reused first */
	bc_jobs_end(bc_jobs_get(&t, 7), BC_JOB_FAILED, NULL, "no");
	bc_jobs_end(bc_jobs_get(&t, 3), BC_JOB_DONE, "sha", NULL);
	j = bc_jobs_submit(&t, "reg/more:1", NULL, &fresh);
	assert_non_null(j);
	assert_null(bc_jobs_get(&t, 3)); /* it took job 3's slot */
	assert_non_null(bc_jobs_get(&t, 7));
	assert_int_equal(j->id, BC_JOBS_MAX + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_coalesce_order_end),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests_name("jobs", tests, NULL, NULL);
}
