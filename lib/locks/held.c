#include "lib/locks/held.h"

#include <string.h>

static const bc_held_slot *
find(const bc_held *t, int64_t app_id)
{
	for (size_t i = 0; i < BC_HELD_MAX; i++) {
		int st = atomic_load(&t->slot[i].state);
		if (st == 0)
			return NULL; /* slots are claimed in order: none further */
		if (st == 2 && atomic_load(&t->slot[i].app_id) == app_id)
			return &t->slot[i];
	}
	return NULL;
}

uint64_t
bc_held_get(const bc_held *t, int64_t app_id)
{
	const bc_held_slot *s = find(t, app_id);
	return s ? atomic_load(&s->lease) : 0;
}

int
bc_held_set(bc_held *t, int64_t app_id, uint64_t lease)
{
	bc_held_slot *s = (bc_held_slot *)find(t, app_id);

	for (size_t i = 0; s == NULL && i < BC_HELD_MAX; i++) {
		int free_ = 0;
		bc_held_slot *c = &t->slot[i];
		if (atomic_load(&c->state) == 2 && atomic_load(&c->app_id) == app_id) {
			s = c; /* claimed by another writer meanwhile */
			break;
		}
		if (!atomic_compare_exchange_strong(&c->state, &free_, 1))
			continue;
		atomic_store(&c->app_id, app_id);
		atomic_store(&c->lease, 0);
		atomic_store(&c->lost, 0);
		atomic_store(&c->state, 2);
		s = c;
	}
	if (s == NULL)
		return lease == 0 ? 0 : -1;
	atomic_store(&s->lost, 0);
	atomic_store(&s->lease, lease);
	return 0;
}

void
bc_held_mark_lost(bc_held *t, int64_t app_id, uint64_t lease)
{
	bc_held_slot *s = (bc_held_slot *)find(t, app_id);

	if (s != NULL && lease != 0 && atomic_load(&s->lease) == lease)
		atomic_store(&s->lost, lease);
}

bool
bc_held_is_lost(const bc_held *t, int64_t app_id)
{
	const bc_held_slot *s = find(t, app_id);
	uint64_t have;

	if (s == NULL)
		return false;
	have = atomic_load(&s->lease);
	return have != 0 && atomic_load(&s->lost) == have;
}

bool
bc_held_next(const bc_held *t, size_t *i, int64_t *app_id, uint64_t *lease)
{
	for (; *i < BC_HELD_MAX; (*i)++) {
		const bc_held_slot *s = &t->slot[*i];
		uint64_t l;
		if (atomic_load(&s->state) == 0)
			break;
		if (atomic_load(&s->state) != 2 || (l = atomic_load(&s->lease)) == 0)
			continue;
		*app_id = atomic_load(&s->app_id);
		*lease = l;
		(*i)++;
		return true;
	}
	return false;
}

size_t
bc_held_count(const bc_held *t)
{
	size_t i = 0, n = 0;
	int64_t a;
	uint64_t l;

	while (bc_held_next(t, &i, &a, &l))
		n++;
	return n;
}

void
bc_held_copy(bc_held *to, const bc_held *from)
{
	size_t i = 0;
	int64_t a;
	uint64_t l;

	memset(to, 0, sizeof(*to));
	while (bc_held_next(from, &i, &a, &l))
		bc_held_set(to, a, l);
}
