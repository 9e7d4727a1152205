#include "lib/fetch/backoff.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base/clock.h"

static void
say_when(char *out, size_t n, uint64_t at, uint64_t now_mono, uint64_t now_wall_ms)
{
	uint64_t in_ms = at > now_mono ? at - now_mono : 0;
	time_t t = (time_t)((now_wall_ms + in_ms) / 1000);
	struct tm tm;
	char stamp[32] = "?";

	if (gmtime_r(&t, &tm) != NULL)
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(out, n, "next try at %s (in %" PRIu64 " s)", stamp, (in_ms + 999) / 1000);
}

static void
entry_free(bc_pull_backoff_entry *e)
{
	free(e->image);
	free(e->error);
}

void
bc_pull_backoff_clear(bc_pull_backoff *t)
{
	for (size_t i = 0; i < t->n; i++)
		entry_free(&t->v[i]);
	free(t->v);
	*t = (bc_pull_backoff){0};
}

int
bc_pull_backoff_copy(bc_pull_backoff *to, const bc_pull_backoff *from)
{
	*to = (bc_pull_backoff){0};
	if (from->n == 0)
		return 0;
	if ((to->v = calloc(from->n, sizeof(*to->v))) == NULL)
		return -1;
	to->cap = from->n;
	for (size_t i = 0; i < from->n; i++) {
		bc_pull_backoff_entry *e = &to->v[to->n++];
		*e = from->v[i];
		e->image = strdup(from->v[i].image);
		e->error = strdup(from->v[i].error);
		if (e->image == NULL || e->error == NULL) {
			bc_pull_backoff_clear(to);
			return -1;
		}
	}
	return 0;
}

const bc_pull_backoff_entry *
bc_pull_backoff_get(const bc_pull_backoff *t, const char *image)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].image, image) == 0)
			return &t->v[i];
	return NULL;
}

bool
bc_pull_backoff_waits(const bc_pull_backoff *t, const char *image, uint64_t now_mono,
		      uint64_t now_wall_ms, char *why, size_t n)
{
	const bc_pull_backoff_entry *e = bc_pull_backoff_get(t, image);
	char when[96];

	if (e == NULL || now_mono >= e->at)
		return false;
	say_when(when, sizeof(when), e->at, now_mono, now_wall_ms);
	snprintf(why, n, "pull failed %u time(s), last: %s; %s", e->fails, e->error, when);
	return true;
}

uint64_t
bc_pull_backoff_after(const bc_pull_backoff *t, const char *image, uint64_t now_mono,
		      uint64_t now_wall_ms, uint64_t cap_ms, char *when, size_t n)
{
	const bc_pull_backoff_entry *e = bc_pull_backoff_get(t, image);
	unsigned fails = e ? e->fails + 1 : 1;
	uint64_t at =
	    now_mono +
	    bc_doubling_ms(fails - 1, BC_PULL_BACKOFF_MIN_MS,
			   cap_ms > BC_PULL_BACKOFF_MIN_MS ? cap_ms : BC_PULL_BACKOFF_MIN_MS);

	if (when != NULL)
		say_when(when, n, at, now_mono, now_wall_ms);
	return at;
}

/* The entry due first: the one to let go when the table is full. */
static size_t
first_due(const bc_pull_backoff *t)
{
	size_t first = SIZE_MAX;

	for (size_t i = 0; i < t->n; i++)
		if (first == SIZE_MAX || t->v[i].at < t->v[first].at)
			first = i;
	return first;
}

static void
drop(bc_pull_backoff *t, size_t i)
{
	entry_free(&t->v[i]);
	t->v[i] = t->v[--t->n];
}

void
bc_pull_backoff_failed(bc_pull_backoff *t, const char *image, const char *error, uint64_t now_mono,
		       uint64_t now_wall_ms, uint64_t cap_ms, char *when, size_t n)
{
	bc_pull_backoff_entry *e = (bc_pull_backoff_entry *)bc_pull_backoff_get(t, image);
	uint64_t at = bc_pull_backoff_after(t, image, now_mono, now_wall_ms, cap_ms, when, n);
	char *words = strdup(error ? error : "an error");

	if (words == NULL)
		return;
	if (e == NULL) {
		if (t->n >= BC_PULL_BACKOFF_MAX_IMAGES)
			drop(t, first_due(t));
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 8;
			bc_pull_backoff_entry *v = realloc(t->v, cap * sizeof(*v));
			if (v == NULL) {
				free(words);
				return;
			}
			t->v = v;
			t->cap = cap;
		}
		e = &t->v[t->n];
		*e = (bc_pull_backoff_entry){.image = strdup(image)};
		if (e->image == NULL) {
			free(words);
			return;
		}
		t->n++;
	}
	free(e->error);
	e->error = words;
	e->fails++;
	e->at = at;
}

void
bc_pull_backoff_ok(bc_pull_backoff *t, const char *image)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].image, image) == 0) {
			drop(t, i);
			return;
		}
}

uint64_t
bc_pull_backoff_next(const bc_pull_backoff *t)
{
	size_t i = first_due(t);

	return i == SIZE_MAX ? UINT64_MAX : t->v[i].at;
}
