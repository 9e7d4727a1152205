/* One exchange with the cloud (conn.h). Three aios: the connect, the
 * writes (the loop starts them), the answer (read on nng's threads as it
 * comes). Each end is posted to the loop (bc_pool_post) with a count on
 * the conn, so a conn closed while an end waits in the pool's queue is
 * freed by the last of them; the loop drops what comes after ENDED or
 * after the close. The HTTP connection is closed by the loop only (the
 * loop's writes use it). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/cloud/conn.h"
#include "lib/cloud/tls.h"
#include "lib/fetch/fetch.h"

#define CC_READ_BUF 8192

struct bc_cloud_conn {
	atomic_int refs; /* the caller's, and one per end in the pool's queue */
	bc_pool *pool;
	bc_cc_fn fn;
	void *ud;
	nng_url *url;
	nng_http_client *client;
	nng_http_conn *conn; /* set by the connect's callback; closed by the loop */
	nng_aio *caio, *waio, *raio;
	uint64_t deadline; /* monotonic ms, 0: none */
	uint64_t connect_ms;
	atomic_bool over;	/* ENDED is posted (nng's threads: once) */
	atomic_bool cancelled;	/* bc_cloud_conn_cancel: no read starts after it */
	bc_cloud_answer ans;	/* nng's read side until ENDED, the loop's after */
	char why[160];		/* the reader's refusal, with NNG_EPROTO */
	char rbuf[CC_READ_BUF]; /* a read of the answer */
	/* the loop's alone */
	bool connected; /* CONNECTED was dispatched */
	bool ended;	/* ENDED was dispatched */
	bool writing;	/* a write is out */
	bool closed;	/* bc_cloud_conn_close: no event goes to fn */
};

struct cc_post {
	bc_cloud_conn *c;
	bc_cc_event ev;
	int rv;
};

static void
unref(bc_cloud_conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	bc_cloud_answer_free(&c->ans);
	free(c);
}

/* The loop's thread: an end, to the caller unless it is not to be told. */
static void
dispatch(void *ud)
{
	struct cc_post *p = ud;
	bc_cloud_conn *c = p->c;
	bc_cc_event ev = p->ev;
	int rv = p->rv;

	free(p);
	if (!c->closed && !c->ended) {
		if (ev == BC_CC_CONNECTED)
			c->connected = true;
		else if (ev == BC_CC_WRITTEN)
			c->writing = false;
		else {
			/* the exchange is over: a write still out stops here, and
			 * the connection goes (the loop's, as the writes are) */
			c->ended = true;
			nng_aio_cancel(c->waio);
			nng_aio_wait(c->waio);
			c->writing = false;
			if (c->conn != NULL) {
				nng_http_conn_close(c->conn);
				c->conn = NULL;
			}
		}
		c->fn(c->ud, c, ev, rv);
	}
	unref(c);
}

/* nng's thread: hand an end to the loop. */
static void
post(bc_cloud_conn *c, bc_cc_event ev, int rv)
{
	struct cc_post *p = malloc(sizeof(*p));

	if (p != NULL) {
		*p = (struct cc_post){.c = c, .ev = ev, .rv = rv};
		atomic_fetch_add(&c->refs, 1);
		if (bc_pool_post(c->pool, dispatch, p) == 0)
			return;
		atomic_fetch_sub(&c->refs, 1); /* the caller's count is still held */
		free(p);
	}
	/* the caller's deadline or watchdog gives the exchange up */
	log_warnx("the cloud: the end of an operation is lost (out of memory)");
}

/* nng's thread: the exchange is over (told once). */
static void
end(bc_cloud_conn *c, int rv, const char *why)
{
	if (atomic_exchange(&c->over, true))
		return;
	if (why != NULL)
		snprintf(c->why, sizeof(c->why), "%.*s", (int)sizeof(c->why) - 1, why);
	post(c, BC_CC_ENDED, rv);
}

/* What is left of the exchange's time for aio's next step (at most
 * cap_ms, 0: no cap), or false when it is spent. */
static bool
time_left(const bc_cloud_conn *c, nng_aio *aio, uint64_t cap_ms)
{
	uint64_t now = bc_mono_ms(), t = cap_ms;

	if (c->deadline != 0) {
		if (now >= c->deadline)
			return false;
		if (t == 0 || c->deadline - now < t)
			t = c->deadline - now;
	}
	nng_aio_set_timeout(aio, t == 0 ? NNG_DURATION_INFINITE : (nng_duration)t);
	return true;
}

static void
read_more(bc_cloud_conn *c)
{
	nng_iov iov = {.iov_buf = c->rbuf, .iov_len = sizeof(c->rbuf)};

	if (!time_left(c, c->raio, 0))
		return end(c, NNG_ETIMEDOUT, NULL);
	nng_aio_set_iov(c->raio, 1, &iov);
	nng_http_conn_read(c->conn, c->raio);
	/* a cancel that came before this read began: it ends now */
	if (atomic_load(&c->cancelled))
		nng_aio_cancel(c->raio);
}

