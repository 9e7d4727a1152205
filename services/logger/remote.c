/* The remote tail: with BC_LOG_REMOTE=tls+tcp://HOST:PORT the logger's
 * records are also answered to LOG_QUERY (and nothing else) there, over TLS
 * (nng with mbedTLS). The client's certificate is checked in the handshake
 * against BC_LOG_REMOTE_CLIENTS: a client without one of those is cut off
 * before a byte of ours is read. `balena-compose logs --remote` reads it.
 *
 * It is served by a process of its own, the logger's child
 * (`bc-logger --remote-tail ...`, spawned here, started again when it
 * ends), which asks the logger's local REP socket what to answer. What
 * strangers on the network can cost is that process's, never the
 * logger's: connections that never finish a handshake (nng lets one wait
 * 10 s) fill its descriptors, at most REMOTE_MAX_FDS (a hard limit: the
 * rest wait in the kernel's backlog), and its memory with them (~40 KiB a
 * connection); it runs at nice REMOTE_NICE. Lines are still read, sent to
 * the cloud and answered to local `logs` meanwhile; the remote tail itself
 * is slow or away until the flood ends.
 *
 * Requests are tiny (REMOTE_MAX_REQ) and answered one at a time; a reply
 * that does not fit the peer's queue is dropped and the client asks again. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "proto/ipc.h"
#include "logger.h"

#define REMOTE_MAX_REQ 4096
/* the child's descriptors (soft and hard): TLS peers in handshake and
 * connected, together, stay below it */
#define REMOTE_MAX_FDS 64
#define REMOTE_NICE 10
/* the child's first word (listening, or why not) */
#define REMOTE_START_MS 10000
/* the logger's answer to a forwarded query */
#define REMOTE_CALL_MS 2000
/* a child that lived this long ended for a reason of its own: started
 * again at once; sooner, the wait doubles (10 ms up to 10 s) */
#define REMOTE_STEADY_MS 10000
/* the child's report fd (its end of a pipe; EOF tells the logger it ended) */
#define REMOTE_REPORT_FD 3

extern char **environ;

/* ---- the child ---------------------------------------------------------- */

static void
report(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(REMOTE_REPORT_FD, line, (size_t)n) < 0)
		log_warn("remote tail: report to the logger");
}

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

/* The TLS listener, as the settings say; exit code 100 (a setting) or 111. */
static int
listen_remote(nng_socket *rep, const char *url, const char *cert, const char *clients, bc_err *err)
{
	nng_tls_config *tls = NULL;
	nng_listener l;
	int rv;

	if ((rv = nng_rep0_open(rep)) != 0)
		return bc_err_set(err, BC_ESYS, "remote tail: %s", nng_strerror(rv));
	if ((rv = nng_tls_config_alloc(&tls, NNG_TLS_MODE_SERVER)) != 0)
		return bc_err_set(err, BC_ESYS, "remote tail: TLS: %s", nng_strerror(rv));
	if ((rv = nng_tls_config_cert_key_file(tls, cert, NULL)) != 0) {
		nng_tls_config_free(tls);
		return bc_err_set(err, BC_EINVAL,
				  "BC_LOG_REMOTE_CERT='%s': no certificate and key read from it "
				  "(%s; both go in one PEM file)",
				  cert, nng_strerror(rv));
	}
	if ((rv = nng_tls_config_ca_file(tls, clients)) != 0) {
		nng_tls_config_free(tls);
		return bc_err_set(err, BC_EINVAL,
				  "BC_LOG_REMOTE_CLIENTS='%s': no certificates read from it (%s)",
				  clients, nng_strerror(rv));
	}
	if ((rv = nng_tls_config_auth_mode(tls, NNG_TLS_AUTH_MODE_REQUIRED)) != 0 ||
	    (rv = nng_socket_set_size(*rep, NNG_OPT_RECVMAXSZ, REMOTE_MAX_REQ)) != 0 ||
	    (rv = nng_pipe_notify(*rep, NNG_PIPE_EV_ADD_POST, pipe_event, NULL)) != 0 ||
	    (rv = nng_pipe_notify(*rep, NNG_PIPE_EV_REM_POST, pipe_event, NULL)) != 0) {
		nng_tls_config_free(tls);
		return bc_err_set(err, BC_ESYS, "remote tail: %s", nng_strerror(rv));
	}
	/* a child before us (the logger restarted) may hold the port a moment */
	for (int tries = 0;; tries++) {
		if ((rv = nng_listener_create(&l, *rep, url)) == 0 &&
		    (rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, tls)) == 0 &&
		    (rv = nng_listener_start(l, 0)) == 0)
			break;
		if (rv != NNG_EADDRINUSE || tries >= 20) {
			nng_tls_config_free(tls);
			return bc_err_set(err, rv == NNG_EADDRINUSE ? BC_ESYS : BC_EINVAL,
					  "BC_LOG_REMOTE='%s': cannot listen there (%s)", url,
					  nng_strerror(rv));
		}
		nng_listener_close(l);
		nng_msleep(100);
	}
	nng_tls_config_free(tls); /* the listener holds its own reference */
	return 0;
}

