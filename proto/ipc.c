#include "proto/ipc.h"

#include "lib/base/fsutil.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

const char *
bc_rundir(void)
{
	const char *d = getenv("BC_RUNDIR");
	return (d != NULL && *d != '\0') ? d : BC_RUNDIR_DEFAULT;
}

int
bc_rundir_prepare(bc_err *err)
{
	const char *d = bc_rundir();
	struct stat st;

	/* made if missing, and nobody else can change where it leads or what
	 * is in it (each component from "/", a symlink only of root's or
	 * ours): our sockets and flocks are not made where another chose */
	if (bc_dir_secure(d, 0700, err) < 0)
		return -1;
	if (stat(d, &st) < 0)
		return bc_err_sys(err, "stat run directory '%s'", d);
	if (!S_ISDIR(st.st_mode))
		return bc_err_set(err, BC_EINVAL, "run directory '%s' is not a directory", d);
	if ((st.st_mode & 077) != 0 || st.st_uid != geteuid())
		return bc_err_set(
		    err, BC_EINVAL,
		    "run directory '%s' must be owned by uid %u with mode 0700 (is %04o)", d,
		    (unsigned)geteuid(), (unsigned)(st.st_mode & 07777));
	return 0;
}

static int
path_in(char *out, size_t outlen, const char *rundir, const char *daemon, enum bc_sockkind kind,
	bc_err *err)
{
	int n;

	if (rundir == NULL)
		rundir = bc_rundir();
	n = snprintf(out, outlen, "%s/%s.%s", rundir, daemon,
		     kind == BC_SOCK_REP ? "rep" : kind == BC_SOCK_PUB ? "pub" : "pull");
	if (n < 0 || (size_t)n >= outlen || (size_t)n >= 100) /* sun_path limit */
		return bc_err_set(err, BC_ETOOBIG, "socket path for '%s' in '%s' is too long",
				  daemon, rundir);
	return 0;
}

static int
path_of(char *out, size_t outlen, const char *daemon, enum bc_sockkind kind, bc_err *err)
{
	return path_in(out, outlen, NULL, daemon, kind, err);
}

int
bc_addr_in(char *out, size_t outlen, const char *rundir, const char *daemon, enum bc_sockkind kind,
	   bc_err *err)
{
	char path[128];

	if (path_in(path, sizeof(path), rundir, daemon, kind, err) < 0)
		return -1;
	if ((size_t)snprintf(out, outlen, "ipc://%s", path) >= outlen)
		return bc_err_set(err, BC_ETOOBIG, "socket address for '%s' too long", daemon);
	return 0;
}

int
bc_addr(char *out, size_t outlen, const char *daemon, enum bc_sockkind kind, bc_err *err)
{
	return bc_addr_in(out, outlen, NULL, daemon, kind, err);
}

static int
nng_fail(bc_err *err, int rv, const char *what, const char *daemon)
{
	return bc_err_set(err, rv == NNG_ETIMEDOUT ? BC_ETIMEOUT : BC_ESYS, "%s '%s': %s", what,
			  daemon, nng_strerror(rv));
}

/* A peer of our uid, or root: the only ones let in. */
static bool
peer_ok(nng_pipe p)
{
	uint64_t uid;

	return nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid) == 0 &&
	       (uid == 0 || uid == (uint64_t)geteuid());
}

static void
same_uid_only(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)ev, (void)arg;
	if (!peer_ok(p))
		nng_pipe_close(p);
}

/* +1 as a peer is added, -1 as it goes: only a peer that was let in (one
 * refused before it was added goes too, and was never counted) */
static void
count_peer(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add((atomic_int *)arg, 1);
	else if (peer_ok(p))
		atomic_fetch_sub((atomic_int *)arg, 1);
}

int
bc_listen(nng_socket *sock, const char *daemon, enum bc_sockkind kind, bc_err *err)
{
	return bc_listen_counted(sock, daemon, kind, NULL, err);
}

int
bc_listen_counted(nng_socket *sock, const char *daemon, enum bc_sockkind kind, atomic_int *peers,
		  bc_err *err)
{
	char addr[160], path[128];
	nng_listener l;
	int rv;

	if (bc_addr(addr, sizeof(addr), daemon, kind, err) < 0 ||
	    path_of(path, sizeof(path), daemon, kind, err) < 0)
		return -1;
	/* REP is raw: a daemon may answer a request later (lib/ipc/daemon.h) */
	rv = kind == BC_SOCK_REP   ? nng_rep0_open_raw(sock)
	     : kind == BC_SOCK_PUB ? nng_pub0_open(sock)
				   : nng_pull0_open(sock);
	if (rv != 0)
		return nng_fail(err, rv, "open socket for", daemon);
	/* A predecessor killed with -9 leaves its socket file; we own the
	 * directory (0700), so whatever is there is ours to replace. */
	if (unlink(path) < 0 && errno != ENOENT) {
		bc_err_sys(err, "remove stale socket '%s'", path);
		goto fail;
	}
	/* a peer of another uid is cut off before its pipe is added, on REP
	 * and on PUB (our events are ours), even if someone loosens the modes */
	if (peers != NULL &&
	    ((rv = nng_pipe_notify(*sock, NNG_PIPE_EV_ADD_POST, count_peer, peers)) != 0 ||
	     (rv = nng_pipe_notify(*sock, NNG_PIPE_EV_REM_POST, count_peer, peers)) != 0)) {
		nng_fail(err, rv, "listen on", addr);
		goto fail;
	}
	if ((rv = nng_pipe_notify(*sock, NNG_PIPE_EV_ADD_PRE, same_uid_only, NULL)) != 0 ||
	    (rv = nng_socket_set_size(*sock, NNG_OPT_RECVMAXSZ, BC_PROTO_MAX_MSG)) != 0 ||
	    (rv = nng_listener_create(&l, *sock, addr)) != 0 ||
	    (rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0600)) != 0 ||
	    (rv = nng_listener_start(l, 0)) != 0) {
		nng_fail(err, rv, "listen on", addr);
		goto fail;
	}
	return 0;
