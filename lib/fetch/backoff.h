/* Pulls that failed, per image: the next try waits, doubling from
 * BC_PULL_BACKOFF_MIN_MS up to a cap (the cloud's poll interval), so a
 * missing image is not asked for, nor its "Downloading image" / "Failed to
 * download" told to the device's log, every round. A pull of the image
 * that works, or a new target, starts it over. Pure: no I/O, no lock (the
 * caller holds its own); times are the caller's (monotonic and wall ms).
 *
 * The table: a JSON object, image -> {"n": failures in a row, "at": the
 * next try (monotonic ms), "error": the last failure's words}. */
#ifndef BC_FETCH_BACKOFF_H
#define BC_FETCH_BACKOFF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BC_PULL_BACKOFF_MIN_MS 2000
#define BC_PULL_BACKOFF_MAX_IMAGES 256 /* past it, the oldest-due entry goes */

/* Is a pull of image to wait (now_mono before its next try)? Then why is
 * its last failure and when the next try is, in words: "pull failed 3
 * time(s), last: <error>; next try at 2026-01-01T10:00:00Z (in 8 s)". */
bool bc_pull_backoff_waits(const json_t *table, const char *image, uint64_t now_mono,
			   uint64_t now_wall_ms, char *why, size_t n);

/* A pull of image failed (error: why, may be NULL): its next try is
 * min(BC_PULL_BACKOFF_MIN_MS x 2^(failures-1), cap_ms) from now. The words
 * of when (as above, without the error) into when (may be NULL). */
void bc_pull_backoff_failed(json_t *table, const char *image, const char *error,
			    uint64_t now_mono, uint64_t now_wall_ms, uint64_t cap_ms, char *when,
			    size_t n);

/* A pull of image worked: it waits no more. */
void bc_pull_backoff_ok(json_t *table, const char *image);

/* The earliest next try in the table (UINT64_MAX: none). */
uint64_t bc_pull_backoff_next(const json_t *table);

#endif
