/* Calls from a daemon's loop to another daemon, without blocking it: the
 * request goes out and its answer is read on nng's threads, and the end
 * (the reply, or why none came by the deadline) is handed to the loop
 * through its pool (bc_pool_post), where done() runs. One socket per peer
 * for the caller's life, dialled in the background and again after the
 * peer restarts; a call that was out when it restarted ends with an error
 * at its deadline, and the caller asks again. Never resent behind the
 * caller's back. */
#ifndef BC_IPC_PEER_H
#define BC_IPC_PEER_H

#include "lib/base/err.h"
#include "lib/base/pool.h"
#include "proto/proto.h"

typedef struct bc_peer bc_peer;

/* The peer daemon (its REP socket in rundir; NULL: the default). Its
 * ends go to pool's loop. The caller's: bc_peer_free, from the loop,
 * once no call of it is wanted (calls still out end with an error that
 * is not told). NULL with err. */
bc_peer *bc_peer_open(bc_pool *pool, const char *rundir, const char *daemon, bc_err *err);
void bc_peer_free(bc_peer *p);

/* What a call ends with, on the loop: rep (the caller's, bc_msg_clear it)
 * when the peer answered with want (BC_MSG_NONE: anything but an ERROR),
 * else rep NULL and err (the peer's ERROR with its code, another type, or
 * no answer by the deadline: BC_ETIMEOUT). */
typedef void (*bc_peer_done)(void *ud, bc_msg *rep, const bc_err *err);

/* Send req (copied out: the caller keeps it) to the peer; done(ud, ...)
 * runs on the loop once, within timeout_ms (and a turn of the loop).
 * 0, or -1 with err (done is then not called). */
int bc_peer_call(bc_peer *p, const bc_msg *req, enum bc_msgtype want, int timeout_ms,
		 bc_peer_done done, void *ud, bc_err *err);

#endif
