/* The cloud's log stream (../shared/CLOUD-API.md): one long-lived
 * POST {apiEndpoint}/device/v2/{uuid}/log-stream, gzip ndjson, chunked.
 * While records come they are written at least every 100 ms (each write a
 * gzip sync flush: the cloud sees every line at once); after 60 s with none
 * the body is ended and the cloud's 201 read. Any answer while streaming is
 * a failure, so is a write that has not gone out after 30 s (the watchdog
 * for a stalled stream). After a failure: again in 5 s x 2^n, at most 5 min;
 * the records of the write that failed are sent again.
 *
 * The connection is the one cloud client's (lib/cloud/conn.h): nng
 * connects (TLS) and moves the bytes on its threads, the answer is read
 * beside the writes through the strict reader, and each end comes to the
 * loop, where all the logic runs. A record's cursor moves once its write
 * has gone out (or when the buffer drops it unsent), and is kept at once:
 * that is what a restart resumes from. A stop sends nothing twice; a crash (kill -9) in
 * the moment between a write going out and its cursor being kept sends
 * that one write (at most 100 ms of lines) again: at least once, never a
 * gap. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/cloud/tls.h"
#include "lib/fetch/fetch.h"
#include "logger.h"

#define WATCHDOG_MS 30000
#define WRITE_MAX (64u << 10) /* JSON bytes in one write */

/* Records in the spool the cloud has not taken? */
static bool
spool_pending(const struct lgc *c)
{
	return c->spool_on && bc_logspool_pending(&c->spool);
}

/* What waits for the cloud, as its stream's decisions see it. */
static bc_ls_queue
queue(const struct lg *g)
{
	const struct lgc *c = &g->cloud;
	bool spool = spool_pending(c);

	return (bc_ls_queue){.unsent = bc_logring_cloud_next(&g->ring) != NULL ||
				       g->ring.suppressed > 0 || spool,
			     .full = g->ring.unsent >= WRITE_MAX / 2 || spool,
			     .behind = g->ring.unsent >= g->ring.max_bytes / 2 || spool};
}

/* No cloud stream in this run: the spool goes (its files too). */
static void
spool_unused(struct lgc *c)
{
	if (c->spool_on)
		bc_logspool_close(&c->spool);
	c->spool_on = false;
}

/* The connection is over (why: NULL when it ended well). */
static void
hang_up(struct lg *g, const char *why)
{
	struct lgc *c = &g->cloud;
	uint64_t wait;
	bool say;

	bc_cloud_conn_close(c->cc); /* nothing of it comes after this */
	c->cc = NULL;
	if (c->z_init) {
		deflateEnd(&c->z);
		c->z_init = false;
	}
	/* what the last fill took and did not see go out (a write that failed,
	 * or a fill that did): whether the cloud got it is not known, it goes
	 * again, the notice too */
	if (c->refused && c->conn_first != 0)
		c->inflight_first = c->conn_first; /* the cloud took none of it */
	if (c->inflight_first != 0) {
		if (c->spool_on)
			g->ring.suppressed += bc_logspool_rewind(&c->spool, c->inflight_first);
		bc_logring_cloud_rewind(&g->ring, c->inflight_first);
	}
	c->conn_first = 0;
	c->refused = false;
	g->ring.suppressed += c->inflight_sup;
	c->inflight_first = 0;
	c->inflight_sup = 0;
	if (c->out.data != NULL) /* the first write holds the key */
		explicit_bzero(c->out.data, c->out.cap);
	c->out.len = 0;
	wait = bc_ls_hung_up(&c->s, why != NULL, bc_mono_ms(), &say);
	lg_follow_resume(g);
	c->n_adv = 0;
	if (why != NULL) {
		if (say)
			log_warnx("log stream: %s; again in %" PRIu64 " s", why, wait / 1000);
		snprintf(c->status, sizeof(c->status), "%s", why);
	}
}

