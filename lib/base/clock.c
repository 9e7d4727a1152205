#include "lib/base/clock.h"

#include <time.h>

static uint64_t
ms_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
bc_mono_ms(void)
{
	return ms_of(CLOCK_MONOTONIC);
}

uint64_t
bc_wall_ms(void)
{
	return ms_of(CLOCK_REALTIME);
}

uint64_t
bc_doubling_ms(unsigned n, uint64_t base_ms, uint64_t cap_ms)
{
	uint64_t d = base_ms;

	for (unsigned i = 0; i < n && d < cap_ms; i++)
		d *= 2;
	return d < cap_ms ? d : cap_ms;
}
