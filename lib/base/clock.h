/* The two clocks the suite uses, one copy each. */
#ifndef BC_CLOCK_H
#define BC_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"

/* Milliseconds of CLOCK_MONOTONIC: for deadlines and durations. */
uint64_t bc_mono_ms(void);

/* Milliseconds since the epoch (CLOCK_REALTIME): for what is compared with
 * Docker's wall-clock times (hand-over timeouts). */
uint64_t bc_wall_ms(void);

/* min(base_ms x 2^n, cap_ms): the waits of a retry that doubles (the
 * cloud's backoffs use it as it is; the fetcher's adds jitter). */
uint64_t bc_doubling_ms(unsigned n, uint64_t base_ms, uint64_t cap_ms);

/* "2026-11-29T14:40:57.123456789Z text" -> *ts_ns (ns since the epoch),
 * and text at p + *off (the rest). Strict: a full date and time, 0..9
 * fraction digits, Z or +hh:mm / -hh:mm, then one space or the end (as
 * Docker's log lines and its StartedAt give them). Returns 0 or -1 with
 * err. */
int bc_parse_rfc3339(const char *p, size_t n, int64_t *ts_ns, size_t *off, bc_err *err);

#endif
