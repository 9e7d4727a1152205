#include "lib/core/trial.h"

#include <stdio.h>
#include <string.h>

#include "lib/model/model.h"

/* Empty, touching only the counters (the tables are large and mostly
 * unused: their pages stay untouched). */
static void
reset(bc_trial *t)
{
	t->on = false;
	t->armed = t->since = t->period_ms = 0;
	t->n_apps = t->n_base = 0;
}

void
bc_trial_begin(bc_trial *t, const int64_t *apps, size_t n, uint64_t period_ms, uint64_t now)
{
	reset(t);
	if (n > BC_STATE_MAX_APPS)
		n = BC_STATE_MAX_APPS;
	if (n == 0)
		return;
	t->on = true;
	t->armed = now;
	t->period_ms = period_ms;
	memcpy(t->apps, apps, n * sizeof(*apps));
	t->n_apps = n;
}

void
bc_trial_end(bc_trial *t)
{
	reset(t);
}

void
bc_trial_settled(bc_trial *t, uint64_t now)
{
	if (t->on && t->since == 0)
		t->since = now > 0 ? now : 1;
}

bool
bc_trial_judges(const bc_trial *t, int64_t app)
{
	for (size_t i = 0; t->on && i < t->n_apps; i++)
		if (t->apps[i] == app)
			return true;
	return false;
}

uint64_t
bc_trial_deadline(const bc_trial *t)
{
	return t->on && t->since > 0 ? t->since + t->period_ms : 0;
}

/* The restart count o started the trial with: 0 for a container made for
 * it (created since the target came), else what it had when first seen. */
static uint64_t
base_of(bc_trial *t, const bc_trial_obs *o)
{
	size_t i;

	for (i = 0; i < t->n_base; i++)
		if (strcmp(t->base[i].container, o->container) == 0)
			return t->base[i].restarts;
	/* Docker's Created is in whole seconds */
	uint64_t b = (uint64_t)o->created * 1000 + 999 >= t->armed ? 0 : o->restarts;
	if (t->n_base < BC_TRIAL_MAX_BASE) {
		snprintf(t->base[t->n_base].container, sizeof(t->base[0].container), "%s",
			 o->container);
		t->base[t->n_base++].restarts = b;
	}
	return b;
}

int
bc_trial_judge(bc_trial *t, const bc_trial_obs *obs, size_t n, uint64_t now, char *why, size_t len)
{
	bool ready = true;

	why[0] = '\0';
	if (!t->on)
		return BC_TRIAL_WAIT;
	for (size_t i = 0; i < n; i++) {
		const bc_trial_obs *o = &obs[i];
		uint64_t base;
		if (!o->wanted || !bc_trial_judges(t, o->app_id))
			continue;
		if (o->container[0] == '\0') { /* not made yet */
			ready = false;
			continue;
		}
		base = base_of(t, o);
		if (o->restarts > base) {
			unsigned long long k = (unsigned long long)(o->restarts - base);
			snprintf(why, len, "service '%s' restarted %llu time%s (exit code %d)",
				 o->service, k, k == 1 ? "" : "s", o->exit_code);
			return BC_TRIAL_FAIL;
		}
		if (o->restarting) {
			snprintf(why, len, "service '%s' is restarting (exit code %d)", o->service,
				 o->exit_code);
			return BC_TRIAL_FAIL;
		}
		if (!o->running) {
			if (o->exit_code != 0) {
				snprintf(why, len, "service '%s' exited with code %d", o->service,
					 o->exit_code);
				return BC_TRIAL_FAIL;
			}
			if (!o->one_shot) /* not started yet, or stopped by hand */
				ready = false;
			continue;
		}
		if (o->health == BC_HEALTH_UNHEALTHY) {
			snprintf(why, len, "service '%s' is unhealthy", o->service);
			return BC_TRIAL_FAIL;
		}
		if (o->health == BC_HEALTH_STARTING)
			ready = false;
	}
	if (t->since == 0 || now < t->since + t->period_ms || !ready)
		return BC_TRIAL_WAIT;
	return BC_TRIAL_COMMIT;
}

bool
bc_trial_step(const bc_trial *t, int64_t app, const char *action, const char *service, bool ok,
	      bool locked, const char *error, char *why, size_t len)
{
	static const char *const fatal[] = {"CREATE", "START", "HANDOVER"};
	bool is_fatal = false;

	if (ok || locked || action == NULL || !bc_trial_judges(t, app))
		return false;
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		if (strcmp(action, fatal[i]) == 0)
			is_fatal = true;
	if (!is_fatal)
		return false;
	snprintf(why, len, "service '%s': %s", service ? service : "?", error ? error : "failed");
	return true;
}

const bc_trial_failed *
bc_trial_failed_of(const bc_trial_book *b, int64_t app)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].app_id == app)
			return &b->v[i];
	return NULL;
}

