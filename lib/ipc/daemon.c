#include "lib/ipc/daemon.h"

#include "lib/base/fsutil.h"
#include "lib/docker/docker.h"
#include "lib/locks/lock.h"
#include "lib/locks/mounts.h"

#include <errno.h>
#include <inttypes.h>
#include <nng/protocol/pipeline0/push.h>
#include <stdarg.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <malloc.h>
#include <jansson.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "proto/ipc.h"
#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/base/text.h"

/* The messages every daemon answers the same way. */
static int
common_dispatch(struct bc_daemon *d, const bc_msg *req, bc_msg *rep, bc_err *err)
{
	switch (req->type) {
	case BC_MSG_PING:
		rep->type = BC_MSG_PONG;
		rep->body.pong.daemon = strdup(d->ops->name);
		if (rep->body.pong.daemon == NULL)
			return bc_err_sys(err, "pong");
		rep->body.pong.pid = (uint64_t)getpid();
		rep->body.pong.uptime_ms = bc_mono_ms() - d->started_ms;
		rep->body.pong.instance = d->instance;
		return BC_HANDLED;
	default:
		return BC_NOT_MINE;
	}
}

/* Only our own uid (or root) may talk to us. The socket mode already says
 * so; this holds even if someone loosens the directory. */
static int
peer_allowed(nng_pipe p)
{
	uint64_t uid;

	if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid) != 0)
		return 0;
	return uid == 0 || uid == (uint64_t)geteuid();
}

/* A request's way back: the REP socket is raw, so the backtrace nng put in
 * the request's header goes on the reply's, and a reply may come later. */
struct bc_pending {
	uint64_t id;
	size_t hlen;
	unsigned char header[];
};

bc_pending *
bc_daemon_defer(struct bc_daemon *d)
{
	bc_pending *p = d->current;

	d->current = NULL;
	return p;
}

static int
send_raw(struct bc_daemon *d, const bc_pending *p, const bc_msg *m, bc_err *err)
{
	bc_buf b = {0};
	nng_msg *nm;
	int rv;

	if (bc_msg_encode(m, &b, err) < 0)
		return -1;
	if ((rv = nng_msg_alloc(&nm, 0)) != 0) {
		bc_buf_free(&b);
		return bc_err_set(err, BC_ESYS, "reply: %s", nng_strerror(rv));
	}
	if ((rv = nng_msg_header_append(nm, p->header, p->hlen)) != 0 ||
	    (rv = nng_msg_append(nm, b.data, b.len)) != 0) {
		bc_buf_free(&b);
		nng_msg_free(nm);
		return bc_err_set(err, BC_ESYS, "reply: %s", nng_strerror(rv));
	}
	bc_buf_free(&b);
	if ((rv = nng_sendmsg(d->rep, nm, 0)) != 0) {
		nng_msg_free(nm);
		return bc_err_set(err, BC_ESYS, "reply: %s", nng_strerror(rv));
	}
	return 0;
}

static void
reply_error(struct bc_daemon *d, const bc_pending *p, const bc_err *e)
{
	bc_msg rep;
	bc_err err = {0};

	if (bc_msg_make_error(&rep, p->id, e->code, e->msg, &err) < 0 ||
	    send_raw(d, p, &rep, &err) < 0)
		log_warnx("%s", err.msg);
	bc_msg_clear(&rep);
}

void
bc_daemon_reply(struct bc_daemon *d, bc_pending *p, const bc_msg *rep, const bc_err *e)
{
	bc_err err = {0};

	if (p == NULL)
		return;
	if (e != NULL) {
		reply_error(d, p, e);
	} else {
		bc_msg m = *rep; /* a shallow copy: only its id is ours to set */
		m.id = p->id;
		if (send_raw(d, p, &m, &err) < 0) {
			/* never leave a client waiting: say why instead */
			log_warnx("reply to %llu: %s", (unsigned long long)p->id, err.msg);
			reply_error(d, p, &err);
		}
	}
	free(p);
}

