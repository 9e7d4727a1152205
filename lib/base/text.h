/* Text from apps, the cloud and the network on its way to a person's
 * terminal: made safe (bc_tame) or visible (bc_visible). Depends on
 * nothing of ours: errors and log lines (err.c, log.c) use it. */
#ifndef BC_TEXT_H
#define BC_TEXT_H

#include <stdbool.h>
#include <stddef.h>

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

/* A status line: "<UTC time> " then fmt with what (one %s), into out (n
 * bytes), made safe with bc_tame (what may be the cloud's words). */
void bc_status_line(char *out, size_t n, const char *fmt, const char *what);

/* s percent-encoded for a URL's query or path (all but [A-Za-z0-9-_.~]):
 * the caller's to free; NULL when out of memory. */
char *bc_pct_encode(const char *s);

/* A tar (ustar) header's name: path (no leading '/') split into a prefix
 * of at most 155 bytes and a name of at most 100: the index of the '/'
 * that ends the prefix, -1 when the name alone holds it, -2 when it cannot
 * be held. bc_tar_name_fits: can it (a leading '/' skipped)? */
int bc_tar_name_split(const char *path);
bool bc_tar_name_fits(const char *path);

#endif