bool
bc_trial_failed_drop(bc_trial_book *b, int64_t app)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].app_id == app) {
			memmove(&b->v[i], &b->v[i + 1], (b->n - i - 1) * sizeof(b->v[0]));
			b->n--;
			return true;
		}
	return false;
}

void
bc_trial_failed_put(bc_trial_book *b, const bc_trial_failed *f)
{
	bc_trial_failed_drop(b, f->app_id);
	if (b->n == BC_TRIAL_MAX_FAILED) {
		size_t old = 0;
		for (size_t i = 1; i < b->n; i++)
			if (b->v[i].at < b->v[old].at)
				old = i;
		bc_trial_failed_drop(b, b->v[old].app_id);
	}
	b->v[b->n++] = *f;
}

json_t *
bc_trial_to_json(const bc_trial *t, const bc_trial_book *b)
{
	json_t *apps = json_array(), *base = json_array(), *failed = json_array();
	json_t *doc =
	    json_pack("{s:b, s:I, s:I, s:I, s:o, s:o, s:o}", "on", t->on, "armed",
		      (json_int_t)t->armed, "since", (json_int_t)t->since, "period_ms",
		      (json_int_t)t->period_ms, "apps", apps, "base", base, "failed", failed);
	if (doc == NULL)
		return NULL;
	for (size_t i = 0; i < t->n_apps; i++)
		json_array_append_new(apps, json_integer(t->apps[i]));
	for (size_t i = 0; i < t->n_base; i++)
		json_array_append_new(base,
				      json_pack("{s:s, s:I}", "container", t->base[i].container,
						"restarts", (json_int_t)t->base[i].restarts));
	for (size_t i = 0; i < b->n; i++) {
		const bc_trial_failed *f = &b->v[i];
		json_array_append_new(failed,
				      json_pack("{s:I, s:s, s:s, s:s, s:b, s:I}", "app",
						(json_int_t)f->app_id, "key", f->key, "commit",
						f->commit, "reason", f->reason, "rolled_back",
						f->rolled_back, "at", (json_int_t)f->at));
	}
	return doc;
}

/* v as a count that fits, or -1 */
static int64_t
count_of(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
}

static bool
str_into(const json_t *v, char *out, size_t n)
{
	const char *s = json_string_value(v);
	if (s == NULL || strlen(s) >= n)
		return false;
	memcpy(out, s, strlen(s) + 1);
	return true;
}

int
bc_trial_from_json(const json_t *doc, bc_trial *t, bc_trial_book *b)
{
	const json_t *apps = json_object_get(doc, "apps"), *base = json_object_get(doc, "base");
	const json_t *failed = json_object_get(doc, "failed"), *v;
	size_t i;

	reset(t);
	b->n = 0;
	if (!json_is_object(doc) || !json_is_array(apps) || !json_is_array(base) ||
	    !json_is_array(failed) || count_of(json_object_get(doc, "armed")) < 0 ||
	    count_of(json_object_get(doc, "since")) < 0 ||
	    count_of(json_object_get(doc, "period_ms")) < 0 ||
	    json_array_size(apps) > BC_STATE_MAX_APPS ||
	    json_array_size(base) > BC_TRIAL_MAX_BASE ||
	    json_array_size(failed) > BC_TRIAL_MAX_FAILED)
		goto bad;
	json_array_foreach(apps, i, v)
	{
		if (count_of(v) <= 0)
			goto bad;
		t->apps[t->n_apps++] = json_integer_value(v);
	}
	json_array_foreach(base, i, v)
	{
		int64_t r = count_of(json_object_get(v, "restarts"));
		if (r < 0 || !str_into(json_object_get(v, "container"),
				       t->base[t->n_base].container, sizeof(t->base[0].container)))
			goto bad;
		t->base[t->n_base++].restarts = (uint64_t)r;
	}
	json_array_foreach(failed, i, v)
	{
		bc_trial_failed *f = &b->v[b->n];
		int64_t app = count_of(json_object_get(v, "app")),
			at = count_of(json_object_get(v, "at"));
		if (app <= 0 || at < 0 || !json_is_boolean(json_object_get(v, "rolled_back")) ||
		    !str_into(json_object_get(v, "key"), f->key, sizeof(f->key)) ||
		    !str_into(json_object_get(v, "commit"), f->commit, sizeof(f->commit)) ||
		    !str_into(json_object_get(v, "reason"), f->reason, sizeof(f->reason)))
			goto bad;
		f->app_id = app;
		f->at = (uint64_t)at;
		f->rolled_back = json_is_true(json_object_get(v, "rolled_back"));
		b->n++;
	}
	t->on = json_is_true(json_object_get(doc, "on")) && t->n_apps > 0;
	t->armed = (uint64_t)json_integer_value(json_object_get(doc, "armed"));
	t->since = (uint64_t)json_integer_value(json_object_get(doc, "since"));
	t->period_ms = (uint64_t)json_integer_value(json_object_get(doc, "period_ms"));
	return 0;
bad:
	reset(t);
	b->n = 0;
	return -1;
}
