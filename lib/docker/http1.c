#include "lib/docker/http1.h"

#include "lib/base/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { S_HEAD, S_BODY, S_BODY_CLOSE, S_CHUNK_SIZE, S_CHUNK_DATA, S_CHUNK_CRLF, S_TRAILER, S_DONE };

void
bc_http1_parser_init(bc_http1_parser *p, bool head)
{
	memset(p, 0, offsetof(bc_http1_parser, line));
	p->n = 0;
	p->head = head;
	p->state = S_HEAD;
}

static int
bad(bc_err *err, const char *what)
{
	return bc_err_set(err, BC_EPROTO, "HTTP response: %s", what);
}

/* One header line (no CRLF), name: value. */
static int
header(bc_http1_parser *p, char *l, bool final, bc_err *err)
{
	char *colon = strchr(l, ':'), *v, *end;

	if (colon == NULL || colon == l)
		return bad(err, "a header line without a name");
	for (char *c = l; c < colon; c++)
		if (*c <= ' ' || *c >= 127 || strchr("()<>@,;\\\"/[]?={}", *c) != NULL)
			return bad(err, "a header name with characters not allowed");
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (strcasecmp(l, "Content-Length") == 0) {
		uint64_t n = 0;
		if (*v == '\0' || strlen(v) > 18 || strspn(v, "0123456789") != strlen(v))
			return bad(err, "a Content-Length that is not a number");
		n = strtoull(v, NULL, 10);
		if (p->have_length && n != p->left)
			return bad(err, "two different Content-Lengths");
		p->have_length = true;
		p->left = n;
	} else if (strcasecmp(l, "Transfer-Encoding") == 0) {
		if (strcasecmp(v, "chunked") != 0)
			return bad(err, "a Transfer-Encoding other than chunked");
		p->chunked = true;
	} else if (strcasecmp(l, "Connection") == 0) {
		if (strcasestr(v, "close") != NULL)
			p->close = true;
	}
	if (final && p->on_header != NULL)
		p->on_header(p->hud, l, v);
	return 0;
}

/* The status line and headers in p->line (p->n bytes, ending in CRLFCRLF). */
static int
head_done(bc_http1_parser *p, bc_err *err)
{
	char *l = p->line, *eol;
	long status;

	p->line[p->n - 4] = '\0'; /* drop the blank line */
	if (memchr(p->line, '\0', p->n - 4) != NULL)
		return bad(err, "a NUL byte in the headers");
	for (size_t i = 0; i < p->n - 4; i++) /* every line ends in CRLF, nothing else */
		if ((p->line[i] == '\n' && (i == 0 || p->line[i - 1] != '\r')) ||
		    (p->line[i] == '\r' && p->line[i + 1] != '\n'))
			return bad(err, "a bare CR or LF in the headers");
	if ((strncmp(l, "HTTP/1.1 ", 9) != 0 && strncmp(l, "HTTP/1.0 ", 9) != 0) ||
	    strspn(l + 9, "0123456789") != 3 || (l[12] != ' ' && l[12] != '\r' && l[12] != '\0'))
		return bad(err, "no HTTP/1.x status line");
	status = strtol(l + 9, NULL, 10);
	if (status < 100 || status > 599)
		return bad(err, "a status out of range");
	p->close = l[7] == '0'; /* HTTP/1.0: the connection ends with the body */
	p->chunked = p->have_length = false;
	p->left = 0;
	eol = strstr(l, "\r\n");
	while (eol != NULL) {
		char *line = eol + 2, *next = strstr(line, "\r\n");
		if (next != NULL)
			*next = '\0';
		if (*line == ' ' || *line == '\t')
			return bad(err, "a folded header line");
		if (header(p, line, status >= 200, err) < 0)
			return -1;
		eol = next;
	}
	if (status == 101)
		return bad(err, "a protocol switch was not asked for");
	if (status < 200) { /* 100 Continue and the like: the real one follows */
		p->n = 0;
		return 0;
	}
	p->status = status;
	if (p->head || status == 204 || status == 304) {
		p->state = S_DONE;
	} else if (p->chunked) {
		if (p->have_length) /* both: chunked wins, and the connection ends */
			p->close = true;
		p->have_length = false;
		p->state = S_CHUNK_SIZE;
	} else if (p->have_length) {
		p->state = p->left > 0 ? S_BODY : S_DONE;
	} else {
		p->close = true; /* the body ends when the connection does */
		p->state = S_BODY_CLOSE;
	}
	p->n = 0;
	return 0;
}

