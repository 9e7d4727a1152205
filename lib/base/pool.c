#include "lib/base/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct batch; /* a bc_pool_map in progress */

/* One entry of the run queue (a job or a helper of a batch) or of the
 * loop's queue (a post or a finished job). */
struct task {
	struct task *next;
	void (*work)(void *ud);
	void (*done)(void *ud, bool ran);
	void (*post)(void *ud);
	void *ud;
	struct batch *batch; /* a helper: takes items of this batch */
};

struct batch {
	void (*fn)(void *ud, size_t i);
	void *ud;
	size_t n, next, finished;
	size_t live; /* helpers that have started and not yet returned */
	pthread_cond_t cv;
};

struct tq {
	struct task *head, *tail;
};

struct bc_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* run queue or stopping */
	struct tq run;	   /* jobs and helpers to start (helpers first) */
	struct tq out;	   /* posts and finished jobs, for the loop */
	size_t jobs, max_jobs; /* jobs queued or running */
	bool stopping;
	int efd;
	size_t nthreads;
	pthread_t th[BC_POOL_MAX_THREADS];
};

static void
tq_push(struct tq *q, struct task *t)
{
	t->next = NULL;
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
}

static void
tq_push_front(struct tq *q, struct task *t)
{
	t->next = q->head;
	q->head = t;
	if (q->tail == NULL)
		q->tail = t;
}

static struct task *
tq_pop(struct tq *q)
{
	struct task *t = q->head;

	if (t != NULL) {
		q->head = t->next;
		if (q->head == NULL)
			q->tail = NULL;
	}
	return t;
}

/* Remove the queued helpers of b. Under mu. */
static void
tq_drop_helpers(struct tq *q, const struct batch *b)
{
	struct task **pp = &q->head, *prev = NULL;

	while (*pp != NULL) {
		struct task *t = *pp;
		if (t->batch == b) {
			*pp = t->next;
			free(t);
			continue;
		}
		prev = t;
		pp = &t->next;
	}
	q->tail = prev;
}

static void
wake_loop(bc_pool *p)
{
	uint64_t one = 1;
	ssize_t w;

	do
		w = write(p->efd, &one, sizeof(one));
	while (w < 0 && errno == EINTR);
	/* EAGAIN: the counter is full, the loop is woken anyway */
}

/* Take items of b until none is left; called with mu held, returns with it. */
static void
batch_work(bc_pool *p, struct batch *b)
{
	while (b->next < b->n) {
		size_t i = b->next++;
		pthread_mutex_unlock(&p->mu);
		b->fn(b->ud, i);
		pthread_mutex_lock(&p->mu);
		if (++b->finished == b->n)
			pthread_cond_broadcast(&b->cv);
	}
}

static void *
thread_main(void *arg)
{
	bc_pool *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct task *t;
		while (!p->stopping && p->run.head == NULL)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stopping)
			break;
		t = tq_pop(&p->run);
		if (t->batch != NULL) {
			struct batch *b = t->batch;
			free(t);
			b->live++;
			batch_work(p, b);
			if (--b->live == 0)
				pthread_cond_broadcast(&b->cv);
			continue;
		}
		pthread_mutex_unlock(&p->mu);
		t->work(t->ud);
		pthread_mutex_lock(&p->mu);
		tq_push(&p->out, t);
		wake_loop(p);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

