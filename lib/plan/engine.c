#include "lib/plan/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/clock.h"
#include "lib/plan/current.h"
#include "lib/locks/lock.h"

#define SUPERVISED "io.balena.supervised"

struct bc_engine {
	bc_docker *handles[BC_ENGINE_MAX_WORKERS];
	size_t n;
	bc_exec_env env;
};

void
bc_engine_set_env(bc_engine *e, const bc_exec_env *env)
{
	e->env = *env;
}

bc_engine *
bc_engine_new(size_t nworkers, const bc_exec_env *env, bc_err *err)
{
	bc_engine *e;

	if (nworkers < 1 || nworkers > BC_ENGINE_MAX_WORKERS) {
		bc_err_set(err, BC_EINVAL, "engine: %zu workers (1..%d)", nworkers,
			   BC_ENGINE_MAX_WORKERS);
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		bc_err_sys(err, "engine");
		return NULL;
	}
	e->env = *env;
	for (e->n = 0; e->n < nworkers; e->n++)
		if ((e->handles[e->n] = bc_docker_new(NULL, err)) == NULL) {
			bc_engine_free(e);
			return NULL;
		}
	return e;
}

void
bc_engine_free(bc_engine *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n; i++)
		bc_docker_free(e->handles[i]);
	free(e);
}

bc_docker *
bc_engine_docker(bc_engine *e)
{
	return e->handles[0];
}

static int
observe(bc_engine *e, bc_state *cur, json_t **images, bc_err *err)
{
	bc_docker *d = e->handles[0];
	json_t *c = NULL, *v = NULL, *n = NULL;
	int rc = -1;

	memset(cur, 0, sizeof(*cur));
	if ((c = bc_docker_container_list(d, SUPERVISED, true, err)) == NULL ||
	    (v = bc_docker_volume_list(d, SUPERVISED, err)) == NULL ||
	    (n = bc_docker_network_list(d, SUPERVISED, err)) == NULL ||
	    (images != NULL && (*images = bc_docker_image_list(d, NULL, err)) == NULL))
		goto out;
	rc = bc_current_from_docker(c, v, n, cur, err);
out:
	if (rc < 0 && images != NULL) {
		json_decref(*images);
		*images = NULL;
	}
	json_decref(c);
	json_decref(v);
	json_decref(n);
	return rc;
}

/* Drop the apps outside the scope from a current state. */
static void
apply_scope(bc_state *cur, const int64_t *scope, size_t n)
{
	size_t keep = 0;

	if (scope == NULL)
		return;
	for (size_t i = 0; i < cur->n_apps; i++) {
		bool in = false;
		for (size_t k = 0; k < n && !in; k++)
			in = scope[k] == cur->apps[i].app_id;
		if (in) {
			cur->apps[keep++] = cur->apps[i];
		} else {
			bc_state one = {.apps = &cur->apps[i], .n_apps = 1};
			bc_state_free_apps(&one);
		}
	}
	cur->n_apps = keep;
}

int
bc_engine_observe(bc_engine *e, const int64_t *scope, size_t n_scope, bc_state *current,
		  bc_err *err)
{
	if (observe(e, current, NULL, err) < 0)
		return -1;
	apply_scope(current, scope, n_scope);
	return 0;
}

void
bc_converge_clear(bc_converge *c)
{
	free(c->apps);
	c->apps = NULL;
	c->n_apps = 0;
}

const bc_app_outcome *
bc_converge_app(const bc_converge *c, int64_t app_id)
{
	for (size_t i = 0; i < c->n_apps; i++)
		if (c->apps[i].app_id == app_id)
			return &c->apps[i];
	return NULL;
}

static bc_app_outcome *
outcome(bc_converge *c, int64_t app_id)
{
	bc_app_outcome *o = (bc_app_outcome *)bc_converge_app(c, app_id), *grown;

	if (o != NULL)
		return o;
	if ((grown = realloc(c->apps, (c->n_apps + 1) * sizeof(*grown))) == NULL)
		return NULL;
	c->apps = grown;
	o = &c->apps[c->n_apps++];
	*o = (bc_app_outcome){.app_id = app_id, .phase = BC_APP_SETTLED};
	return o;
}

static bool
excluded(const bc_converge *c, int64_t app_id)
{
	const bc_app_outcome *o = bc_converge_app(c, app_id);
	return o != NULL && (o->phase == BC_APP_FAILED || o->phase == BC_APP_LOCKED);
}

/* The executor's hooks, wrapped: each step's end is recorded against its
 * app before the caller hears of it. */
