/* The cloud's log stream (../shared/CLOUD-API.md): one long-lived
 * POST {apiEndpoint}/device/v2/{uuid}/log-stream, gzip ndjson, chunked.
 * While records come they are written at least every 100 ms (each write a
 * gzip sync flush: the cloud sees every line at once); after 60 s with none
 * the body is ended and the cloud's 201 read. Any answer while streaming is
 * a failure, so is a write that has not gone out after 30 s (the watchdog
 * for a stalled stream). After a failure: again in 5 s x 2^n, at most 5 min;
 * the records of the write that failed are sent again.
 *
 * nng connects (TLS) and moves the bytes on its threads; each end of an
 * operation is told to the loop through an eventfd, and all the logic runs
 * on the loop. A record's cursor moves once its write has gone out (or
 * when the buffer drops it unsent), and is kept at once: that is what a
 * restart resumes from. A stop sends nothing twice; a crash (kill -9) in
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

enum { F_CONNECT = 1, F_WRITE = 2, F_READ = 4 };

/* An operation of the connection ended (nng's thread): its end goes to
 * the loop as the pool's jobs' news do (bc_pool_post), with the
 * connection it was of. */
struct fired {
	struct lgc *c;
	unsigned op;
	unsigned gen;
};

static void on_fired(void *ud);

static void
fired(struct lgc *c, unsigned op)
{
	struct fired *f = malloc(sizeof(*f));

	if (f != NULL) {
		*f = (struct fired){.c = c, .op = op, .gen = atomic_load(&c->gen)};
		if (bc_pool_post(c->pool, on_fired, f) == 0)
			return;
		free(f);
	}
	/* out of memory: the stream stalls, and its watchdog hangs it up */
	log_warnx("log stream: the end of an operation is lost (out of memory)");
}
static void
connect_cb(void *arg)
{
	fired(arg, F_CONNECT);
}
static void
write_cb(void *arg)
{
	fired(arg, F_WRITE);
}
static void
read_cb(void *arg)
{
	fired(arg, F_READ);
}

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

	nng_aio_cancel(c->waio);
	nng_aio_cancel(c->raio);
	nng_aio_wait(c->waio);
	nng_aio_wait(c->raio);
	atomic_fetch_add(&c->gen, 1); /* what those posted is not ours now */
	if (c->conn != NULL) {
		nng_http_conn_close(c->conn);
		c->conn = NULL;
	}
	if (c->client != NULL) {
		nng_http_client_free(c->client);
		c->client = NULL;
	}
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
	bc_cloud_answer_free(&c->ans);
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