static void
serve_one(struct bc_daemon *d, nng_msg *nm)
{
	bc_msg req, rep;
	bc_err err = {0};
	bc_pending *p;
	int rc;

	if (!peer_allowed(nng_msg_get_pipe(nm))) {
		log_warnx("dropped a request from a foreign uid");
		nng_msg_free(nm);
		return;
	}
	if ((p = malloc(sizeof(*p) + nng_msg_header_len(nm))) == NULL) {
		log_warn("request");
		nng_msg_free(nm);
		return;
	}
	p->hlen = nng_msg_header_len(nm);
	memcpy(p->header, nng_msg_header(nm), p->hlen);
	rc = bc_msg_decode(nng_msg_body(nm), nng_msg_len(nm), &req, &err);
	nng_msg_free(nm);
	p->id = req.id;
	if (rc < 0) {
		/* An untrusted client broke the protocol: answer, never die. */
		log_warnx("bad request: %s", err.msg);
		bc_daemon_reply(d, p, NULL, &err);
		return;
	}
	memset(&rep, 0, sizeof(rep));
	d->current = p;
	rc = common_dispatch(d, &req, &rep, &err);
	if (rc == BC_NOT_MINE && d->ops->dispatch != NULL)
		rc = d->ops->dispatch(d, &req, &rep, &err);
	p = d->current; /* NULL if the dispatch deferred it */
	d->current = NULL;
	if (rc == BC_NOT_MINE)
		bc_err_set(&err, BC_EPROTO, "%s does not handle %s messages", d->ops->name,
			   bc_msgtype_name(req.type));
	if (rc == BC_DEFERRED && p != NULL) {
		/* said deferred without taking it: a bug of ours, not the client's */
		bc_err_set(&err, BC_ESYS, "%s: no reply to %s", d->ops->name,
			   bc_msgtype_name(req.type));
		rc = -1;
	}
	if (rc == BC_HANDLED)
		bc_daemon_reply(d, p, &rep, NULL);
	else if (rc != BC_DEFERRED)
		bc_daemon_reply(d, p, NULL, &err);
	bc_msg_clear(&rep);
	bc_msg_clear(&req);
}

static void
drain(struct bc_daemon *d)
{
	nng_msg *nm;
	int rv;

	while ((rv = nng_recvmsg(d->rep, &nm, NNG_FLAG_NONBLOCK)) == 0)
		serve_one(d, nm);
	if (rv != NNG_EAGAIN)
		fatalx("receive: %s", nng_strerror(rv));
}

