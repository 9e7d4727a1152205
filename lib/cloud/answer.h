/* What the cloud answers one request, read as its bytes come: through the
 * strict, bounded HTTP/1.1 parser (lib/docker/http1.h), the headers the
 * gateway uses kept, the body kept up to max bytes. An answer whose
 * Content-Length says more than max is refused by its head, before a byte
 * of its body is kept; a chunked or close-delimited one when it passes max.
 * No I/O: the gateway feeds it from nng's reads, and
 * tests/fuzz/fuzz_cloud_answer.c feeds it anything, error bodies included. */
#ifndef BC_CLOUD_ANSWER_H
#define BC_CLOUD_ANSWER_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/base/buf.h"
#include "lib/base/err.h"
#include "lib/docker/http1.h"

/* Retry-After the gateway takes: whole seconds, at most 6 digits */
#define BC_ANSWER_RETRY_MAX_DIGITS 6

typedef struct bc_cloud_answer {
	bc_http1_parser parser;
	bc_buf body;	    /* owned: at most max bytes (NUL-terminated when not empty) */
	size_t max;	    /* the largest body taken */
	bool too_big;	    /* the body is (or its head said it is) larger than max */
	char etag[256];	    /* the ETag header, "" when none; a longer one is refused */
	long retry_after_s; /* Retry-After in whole seconds, 0 when none */
} bc_cloud_answer;

/* head: the request was a HEAD (no body whatever the headers say). */
void bc_cloud_answer_init(bc_cloud_answer *a, size_t max, bool head);

/* Feed bytes as they come. Returns 0 when more is wanted, 1 when the
 * answer is whole (a->parser.status and a->body hold it), -1 when it is
 * refused (err says why; a->too_big when for its size). */
int bc_cloud_answer_feed(bc_cloud_answer *a, const char *p, size_t n, bc_err *err);

/* The connection ended: 1 when that ends the answer (a close-delimited
 * body), -1 (err) when it was cut short. */
int bc_cloud_answer_eof(bc_cloud_answer *a, bc_err *err);

/* Frees the body (the struct is the caller's). */
void bc_cloud_answer_free(bc_cloud_answer *a);

#endif
