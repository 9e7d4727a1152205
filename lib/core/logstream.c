#include "lib/core/logstream.h"

#include "lib/base/clock.h"

_Static_assert(BC_LS_COALESCE_MS < BC_LS_FLUSH_MS, "a line must go out within BC_LS_FLUSH_MS");

uint64_t
bc_ls_due(const bc_logstream *s, const bc_ls_queue *q)
{
	switch (s->state) {
	case BC_LS_OFF:
		return s->config_at ? s->config_at : UINT64_MAX;
	case BC_LS_IDLE:
		return q->unsent ? s->retry_at : UINT64_MAX;
	case BC_LS_STREAMING:
		if (s->writing)
			return UINT64_MAX;
		if (q->unsent) /* a full write at once, else a little later (fewer,
				  larger writes), never more than FLUSH_MS later */
			return q->full ? 0 : s->last_write + BC_LS_COALESCE_MS;
		return s->last_write + BC_LS_IDLE_CLOSE_MS;
	case BC_LS_CLOSING:
		return s->writing ? UINT64_MAX : s->close_deadline;
	default:
		return UINT64_MAX;
	}
}

enum bc_ls_action
bc_ls_fire(bc_logstream *s, const bc_ls_queue *q)
{
	switch (s->state) {
	case BC_LS_OFF:
		s->config_at = 0;
		return BC_LS_READ_CONFIG;
	case BC_LS_IDLE:
		s->retry_at = 0;
		return BC_LS_OPEN;
	case BC_LS_STREAMING:
		if (s->writing)
			return BC_LS_NOTHING;
		if (q->unsent)
			return BC_LS_WRITE;
		s->state = BC_LS_CLOSING; /* a minute with nothing: end the body */
		return BC_LS_END_BODY;
	case BC_LS_CLOSING:
		return s->writing ? BC_LS_NOTHING : BC_LS_GIVE_UP;
	default:
		return BC_LS_NOTHING;
	}
}

void
bc_ls_config(bc_logstream *s, bool cloud, bool registered, uint64_t now)
{
	s->state = cloud && registered ? BC_LS_IDLE : BC_LS_OFF;
	s->config_at = cloud && !registered ? now + BC_LS_CONFIG_AGAIN_MS : 0;
}

void
bc_ls_connecting(bc_logstream *s)
{
	s->state = BC_LS_CONNECTING;
}

void
bc_ls_connected(bc_logstream *s, uint64_t now)
{
	s->state = BC_LS_STREAMING;
	s->connected_at = now;
}

void
bc_ls_write_started(bc_logstream *s, uint64_t now)
{
	s->writing = true;
	s->write_started = now;
}

void
bc_ls_write_done(bc_logstream *s, uint64_t now)
{
	s->writing = false;
	s->last_write = now;
	if (now - s->connected_at > BC_LS_IDLE_CLOSE_MS)
		s->failures = 0;       /* up for a while: the cloud takes what we send */
	if (s->state == BC_LS_CLOSING) /* the body has ended: the cloud answers now */
		s->close_deadline = now + BC_LS_ANSWER_MS;
}

bool
bc_ls_answered_well(bc_logstream *s, long status)
{
	if (s->state != BC_LS_CLOSING || (status != 200 && status != 201))
		return false;
	s->failures = 0;
	return true;
}

uint64_t
bc_ls_hung_up(bc_logstream *s, bool failed, uint64_t now, bool *say)
{
	uint64_t wait = 0;

	s->state = BC_LS_IDLE;
	s->writing = false;
	*say = false;
	if (failed) {
		wait = bc_doubling_ms(s->failures, BC_LS_BACKOFF_MIN_MS, BC_LS_BACKOFF_MAX_MS);
		s->retry_at = now + wait;
		*say = s->failures++ % 10 == 0;
	}
	return wait;
}

bool
bc_ls_holds(const bc_logstream *s, const bc_ls_queue *q, uint64_t now)
{
	/* the cloud takes what we send, only not yet this: the reading waits
	 * (the engine keeps the lines) rather than drop; a stream that does
	 * not move for PACE_MS is slow, and the buffer drops for it instead */
	return s->state == BC_LS_STREAMING && q->behind &&
	       (!s->writing /* its next write starts in this turn of the loop */ ||
		now - s->write_started < BC_LS_PACE_MS);
}

uint64_t
bc_ls_hold_until(const bc_logstream *s, uint64_t now)
{
	return s->writing ? s->write_started + BC_LS_PACE_MS : now + BC_LS_PACE_MS;
}
