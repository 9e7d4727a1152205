/* Pulls that failed, per image: the next try waits, doubling from
 * BC_PULL_BACKOFF_MIN_MS up to a cap (the cloud's poll interval), so a
 * missing image is not asked for, nor its "Downloading image" / "Failed to
 * download" told to the device's log, every round. A pull of the image
 * that works, or a new target, starts it over. Pure: no I/O, no lock;
 * times are the caller's (monotonic and wall ms). A table has one writer;
 * a copy (bc_pull_backoff_copy) is read by any number of threads while
 * nothing writes it. */
#ifndef BC_FETCH_BACKOFF_H
#define BC_FETCH_BACKOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BC_PULL_BACKOFF_MIN_MS 2000
#define BC_PULL_BACKOFF_MAX_IMAGES 256 /* past it, the oldest-due entry goes */

typedef struct bc_pull_backoff_entry {
	char *image;	/* owned */
	char *error;	/* the last failure's words, owned */
	unsigned fails; /* in a row */
	uint64_t at;	/* the next try, monotonic ms */
} bc_pull_backoff_entry;

/* Zeroed: empty. Free with bc_pull_backoff_clear. */
typedef struct bc_pull_backoff {
	bc_pull_backoff_entry *v; /* owned */
	size_t n, cap;
} bc_pull_backoff;

/* Empty the table (it can be used again). */
void bc_pull_backoff_clear(bc_pull_backoff *t);

/* A copy of from into *to (empty before; the caller's, cleared with
 * bc_pull_backoff_clear): -1 when out of memory (*to left empty). */
int bc_pull_backoff_copy(bc_pull_backoff *to, const bc_pull_backoff *from);

/* Is a pull of image to wait (now_mono before its next try)? Then why is
 * its last failure and when the next try is, in words: "pull failed 3
 * time(s), last: <error>; next try at 2026-01-01T10:00:00Z (in 8 s)". */
bool bc_pull_backoff_waits(const bc_pull_backoff *t, const char *image, uint64_t now_mono,
			   uint64_t now_wall_ms, char *why, size_t n);

/* When the next try of image would be if a pull of it failed now:
 * min(BC_PULL_BACKOFF_MIN_MS x 2^(failures-1), cap_ms) from now_mono
 * (a cap below the first wait still waits the first). The words of it
 * ("next try at ... (in N s)") into when (may be NULL). Changes nothing. */
uint64_t bc_pull_backoff_after(const bc_pull_backoff *t, const char *image, uint64_t now_mono,
			       uint64_t now_wall_ms, uint64_t cap_ms, char *when, size_t n);

/* A pull of image failed (error: why, may be NULL): its next try is
 * bc_pull_backoff_after's. The words of when into when (may be NULL).
 * Out of memory: the entry is left as it was. */
void bc_pull_backoff_failed(bc_pull_backoff *t, const char *image, const char *error,
			    uint64_t now_mono, uint64_t now_wall_ms, uint64_t cap_ms, char *when,
			    size_t n);

/* A pull of image worked: it waits no more. */
void bc_pull_backoff_ok(bc_pull_backoff *t, const char *image);

/* The earliest next try in the table (UINT64_MAX: none). */
uint64_t bc_pull_backoff_next(const bc_pull_backoff *t);

/* image's entry, or NULL. Borrowed. */
const bc_pull_backoff_entry *bc_pull_backoff_get(const bc_pull_backoff *t, const char *image);

#endif