static void
start_write(struct lgc *c)
{
	nng_iov iov = {.iov_buf = c->out.data, .iov_len = c->out.len};

	bc_ls_write_started(&c->s, bc_mono_ms());
	nng_aio_set_iov(c->waio, 1, &iov);
	nng_aio_set_timeout(c->waio, WATCHDOG_MS);
	nng_http_conn_write_all(c->conn, c->waio); /* a TLS write sends one record at most */
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
write_done(struct lg *g)
{
	struct lgc *c = &g->cloud;
	int rv = nng_aio_result(c->waio);

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

static void
read_done(struct lg *g)
{
	struct lgc *c = &g->cloud;
	int rv = nng_aio_result(c->raio), r = -1;
	bc_err err = {0};
	long status;
	char why[160];

	if (rv == 0) {
		r = bc_cloud_answer_feed(&c->ans, c->rbuf, nng_aio_count(c->raio), &err);
		if (r == 0) { /* the answer comes in pieces: read on */
			nng_iov riov = {.iov_buf = c->rbuf, .iov_len = sizeof(c->rbuf)};
			nng_aio_set_iov(c->raio, 1, &riov);
			nng_http_conn_read(c->conn, c->raio);
			return;
		}
	} else if (rv == NNG_ECLOSED || rv == NNG_ECONNSHUT) {
		/* an answer whose end is the connection's */
		r = bc_cloud_answer_eof(&c->ans, &err) == 1 ? 1 : -2;
	}
	status = r == 1 ? c->ans.parser.status : 0;
	if (bc_ls_answered_well(&c->s, status)) {
		snprintf(c->status, sizeof(c->status),
			 "closed after 60 s idle (the cloud said %ld)", status);
		hang_up(g, NULL);
		return;
	}
	if (r == 1) {
		snprintf(why, sizeof(why), "the cloud answered %ld%s", status,
			 status == 401 ? " (is the device known?)" : "");
		c->refused = status >= 400;
	} else if (r == -1)
		snprintf(why, sizeof(why), "the cloud sent what is not an answer (%.100s)",
			 err.msg);
	else
		snprintf(why, sizeof(why), "%s", nng_strerror(rv));
	hang_up(g, why);
}

static void
connect_done(struct lg *g)
{
	struct lgc *c = &g->cloud;
	int rv = nng_aio_result(c->caio);
	nng_iov riov = {.iov_buf = c->rbuf, .iov_len = sizeof(c->rbuf)};
	char head[2048];
	int n;

	if (rv != 0) {
		hang_up(g, nng_strerror(rv));
		return;
	}
	c->conn = nng_aio_get_output(c->caio, 0);
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
		     c->url->u_requri, c->url->u_host, g->cfg.device_api_key);
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
	start_write(c);
	/* any answer while we stream is a failure: listen for it */
	bc_cloud_answer_init(&c->ans, LGC_MAX_ANSWER, false);
	nng_aio_set_iov(c->raio, 1, &riov);
	nng_aio_set_timeout(c->raio, NNG_DURATION_INFINITE);
	nng_http_conn_read(c->conn, c->raio);
}

static void
on_fired(void *ud)
{
	struct fired *f = ud;
	struct lgc *c = f->c;
	struct lg *g = (struct lg *)((char *)c - offsetof(struct lg, cloud));
	unsigned op = f->op;
	bool ours = f->gen == atomic_load(&c->gen) && c->on;

	free(f);
	if (!ours)
		return;
	if (op == F_CONNECT && c->s.state == BC_LS_CONNECTING)
		connect_done(g);
	else if (op == F_WRITE && c->s.writing)
		write_done(g);
	else if (op == F_READ && c->conn != NULL)
		read_done(g);
}

static void
open_stream(struct lg *g)
{
	struct lgc *c = &g->cloud;
	bc_err err = {0};

	if (bc_cloud_client(c->url, c->plain ? NULL : c->tls, &c->client, &err) < 0) {
		hang_up(g, err.msg);
		return;
	}
	bc_ls_connecting(&c->s);
	nng_aio_set_timeout(c->caio, WATCHDOG_MS);
	nng_http_client_connect(c->client, c->caio);
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
		start_write(c);
		return;
	case BC_LS_END_BODY: /* a minute with nothing: end the body, read the answer */
		if (chunk(c, NULL, 0, true) < 0) {
			hang_up(g, "out of memory");
			return;
		}
		start_write(c);
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
	char url[2300], why[600];
	int rv;

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
	snprintf(url, sizeof(url), "%s/device/v2/%s/log-stream", g->cfg.api_endpoint, g->cfg.uuid);
	if (bc_registry_url_check(url, &c->plain, &err) < 0 ||
	    (rv = nng_url_parse(&c->url, url)) != 0) {
		log_warnx("log stream: %s", err.msg[0] ? err.msg : "a bad apiEndpoint");
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
	int rv;

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
	if ((rv = nng_aio_alloc(&c->caio, connect_cb, c)) != 0 ||
	    (rv = nng_aio_alloc(&c->waio, write_cb, c)) != 0 ||
	    (rv = nng_aio_alloc(&c->raio, read_cb, c)) != 0)
		return bc_err_set(err, BC_ESYS, "aio: %s", nng_strerror(rv));
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
	c->on = false; /* ends posted and not yet run are not ours (on_fired) */
	if (c->caio)
		nng_aio_stop(c->caio);
	if (c->waio)
		nng_aio_stop(c->waio);
	if (c->raio)
		nng_aio_stop(c->raio);
	if (c->conn != NULL)
		nng_http_conn_close(c->conn);
	if (c->client != NULL)
		nng_http_client_free(c->client);
	if (c->z_init)
		deflateEnd(&c->z);
	nng_aio_free(c->caio);
	nng_aio_free(c->waio);
	nng_aio_free(c->raio);
	bc_cloud_answer_free(&c->ans);
	if (c->url != NULL)
		nng_url_free(c->url);
	if (c->tls != NULL)
		nng_tls_config_free(c->tls);
	if (c->out.data != NULL)
		explicit_bzero(c->out.data, c->out.cap);
	bc_buf_free(&c->out);
	bc_config_free(&g->cfg);
}
