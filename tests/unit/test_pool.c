/* lib/base/pool: the worker pool every daemon's blocking work goes to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/pool.h"

struct rec {
	bc_pool *p;
	pthread_t loop;
	int value;	    /* written by the job, read by done */
	int posted;	    /* set by the job's post, on the loop */
	int done, ran;	    /* done's calls, and with ran=true */
	bool order_ok;	    /* the post came before done */
	bool done_on_loop;  /* done ran on the loop's thread */
	bool post_on_loop;
	int gate[2];	    /* a job that waits for a byte here */
	int *total;	    /* every rec's done, counted together */
	atomic_bool started;
};

static void
on_post(void *ud)
{
	struct rec *r = ud;
	r->posted++;
	r->post_on_loop = pthread_equal(pthread_self(), r->loop);
}

static void
work(void *ud)
{
	struct rec *r = ud;
	atomic_store(&r->started, true);
	if (r->gate[0] > 0) {
		char c;
		(void)!read(r->gate[0], &c, 1);
	}
	r->value = 42;
	assert_int_equal(bc_pool_post(r->p, on_post, r), 0);
}

static void
done(void *ud, bool ran)
{
	struct rec *r = ud;
	r->done++;
	r->ran += ran;
	if (r->total)
		(*r->total)++;
	r->order_ok = r->posted == 1 || !ran;
	r->done_on_loop = pthread_equal(pthread_self(), r->loop);
}

/* Dispatch on this thread (the "loop") until *count reaches want. */
static void
pump(bc_pool *p, int *count, int want)
{
	for (int i = 0; i < 500 && *count < want; i++) {
		struct pollfd pf = {.fd = bc_pool_fd(p), .events = POLLIN};
		if (poll(&pf, 1, 20) > 0)
			bc_pool_dispatch(p);
	}
}

static void
test_jobs_report_back_on_the_loop(void **state)
{
	bc_err err = {0};
	bc_pool *p = bc_pool_new(2, 16, &err);
	struct rec r[5];
	int total = 0;
	(void)state;

	assert_non_null(p);
	for (int i = 0; i < 5; i++) {
		r[i] = (struct rec){.p = p, .loop = pthread_self(), .gate = {-1, -1}, .total = &total};
		assert_int_equal(bc_pool_submit(p, work, done, &r[i], &err), 0);
	}
	pump(p, &total, 5);
	assert_int_equal(total, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(r[i].done, 1);
		assert_int_equal(r[i].ran, 1);
		assert_int_equal(r[i].value, 42);
		assert_true(r[i].order_ok);
		assert_true(r[i].done_on_loop);
		assert_true(r[i].post_on_loop);
	}
	bc_pool_free(p);
}

static void *
open_later(void *arg)
{
	usleep(100000);
	(void)!write(*(int *)arg, "x", 1);
	return NULL;
}

static void
test_bounded_and_free_cancels_queued(void **state)
{
	bc_err err = {0};
	bc_pool *p = bc_pool_new(1, 2, &err);
	struct rec a, b, c;
	int gate[2];
	(void)state;

	assert_non_null(p);
	assert_int_equal(pipe(gate), 0);
	a = (struct rec){.p = p, .loop = pthread_self(), .gate = {gate[0], gate[1]}};
	b = (struct rec){.p = p, .loop = pthread_self(), .gate = {-1, -1}};
	c = b;
	assert_int_equal(bc_pool_submit(p, work, done, &a, &err), 0); /* runs, blocked */
	assert_int_equal(bc_pool_submit(p, work, done, &b, &err), 0); /* queued */
	assert_int_equal(bc_pool_submit(p, work, done, &c, &err), -1);
	assert_int_equal(err.code, BC_ETOOBIG);
	assert_int_equal(c.done, 0);
	/* a is running (its thread waits on the gate); the gate opens only
	 * once the pool is stopping: a runs to its end, b never starts, and
	 * both are told */
	pthread_t opener;
	for (int i = 0; i < 500 && !atomic_load(&a.started); i++)
		usleep(1000);
	assert_true(atomic_load(&a.started));
	assert_int_equal(pthread_create(&opener, NULL, open_later, &gate[1]), 0);
	bc_pool_free(p);
	pthread_join(opener, NULL);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.ran, 1);
	assert_int_equal(a.posted, 1);
	assert_int_equal(b.done, 1);
	assert_int_equal(b.ran, 0);
	assert_int_equal(b.value, 0);
	close(gate[0]);
	close(gate[1]);
}

