/* The skeleton every daemon shares: arguments, readiness, sockets, signals
 * and the request loop. A daemon supplies its name and a dispatch hook.
 *
 * Usage: <daemon> [-d FD]
 *   -d FD   write a newline to FD once the sockets are bound, then close it
 *           (s6 readiness: the number in the service's notification-fd).
 * Before start(), $BC_STATEDIR is made (0700) and checked with
 * bc_dir_secure: a directory another user could redirect is refused.
 * SIGHUP is ignored; SIGUSR1 goes to ops->usr1.
 * Exit codes: 0 after SIGTERM/SIGINT, 100 usage, a bad setting or a start()
 * that failed with BC_EINVAL (the s6
 * finish script makes that "do not restart"), 111 system error, or another
 * instance of the daemon holds $BC_RUNDIR/<name>.lock (an flock held for
 * the process's life: a second instance never takes over the sockets). */
#ifndef BC_DAEMON_H
#define BC_DAEMON_H

#include <nng/nng.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "proto/proto.h"
#include "lib/base/pool.h"
#include "lib/ipc/settings.h"

enum bc_dispatch { BC_NOT_MINE = 0, BC_HANDLED = 1, BC_DEFERRED = 2 };

struct bc_daemon;

/* A request whose reply comes later (bc_daemon_defer). */
typedef struct bc_pending bc_pending;

/* Handle req on the loop's thread; fill rep (a reply is always sent for
 * BC_HANDLED; rep->id is set by the caller). Return BC_HANDLED, BC_NOT_MINE,
 * BC_DEFERRED (the reply comes later: see bc_daemon_defer), or -1 with err
 * set (the client gets an ERROR reply carrying err's message). */
typedef int (*bc_dispatch_fn)(struct bc_daemon *d, const bc_msg *req, bc_msg *rep, bc_err *err);

struct bc_daemon_ops {
	const char *name;	 /* "fetcher", ...: names the sockets and logs */
	bc_dispatch_fn dispatch; /* may be NULL: only the common messages */
	void *ctx;		 /* the daemon's own state, for dispatch */
	/* Optional: after the sockets are bound, before readiness (start threads
	 * here; a failure is fatal), and after the loop ends. */
	int (*start)(struct bc_daemon *d, bc_err *err);
	void (*stop)(struct bc_daemon *d);
	/* The daemon holds the device's key: it is not dumpable (no core
	 * file, no ptrace by our uid's other processes) and jansson wipes
	 * every block it frees. */
	bool secrets;
	/* Optional: SIGUSR1 arrived (on the loop's thread). Without it the
	 * signal is ignored: it never ends the daemon. */
	void (*usr1)(struct bc_daemon *d);
};

#define BC_DAEMON_MAX_WATCHES 16
/* System messages a daemon keeps while the logger is away (restarting,
 * not yet started): past this the oldest goes, and is counted */
#define BC_SYSLOG_QUEUE 128

/* An fd the daemon's loop polls for it: cb runs on the loop's thread. */
struct bc_daemon_watch {
	int fd; /* -1: a free slot */
	short events;
	void (*cb)(void *ud, short revents);
	void *ud;
	uint64_t seq; /* which registration: a slot reused meanwhile is not told */
};

/* A timer of the loop: due(ud) says when it next wants to run (monotonic
 * ms, UINT64_MAX: not now), asked before every wait; fire(ud) runs on the
 * loop's thread once that time has come. */
struct bc_daemon_timer {
	uint64_t (*due)(void *ud);
	void (*fire)(void *ud);
	void *ud;
};