static int
parse_args(int argc, char **argv, int *notify_fd)
{
	int c;
	char *end;

	*notify_fd = -1;
	while ((c = getopt(argc, argv, "d:h")) != -1) {
		switch (c) {
		case 'd':
			errno = 0;
			*notify_fd = (int)strtol(optarg, &end, 10);
			if (errno || *end || *notify_fd < 3)
				return -1;
			break;
		default:
			return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

extern char **environ;

int
bc_daemon_watch_fd(struct bc_daemon *d, int fd, short events, void (*cb)(void *ud, short revents),
		   void *ud, bc_err *err)
{
	for (size_t i = 0; i < BC_DAEMON_MAX_WATCHES; i++)
		if (d->watches[i].fd < 0) {
			d->watches[i] =
			    (struct bc_daemon_watch){fd, events, cb, ud, ++d->watch_seq};
			return 0;
		}
	return bc_err_set(err, BC_ETOOBIG, "%d fds are watched already", BC_DAEMON_MAX_WATCHES);
}

void
bc_daemon_unwatch_fd(struct bc_daemon *d, int fd)
{
	for (size_t i = 0; i < BC_DAEMON_MAX_WATCHES; i++)
		if (d->watches[i].fd == fd && fd >= 0)
			d->watches[i] = (struct bc_daemon_watch){.fd = -1};
}

static void
pool_ready(void *ud, short revents)
{
	(void)revents;
	bc_pool_dispatch(ud);
}

int
bc_daemon_start_pool(struct bc_daemon *d, size_t nthreads, size_t max_jobs, bc_err *err)
{
	if (d->pool != NULL)
		return bc_err_set(err, BC_EINVAL, "the worker pool is started already");
	if ((d->pool = bc_pool_new(nthreads, max_jobs, err)) == NULL)
		return -1;
	if (bc_daemon_watch_fd(d, bc_pool_fd(d->pool), POLLIN, pool_ready, d->pool, err) < 0) {
		bc_pool_free(d->pool);
		d->pool = NULL;
		return -1;
	}
	return 0;
}

int
bc_daemon_timer(struct bc_daemon *d, uint64_t (*due)(void *ud), void (*fire)(void *ud), void *ud,
		bc_err *err)
{
	if (d->n_timers == BC_DAEMON_MAX_WATCHES)
		return bc_err_set(err, BC_ETOOBIG, "%d timers are set already",
				  BC_DAEMON_MAX_WATCHES);
	d->timers[d->n_timers++] = (struct bc_daemon_timer){due, fire, ud};
	return 0;
}

/* A callback before may have removed (or replaced) the watch: only the
 * same registration is told. */
static bool
still_watched(const struct bc_daemon *d, const struct bc_daemon_watch *w)
{
	for (size_t i = 0; i < BC_DAEMON_MAX_WATCHES; i++)
		if (d->watches[i].seq == w->seq && d->watches[i].fd == w->fd)
			return true;
	return false;
}

/* How long the loop may sleep: until the earliest timer (-1: no timer). */
static int
loop_timeout(struct bc_daemon *d)
{
	uint64_t now = bc_mono_ms(), next = UINT64_MAX;

	for (size_t i = 0; i < d->n_timers; i++) {
		uint64_t t = d->timers[i].due(d->timers[i].ud);
		if (t <= now)
			return 0;
		if (t < next)
			next = t;
	}
	return next == UINT64_MAX ? -1 : (next - now > 60000 ? 60000 : (int)(next - now));
}

static void
run_timers(struct bc_daemon *d)
{
	uint64_t now = bc_mono_ms();

	for (size_t i = 0; i < d->n_timers; i++)
		if (d->timers[i].due(d->timers[i].ud) <= now)
			d->timers[i].fire(d->timers[i].ud);
}

/* One instance per daemon and run directory: a second one would unlink the
 * live socket and take over (a second locker swept the first one's live
 * lockfiles). The flock lasts as long as the process; its fd is never
 * closed. The file says the holder's pid. */
static int
hold_instance_lock(const char *name, bc_err *err)
{
	char path[512], other[32] = "";
	struct stat st;
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s.lock", bc_rundir(), name) >= sizeof(path))
		return bc_err_set(err, BC_ETOOBIG, "run directory path too long");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0)
		return bc_err_sys(err, "open '%s'", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		close(fd);
		return bc_err_set(err, BC_EINVAL, "'%s' is not a regular file of ours", path);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		n = pread(fd, other, sizeof(other) - 1, 0);
		other[n > 0 ? n : 0] = '\0';
		other[strcspn(other, "\n")] = '\0';
		close(fd);
		if (e == EWOULDBLOCK)
			return bc_err_set(err, BC_EINVAL,
					  "another bc-%s runs on %s (pid %s): not starting a second",
					  name, bc_rundir(), other[0] ? other : "unknown");
		errno = e;
		return bc_err_sys(err, "lock '%s'", path);
	}
	n = snprintf(other, sizeof(other), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, other, (size_t)n, 0) != n)
		log_warn("write '%s'", path);
	return fd; /* held until exit */
}

static const char *
getenv_lookup(const char *name)
{
	return getenv(name);
}

static void
unknown_setting(const char *name)
{
	log_warnx("%s is not a setting of ours (a typo?); ignored", name);
}

/* Do running containers bind-mount directories of the lock root? Asked
 * only of an empty root that is not a mount of its own. Docker away: no
 * container of ours can run, nothing to keep. */
static bool
lock_root_in_use(const char *lockdir)
{
	bc_err err = {0};
	bc_docker *dk = bc_docker_new(NULL, &err);
	json_t *list = dk ? bc_docker_container_list(dk, "io.balena.supervised", false, &err) : NULL;
	size_t n = list ? bc_lock_root_users(list, lockdir) : 0;

	if (list == NULL)
		log_info("lock root %s: which containers use it is not known (%s)", lockdir,
			 err.msg);
	else if (n > 0)
		log_info("lock root %s: %zu running container(s) bind-mount it", lockdir, n);
	json_decref(list);
	bc_docker_free(dk);
	return n > 0;
}

int
bc_daemon_lock_root(struct bc_daemon *d, bc_err *err)
{
	char guard[512];
	const char *how;

	snprintf(guard, sizeof(guard), "%s/lockroot.lock", bc_rundir());
	if (bc_lock_root_prepare(d->settings.lockdir, guard, lock_root_in_use, &how, err) < 0) {
		bc_err_wrap(err, "BC_LOCKDIR='%s'", d->settings.lockdir);
		err->code = BC_EINVAL;
		return -1;
	}
	log_info("lock root %s: %s", d->settings.lockdir, how);
	return 0;
}

/* jansson's memory is wiped when freed: a parsed config.json, a registry
 * auth document, hold the device's key in buffers we never see. */
static void
wiping_free(void *p)
{
	if (p != NULL) {
		explicit_bzero(p, malloc_usable_size(p));
		free(p);
	}
}

/* For a daemon that holds the device's key: no core dump, no ptrace by
 * another process of our uid, and jansson wipes what it frees. */
static void
guard_secrets(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		log_warn("prctl(PR_SET_DUMPABLE)");
	json_set_alloc_funcs(malloc, wiping_free);
}

/* Send what waits, oldest first, as far as the logger takes it now; the
 * rest again soon (10 ms after a message went, up to 1 s while the logger
 * is away). */
static void
syslog_flush(void *ud)
{
	struct bc_daemon *d = ud;
	bool went = false;

	while (d->syslog_n > 0) {
		/* nng takes the message when it goes, else it stays ours */
		if (nng_sendmsg(d->syslog, d->syslog_q[d->syslog_head], NNG_FLAG_NONBLOCK) != 0)
			break;
		d->syslog_head = (d->syslog_head + 1) % BC_SYSLOG_QUEUE;
		d->syslog_n--;
		went = true;
	}
	d->syslog_fails = went ? 0 : d->syslog_fails + 1;
	d->syslog_retry_ms =
	    bc_mono_ms() + bc_doubling_ms(d->syslog_fails ? d->syslog_fails - 1 : 0, 10, 1000);
}

static uint64_t
syslog_due(void *ud)
{
	struct bc_daemon *d = ud;

	return d->syslog_n > 0 ? d->syslog_retry_ms : UINT64_MAX;
}

/* The way to the logger: dialled in the background, found again as the
 * logger restarts. Without it system messages are not said (logged). */
static void
syslog_open(struct bc_daemon *d)
{
	char addr[160];
	bc_err err = {0};
	int rv;

	if (bc_addr(addr, sizeof(addr), "logger", BC_SOCK_PULL, &err) < 0) {
		log_warnx("system messages: %s", err.msg);
		return;
	}
	if ((rv = nng_push0_open(&d->syslog)) != 0) {
		log_warnx("system messages: %s", nng_strerror(rv));
		return;
	}
	if ((rv = nng_dial(d->syslog, addr, NULL, NNG_FLAG_NONBLOCK)) != 0 ||
	    bc_daemon_timer(d, syslog_due, syslog_flush, d, &err) < 0) {
		log_warnx("system messages to %s: %s", addr, rv ? nng_strerror(rv) : err.msg);
		bc_sock_close(d->syslog);
		return;
	}
	d->syslog_on = true;
}

static void
syslog_close(struct bc_daemon *d)
{
	if (!d->syslog_on)
		return;
	for (; d->syslog_n > 0; d->syslog_n--) {
		nng_msg_free(d->syslog_q[d->syslog_head]);
		d->syslog_head = (d->syslog_head + 1) % BC_SYSLOG_QUEUE;
	}
	bc_sock_close(d->syslog);
	d->syslog_on = false;
}

int
bc_daemon_main(int argc, char **argv, const struct bc_daemon_ops *ops)
{
	static struct bc_daemon d;
	struct pollfd pfd[2 + BC_DAEMON_MAX_WATCHES];
	struct bc_daemon_watch polled[BC_DAEMON_MAX_WATCHES];
	struct signalfd_siginfo si;
	sigset_t mask;
	bc_err err = {0};
	int notify_fd, recv_fd, rv;

	d.ops = ops;
	if (ops->secrets)
		guard_secrets();
	for (size_t i = 0; i < BC_DAEMON_MAX_WATCHES; i++)
		d.watches[i].fd = -1;
	bc_log_init(ops->name);
	if (parse_args(argc, argv, &notify_fd) < 0) {
		fprintf(stderr, "usage: %s [-d notification-fd]\n", argv[0]);
		return 100;
	}
	if (bc_settings_load(&d.settings, getenv_lookup, environ, unknown_setting, &err) < 0) {
		fprintf(stderr, "bc-%s: %s\n", ops->name, err.msg);
		return 100;
	}
	d.started_ms = bc_mono_ms();
	/* this run's identity: clients that wait on us notice a restart */
	if (getrandom(&d.instance, sizeof(d.instance), GRND_NONBLOCK) != sizeof(d.instance) ||
	    d.instance == 0)
		d.instance = ((uint64_t)getpid() << 32) ^ bc_mono_ms() ^ (uint64_t)time(NULL);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	/* Block before nng starts its threads so they inherit the mask. */
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		fatal("sigprocmask");
	signal(SIGPIPE, SIG_IGN);
	pfd[0].fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (pfd[0].fd < 0)
		fatal("signalfd");

	if (bc_rundir_prepare(&err) < 0) {
		log_warnx("BC_RUNDIR='%s': %s", bc_rundir(), err.msg);
		return 100;
	}
	if (hold_instance_lock(ops->name, &err) < 0) {
		log_warnx("%s", err.msg);
		return 111;
	}
	if (bc_dir_secure(d.settings.statedir, 0700, &err) < 0) {
		log_warnx("BC_STATEDIR='%s': %s", d.settings.statedir, err.msg);
		return 100;
	}
	if (bc_listen(&d.rep, ops->name, BC_SOCK_REP, &err) < 0 ||
	    bc_listen_counted(&d.pub, ops->name, BC_SOCK_PUB, &d.pub_peers, &err) < 0)
		fatalx("%s", err.msg);
	syslog_open(&d);
	if (ops->start != NULL && ops->start(&d, &err) < 0) {
		log_warnx("%s", err.msg);
		return err.code == BC_EINVAL ? 100 : 111; /* a setting or file to fix first */
	}
	if ((rv = nng_socket_get_int(d.rep, NNG_OPT_RECVFD, &recv_fd)) != 0)
		fatalx("receive fd: %s", nng_strerror(rv));
	pfd[1].fd = recv_fd;
	pfd[0].events = pfd[1].events = POLLIN;

	if (notify_fd >= 0) {
		if (write(notify_fd, "\n", 1) != 1)
			log_warn("readiness notification on fd %d", notify_fd);
		close(notify_fd);
	}
	log_info("ready (pid %d, run directory %s)", (int)getpid(), bc_rundir());

	for (;;) {
		size_t nw = 0;
		for (size_t i = 0; i < BC_DAEMON_MAX_WATCHES; i++)
			if (d.watches[i].fd >= 0) {
				polled[nw] = d.watches[i];
				pfd[2 + nw++] = (struct pollfd){.fd = d.watches[i].fd,
								.events = d.watches[i].events};
			}
		if (poll(pfd, 2 + nw, loop_timeout(&d)) < 0) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents & POLLIN) {
			if (read(pfd[0].fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGUSR1) {
					if (ops->usr1 != NULL)
						ops->usr1(&d);
				} else if (si.ssi_signo != SIGHUP)
					break;
			}
		}
		if (pfd[1].revents & POLLIN)
			drain(&d);
		for (size_t i = 0; i < nw; i++)
			if (pfd[2 + i].revents != 0 && still_watched(&d, &polled[i]))
				polled[i].cb(polled[i].ud, pfd[2 + i].revents);
		run_timers(&d);
		if (bc_sock_close_hung()) {
			log_warnx("an nng socket close hung (nng 1.5.2's bug, see README): "
				  "ending, for s6 to start us afresh");
			si.ssi_signo = 0;
			break;
		}
	}
	log_info("stopping on signal %u", si.ssi_signo);
	if (ops->stop != NULL)
		ops->stop(&d);
	bc_pool_free(d.pool);
	syslog_close(&d);
	bc_sock_close(d.rep);
	bc_sock_close(d.pub);
	close(pfd[0].fd);
	return 0;
}