struct mapjob {
	bc_pool *p;
	atomic_int hits[1000];
	atomic_int inside, most; /* how many items ran at once */
	int gate[2];
	int ndone, nblocked;
};

static void
item(void *ud, size_t i)
{
	struct mapjob *m = ud;
	int now = atomic_fetch_add(&m->inside, 1) + 1, most = atomic_load(&m->most);
	while (now > most && !atomic_compare_exchange_weak(&m->most, &most, now))
		;
	if (i % 100 == 0)
		usleep(2000);
	atomic_fetch_add(&m->hits[i], 1);
	atomic_fetch_sub(&m->inside, 1);
}

static void
map_work(void *ud)
{
	struct mapjob *m = ud;
	bc_pool_map(m->p, 1000, 3, item, m);
}

static void
blocked_work(void *ud)
{
	struct mapjob *m = ud;
	char c;
	(void)!read(m->gate[0], &c, 1);
}

static void
map_done(void *ud, bool ran)
{
	((struct mapjob *)ud)->ndone += ran;
}

static void
blocked_done(void *ud, bool ran)
{
	((struct mapjob *)ud)->nblocked += ran;
}

/* The map's caller works too: even with every other thread blocked, the
 * map ends (no deadlock); and on a pool wider than the map's width (8
 * threads, width 3) its items never run wider than asked. */
static void
test_map_with_busy_pool(void **state)
{
	bc_err err = {0};
	bc_pool *p = bc_pool_new(2, 8, &err);
	struct mapjob *m = calloc(1, sizeof(*m));
	(void)state;

	assert_int_equal(pipe(m->gate), 0);
	m->p = p;
	assert_int_equal(bc_pool_submit(p, blocked_work, blocked_done, m, &err), 0);
	usleep(20000);
	assert_int_equal(bc_pool_submit(p, map_work, map_done, m, &err), 0);
	pump(p, &m->ndone, 1);
	assert_int_equal(m->ndone, 1);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(atomic_load(&m->hits[i]), 1);
	assert_true(atomic_load(&m->most) >= 1);
	assert_int_equal(write(m->gate[1], "x", 1), 1);
	pump(p, &m->nblocked, 1);
	assert_int_equal(m->nblocked, 1);
	bc_pool_free(p);

	/* eight threads free: the map runs wider than one, and never wider
	 * than its width of 3 (with a pool of two, that bound could not fail) */
	p = bc_pool_new(8, 8, &err);
	assert_non_null(p);
	m->p = p;
	memset(m->hits, 0, sizeof(m->hits));
	atomic_store(&m->most, 0);
	m->ndone = 0;
	assert_int_equal(bc_pool_submit(p, map_work, map_done, m, &err), 0);
	pump(p, &m->ndone, 1);
	assert_int_equal(m->ndone, 1);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(atomic_load(&m->hits[i]), 1);
	assert_true(atomic_load(&m->most) >= 2);
	assert_true(atomic_load(&m->most) <= 3);
	bc_pool_free(p);
	close(m->gate[0]);
	close(m->gate[1]);
	free(m);
}

static void
test_bad_size(void **state)
{
	bc_err err = {0};
	(void)state;
	assert_null(bc_pool_new(0, 1, &err));
	assert_int_equal(err.code, BC_EINVAL);
	assert_null(bc_pool_new(BC_POOL_MAX_THREADS + 1, 1, &err));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jobs_report_back_on_the_loop),
	    cmocka_unit_test(test_bounded_and_free_cancels_queued),
	    cmocka_unit_test(test_map_with_busy_pool),
	    cmocka_unit_test(test_bad_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
