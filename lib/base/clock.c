#include "lib/base/clock.h"

#include <stdint.h>
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

static int
digits(const char *p, size_t n, int *out)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

int
bc_parse_rfc3339(const char *p, size_t n, int64_t *ts_ns, size_t *off, bc_err *err)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, s, oh = 0, om = 0;
	int64_t frac = 0, secs;
	size_t i = 19, nd = 0;

	/* 2026-11-29T14:40:57 */
	if (n < 20 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':' ||
	    digits(p, 4, &y) < 0 || digits(p + 5, 2, &mo) < 0 || digits(p + 8, 2, &d) < 0 ||
	    digits(p + 11, 2, &h) < 0 || digits(p + 14, 2, &mi) < 0 || digits(p + 17, 2, &s) < 0 ||
	    mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1970)
		return bc_err_set(err, BC_EPROTO, "no timestamp");
	if (p[i] == '.') {
		for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++, nd++) {
			if (nd >= 9)
				return bc_err_set(err, BC_EPROTO, "a timestamp finer than 1 ns");
			frac = frac * 10 + (p[i] - '0');
		}
		if (nd == 0)
			return bc_err_set(err, BC_EPROTO, "a timestamp with an empty fraction");
		for (; nd < 9; nd++)
			frac *= 10;
	}
	if (i < n && p[i] == 'Z') {
		i++;
	} else if (i + 6 <= n && (p[i] == '+' || p[i] == '-') && p[i + 3] == ':' &&
		   digits(p + i + 1, 2, &oh) == 0 && digits(p + i + 4, 2, &om) == 0 && oh < 24 &&
		   om < 60) {
		if (p[i] == '-')
			oh = -oh, om = -om;
		i += 6;
	} else {
		return bc_err_set(err, BC_EPROTO, "a timestamp without a zone");
	}
	if (i < n && p[i] != ' ')
		return bc_err_set(err, BC_EPROTO, "a timestamp not followed by a space");
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	secs = (int64_t)timegm(&tm) - (int64_t)oh * 3600 - (int64_t)om * 60;
	if (secs < 0 || secs > INT64_MAX / 1000000000 - 1)
		return bc_err_set(err, BC_EPROTO, "a timestamp out of range");
	*ts_ns = secs * 1000000000 + frac;
	*off = i < n ? i + 1 : i;
	return 0;
}