struct bc_daemon {
	const struct bc_daemon_ops *ops;
	nng_socket rep; /* requests in */
	nng_socket pub; /* events out */
	atomic_int pub_peers; /* subscribers connected to pub (nng's threads count) */
	uint64_t started_ms;
	uint64_t instance; /* random, non-zero, new in every run (PONG, ACK, ...) */
	bc_settings settings; /* every BC_* setting, checked before start() */
	/* what the daemon registered with the loop (bc_daemon_watch_fd/_timer) */
	struct bc_daemon_watch watches[BC_DAEMON_MAX_WATCHES];
	uint64_t watch_seq;
	struct bc_daemon_timer timers[BC_DAEMON_MAX_WATCHES];
	size_t n_timers;
	bc_pool *pool;	     /* bc_daemon_start_pool; NULL until then */
	bc_pending *current; /* the request being dispatched (bc_daemon_defer) */
	/* system messages on their way to the logger (bc_daemon_syslog): a
	 * PUSH socket dialled to its PULL, and what waits for it, oldest at
	 * head (encoded, each ours to free) */
	nng_socket syslog;
	bool syslog_on;
	nng_msg *syslog_q[BC_SYSLOG_QUEUE];
	size_t syslog_head, syslog_n;
	uint64_t syslog_retry_ms; /* when to try again (monotonic ms) */
	unsigned syslog_fails;	  /* tries in a row nothing went: the wait doubles */
	uint64_t syslog_dropped;  /* the oldest let go, the queue full */
};

/* The daemon's one loop polls, besides its signals and requests, what a
 * daemon registers here (on the loop's thread, from start() or later): an
 * fd and what to do when it is ready; a timer. Work that blocks does not
 * belong here: it goes to the pool, which reports back through the loop.
 * Returns 0, or -1 with err when BC_DAEMON_MAX_WATCHES are registered. */
int bc_daemon_watch_fd(struct bc_daemon *d, int fd, short events,
		       void (*cb)(void *ud, short revents), void *ud, bc_err *err);
/* The loop no longer polls fd (the caller still owns and closes it). */
void bc_daemon_unwatch_fd(struct bc_daemon *d, int fd);
int bc_daemon_timer(struct bc_daemon *d, uint64_t (*due)(void *ud), void (*fire)(void *ud),
		    void *ud, bc_err *err);

/* The daemon's worker pool (lib/base/pool.h), polled by the loop: from
 * start(). The skeleton frees it after stop(), once its jobs have ended.
 * Returns 0 or -1 with err. */
int bc_daemon_start_pool(struct bc_daemon *d, size_t nthreads, size_t max_jobs, bc_err *err);

/* From dispatch: the request being handled is answered later. Returns its
 * token (the caller's until bc_daemon_reply), or NULL when out of memory
 * (then answer now). The dispatch then returns BC_DEFERRED. */
bc_pending *bc_daemon_defer(struct bc_daemon *d);
/* Send rep (rep->id is set here) for p, on the loop's thread, and free p.
 * rep stays the caller's. With err != NULL, an ERROR reply carrying it is
 * sent instead of rep. */
void bc_daemon_reply(struct bc_daemon *d, bc_pending *p, const bc_msg *rep, const bc_err *err);

int bc_daemon_main(int argc, char **argv, const struct bc_daemon_ops *ops);

/* A system message for the device's log: SYSLOG pushed to the logger,
 * which forwards it with the containers' lines. While the logger is away
 * (restarting, not started yet) it waits, in order, in this daemon's queue
 * (BC_SYSLOG_QUEUE, the oldest let go past it) and goes as the logger
 * comes. From the loop's thread. app_id 0: the device; service may be
 * NULL. Never a secret in it. */
void bc_daemon_syslog(struct bc_daemon *d, int64_t app_id, const char *service, const char *fmt,
		      ...) __attribute__((format(printf, 4, 5)));


/* From start() of a daemon that makes lock directories: bc_lock_root_prepare
 * on $BC_LOCKDIR (guarded by $BC_RUNDIR/lockroot.lock), what it found is
 * logged. A root another user could redirect fails with BC_EINVAL, naming
 * BC_LOCKDIR (the daemon then exits 100). */
int bc_daemon_lock_root(struct bc_daemon *d, bc_err *err);

#endif
