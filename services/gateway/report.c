/* The state report: PATCH {apiEndpoint}/device/v3/state with only what
 * changed since the last report the cloud accepted (lib/cloud/report.h),
 * at most one every 10 s (a status change goes at once), backing off on
 * errors and honouring Retry-After. The state comes from the reconciler's
 * STATE events. */
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/base/text.h"
#include "lib/cloud/report.h"
#include "lib/ipc/client.h"
#include "proto/ipc.h"
#include "lib/plan/statedoc.h"
#include "gateway.h"

static void
report_done(struct gw *g, struct gw_req *rq)
{
	g->reachable = rq->rv == 0 && rq->status < 500;
	if (rq->rv == 0 && rq->status >= 200 && rq->status < 300) {
		bc_status_line(g->last_report, sizeof(g->last_report), "%s", "accepted");
		/* rq->send held the body; the device part it brought is kept */
		bc_reporter_accepted(&g->reported, g->cfg.uuid, rq->send);
		bc_gw_report_accepted(&g->rep, bc_mono_ms());
		gw_report_soon(g); /* anything that changed meanwhile */
	} else {
		uint64_t wait = bc_gw_report_failed(&g->rep, bc_mono_ms(),
						    rq->rv == 0 ? rq->ans->retry_after_s : 0);
		if (rq->rv != 0)
			bc_status_line(g->last_report, sizeof(g->last_report), "failed: %s",
				       gw_req_error(rq));
		else
			bc_status_line(g->last_report, sizeof(g->last_report), "%s",
				       "refused by the cloud");
		if (rq->rv != 0)
			log_warnx("state report: %s", gw_req_error(rq));
		else
			log_warnx("state report: HTTP %ld; again in %llu ms", rq->status,
				  (unsigned long long)wait);
	}
	gw_req_free(rq);
}

static uint64_t
report_due(void *ud)
{
	struct gw *g = ud;
	return bc_gw_report_due(&g->rep, g->cloud && g->provisioned && g->have_state);
}

static void
report_fire(void *ud)
{
	struct gw *g = ud;
	struct gw_req *rq;
	char url[1200], *text;
	bc_err err = {0};

	text = bc_reporter_body(&g->reported, g->cfg.uuid, &g->state, &g->rejected, &err);
	if (text == NULL && err.code == 0) {
		bc_gw_report_nothing(&g->rep); /* never an empty report */
		return;
	}
	if (text == NULL || (rq = calloc(1, sizeof(*rq))) == NULL) {
		free(text);
		bc_gw_report_not_sent(&g->rep, bc_mono_ms(), BC_REPORT_EVERY_MS);
		return;
	}
	rq->max = GW_MAX_ANSWER;
	rq->done = report_done;
	snprintf(url, sizeof(url), "%s/device/v3/state", g->cfg.api_endpoint);
	if (gw_http_send(g, rq, "PATCH", url, NULL, text, &err) < 0) {
		log_warnx("state report: %s", err.msg);
		bc_gw_report_not_sent(&g->rep, bc_mono_ms(), BC_REPORT_EVERY_MS);
		return;
	}
	bc_gw_report_sent(&g->rep);
}

void
gw_report_soon(struct gw *g)
{
	if (!g->cloud || !g->have_state)
		return;
	/* a status change at once; anything else at most every 10 s */
	bc_gw_report_soon(&g->rep, bc_reporter_when(&g->reported, &g->state, &g->rejected,
						    g->rep.last_sent, bc_mono_ms()));
}

/* The reconciler's state (taken over: *st is left empty) is now ours. */
static void
take_state(struct gw *g, bc_body_state *st)
{
	bc_statebody_free(&g->state);
	g->state = *st;
	*st = (bc_body_state){0};
	g->have_state = true;
	gw_report_soon(g);
}

static void
state_event(void *ud, bc_msg *m)
{
	struct gw *g = ud;

	if (m->type != BC_MSG_STATE)
		return;
	g->sub_live = true; /* the events come: no more asking */
	take_state(g, &m->body.state);
}

static void
state_ready(void *ud, short revents)
{
	(void)revents;
	bc_client_sub_drain(((struct gw *)ud)->rsub, "state events", state_event, ud);
}

static uint64_t
state_due(void *ud)
{
	struct gw *g = ud;
	return g->sub_live ? UINT64_MAX : g->state_ask_at;
}

/* Asked without waiting (lib/ipc/peer.h): the answer comes on the loop. */
static void
asked(void *ud, bc_msg *rep, const bc_err *err)
{
	struct gw *g = ud;

	(void)err; /* asked again in a second */
	g->state_asking = false;
	if (rep != NULL && !atomic_load(&g->stopping) && !g->sub_live)
		take_state(g, &rep->body.state);
	if (rep != NULL)
		bc_msg_clear(rep);
}

static void
state_fire(void *ud)
{
	struct gw *g = ud;
	bc_err err = {0};

	g->state_ask_at = bc_mono_ms() + 1000;
	if (g->state_asking || bc_peer_call(g->recon, &(bc_msg){.type = BC_MSG_GET_STATE},
					    BC_MSG_STATE, GW_CALL_MS, asked, g, &err) < 0)
		return;
	g->state_asking = true;
}

int
gw_report_start(struct gw *g, bc_err *err)
{
	bc_err serr = {0};

	bc_gw_report_init(&g->rep, g->cfg.app_update_poll_interval_ms);
	g->rsub_fd = -1;
	if (bc_daemon_timer(g->d, report_due, report_fire, g, err) < 0)
		return -1;
	if (bc_client_sub(NULL, "reconciler", true, &g->rsub, &serr) < 0) {
		log_warnx("state events: %s", serr.msg);
		return 0;
	}
	if (nng_socket_get_int(g->rsub, NNG_OPT_RECVFD, &g->rsub_fd) != 0 ||
	    bc_daemon_watch_fd(g->d, g->rsub_fd, POLLIN, state_ready, g, err) < 0)
		return -1;
	/* what runs now, for the first report, asked at once. The reconciler
	 * may not be up yet, and the STATE events it sends before our
	 * subscription is connected are lost (a quick converge at boot would
	 * then never be reported): until the first STATE event comes, ask
	 * every second. */
	g->state_ask_at = bc_mono_ms();
	return bc_daemon_timer(g->d, state_due, state_fire, g, err);
}

void
gw_report_stop(struct gw *g)
{
	if (g->rsub_fd >= 0)
		bc_daemon_unwatch_fd(g->d, g->rsub_fd);
	bc_sock_close(g->rsub);
}
