/* A growable byte buffer with a hard upper bound. */
#ifndef BC_BUF_H
#define BC_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/base/err.h"

typedef struct bc_buf {
	char *data; /* owned; always NUL-terminated when len > 0 or after bc_buf_cstr */
	size_t len;
	size_t cap;
	size_t max; /* 0 = BC_BUF_DEFAULT_MAX */
} bc_buf;

#define BC_BUF_DEFAULT_MAX ((size_t)64 << 20)

/* Append n bytes; fails with BC_ETOOBIG past b->max. */
int bc_buf_add(bc_buf *b, const void *p, size_t n, bc_err *err);
/* The contents as a C string (never NULL; owned by b). */
const char *bc_buf_cstr(bc_buf *b);
/* Drop the first n bytes. */
void bc_buf_consume(bc_buf *b, size_t n);
void bc_buf_reset(bc_buf *b);
/* Append all that is left of f (until EOF), bounded by b->max as
 * bc_buf_add is (BC_ETOOBIG). */
int bc_buf_read(bc_buf *b, FILE *f, bc_err *err);
void bc_buf_free(bc_buf *b);

#endif