struct wrap {
	const bc_exec_env *env;
	bc_converge *c;
	bc_app_facts *facts; /* the engine's copy, kept up to date */
	size_t n_facts, cap_facts;
	int failed; /* steps that failed, other than an app's "locked" */
	bc_err first;
};

static int
wrap_fetch(void *ud, bc_docker *d, const bc_step *s, bc_err *err)
{
	struct wrap *w = ud;
	return w->env->fetch(w->env->ud, d, s, err);
}

static int
wrap_lock(void *ud, bc_docker *d, const bc_app *app, const bc_app *running, bool take, bc_err *err)
{
	struct wrap *w = ud;
	return w->env->lock(w->env->ud, d, app, running, take, err);
}

static int
wrap_guard(void *ud, const bc_app *app, bc_err *err)
{
	struct wrap *w = ud;
	return w->env->guard(w->env->ud, app, err);
}

/* The engine's lock facts of an app, added (none held) if it has none yet:
 * an app on its way out is in neither the target nor the caller's facts,
 * and the lock a round takes for it must be known to the next round (else
 * that one asks again, and our own lockfiles look like the app's). NULL
 * when out of memory. */
static bc_app_facts *
fact_of(struct wrap *w, int64_t app_id)
{
	bc_app_facts *grown;

	for (size_t i = 0; i < w->n_facts; i++)
		if (w->facts[i].app_id == app_id)
			return &w->facts[i];
	if (w->n_facts == w->cap_facts) {
		size_t cap = w->cap_facts * 2 + 8;
		if ((grown = realloc(w->facts, cap * sizeof(*grown))) == NULL)
			return NULL;
		w->facts = grown;
		w->cap_facts = cap;
	}
	w->facts[w->n_facts] = (bc_app_facts){.app_id = app_id};
	return &w->facts[w->n_facts++];
}

static void
wrap_on_step(void *ud, const bc_step *s, int rc, const bc_err *err)
{
	struct wrap *w = ud;
	bc_app_facts *f;

	if (rc == 0 && s->app != NULL &&
	    (s->action == BC_STEP_TAKE_LOCK || s->action == BC_STEP_RELEASE_LOCK) &&
	    (f = fact_of(w, s->app->app_id)) != NULL)
		f->locks_held = s->action == BC_STEP_TAKE_LOCK;
	if (rc < 0 && s->app != NULL) {
		bc_app_outcome *o = outcome(w->c, s->app->app_id);
		bool locked = err != NULL && err->code == BC_ELOCKED;
		if (o != NULL && o->phase != BC_APP_FAILED) {
			o->phase = locked ? BC_APP_LOCKED : BC_APP_FAILED;
			snprintf(o->why, sizeof(o->why), "%s", err ? err->msg : "failed");
		}
		if (!locked && w->failed++ == 0 && err != NULL)
			w->first = *err;
	} else if (rc < 0 && w->failed++ == 0 && err != NULL) {
		w->first = *err;
	}
	if (w->env->on_step != NULL)
		w->env->on_step(w->env->ud, s, rc, err);
}

/* Leave out the steps of apps that failed or are locked in this converge. */
static void
drop_excluded(bc_plan *plan, const bc_converge *c)
{
	size_t keep = 0;

	for (size_t i = 0; i < plan->n; i++)
		if (plan->steps[i].app == NULL || !excluded(c, plan->steps[i].app->app_id))
			plan->steps[keep++] = plan->steps[i];
	plan->n = keep;
}

/* What a step that waits is about, in words: a NOOP names its app (with
 * app, for the device's line) and its service; another step is itself
 * ("KILL main"). */
static void
waiting_what(const bc_step *s, bool with_app, char *out, size_t n)
{
	const char *app = with_app && s->app != NULL ? s->app->name : NULL;

	if (s->action != BC_STEP_NOOP)
		bc_step_describe(s, out, n);
	else if (app != NULL && s->target != NULL)
		snprintf(out, n, "app '%s' service '%s'", app, s->target->name);
	else if (app != NULL)
		snprintf(out, n, "app '%s'", app);
	else if (s->target != NULL)
		snprintf(out, n, "service '%s'", s->target->name);
	else
		out[0] = '\0';
}

static void
join_waiting(char *out, size_t n, const char *what, const char *why)
{
	size_t used = strlen(out);

	if (used + 1 < n)
		snprintf(out + used, n - used, "%s%s%s%s", used ? "; " : "", what,
			 *what && *why ? ": " : "", why);
}

/* Which new containers of a hand-over said they are ready: the file
 * handover-complete in their lock directory (/tmp/balena in them). */
