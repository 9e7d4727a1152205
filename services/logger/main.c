/* logger daemon: the buffer, the tails (PUB: LOG_BATCH as records come;
 * LOG_QUERY: what the buffer holds), the containers (follow.c). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "proto/ipc.h"
#include "logger.h"

/* --- the tails ----------------------------------------------------------- */

static uint64_t
publish_due(void *ud)
{
	struct lg *g = ud;
	return g->published + 1 < g->ring.next_seq ? 0 : UINT64_MAX;
}

static void
publish_fire(void *ud)
{
	struct lg *g = ud;
	static bc_log_rec recs[BC_LOG_BATCH_MAX]; /* the loop's thread only */
	bc_msg m = {.type = BC_MSG_LOG_BATCH};
	bc_err err = {0};

	if (atomic_load(&g->d->pub_peers) <= 0) { /* nobody follows: nothing to encode */
		g->published = g->ring.next_seq - 1;
		return;
	}
	while (g->published + 1 < g->ring.next_seq) {
		uint64_t last = lg_batch(g, g->published, recs, &m.body.log_batch);
		if (last == g->published)
			break;
		m.body.log_batch.more = false;
		if (bc_send(g->d->pub, &m, &err) < 0)
			log_warnx("tails: %s", err.msg);
		g->published = last;
	}
	if (g->published + 1 < g->ring.next_seq) /* gone before they went out */
		g->published = g->ring.next_seq - 1;
}

static int
dispatch(struct bc_daemon *d, const bc_msg *req, bc_msg *rep, bc_err *err)
{
	struct lg *g = d->ops->ctx;
	static bc_log_rec recs[BC_LOG_BATCH_MAX];

	bc_log_list *l;

	if (req->type != BC_MSG_LOG_QUERY)
		return BC_NOT_MINE;
	rep->type = BC_MSG_LOG_BATCH;
	lg_batch(g, req->body.log_query.after_seq, recs, &rep->body.log_batch);
	/* the reply owns what it holds (the skeleton clears it): copies */
	l = &rep->body.log_batch.records;
	if (l->n == 0) {
		l->v = NULL;
		return BC_HANDLED;
	}
	if ((l->v = calloc(l->n, sizeof(*l->v))) == NULL) {
		l->n = 0;
		return bc_err_set(err, BC_ESYS, "out of memory");
	}
	for (size_t i = 0; i < l->n; i++) {
		l->v[i] = recs[i];
		l->v[i].service = recs[i].service ? strdup(recs[i].service) : NULL;
		l->v[i].container = recs[i].container ? strdup(recs[i].container) : NULL;
		l->v[i].message = strdup(recs[i].message);
		if (l->v[i].message == NULL || (recs[i].service && !l->v[i].service) ||
		    (recs[i].container && !l->v[i].container)) {
			l->n = i + 1; /* what was copied is freed with the reply */
			return bc_err_set(err, BC_ESYS, "out of memory");
		}
	}
	return BC_HANDLED;
}

static int
start(struct bc_daemon *d, bc_err *err)
{
	struct lg *g = d->ops->ctx;

	g->d = d;
	bc_logring_init(&g->ring, d->settings.log_buffer, false);
	if (bc_daemon_start_pool(d, 1, 8, err) < 0 ||
	    bc_daemon_timer(d, publish_due, publish_fire, g, err) < 0 ||
	    lg_cloud_start(g, err) < 0 || lg_system_start(g, err) < 0 ||
	    lg_follow_start(g, err) < 0 || lg_remote_start(g, err) < 0)
		return -1;
	return 0;
}

static void
stop(struct bc_daemon *d)
{
	struct lg *g = d->ops->ctx;

	lg_remote_stop(g);
	lg_follow_stop(g);
	lg_system_stop(g);
	lg_cloud_stop(g);
	bc_logring_free(&g->ring);
	log_info("%" PRIu64 " lines read; %" PRIu64 " lost for want of memory", g->lines,
		 g->dropped_lines);
}

int
main(int argc, char **argv)
{
	static struct lg g;
	static const struct bc_daemon_ops ops = {.name = "logger",
						 .dispatch = dispatch,
						 .ctx = &g,
						 .start = start,
						 .stop = stop,
						 .secrets = true};

	if (argc > 1 && strcmp(argv[1], "--remote-tail") == 0)
		return lg_remote_main(argc, argv);
	return bc_daemon_main(argc, argv, &ops);
}
