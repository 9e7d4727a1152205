/* A small HTTP/1.1 client for the Docker engine's unix socket: what
 * lib/docker needs and nothing more (no TLS, no redirects, no auth, no
 * compression), so the daemons that talk only to Docker do not load libcurl
 * and the TLS stack it brings (bench/footprint: about 8 MiB resident each).
 *
 * The response parser is incremental, strict and bounded (status line and
 * headers at most BC_HTTP1_MAX_HEAD bytes; Content-Length, chunked or
 * close-delimited bodies; 1xx responses skipped) and has no I/O, so it is
 * unit-tested and fuzzed on its own (tests/fuzz/fuzz_http1.c). */
#ifndef BC_HTTP1_H
#define BC_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"

#define BC_HTTP1_MAX_HEAD 16384 /* status line + headers of one response */
#define BC_HTTP1_MAX_LINE 1024	/* a chunk-size line or a trailer line */

/* Body bytes as they come: return 0 to go on, 1 to stop (the transfer
 * ends, not an error), -1 to fail (err filled by the callback). */
typedef int (*bc_http1_body_fn)(void *ud, const char *p, size_t n);

typedef struct bc_http1_parser {
	int state;
	bool head;	   /* the request was HEAD: no body whatever the headers say */
	long status;	   /* the final (non-1xx) status, once known */
	bool chunked;	   /* Transfer-Encoding: chunked */
	bool have_length;  /* Content-Length given */
	bool close;	   /* Connection: close, or a close-delimited body */
	uint64_t left;	   /* body or chunk bytes still to come */
	/* Optional, set after init: each header of the final response as the
	 * head is read (name and value trimmed, valid until it returns; a head
	 * found malformed later fails all the same). */
	void (*on_header)(void *ud, const char *name, const char *value);
	void *hud;
	char line[BC_HTTP1_MAX_HEAD];
	size_t n; /* bytes in line */
} bc_http1_parser;

/* head: the request was a HEAD. */
void bc_http1_parser_init(bc_http1_parser *p, bool head);

/* Feed bytes of the response. Body bytes go to fn (may be NULL). Returns
 * 0 when more is wanted, 1 when the response is complete (*used: how many
 * of the bytes it took; the rest belongs to no response of ours), 2 when fn
 * asked to stop, -1 on a malformed response (err says what). */
int bc_http1_feed(bc_http1_parser *p, const char *data, size_t len, size_t *used,
		  bc_http1_body_fn fn, void *ud, bc_err *err);

/* The peer closed the connection: 1 when that completes the response (a
 * close-delimited body), -1 (err) when the response was cut short. */
int bc_http1_eof(bc_http1_parser *p, bc_err *err);

/* A connection to a unix socket, kept alive across requests. */
typedef struct bc_http1_conn {
	int fd; /* -1: not connected */
	char sock[108];
} bc_http1_conn;

/* Set up (not yet connected). */
int bc_http1_conn_init(bc_http1_conn *c, const char *sock, bc_err *err);
void bc_http1_conn_close(bc_http1_conn *c);

typedef struct bc_http1_req {
	const char *method, *path;
	const char *headers; /* extra "Name: value\r\n" lines, or NULL; may hold a
				secret: the request buffer is wiped after sending */
	const char *body;    /* may be NULL */
	size_t body_len;
	int timeout_ms;	     /* the whole exchange; 0: none (streams) */
	int connect_timeout_ms;
	void (*on_status)(void *ud, long status); /* before any body byte; may be NULL */
	bc_http1_body_fn on_body;		  /* may be NULL */
	void *ud;
} bc_http1_req;

/* One request and its whole response. Returns 0 when the response is
 * complete, 1 when on_body asked to stop, -1 on error (err: BC_ETIMEOUT,
 * BC_ESYS for the socket, BC_EPROTO for a malformed response, or the
 * callback's). A kept-alive connection the engine had closed is opened
 * again once, transparently. */
int bc_http1_request(bc_http1_conn *c, const bc_http1_req *rq, bc_err *err);

/* A response read by the caller's loop, for streams that never end (Docker's
 * events): open connects and sends (short: a unix socket), then read takes
 * whatever has come, without blocking, whenever the fd is readable. */
typedef struct bc_http1_stream {
	bc_http1_conn conn; /* conn.fd: what to poll */
	bc_http1_parser *p; /* owned */
	bool told;	    /* on_status was called */
	void (*on_status)(void *ud, long status);
	bc_http1_body_fn on_body;
	void *ud;
	int budget; /* receives (16 KiB each) per read, then the loop's turn; 0: 64 */
} bc_http1_stream;

/* rq's callbacks and ud are kept (its timeout_ms is ignored: a stream has
 * none). Returns 0, or -1 with err (s is then closed). */
int bc_http1_stream_open(bc_http1_stream *s, const char *sock, const bc_http1_req *rq,
			 bc_err *err);
/* Returns 0 when more may come (nothing is waiting now), 1 when the
 * response is complete (the peer ended it), 2 when on_body asked to stop,
 * -1 on error (err). on_status/on_body run in here. */
int bc_http1_stream_read(bc_http1_stream *s, bc_err *err);
/* Close the connection; s may be opened again. */
void bc_http1_stream_close(bc_http1_stream *s);

#endif