/* Deflate len bytes (or finish) onto c->out as one HTTP chunk. */
static int
chunk(struct lgc *c, const char *p, size_t len, bool finish)
{
	unsigned char tmp[16384];
	bc_buf body = {0};
	char head[32];
	int zr;

	c->z.next_in = (unsigned char *)p;
	c->z.avail_in = (unsigned)len;
	do {
		c->z.next_out = tmp;
		c->z.avail_out = sizeof(tmp);
		zr = deflate(&c->z, finish ? Z_FINISH : Z_SYNC_FLUSH);
		if (zr == Z_STREAM_ERROR ||
		    bc_buf_add(&body, tmp, sizeof(tmp) - c->z.avail_out, NULL) < 0) {
			bc_buf_free(&body);
			return -1;
		}
	} while (c->z.avail_out == 0 || (finish && zr != Z_STREAM_END));
	c->out.len = 0;
	if (body.len > 0) {
		snprintf(head, sizeof(head), "%zx\r\n", body.len);
		if (bc_buf_add(&c->out, head, strlen(head), NULL) < 0 ||
		    bc_buf_add(&c->out, body.data, body.len, NULL) < 0 ||
		    bc_buf_add(&c->out, "\r\n", 2, NULL) < 0) {
			bc_buf_free(&body);
			return -1;
		}
	}
	bc_buf_free(&body);
	if (finish && bc_buf_add(&c->out, "0\r\n\r\n", 5, NULL) < 0)
		return -1;
	return 0;
}

/* The bytes in c->out go; a watchdog of 30 s. */
static void
start_write(struct lg *g)
{
	struct lgc *c = &g->cloud;

	bc_ls_write_started(&c->s, bc_mono_ms());
	if (bc_cloud_conn_write(c->cc, c->out.data, c->out.len, WATCHDOG_MS) < 0)
		hang_up(g, "the connection is over");
}

/* What the next write carries: the records the cloud has not taken (and a
 * "Suppressed" notice first, once there is room again). */
static int
fill(struct lg *g)
{
	struct lgc *c = &g->cloud;
	bc_buf js = {0};
	const bc_logrec *r;
	uint64_t sup = bc_logring_take_suppressed(&g->ring);
	int rc = -1;

	c->inflight_first = 0;
	c->n_adv = 0;
	c->inflight_sup = sup;
	if (sup > 0) {
		char msg[96];
		bc_logrec n = {
		    .ts_ns = (int64_t)bc_wall_ms() * 1000000, .is_system = true, .message = msg};
		snprintf(msg, sizeof(msg), "Suppressed %" PRIu64 " message(s)", sup);
		if (bc_logrec_json(&n, false, &js, NULL) < 0)
			goto out;
		log_info("log stream: %s (the buffer was full)", msg);
	}
	for (;;) {
		bool spooled = false;
		bc_err serr = {0};
		if (js.len >= WRITE_MAX)
			break;
		/* the spool holds the oldest: it goes first */
		if (c->spool_on && (r = bc_logspool_next(&c->spool, &serr)) != NULL) {
			spooled = true;
		} else if (serr.msg[0] != '\0') {
			/* the spool cannot be read: what it holds is counted
			 * and it starts again empty; this write ends here (the
			 * buffer's records are newer) */
			g->ring.suppressed += bc_logspool_reset(&c->spool);
			log_warnx("log stream: spool: %s (emptied)", serr.msg);
			break;
		}
		if (!spooled && (r = bc_logring_cloud_next(&g->ring)) == NULL)
			break;
		if (bc_logrec_json(r, false, &js, NULL) < 0)
			goto out;
		if (c->inflight_first == 0)
			c->inflight_first = r->seq;
		if (c->conn_first == 0)
			c->conn_first = r->seq;
		c->inflight_last = r->seq;
		if (spooled)
			bc_logspool_took(&c->spool);
		else
			bc_logring_cloud_took(&g->ring, r->seq);
		c->lines++;
		if (r->container[0]) {
			/* the cursor moves once this write is out */
			size_t i;
			for (i = 0; i < c->n_adv; i++)
				if (strcmp(c->adv[i].id, r->container) == 0 &&
				    c->adv[i].is_stderr == r->is_stderr)
					break;
			if (i == c->n_adv && c->n_adv < LG_ADV_MAX) {
				snprintf(c->adv[i].id, sizeof(c->adv[0].id), "%s", r->container);
				c->adv[c->n_adv++].is_stderr = r->is_stderr;
			}
			if (i < c->n_adv) {
				c->adv[i].ts_ns = r->ts_ns;
				c->adv[i].nth = r->nth;
			}
		}
	}
	rc = chunk(c, js.data, js.len, false);
	c->bytes += js.len;
out:
	bc_buf_free(&js);
	return rc;
}

