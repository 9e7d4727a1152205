/* HTTPS to the cloud with nng's HTTP client and its TLS (mbedTLS): both
 * are in libnng, which every daemon maps already, so talking to the cloud
 * costs the gateway next to nothing in memory (libcurl and its TLS stack
 * cost about 6 MiB resident: bench/footprint). A request runs on nng's
 * threads: nng connects (TLS) and sends; the answer's bytes go through our
 * own HTTP/1.1 parser (lib/cloud/answer.h: strict, bounded, fuzzed), so an
 * answer too large is refused by its head, before its body is read. Its
 * end is handed to the loop as the pool's jobs hand theirs (bc_pool_post),
 * and rq->done runs there. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/cloud/tls.h"
#include "lib/fetch/fetch.h"
#include "gateway.h"

static void ended(void *ud);

/* nng's thread: the request is over (rv, and why when it is ours to say);
 * handed to the loop as the pool's jobs hand their news (bc_pool_post) */
static void
finished(struct gw_req *rq, int rv, const char *why)
{
	if (atomic_exchange(&rq->over, true))
		return; /* the request's end is told once */
	rq->rv = rv;
	if (why != NULL)
		snprintf(rq->why, sizeof(rq->why), "%s", why);
	if (rq->conn != NULL) {
		nng_http_conn_close(rq->conn);
		rq->conn = NULL;
	}
	rq->ended = true;
	if (bc_pool_post(rq->g->d->pool, ended, rq) < 0) {
		/* out of memory: its done() never runs (its caller is not
		 * told), and stop frees it */
		rq->ended = false;
		log_warnx("a request to the cloud: its end is lost (out of memory)");
	}
}

/* What is left of the request's time for its next step, or false. */
static bool
time_left(struct gw_req *rq, nng_aio *aio)
{
	uint64_t now = bc_mono_ms();

	if (now >= rq->deadline)
		return false;
	nng_aio_set_timeout(aio, (nng_duration)(rq->deadline - now));
	return true;
}

static void
read_more(struct gw_req *rq)
{
	nng_iov iov = {.iov_buf = rq->rbuf, .iov_len = sizeof(rq->rbuf)};

	nng_aio_set_iov(rq->raio, 1, &iov);
	nng_http_conn_read(rq->conn, rq->raio);
}

enum { RQ_CONNECT, RQ_WRITE };

/* nng's thread: the answer, as its bytes come. Read from the moment the
 * connection is made, beside the request's write: a server that closes
 * early (an error answer, or none) is seen whenever it closes. Only this
 * side ends a request once it is connected, and only it uses the
 * connection then. */
static void
read_step(void *arg)
{
	struct gw_req *rq = arg;
	int rv = nng_aio_result(rq->raio), r;
	bc_err err = {0};

	if (atomic_load(&rq->g->stopping))
		return finished(rq, NNG_ECLOSED, NULL);
	if (rv == NNG_ECLOSED || rv == NNG_ECONNSHUT) { /* the server closed */
		if (bc_cloud_answer_eof(&rq->ans, &err) == 1)
			return finished(rq, 0, NULL);
		return finished(rq, NNG_ECONNSHUT, NULL);
	}
	if (rv != 0)
		return finished(rq, rv, NULL);
	r = bc_cloud_answer_feed(&rq->ans, rq->rbuf, nng_aio_count(rq->raio), &err);
	if (rq->ans.too_big)
		return finished(rq, NNG_EMSGSIZE, NULL);
	if (r < 0)
		return finished(rq, NNG_EPROTO, err.msg);
	if (r > 0)
		return finished(rq, 0, NULL);
	if (!time_left(rq, rq->raio))
		return finished(rq, NNG_ETIMEDOUT, NULL);
	read_more(rq);
}

/* nng's thread: the connect, then the request's write, ended */
static void
step(void *arg)
{
	struct gw_req *rq = arg;
	int rv = nng_aio_result(rq->aio);

	if (rq->phase == RQ_WRITE) {
		/* written or not, the key goes; how the request ends is the
		 * reading side's to say (a write cut short by the server's
		 * close is followed by its answer, or by none) */
		explicit_bzero(rq->head, rq->head_len);
		return;
	}
	if (atomic_load(&rq->g->stopping))
		return finished(rq, NNG_ECLOSED, NULL);
	if (rv != 0)
		return finished(rq, rv, NULL);
	rq->conn = nng_aio_get_output(rq->aio, 0);
	rq->phase = RQ_WRITE;
	if (!time_left(rq, rq->aio) || !time_left(rq, rq->raio))
		return finished(rq, NNG_ETIMEDOUT, NULL);
	read_more(rq);
	{
		/* our own bytes, not nng's request object: nng would keep and
		 * free copies of the key unwiped */
		nng_iov iov = {.iov_buf = rq->head, .iov_len = rq->head_len};
		nng_aio_set_iov(rq->aio, 1, &iov);
		nng_http_conn_write_all(rq->conn, rq->aio);
	}
}

static void
unlink_inflight(struct gw *g, struct gw_req *rq)
{
	for (struct gw_req **p = &g->inflight; *p != NULL; p = &(*p)->inext)
		if (*p == rq) {
			*p = rq->inext;
			return;
		}
}

/* The loop: a request that ended gets its done() (once the gateway stops,
 * it is only freed: stop left it to us). */
