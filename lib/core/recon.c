#include "lib/core/recon.h"

#include "lib/base/clock.h"

void
bc_recon_init(bc_recon *c, bool has_target)
{
	*c = (bc_recon){.has_target = has_target, .generation = 1};
	if (!has_target) {
		c->done_gen = 1;
		c->settled = true;
	}
}

uint64_t
bc_recon_due(const bc_recon *c)
{
	if (c->running || c->stopping || !c->has_target)
		return UINT64_MAX;
	if (c->generation != c->done_gen || c->wake)
		return 0;
	if (!c->settled) /* waiting on a timer (hand-over) or retrying an error */
		return c->retry_at;
	return UINT64_MAX;
}

void
bc_recon_sent(bc_recon *c)
{
	c->running = true;
	c->wake = false;
}

void
bc_recon_not_sent(bc_recon *c, uint64_t now)
{
	c->running = false;
	c->retry_at = now + BC_RECON_RETRY_MS;
}

bool
bc_recon_ended(bc_recon *c, uint64_t gen, int rc, bool settled, uint64_t now)
{
	c->done_gen = gen;
	c->settled = rc == 0 && settled;
	if (c->settled && c->generation == gen)
		c->force = false; /* --force lasts until its target settles */
	c->failures = rc < 0 ? c->failures + 1 : 0;
	c->retry_at = now + (rc < 0	  ? bc_doubling_ms(c->failures - 1, BC_RECON_RETRY_MS,
							   BC_RECON_BACKOFF_MAX_MS)
			     : c->settled ? 0
					  : BC_RECON_RETRY_MS);
	return c->settled;
}

void
bc_recon_gone(bc_recon *c)
{
	c->running = false;
}

uint64_t
bc_recon_applied(bc_recon *c, bool force)
{
	c->has_target = true;
	if (force)
		c->force = true;
	return ++c->generation;
}

uint64_t
bc_recon_downed(bc_recon *c)
{
	return ++c->generation;
}

bool
bc_recon_purge_add(bc_recon *c, int64_t app)
{
	for (size_t i = 0; i < c->n_purge; i++)
		if (c->purge[i] == app)
			return false;
	if (c->n_purge == BC_STATE_MAX_APPS)
		return false;
	c->purge[c->n_purge++] = app;
	return true;
}

bool
bc_recon_purge_prune(bc_recon *c, bool (*keep)(void *ud, int64_t app), void *ud)
{
	size_t n = 0;
	bool changed = false;

	for (size_t i = 0; i < c->n_purge; i++) {
		if (keep(ud, c->purge[i]))
			c->purge[n++] = c->purge[i];
		else
			changed = true;
	}
	c->n_purge = n;
	return changed;
}

bool
bc_recon_say_locked(bc_recon *c, int64_t app, bool ok, bool locked)
{
	size_t i;

	for (i = 0; i < c->n_said; i++)
		if (c->said[i] == app)
			break;
	if (ok && i < c->n_said) { /* the wait is over */
		c->said[i] = c->said[--c->n_said];
		i = c->n_said; /* not said now */
	}
	if (!locked || i < c->n_said)
		return false;
	if (c->n_said < BC_RECON_MAX_SAID)
		c->said[c->n_said++] = app;
	return true;
}
