/* lib/core/trial: the verdicts of a health-gated update, as tables of what
 * a round saw and when, and what each must say (wait, commit, fail and
 * why); the failed book; the form kept on disk, round trip and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lib/core/trial.h"
#include "lib/model/model.h"

#define ARMED 1000000000000ULL /* wall ms: the target came */
#define T0 (ARMED + 2000)      /* its round settled */

static bc_trial_obs
up(int64_t app, const char *svc, const char *id)
{
	bc_trial_obs o = {.app_id = app,
			  .created = (int64_t)(ARMED / 1000) + 1,
			  .running = true,
			  .wanted = true,
			  .exit_code = 0};
	snprintf(o.service, sizeof(o.service), "%s", svc);
	snprintf(o.container, sizeof(o.container), "%s", id);
	return o;
}

static bc_trial
begun(uint64_t period)
{
	static bc_trial t;
	int64_t apps[] = {1, 2};
	bc_trial_begin(&t, apps, 2, period, ARMED);
	return t;
}

struct row {
	const char *what;
	bc_trial_obs o;
	bool settle; /* the round settled */
	uint64_t now;
	int verdict;
	const char *why; /* a part of it; NULL: "" */
};

static void
run(const struct row *rows, size_t n, bc_trial *t)
{
	for (size_t i = 0; i < n; i++) {
		char why[512];
		int v;
		if (rows[i].settle)
			bc_trial_settled(t, rows[i].now);
		v = bc_trial_judge(t, &rows[i].o, 1, rows[i].now, why, sizeof(why));
		if (v != rows[i].verdict || (rows[i].why && strstr(why, rows[i].why) == NULL) ||
		    (!rows[i].why && why[0])) {
			print_error("row %zu (%s): verdict %d why '%s'\n", i, rows[i].what, v, why);
			fail();
		}
	}
}

static void
test_healthy_commits_after_period(void **state)
{
	(void)state;
	bc_trial t = begun(30000);
	struct row rows[] = {
	    {"before it settles: wait", up(1, "main", "c1"), false, T0 - 1000, BC_TRIAL_WAIT, NULL},
	    {"settled: the period starts", up(1, "main", "c1"), true, T0, BC_TRIAL_WAIT, NULL},
	    {"a second short", up(1, "main", "c1"), false, T0 + 29999, BC_TRIAL_WAIT, NULL},
	    {"the period passed", up(1, "main", "c1"), false, T0 + 30000, BC_TRIAL_COMMIT, NULL},
	};
	run(rows, 4, &t);
	assert_int_equal(bc_trial_deadline(&t), T0 + 30000);
}

static void
test_failures(void **state)
{
	(void)state;
	bc_trial_obs restarted = up(1, "main", "c1"), restarting = up(1, "main", "c1"),
		     exited = up(2, "job", "c2"), sick = up(1, "web", "c3"),
		     other = up(3, "x", "c4"), oneshot = up(2, "init", "c5"),
		     stopped = up(2, "off", "c6");
	restarted.restarts = 2;
	restarted.exit_code = 1;
	restarting.restarting = true;
	restarting.running = false;
	restarting.exit_code = 3;
	exited.running = false;
	exited.exit_code = 1;
	sick.health = BC_HEALTH_UNHEALTHY;
	other.running = false; /* app 3 is not on trial */
	other.exit_code = 9;
	oneshot.running = false;
	oneshot.one_shot = true;
	stopped.running = false;
	stopped.exit_code = 137;
	stopped.wanted = false; /* the target wants it stopped */
	struct row rows[] = {
	    {"settled, another app's crash", other, true, T0, BC_TRIAL_WAIT, NULL},
	    {"another app's crash", other, false, T0 + 40000, BC_TRIAL_COMMIT, NULL},
	    {"a one-shot that exited 0", oneshot, false, T0 + 40000, BC_TRIAL_COMMIT, NULL},
	    {"a service the target stops", stopped, false, T0 + 40000, BC_TRIAL_COMMIT, NULL},
	};
	struct {
		bc_trial_obs o;
		const char *why;
	} bad[] = {
	    {restarted, "service 'main' restarted 2 times (exit code 1)"},
	    {restarting, "service 'main' is restarting (exit code 3)"},
	    {exited, "service 'job' exited with code 1"},
	    {sick, "service 'web' is unhealthy"},
	};
	bc_trial t = begun(30000);
	run(rows, 4, &t);
	for (size_t i = 0; i < 4; i++) {
		struct row r[] = {{"fails before the period even starts", bad[i].o, false, T0,
				   BC_TRIAL_FAIL, bad[i].why}};
		t = begun(30000);
		run(r, 1, &t);
	}
}

