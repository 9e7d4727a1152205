#include "lib/core/health.h"

#include <string.h>

void
bc_sick_seen(bc_sick_table *t, const bc_sick_obs *obs, size_t n, uint64_t now)
{
	uint64_t since[BC_SICK_MAX];

	/* in place, touching only what is used: the table is the loop's */
	if (n > BC_SICK_MAX)
		n = BC_SICK_MAX;
	for (size_t i = 0; i < n; i++) {
		since[i] = now;
		for (size_t k = 0; k < t->n; k++)
			if (strcmp(t->v[k].o.container, obs[i].container) == 0)
				since[i] = t->v[k].since; /* still unhealthy: since then */
	}
	for (size_t i = 0; i < n; i++)
		t->v[i] = (bc_sick){.o = obs[i], .since = since[i]};
	t->n = n;
}

size_t
bc_sick_due(bc_sick_table *t, uint64_t now, bc_sick_obs *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n && n < max; i++) {
		bc_sick *s = &t->v[i];
		if (s->o.period_ms == 0 || now < s->since + s->o.period_ms)
			continue;
		out[n++] = s->o;
		s->since = now;
	}
	return n;
}

uint64_t
bc_sick_next(const bc_sick_table *t)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].o.period_ms > 0 && t->v[i].since + t->v[i].o.period_ms < next)
			next = t->v[i].since + t->v[i].o.period_ms;
	return next;
}
