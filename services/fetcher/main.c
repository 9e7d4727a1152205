/* fetcher daemon: gets images onto the device.
 *
 * FETCH is answered at once with a job (FETCH_ACCEPTED); a FETCH for an
 * image that is already queued or pulling joins that job. Pulls (at most
 * BC_FETCH_CONCURRENCY at once, default 3) run on the worker pool through
 * the Docker API (jobs.c); FETCH_PROGRESS and FETCH_DONE go out on PUB.
 * FETCH_CANCEL ends a job, FETCH_STATUS lists them. Everything here runs
 * on the loop. Credentials are secrets: they go only into the
 * X-Registry-Auth header, never into a log, an error or a status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/docker/docker.h"
#include "lib/base/log.h"
#include "fetcher.h"

/* lib/fetch/jobs' states are the wire's (proto/proto.h) */
_Static_assert(BC_JOB_QUEUED == (int)BC_FETCH_QUEUED && BC_JOB_PULLING == (int)BC_FETCH_PULLING &&
		   BC_JOB_DONE == (int)BC_FETCH_DONE && BC_JOB_FAILED == (int)BC_FETCH_FAILED &&
		   BC_JOB_CANCELLED == (int)BC_FETCH_CANCELLED,
	       "job states");

static int
fetch(struct fetcher *f, const bc_body_fetch *req, bc_msg *rep, bc_err *err)
{
	bc_job *j;
	char name[512], tag[256];
	bool fresh;

	if (bc_image_ref_split(req->image, name, sizeof(name), tag, sizeof(tag), err) < 0)
		return -1;
	if ((j = bc_jobs_submit(&f->jobs, req->image, req->auth, &fresh)) == NULL)
		return bc_err_set(err, BC_ETOOBIG, "%d fetches are already in flight", BC_JOBS_MAX);
	rep->type = BC_MSG_FETCH_ACCEPTED;
	rep->body.fetch_accepted.job = j->id;
	rep->body.fetch_accepted.instance = f->instance;
	if ((rep->body.fetch_accepted.image = strdup(j->image)) == NULL)
		return bc_err_sys(err, "fetch");
	if (fresh) {
		bc_daemon_syslog(f->d, 0, NULL, "Downloading image '%s'", j->image);
		fetcher_kick(f);
	}
	return BC_HANDLED;
}

static int
cancel(struct fetcher *f, const bc_body_fetch_cancel *req, bc_msg *rep, bc_err *err)
{
	bc_job *j;

	j = bc_jobs_get(&f->jobs, req->job);
	if (j == NULL)
		return bc_err_set(err, BC_ENOTFOUND, "no fetch job %llu",
				  (unsigned long long)req->job);
	if (bc_jobs_cancel(j)) /* queued: ended now */
		fetcher_publish_done(f, j);
	else
		fetcher_cancel_pull(f, j);
	rep->type = BC_MSG_FETCH_CANCELLED;
	rep->body.fetch_cancelled.job = req->job;
	return BC_HANDLED;
}

static int
status(struct fetcher *f, bc_msg *rep, bc_err *err)
{
	bc_fetch_job_list *l = &rep->body.fetch_jobs.jobs;

	rep->type = BC_MSG_FETCH_JOBS;
	rep->body.fetch_jobs.instance = f->instance;
	if ((l->v = calloc(BC_JOBS_MAX, sizeof(*l->v))) == NULL)
		return bc_err_sys(err, "status");
	for (size_t i = 0; i < BC_JOBS_MAX; i++) {
		const bc_job *j = &f->jobs.slot[i];
		bc_fetch_job_rec *r = &l->v[l->n];
		if (j->id == 0)
			continue;
		*r = (bc_fetch_job_rec){.job = j->id,
					.image = strdup(j->image),
					.state = (int)j->state,
					.percent = j->percent,
					.current = j->current,
					.total = j->total,
					.attempts = j->attempts,
					.error = j->error[0] ? strdup(j->error) : NULL};
		l->n++;
		if (r->image == NULL)
			return bc_err_sys(err, "status");
	}
	return BC_HANDLED;
}

static int
dispatch(struct bc_daemon *d, const bc_msg *req, bc_msg *rep, bc_err *err)
{
	struct fetcher *f = d->ops->ctx;

	switch (req->type) {
	case BC_MSG_FETCH:
		return fetch(f, &req->body.fetch, rep, err);
	case BC_MSG_FETCH_CANCEL:
		return cancel(f, &req->body.fetch_cancel, rep, err);
	case BC_MSG_FETCH_STATUS:
		return status(f, rep, err);
	case BC_MSG_CLEANUP:
		return fetcher_cleanup(f, &req->body.cleanup, rep, err);
	default:
		return BC_NOT_MINE;
	}
}

static int
start(struct bc_daemon *d, bc_err *err)
{
	struct fetcher *f = d->ops->ctx;
	const bc_settings *set = &d->settings;

	f->d = d;
	f->workers = set->fetch_concurrency;
	f->retries = set->pull_retries;
	f->reserve = set->disk_reserve[0] ? set->disk_reserve : NULL;
	f->statedir = set->statedir;
	f->config = set->config;
	f->instance = d->instance;
	fetcher_pulled_load(f);
	/* the pulls, and a thread beside them for a cleanup */
	if (bc_daemon_start_pool(d, f->workers + 1, f->workers + 4, err) < 0)
		return -1;
	f->pool = d->pool;
	return fetcher_jobs_start(f, err);
}

/* A pull in flight stops at its next progress message; the skeleton waits
 * for the pool. */
static void
stop(struct bc_daemon *d)
{
	fetcher_stop_pulls(d->ops->ctx);
}

int
main(int argc, char **argv)
{
	static struct fetcher f;
	static const struct bc_daemon_ops ops = {
	    .name = "fetcher",
	    .dispatch = dispatch,
	    .ctx = &f,
	    .start = start,
	    .stop = stop,
	    .secrets = true};
	return bc_daemon_main(argc, argv, &ops);
}