static void
ended(void *ud)
{
	struct gw_req *rq = ud;
	struct gw *g = rq->g;

	if (atomic_load(&g->stopping)) {
		gw_req_free(rq);
		return;
	}
	unlink_inflight(g, rq);
	if (rq->rv == 0) {
		rq->status = rq->ans.parser.status;
		rq->body = rq->ans.body.len > 0 ? rq->ans.body.data : NULL;
		rq->len = rq->ans.body.len;
	}
	rq->done(g, rq);
}

int
gw_http_start(struct gw *g, bc_err *err)
{
	return bc_cloud_tls_new(g->ca_file, &g->tls, err);
}

void
gw_http_stop(struct gw *g)
{
	/* requests in flight are cancelled and waited for (their done is not
	 * called: the loop is over); their steps start nothing new. One that
	 * ended is freed where its end was posted (ended) */
	atomic_store(&g->stopping, 1);
	for (struct gw_req *rq = g->inflight; rq != NULL; rq = rq->inext) {
		nng_aio_stop(rq->aio);
		nng_aio_stop(rq->raio);
	}
	while (g->inflight != NULL) {
		struct gw_req *rq = g->inflight;
		g->inflight = rq->inext;
		if (!rq->ended)
			gw_req_free(rq);
	}
	if (g->tls != NULL)
		nng_tls_config_free(g->tls);
}

int
gw_http_send(struct gw *g, struct gw_req *rq, const char *method, const char *url, const char *etag,
	     char *body, bc_err *err)
{
	const char *key = rq->bearer ? rq->bearer : g->cfg.device_api_key;
	bool plain;
	int rv, n;

	rq->g = g;
	rq->send = body;
	if (bc_registry_url_check(url, &plain, err) < 0)
		goto fail;
	if ((rv = nng_url_parse(&rq->url, url)) != 0 ||
	    (rv = nng_aio_alloc(&rq->aio, step, rq)) != 0 ||
	    (rv = nng_aio_alloc(&rq->raio, read_step, rq)) != 0) {
		bc_err_set(err, BC_ESYS, "request %s: %s", url, nng_strerror(rv));
		goto fail;
	}
	if (bc_cloud_client(rq->url, plain ? NULL : g->tls, &rq->client, err) < 0)
		goto fail;
		/* the request's bytes, sized once (a buffer that grew would leave a
		 * copy of the key behind); the ETag is the cloud's, one header line
		 * as our parser took it */
#define GW_HEAD_FMT                                                                                \
	"%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n%s%s%s%s"                       \
	"User-Agent: balena-compose/" BC_VERSION "\r\nContent-Length: %zu\r\n\r\n%s"
#define GW_HEAD_ARGS                                                                               \
	method, rq->url->u_requri, rq->url->u_host, key ? key : "",                                \
	    etag &&*etag ? "If-None-Match: " : "", etag &&*etag ? etag : "",                       \
	    etag &&*etag ? "\r\n" : "", body ? "Content-Type: application/json\r\n" : "",          \
	    body ? strlen(body) : (size_t)0, body ? body : ""
	n = snprintf(NULL, 0, GW_HEAD_FMT, GW_HEAD_ARGS);
	if (n < 0 || (rq->head = malloc((size_t)n + 1)) == NULL) {
		bc_err_set(err, BC_ESYS, "request %s: out of memory", url);
		goto fail;
	}
	rq->head_len = (size_t)snprintf(rq->head, (size_t)n + 1, GW_HEAD_FMT, GW_HEAD_ARGS);
#undef GW_HEAD_FMT
#undef GW_HEAD_ARGS
	bc_cloud_answer_init(&rq->ans, rq->max, strcmp(method, "HEAD") == 0);
	rq->phase = RQ_CONNECT;
	rq->deadline = bc_mono_ms() + g->timeout_ms;
	nng_aio_set_timeout(rq->aio, (nng_duration)g->timeout_ms);
	rq->inext = g->inflight;
	g->inflight = rq;
	nng_http_client_connect(rq->client, rq->aio);
	return 0;
fail:
	gw_req_free(rq);
	return -1;
}

void
gw_req_free(struct gw_req *rq)
{
	if (rq == NULL)
		return;
	if (rq->aio != NULL)
		nng_aio_free(rq->aio); /* waits for its callback, as the next */
	if (rq->raio != NULL)
		nng_aio_free(rq->raio);
	if (rq->head != NULL) {
		explicit_bzero(rq->head, rq->head_len);
		free(rq->head);
	}
	if (rq->conn != NULL)
		nng_http_conn_close(rq->conn);
	bc_cloud_answer_free(&rq->ans);
	if (rq->client != NULL)
		nng_http_client_free(rq->client);
	if (rq->url != NULL)
		nng_url_free(rq->url);
	if (rq->send != NULL) /* a register body holds the device's new key */
		explicit_bzero(rq->send, strlen(rq->send));
	free(rq->send);
	free(rq);
}

const char *
gw_req_error(const struct gw_req *rq)
{
	if (rq->rv == NNG_EPROTO && rq->why[0])
		return rq->why;
	return nng_strerror(rq->rv);
}

void
gw_req_cancel(struct gw_req *rq)
{
	nng_aio_cancel(rq->aio);
	nng_aio_cancel(rq->raio);
}
