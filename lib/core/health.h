/* Unhealthy containers restarted (stock Docker only reports them): the
 * reconciler's table of which containers are unhealthy since when, and
 * which are due a restart. Pure: no I/O, no clock (now comes in, monotonic
 * ms), no thread; services/reconciler restarts them and counts.
 *
 * A container is due when it has been unhealthy for its period without a
 * break (each service's label io.balena-compose.health.restart-after, or
 * BC_UNHEALTHY_RESTART; 0: never). One that is restarted and is still
 * unhealthy afterwards waits a whole period again. An app on trial is not
 * restarted: its update is rolled back instead (lib/core/trial.h). */
#ifndef BC_CORE_HEALTH_H
#define BC_CORE_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BC_SICK_MAX 256		/* containers followed at once */
#define BC_SICK_PERIOD_MS 60000 /* BC_UNHEALTHY_RESTART's default */

/* A container a round saw unhealthy. */
typedef struct bc_sick_obs {
	int64_t app_id;
	char service[128];
	char container[72];
	uint64_t period_ms; /* its service's; 0: never restarted */
} bc_sick_obs;

typedef struct bc_sick {
	bc_sick_obs o;
	uint64_t since; /* monotonic ms: unhealthy since (or since its last restart) */
} bc_sick;

typedef struct bc_sick_table {
	bc_sick v[BC_SICK_MAX];
	size_t n;
} bc_sick_table;

/* A round looked at every container in scope and saw these (n) unhealthy:
 * the others are not (any more); a new one is unhealthy from now. */
void bc_sick_seen(bc_sick_table *t, const bc_sick_obs *obs, size_t n, uint64_t now);

/* The containers due a restart now, at most max into out (their period
 * starts again from now). How many. */
size_t bc_sick_due(bc_sick_table *t, uint64_t now, bc_sick_obs *out, size_t max);

/* When the next one is due (monotonic ms), UINT64_MAX: none. */
uint64_t bc_sick_next(const bc_sick_table *t);

#endif
