/* lib/cloud/conn: the one cloud client. Against a server on a thread
 * (plain HTTP on 127.0.0.1, which the client allows for loopback only):
 * a request and its answer; a stream of writes ended by the cloud's 201;
 * an answer that comes before the request is read; the deadline; a body
 * too large refused by its head; what is not HTTP; a refused connection;
 * a cancel; a close while an end waits for the loop (nothing comes after
 * it); a url the device's key may not go to; writes out of turn. Every
 * end is seen on the loop (the pool's dispatch), in order, ENDED last. */
#include <arpa/inet.h>
#include <netinet/in.h>
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
#include <sys/socket.h>
#include <unistd.h>

#include "lib/base/clock.h"
#include "lib/base/pool.h"
#include "lib/cloud/conn.h"

enum mode {
	M_ANSWER,     /* read the request whole, answer 200 "hello" */
	M_STREAM,     /* read a chunked body to its end, answer 201 */
	M_EARLY,      /* answer 401 at once and close, reading nothing */
	M_SILENT,     /* read, never answer (until the client goes) */
	M_TOO_BIG,    /* a head that says 100000 bytes, and nothing more */
	M_NOT_HTTP,   /* not an HTTP answer */
	M_CLOSE_EARLY /* close at once, no answer */
};

static int lfd = -1;
static int port;
static atomic_int mode;
static char got[4096]; /* what the server read of the last request */
static atomic_size_t got_len;
static pthread_t th;

/* Read until needle is in what came (or the client closes). */
static void
read_until(int fd, const char *needle)
{
	size_t n = 0;
	ssize_t r;

	got[0] = '\0';
	while (n < sizeof(got) - 1 && (r = read(fd, got + n, sizeof(got) - 1 - n)) > 0) {
		n += (size_t)r;
		got[n] = '\0';
		if (strstr(got, needle) != NULL)
			break;
	}
	atomic_store(&got_len, n);
}

