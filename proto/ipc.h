/* nng plumbing shared by every daemon and client: where the sockets live,
 * how they are bound (mode 0600, size-capped), and one request/reply call. */
#ifndef BC_IPC_H
#define BC_IPC_H

#include <nng/nng.h>
#include <stdatomic.h>

#include "proto/proto.h"

#define BC_RUNDIR_DEFAULT "/run/balena-compose"

/* REP: requests in; PUB: events out; PULL: the logger's inbox of system
 * messages, which every other daemon PUSHes to (a message said while the
 * logger is away waits in its sender's queue, bc_daemon_syslog) */
enum bc_sockkind { BC_SOCK_REP, BC_SOCK_PUB, BC_SOCK_PULL };

/* The run directory: $BC_RUNDIR or BC_RUNDIR_DEFAULT. Returns a pointer into
 * the environment or a literal; do not free. */
const char *bc_rundir(void);

/* Create the run directory (mode 0700) if missing; refuse one that is not a
 * directory, is open to group/other, or that another user could redirect
 * (bc_dir_secure: its path walked from "/"). */
int bc_rundir_prepare(bc_err *err);

/* "ipc:///run/balena-compose/<daemon>.rep" (.pub, .pull) into out. */
int bc_addr(char *out, size_t outlen, const char *daemon, enum bc_sockkind kind, bc_err *err);

/* The same in a given run directory (NULL: bc_rundir()). */
int bc_addr_in(char *out, size_t outlen, const char *rundir, const char *daemon,
	       enum bc_sockkind kind, bc_err *err);

/* Open a socket of the kind (REP raw: replies carry the request's header
 * and may come later) and listen on the daemon's address with mode
 * 0600 and a receive limit of BC_PROTO_MAX_MSG; a peer of another uid than
 * ours (root excepted) is cut off before its pipe is added, on every kind. A stale socket file left by a
 * crashed predecessor is replaced. On success *sock is the caller's to close. */
int bc_listen(nng_socket *sock, const char *daemon, enum bc_sockkind kind, bc_err *err);
/* The same, counting the peers in *peers (may be NULL) from before the
 * first can connect: +1 as one is added, -1 as it goes. */
int bc_listen_counted(nng_socket *sock, const char *daemon, enum bc_sockkind kind,
		      atomic_int *peers, bc_err *err);

/* Encode m and send it on sock. m stays the caller's: bc_send frees
 * nothing of it (a caller that decoded or built it clears it). */
int bc_send(nng_socket sock, const bc_msg *m, bc_err *err);

/* Receive one message within the socket's receive timeout and decode it.
 * On success *m owns its strings (bc_msg_clear). If pipe is not NULL it gets
 * the sending pipe (for peer credentials). */
int bc_recv(nng_socket sock, bc_msg *m, nng_pipe *pipe, bc_err *err);

/* One request to a daemon's REP socket and its reply, within timeout_ms.
 * req->id is set to a fresh id; a reply whose id differs is a protocol error.
 * On success *rep is the caller's (bc_msg_clear). */
int bc_call(const char *daemon, bc_msg *req, bc_msg *rep, int timeout_ms, bc_err *err);
/* The same with the run directory given (NULL: bc_rundir()). */
int bc_call_in(const char *rundir, const char *daemon, bc_msg *req, bc_msg *rep, int timeout_ms,
	       bc_err *err);

/* One request and its reply on a REQ socket the caller holds (its
 * timeouts set), as bc_call_in; peer names the other side in errors. */
int bc_call_on(nng_socket s, const char *peer, bc_msg *req, bc_msg *rep, bc_err *err);

/* Close an nng socket (nng_close) without ever waiting on it for more than
 * BC_CLOSE_MS. nng 1.5.2, Debian 12's, can hang in nng_close for good when a
 * message is arriving on one of the socket's pipes as it closes (upstream
 * nng#1543, #1813; fixed in later nng): a subscriber closed while its
 * publisher is busy hung nearly every close (tests/unit/test_ipc.c), and a hang stalls nng's one
 * reaper thread, so every later close in that process hangs too. The close runs on a thread of its
 * own; if it has not returned in time the caller goes on and that thread and the socket are left to
 * the process's exit. s is not to be used again either way. */
#define BC_CLOSE_MS 1000
void bc_sock_close(nng_socket s);
/* Has a close hung in this process? Then nng's one reaper thread is stuck
 * for good and every later close would hang too: later calls of
 * bc_sock_close leave their socket as it is (no thread, no wait). A daemon
 * then ends, for s6 to start it afresh (lib/ipc/daemon.c). */
bool bc_sock_close_hung(void);

#endif