/* One request from a remote client: a LOG_QUERY goes to the logger as it
 * came and its answer back as it came (the logger's REP keeps the id); else
 * an error. */
static void
serve(nng_socket rep, nng_socket logger, nng_msg *in, bool *quiet)
{
	bc_msg req, rep_msg = {0};
	nng_msg *back = NULL;
	bc_buf b = {0};
	bc_err err = {0};
	int rv;

	if (bc_msg_decode(nng_msg_body(in), nng_msg_len(in), &req, &err) < 0) {
		/* nothing to answer by: the client times out */
		log_warnx("remote tail: a request that does not decode: %s", err.msg);
		nng_msg_free(in);
		return;
	}
	if (req.type != BC_MSG_LOG_QUERY) {
		rep_msg.id = req.id;
		rep_msg.type = BC_MSG_ERROR;
		rep_msg.body.error.code = BC_EINVAL;
		rep_msg.body.error.message = "the remote tail answers LOG_QUERY only";
		bc_msg_clear(&req);
		nng_msg_free(in);
		/* rep_msg points at a literal: encoded now, not cleared */
		if (bc_msg_encode(&rep_msg, &b, &err) < 0) {
			log_warnx("remote tail: %s", err.msg);
			return;
		}
		if (nng_send(rep, b.data, b.len, NNG_FLAG_NONBLOCK) != 0)
			log_warnx("remote tail: a reply dropped (the client is slow)");
		bc_buf_free(&b);
		return;
	}
	bc_msg_clear(&req);
	nng_msg_header_clear(in);
	if ((rv = nng_sendmsg(logger, in, 0)) != 0)
		nng_msg_free(in); /* not taken: still ours */
	else
		rv = nng_recvmsg(logger, &back, 0);
	if (rv != 0) {
		if (!*quiet)
			log_warnx("remote tail: the logger does not answer (%s); a client waits",
				  nng_strerror(rv));
		*quiet = true;
		return;
	}
	*quiet = false;
	nng_msg_header_clear(back);
	if (nng_sendmsg(rep, back, NNG_FLAG_NONBLOCK) != 0) {
		nng_msg_free(back);
		log_warnx("remote tail: a reply dropped (the client is slow)");
	}
}

