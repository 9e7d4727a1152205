#include "lib/fetch/backoff.h"

#include <inttypes.h>
#include <stdio.h>
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

bool
bc_pull_backoff_waits(const json_t *table, const char *image, uint64_t now_mono,
		      uint64_t now_wall_ms, char *why, size_t n)
{
	json_t *e = json_object_get(table, image);
	uint64_t at = (uint64_t)json_integer_value(json_object_get(e, "at"));
	char when[96];

	if (e == NULL || now_mono >= at)
		return false;
	say_when(when, sizeof(when), at, now_mono, now_wall_ms);
	snprintf(why, n, "pull failed %" JSON_INTEGER_FORMAT " time(s), last: %s; %s",
		 json_integer_value(json_object_get(e, "n")),
		 json_string_value(json_object_get(e, "error")) ?: "an error", when);
	return true;
}

/* The entry due first: the one to let go when the table is full. */
static const char *
first_due(const json_t *table)
{
	const char *k, *first = NULL;
	uint64_t best = UINT64_MAX;
	json_t *v;

	json_object_foreach((json_t *)table, k, v)
	{
		uint64_t at = (uint64_t)json_integer_value(json_object_get(v, "at"));
		if (first == NULL || at < best)
			first = k, best = at;
	}
	return first;
}

void
bc_pull_backoff_failed(json_t *table, const char *image, const char *error, uint64_t now_mono,
		       uint64_t now_wall_ms, uint64_t cap_ms, char *when, size_t n)
{
	json_t *e = json_object_get(table, image);
	json_int_t fails = e ? json_integer_value(json_object_get(e, "n")) + 1 : 1;
	uint64_t at = now_mono + bc_doubling_ms((unsigned)(fails - 1), BC_PULL_BACKOFF_MIN_MS,
						cap_ms > BC_PULL_BACKOFF_MIN_MS ? cap_ms
										: BC_PULL_BACKOFF_MIN_MS);

	if (e == NULL && json_object_size(table) >= BC_PULL_BACKOFF_MAX_IMAGES) {
		const char *drop = first_due(table);
		if (drop != NULL)
			json_object_del(table, drop);
	}
	json_object_set_new(table, image,
			    json_pack("{s:I, s:I, s:s}", "n", fails, "at", (json_int_t)at, "error",
				      error ? error : "an error"));
	if (when != NULL)
		say_when(when, n, at, now_mono, now_wall_ms);
}

void
bc_pull_backoff_ok(json_t *table, const char *image)
{
	json_object_del(table, image);
}

uint64_t
bc_pull_backoff_next(const json_t *table)
{
	const char *k = first_due(table);

	return k ? (uint64_t)json_integer_value(json_object_get(json_object_get(table, k), "at"))
		 : UINT64_MAX;
}