static void
test_waits_for_what_is_not_ready(void **state)
{
	(void)state;
	bc_trial_obs none = up(1, "main", ""), starting = up(1, "main", "c1"),
		     stopped_always = up(1, "main", "c1");
	starting.health = BC_HEALTH_STARTING;
	stopped_always.running = false; /* exit 0, restart always: not ready */
	bc_trial_obs fine = starting;
	fine.health = BC_HEALTH_HEALTHY;
	struct row rows[] = {
	    {"no container yet", none, true, T0, BC_TRIAL_WAIT, NULL},
	    {"no container after the period", none, false, T0 + 60000, BC_TRIAL_WAIT, NULL},
	    {"health starting after it", starting, false, T0 + 60000, BC_TRIAL_WAIT, NULL},
	    {"exited 0 but not a one-shot", stopped_always, false, T0 + 60000, BC_TRIAL_WAIT, NULL},
	    {"healthy at last", fine, false, T0 + 61000, BC_TRIAL_COMMIT, NULL},
	};
	bc_trial t = begun(30000);
	run(rows, 5, &t);
}

/* A container kept from before the target came counts its restarts from
 * when it was first seen; one made for the trial from 0. */
static void
test_restart_baseline(void **state)
{
	(void)state;
	bc_trial_obs kept = up(1, "db", "old"), made = up(1, "main", "new");
	kept.created = (int64_t)(ARMED / 1000) - 100;
	kept.restarts = 5;
	made.restarts = 1; /* crashed once before a round first looked */
	made.exit_code = 2;
	struct row rows[] = {
	    {"an old container's old restarts", kept, true, T0, BC_TRIAL_WAIT, NULL},
	    {"a new container restarted before first seen", made, false, T0, BC_TRIAL_FAIL,
	     "service 'main' restarted 1 time (exit code 2)"},
	};
	bc_trial t = begun(30000);
	run(rows, 2, &t);
	kept.restarts = 6;
	struct row more[] = {{"the old one restarts now", kept, false, T0 + 1000, BC_TRIAL_FAIL,
			      "service 'db' restarted 1 time"}};
	run(more, 1, &t);
}

static void
test_steps(void **state)
{
	(void)state;
	bc_trial t = begun(30000);
	char why[256];

	assert_true(
	    bc_trial_step(&t, 1, "START", "main", false, false, "no such file", why, sizeof(why)));
	assert_string_equal(why, "service 'main': no such file");
	assert_true(bc_trial_step(&t, 2, "CREATE", "x", false, false, "bad", why, sizeof(why)));
	assert_true(bc_trial_step(&t, 2, "HANDOVER", "x", false, false, NULL, why, sizeof(why)));
	assert_false(bc_trial_step(&t, 1, "FETCH", "main", false, false, "net", why, sizeof(why)));
	assert_false(bc_trial_step(&t, 1, "START", "main", true, false, NULL, why, sizeof(why)));
	assert_false(bc_trial_step(&t, 1, "START", "main", false, true, "lock", why, sizeof(why)));
	assert_false(bc_trial_step(&t, 3, "START", "y", false, false, "bad", why, sizeof(why)));
	bc_trial_end(&t);
	assert_false(bc_trial_step(&t, 1, "START", "main", false, false, "x", why, sizeof(why)));
	assert_int_equal(bc_trial_judge(&t, NULL, 0, T0 + 99999, why, sizeof(why)), BC_TRIAL_WAIT);
}

static void
test_no_apps_no_trial(void **state)
{
	(void)state;
	bc_trial t;
	bc_trial_begin(&t, NULL, 0, 30000, ARMED);
	assert_false(t.on);
	assert_false(bc_trial_judges(&t, 1));
	assert_int_equal(bc_trial_deadline(&t), 0);
}