static void
handover_signals(const char *lockdir, const bc_state *target, bc_strv *out)
{
	for (size_t a = 0; lockdir != NULL && a < target->n_apps; a++) {
		const bc_app *app = &target->apps[a];
		for (size_t i = 0; i < app->n_services; i++) {
			const bc_service *s = &app->services[i];
			char path[1024], key[160];
			if (s->strategy != BC_STRAT_HAND_OVER ||
			    bc_lock_dir(path, sizeof(path) - 20, lockdir, app->app_id, s->name) < 0)
				continue;
			strcat(path, "/handover-complete");
			snprintf(key, sizeof(key), "%lld/%s", (long long)app->app_id, s->name);
			if (access(path, F_OK) == 0)
				bc_strv_add(out, key);
		}
	}
}

/* When container id started (State.StartedAt) or was created (Created),
 * from Docker's inspect, in ms since the epoch; 0 when not known. */
static int64_t
inspect_ms(bc_engine *e, const char *id, bool started)
{
	json_t *ins = bc_docker_container_inspect(e->handles[0], id, NULL);
	const char *at =
	    json_string_value(started ? json_object_get(json_object_get(ins, "State"), "StartedAt")
				      : json_object_get(ins, "Created"));
	int64_t ns, ms = 0;
	size_t off;

	if (at != NULL && bc_parse_rfc3339(at, strlen(at), &ns, &off, NULL) == 0)
		ms = ns / 1000000;
	json_decref(ins);
	return ms;
}

/* When the containers of each service being handed over started (Docker's
 * list has whole seconds of their creation only): the hand-over's timeout
 * runs from the new one's start. An inspect a container, only while two
 * or more of a hand-over service run. */
static void
handover_starts(bc_engine *e, const bc_state *target, bc_state *cur)
{
	for (size_t a = 0; a < target->n_apps; a++) {
		const bc_app *t = &target->apps[a];
		bc_app *c = bc_state_app(cur, t->app_id);
		for (size_t i = 0; c != NULL && i < t->n_services; i++) {
			const char *name = t->services[i].name;
			size_t n = 0;
			if (t->services[i].strategy != BC_STRAT_HAND_OVER)
				continue;
			for (size_t k = 0; k < c->n_services; k++)
				n += strcmp(c->services[k].name, name) == 0 &&
				     c->services[k].running;
			for (size_t k = 0; n >= 2 && k < c->n_services; k++) {
				bc_service *s = &c->services[k];
				if (strcmp(s->name, name) == 0 && s->running)
					s->started_ms = inspect_ms(e, s->container_id, true);
			}
		}
	}
}

/* The running container of name in c (the newest), or NULL. */
static bc_service *
running_of(bc_app *c, const char *name)
{
	bc_service *best = NULL;

	for (size_t k = 0; c != NULL && k < c->n_services; k++) {
		bc_service *s = &c->services[k];
		if (strcmp(s->name, name) == 0 && s->running &&
		    (best == NULL || s->created > best->created))
			best = s;
	}
	return best;
}

/* For services with restart: true rules: when the service's container
 * started and when each such dependency's was created, to the
 * millisecond (the list has whole seconds of creation only). Inspects
 * only for those. */
static void
restart_facts(bc_engine *e, const bc_state *target, bc_state *cur)
{
	for (size_t a = 0; a < target->n_apps; a++) {
		const bc_app *t = &target->apps[a];
		bc_app *c = bc_state_app(cur, t->app_id);
		for (size_t i = 0; c != NULL && i < t->n_services; i++) {
			const bc_service *ts = &t->services[i];
			bc_service *me = NULL;
			for (size_t r = 0; r < ts->n_dep_rules; r++) {
				bc_service *dep;
				if (!ts->dep_rules[r].restart ||
				    (dep = running_of(c, ts->dep_rules[r].name)) == NULL)
					continue;
				if (me == NULL && (me = running_of(c, ts->name)) == NULL)
					break;
				if (me->started_ms == 0)
					me->started_ms = inspect_ms(e, me->container_id, true);
				if (dep->created_ms == 0)
					dep->created_ms = inspect_ms(e, dep->container_id, false);
			}
		}
	}
}