static bool
busy(const struct lg *g)
{
	bc_ls_queue q = queue(g);
	return bc_ls_holds(&g->cloud.s, &q, bc_mono_ms());
}

static uint64_t
busy_until(const struct lg *g)
{
	return bc_ls_hold_until(&g->cloud.s, bc_mono_ms());
}

static void
write_done(struct lg *g, int rv)
{
	struct lgc *c = &g->cloud;

	if (rv != 0) { /* hang_up sends what this write held again */
		char why[96];
		snprintf(why, sizeof(why), "%s",
			 rv == NNG_ETIMEDOUT ? "the stream stalled (a write not out in 30 s)"
					     : nng_strerror(rv));
		hang_up(g, why);
		return;
	}
	for (size_t i = 0; i < c->n_adv; i++) {
		struct follower *f = lg_follower(g, c->adv[i].id);
		if (f != NULL)
			lg_cursor_done(g, f, c->adv[i].is_stderr, c->adv[i].ts_ns, c->adv[i].nth);
	}
	/* at once, before anything else: a restart must not send these
	 * again (a crash before this line sends this one write again) */
	if (g->dirty)
		lg_save_cursors(g);
	lg_follow_resume(g);
	if (c->spool_on && c->inflight_first != 0)
		bc_logspool_acked(&c->spool, c->inflight_last);
	c->n_adv = 0;
	c->inflight_first = 0;
	c->inflight_sup = 0;
	bc_ls_write_done(&c->s, bc_mono_ms());
	explicit_bzero(c->out.data, c->out.len); /* the first holds the key */
}

/* The exchange is over: any answer while we stream is a failure; at the
 * end of the body, the cloud's 201 is how it ends well. */
static void
ended(struct lg *g, int rv)
{
	struct lgc *c = &g->cloud;
	long status = rv == 0 ? bc_cloud_conn_answer(c->cc)->parser.status : 0;
	char why[160];

	if (bc_ls_answered_well(&c->s, status)) {
		snprintf(c->status, sizeof(c->status),
			 "closed after 60 s idle (the cloud said %ld)", status);
		hang_up(g, NULL);
		return;
	}
	if (rv == 0) {
		snprintf(why, sizeof(why), "the cloud answered %ld%s", status,
			 status == 401 ? " (is the device known?)" : "");
		c->refused = status >= 400;
	} else if (rv == NNG_EPROTO)
		snprintf(why, sizeof(why), "the cloud sent what is not an answer (%.100s)",
			 bc_cloud_conn_error(c->cc, rv));
	else
		snprintf(why, sizeof(why), "%s", bc_cloud_conn_error(c->cc, rv));
	hang_up(g, why);
}

static void
connect_done(struct lg *g)
{
	struct lgc *c = &g->cloud;
	const nng_url *u = bc_cloud_conn_url(c->cc);
	char head[2048];
	int n;

	if (deflateInit2(&c->z, 1, Z_DEFLATED, 16 + 12, 5, Z_DEFAULT_STRATEGY) != Z_OK) {
		hang_up(g, "out of memory");
		return;
	}
	c->z_init = true;
	/* the head, then the first records in the same write */
	n = snprintf(head, sizeof(head),
		     "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
		     "Content-Type: application/x-ndjson\r\nContent-Encoding: gzip\r\n"
		     "Transfer-Encoding: chunked\r\nUser-Agent: balena-compose/" BC_VERSION
		     "\r\n\r\n",
		     u->u_requri, u->u_host, g->cfg.device_api_key);
	if (n < 0 || (size_t)n >= sizeof(head) || fill(g) < 0) {
		explicit_bzero(head, sizeof(head));
		hang_up(g, "out of memory");
		return;
	}
	{
		/* sized once: a buffer that grew would leave a freed copy of
		 * the key behind */
		bc_buf all = {.len = (size_t)n + c->out.len,
			      .cap = (size_t)n + c->out.len + 1,
			      .max = c->out.max};
		if ((all.data = malloc(all.cap)) == NULL) {
			explicit_bzero(head, sizeof(head));
			hang_up(g, "out of memory");
			return;
		}
		memcpy(all.data, head, (size_t)n);
		if (c->out.len > 0)
			memcpy(all.data + n, c->out.data, c->out.len);
		all.data[all.len] = '\0';
		explicit_bzero(head, sizeof(head));
		explicit_bzero(c->out.data, c->out.len);
		bc_buf_free(&c->out);
		c->out = all; /* wiped when it is reused: it holds the key */
	}
	bc_ls_connected(&c->s, bc_mono_ms());
	snprintf(c->status, sizeof(c->status), "streaming to %s", g->cfg.api_endpoint);
	log_info("log stream: connected to %s", g->cfg.api_endpoint);
	start_write(g);
}