int
lg_remote_main(int argc, char **argv)
{
	struct rlimit fds = {REMOTE_MAX_FDS, REMOTE_MAX_FDS};
	nng_socket rep, logger;
	char addr[160], *end;
	bc_err err = {0};
	bool quiet = false;
	long parent;
	int rv = 0;

	bc_log_init("logger");
	if (argc != 6) {
		fprintf(stderr, "usage: %s --remote-tail LOGGER-PID URL CERT CLIENTS\n", argv[0]);
		return 100;
	}
	/* ends with the logger: a logger started again starts its own */
	parent = strtol(argv[2], &end, 10);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || *end != '\0' || getppid() != (pid_t)parent)
		return 111;
	/* holds the remote tail's TLS key */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		log_warn("remote tail: prctl(PR_SET_DUMPABLE)");
	closefrom(REMOTE_REPORT_FD + 1);
	if (setrlimit(RLIMIT_NOFILE, &fds) < 0 || setpriority(PRIO_PROCESS, 0, REMOTE_NICE) < 0) {
		report("111 remote tail: its limits: %s", strerror(errno));
		return 111;
	}
	if (listen_remote(&rep, argv[3], argv[4], argv[5], &err) < 0) {
		report("%d %s", err.code == BC_EINVAL ? 100 : 111, err.msg);
		return err.code == BC_EINVAL ? 100 : 111;
	}
	if (bc_addr(addr, sizeof(addr), "logger", BC_SOCK_REP, &err) < 0 ||
	    (rv = nng_req0_open(&logger)) != 0 ||
	    (rv = nng_socket_set_ms(logger, NNG_OPT_SENDTIMEO, REMOTE_CALL_MS)) != 0 ||
	    (rv = nng_socket_set_ms(logger, NNG_OPT_RECVTIMEO, REMOTE_CALL_MS)) != 0 ||
	    (rv = nng_dial(logger, addr, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		report("111 remote tail: the logger's socket: %s",
		       err.msg[0] ? err.msg : nng_strerror(rv));
		return 111;
	}
	report("0 ready");
	log_info("remote tail: listening on %s", argv[3]);
	for (;;) {
		nng_msg *in;
		if ((rv = nng_recvmsg(rep, &in, 0)) != 0) {
			log_warnx("remote tail: %s", nng_strerror(rv));
			nng_msleep(100);
			continue;
		}
		serve(rep, logger, in, &quiet);
	}
}

/* ---- the logger's side: spawn, watch, start again ------------------------ */

static void remote_readable(void *ud, short revents);

/* Start the child; its report comes on g->remote_fd. */
static int
spawn(struct lg *g, bc_err *err)
{
	const bc_settings *s = &g->d->settings;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dflt;
	char ppid[24];
	char *argv[] = {"bc-logger",
			"--remote-tail",
			ppid,
			(char *)s->log_remote,
			(char *)s->log_remote_cert,
			(char *)s->log_remote_clients,
			NULL};
	int p[2], rv;
	pid_t pid;

	snprintf(ppid, sizeof(ppid), "%ld", (long)getpid());
	if (pipe2(p, O_CLOEXEC) < 0)
		return bc_err_set(err, BC_ESYS, "remote tail: pipe: %s", strerror(errno));
	if (p[1] == REMOTE_REPORT_FD) { /* dup2 onto itself would keep O_CLOEXEC */
		int moved = fcntl(p[1], F_DUPFD_CLOEXEC, REMOTE_REPORT_FD + 1);
		close(p[1]);
		p[1] = moved;
	}
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGTERM);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGHUP);
	sigaddset(&dflt, SIGUSR1);
	sigaddset(&dflt, SIGPIPE);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	rv = p[1] < 0 ? errno : 0;
	if (rv == 0)
		rv = posix_spawn_file_actions_adddup2(&fa, p[1], REMOTE_REPORT_FD);
	if (rv == 0)
		rv = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (rv == 0)
		rv = posix_spawnattr_setsigmask(&at, &none);
	if (rv == 0)
		rv = posix_spawnattr_setsigdefault(&at, &dflt);
	if (rv == 0)
		rv = posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (p[1] >= 0)
		close(p[1]);
	if (rv != 0) {
		close(p[0]);
		return bc_err_set(err, BC_ESYS, "remote tail: cannot start its process: %s",
				  strerror(rv));
	}
	g->remote_pid = pid;
	g->remote_fd = p[0];
	g->remote_len = 0;
	g->remote_since = bc_mono_ms();
	return 0;
}

/* The child has ended (its report fd said EOF): reap it, say how (if say)
 * and when it starts again. */
static void
reap(struct lg *g, bool say)
{
	uint64_t wait;
	int st = 0;
	char how[64];

	if (g->remote_pid <= 0)
		return;
	while (waitpid(g->remote_pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(st))
		snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(st));
	else
		snprintf(how, sizeof(how), "exit %d", WEXITSTATUS(st));
	g->remote_pid = 0;
	if (g->remote_fd >= 0) {
		close(g->remote_fd);
		g->remote_fd = -1;
	}
	g->remote_fails =
	    bc_mono_ms() - g->remote_since >= REMOTE_STEADY_MS ? 0 : g->remote_fails + 1;
	wait = g->remote_fails ? bc_doubling_ms(g->remote_fails - 1, 10, 10000) : 0;
	g->remote_retry = bc_mono_ms() + wait;
	if (say)
		log_warnx("remote tail: its process ended (%s); started again in %" PRIu64 " ms",
			  how, wait);
}

/* A line of the child's report: "0 ready", or "CODE why" before it ends. */
static void
remote_line(const char *line)
{
	const char *why = strchr(line, ' ');

	if (strcmp(line, "0 ready") != 0)
		log_warnx("%s", why != NULL ? why + 1 : line);
}

