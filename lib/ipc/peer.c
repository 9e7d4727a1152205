#include "lib/ipc/peer.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "lib/base/buf.h"
#include "lib/base/clock.h"
#include "lib/ipc/client.h"
#include "proto/ipc.h"

struct bc_peer {
	bc_pool *pool;
	nng_socket s;
	char name[32];
	atomic_int out; /* calls not yet handed to the loop */
};

/* One call, from its send to its end on the loop. nng's callback owns it
 * until it posts it; the loop then. */
struct call {
	bc_peer *p; /* until its end is posted (the peer may go then) */
	char name[32];
	nng_ctx ctx;
	nng_aio *aio;
	bool receiving;
	uint64_t id;
	uint64_t deadline;
	enum bc_msgtype want;
	bc_peer_done done;
	void *ud;
	/* the end */
	bc_msg rep;
	bool have_rep;
	bc_err err;
};

bc_peer *
bc_peer_open(bc_pool *pool, const char *rundir, const char *daemon, bc_err *err)
{
	bc_peer *p = calloc(1, sizeof(*p));
	char addr[160];
	int rv;

	if (p == NULL) {
		bc_err_sys(err, "peer");
		return NULL;
	}
	p->pool = pool;
	snprintf(p->name, sizeof(p->name), "%s", daemon);
	if (bc_addr_in(addr, sizeof(addr), rundir, daemon, BC_SOCK_REP, err) < 0) {
		free(p);
		return NULL;
	}
	if ((rv = nng_req0_open(&p->s)) != 0) {
		free(p);
		bc_err_set(err, BC_ESYS, "open a request socket to %s: %s", daemon,
			   nng_strerror(rv));
		return NULL;
	}
	/* never resent behind the caller's back (a FETCH would pull twice);
	 * dialled in the background, again whenever the peer comes back */
	if ((rv = nng_socket_set_size(p->s, NNG_OPT_RECVMAXSZ, BC_PROTO_MAX_MSG)) != 0 ||
	    (rv = nng_socket_set_ms(p->s, NNG_OPT_REQ_RESENDTIME, 24 * 3600 * 1000)) != 0 ||
	    (rv = nng_socket_set_ms(p->s, NNG_OPT_RECONNMINT, 50)) != 0 ||
	    (rv = nng_socket_set_ms(p->s, NNG_OPT_RECONNMAXT, 1000)) != 0 ||
	    (rv = nng_dial(p->s, addr, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		bc_err_set(err, BC_ESYS, "dial %s: %s", addr, nng_strerror(rv));
		bc_sock_close(p->s);
		free(p);
		return NULL;
	}
	return p;
}

void
bc_peer_free(bc_peer *p)
{
	if (p == NULL)
		return;
	bc_sock_close(p->s); /* calls still out end with NNG_ECLOSED */
	/* their ends go to the pool before the pool goes (at most a second:
	 * a close that hung leaves them to the process's exit) */
	for (int i = 0; i < 1000 && atomic_load(&p->out) > 0; i++)
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	if (atomic_load(&p->out) == 0)
		free(p);
}

/* On the loop: the call's end is told, and it goes. */
static void
ended(void *ud)
{
	struct call *c = ud;

	nng_aio_free(c->aio); /* its callback has posted this: it returns at once */
	nng_ctx_close(c->ctx);
	if (c->have_rep && bc_client_reply(c->name, &c->rep, c->want, &c->err) == 0)
		c->done(c->ud, &c->rep, NULL);
	else
		c->done(c->ud, NULL, &c->err);
	free(c);
}

static void
end(struct call *c)
{
	bc_peer *p = c->p;

	if (bc_pool_post(p->pool, ended, c) < 0) {
		/* out of memory: the call is lost, and so is what it holds */
		if (c->have_rep)
			bc_msg_clear(&c->rep);
	}
	atomic_fetch_sub(&p->out, 1);
}

static void
fail(struct call *c, int rv)
{
	bc_err_set(&c->err, rv == NNG_ETIMEDOUT ? BC_ETIMEOUT : BC_ESYS, "%s: %s", c->name,
		   rv == NNG_ETIMEDOUT ? "no answer in time" : nng_strerror(rv));
	end(c);
}

/* nng's thread: the send went, then the answer came (or either failed). */
static void
step(void *arg)
{
	struct call *c = arg;
	int rv = nng_aio_result(c->aio);
	nng_msg *m;
	uint64_t now;

	if (!c->receiving) {
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(c->aio)); /* not sent: still ours */
			fail(c, rv);
			return;
		}
		c->receiving = true;
		now = bc_mono_ms();
		nng_aio_set_timeout(c->aio,
				    c->deadline > now ? (nng_duration)(c->deadline - now) : 1);
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	if (rv != 0) {
		fail(c, rv);
		return;
	}
	m = nng_aio_get_msg(c->aio);
	if (bc_msg_decode(nng_msg_body(m), nng_msg_len(m), &c->rep, &c->err) == 0) {
		if (c->rep.id == c->id)
			c->have_rep = true;
		else {
			bc_msg_clear(&c->rep);
			bc_err_set(&c->err, BC_EPROTO, "%s: a reply to another request", c->name);
		}
	}
	nng_msg_free(m);
	end(c);
}

int
bc_peer_call(bc_peer *p, const bc_msg *req, enum bc_msgtype want, int timeout_ms, bc_peer_done done,
	     void *ud, bc_err *err)
{
	struct call *c = calloc(1, sizeof(*c));
	bc_msg copy = *req; /* shallow: only the id is ours */
	bc_buf b = {0};
	nng_msg *m = NULL;
	int rv;

	if (c == NULL)
		return bc_err_sys(err, "call");
	*c = (struct call){.p = p,
			   .want = want,
			   .done = done,
			   .ud = ud,
			   .deadline = bc_mono_ms() + (uint64_t)timeout_ms};
	if (getrandom(&c->id, sizeof(c->id), 0) != sizeof(c->id)) {
		free(c);
		return bc_err_sys(err, "request id");
	}
	c->id >>= 1; /* a positive msgpack int everywhere */
	snprintf(c->name, sizeof(c->name), "%s", p->name);
	copy.id = c->id;
	if (bc_msg_encode(&copy, &b, err) < 0) {
		free(c);
		return -1;
	}
	if ((rv = nng_msg_alloc(&m, 0)) != 0 || (rv = nng_msg_append(m, b.data, b.len)) != 0 ||
	    (rv = nng_ctx_open(&c->ctx, p->s)) != 0) {
		bc_buf_free(&b);
		nng_msg_free(m);
		free(c);
		return bc_err_set(err, BC_ESYS, "call %s: %s", p->name, nng_strerror(rv));
	}
	bc_buf_free(&b);
	if ((rv = nng_aio_alloc(&c->aio, step, c)) != 0) {
		nng_ctx_close(c->ctx);
		nng_msg_free(m);
		free(c);
		return bc_err_set(err, BC_ESYS, "call %s: %s", p->name, nng_strerror(rv));
	}
	nng_aio_set_timeout(c->aio, timeout_ms);
	nng_aio_set_msg(c->aio, m);
	atomic_fetch_add(&p->out, 1);
	nng_ctx_send(c->ctx, c->aio);
	return 0;
}