/* The loop: the connection's steps (lib/cloud/conn.h). */
static void
on_exchange(void *ud, bc_cloud_conn *cc, bc_cc_event ev, int rv)
{
	struct lg *g = ud;
	struct lgc *c = &g->cloud;

	(void)cc; /* the one open: a closed one tells nothing */
	if (ev == BC_CC_CONNECTED && c->s.state == BC_LS_CONNECTING)
		connect_done(g);
	else if (ev == BC_CC_WRITTEN && c->s.writing)
		write_done(g, rv);
	else if (ev == BC_CC_ENDED)
		ended(g, rv);
}

static void
open_stream(struct lg *g)
{
	struct lgc *c = &g->cloud;
	bc_err err = {0};
	/* the answer's deadline is none: the stream is ended by us (the
	 * core's idle close and its give-up) */
	bc_cc_opts o = {.url = c->url,
			.tls = c->tls,
			.pool = c->pool,
			.max = LGC_MAX_ANSWER,
			.connect_ms = WATCHDOG_MS,
			.fn = on_exchange,
			.ud = g};

	if (bc_cloud_conn_open(&c->cc, &o, &err) < 0) {
		hang_up(g, err.msg);
		return;
	}
	bc_ls_connecting(&c->s);
}

/* --- the loop's timer: what to do next ------------------------------------ */

static uint64_t
cloud_due(void *ud)
{
	struct lg *g = ud;
	bc_ls_queue q = queue(g);

	return bc_ls_due(&g->cloud.s, &q);
}

static void
cloud_fire(void *ud)
{
	struct lg *g = ud;
	struct lgc *c = &g->cloud;
	bc_ls_queue q = queue(g);

	switch (bc_ls_fire(&c->s, &q)) {
	case BC_LS_READ_CONFIG:
		lg_cloud_config(g);
		return;
	case BC_LS_OPEN:
		open_stream(g);
		return;
	case BC_LS_WRITE:
		if (fill(g) < 0) {
			hang_up(g, "out of memory");
			return;
		}
		start_write(g);
		return;
	case BC_LS_END_BODY: /* a minute with nothing: end the body, read the answer */
		if (chunk(c, NULL, 0, true) < 0) {
			hang_up(g, "out of memory");
			return;
		}
		start_write(g);
		return;
	case BC_LS_GIVE_UP:
		hang_up(g, "no answer to the end of the stream");
		return;
	case BC_LS_NOTHING:
		return;
	}
}

/* The cloud's side of a record leaving the buffer: one the cloud had not
 * taken goes to the spool when there is one (the cursor stays: a restart
 * reads it again from the engine); else it is gone for good, so delivered
 * as far as a restart is concerned. */
static bool
gone(void *ud, const bc_logrec *r, bool unsent_)
{
	struct lg *g = ud;
	struct lgc *c = &g->cloud;
	struct follower *f;
	/* one of the write in flight: the spool keeps it too, in case that
	 * write fails (if it goes well, the spool skips it) */
	bool inflight = c->inflight_first != 0 && r->seq >= c->inflight_first;

	if (c->spool_on && (unsent_ || inflight)) {
		uint64_t dropped = 0;
		bc_err err = {0};
		if (bc_logspool_add(&c->spool, r, &dropped, &err) == 0) {
			g->ring.suppressed += dropped;
			c->spooled++;
			return unsent_;
		}
		if (!c->spool_warned) /* once: it says why */
			log_warnx("log stream: spool: %s (the record is dropped)", err.msg);
		c->spool_warned = true;
		/* the cursor stays: older records of its container may be in
		 * the spool, and a restart reads them again from the engine */
		return false;
	}
	if (unsent_ && r->container[0] && (f = lg_follower(g, r->container)) != NULL)
		lg_cursor_done(g, f, r->is_stderr, r->ts_ns, r->nth);
	return false;
}

