#include "lib/core/gateway.h"

#include "lib/cloud/report.h"

void
bc_gw_poll_init(bc_gw_poll *p, uint64_t interval_ms, uint64_t now)
{
	*p = (bc_gw_poll){.interval_ms = interval_ms, .next = now};
}

uint64_t
bc_gw_poll_due(const bc_gw_poll *p, bool active)
{
	return active && !p->busy ? p->next : UINT64_MAX;
}

void
bc_gw_poll_sent(bc_gw_poll *p, uint64_t now)
{
	p->next = UINT64_MAX;
	p->n_asked = p->n_waiters;
	p->busy = p->out = true;
	p->started = now;
}

void
bc_gw_poll_now(bc_gw_poll *p, uint64_t now)
{
	if (p->busy)
		p->again = true;
	else
		p->next = now;
}

int
bc_gw_poll_ask(bc_gw_poll *p, uint64_t now)
{
	if (p->n_waiters == BC_GW_MAX_WAITERS)
		return -1;
	p->n_waiters++;
	bc_gw_poll_now(p, now);
	if (p->out && !p->restart && now - p->started > BC_GW_POLL_STALE_MS) {
		p->restart = true;
		return 1;
	}
	return 0;
}

void
bc_gw_poll_answered(bc_gw_poll *p)
{
	p->out = false;
}

void
bc_gw_poll_given_up(bc_gw_poll *p, uint64_t now)
{
	p->busy = p->out = p->restart = p->again = false;
	p->n_asked = 0;
	p->next = now;
}

size_t
bc_gw_poll_ended(bc_gw_poll *p, bool ok, uint64_t now, uint64_t jitter)
{
	size_t n = p->n_asked;

	if (ok) {
		p->errors = 0;
		p->next = now + p->interval_ms + jitter % BC_GW_JITTER_MS;
	} else {
		p->next = now + bc_cloud_backoff_ms(p->errors++, 0, p->interval_ms);
	}
	p->busy = p->out = p->restart = false;
	if (p->again) {
		/* asked for while this poll ran: the cloud may have changed since */
		p->again = false;
		p->next = now;
	}
	/* who asked while it ran gets the next poll: this one was sent before */
	p->n_waiters -= n;
	p->n_asked = 0;
	return n;
}

enum bc_gw_poll_verdict
bc_gw_poll_verdict(const bc_gw_poll *p, const bc_gw_answer *a)
{
	if (p->restart && a->cancelled)
		return BC_GW_POLL_GIVEN_UP;
	if (a->too_large)
		return BC_GW_POLL_TOO_LARGE;
	if (!a->answered)
		return BC_GW_POLL_UNREACHABLE;
	if (a->status == 304 && a->etag_refused)
		return BC_GW_POLL_STILL_REFUSED;
	if (a->status == 304)
		return a->have_target ? BC_GW_POLL_UNCHANGED : BC_GW_POLL_UNKNOWN;
	if (a->status == 200)
		return BC_GW_POLL_NEW;
	return BC_GW_POLL_FAILED;
}

bool
bc_gw_poll_verdict_ok(enum bc_gw_poll_verdict v)
{
	return v == BC_GW_POLL_STILL_REFUSED || v == BC_GW_POLL_UNCHANGED || v == BC_GW_POLL_NEW;
}

bool
bc_gw_poll_verdict_error(enum bc_gw_poll_verdict v)
{
	return v != BC_GW_POLL_UNCHANGED && v != BC_GW_POLL_NEW && v != BC_GW_POLL_GIVEN_UP;
}

void
bc_gw_report_init(bc_gw_report *r, uint64_t cap_ms)
{
	*r = (bc_gw_report){.cap_ms = cap_ms, .next = UINT64_MAX};
}

uint64_t
bc_gw_report_due(const bc_gw_report *r, bool active)
{
	return active && !r->busy ? r->next : UINT64_MAX;
}

void
bc_gw_report_soon(bc_gw_report *r, uint64_t at)
{
	if (r->errors > 0)
		return; /* a backoff is running: it sends what is new then */
	if (at < r->next)
		r->next = at;
}

void
bc_gw_report_sent(bc_gw_report *r)
{
	r->next = UINT64_MAX;
	r->busy = true;
}

void
bc_gw_report_not_sent(bc_gw_report *r, uint64_t now, uint64_t retry_ms)
{
	r->busy = false;
	r->next = now + retry_ms;
}

void
bc_gw_report_nothing(bc_gw_report *r)
{
	r->next = UINT64_MAX; /* never an empty report */
}

void
bc_gw_report_accepted(bc_gw_report *r, uint64_t now)
{
	r->busy = false;
	r->errors = 0;
	r->last_sent = now;
}

uint64_t
bc_gw_report_failed(bc_gw_report *r, uint64_t now, long retry_after_s)
{
	uint64_t wait = bc_cloud_backoff_ms(r->errors++, retry_after_s, r->cap_ms);

	r->busy = false;
	r->next = now + wait;
	return wait;
}

enum bc_gw_prov_next
bc_gw_prov_after_register(bool answered, long status, int64_t id)
{
	if (answered && status == 201)
		return id > 0 ? BC_GW_PROV_REGISTERED : BC_GW_PROV_RETRY;
	if (answered && status == 409)
		return BC_GW_PROV_LOOKUP; /* registered before (a restart mid-way)? */
	return BC_GW_PROV_RETRY;
}

enum bc_gw_prov_next
bc_gw_prov_after_lookup(bool answered, long status, int64_t id)
{
	if (!answered || status != 200)
		return BC_GW_PROV_RETRY;
	/* ours (an earlier registration), else the uuid is someone else's or
	 * ours with another key: start over with a new identity, as the
	 * supervisor does */
	return id > 0 ? BC_GW_PROV_REGISTERED : BC_GW_PROV_NEW_IDENTITY;
}
