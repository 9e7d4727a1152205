/* Unhealthy containers restarted, carried out on the loop (the decisions:
 * lib/core/health.h). A round reports the containers it saw unhealthy; the
 * loop keeps since when; one due goes to the next round, which restarts
 * it, and its end is counted here (the state shows the count per service)
 * and said as a system message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "rec.h"

static uint64_t
sick_due(void *ud)
{
	const struct rec *r = ud;
	/* a full queue: the next round takes it, then this is asked again */
	return r->n_restart < BC_SICK_RESTARTS ? bc_sick_next(&r->sick) : UINT64_MAX;
}

static void
sick_fire(void *ud)
{
	struct rec *r = ud;

	/* the due ones go to the next round */
	r->n_restart += bc_sick_due(&r->sick, bc_mono_ms(), r->restart + r->n_restart,
				    BC_SICK_RESTARTS - r->n_restart);
	r->core.wake = true;
}

int
rec_health_start(struct rec *r, bc_err *err)
{
	return bc_daemon_timer(r->d, sick_due, sick_fire, r, err);
}

void
rec_health_seen(struct rec *r, const bc_sick_obs *obs, size_t n)
{
	bc_sick_seen(&r->sick, obs, n, bc_mono_ms());
	if (sick_due(r) <= bc_mono_ms())
		sick_fire(r);
}

void
rec_health_restarted(struct rec *r, const bc_sick_obs *o, bool ok, const char *error)
{
	size_t i;

	if (!ok) {
		log_warnx("restart unhealthy %s (app %lld): %s", o->service, (long long)o->app_id,
			  error);
		return;
	}
	for (i = 0; i < r->n_counts; i++)
		if (r->counts[i].app_id == o->app_id &&
		    strcmp(r->counts[i].service, o->service) == 0)
			break;
	if (i == r->n_counts && r->n_counts < BC_SICK_MAX) {
		r->counts[i].app_id = o->app_id;
		snprintf(r->counts[i].service, sizeof(r->counts[i].service), "%s", o->service);
		r->counts[i].n = 0;
		r->n_counts++;
	}
	if (i < r->n_counts)
		r->counts[i].n++;
	log_info("restarted %s (app %lld): unhealthy for %llu s", o->service, (long long)o->app_id,
		 (unsigned long long)(o->period_ms / 1000));
	bc_daemon_syslog(r->d, o->app_id, o->service,
			 "Restarted service '%s': unhealthy for %llu s", o->service,
			 (unsigned long long)(o->period_ms / 1000));
}

void
rec_health_overlay(const struct rec *r, bc_body_state *st)
{
	for (size_t i = 0; i < r->n_counts; i++) {
		bc_app_rec *a = bc_statebody_find(st, r->counts[i].app_id);
		for (size_t k = 0; a != NULL && k < a->services.n; k++)
			if (strcmp(a->services.v[k].name, r->counts[i].service) == 0)
				a->services.v[k].health_restarts = r->counts[i].n;
	}
}
