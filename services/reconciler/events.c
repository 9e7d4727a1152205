/* What makes the reconciler look again without being asked: Docker's event
 * stream (a supervised container died, was removed, ...) and the locker's
 * LOCK_EVENTs (an app let go of its lock). Both are fds of the loop. A
 * stream that breaks is logged and opened again after a pause; the round
 * that follows looks at everything anew, so nothing missed meanwhile is
 * lost. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/ipc/client.h"
#include "proto/ipc.h"
#include "rec.h"

#define EVENTS_RETRY_MS 2000

static int
on_event(void *ud, json_t *ev)
{
	struct rec *r = ud;
	const char *action = json_string_value(json_object_get(ev, "Action"));

	/* health_status: a change of a container's health (the engine tells
	 * changes only), which a service waiting on service_healthy needs */
	if (action == NULL || strncmp(action, "exec_", 5) == 0 || strcmp(action, "attach") == 0)
		return 0;
	r->core.wake = true;
	return 0;
}

static void
events_close(struct rec *r)
{
	if (r->events == NULL)
		return;
	bc_daemon_unwatch_fd(r->d, bc_docker_stream_fd(r->events));
	bc_docker_stream_free(r->events);
	r->events = NULL;
}

static void
events_broke(struct rec *r, const char *why)
{
	events_close(r);
	/* said once a streak, and again now and then */
	if (r->events_failures++ == 0 || r->events_failures % 30 == 0)
		log_warnx("docker events: %s; following them again in %d ms", why, EVENTS_RETRY_MS);
	r->events_retry_at = bc_mono_ms() + EVENTS_RETRY_MS;
	r->core.wake = true; /* we may have missed something */
}

static void
events_ready(void *ud, short revents)
{
	struct rec *r = ud;
	bc_err err = {0};
	int rc;

	(void)revents;
	rc = bc_docker_stream_read(r->events, &err);
	if (rc < 0)
		events_broke(r, err.msg);
	else if (rc > 0)
		events_broke(r, "the engine ended the stream");
}

static void
events_open(struct rec *r)
{
	bc_err err = {0};
	json_t *f =
	    json_pack("{s:[s], s:[s]}", "type", "container", "label", "io.balena.supervised");
	char *query = bc_docker_filters(f, &err);

	json_decref(f);
	r->events_retry_at = 0;
	if (query == NULL) {
		events_broke(r, err.msg);
		return;
	}
	r->events = bc_docker_events_open(NULL, query, on_event, r, &err);
	free(query);
	if (r->events == NULL) {
		events_broke(r, err.msg);
		return;
	}
	if (bc_daemon_watch_fd(r->d, bc_docker_stream_fd(r->events), POLLIN, events_ready, r,
			       &err) < 0) {
		events_broke(r, err.msg);
		return;
	}
	if (r->events_failures > 0) {
		/* the engine is back (a restart of dockerd): look at once, not
		 * when the backoff of the rounds that failed meanwhile ends */
		log_info("docker events: following them again");
		r->core.wake = true;
		r->core.failures = 0;
	}
	r->events_failures = 0;
}

static uint64_t
events_due(void *ud)
{
	struct rec *r = ud;
	return r->events == NULL && r->events_retry_at != 0 && !r->core.stopping
		   ? r->events_retry_at
		   : UINT64_MAX;
}

static void
events_fire(void *ud)
{
	events_open(ud);
}

/* The locker's LOCK_EVENTs: each wakes us. A message it should not have
 * sent is logged and skipped; the dial retries by itself while the locker
 * is away. */
static void
lock_event(void *ud, bc_msg *m)
{
	struct rec *r = ud;

	if (m->type == BC_MSG_LOCK_EVENT)
		r->core.wake = true;
}

static void
lock_ready(void *ud, short revents)
{
	struct rec *r = ud;
	int rv;

	(void)revents;
	rv = bc_client_sub_drain(r->lock_sub, "lock events", lock_event, r);
	if (rv != NNG_EAGAIN) {
		/* only a closed socket ends here: the once-a-second look (a
		 * round not settled) still finds a lock gone, slower */
		log_warnx("lock events: %s; no longer followed", nng_strerror(rv));
		bc_daemon_unwatch_fd(r->d, r->lock_fd);
		r->lock_fd = -1;
	}
}

int
rec_events_start(struct rec *r, bc_err *err)
{
	bc_err serr = {0};
	int rv;

	r->lock_fd = -1;
	if (bc_daemon_timer(r->d, events_due, events_fire, r, err) < 0)
		return -1;
	events_open(r);
	if (bc_client_sub(NULL, "locker", true, &r->lock_sub, &serr) < 0) {
		log_warnx("lock events: %s", serr.msg);
		return 0;
	}
	if ((rv = nng_socket_get_int(r->lock_sub, NNG_OPT_RECVFD, &r->lock_fd)) != 0) {
		log_warnx("lock events: %s", nng_strerror(rv));
		r->lock_fd = -1;
		return 0;
	}
	return bc_daemon_watch_fd(r->d, r->lock_fd, POLLIN, lock_ready, r, err);
}

void
rec_events_stop(struct rec *r)
{
	events_close(r);
	if (r->lock_fd >= 0) {
		bc_daemon_unwatch_fd(r->d, r->lock_fd);
		r->lock_fd = -1;
	}
	bc_sock_close(r->lock_sub);
}
