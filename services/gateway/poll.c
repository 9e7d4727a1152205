/* The target: GET {apiEndpoint}/device/v3/{uuid}/state every
 * appUpdatePollInterval plus up to 60 s, backing off on errors; a target is
 * validated whole before the reconciler gets it (replacing its target), and
 * kept on disk with its ETag once accepted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "lib/base/text.h"
#include "lib/base/buf.h"
#include "lib/base/clock.h"
#include "lib/base/fsutil.h"
#include "lib/base/log.h"
#include "lib/ipc/client.h"
#include "lib/model/target.h"
#include "proto/proto.h"
#include "gateway.h"

static uint64_t
jitter(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)bc_mono_ms();
	return r;
}

static void
say(struct gw *g, const char *fmt, const char *what)
{
	bc_status_line(g->last_poll, sizeof(g->last_poll), fmt, what);
}

/* Handing a target to the reconciler (APPLY, replacing its target): the
 * call goes out and its answer comes back on the loop (lib/ipc/peer.h),
 * which never waits on a reconciler that is away or busy; then() runs on
 * the loop with how it went. */
struct handing {
	struct gw *g;
	char *text; /* the target as sent */
	void (*then)(struct gw *g, struct handing *h);
	int rc; /* 0: taken (ack), else err */
	bc_body_ack ack;
	bc_err err;
};

static void
handed(void *ud, bc_msg *rep, const bc_err *err)
{
	struct handing *h = ud;

	if (!atomic_load(&h->g->stopping)) {
		h->rc = rep != NULL ? 0 : -1;
		if (rep != NULL)
			h->g->applied = h->ack = rep->body.ack;
		else
			h->err = *err;
		h->then(h->g, h);
	}
	if (rep != NULL)
		bc_msg_clear(rep);
	free(h->text);
	free(h);
}

/* Hand text over (a target, taken over: freed here on failure too); then()
 * follows. Returns 0, or -1 with err and then() not called: BC_ETOOBIG when
 * text is more than one message holds, else out of memory. */
static int
hand_over(struct gw *g, char *text, void (*then)(struct gw *g, struct handing *h), bc_err *err)
{
	bc_msg req = {.type = BC_MSG_APPLY};
	struct handing *h;

	if (text == NULL)
		return bc_err_set(err, BC_ESYS, "target: out of memory");
	if (strlen(text) > BC_PROTO_MAX_DOC) {
		bc_err_set(err, BC_ETOOBIG,
			   "target: %zu bytes written out, more than the %u one message holds",
			   strlen(text), (unsigned)BC_PROTO_MAX_DOC);
		free(text);
		return -1;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		free(text);
		return bc_err_set(err, BC_ESYS, "target: out of memory");
	}
	*h = (struct handing){.g = g, .text = text, .then = then};
	req.body.apply.target = text;
	req.body.apply.replace = true;
	/* the reconciler validates and keeps it before it answers: quick */
	if (bc_peer_call(g->recon, &req, BC_MSG_ACK, GW_CALL_MS, handed, h, err) < 0) {
		free(text);
		free(h);
		return -1;
	}
	return 0;
}

/* Telling the clients that asked for a poll that found nothing new: the
 * generation the reconciler is at, asked (lib/ipc/peer.h). */
struct telling {
	struct gw *g;
	bc_pending *who[BC_GW_MAX_WAITERS];
	size_t n;
};

static void
told(void *ud, bc_msg *r, const bc_err *cerr)
{
	struct telling *t = ud;
	const struct gw *g = t->g;
	bc_msg rep = {.type = BC_MSG_ACK};
	bc_err err = {0};

	if (atomic_load(&g->stopping))
		bc_err_set(&err, BC_EPROTO, "the gateway is stopping");
	else if (r == NULL)
		bc_err_set(&err, BC_EPROTO, "%s", cerr->msg);
	else {
		bc_body_ack now = {r->body.state.generation, r->body.state.instance};
		/* our last APPLY's generation, unless the reconciler has
		 * restarted since (it resumed the target from its disk) */
		rep.body.ack = now;
		if (g->applied.instance == now.instance && g->applied.generation > now.generation)
			rep.body.ack = g->applied;
	}
	for (size_t i = 0; i < t->n; i++)
		bc_daemon_reply(g->d, t->who[i], &rep, err.code != 0 ? &err : NULL);
	if (r != NULL)
		bc_msg_clear(r);
	free(t);
}

/* Answer the clients that asked for this poll: ack, or why not (ack and
 * why NULL: the generation the reconciler is at, asked first). */
