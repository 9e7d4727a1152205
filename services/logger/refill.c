/* The buffer refilled at start. A restarted logger resumes each container
 * from its cursor, so the cloud gets nothing twice; but its buffer, the
 * local view's history, would start empty, and `logs` would forget what
 * came before the restart. So before any container is attached, the newest
 * lines each one printed up to its cursor are read again from the engine
 * (docker logs --tail, on the pool) into the buffer, oldest first across
 * containers, marked local: the tails show them, the cloud never takes
 * them (it had them, or they came before this device's first run). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "logger.h"

#define SHARE_MIN (16u << 10) /* the least of the buffer one container gets */

/* One container's refill. */
struct hist {
	struct follower f; /* a copy: who it is, and its cursors (where history ends) */
	int stream;
	bc_lognth nth[2];
	bc_logsplit split[2];
	bc_logring kept; /* its newest history lines, bounded by its share */
	size_t tail;	 /* lines asked of the engine */
};

struct refill {
	struct lg *g;
	struct hist *h;
	size_t n;
	char why[200]; /* the first error */
};

static int
hist_line(void *ud, const char *p, size_t n, bool cut)
{
	struct hist *h = ud;
	int k = h->stream == 2;
	int64_t ts;
	size_t off;
	uint32_t nth;
	bc_logrec r;

	if (bc_parse_rfc3339(p, n, &ts, &off, NULL) < 0)
		return 0; /* a line with no time has no place in history */
	nth = bc_lognth_next(&h->nth[k], ts);
	if (bc_logcursor_is_new(&h->f.read[k], ts, nth))
		return 0; /* past the cursor: the container's stream brings it */
	if (lg_line_record(&h->f, k, ts, nth, p + off, n - off, cut, &r) < 0)
		return 0;
	r.local = true;
	bc_logring_push(&h->kept, &r);
	return 0;
}

static int
hist_frame(void *ud, int stream, const char *data, size_t len)
{
	struct hist *h = ud;

	if (stream != 1 && stream != 2)
		return 0;
	h->stream = stream;
	return bc_logsplit_feed(&h->split[stream - 1], data, len, hist_line, h);
}

/* On the pool: every container's newest lines. */
static void
refill_work(void *ud)
{
	struct refill *rf = ud;
	bc_err err = {0};
	bc_docker *d = bc_docker_new(NULL, &err);

	for (size_t i = 0; d != NULL && i < rf->n; i++) {
		struct hist *h = &rf->h[i];
		char query[96];
		bc_err lerr = {0};
		snprintf(query, sizeof(query), "stdout=1&stderr=1&timestamps=1&tail=%zu", h->tail);
		if (bc_docker_logs(d, h->f.id, query, h->f.tty, hist_frame, h, &lerr) < 0 &&
		    rf->why[0] == '\0')
			snprintf(rf->why, sizeof(rf->why), "%s: %.150s", h->f.short_id, lerr.msg);
		bc_logsplit_free(&h->split[0]);
		bc_logsplit_free(&h->split[1]);
	}
	if (d == NULL)
		snprintf(rf->why, sizeof(rf->why), "%.150s", err.msg);
	bc_docker_free(d);
}

static int
older(const void *a, const void *b)
{
	const bc_logrec *x = a, *y = b;
	int c;

	if (x->ts_ns != y->ts_ns)
		return x->ts_ns < y->ts_ns ? -1 : 1;
	if ((c = strcmp(x->container, y->container)) != 0)
		return c;
	if (x->is_stderr != y->is_stderr)
		return x->is_stderr ? 1 : -1;
	return x->nth < y->nth ? -1 : x->nth > y->nth;
}

/* On the loop: into the buffer, oldest first; then a scan attaches. */
static void
refill_done(void *ud, bool ran)
{
	struct refill *rf = ud;
	struct lg *g = rf->g;
	bc_logrec *all = NULL;
	size_t n = 0;

	for (size_t i = 0; i < rf->n; i++) {
		bc_logrec *one = NULL;
		size_t k = ran ? bc_logring_take_all(&rf->h[i].kept, &one) : 0;
		if (k > 0) {
			bc_logrec *grown = realloc(all, (n + k) * sizeof(*all));
			if (grown == NULL) {
				for (size_t j = 0; j < k; j++)
					bc_logrec_free(&one[j]);
				k = 0;
			} else {
				all = grown;
			}
		}
		if (k > 0)
			memcpy(all + n, one, k * sizeof(*one));
		n += k;
		free(one);
		bc_logring_free(&rf->h[i].kept);
	}
	if (n > 0)
		qsort(all, n, sizeof(*all), older);
	for (size_t i = 0; i < n; i++)
		bc_logring_push(&g->ring, &all[i]); /* local: the cloud never takes them */
	free(all);
	if (rf->why[0])
		log_warnx("the buffer's history: %s", rf->why);
	if (n > 0)
		log_info("the buffer holds %zu earlier line(s) of %zu container(s) again", n,
			 rf->n);
	free(rf->h);
	free(rf);
	g->refilling = false;
	g->scan_at = bc_mono_ms(); /* now attach them */
}

void
lg_refill_start(struct lg *g)
{
	struct refill *rf = calloc(1, sizeof(*rf));
	size_t n = 0, share;
	bc_err err = {0};

	g->scan_at = bc_mono_ms(); /* unless refilled first (below): attach now */
	if (rf == NULL || (rf->h = calloc(LG_MAX_FOLLOW, sizeof(*rf->h))) == NULL) {
		free(rf);
		return;
	}
	rf->g = g;
	for (size_t i = 0; i < LG_MAX_FOLLOW; i++)
		n += g->f[i].used && g->f[i].s == NULL;
	/* each container's share of the buffer, and as many lines as fit in it */
	share = n ? g->ring.max_bytes / n : 0;
	if (share < SHARE_MIN)
		share = SHARE_MIN;
	for (size_t i = 0; i < LG_MAX_FOLLOW; i++) {
		struct hist *h = &rf->h[rf->n];
		if (!g->f[i].used || g->f[i].s != NULL)
			continue;
		h->f = g->f[i];
		h->f.s = NULL;
		memset(h->f.split, 0, sizeof(h->f.split));
		bc_logring_init(&h->kept, share, false);
		h->tail = share / sizeof(bc_logrec) + 1;
		rf->n++;
	}
	if (rf->n == 0 || bc_pool_submit(g->d->pool, refill_work, refill_done, rf, &err) < 0) {
		if (err.msg[0])
			log_warnx("the buffer's history: %s", err.msg);
		for (size_t i = 0; i < rf->n; i++)
			bc_logring_free(&rf->h[i].kept);
		free(rf->h);
		free(rf);
		return;
	}
	g->refilling = true;
	g->scan_at = 0;
}