int
bc_engine_converge(bc_engine *e, const bc_state *target, bc_converge *c, bc_err *err)
{
	int max = c->max_rounds > 0 ? c->max_rounds : 32;
	struct wrap w = {.env = &e->env, .c = c};
	bc_exec_env env = e->env;
	int rc = -1;

	bc_converge_clear(c);
	c->rounds = 0;
	c->steps_done = 0;
	c->settled = false;
	c->waiting[0] = '\0';
	env.ud = &w;
	env.fetch = e->env.fetch ? wrap_fetch : NULL;
	env.lock = e->env.lock ? wrap_lock : NULL;
	env.guard = e->env.guard ? wrap_guard : NULL;
	env.on_step = wrap_on_step;
	for (size_t i = 0; i < target->n_apps; i++)
		if (outcome(c, target->apps[i].app_id) == NULL)
			return bc_err_sys(err, "converge");
	/* the engine's own copy of the lock facts, kept up to date as its
	 * steps take and release locks */
	for (size_t i = 0; i < c->n_facts; i++) {
		bc_app_facts *f = fact_of(&w, c->facts[i].app_id);
		if (f == NULL) {
			free(w.facts);
			return bc_err_sys(err, "converge");
		}
		*f = c->facts[i];
	}
	for (int round = 0; round < max; round++) {
		bc_state cur;
		json_t *images = NULL;
		bc_image_have *have = NULL;
		size_t nhave = 0, todo;
		bc_plan plan;
		bc_plan_ctx ctx;
		bc_strv signalled = {0};

		if (observe(e, &cur, &images, err) < 0)
			goto out;
		apply_scope(&cur, c->scope, c->n_scope);
		for (size_t i = 0; i < cur.n_apps; i++)
			if (outcome(c, cur.apps[i].app_id) == NULL) {
				bc_state_free(&cur);
				json_decref(images);
				bc_err_sys(err, "converge");
				goto out;
			}
		if (bc_images_have(images, &have, &nhave, err) < 0) {
			bc_state_free(&cur);
			json_decref(images);
			goto out;
		}
		handover_signals(e->env.lockdir, target, &signalled);
		handover_starts(e, target, &cur);
		restart_facts(e, target, &cur);
		ctx = (bc_plan_ctx){.images = have,
				    .n_images = nhave,
				    .now_ms = c->now_ms,
				    .purge = c->purge,
				    .n_purge = c->n_purge,
				    .use_locks = c->use_locks,
				    .apps = w.facts,
				    .n_apps = w.n_facts,
				    .handover_done = &signalled};
		if (bc_plan_build(&cur, target, &ctx, &plan, err) < 0) {
			bc_strv_free(&signalled);
			free(have);
			json_decref(images);
			bc_state_free(&cur);
			goto out;
		}
		drop_excluded(&plan, c);
		todo = bc_plan_actionable(&plan);
		if (todo == 0) {
			if (c->on_wait != NULL)
				c->on_wait(c->ud, &plan);
			/* only waiting is left: say on what, per app and in all */
			for (size_t i = 0; i < plan.n; i++) {
				char all[200], mine[200];
				const bc_step *s = &plan.steps[i];
				bc_app_outcome *o = s->app ? outcome(c, s->app->app_id) : NULL;
				enum bc_app_phase ph = s->locked ? BC_APP_LOCKED : BC_APP_WAITING;
				waiting_what(s, true, all, sizeof(all));
				waiting_what(s, false, mine, sizeof(mine));
				join_waiting(c->waiting, sizeof(c->waiting), all, s->reason);
				if (o != NULL) {
					if (o->phase != ph)
						o->why[0] = '\0';
					o->phase = ph;
					join_waiting(o->why, sizeof(o->why), mine, s->reason);
				}
			}
		} else {
			if (c->on_plan != NULL)
				c->on_plan(c->ud, &plan);
			bc_exec_round(e->handles, e->n, &plan, &cur, &env, NULL);
			c->rounds++;
			c->steps_done += todo;
		}
		bc_plan_free(&plan);
		bc_strv_free(&signalled);
		free(have);
		json_decref(images);
		bc_state_free(&cur);
		if (todo == 0)
			break;
		if (round + 1 == max) {
			bc_err_set(err, BC_ETIMEOUT, "did not converge in %d rounds", max);
			for (size_t i = 0; i < c->n_apps; i++)
				if (c->apps[i].phase == BC_APP_SETTLED) {
					c->apps[i].phase = BC_APP_FAILED;
					snprintf(c->apps[i].why, sizeof(c->apps[i].why), "%s",
						 err ? err->msg : "did not converge");
				}
			goto out;
		}
	}
	/* the apps that held their lock: that is waiting, not failure (said
	 * once: a lock wait the plan found is in the device's words already) */
	for (size_t i = 0; i < c->n_apps; i++)
		if (c->apps[i].phase == BC_APP_LOCKED && strstr(c->waiting, c->apps[i].why) == NULL)
			join_waiting(c->waiting, sizeof(c->waiting), "", c->apps[i].why);
	c->settled = c->waiting[0] == '\0' && w.failed == 0;
	if (w.failed > 0) {
		if (err != NULL)
			*err = w.first;
	} else {
		rc = 0;
	}
out:
	free(w.facts);
	return rc;
}