static void
answer(struct gw *g, size_t n, const bc_body_ack *ack, const char *why)
{
	bc_msg rep = {.type = BC_MSG_ACK};
	struct telling *t = NULL;
	bc_err err = {0};

	if (n == 0)
		return;
	if (why == NULL && ack == NULL) {
		if ((t = calloc(1, sizeof(*t))) != NULL) {
			t->g = g;
			t->n = n;
			memcpy(t->who, g->waiters, t->n * sizeof(t->who[0]));
			if (bc_peer_call(g->recon, &(bc_msg){.type = BC_MSG_GET_STATE},
					 BC_MSG_STATE, GW_CALL_MS, told, t, &err) < 0) {
				free(t);
				t = NULL;
				why = err.msg;
			}
		} else {
			why = "out of memory";
		}
	}
	if (t == NULL) {
		if (why != NULL)
			bc_err_set(&err, BC_EPROTO, "%s", why);
		else
			rep.body.ack = *ack;
		for (size_t i = 0; i < n; i++)
			bc_daemon_reply(g->d, g->waiters[i], &rep, why != NULL ? &err : NULL);
	}
	/* who asked while it ran gets the next poll: this one was sent before */
	memmove(g->waiters, g->waiters + n, g->poll.n_waiters * sizeof(g->waiters[0]));
}

/* A poll has ended: how (the status line), when the next one is due (ok:
 * the interval, else the backoff), and the clients told: error, the why is
 * the status line; else ack (NULL: the generation the reconciler is at). */
static void
finish_poll(struct gw *g, bool ok, bool error, const bc_body_ack *ack, const char *fmt,
	    const char *what)
{
	size_t n;

	say(g, fmt, what);
	n = bc_gw_poll_ended(&g->poll, ok, bc_mono_ms(), jitter());
	answer(g, n, ack, error ? g->last_poll : NULL);
}

int
gw_poll_wait(struct gw *g, bc_err *err)
{
	bc_pending *p;
	size_t at = g->poll.n_waiters;
	int rc;

	if (!g->provisioned)
		return bc_err_set(err, BC_EINVAL,
				  "the device is not registered yet (provisioning)");
	if (at == BC_GW_MAX_WAITERS)
		return bc_err_set(err, BC_ETOOBIG, "too many clients wait on a poll");
	if ((p = bc_daemon_defer(g->d)) == NULL)
		return bc_err_set(err, BC_ESYS, "out of memory");
	rc = bc_gw_poll_ask(&g->poll, bc_mono_ms());
	g->waiters[at] = p;
	if (rc == 1 && g->poll_rq != NULL) /* no answer yet: given up for a new one */
		gw_req_cancel(g->poll_rq);
	return BC_DEFERRED;
}

/* The cloud's target and its ETag on disk: {"etag": ..., "target": {...}}
 * (JSON made here, at the file). */
static void
keep(struct gw *g)
{
	json_t *k = json_pack("{s:s, s:o}", "etag", g->etag, "target",
			      json_loads(g->target, JSON_REJECT_DUPLICATES, NULL));
	bc_err err = {0};

	if (k == NULL || bc_write_json_atomic(g->statefile, k, 0600, &err) < 0)
		log_warnx("keeping the cloud's target: %s", k ? err.msg : "out of memory");
	json_decref(k);
}