static void
say(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void *
serve(void *ud)
{
	(void)ud;
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		char c;
		if (fd < 0)
			return NULL;
		switch (atomic_load(&mode)) {
		case M_ANSWER:
			read_until(fd, "\r\n\r\nbody");
			say(fd,
			    "HTTP/1.1 200 OK\r\nETag: \"e1\"\r\nContent-Length: 5\r\n\r\nhello");
			break;
		case M_STREAM:
			read_until(fd, "0\r\n\r\n");
			say(fd, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
			break;
		case M_EARLY:
			say(fd, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope");
			break;
		case M_SILENT:
			while (read(fd, &c, 1) > 0)
				;
			break;
		case M_TOO_BIG:
			say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
			while (read(fd, &c, 1) > 0)
				;
			break;
		case M_NOT_HTTP:
			say(fd, "SSH-2.0-OpenSSH\r\n\r\n");
			while (read(fd, &c, 1) > 0)
				;
			break;
		case M_CLOSE_EARLY:
			break;
		}
		close(fd);
	}
}

/* What the loop saw of one exchange. */
struct seen {
	int n;
	bc_cc_event ev[16];
	int rv[16];
	bool ended;
	long status;
	char body[64];
	char etag[256];
	char error[200];
	/* what the test writes when connected (NULL: nothing) */
	const char *write[4];
	int nwrite;
	int written;
};

static void
on_ev(void *ud, bc_cloud_conn *c, bc_cc_event ev, int rv)
{
	struct seen *s = ud;

	if (s->n < 16) {
		s->ev[s->n] = ev;
		s->rv[s->n] = rv;
	}
	s->n++;
	assert_false(s->ended); /* nothing after ENDED */
	if ((ev == BC_CC_CONNECTED || (ev == BC_CC_WRITTEN && rv == 0)) && s->written < s->nwrite) {
		const char *w = s->write[s->written++];
		assert_int_equal(bc_cloud_conn_write(c, w, strlen(w), 5000), 0);
		/* one write at a time */
		assert_int_equal(bc_cloud_conn_write(c, w, strlen(w), 5000), -1);
	}
	if (ev == BC_CC_ENDED) {
		s->ended = true;
		if (rv == 0) {
			const bc_cloud_answer *a = bc_cloud_conn_answer(c);
			s->status = a->parser.status;
			snprintf(s->body, sizeof(s->body), "%.*s", (int)a->body.len,
				 a->body.len ? a->body.data : "");
			snprintf(s->etag, sizeof(s->etag), "%s", a->etag);
		} else
			snprintf(s->error, sizeof(s->error), "%s", bc_cloud_conn_error(c, rv));
		/* the exchange is over: no write now */
		assert_int_equal(bc_cloud_conn_write(c, "x", 1, 1000), -1);
	}
}

/* The loop: dispatch until s has ended, at most ms; returns the time it took. */
static uint64_t
run_until(bc_pool *pool, struct seen *s, int ms)
{
	uint64_t t0 = bc_mono_ms();
	while (!s->ended && bc_mono_ms() - t0 < (uint64_t)ms) {
		struct pollfd pfd = {.fd = bc_pool_fd(pool), .events = POLLIN};
		if (poll(&pfd, 1, 20) > 0)
			bc_pool_dispatch(pool);
	}
	return bc_mono_ms() - t0;
}

static char url[64];

static bc_cloud_conn *
open_conn(bc_pool *pool, struct seen *s, size_t max, uint64_t deadline)
{
	bc_cloud_conn *c = NULL;
	bc_err err = {0};
	bc_cc_opts o = {.url = url,
			.pool = pool,
			.max = max,
			.connect_ms = 5000,
			.deadline = deadline,
			.fn = on_ev,
			.ud = s};
	if (bc_cloud_conn_open(&c, &o, &err) < 0)
		fail_msg("open: %s", err.msg);
	return c;
}

static void
test_request_and_answer(void **state)
{
	bc_pool *pool = *state;
	struct seen s = {.write = {"GET /x HTTP/1.1\r\nHost: h\r\n\r\nbody"}, .nwrite = 1};
	bc_cloud_conn *c;

	atomic_store(&mode, M_ANSWER);
	c = open_conn(pool, &s, 1024, bc_mono_ms() + 5000);
	/* not connected yet: no write */
	assert_int_equal(bc_cloud_conn_write(c, "x", 1, 1000), -1);
	assert_string_equal(bc_cloud_conn_url(c)->u_requri, "/x");
	run_until(pool, &s, 5000);
	assert_true(s.ended);
	/* connected, (written,) ended: in that order. The write's end may
	 * come after the answer, whose end is the last: then it is not told */
	assert_in_range(s.n, 2, 3);
	assert_int_equal(s.ev[0], BC_CC_CONNECTED);
	if (s.n == 3) {
		assert_int_equal(s.ev[1], BC_CC_WRITTEN);
		assert_int_equal(s.rv[1], 0);
	}
	assert_int_equal(s.ev[s.n - 1], BC_CC_ENDED);
	assert_int_equal(s.rv[s.n - 1], 0);
	assert_int_equal(s.status, 200);
	assert_string_equal(s.body, "hello");
	assert_string_equal(s.etag, "\"e1\"");
	assert_string_equal(got, "GET /x HTTP/1.1\r\nHost: h\r\n\r\nbody");
	bc_cloud_conn_close(c);
}

static void
test_stream(void **state)
{
	bc_pool *pool = *state;
	struct seen s = {.write = {"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
				   "3\r\none\r\n", "3\r\ntwo\r\n", "0\r\n\r\n"},
			 .nwrite = 4};
	bc_cloud_conn *c;

	atomic_store(&mode, M_STREAM);
	/* no deadline: a stream is ended by its writer */
	c = open_conn(pool, &s, 1024, 0);
	run_until(pool, &s, 5000);
	assert_true(s.ended);
	/* connected, 4 written (the last one's end may come after the
	 * answer's, and is then not told), ended */
	assert_in_range(s.n, 5, 6);
	assert_int_equal(s.written, 4);
	for (int i = 1; i < s.n - 1; i++) {
		assert_int_equal(s.ev[i], BC_CC_WRITTEN);
		assert_int_equal(s.rv[i], 0);
	}
	assert_int_equal(s.ev[s.n - 1], BC_CC_ENDED);
	assert_int_equal(s.rv[s.n - 1], 0);
	assert_int_equal(s.status, 201);
	assert_non_null(strstr(got, "3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n"));
	bc_cloud_conn_close(c);
}

/* The server answers before it reads a byte: the answer is read beside
 * the writes, whatever became of them. */
static void
test_early_answer(void **state)
{
	bc_pool *pool = *state;
	struct seen s = {0};
	bc_cloud_conn *c;

	atomic_store(&mode, M_EARLY);
	c = open_conn(pool, &s, 1024, bc_mono_ms() + 5000);
	run_until(pool, &s, 5000);
	assert_true(s.ended);
	assert_int_equal(s.ev[0], BC_CC_CONNECTED);
	assert_int_equal(s.rv[s.n - 1], 0);
	assert_int_equal(s.status, 401);
	assert_string_equal(s.body, "nope");
	bc_cloud_conn_close(c);
}

static void
test_deadline(void **state)
{
	bc_pool *pool = *state;
	struct seen s = {.write = {"GET / HTTP/1.1\r\n\r\n"}, .nwrite = 1};
	bc_cloud_conn *c;
	uint64_t took;

	atomic_store(&mode, M_SILENT);
	c = open_conn(pool, &s, 1024, bc_mono_ms() + 300);
	took = run_until(pool, &s, 5000);
	assert_true(s.ended);
	assert_int_equal(s.rv[s.n - 1], NNG_ETIMEDOUT);
	if (took < 250 || took > 2000)
		fail_msg("the deadline of 300 ms ended it after %llu ms", (unsigned long long)took);
	bc_cloud_conn_close(c);
}

static void
test_too_big(void **state)
{
	bc_pool *pool = *state;
	struct seen s = {0};
	bc_cloud_conn *c;

	atomic_store(&mode, M_TOO_BIG);
	c = open_conn(pool, &s, 1000, bc_mono_ms() + 5000);
	run_until(pool, &s, 3000); /* by its head: the body never comes */
	assert_true(s.ended);
	assert_int_equal(s.rv[s.n - 1], NNG_EMSGSIZE);
	bc_cloud_conn_close(c);
}

static void
test_not_http(void **state)
{
	bc_pool *pool = *state;
	struct seen s = {0};
	bc_cloud_conn *c;

	atomic_store(&mode, M_NOT_HTTP);
	c = open_conn(pool, &s, 1000, bc_mono_ms() + 5000);
	run_until(pool, &s, 3000);
	assert_true(s.ended);
	assert_int_equal(s.rv[s.n - 1], NNG_EPROTO);
	assert_non_null(strstr(s.error, "no HTTP/1.x status line"));
	bc_cloud_conn_close(c);
}

/* Closed with no answer: cut short, not an answer with no body. */
static void
test_closed_early(void **state)
{
	bc_pool *pool = *state;
	struct seen s = {0};
	bc_cloud_conn *c;

	atomic_store(&mode, M_CLOSE_EARLY);
	c = open_conn(pool, &s, 1000, bc_mono_ms() + 5000);
	run_until(pool, &s, 3000);
	assert_true(s.ended);
	assert_int_equal(s.rv[s.n - 1], NNG_ECONNSHUT);
	bc_cloud_conn_close(c);
}

static void
test_refused(void **state)
{
	bc_pool *pool = *state;
	struct seen s = {0};
	bc_cloud_conn *c = NULL;
	bc_err err = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	char u[64];

	/* a port bound and not listening: refused */
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/", ntohs(a.sin_port));
	assert_int_equal(bc_cloud_conn_open(&c,
					    &(bc_cc_opts){.url = u,
							  .pool = pool,
							  .max = 10,
							  .deadline = bc_mono_ms() + 5000,
							  .fn = on_ev,
							  .ud = &s},
					    &err),
			 0);
	run_until(pool, &s, 5000);
	close(fd);
	assert_true(s.ended);
	assert_int_equal(s.n, 1); /* ENDED alone */
	assert_int_equal(s.ev[0], BC_CC_ENDED);
	assert_int_equal(s.rv[0], NNG_ECONNREFUSED);
	bc_cloud_conn_close(c);
}

static void
test_cancel(void **state)
{
	bc_pool *pool = *state;
	struct seen s = {.write = {"GET / HTTP/1.1\r\n\r\n"}, .nwrite = 1};
	bc_cloud_conn *c;
	uint64_t t0 = bc_mono_ms();

	atomic_store(&mode, M_SILENT);
	c = open_conn(pool, &s, 1024, 0);
	while (s.written == 0 && bc_mono_ms() - t0 < 3000)
		run_until(pool, &s, 20);
	assert_int_equal(s.written, 1);
	bc_cloud_conn_cancel(c);
	run_until(pool, &s, 3000);
	assert_true(s.ended);
	assert_int_equal(s.rv[s.n - 1], NNG_ECANCELED);
	bc_cloud_conn_close(c);
}

/* Closed while its ends wait in the loop's queue: none comes (ASan: and
 * nothing is touched after it is gone). */
static void
test_close_with_ends_queued(void **state)
{
	bc_pool *pool = *state;
	struct seen s = {0};
	bc_cloud_conn *c;
	struct pollfd pfd = {.fd = bc_pool_fd(pool), .events = POLLIN};

	atomic_store(&mode, M_EARLY);
	c = open_conn(pool, &s, 1024, bc_mono_ms() + 5000);
	usleep(300000); /* connected and answered: both ends are queued */
	assert_int_equal(poll(&pfd, 1, 0), 1);
	bc_cloud_conn_close(c);
	bc_pool_dispatch(pool);
	assert_int_equal(s.n, 0);
}

/* The key goes nowhere but https, or plain http to loopback: refused
 * before any connection, the url named. */
static void
test_url_refused(void **state)
{
	bc_pool *pool = *state;
	struct seen s = {0};
	bc_cloud_conn *c = (bc_cloud_conn *)&s;
	bc_err err = {0};

	assert_int_equal(bc_cloud_conn_open(&c,
					    &(bc_cc_opts){.url = "http://10.0.0.1:80/device",
							  .pool = pool,
							  .fn = on_ev,
							  .ud = &s},
					    &err),
			 -1);
	assert_null(c);
	assert_non_null(strstr(err.msg, "http://10.0.0.1:80/device"));
	assert_int_equal(
	    bc_cloud_conn_open(
		&c, &(bc_cc_opts){.url = "ftp://127.0.0.1/x", .pool = pool, .fn = on_ev, .ud = &s},
		&err),
	    -1);
	bc_pool_dispatch(pool);
	assert_int_equal(s.n, 0);
	bc_cloud_conn_close(NULL);
}

static int
setup(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	bc_err err = {0};

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 8) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &al) < 0)
		return -1;
	port = ntohs(a.sin_port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", port);
	if (pthread_create(&th, NULL, serve, NULL) != 0)
		return -1;
	*state = bc_pool_new(1, 4, &err);
	return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	bc_pool_free(*state);
	shutdown(lfd, SHUT_RDWR);
	close(lfd);
	pthread_join(th, NULL);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_and_answer),
	    cmocka_unit_test(test_stream),
	    cmocka_unit_test(test_early_answer),
	    cmocka_unit_test(test_deadline),
	    cmocka_unit_test(test_too_big),
	    cmocka_unit_test(test_not_http),
	    cmocka_unit_test(test_closed_early),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_close_with_ends_queued),
	    cmocka_unit_test(test_url_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