static int
chunk_size(bc_http1_parser *p, bc_err *err)
{
	size_t digits = strspn(p->line, "0123456789abcdefABCDEF");
	char c = p->line[digits];

	if (digits == 0 || digits > 15 || (c != '\0' && c != ';' && c != ' ' && c != '\t'))
		return bad(err, "a malformed chunk size");
	p->left = strtoull(p->line, NULL, 16);
	p->state = p->left > 0 ? S_CHUNK_DATA : S_TRAILER;
	p->n = 0;
	return 0;
}

/* Collect a CRLF-terminated line into p->line (at most max bytes with the
 * CRLF). 1 when it is complete (NUL-terminated, CRLF removed). */
static int
take_line(bc_http1_parser *p, char c, size_t max, bc_err *err)
{
	if (p->n + 1 >= max)
		return bad(err, "a line too long");
	p->line[p->n++] = c;
	if (p->n >= 2 && p->line[p->n - 2] == '\r' && p->line[p->n - 1] == '\n') {
		p->n -= 2;
		p->line[p->n] = '\0';
		if (memchr(p->line, '\0', p->n) != NULL || memchr(p->line, '\r', p->n) != NULL ||
		    memchr(p->line, '\n', p->n) != NULL)
			return bad(err, "a stray control byte in a line");
		return 1;
	}
	return 0;
}

static int
deliver(bc_http1_body_fn fn, void *ud, const char *d, size_t n)
{
	return fn != NULL && n > 0 ? fn(ud, d, n) : 0;
}

int
bc_http1_feed(bc_http1_parser *p, const char *data, size_t len, size_t *used, bc_http1_body_fn fn,
	      void *ud, bc_err *err)
{
	size_t i = 0;
	int r;

	*used = 0;
	while (i < len && p->state != S_DONE) {
		switch (p->state) {
		case S_HEAD:
			if (p->n + 1 >= sizeof(p->line))
				return bad(err, "headers larger than 16 KiB");
			p->line[p->n++] = data[i++];
			if (p->n >= 4 && memcmp(p->line + p->n - 4, "\r\n\r\n", 4) == 0 &&
			    head_done(p, err) < 0)
				return -1;
			break;
		case S_BODY:
		case S_CHUNK_DATA: {
			size_t n = len - i < p->left ? len - i : (size_t)p->left;
			p->left -= n;
			if (p->left == 0)
				p->state = p->state == S_BODY ? S_DONE : S_CHUNK_CRLF;
			r = deliver(fn, ud, data + i, n);
			i += n;
			if (r != 0) {
				*used = i;
				return r > 0 ? 2 : -1;
			}
			break;
		}
		case S_BODY_CLOSE:
			r = deliver(fn, ud, data + i, len - i);
			i = len;
			if (r != 0) {
				*used = i;
				return r > 0 ? 2 : -1;
			}
			break;
		case S_CHUNK_CRLF:
			p->line[p->n++] = data[i++];
			if (p->n == 2) {
				if (memcmp(p->line, "\r\n", 2) != 0)
					return bad(err, "a chunk not followed by CRLF");
				p->n = 0;
				p->state = S_CHUNK_SIZE;
			}
			break;
		case S_CHUNK_SIZE:
			r = take_line(p, data[i++], BC_HTTP1_MAX_LINE, err);
			if (r < 0 || (r == 1 && chunk_size(p, err) < 0))
				return -1;
			break;
		case S_TRAILER:
			r = take_line(p, data[i++], BC_HTTP1_MAX_LINE, err);
			if (r < 0)
				return -1;
			if (r == 1) {
				if (p->n == 0)
					p->state = S_DONE;
				p->n = 0; /* a trailer field: not used */
			}
			break;
		}
	}
	*used = i;
	return p->state == S_DONE ? 1 : 0;
}