void
bc_daemon_syslog(struct bc_daemon *d, int64_t app_id, const char *service, const char *fmt, ...)
{
	char text[1024];
	bc_msg m = {.type = BC_MSG_SYSLOG};
	bc_buf b = {0};
	nng_msg *nm = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* one line: CR and LF folded (a target's words never make a second,
	 * forged line in the device's log); other controls made visible */
	for (char *p = text; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	bc_visible_in_place(text, sizeof(text), false);
	if (!d->syslog_on)
		return;
	m.body.syslog.app_id = app_id;
	m.body.syslog.service = (char *)service;
	m.body.syslog.message = text;
	if (bc_msg_encode(&m, &b, NULL) < 0 || nng_msg_alloc(&nm, 0) != 0 ||
	    nng_msg_append(nm, b.data, b.len) != 0) {
		if (nm != NULL)
			nng_msg_free(nm);
		bc_buf_free(&b);
		log_warnx("system message not said (out of memory): %s", text);
		return;
	}
	bc_buf_free(&b);
	if (d->syslog_n == BC_SYSLOG_QUEUE) { /* the logger long away: the oldest goes */
		nng_msg_free(d->syslog_q[d->syslog_head]);
		d->syslog_head = (d->syslog_head + 1) % BC_SYSLOG_QUEUE;
		d->syslog_n--;
		d->syslog_dropped++; /* told at 1, 2, 4, 8, ... */
		if ((d->syslog_dropped & (d->syslog_dropped - 1)) == 0)
			log_warnx("the logger away: %" PRIu64 " system message(s) let go, "
				  "%d kept",
				  d->syslog_dropped, BC_SYSLOG_QUEUE);
	}
	d->syslog_q[(d->syslog_head + d->syslog_n++) % BC_SYSLOG_QUEUE] = nm;
	syslog_flush(d);
}
