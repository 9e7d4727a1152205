/* Log records: what a container printed (or what the suite says), cut into
 * lines, stamped and made safe to forward. Pure: no I/O, so it is unit-tested
 * and fuzzed (tests/fuzz/fuzz_logline.c) on its own.
 *
 * Docker's logs (timestamps=1) come as "<RFC 3339 time, ns> <text>\n" per
 * line, in frames that may cut a line anywhere (bc_logsplit joins them). A
 * message is made valid UTF-8 (a bad byte becomes U+FFFD), loses its
 * trailing CR, and is cut at BC_LOG_MAX_CHARS characters with a marker. */
#ifndef BC_LOG_RECORD_H
#define BC_LOG_RECORD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/buf.h"
#include "lib/base/err.h"

#define BC_LOG_MAX_CHARS 10000 /* the cloud's limit, in characters */
#define BC_LOG_CUT_MARKER " [cut: longer than 10000 characters]"
/* the most bytes a line may take before it is cut: 4 bytes a character,
 * a timestamp and a CR */
#define BC_LOG_MAX_LINE (4 * BC_LOG_MAX_CHARS + 64)

typedef struct bc_logrec {
	uint64_t seq;	    /* the logger's order, from 1 in each run */
	int64_t ts_ns;	    /* when it was printed (Docker's clock), ns since 1970 */
	uint32_t nth;	    /* the container's records before it with this ts_ns */
	int64_t app_id;	    /* 0: the device (a system message of no app) */
	int64_t service_id; /* 0: none */
	char *service;	    /* owned: the service's name, or NULL */
	char container[16]; /* 12 hex digits; "" for a system message */
	bool is_stderr;
	bool is_system;
	bool local;    /* history read again at start: the local view's only,
			  never the cloud's (it had it before) */
	char *message; /* owned: valid UTF-8, cut as above */
} bc_logrec;

void bc_logrec_free(bc_logrec *r);

/* Joins one stream's frames into lines. Bytes beyond BC_LOG_MAX_LINE in a
 * line are dropped (the line is then marked cut). */
typedef struct bc_logsplit {
	bc_buf line; /* owned */
	bool cut;
} bc_logsplit;

/* Called for each whole line (no LF); p is valid during the call. Return
 * 0 to go on, non-zero to stop. */
typedef int (*bc_logline_fn)(void *ud, const char *p, size_t n, bool cut);

/* Feed len bytes. Returns 0, or what fn returned (non-zero: stopped; the
 * rest of data is dropped). */
int bc_logsplit_feed(bc_logsplit *ls, const char *data, size_t len, bc_logline_fn fn, void *ud);
void bc_logsplit_free(bc_logsplit *ls);

/* A log line's time and text: bc_parse_rfc3339 (lib/base/clock.h). */

/* The message of text (n bytes): valid UTF-8, a trailing CR dropped, cut at
 * BC_LOG_MAX_CHARS characters with BC_LOG_CUT_MARKER (also when cut is
 * true: the line was cut before). Returns an owned string, or NULL when out
 * of memory. */
char *bc_log_message(const char *text, size_t n, bool cut);

/* The next record's place among its container's records of the same time
 * (pass the same state for a whole stream, zeroed at its start). */
typedef struct bc_lognth {
	int64_t ts_ns;
	uint32_t n;
} bc_lognth;
uint32_t bc_lognth_next(bc_lognth *st, int64_t ts_ns);

/* Where a container's delivered records end: every record at or before
 * ts_ns, and the first n at ts_ns exactly. A record (ts_ns, nth) is new when
 * it is past that. */
typedef struct bc_logcursor {
	int64_t ts_ns;
	uint32_t n;
} bc_logcursor;
/* One entry of the logger's cursor file (log-cursors.json, read at start):
 * id a container id (64 lowercase hex), v {"out": {"ts": "<ns, decimal>",
 * "n": N}, "err": {...}}. 0 with c[0] (stdout) and c[1] (stderr), or -1
 * when anything in it is not so (that container is read from its start). */
int bc_logcursor_entry(const char *id, const json_t *v, bc_logcursor c[2]);
bool bc_logcursor_is_new(const bc_logcursor *c, int64_t ts_ns, uint32_t nth);
/* The cursor moves past (ts_ns, nth). */
void bc_logcursor_advance(bc_logcursor *c, int64_t ts_ns, uint32_t nth);
/* Docker's since= for a cursor: "<s>.<9 digits>" (inclusive: the records
 * at ts_ns come again and bc_logcursor_is_new drops those delivered). */
void bc_logcursor_since(const bc_logcursor *c, char *out, size_t n);

/* The cloud's form, one line with its LF: {"message", "timestamp" (ms),
 * "isStdErr"?, "serviceId"} or {"message", "timestamp", "isSystem": true}.
 * with_names adds "appId", "serviceName" and "nanos" (the local tail's
 * --json). Appended to out; 0, or -1 with err (out's bound). */
int bc_logrec_json(const bc_logrec *r, bool with_names, bc_buf *out, bc_err *err);

#endif