/* nng's thread: the answer, as its bytes come */
static void
read_cb(void *arg)
{
	bc_cloud_conn *c = arg;
	int rv = nng_aio_result(c->raio), r;
	bc_err err = {0};

	if (rv == NNG_ECLOSED || rv == NNG_ECONNSHUT) { /* the server closed */
		if (bc_cloud_answer_eof(&c->ans, &err) == 1)
			return end(c, 0, NULL);
		return end(c, NNG_ECONNSHUT, NULL);
	}
	if (rv != 0)
		return end(c, rv, NULL);
	r = bc_cloud_answer_feed(&c->ans, c->rbuf, nng_aio_count(c->raio), &err);
	if (c->ans.too_big)
		return end(c, NNG_EMSGSIZE, NULL);
	if (r < 0)
		return end(c, NNG_EPROTO, err.msg);
	if (r > 0)
		return end(c, 0, NULL);
	read_more(c);
}

/* nng's thread: connected (or not). CONNECTED goes first, then the read
 * starts: whatever it ends with comes after. */
static void
connect_cb(void *arg)
{
	bc_cloud_conn *c = arg;
	int rv = nng_aio_result(c->caio);

	if (rv != 0)
		return end(c, rv, NULL);
	c->conn = nng_aio_get_output(c->caio, 0);
	post(c, BC_CC_CONNECTED, 0);
	read_more(c);
}

static void
write_cb(void *arg)
{
	bc_cloud_conn *c = arg;

	post(c, BC_CC_WRITTEN, nng_aio_result(c->waio));
}

/* The nng side of c (its callbacks are over or never were). */
static void
nng_parts_free(bc_cloud_conn *c)
{
	if (c->caio != NULL)
		nng_aio_free(c->caio);
	if (c->waio != NULL)
		nng_aio_free(c->waio);
	if (c->raio != NULL)
		nng_aio_free(c->raio);
	if (c->conn != NULL)
		nng_http_conn_close(c->conn);
	if (c->client != NULL)
		nng_http_client_free(c->client);
	if (c->url != NULL)
		nng_url_free(c->url);
	c->caio = c->waio = c->raio = NULL;
	c->conn = NULL;
	c->client = NULL;
	c->url = NULL;
}

int
bc_cloud_conn_open(bc_cloud_conn **cp, const bc_cc_opts *o, bc_err *err)
{
	bc_cloud_conn *c;
	bool plain;
	int rv;

	*cp = NULL;
	if (bc_registry_url_check(o->url, &plain, err) < 0)
		return -1;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return bc_err_set(err, BC_ESYS, "%s: out of memory", o->url);
	atomic_init(&c->refs, 1);
	c->pool = o->pool;
	c->fn = o->fn;
	c->ud = o->ud;
	c->deadline = o->deadline;
	c->connect_ms = o->connect_ms;
	bc_cloud_answer_init(&c->ans, o->max, o->head);
	if ((rv = nng_url_parse(&c->url, o->url)) != 0 ||
	    (rv = nng_aio_alloc(&c->caio, connect_cb, c)) != 0 ||
	    (rv = nng_aio_alloc(&c->waio, write_cb, c)) != 0 ||
	    (rv = nng_aio_alloc(&c->raio, read_cb, c)) != 0) {
		bc_err_set(err, BC_ESYS, "%s: %s", o->url, nng_strerror(rv));
		goto fail;
	}
	if (bc_cloud_client(c->url, plain ? NULL : o->tls, &c->client, err) < 0)
		goto fail;
	if (!time_left(c, c->caio, c->connect_ms)) {
		bc_err_set(err, BC_EINVAL, "%s: the deadline has passed", o->url);
		goto fail;
	}
	*cp = c;
	nng_http_client_connect(c->client, c->caio);
	return 0;
fail:
	nng_parts_free(c);
	unref(c);
	return -1;
}

const nng_url *
bc_cloud_conn_url(const bc_cloud_conn *c)
{
	return c->url;
}

int
bc_cloud_conn_write(bc_cloud_conn *c, const void *p, size_t n, uint64_t timeout_ms)
{
	nng_iov iov = {.iov_buf = (void *)p, .iov_len = n};

	if (c->closed || c->ended || !c->connected || c->writing || c->conn == NULL)
		return -1;
	c->writing = true;
	nng_aio_set_iov(c->waio, 1, &iov);
	if (!time_left(c, c->waio, timeout_ms))
		nng_aio_set_timeout(c->waio, 1); /* spent: it ends (ETIMEDOUT) at once */
	/* a TLS write may send less than asked: write_all goes on to the end */
	nng_http_conn_write_all(c->conn, c->waio);
	return 0;
}

const bc_cloud_answer *
bc_cloud_conn_answer(const bc_cloud_conn *c)
{
	return &c->ans;
}

const char *
bc_cloud_conn_error(const bc_cloud_conn *c, int rv)
{
	if (rv == NNG_EPROTO && c->why[0])
		return c->why;
	return nng_strerror(rv);
}

void
bc_cloud_conn_cancel(bc_cloud_conn *c)
{
	atomic_store(&c->cancelled, true);
	nng_aio_cancel(c->caio);
	nng_aio_cancel(c->raio);
}

void
bc_cloud_conn_close(bc_cloud_conn *c)
{
	if (c == NULL)
		return;
	c->closed = true;
	atomic_store(&c->cancelled, true);
	/* their callbacks have returned after these, and start nothing */
	nng_aio_stop(c->caio);
	nng_aio_stop(c->raio);
	nng_aio_stop(c->waio);
	nng_parts_free(c);
	unref(c);
}