void
lg_cloud_config(struct lg *g)
{
	struct lgc *c = &g->cloud;
	const char *cfg = g->d->settings.config;
	bc_err err = {0};
	char why[600];
	bool plain;

	bc_config_free(&g->cfg);
	switch (bc_config_mode(cfg, &g->cfg, why, sizeof(why), &err)) {
	case BC_MODE_CLOUD:
		break;
	case BC_MODE_LOCAL:
		log_info("local mode (%s): no cloud log stream%s", why,
			 c->spool_on ? " (BC_LOG_SPOOL is not used)" : "");
		goto off;
	default:
		log_warnx("%s (no cloud log stream)", err.msg);
		goto off;
	}
	if (g->cfg.uuid == NULL || g->cfg.device_api_key == NULL) {
		/* the gateway registers the device: look again later */
		bc_ls_config(&c->s, true, false, bc_mono_ms());
		return;
	}
	snprintf(c->url, sizeof(c->url), "%s/device/v2/%s/log-stream", g->cfg.api_endpoint,
		 g->cfg.uuid);
	/* said now, once, not at each try */
	if (bc_registry_url_check(c->url, &plain, &err) < 0) {
		log_warnx("log stream: %s", err.msg);
		goto off;
	}
	/* the CAs only now: a device in local mode never loads them (about
	 * 1 MiB of parsed certificates) */
	if (c->tls == NULL && bc_cloud_tls_new(g->d->settings.ca_file, &c->tls, &err) < 0) {
		log_warnx("log stream: %s", err.msg);
		goto off;
	}
	g->ring.cloud = true;
	g->ring.cloud_seq = g->ring.next_seq; /* what came before is delivered */
	g->ring.unsent = 0;
	g->ring.gone = gone;
	g->ring.ud = g;
	bc_ls_config(&c->s, true, true, bc_mono_ms());
	log_info("streaming logs to %s", g->cfg.api_endpoint);
	if (strncmp(g->cfg.api_endpoint, "http://", 7) == 0)
		log_warnx("logs over plain http (%s): for tests only; a local user listening first "
			  "on that port gets the device's key and its logs",
			  g->cfg.api_endpoint);
	return;
off:
	/* no cloud stream in this run: the spool goes unused */
	bc_ls_config(&c->s, false, false, bc_mono_ms());
	spool_unused(c);
}

int
lg_cloud_start(struct lg *g, bc_err *err)
{
	struct lgc *c = &g->cloud;

	c->s = (bc_logstream){.state = BC_LS_OFF};
	g->hold = busy;
	g->hold_until = busy_until;
	if (g->d->settings.log_spool[0] != '\0') {
		/* made now: one that cannot be is a setting to fix, told at
		 * start, not when the cloud first goes away */
		bc_err serr = {0};
		if (bc_logspool_open(&c->spool, g->d->settings.log_spool,
				     g->d->settings.log_spool_max, &serr) < 0)
			return bc_err_set(err, BC_EINVAL, "BC_LOG_SPOOL='%s': %s",
					  g->d->settings.log_spool, serr.msg);
		c->spool_on = true;
	}
	if (!g->d->settings.cloud_logs) {
		log_info("the cloud log stream is off (BC_CLOUD_LOGS=off)%s",
			 c->spool_on ? "; BC_LOG_SPOOL is not used" : "");
		spool_unused(c);
		return 0;
	}
	c->pool = g->d->pool;
	c->on = true;
	if (bc_daemon_timer(g->d, cloud_due, cloud_fire, g, err) < 0)
		return -1;
	lg_cloud_config(g);
	return 0;
}

void
lg_cloud_stop(struct lg *g)
{
	struct lgc *c = &g->cloud;

	spool_unused(c);
	if (!c->on)
		return;
	c->on = false;
	bc_cloud_conn_close(c->cc); /* nothing of it comes after this */
	c->cc = NULL;
	if (c->z_init)
		deflateEnd(&c->z);
	if (c->tls != NULL)
		nng_tls_config_free(c->tls);
	if (c->out.data != NULL)
		explicit_bzero(c->out.data, c->out.cap);
	bc_buf_free(&c->out);
	bc_config_free(&g->cfg);
}
