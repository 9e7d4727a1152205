#include "lib/logs/ring.h"

#include <stdlib.h>
#include <string.h>

size_t
bc_logrec_cost(const bc_logrec *r)
{
	return sizeof(*r) + (r->message ? strlen(r->message) + 1 : 0) +
	       (r->service ? strlen(r->service) + 1 : 0);
}

void
bc_logring_init(bc_logring *g, size_t max_bytes, bool cloud)
{
	memset(g, 0, sizeof(*g));
	g->max_bytes = max_bytes;
	g->next_seq = 1;
	g->cloud_seq = 1;
	g->cloud = cloud;
}

static bc_logrec *
at(const bc_logring *g, size_t i)
{
	return &g->v[(g->head + i) % g->cap];
}

/* Is r one the cloud is to take (a history record never is)? */
static bool
for_cloud(const bc_logring *g, const bc_logrec *r)
{
	return g->cloud && !r->local;
}

/* the oldest record goes */
static void
drop(bc_logring *g)
{
	bc_logrec *r = at(g, 0);
	bool unsent = for_cloud(g, r) && r->seq >= g->cloud_seq;
	bool kept = g->gone != NULL && g->gone(g->ud, r, unsent);

	if (unsent) {
		if (!kept)
			g->suppressed++;
		g->cloud_seq = r->seq + 1;
		g->unsent -= bc_logrec_cost(r);
	}
	g->bytes -= bc_logrec_cost(r);
	bc_logrec_free(r);
	g->head = (g->head + 1) % g->cap;
	g->count--;
}

void
bc_logring_free(bc_logring *g)
{
	for (size_t i = 0; i < g->count; i++)
		bc_logrec_free(at(g, i));
	free(g->v);
	g->v = NULL;
	g->count = g->cap = g->head = g->bytes = 0;
}

static int
grow(bc_logring *g)
{
	size_t ncap = g->cap ? 2 * g->cap : 64;
	bc_logrec *nv = calloc(ncap, sizeof(*nv));

	if (nv == NULL)
		return -1;
	for (size_t i = 0; i < g->count; i++)
		nv[i] = *at(g, i);
	free(g->v);
	g->v = nv;
	g->cap = ncap;
	g->head = 0;
	return 0;
}

uint64_t
bc_logring_push(bc_logring *g, bc_logrec *r)
{
	size_t cost = bc_logrec_cost(r);

	while (g->count > 0 && g->bytes + cost > g->max_bytes)
		drop(g);
	if (g->count == g->cap && grow(g) < 0) {
		bc_logrec_free(r);
		return 0;
	}
	r->seq = g->next_seq++;
	*at(g, g->count) = *r;
	memset(r, 0, sizeof(*r));
	g->count++;
	g->bytes += cost;
	if (for_cloud(g, at(g, g->count - 1)))
		g->unsent += cost;
	return g->next_seq - 1;
}

uint64_t
bc_logring_first(const bc_logring *g)
{
	return g->count ? at(g, 0)->seq : g->next_seq;
}

const bc_logrec *
bc_logring_get(const bc_logring *g, uint64_t seq)
{
	uint64_t first = bc_logring_first(g);

	if (seq < first || seq >= g->next_seq)
		return NULL;
	return at(g, (size_t)(seq - first));
}

const bc_logrec *
bc_logring_cloud_next(const bc_logring *g)
{
	uint64_t s = g->cloud_seq < bc_logring_first(g) ? bc_logring_first(g) : g->cloud_seq;
	const bc_logrec *r;

	while ((r = bc_logring_get(g, s)) != NULL && r->local)
		s++; /* history: the cloud had it */
	return r;
}

void
bc_logring_cloud_took(bc_logring *g, uint64_t seq)
{
	for (uint64_t s = g->cloud_seq; s <= seq; s++) {
		const bc_logrec *r = bc_logring_get(g, s);
		if (r != NULL && !r->local)
			g->unsent -= bc_logrec_cost(r);
	}
	if (seq + 1 > g->cloud_seq)
		g->cloud_seq = seq + 1;
}

void
bc_logring_cloud_rewind(bc_logring *g, uint64_t seq)
{
	uint64_t first = bc_logring_first(g);

	if (seq < first)
		seq = first;
	for (uint64_t s = seq; s < g->cloud_seq; s++) {
		const bc_logrec *r = bc_logring_get(g, s);
		if (r != NULL && !r->local)
			g->unsent += bc_logrec_cost(r);
	}
	if (seq < g->cloud_seq)
		g->cloud_seq = seq;
}

uint64_t
bc_logring_take_suppressed(bc_logring *g)
{
	uint64_t n = g->suppressed;

	if (n == 0 || g->unsent > g->max_bytes / 2)
		return 0;
	g->suppressed = 0;
	return n;
}

size_t
bc_logring_take_all(bc_logring *g, bc_logrec **out)
{
	size_t n = g->count;

	*out = calloc(n + 1, sizeof(**out));
	if (*out == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		(*out)[i] = *at(g, i);
	g->count = g->head = g->bytes = g->unsent = 0;
	g->cloud_seq = g->next_seq;
	return n;
}
