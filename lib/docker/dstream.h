/* Decoders for the two stream formats the Docker Engine API sends, fed in
 * arbitrary chunks as they arrive. Both are strict and bounded; neither does
 * I/O. */
#ifndef BC_DSTREAM_H
#define BC_DSTREAM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/buf.h"

/* --- multiplexed stdout/stderr (logs and attach of a non-TTY container) ---
 * Each frame: 8-byte header [stream, 0, 0, 0, size as big-endian u32], then
 * size bytes. Stream 0 stdin, 1 stdout, 2 stderr, 3 systemerr (API >= 1.42). */

#define BC_DEMUX_MAX_FRAME ((size_t)1 << 20)

/* Called once per whole frame; data is valid only during the call.
 * Return 0 to go on, non-zero to stop the stream (not an error). */
typedef int (*bc_frame_fn)(void *ud, int stream, const char *data, size_t len);

typedef struct bc_demux {
	uint8_t hdr[8];
	size_t hdr_have;
	size_t want; /* payload bytes still missing for the current frame */
	int stream;
	bc_buf payload; /* owned; bc_demux_free */
} bc_demux;

/* Feed len bytes. Returns 0, 1 when fn asked to stop, or -1 with err on a
 * malformed header or a frame larger than BC_DEMUX_MAX_FRAME. */
int bc_demux_feed(bc_demux *dm, const char *data, size_t len, bc_frame_fn fn, void *ud,
		  bc_err *err);
/* At end of stream: -1 if a frame was cut short, else 0. */
int bc_demux_finish(const bc_demux *dm, bc_err *err);
void bc_demux_free(bc_demux *dm);

/* --- newline-delimited JSON (events, pull progress) --- */

#define BC_JSONL_MAX_LINE ((size_t)256 << 10)

/* obj is borrowed: valid during the call only. Return 0 to go on, non-zero
 * to stop. */
typedef int (*bc_json_fn)(void *ud, json_t *obj);

typedef struct bc_jsonl {
	bc_buf line; /* owned; bc_jsonl_free */
} bc_jsonl;

/* Feed len bytes; each complete line that is not blank must be one JSON
 * object. Returns 0, 1 when fn asked to stop, or -1 with err. */
int bc_jsonl_feed(bc_jsonl *jl, const char *data, size_t len, bc_json_fn fn, void *ud, bc_err *err);
/* At end of stream: parse a last line that had no newline. */
int bc_jsonl_finish(bc_jsonl *jl, bc_json_fn fn, void *ud, bc_err *err);
void bc_jsonl_free(bc_jsonl *jl);

#endif