int
bc_http1_eof(bc_http1_parser *p, bc_err *err)
{
	if (p->state == S_DONE || p->state == S_BODY_CLOSE) {
		p->state = S_DONE;
		return 1;
	}
	return bc_err_set(err, BC_EPROTO, "HTTP response: the connection closed %s",
			  p->state == S_HEAD && p->n == 0 ? "before any response"
							  : "in the middle of the response");
}

/* --- the connection ---------------------------------------------------------- */

/* Wait until fd is ready for ev, or the deadline (-1: none) passes. */
static int
wait_fd(int fd, short ev, int64_t deadline, const char *what, bc_err *err)
{
	for (;;) {
		struct pollfd pf = {.fd = fd, .events = ev};
		int left = -1, n;
		if (deadline >= 0) {
			int64_t l = deadline - (int64_t)bc_mono_ms();
			if (l <= 0)
				return bc_err_set(err, BC_ETIMEOUT, "%s: timed out", what);
			left = l > 60000 ? 60000 : (int)l;
		}
		n = poll(&pf, 1, left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return bc_err_sys(err, "%s: poll", what);
	}
}

int
bc_http1_conn_init(bc_http1_conn *c, const char *sock, bc_err *err)
{
	c->fd = -1;
	if (strlen(sock) >= sizeof(c->sock))
		return bc_err_set(err, BC_EINVAL, "socket path '%.100s' too long", sock);
	strcpy(c->sock, sock);
	return 0;
}

void
bc_http1_conn_close(bc_http1_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int
conn_open(bc_http1_conn *c, int timeout_ms, bc_err *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), soerr = 0, r;
	socklen_t sl = sizeof(soerr);

	if (fd < 0)
		return bc_err_sys(err, "socket");
	memcpy(a.sun_path, c->sock, strlen(c->sock) + 1);
	/* EAGAIN on a unix socket: the engine's backlog is full; try again */
	for (int64_t until = (int64_t)bc_mono_ms() + (timeout_ms > 0 ? timeout_ms : 10000);;) {
		r = connect(fd, (struct sockaddr *)&a, sizeof(a));
		if (r == 0 || errno != EAGAIN)
			break;
		if ((int64_t)bc_mono_ms() >= until) {
			close(fd);
			return bc_err_set(err, BC_ETIMEOUT, "connect to %s: the engine is busy",
					  c->sock);
		}
		usleep(5000);
	}
	if (r < 0) {
		if (errno != EINPROGRESS) {
			bc_err_sys(err, "connect to %s", c->sock);
			close(fd);
			return -1;
		}
		if (wait_fd(fd, POLLOUT, (int64_t)bc_mono_ms() + (timeout_ms > 0 ? timeout_ms : 10000),
			    "connect", err) < 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
			if (soerr != 0) {
				errno = soerr;
				bc_err_sys(err, "connect to %s", c->sock);
			}
			close(fd);
			return -1;
		}
	}
	c->fd = fd;
	return 0;
}

static int
send_all(int fd, const char *b, size_t n, int64_t deadline, bc_err *err)
{
	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline, "send", err) < 0)
				return -1;
			continue;
		}
		if (w <= 0)
			return bc_err_sys(err, "send");
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Has the peer closed (or reset) an idle connection? */
static bool
closed_by_peer(int fd)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	char c;

	if (poll(&pf, 1, 0) <= 0)
		return false;
	return (pf.revents & (POLLHUP | POLLERR)) != 0 ||
	       recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

struct rx {
	const bc_http1_req *rq;
	bc_http1_parser *p;
	bool told;
};

static void
tell_status(struct rx *x)
{
	if (!x->told && x->p->status != 0) {
		x->told = true;
		if (x->rq->on_status != NULL)
			x->rq->on_status(x->rq->ud, x->p->status);
	}
}

