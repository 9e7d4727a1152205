/* HTTPS to the cloud with nng's HTTP client and its TLS (mbedTLS): both
 * are in libnng, which every daemon maps already, so talking to the cloud
 * costs the gateway next to nothing in memory (libcurl and its TLS stack
 * cost about 6 MiB resident: bench/footprint). A request runs on nng's
 * threads; its end is handed to the loop through an eventfd, and rq->done
 * runs there. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/fetch/fetch.h"
#include "gateway.h"

#define SYSTEM_CAS "/etc/ssl/certs/ca-certificates.crt"

/* nng's thread: queue the request for the loop */
static void
finished(void *arg)
{
	struct gw_req *rq = arg;
	struct gw *g = rq->g;
	uint64_t one = 1;

	pthread_mutex_lock(&g->mu);
	rq->next = g->ended;
	g->ended = rq;
	pthread_mutex_unlock(&g->mu);
	if (write(g->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("gateway eventfd");
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

/* The loop: each request that ended gets its done(). */
static void
on_ended(void *ud, short revents)
{
	struct gw *g = ud;
	struct gw_req *list, *rq;
	uint64_t n;

	(void)revents;
	if (read(g->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("gateway eventfd");
	pthread_mutex_lock(&g->mu);
	list = g->ended;
	g->ended = NULL;
	pthread_mutex_unlock(&g->mu);
	while ((rq = list) != NULL) {
		list = rq->next;
		unlink_inflight(g, rq);
		rq->rv = nng_aio_result(rq->aio);
		if (rq->rv == 0) {
			void *data;
			size_t len;
			const char *v;
			rq->status = nng_http_res_get_status(rq->res);
			nng_http_res_get_data(rq->res, &data, &len);
			if (len > rq->max) {
				rq->rv = NNG_EMSGSIZE;
			} else {
				rq->body = data;
				rq->len = len;
			}
			if ((v = nng_http_res_get_header(rq->res, "ETag")) != NULL)
				snprintf(rq->etag, sizeof(rq->etag), "%s", v);
			if ((v = nng_http_res_get_header(rq->res, "Retry-After")) != NULL &&
			    strspn(v, "0123456789") == strlen(v) && strlen(v) < 7)
				rq->retry_after_s = strtol(v, NULL, 10);
		}
		rq->done(g, rq);
	}
}

int
gw_http_start(struct gw *g, bc_err *err)
{
	int rv;

	pthread_mutex_init(&g->mu, NULL);
	if ((g->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return bc_err_sys(err, "eventfd");
	if ((rv = nng_tls_config_alloc(&g->tls, NNG_TLS_MODE_CLIENT)) != 0 ||
	    (rv = nng_tls_config_auth_mode(g->tls, NNG_TLS_AUTH_MODE_REQUIRED)) != 0)
		return bc_err_set(err, BC_ESYS, "TLS: %s", nng_strerror(rv));
	if ((rv = nng_tls_config_ca_file(g->tls, g->ca_file[0] ? g->ca_file : SYSTEM_CAS)) != 0)
		return bc_err_set(err, BC_EINVAL, "TLS: the CA file '%s': %s",
				  g->ca_file[0] ? g->ca_file : SYSTEM_CAS, nng_strerror(rv));
	return bc_daemon_watch_fd(g->d, g->efd, POLLIN, on_ended, g, err);
}

void
gw_http_stop(struct gw *g)
{
	/* requests in flight are cancelled and waited for (their done is not
	 * called: the loop is over) */
	for (struct gw_req *rq = g->inflight; rq != NULL; rq = rq->inext)
		nng_aio_stop(rq->aio);
	while (g->inflight != NULL) {
		struct gw_req *rq = g->inflight;
		g->inflight = rq->inext;
		gw_req_free(rq);
	}
	if (g->tls != NULL)
		nng_tls_config_free(g->tls);
	if (g->efd > 0) {
		bc_daemon_unwatch_fd(g->d, g->efd);
		close(g->efd);
	}
	pthread_mutex_destroy(&g->mu);
}

int
gw_http_send(struct gw *g, struct gw_req *rq, const char *method, const char *url,
	     const char *etag, char *body, bc_err *err)
{
	char h[700];
	bool plain;
	int rv;

	rq->g = g;
	rq->send = body;
	if (bc_registry_url_check(url, &plain, err) < 0)
		goto fail;
	if ((rv = nng_url_parse(&rq->url, url)) != 0 ||
	    (rv = nng_http_client_alloc(&rq->client, rq->url)) != 0 ||
	    (rv = nng_http_req_alloc(&rq->req, rq->url)) != 0 ||
	    (rv = nng_http_res_alloc(&rq->res)) != 0 ||
	    (rv = nng_aio_alloc(&rq->aio, finished, rq)) != 0) {
		bc_err_set(err, BC_ESYS, "request %s: %s", url, nng_strerror(rv));
		goto fail;
	}
	if (!plain) {
		/* one config for every request; the name is checked against the
		 * certificate (mbedTLS takes it per config: set it each time) */
		if ((rv = nng_tls_config_server_name(g->tls, rq->url->u_hostname)) != 0 ||
		    (rv = nng_http_client_set_tls(rq->client, g->tls)) != 0) {
			bc_err_set(err, BC_ESYS, "TLS for %s: %s", url, nng_strerror(rv));
			goto fail;
		}
	}
	snprintf(h, sizeof(h), "Bearer %s", rq->bearer ? rq->bearer : g->cfg.device_api_key);
	rv = nng_http_req_set_header(rq->req, "Authorization", h);
	explicit_bzero(h, sizeof(h));
	if (rv == 0 && etag != NULL && *etag)
		rv = nng_http_req_set_header(rq->req, "If-None-Match", etag);
	if (rv == 0)
		rv = nng_http_req_set_method(rq->req, method);
	if (rv == 0 && body != NULL) {
		rv = nng_http_req_set_header(rq->req, "Content-Type", "application/json");
		if (rv == 0)
			rv = nng_http_req_copy_data(rq->req, body, strlen(body));
	}
	if (rv != 0) {
		bc_err_set(err, BC_ESYS, "request %s: %s", url, nng_strerror(rv));
		goto fail;
	}
	nng_aio_set_timeout(rq->aio, GW_REQUEST_TIMEOUT_MS);
	rq->inext = g->inflight;
	g->inflight = rq;
	nng_http_client_transact(rq->client, rq->req, rq->res, rq->aio);
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
		nng_aio_free(rq->aio);
	if (rq->req != NULL)
		nng_http_req_free(rq->req); /* its Authorization header: nng frees it */
	if (rq->res != NULL)
		nng_http_res_free(rq->res);
	if (rq->client != NULL)
		nng_http_client_free(rq->client);
	if (rq->url != NULL)
		nng_url_free(rq->url);
	free(rq->send);
	free(rq);
}

const char *
gw_strerror(int rv)
{
	return nng_strerror(rv);
}

uint64_t
gw_backoff_ms(unsigned n, uint64_t cap)
{
	uint64_t d = GW_BACKOFF_MIN_MS;

	for (unsigned i = 0; i < n && d < cap; i++)
		d *= 2;
	return d < cap ? d : cap;
}