bc_pool *
bc_pool_new(size_t nthreads, size_t max_jobs, bc_err *err)
{
	bc_pool *p;

	if (nthreads < 1 || nthreads > BC_POOL_MAX_THREADS) {
		bc_err_set(err, BC_EINVAL, "worker pool: %zu threads (1..%d)", nthreads,
			   BC_POOL_MAX_THREADS);
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		bc_err_sys(err, "worker pool");
		return NULL;
	}
	p->max_jobs = max_jobs;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if ((p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		bc_err_sys(err, "worker pool: eventfd");
		free(p);
		return NULL;
	}
	for (; p->nthreads < nthreads; p->nthreads++) {
		int rv = pthread_create(&p->th[p->nthreads], NULL, thread_main, p);
		if (rv != 0) {
			errno = rv;
			bc_err_sys(err, "worker pool: start thread %zu", p->nthreads);
			bc_pool_free(p);
			return NULL;
		}
	}
	return p;
}

int
bc_pool_fd(const bc_pool *p)
{
	return p->efd;
}

int
bc_pool_submit(bc_pool *p, void (*work)(void *ud), void (*done)(void *ud, bool ran), void *ud,
	       bc_err *err)
{
	struct task *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return bc_err_sys(err, "worker pool");
	*t = (struct task){.work = work, .done = done, .ud = ud};
	pthread_mutex_lock(&p->mu);
	if (p->stopping || p->jobs >= p->max_jobs) {
		size_t n = p->jobs;
		bool stopping = p->stopping;
		pthread_mutex_unlock(&p->mu);
		free(t);
		if (stopping)
			return bc_err_set(err, BC_ESYS, "worker pool: stopping");
		return bc_err_set(err, BC_ETOOBIG, "worker pool: %zu jobs are queued or running",
				  n);
	}
	p->jobs++;
	tq_push(&p->run, t);
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int
bc_pool_post(bc_pool *p, void (*fn)(void *ud), void *ud)
{
	struct task *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	t->post = fn;
	t->ud = ud;
	pthread_mutex_lock(&p->mu);
	tq_push(&p->out, t);
	wake_loop(p);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

/* Run what is in the loop's queue; ran: whether jobs in it ran. */
static void
run_out(bc_pool *p, struct tq *q, bool ran)
{
	struct task *t;

	while ((t = tq_pop(q)) != NULL) {
		if (t->post != NULL) {
			t->post(t->ud);
		} else if (t->batch == NULL) {
			pthread_mutex_lock(&p->mu);
			p->jobs--;
			pthread_mutex_unlock(&p->mu);
			if (t->done != NULL)
				t->done(t->ud, ran);
		}
		free(t);
	}
}

void
bc_pool_dispatch(bc_pool *p)
{
	struct tq q;
	uint64_t v;

	while (read(p->efd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&p->mu);
	q = p->out;
	p->out = (struct tq){0};
	pthread_mutex_unlock(&p->mu);
	run_out(p, &q, true);
}

void
bc_pool_map(bc_pool *p, size_t n, size_t width, void (*fn)(void *ud, size_t i), void *ud)
{
	struct batch b = {.fn = fn, .ud = ud, .n = n};
	size_t helpers;

	if (n == 0)
		return;
	if (width == 0)
		width = 1;
	helpers = (width < n ? width : n) - 1;
	if (helpers > p->nthreads)
		helpers = p->nthreads;
	pthread_cond_init(&b.cv, NULL);
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < helpers && !p->stopping; i++) {
		struct task *t = calloc(1, sizeof(*t));
		if (t == NULL)
			break; /* fewer helpers: slower, still right */
		t->batch = &b;
		tq_push_front(&p->run, t);
		pthread_cond_signal(&p->cv);
	}
	batch_work(p, &b);
	while (b.finished < b.n)
		pthread_cond_wait(&b.cv, &p->mu);
	/* helpers not started now never will; the started ones find nothing
	 * left and return */
	tq_drop_helpers(&p->run, &b);
	while (b.live > 0)
		pthread_cond_wait(&b.cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	pthread_cond_destroy(&b.cv);
}

void
bc_pool_free(bc_pool *p)
{
	struct tq q;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->nthreads; i++)
		pthread_join(p->th[i], NULL);
	/* finished first (their posts came before), then those never run */
	q = p->out;
	p->out = (struct tq){0};
	run_out(p, &q, true);
	q = p->run;
	p->run = (struct tq){0};
	run_out(p, &q, false);
	close(p->efd);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