static int
on_bytes(void *ud, const char *d, size_t n)
{
	struct rx *x = ud;
	tell_status(x);
	return x->rq->on_body ? x->rq->on_body(x->rq->ud, d, n) : 0;
}

/* One try on the connection. *stale: it failed before any byte of a
 * response came on a connection that was already open (try again). */
static int
exchange(bc_http1_conn *c, const bc_http1_req *rq, const char *req, size_t reqlen,
	 int64_t deadline, bool *stale, bc_err *err)
{
	bc_http1_parser *p = malloc(sizeof(*p));
	struct rx x = {.rq = rq, .p = p};
	bool reused = c->fd >= 0, any = false;
	char buf[16384];
	int rc = -1;

	*stale = false;
	if (p == NULL)
		return bc_err_sys(err, "http");
	bc_http1_parser_init(p, strcmp(rq->method, "HEAD") == 0);
	if (reused && closed_by_peer(c->fd)) {
		/* the engine closed our kept connection while it was idle: a new
		 * one, before anything is sent on the old */
		bc_http1_conn_close(c);
		reused = false;
	}
	if (!reused && conn_open(c, rq->connect_timeout_ms, err) < 0)
		goto out;
	if (send_all(c->fd, req, reqlen, deadline, err) < 0) {
		*stale = reused;
		goto fail;
	}
	for (;;) {
		size_t used;
		ssize_t r;
		int f;
		if (wait_fd(c->fd, POLLIN, deadline, "response", err) < 0)
			goto fail;
		r = recv(c->fd, buf, sizeof(buf), 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0) {
			*stale = reused && !any;
			bc_err_sys(err, "receive");
			goto fail;
		}
		if (r == 0) {
			*stale = reused && !any;
			if (bc_http1_eof(p, err) < 0)
				goto fail;
			tell_status(&x);
			bc_http1_conn_close(c);
			rc = 0;
			goto out;
		}
		any = true;
		f = bc_http1_feed(p, buf, (size_t)r, &used, on_bytes, &x, err);
		if (f < 0)
			goto fail;
		if (f == 2) { /* the caller stopped: the rest of the stream is not read */
			bc_http1_conn_close(c);
			rc = 1;
			goto out;
		}
		if (f == 1) {
			tell_status(&x);
			if (p->close || used != (size_t)r)
				bc_http1_conn_close(c);
			rc = 0;
			goto out;
		}
	}
fail:
	bc_http1_conn_close(c);
out:
	free(p);
	return rc;
}

/* The request's bytes (a secret may be in them: wipe before free). */
static char *
build_request(const bc_http1_req *rq, size_t *outlen, bc_err *err)
{
	bool body = rq->body != NULL || strcmp(rq->method, "POST") == 0 ||
		    strcmp(rq->method, "PUT") == 0;
	char *req = NULL;
	int len;

	if (strpbrk(rq->method, " \r\n") != NULL || strpbrk(rq->path, " \r\n") != NULL) {
		bc_err_set(err, BC_EINVAL, "http: a method or path with a space or newline");
		return NULL;
	}
	len = asprintf(&req, "%s %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: balena-compose\r\n%s",
		       rq->method, rq->path, rq->headers ? rq->headers : "");
	if (len < 0)
		req = NULL;
	if (len >= 0 && body) {
		char *more = NULL;
		int l2 = asprintf(&more, "%sContent-Length: %zu\r\n\r\n", req, rq->body_len);
		if (l2 < 0)
			more = NULL; /* asprintf leaves it undefined then */
		explicit_bzero(req, (size_t)len);
		free(req);
		req = more;
		len = l2;
		if (len >= 0 && rq->body_len > 0) {
			more = realloc(req, (size_t)len + rq->body_len);
			if (more == NULL) {
				explicit_bzero(req, (size_t)len); /* it may hold X-Registry-Auth */
				len = -1;
			} else {
				req = more;
				memcpy(req + len, rq->body, rq->body_len);
				len += (int)rq->body_len;
			}
		}
	} else if (len >= 0) {
		char *more = NULL;
		int l2 = asprintf(&more, "%s\r\n", req);
		if (l2 < 0)
			more = NULL;
		explicit_bzero(req, (size_t)len);
		free(req);
		req = more;
		len = l2;
	}
	if (len < 0 || req == NULL) {
		free(req);
		bc_err_sys(err, "http request");
		return NULL;
	}
	*outlen = (size_t)len;
	return req;
}