fail:
	bc_sock_close(*sock);
	return -1;
}

/* one close: the closing thread and the caller share it; the last to let go
 * frees it */
struct closing {
	nng_socket s;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int refs;
};

static void
closing_unref(struct closing *c)
{
	bool last;

	pthread_mutex_lock(&c->mu);
	last = --c->refs == 0;
	pthread_mutex_unlock(&c->mu);
	if (last) {
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		free(c);
	}
}

static void *
closing_run(void *arg)
{
	struct closing *c = arg;

	nng_close(c->s);
	pthread_mutex_lock(&c->mu);
	c->done = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	closing_unref(c);
	return NULL;
}

/* Set once a close has hung: nng's one reaper thread is then stuck for
 * good, so every later close of a connected socket would hang too. This
 * file's alone (bc_sock_close_hung reads it). */
static atomic_bool close_hung;

bool
bc_sock_close_hung(void)
{
	return atomic_load(&close_hung);
}

void
bc_sock_close(nng_socket s)
{
	struct closing *c;
	pthread_condattr_t ca;
	pthread_attr_t ta;
	pthread_t t;
	struct timespec until;
	bool started = false;

	if (atomic_load(&close_hung))
		return; /* it would hang like the first: the socket is left as it is */
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		nng_close(s); /* no memory for the guard: close as nng does */
		return;
	}
	c->s = s;
	c->refs = 2;
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_attr_init(&ta) == 0) {
		pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&ta, 64 << 10);
		started = pthread_create(&t, &ta, closing_run, c) == 0;
		pthread_attr_destroy(&ta);
	}
	if (!started) {
		c->refs = 1;
		nng_close(s);
		closing_unref(c);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += BC_CLOSE_MS / 1000;
	until.tv_nsec += (long)(BC_CLOSE_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->mu);
	while (!c->done)
		if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT)
			break;
	if (!c->done)
		atomic_store(&close_hung, true);
	pthread_mutex_unlock(&c->mu);
	closing_unref(c);
}

int
bc_send(nng_socket sock, const bc_msg *m, bc_err *err)
{
	bc_buf b = {0};
	int rv;

	if (bc_msg_encode(m, &b, err) < 0)
		return -1;
	rv = nng_send(sock, b.data, b.len, 0);
	bc_buf_free(&b);
	if (rv != 0)
		return nng_fail(err, rv, "send", bc_msgtype_name(m->type));
	return 0;
}

int
bc_recv(nng_socket sock, bc_msg *m, nng_pipe *pipe, bc_err *err)
{
	nng_msg *nm;
	int rv;

	memset(m, 0, sizeof(*m));
	if ((rv = nng_recvmsg(sock, &nm, 0)) != 0)
		return nng_fail(err, rv, "receive", "message");
	if (pipe != NULL)
		*pipe = nng_msg_get_pipe(nm);
	rv = bc_msg_decode(nng_msg_body(nm), nng_msg_len(nm), m, err);
	nng_msg_free(nm);
	return rv;
}

int
bc_call(const char *daemon, bc_msg *req, bc_msg *rep, int timeout_ms, bc_err *err)
{
	return bc_call_in(NULL, daemon, req, rep, timeout_ms, err);
}

int
bc_call_in(const char *rundir, const char *daemon, bc_msg *req, bc_msg *rep, int timeout_ms,
	   bc_err *err)
{
	char addr[160];
	nng_socket s;
	int rv;

	if (bc_addr_in(addr, sizeof(addr), rundir, daemon, BC_SOCK_REP, err) < 0)
		return -1;
	if ((rv = nng_req0_open(&s)) != 0)
		return nng_fail(err, rv, "open request socket to", daemon);
	if ((rv = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, timeout_ms)) != 0 ||
	    (rv = nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, timeout_ms)) != 0 ||
	    (rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, BC_PROTO_MAX_MSG)) != 0 ||
	    /* never resend behind the caller's back: a FETCH would pull twice */
	    (rv = nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, timeout_ms)) != 0 ||
	    (rv = nng_dial(s, addr, NULL, 0)) != 0) {
		nng_fail(err, rv,
			 rv == NNG_ECONNREFUSED || rv == NNG_ENOENT ? "no daemon listening at"
								    : "connect to",
			 addr);
		bc_sock_close(s);
		return -1;
	}
	rv = bc_call_on(s, daemon, req, rep, err);
	bc_sock_close(s);
	return rv;
}

int
bc_call_on(nng_socket s, const char *peer, bc_msg *req, bc_msg *rep, bc_err *err)
{
	uint64_t id;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		return bc_err_sys(err, "request id");
	req->id = id >> 1; /* keep it a positive msgpack int everywhere */
	if (bc_send(s, req, err) < 0 || bc_recv(s, rep, NULL, err) < 0)
		return -1;
	if (rep->id != req->id) {
		bc_msg_clear(rep);
		return bc_err_set(err, BC_EPROTO, "reply from '%s' carries the wrong request id",
				  peer);
	}
	return 0;
}
