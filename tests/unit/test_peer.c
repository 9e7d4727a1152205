/* lib/ipc/peer: a daemon's calls to another daemon that never block its
 * loop: the answer on the loop, an ERROR as an error, the deadline kept
 * when nobody answers, and the peer followed across its restart. A REP
 * "daemon" on a thread, over nng's IPC in a temporary run directory. */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/buf.h"
#include "lib/base/clock.h"
#include "lib/ipc/peer.h"
#include "proto/ipc.h"

static char dir[64];

/* The "daemon": answers PING with an ACK, GET_STATE with an ERROR, and
 * nothing at all to POLL (a peer that hangs); n requests, then it closes. */
struct server {
	nng_socket s;
	int n;
	atomic_int served;
};

static void *
serve(void *ud)
{
	struct server *sv = ud;

	/* the daemons' REP is raw (they may answer later): the reply goes
	 * with the request's header, as bc_daemon_reply sends it */
	for (int i = 0; i < sv->n; i++) {
		bc_msg req, rep = {.type = BC_MSG_ACK};
		bc_err err = {0};
		bc_buf b = {0};
		nng_msg *nm;
		if (nng_recvmsg(sv->s, &nm, 0) != 0)
			break;
		if (bc_msg_decode(nng_msg_body(nm), nng_msg_len(nm), &req, &err) < 0) {
			nng_msg_free(nm);
			break;
		}
		rep.body.ack = (bc_body_ack){.generation = 7, .instance = 9};
		if (req.type == BC_MSG_GET_STATE)
			bc_msg_make_error(&rep, req.id, BC_ENOTFOUND, "no such thing", &err);
		rep.id = req.id;
		nng_msg_clear(nm); /* the body: the header stays */
		if (req.type != BC_MSG_POLL && bc_msg_encode(&rep, &b, &err) == 0 &&
		    nng_msg_append(nm, b.data, b.len) == 0 && nng_sendmsg(sv->s, nm, 0) == 0)
			nm = NULL;
		nng_msg_free(nm);
		bc_buf_free(&b);
		bc_msg_clear(&rep);
		bc_msg_clear(&req);
		atomic_fetch_add(&sv->served, 1);
	}
	return NULL;
}

struct outcome {
	bool ended;
	enum bc_msgtype type;
	enum bc_errcode code;
	char msg[512];
};

static void
done(void *ud, bc_msg *rep, const bc_err *err)
{
	struct outcome *o = ud;
	o->ended = true;
	if (rep != NULL) {
		o->type = rep->type;
		bc_msg_clear(rep);
	} else {
		o->code = err->code;
		snprintf(o->msg, sizeof(o->msg), "%s", err->msg);
	}
}

/* The loop: dispatch the pool until o has ended, at most ms. */
static uint64_t
run_until(bc_pool *pool, struct outcome *o, int ms)
{
	uint64_t t0 = bc_mono_ms();
	while (!o->ended && bc_mono_ms() - t0 < (uint64_t)ms) {
		struct pollfd pfd = {.fd = bc_pool_fd(pool), .events = POLLIN};
		if (poll(&pfd, 1, 50) > 0)
			bc_pool_dispatch(pool);
	}
	return bc_mono_ms() - t0;
}

static void
test_calls(void **state)
{
	struct server sv = {.n = 3};
	bc_pool *pool;
	bc_peer *p;
	pthread_t th;
	bc_err err = {0};
	struct outcome o1 = {0}, o2 = {0}, o3 = {0};
	uint64_t took;
	(void)state;

	assert_non_null(pool = bc_pool_new(1, 4, &err));
	/* the peer is opened before the daemon listens: it dials on its own */
	assert_non_null(p = bc_peer_open(pool, dir, "srv", &err));
	assert_int_equal(
	    bc_peer_call(p, &(bc_msg){.type = BC_MSG_PING}, BC_MSG_ACK, 5000, done, &o1, &err), 0);
	usleep(100000);
	assert_false(o1.ended);
	setenv("BC_RUNDIR", dir, 1);
	assert_int_equal(bc_listen(&sv.s, "srv", BC_SOCK_REP, &err), 0);
	assert_int_equal(pthread_create(&th, NULL, serve, &sv), 0);
	run_until(pool, &o1, 5000);
	assert_true(o1.ended);
	if (o1.type != BC_MSG_ACK)
		fail_msg("o1: code %d %s", o1.code, o1.msg);
	/* an ERROR is an error, with its code */
	assert_int_equal(bc_peer_call(p, &(bc_msg){.type = BC_MSG_GET_STATE}, BC_MSG_STATE, 5000,
				      done, &o2, &err),
			 0);
	run_until(pool, &o2, 5000);
	assert_true(o2.ended);
	if (o2.code != BC_ENOTFOUND)
		fail_msg("o2: type %d code %d msg %s", o2.type, o2.code, o2.msg);
	assert_non_null(strstr(o2.msg, "no such thing"));
	/* no answer: it ends at its deadline, not before, not long after */
	assert_int_equal(
	    bc_peer_call(p, &(bc_msg){.type = BC_MSG_POLL}, BC_MSG_NONE, 300, done, &o3, &err), 0);
	took = run_until(pool, &o3, 5000);
	assert_true(o3.ended);
	assert_int_equal(o3.code, BC_ETIMEOUT);
	assert_true(took >= 250 && took < 2000);
	pthread_join(th, NULL);
	bc_sock_close(sv.s);

	/* the daemon restarts: the same peer reaches the new one */
	{
		struct server sv2 = {.n = 1};
		struct outcome o4 = {0};
		assert_int_equal(bc_listen(&sv2.s, "srv", BC_SOCK_REP, &err), 0);
		assert_int_equal(pthread_create(&th, NULL, serve, &sv2), 0);
		assert_int_equal(bc_peer_call(p, &(bc_msg){.type = BC_MSG_PING}, BC_MSG_ACK, 5000,
					      done, &o4, &err),
				 0);
		run_until(pool, &o4, 5000);
		assert_true(o4.ended);
		assert_int_equal(o4.type, BC_MSG_ACK);
		pthread_join(th, NULL);
		bc_sock_close(sv2.s);
	}
	/* a call still out when the peer goes ends, told on the loop */
	{
		struct outcome o5 = {0};
		assert_int_equal(bc_peer_call(p, &(bc_msg){.type = BC_MSG_PING}, BC_MSG_ACK, 60000,
					      done, &o5, &err),
				 0);
		bc_peer_free(p);
		run_until(pool, &o5, 2000);
		assert_true(o5.ended);
		assert_int_not_equal(o5.code, 0);
	}
	bc_pool_free(pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_calls),
	};
	int rc;

	snprintf(dir, sizeof(dir), "/tmp/bc-peer.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(strcat(strcpy((char[128]){0}, dir), "/srv.rep"));
	rmdir(dir);
	return rc;
}