/* A uuid or commit as the cloud writes them: 1..64 of [A-Za-z0-9_.-]. */
static bool
plain_id(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* Which app uuid -> commit this device's part of a target names (for a
 * rejection's report) into out: its first release each, plain ids only,
 * at most BC_STATE_MAX_APPS (the cloud's document is not ours to grow on). */
static void
releases_of(const json_t *doc, const char *device, bc_rejections *out)
{
	json_t *a, *rel;
	const char *au, *commit;

	json_object_foreach(json_object_get(json_object_get(doc, device), "apps"), au, a)
	{
		if (out->n >= BC_STATE_MAX_APPS)
			break;
		json_object_foreach(json_object_get(a, "releases"), commit, rel)
		{
			if (plain_id(au) && plain_id(commit)) {
				bc_rejected *r = &out->v[out->n++];
				snprintf(r->uuid, sizeof(r->uuid), "%s", au);
				snprintf(r->commit, sizeof(r->commit), "%s", commit);
			}
			break;
		}
	}
}

/* The cloud's target refused whole (why): nothing running is touched,
 * and this rejection replaces the last one (doc: what was refused, may be
 * NULL; it is kept while the cloud answers 304 to g->etag). */
static void
reject(struct gw *g, json_t *doc, const char *why)
{
	log_warnx("Could not move to new release: %s", why);
	bc_daemon_syslog(g->d, 0, NULL, "Could not move to new release: %s", why);
	g->rejected.n = 0;
	if (doc != NULL)
		releases_of(doc, g->cfg.uuid, &g->rejected);
	snprintf(g->rejected_etag, sizeof(g->rejected_etag), "%s", g->etag);
	snprintf(g->rejected_why, sizeof(g->rejected_why), "%.*s", (int)sizeof(g->rejected_why) - 1,
		 why);
	bc_tame(g->rejected_why);
	gw_report_soon(g);
	finish_poll(g, true, true, NULL, "rejected the target: %s", g->rejected_why);
}

/* The reconciler's answer to a new target from the cloud. */
static void
handed_new(struct gw *g, struct handing *h)
{
	if (h->rc == 0) {
		g->kept_at = 0; /* newer than what was kept */
		free(g->target);
		g->target = h->text;
		h->text = NULL;
		g->rejected.n = 0;
		g->rejected_etag[0] = g->rejected_why[0] = '\0';
		keep(g);
		log_info("applied the cloud's target (%s)", g->etag);
		gw_report_soon(g);
		finish_poll(g, true, false, &h->ack, "applied a new target (%s)", g->etag);
		return;
	}
	/* refused for what only the reconciler can judge (services' contracts
	 * against this device): rejected, as a target the gateway refuses;
	 * what runs stays */
	if (h->err.code == BC_EINVAL) {
		json_t *doc = bc_target_load(h->text, strlen(h->text), "target", NULL);
		reject(g, doc, h->err.msg);
		json_decref(doc);
		return;
	}
	/* the reconciler away: try again soon, it keeps what it runs */
	log_warnx("target: the reconciler did not take it: %s", h->err.msg);
	g->etag[0] = '\0';
	finish_poll(g, false, true, NULL, "could not hand the target over: %s", h->err.msg);
}

static void
got_target(struct gw *g, struct gw_req *rq)
{
	json_t *doc = NULL;
	bc_state st;
	bc_err err = {0};

	snprintf(g->etag, sizeof(g->etag), "%s", rq->ans->etag);
	if (rq->body == NULL)
		bc_err_set(&err, BC_EINVAL, "target: an empty body");
	else
		doc = bc_target_load(rq->body, rq->len, "target", &err);
	/* (no doc: err says why) */
	if (doc != NULL &&
	    (json_object_get(doc, g->cfg.uuid) == NULL || json_object_size(doc) != 1)) {
		bc_err_set(&err, BC_EINVAL, "target: not a document of this device (%s)",
			   g->cfg.uuid);
	} else if (doc != NULL && bc_target_parse(doc, NULL, &st, &err) == 0) {
		bc_state_free(&st);
		if (hand_over(g, json_dumps(doc, JSON_COMPACT), handed_new, &err) == 0) {
			/* the poll is busy until the reconciler has answered */
			json_decref(doc);
			return;
		}
		if (err.code != BC_ETOOBIG) {
			log_warnx("target: %s", err.msg);
			g->etag[0] = '\0';
			json_decref(doc);
			finish_poll(g, false, true, NULL, "could not hand the target over: %s",
				    err.msg);
			return;
		}
	}
	reject(g, doc, err.msg);
	json_decref(doc);
}

static void
poll_done(struct gw *g, struct gw_req *rq)
{
	bc_gw_answer ans = {.cancelled = rq->rv == NNG_ECANCELED,
			    .too_large = rq->rv == NNG_EMSGSIZE,
			    .answered = rq->rv == 0,
			    .status = rq->status,
			    .etag_refused = g->rejected_etag[0] != '\0' &&
					    strcmp(g->etag, g->rejected_etag) == 0,
			    .have_target = g->target != NULL};
	enum bc_gw_poll_verdict v = bc_gw_poll_verdict(&g->poll, &ans);
	bool ok = bc_gw_poll_verdict_ok(v), error = bc_gw_poll_verdict_error(v);
	char why[96];

	bc_gw_poll_answered(&g->poll);
	g->poll_rq = NULL;
	if (v != BC_GW_POLL_GIVEN_UP)
		g->reachable = rq->rv == 0 && rq->status < 500;
	switch (v) {
	case BC_GW_POLL_GIVEN_UP: /* its waiters wait on the new one */
		log_info("target: no answer in %llu ms; a client asked: polling anew",
			 (unsigned long long)(bc_mono_ms() - g->poll.started));
		bc_gw_poll_given_up(&g->poll, bc_mono_ms());
		break;
	case BC_GW_POLL_TOO_LARGE:
		snprintf(why, sizeof(why), "a target larger than %zu bytes", rq->max);
		log_warnx("Could not move to new release: target: too large (%s)", why);
		finish_poll(g, ok, error, NULL, "refused: too large (%s)", why);
		break;
	case BC_GW_POLL_UNREACHABLE:
		log_warnx("target: %s: %s", g->cfg.api_endpoint, gw_req_error(rq));
		finish_poll(g, ok, error, NULL, "unreachable: %s", gw_req_error(rq));
		break;
	case BC_GW_POLL_STILL_REFUSED: /* the cloud's target is still the one refused */
		finish_poll(g, ok, error, NULL, "rejected the target (unchanged, 304): %s",
			    g->rejected_why);
		break;
	case BC_GW_POLL_UNCHANGED:
		finish_poll(g, ok, error, NULL, "%s", "unchanged (304)");
		break;
	case BC_GW_POLL_UNKNOWN: /* the cloud's answer for an unknown or frozen device */
		log_warnx("target: 304 but no target kept: the cloud does not know us?");
		finish_poll(g, ok, error, NULL, "%s", "304 with no target kept (unknown device?)");
		break;
	case BC_GW_POLL_NEW:
		got_target(g, rq);
		break;
	case BC_GW_POLL_FAILED:
		snprintf(why, sizeof(why), "HTTP %ld", rq->status);
		log_warnx("target: %s", why);
		finish_poll(g, ok, error, NULL, "failed: %s", why);
		break;
	}
	gw_req_free(rq);
}

static uint64_t
poll_due(void *ud)
{
	struct gw *g = ud;
	return bc_gw_poll_due(&g->poll, g->cloud && g->provisioned);
}

static void
poll_fire(void *ud)
{
	struct gw *g = ud;
	struct gw_req *rq = calloc(1, sizeof(*rq));
	char url[1200];
	bc_err err = {0};

	bc_gw_poll_sent(&g->poll, bc_mono_ms()); /* the clients waiting: theirs */
	if (rq == NULL) {
		finish_poll(g, false, true, NULL, "could not ask: %s", "out of memory");
		return;
	}
	rq->max = GW_MAX_TARGET;
	rq->done = poll_done;
	snprintf(url, sizeof(url), "%s/device/v3/%s/state", g->cfg.api_endpoint, g->cfg.uuid);
	if (gw_http_send(g, rq, "GET", url,
			 g->target != NULL || g->rejected_etag[0] != '\0' ? g->etag : NULL, NULL,
			 &err) < 0) {
		log_warnx("target: %s", err.msg);
		finish_poll(g, false, true, NULL, "could not ask: %s", err.msg);
		return;
	}
	g->poll_rq = rq;
}

void
gw_poll_now(struct gw *g)
{
	bc_gw_poll_now(&g->poll, bc_mono_ms());
}

static uint64_t
kept_due(void *ud)
{
	struct gw *g = ud;
	return g->kept_at != 0 && !g->kept_busy ? g->kept_at : UINT64_MAX;
}

/* The kept cloud target, handed to the reconciler once after a start
 * (unless a newer one came from the cloud first). */
static void
handed_kept(struct gw *g, struct handing *h)
{
	g->kept_busy = false;
	if (h->rc < 0 && h->err.code == BC_EINVAL) {
		/* refused, not missed (a contract this device no longer meets):
		 * asking again gives the same answer; the next poll brings the
		 * cloud's target */
		log_warnx("the kept cloud target was refused: %s", h->err.msg);
		g->kept_at = 0;
		return;
	}
	if (h->rc < 0) {
		if (g->kept_at != 0 && g->kept_tries++ % 30 == 0)
			log_warnx("the kept cloud target: %s; trying again", h->err.msg);
		if (g->kept_at != 0)
			g->kept_at = bc_mono_ms() + 1000;
		return;
	}
	log_info("applied the kept cloud target (%s)", g->etag);
	g->kept_at = 0;
}

static void
kept_fire(void *ud)
{
	struct gw *g = ud;
	bc_err err = {0};

	if (g->target == NULL) {
		g->kept_at = 0;
		return;
	}
	if (hand_over(g, strdup(g->target), handed_kept, &err) < 0) {
		if (g->kept_tries++ % 30 == 0)
			log_warnx("the kept cloud target: %s; trying again", err.msg);
		g->kept_at = bc_mono_ms() + 1000;
		return;
	}
	g->kept_busy = true;
}

int
gw_poll_start(struct gw *g, bc_err *err)
{
	json_t *k = bc_read_json(g->statefile, JSON_REJECT_DUPLICATES, BC_PROTO_MAX_DOC, NULL);
	bc_err aerr = {0};

	if (json_is_object(json_object_get(k, "target")) &&
	    json_is_string(json_object_get(k, "etag")) &&
	    (g->target = json_dumps(json_object_get(k, "target"), JSON_COMPACT)) != NULL) {
		snprintf(g->etag, sizeof(g->etag), "%s",
			 json_string_value(json_object_get(k, "etag")));
		/* offline at boot: what the cloud said last is what runs (the
		 * reconciler may not be up yet: kept_fire tries every second) */
		g->kept_at = bc_mono_ms();
	}
	json_decref(k);
	(void)aerr;
	bc_gw_poll_init(&g->poll, g->cfg.app_update_poll_interval_ms, bc_mono_ms());
	if (bc_daemon_timer(g->d, kept_due, kept_fire, g, err) < 0)
		return -1;
	return bc_daemon_timer(g->d, poll_due, poll_fire, g, err);
}
