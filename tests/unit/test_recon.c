/* lib/core/recon: the reconciler's decisions, as tables of events and what
 * each must leave (when the next round is due, the generation, settled,
 * --force, the backoff). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/core/recon.h"

enum ev {
	APPLY,
	APPLY_FORCE,
	DOWN,
	SENT,
	NOT_SENT,
	ENDED_OK,
	ENDED_WAITING,
	ENDED_FAIL,
	GONE,
	WAKE,
	STOP
};

struct row {
	enum ev ev;
	uint64_t now;
	/* after it */
	uint64_t due; /* UINT64_MAX: none */
	uint64_t gen, done;
	bool settled, force;
};

#define NONE UINT64_MAX

/* Each ENDED_* ends the round of the generation that was current when it
 * was SENT. */
static void
run(bc_recon *c, const struct row *rows, size_t n)
{
	uint64_t sent_gen = 0;

	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		switch (r->ev) {
		case APPLY:
			bc_recon_applied(c, false);
			break;
		case APPLY_FORCE:
			bc_recon_applied(c, true);
			break;
		case DOWN:
			bc_recon_downed(c);
			break;
		case SENT:
			sent_gen = c->generation;
			bc_recon_sent(c);
			break;
		case NOT_SENT:
			bc_recon_not_sent(c, r->now);
			break;
		case ENDED_OK:
			bc_recon_ended(c, sent_gen, 0, true, r->now);
			break;
		case ENDED_WAITING:
			bc_recon_ended(c, sent_gen, 0, false, r->now);
			break;
		case ENDED_FAIL:
			bc_recon_ended(c, sent_gen, -1, false, r->now);
			break;
		case GONE:
			bc_recon_gone(c);
			break;
		case WAKE:
			c->wake = true;
			break;
		case STOP:
			c->stopping = true;
			break;
		}
		if (bc_recon_due(c) != r->due || c->generation != r->gen ||
		    c->done_gen != r->done || c->settled != r->settled || c->force != r->force)
			fail_msg("row %zu: due %llu gen %llu done %llu settled %d force %d", i,
				 (unsigned long long)bc_recon_due(c),
				 (unsigned long long)c->generation, (unsigned long long)c->done_gen,
				 c->settled, c->force);
	}
}

static void
test_no_target(void **state)
{
	bc_recon c;
	(void)state;
	bc_recon_init(&c, false);
	/* nothing to run: settled at generation 1, no round; wake does nothing */
	const struct row rows[] = {
	    {WAKE, 0, NONE, 1, 1, true, false},	  {APPLY, 0, 0, 2, 1, true, false},
	    {SENT, 0, NONE, 2, 1, true, false},	  {ENDED_OK, 100, NONE, 2, 2, true, false},
	    {GONE, 100, NONE, 2, 2, true, false},
	};
	run(&c, rows, sizeof(rows) / sizeof(rows[0]));
}

static void
test_resumed_target(void **state)
{
	bc_recon c;
	(void)state;
	/* a target kept from before: converged at once */
	bc_recon_init(&c, true);
	assert_int_equal(bc_recon_due(&c), 0);
	assert_int_equal(c.generation, 1);
	assert_int_equal(c.done_gen, 0);
}

static void
test_rounds(void **state)
{
	bc_recon c;
	(void)state;
	bc_recon_init(&c, false);
	const struct row rows[] = {
	    {APPLY, 0, 0, 2, 1, true, false},
	    {SENT, 0, NONE, 2, 1, true, false},
	    /* an APPLY while a round is out: due once it is gone */
	    {APPLY, 0, NONE, 3, 1, true, false},
	    {ENDED_OK, 50, NONE, 3, 2, true, false},
	    {GONE, 50, 0, 3, 2, true, false},
	    {SENT, 60, NONE, 3, 2, true, false},
	    /* waiting left (a hand-over, a lock): again in a second */
	    {ENDED_WAITING, 1000, NONE, 3, 3, false, false},
	    {GONE, 1000, 2000, 3, 3, false, false},
	    /* Docker changed under it: now */
	    {WAKE, 1200, 0, 3, 3, false, false},
	    {SENT, 1200, NONE, 3, 3, false, false},
	    /* failures back off: 1 s, 2 s, 4 s ... */
	    {ENDED_FAIL, 2000, NONE, 3, 3, false, false},
	    {GONE, 2000, 3000, 3, 3, false, false},
	    {SENT, 3000, NONE, 3, 3, false, false},
	    {ENDED_FAIL, 3000, NONE, 3, 3, false, false},
	    {GONE, 3000, 5000, 3, 3, false, false},
	    {SENT, 5000, NONE, 3, 3, false, false},
	    {ENDED_FAIL, 5000, NONE, 3, 3, false, false},
	    {GONE, 5000, 9000, 3, 3, false, false},
	    /* the pool refused: again in a second */
	    {SENT, 9000, NONE, 3, 3, false, false},
	    {NOT_SENT, 9000, 10000, 3, 3, false, false},
	    /* a success ends the backoff */
	    {SENT, 10000, NONE, 3, 3, false, false},
	    {ENDED_OK, 10500, NONE, 3, 3, true, false},
	    {GONE, 10500, NONE, 3, 3, true, false},
	    {DOWN, 10600, 0, 4, 3, true, false},
	    /* stopping: no round goes out */
	    {STOP, 10600, NONE, 4, 3, true, false},
	};
	run(&c, rows, sizeof(rows) / sizeof(rows[0]));
}