static void
test_book(void **state)
{
	(void)state;
	static bc_trial_book b;
	bc_trial_failed f = {.app_id = 1, .key = "k1", .at = 5};

	b.n = 0;
	bc_trial_failed_put(&b, &f);
	f.at = 6;
	snprintf(f.reason, sizeof(f.reason), "again");
	bc_trial_failed_put(&b, &f); /* replaces */
	assert_int_equal(b.n, 1);
	assert_string_equal(bc_trial_failed_of(&b, 1)->reason, "again");
	for (int64_t i = 2; i <= BC_TRIAL_MAX_FAILED + 1; i++) {
		f.app_id = i;
		f.at = (uint64_t)(100 + i);
		bc_trial_failed_put(&b, &f);
	}
	/* full: the oldest (app 1, at 6) went */
	assert_int_equal(b.n, BC_TRIAL_MAX_FAILED);
	assert_null(bc_trial_failed_of(&b, 1));
	assert_non_null(bc_trial_failed_of(&b, BC_TRIAL_MAX_FAILED + 1));
	assert_true(bc_trial_failed_drop(&b, 2));
	assert_false(bc_trial_failed_drop(&b, 2));
}

static void
test_json_round_trip(void **state)
{
	(void)state;
	static bc_trial t, back;
	static bc_trial_book b, bback;
	bc_trial_obs o = up(1, "main", "abc");
	char why[64];
	bc_trial_failed f = {.app_id = 7,
			     .key = "0123456789abcdef",
			     .commit = "c0ffee",
			     .reason = "service 'x' is unhealthy",
			     .rolled_back = true,
			     .at = 9};

	t = begun(5000);
	bc_trial_settled(&t, T0);
	o.restarts = 0;
	bc_trial_judge(&t, &o, 1, T0, why, sizeof(why)); /* a baseline */
	b.n = 0;
	bc_trial_failed_put(&b, &f);
	json_t *doc = bc_trial_to_json(&t, &b);
	assert_non_null(doc);
	assert_int_equal(bc_trial_from_json(doc, &back, &bback), 0);
	assert_true(back.on);
	assert_int_equal(back.since, T0);
	assert_int_equal(back.period_ms, 5000);
	assert_int_equal(back.n_apps, 2);
	assert_int_equal(back.n_base, 1);
	assert_string_equal(back.base[0].container, "abc");
	assert_int_equal(bback.n, 1);
	assert_string_equal(bback.v[0].reason, f.reason);
	assert_true(bback.v[0].rolled_back);
	json_decref(doc);

	/* what is not ours is refused whole */
	const char *bad[] = {
	    "[]",
	    "{\"on\":true,\"armed\":1,\"since\":0,\"period_ms\":1,\"apps\":[0],\"base\":[],"
	    "\"failed\":[]}",
	    "{\"on\":true,\"armed\":-1,\"since\":0,\"period_ms\":1,\"apps\":[],\"base\":[],"
	    "\"failed\":[]}",
	    "{\"on\":true,\"armed\":1,\"since\":0,\"period_ms\":1,\"apps\":[1],\"base\":[{"
	    "\"container\":1,\"restarts\":0}],\"failed\":[]}",
	    "{\"on\":true,\"armed\":1,\"since\":0,\"period_ms\":1,\"apps\":[1],\"base\":[],"
	    "\"failed\":[{\"app\":1,\"key\":\"0123456789abcdef0\",\"commit\":\"\",\"reason\":"
	    "\"\",\"rolled_back\":true,\"at\":1}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *d = json_loads(bad[i], 0, NULL);
		assert_non_null(d);
		assert_int_equal(bc_trial_from_json(d, &back, &bback), -1);
		assert_false(back.on);
		assert_int_equal(bback.n, 0);
		json_decref(d);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_healthy_commits_after_period),
	    cmocka_unit_test(test_failures),
	    cmocka_unit_test(test_waits_for_what_is_not_ready),
	    cmocka_unit_test(test_restart_baseline),
	    cmocka_unit_test(test_steps),
	    cmocka_unit_test(test_no_apps_no_trial),
	    cmocka_unit_test(test_book),
	    cmocka_unit_test(test_json_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
