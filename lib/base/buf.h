/* A growable byte buffer with a hard upper bound. */
#ifndef BC_BUF_H
#define BC_BUF_H

#include <stdbool.h>
#include <stddef.h>

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
void bc_buf_free(bc_buf *b);

/* Make s (NUL-terminated, in place) safe for a terminal: every C0 control
 * but tab, DEL, and the C1 controls in UTF-8 (U+0080..U+009F) become '?'.
 * For text that came from the cloud or an app on its way to a status line. */
void bc_tame(char *s);

/* How n bytes of text look on a terminal, made visible: TAB as it is; LF,
 * CR, ESC as \n \r \e; any other C0 control and DEL as \xHH; the C1
 * controls (UTF-8 U+0080..U+009F) as \u0080..\u009f; a byte that is not
 * part of valid UTF-8 as \xHH; everything else (printable ASCII, valid
 * UTF-8) as it is. Into out (size outn >= 1, NUL-terminated, cut before a
 * sequence that does not fit: never half an escape); returns the length
 * written. When keep_lf, LF stays LF (a stream of lines). */
size_t bc_visible(const char *in, size_t n, char *out, size_t outn, bool keep_lf);

/* Does in (n bytes) need bc_visible (anything it would change)? */
bool bc_visible_needed(const char *in, size_t n, bool keep_lf);

/* s (NUL-terminated, in a buffer of size bytes, at most 1024) made
 * visible in place, cut to fit: what errors, log lines and system
 * messages go through where they are made. */
void bc_visible_in_place(char *s, size_t size, bool keep_lf);

#endif
