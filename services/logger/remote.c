/* The remote tail: with BC_LOG_REMOTE=tls+tcp://HOST:PORT the logger also
 * answers LOG_QUERY (and nothing else) on a REP socket there, over TLS
 * (nng with mbedTLS). The client's certificate is checked in the handshake
 * against BC_LOG_REMOTE_CLIENTS: a client without one of those is cut off
 * before a byte of ours is read. `balena-compose logs --remote` reads it.
 * Requests are tiny (RECVMAXSZ below) and answered on the loop's thread
 * without blocking: a reply that does not fit the peer's queue is dropped
 * and the client asks again. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "lib/base/log.h"
#include "proto/ipc.h"
#include "logger.h"

#define REMOTE_MAX_REQ 4096

static void
pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	nng_sockaddr sa;
	char where[80] = "address unknown";

	(void)arg;
	if (ev == NNG_PIPE_EV_ADD_POST && nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) == 0) {
		if (sa.s_family == NNG_AF_INET) {
			const uint8_t *a = (const uint8_t *)&sa.s_in.sa_addr;
			snprintf(where, sizeof(where), "%u.%u.%u.%u:%u", a[0], a[1], a[2], a[3],
				 (unsigned)ntohs(sa.s_in.sa_port));
		} else if (sa.s_family == NNG_AF_INET6) {
			snprintf(where, sizeof(where), "[ipv6]:%u",
				 (unsigned)ntohs(sa.s_in6.sa_port));
		}
	}
	if (ev == NNG_PIPE_EV_ADD_POST)
		log_info("remote tail: a client connected (%s)", where);
	else
		log_info("remote tail: a client went away");
}

static void
answer(struct lg *g, nng_msg *in)
{
	static bc_log_rec recs[BC_LOG_BATCH_MAX]; /* the loop's thread only */
	bc_msg req, rep = {0};
	bc_buf b = {0};
	bc_err err = {0};

	if (bc_msg_decode(nng_msg_body(in), nng_msg_len(in), &req, &err) < 0) {
		/* nothing to answer by: the client times out */
		log_warnx("remote tail: a request that does not decode: %s", err.msg);
		return;
	}
	rep.id = req.id;
	if (req.type == BC_MSG_LOG_QUERY) {
		rep.type = BC_MSG_LOG_BATCH;
		lg_batch(g, req.body.log_query.after_seq, recs, &rep.body.log_batch);
	} else {
		rep.type = BC_MSG_ERROR;
		rep.body.error.code = BC_EINVAL;
		rep.body.error.message = "the remote tail answers LOG_QUERY only";
	}
	bc_msg_clear(&req);
	/* rep points into the buffer and at literals: encoded now, not cleared */
	if (bc_msg_encode(&rep, &b, &err) < 0) {
		log_warnx("remote tail: %s", err.msg);
		return;
	}
	if (nng_send(g->remote, b.data, b.len, NNG_FLAG_NONBLOCK) != 0)
		log_warnx("remote tail: a reply dropped (the client is slow)");
	bc_buf_free(&b);
}

static void
readable(void *ud, short revents)
{
	struct lg *g = ud;
	nng_msg *m;

	(void)revents;
	while (nng_recvmsg(g->remote, &m, NNG_FLAG_NONBLOCK) == 0) {
		answer(g, m);
		nng_msg_free(m);
	}
}

int
lg_remote_start(struct lg *g, bc_err *err)
{
	const bc_settings *s = &g->d->settings;
	nng_listener l;
	int rv;

	if (s->log_remote[0] == '\0')
		return 0;
	if (access(s->log_remote_cert, R_OK) < 0)
		return bc_err_set(err, BC_EINVAL, "BC_LOG_REMOTE_CERT='%s': %s", s->log_remote_cert,
				  strerror(errno));
	if (access(s->log_remote_clients, R_OK) < 0)
		return bc_err_set(err, BC_EINVAL, "BC_LOG_REMOTE_CLIENTS='%s': %s",
				  s->log_remote_clients, strerror(errno));
	if ((rv = nng_rep0_open(&g->remote)) != 0)
		return bc_err_set(err, BC_ESYS, "remote tail: %s", nng_strerror(rv));
	g->remote_on = true;
	if ((rv = nng_tls_config_alloc(&g->remote_tls, NNG_TLS_MODE_SERVER)) != 0)
		return bc_err_set(err, BC_ESYS, "remote tail: TLS: %s", nng_strerror(rv));
	if ((rv = nng_tls_config_cert_key_file(g->remote_tls, s->log_remote_cert, NULL)) != 0)
		return bc_err_set(err, BC_EINVAL,
				  "BC_LOG_REMOTE_CERT='%s': no certificate and key read from it "
				  "(%s; both go in one PEM file)",
				  s->log_remote_cert, nng_strerror(rv));
	if ((rv = nng_tls_config_ca_file(g->remote_tls, s->log_remote_clients)) != 0)
		return bc_err_set(err, BC_EINVAL,
				  "BC_LOG_REMOTE_CLIENTS='%s': no certificates read from it (%s)",
				  s->log_remote_clients, nng_strerror(rv));
	if ((rv = nng_tls_config_auth_mode(g->remote_tls, NNG_TLS_AUTH_MODE_REQUIRED)) != 0 ||
	    (rv = nng_socket_set_size(g->remote, NNG_OPT_RECVMAXSZ, REMOTE_MAX_REQ)) != 0 ||
	    (rv = nng_pipe_notify(g->remote, NNG_PIPE_EV_ADD_POST, pipe_event, NULL)) != 0 ||
	    (rv = nng_pipe_notify(g->remote, NNG_PIPE_EV_REM_POST, pipe_event, NULL)) != 0 ||
	    (rv = nng_socket_get_int(g->remote, NNG_OPT_RECVFD, &g->remote_fd)) != 0)
		return bc_err_set(err, BC_ESYS, "remote tail: %s", nng_strerror(rv));
	if ((rv = nng_listener_create(&l, g->remote, s->log_remote)) != 0 ||
	    (rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, g->remote_tls)) != 0 ||
	    (rv = nng_listener_start(l, 0)) != 0)
		return bc_err_set(err, rv == NNG_EADDRINUSE ? BC_ESYS : BC_EINVAL,
				  "BC_LOG_REMOTE='%s': cannot listen there (%s)", s->log_remote,
				  nng_strerror(rv));
	if (bc_daemon_watch_fd(g->d, g->remote_fd, POLLIN, readable, g, err) < 0)
		return -1;
	log_info("remote tail: listening on %s", s->log_remote);
	return 0;
}

void
lg_remote_stop(struct lg *g)
{
	if (!g->remote_on)
		return;
	bc_daemon_unwatch_fd(g->d, g->remote_fd);
	bc_sock_close(g->remote);
	g->remote_on = false;
	if (g->remote_tls != NULL)
		nng_tls_config_free(g->remote_tls);
	g->remote_tls = NULL;
}
