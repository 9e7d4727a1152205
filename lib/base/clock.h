/* The two clocks the suite uses, one copy each. */
#ifndef BC_CLOCK_H
#define BC_CLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC: for deadlines and durations. */
uint64_t bc_mono_ms(void);

/* Milliseconds since the epoch (CLOCK_REALTIME): for what is compared with
 * Docker's wall-clock times (hand-over timeouts). */
uint64_t bc_wall_ms(void);

/* min(base_ms x 2^n, cap_ms): the waits of a retry that doubles (the
 * cloud's backoffs use it as it is; the fetcher's adds jitter). */
uint64_t bc_doubling_ms(unsigned n, uint64_t base_ms, uint64_t cap_ms);

#endif