static void
test_backoff_cap(void **state)
{
	bc_recon c;
	uint64_t now = 0;
	(void)state;
	bc_recon_init(&c, true);
	for (int i = 0; i < 12; i++) {
		bc_recon_sent(&c);
		bc_recon_ended(&c, 1, -1, false, now);
		bc_recon_gone(&c);
		assert_int_equal(bc_recon_due(&c) - now, i < 6 ? 1000ULL << i : 60000);
		now = bc_recon_due(&c);
	}
}

static void
test_force(void **state)
{
	bc_recon c;
	(void)state;
	bc_recon_init(&c, false);
	/* --force lasts until its own generation settles: a round of an older
	 * one that settles, or one of its own that waits, keeps it */
	const struct row rows[] = {
	    {APPLY, 0, 0, 2, 1, true, false},
	    {SENT, 0, NONE, 2, 1, true, false},
	    {APPLY_FORCE, 0, NONE, 3, 1, true, true},
	    {ENDED_OK, 10, NONE, 3, 2, true, true},
	    {GONE, 10, 0, 3, 2, true, true},
	    {SENT, 10, NONE, 3, 2, true, true},
	    {ENDED_WAITING, 20, NONE, 3, 3, false, true},
	    {GONE, 20, 1020, 3, 3, false, true},
	    {SENT, 1020, NONE, 3, 3, false, true},
	    {ENDED_FAIL, 1030, NONE, 3, 3, false, true},
	    {GONE, 1030, 2030, 3, 3, false, true},
	    {SENT, 2030, NONE, 3, 3, false, true},
	    {ENDED_OK, 2040, NONE, 3, 3, true, false},
	    /* a later APPLY without --force does not bring it back */
	    {APPLY, 2050, NONE, 4, 3, true, false},
	};
	run(&c, rows, sizeof(rows) / sizeof(rows[0]));
}

static bool
keep_odd(void *ud, int64_t app)
{
	(void)ud;
	return app % 2 == 1;
}

static void
test_purge(void **state)
{
	bc_recon c;
	(void)state;
	bc_recon_init(&c, false);
	assert_true(bc_recon_purge_add(&c, 1));
	assert_false(bc_recon_purge_add(&c, 1)); /* once */
	assert_true(bc_recon_purge_add(&c, 2));
	assert_true(bc_recon_purge_add(&c, 3));
	assert_true(bc_recon_purge_prune(&c, keep_odd, NULL));
	assert_int_equal(c.n_purge, 2);
	assert_int_equal(c.purge[0], 1);
	assert_int_equal(c.purge[1], 3);
	assert_false(bc_recon_purge_prune(&c, keep_odd, NULL));
	for (int64_t a = 10; a < 10 + BC_STATE_MAX_APPS; a++)
		bc_recon_purge_add(&c, a);
	assert_int_equal(c.n_purge, BC_STATE_MAX_APPS);
	assert_false(bc_recon_purge_add(&c, 99999));
}

static void
test_say_locked(void **state)
{
	bc_recon c;
	(void)state;
	bc_recon_init(&c, true);
	/* said once a wait, for each app */
	assert_true(bc_recon_say_locked(&c, 5, false, true));
	assert_false(bc_recon_say_locked(&c, 5, false, true));
	assert_true(bc_recon_say_locked(&c, 6, false, true));
	/* a step that fails otherwise says nothing and keeps the wait */
	assert_false(bc_recon_say_locked(&c, 5, false, false));
	assert_false(bc_recon_say_locked(&c, 5, false, true));
	/* a step of it that works ends the wait: the next lock is said */
	assert_false(bc_recon_say_locked(&c, 5, true, false));
	assert_true(bc_recon_say_locked(&c, 5, false, true));
	assert_false(bc_recon_say_locked(&c, 6, false, true));
	/* more apps than it remembers: said every time, never lost */
	for (int64_t a = 100; a < 100 + BC_RECON_MAX_SAID; a++)
		bc_recon_say_locked(&c, a, false, true);
	assert_true(bc_recon_say_locked(&c, 9999, false, true));
	assert_true(bc_recon_say_locked(&c, 9999, false, true));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_target),  cmocka_unit_test(test_resumed_target),
	    cmocka_unit_test(test_rounds),     cmocka_unit_test(test_backoff_cap),
	    cmocka_unit_test(test_force),      cmocka_unit_test(test_purge),
	    cmocka_unit_test(test_say_locked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
