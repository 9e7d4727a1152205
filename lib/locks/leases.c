#include "lib/locks/leases.h"

#include <string.h>

bc_lease *
bc_leases_get(bc_leases *t, uint64_t id, int64_t app_id)
{
	for (size_t i = 0; id != 0 && i < BC_LEASES_MAX; i++)
		if (t->slot[i].id == id && (app_id == 0 || t->slot[i].app_id == app_id))
			return &t->slot[i];
	return NULL;
}

bc_lease *
bc_leases_slot(bc_leases *t)
{
	for (size_t i = 0; i < BC_LEASES_MAX; i++)
		if (t->slot[i].id == 0)
			return &t->slot[i];
	return NULL;
}

void
bc_leases_set(bc_lease *ls, uint64_t id, int64_t app_id, bc_strv *services, uint64_t expires)
{
	if (ls->id == 0) {
		ls->id = id;
		ls->app_id = app_id;
	}
	bc_strv_free(&ls->services);
	ls->services = *services;
	memset(services, 0, sizeof(*services));
	ls->expires = expires;
}

void
bc_leases_clear(bc_lease *ls)
{
	bc_strv_free(&ls->services);
	memset(ls, 0, sizeof(*ls));
}

bc_lease *
bc_leases_expired(bc_leases *t, uint64_t now, uint64_t *next)
{
	bc_lease *due = NULL;
	uint64_t soon = UINT64_MAX;

	for (size_t i = 0; i < BC_LEASES_MAX; i++) {
		bc_lease *ls = &t->slot[i];
		if (ls->id == 0)
			continue;
		if (ls->expires <= now && due == NULL)
			due = ls;
		else if (ls->expires < soon)
			soon = ls->expires;
	}
	if (next != NULL)
		*next = soon;
	return due;
}

uint64_t
bc_lease_id(uint64_t random)
{
	uint64_t id = random & INT64_MAX;
	return id != 0 ? id : 1;
}
