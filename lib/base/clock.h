/* The two clocks the suite uses, one copy each. */
#ifndef BC_CLOCK_H
#define BC_CLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC: for deadlines and durations. */
uint64_t bc_mono_ms(void);

/* Milliseconds since the epoch (CLOCK_REALTIME): for what is compared with
 * Docker's wall-clock times (hand-over timeouts). */
uint64_t bc_wall_ms(void);

#endif