static void
remote_readable(void *ud, short revents)
{
	struct lg *g = ud;
	ssize_t n;

	(void)revents;
	for (;;) {
		n = read(g->remote_fd, g->remote_line + g->remote_len,
			 sizeof(g->remote_line) - 1 - g->remote_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		g->remote_len += (size_t)n;
		g->remote_line[g->remote_len] = '\0';
		char *nl;
		while ((nl = strchr(g->remote_line, '\n')) != NULL) {
			*nl = '\0';
			remote_line(g->remote_line);
			g->remote_len -= (size_t)(nl + 1 - g->remote_line);
			memmove(g->remote_line, nl + 1, g->remote_len + 1);
		}
		if (g->remote_len == sizeof(g->remote_line) - 1)
			g->remote_len = 0; /* no line this long is ours: dropped */
	}
	bc_daemon_unwatch_fd(g->d, g->remote_fd);
	reap(g, true);
}

static uint64_t
remote_due(void *ud)
{
	struct lg *g = ud;
	return g->remote_on && g->remote_pid == 0 && !g->stopping ? g->remote_retry : UINT64_MAX;
}

static void
remote_again(void *ud)
{
	struct lg *g = ud;
	bc_err err = {0};

	if (spawn(g, &err) < 0 ||
	    (fcntl(g->remote_fd, F_SETFL, O_NONBLOCK) < 0 &&
	     bc_err_set(&err, BC_ESYS, "remote tail: %s", strerror(errno)) < 0) ||
	    bc_daemon_watch_fd(g->d, g->remote_fd, POLLIN, remote_readable, g, &err) < 0) {
		log_warnx("%s", err.msg);
		if (g->remote_pid > 0) {
			kill(g->remote_pid, SIGKILL);
			reap(g, true);
		} else {
			g->remote_fails++;
			g->remote_retry =
			    bc_mono_ms() + bc_doubling_ms(g->remote_fails - 1, 10, 10000);
		}
	}
}

int
lg_remote_start(struct lg *g, bc_err *err)
{
	const bc_settings *s = &g->d->settings;
	struct pollfd pfd;
	char line[512];
	size_t len = 0;
	uint64_t until;

	g->remote_fd = -1;
	if (s->log_remote[0] == '\0')
		return 0;
	if (access(s->log_remote_cert, R_OK) < 0)
		return bc_err_set(err, BC_EINVAL, "BC_LOG_REMOTE_CERT='%s': %s", s->log_remote_cert,
				  strerror(errno));
	if (access(s->log_remote_clients, R_OK) < 0)
		return bc_err_set(err, BC_EINVAL, "BC_LOG_REMOTE_CLIENTS='%s': %s",
				  s->log_remote_clients, strerror(errno));
	if (spawn(g, err) < 0)
		return -1;
	g->remote_on = true;
	/* the first word is waited for: a setting it refuses stops the logger
	 * as any other bad setting does (exit 100, named) */
	until = bc_mono_ms() + REMOTE_START_MS;
	pfd = (struct pollfd){.fd = g->remote_fd, .events = POLLIN};
	while (memchr(line, '\n', len) == NULL) {
		uint64_t now = bc_mono_ms();
		ssize_t n;
		if (now >= until || poll(&pfd, 1, (int)(until - now)) == 0) {
			kill(g->remote_pid, SIGKILL);
			reap(g, false);
			return bc_err_set(err, BC_ESYS, "remote tail: its process did not start");
		}
		n = read(g->remote_fd, line + len, sizeof(line) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (len += (size_t)n) == sizeof(line) - 1)
			break;
	}
	line[len] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, "0 ready") != 0) {
		int code = atoi(line);
		const char *why = strchr(line, ' ');
		bc_err_set(err, code == 100 ? BC_EINVAL : BC_ESYS, "%s",
			   why != NULL ? why + 1 : "remote tail: its process ended at start");
		reap(g, false);
		return -1;
	}
	if (fcntl(g->remote_fd, F_SETFL, O_NONBLOCK) < 0)
		return bc_err_set(err, BC_ESYS, "remote tail: %s", strerror(errno));
	if (bc_daemon_watch_fd(g->d, g->remote_fd, POLLIN, remote_readable, g, err) < 0 ||
	    bc_daemon_timer(g->d, remote_due, remote_again, g, err) < 0)
		return -1;
	return 0;
}

void
lg_remote_stop(struct lg *g)
{
	int st;

	if (!g->remote_on)
		return;
	g->remote_on = false;
	if (g->remote_pid <= 0)
		return;
	bc_daemon_unwatch_fd(g->d, g->remote_fd);
	kill(g->remote_pid, SIGTERM);
	for (int i = 0; i < 200 && waitpid(g->remote_pid, &st, WNOHANG) == 0; i++)
		nng_msleep(10);
	if (waitpid(g->remote_pid, &st, WNOHANG) == 0) {
		kill(g->remote_pid, SIGKILL);
		waitpid(g->remote_pid, &st, 0);
	}
	g->remote_pid = 0;
	close(g->remote_fd);
	g->remote_fd = -1;
}
