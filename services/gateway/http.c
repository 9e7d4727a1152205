/* HTTPS to the cloud: the one cloud client (lib/cloud/conn.h: nng's HTTP
 * client and TLS, mbedTLS, both in libnng, which every daemon maps already,
 * so talking to the cloud costs the gateway next to nothing in memory;
 * libcurl and its TLS stack cost about 6 MiB resident: bench/footprint).
 * A request is its head and body, sized once (the key is wiped once they
 * are written); the answer comes through the strict, bounded reader, so
 * one too large is refused by its head, before its body is read; its end
 * reaches rq->done on the loop. */
#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/cloud/tls.h"
#include "gateway.h"

static void
unlink_inflight(struct gw *g, struct gw_req *rq)
{
	for (struct gw_req **p = &g->inflight; *p != NULL; p = &(*p)->inext)
		if (*p == rq) {
			*p = rq->inext;
			return;
		}
}

/* The loop: the exchange's steps. Connected: the request goes, whole;
 * written: the key goes (how the request ends, written or not, is the
 * answer's to say: a write cut short by the server's close is followed
 * by its answer, or by none); ended: rq->done. */
static void
on_exchange(void *ud, bc_cloud_conn *c, bc_cc_event ev, int rv)
{
	struct gw_req *rq = ud;
	struct gw *g = rq->g;

	switch (ev) {
	case BC_CC_CONNECTED:
		(void)bc_cloud_conn_write(c, rq->head, rq->head_len, 0);
		return;
	case BC_CC_WRITTEN:
		explicit_bzero(rq->head, rq->head_len);
		return;
	case BC_CC_ENDED:
		break;
	}
	unlink_inflight(g, rq);
	explicit_bzero(rq->head, rq->head_len);
	rq->rv = rv;
	if (rv == 0) {
		rq->ans = bc_cloud_conn_answer(c);
		rq->status = rq->ans->parser.status;
		rq->body = rq->ans->body.len > 0 ? rq->ans->body.data : NULL;
		rq->len = rq->ans->body.len;
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
	/* requests in flight are closed (their done is not called: the loop
	 * is over) */
	while (g->inflight != NULL) {
		struct gw_req *rq = g->inflight;
		g->inflight = rq->inext;
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
	const nng_url *u;
	int n;
	bc_cc_opts o = {.url = url,
			.tls = g->tls,
			.pool = g->d->pool,
			.max = rq->max,
			.head = strcmp(method, "HEAD") == 0,
			.deadline = bc_mono_ms() + g->timeout_ms,
			.fn = on_exchange,
			.ud = rq};

	rq->g = g;
	rq->send = body;
	if (bc_cloud_conn_open(&rq->cc, &o, err) < 0)
		goto fail;
	u = bc_cloud_conn_url(rq->cc);
	/* the request's bytes, sized once (a buffer that grew would leave a
	 * copy of the key behind); the ETag is the cloud's, one header line
	 * as our parser took it. Made before the connection is: its end
	 * comes to this loop, after this. */
#define GW_HEAD_FMT                                                                                \
	"%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n%s%s%s%s"                       \
	"User-Agent: balena-compose/" BC_VERSION "\r\nContent-Length: %zu\r\n\r\n%s"
#define GW_HEAD_ARGS                                                                               \
	method, u->u_requri, u->u_host, key ? key : "", etag &&*etag ? "If-None-Match: " : "",     \
	    etag &&*etag ? etag : "", etag &&*etag ? "\r\n" : "",                                  \
	    body ? "Content-Type: application/json\r\n" : "", body ? strlen(body) : (size_t)0,     \
	    body ? body : ""
	n = snprintf(NULL, 0, GW_HEAD_FMT, GW_HEAD_ARGS);
	if (n < 0 || (rq->head = malloc((size_t)n + 1)) == NULL) {
		bc_err_set(err, BC_ESYS, "request %s: out of memory", url);
		goto fail;
	}
	rq->head_len = (size_t)snprintf(rq->head, (size_t)n + 1, GW_HEAD_FMT, GW_HEAD_ARGS);
#undef GW_HEAD_FMT
#undef GW_HEAD_ARGS
	rq->inext = g->inflight;
	g->inflight = rq;
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
	bc_cloud_conn_close(rq->cc); /* nothing of it runs after this */
	if (rq->head != NULL) {
		explicit_bzero(rq->head, rq->head_len);
		free(rq->head);
	}
	if (rq->send != NULL) /* a register body holds the device's new key */
		explicit_bzero(rq->send, strlen(rq->send));
	free(rq->send);
	free(rq);
}

const char *
gw_req_error(const struct gw_req *rq)
{
	return bc_cloud_conn_error(rq->cc, rq->rv);
}

void
gw_req_cancel(struct gw_req *rq)
{
	bc_cloud_conn_cancel(rq->cc);
}