int
bc_http1_request(bc_http1_conn *c, const bc_http1_req *rq, bc_err *err)
{
	int64_t deadline = rq->timeout_ms > 0 ? (int64_t)bc_mono_ms() + rq->timeout_ms : -1;
	size_t len;
	char *req = build_request(rq, &len, err);
	int rc = -1;

	if (req == NULL)
		return -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		bool stale;
		rc = exchange(c, rq, req, len, deadline, &stale, err);
		/* sent and then cut before any answer: only a request that may
		 * be repeated is (a POST may already have been carried out) */
		if (rc >= 0 || !stale ||
		    (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0))
			break;
		bc_err_clear(err); /* the engine had closed our kept connection */
	}
	explicit_bzero(req, len); /* it may hold X-Registry-Auth */
	free(req);
	return rc;
}

int
bc_http1_stream_open(bc_http1_stream *s, const char *sock, const bc_http1_req *rq, bc_err *err)
{
	int64_t deadline =
	    (int64_t)bc_mono_ms() + (rq->connect_timeout_ms > 0 ? rq->connect_timeout_ms : 10000);
	size_t len;
	char *req;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	s->conn.fd = -1;
	if ((s->p = malloc(sizeof(*s->p))) == NULL)
		return bc_err_sys(err, "http stream");
	bc_http1_parser_init(s->p, false);
	s->on_status = rq->on_status;
	s->on_body = rq->on_body;
	s->ud = rq->ud;
	if (bc_http1_conn_init(&s->conn, sock, err) < 0 ||
	    (req = build_request(rq, &len, err)) == NULL)
		goto out;
	if (conn_open(&s->conn, rq->connect_timeout_ms, err) == 0 &&
	    send_all(s->conn.fd, req, len, deadline, err) == 0)
		rc = 0;
	explicit_bzero(req, len);
	free(req);
out:
	if (rc < 0)
		bc_http1_stream_close(s);
	return rc;
}

static int
stream_bytes(void *ud, const char *d, size_t n)
{
	bc_http1_stream *s = ud;

	if (!s->told && s->p->status != 0) {
		s->told = true;
		if (s->on_status != NULL)
			s->on_status(s->ud, s->p->status);
	}
	if (d == NULL) /* only the status, at the end */
		return 0;
	return s->on_body ? s->on_body(s->ud, d, n) : 0;
}

int
bc_http1_stream_read(bc_http1_stream *s, bc_err *err)
{
	char buf[16384];

	if (s->conn.fd < 0)
		return bc_err_set(err, BC_EINVAL, "http stream: not open");
	for (int i = 0; i < (s->budget > 0 ? s->budget : 64); i++) { /* then the loop's turn */
		ssize_t r = recv(s->conn.fd, buf, sizeof(buf), MSG_DONTWAIT);
		size_t used;
		int f;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r < 0)
			return bc_err_sys(err, "http stream: receive");
		if (r == 0) {
			if (bc_http1_eof(s->p, err) < 0)
				return -1;
			stream_bytes(s, NULL, 0);
			return 1;
		}
		f = bc_http1_feed(s->p, buf, (size_t)r, &used, stream_bytes, s, err);
		if (f < 0)
			return -1;
		if (f == 1) {
			stream_bytes(s, NULL, 0);
			return 1;
		}
		if (f == 2)
			return 2;
	}
	return 0;
}

void
bc_http1_stream_close(bc_http1_stream *s)
{
	bc_http1_conn_close(&s->conn);
	free(s->p);
	s->p = NULL;
}
