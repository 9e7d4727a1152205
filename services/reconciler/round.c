/* Converge rounds: whenever the target changes, or Docker or a lock
 * changes under it (r->wake), or a round left something to wait for, the
 * loop sends one round out to the pool. The round observes, plans and
 * executes (lib/plan/engine.h) on a copy of the target, and posts back
 * what it sees as it goes (downloads, busy apps, steps, leases) and the
 * state document it ends with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ipc/client.h"
#include "lib/locks/lock.h"
#include "lib/base/clock.h"
#include "lib/fetch/backoff.h"
#include "lib/base/fsutil.h"
#include "lib/base/log.h"
#include "lib/plan/statedoc.h"
#include "lib/model/target.h"
#include "proto/ipc.h"
#include "rec.h"

int
rec_persist(struct rec *r, bc_err *err)
{
	if (bc_write_json_atomic(r->purgefile, r->purge, 0600, err) < 0)
		return -1;
	return bc_write_json_atomic(r->statefile, r->target, 0600, err);
}

void
rec_purge_add(struct rec *r, int64_t app)
{
	size_t i;
	json_t *v;

	json_array_foreach(r->purge, i, v) if (json_integer_value(v) == app) return;
	json_array_append_new(r->purge, json_integer(app));
}

void
rec_purge_prune(struct rec *r, const json_t *doc)
{
	bool changed = false;
	bc_err err = {0};
	size_t i;
	json_t *v;

	json_array_foreach(r->purge, i, v)
	{
		char id[32];
		snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(v));
		/* back in the target: its volumes are its own again; gone: done */
		if ((r->target && bc_target_find_app(r->target, id, NULL, 0) != NULL) ||
		    (doc != NULL && bc_statedoc_find(doc, json_integer_value(v)) == NULL)) {
			json_array_remove(r->purge, i--);
			changed = true;
		}
	}
	if (changed && bc_write_json_atomic(r->purgefile, r->purge, 0600, &err) < 0)
		log_warnx("%s", err.msg);
}

/* The state document (lib/plan/statedoc.h) after a converge (cur: what
 * Docker has now, NULL if it could not be seen); without an engine (Docker
 * away) it still says why. */
static json_t *
state_doc(const bc_state *cur, const bc_state *target, const bc_converge *c, int rc,
	  const bc_err *err, uint64_t gen)
{
	bc_statedoc_in in = {.generation = gen,
			     .current = cur,
			     .target = target,
			     .c = c,
			     .error = rc < 0 ? err->msg : NULL};
	return bc_statedoc_build(&in);
}

/* Which lock directories stay: those of apps outside our scope, and of
 * services the target wants or Docker still has. */
struct keep {
	const struct rec *r;
	const bc_state *target, *cur;
};

static bool
keep_lockdir(void *ud, int64_t app_id, const char *service)
{
	const struct keep *k = ud;
	const bc_app *t = bc_state_app(k->target, app_id), *c = bc_state_app(k->cur, app_id);

	if (!rec_in_scope(k->r, app_id))
		return true;
	if (service == NULL)
		return t != NULL || c != NULL;
	return (t != NULL && bc_app_service(t, service) != NULL) ||
	       (c != NULL && bc_app_service(c, service) != NULL);
}

static void
prune_lockdirs(struct rec *r, const bc_state *target, const bc_state *cur)
{
	struct keep k = {r, target, cur};
	bc_err err = {0};
	int n = bc_lock_prune(r->lockdir, keep_lockdir, &k, &err);

	if (n < 0)
		log_warnx("lock directories: %s", err.msg);
	else if (n > 0)
		log_info("removed %d lock director%s of services gone from the target and Docker",
			 n, n == 1 ? "y" : "ies");
}

int
rec_state_body(struct rec *r, bc_body_state *st, bc_err *err)
{
	json_t *doc = r->state_doc ? json_deep_copy(r->state_doc) : json_object();
	int rc;

	if (doc == NULL)
		return bc_err_sys(err, "state");
	/* the last converge's document, with a newer target's releases (no
	 * converge has run on it yet), what is busy and what comes now */
	if (r->done_gen < r->generation && r->target != NULL)
		bc_statedoc_pending(doc, r->target);
	bc_statedoc_overlay(doc, r->downloads, r->busy);
	rc = bc_statedoc_to_msg(doc, st, err);
	json_decref(doc);
	st->generation = r->done_gen;
	st->instance = r->instance;
	st->settled = r->settled;
	return rc;
}

static void
publish(struct rec *r)
{
	bc_msg m = {.type = BC_MSG_STATE};
	bc_err err = {0};

	if (rec_state_body(r, &m.body.state, &err) < 0 || bc_send(r->d->pub, &m, &err) < 0)
		log_warnx("publish state: %s", err.msg);
	bc_msg_clear(&m);
}

/* --- what a round posts back (run on the loop) ------------------------- */

struct post_json {
	struct rec *r;
	char key[192];
	json_t *v; /* NULL: delete key */
	bool busy; /* into r->busy (v: the whole new object), else r->downloads */
};

static void
posted_json(void *ud)
{
	struct post_json *p = ud;

	if (p->busy) {
		json_decref(p->r->busy);
		p->r->busy = p->v;
	} else if (p->v != NULL) {
		json_object_set_new(p->r->downloads, p->key, p->v);
	} else {
		json_object_del(p->r->downloads, p->key);
	}
	free(p);
}

static void
post_json(struct rec *r, const char *key, json_t *v, bool busy)
{
	struct post_json *p = calloc(1, sizeof(*p));

	if (p == NULL || (v == NULL && busy)) {
		json_decref(v);
		free(p);
		return; /* the state shows less for a moment: not worth failing for */
	}
	*p = (struct post_json){.r = r, .v = v, .busy = busy};
	if (key != NULL)
		snprintf(p->key, sizeof(p->key), "%s", key);
	if (bc_pool_post(r->pool, posted_json, p) < 0) {
		json_decref(v);
		free(p);
	}
}

/* Images come through the fetcher daemon; while one comes, its progress is
 * in the state (downloads: service -> image, percent, bytes). */
struct fetching {
	struct rec *r;
	const bc_step *s;
	char error[512];
};

static void
fetch_progress(void *ud, size_t i, unsigned percent, uint64_t current, uint64_t total)
{
	struct fetching *fx = ud;
	char key[192];
	(void)i;
	bc_statedoc_key(key, sizeof(key), fx->s->app->app_id, fx->s->target->name);
	post_json(fx->r, key,
		  json_pack("{s:s, s:i, s:I, s:I}", "image", fx->s->image, "percent", (int)percent,
			    "current", (json_int_t)current, "total", (json_int_t)total),
		  false);
}

static void
fetch_done(void *ud, size_t i, bool ok, const char *error)
{
	struct fetching *fx = ud;
	(void)i;
	if (!ok)
		snprintf(fx->error, sizeof(fx->error), "%s", error ? error : "failed");
}

/* A pull's end, told to the loop's backoff table. */
struct pull_end {
	struct rec *r;
	bool ok;
	uint64_t mono, wall;
	char image[512];
	char error[512];
};

static void
pull_ended(void *ud)
{
	struct pull_end *p = ud;

	if (p->ok)
		bc_pull_backoff_ok(&p->r->pulls, p->image);
	else
		bc_pull_backoff_failed(&p->r->pulls, p->image, p->error, p->mono, p->wall,
				       p->r->pull_cap_ms, NULL, 0);
	free(p);
}

static int
fetch_via_fetcher(void *ud, bc_docker *d, const bc_step *s, bc_err *err)
{
	struct round *rd = ud;
	struct rec *r = rd->r;
	struct fetching fx = {.r = r, .s = s};
	struct pull_end *p;
	char key[192], why[1024], when[96];
	uint64_t mono, wall;
	int failed;

	(void)d;
	/* a pull that failed lately waits its turn: no request, no log */
	if (bc_pull_backoff_waits(&rd->pulls, s->image, bc_mono_ms(), bc_wall_ms(), why,
				  sizeof(why)))
		return bc_err_set(err, BC_EHTTP, "fetch '%s': %s", s->image, why);
	failed = bc_client_fetch(NULL, &s->image, 1, NULL, fetch_progress, fetch_done, &fx,
				 60 * 60 * 1000, err);
	bc_statedoc_key(key, sizeof(key), s->app->app_id, s->target->name);
	post_json(r, key, NULL, false);
	if (failed < 0)
		return bc_err_wrap(err, "fetch '%s'", s->image);
	/* the loop's table learns it; the words of the next try are said
	 * here from the same clock */
	mono = bc_mono_ms();
	wall = bc_wall_ms();
	if (failed > 0)
		bc_pull_backoff_after(&rd->pulls, s->image, mono, wall, r->pull_cap_ms, when,
				      sizeof(when));
	if ((p = calloc(1, sizeof(*p))) != NULL) {
		*p = (struct pull_end){.r = r, .ok = failed == 0, .mono = mono, .wall = wall};
		snprintf(p->image, sizeof(p->image), "%s", s->image);
		snprintf(p->error, sizeof(p->error), "%s", fx.error);
		if (bc_pool_post(r->pool, pull_ended, p) < 0)
			free(p);
	}
	if (failed > 0)
		return bc_err_set(err, BC_EHTTP, "fetch '%s': %s; %s", s->image, fx.error, when);
	return 0;
}

/* After an update settles: the fetcher removes the images it pulled that no
 * service of the target uses any more. */
static void
cleanup_images(const bc_state *target)
{
	bc_msg req = {.type = BC_MSG_CLEANUP}, rep = {.type = BC_MSG_NONE};
	bc_err err = {0};

	for (size_t a = 0; a < target->n_apps; a++)
		for (size_t s = 0; s < target->apps[a].n_services; s++)
			if (!bc_strs_has(&req.body.cleanup.keep, target->apps[a].services[s].image))
				bc_strs_add(&req.body.cleanup.keep,
					    target->apps[a].services[s].image);
	if (bc_call("fetcher", &req, &rep, 120 * 1000, &err) < 0)
		log_warnx("image cleanup: %s", err.msg);
	else if (rep.type == BC_MSG_CLEANUP_DONE)
		for (size_t i = 0; i < rep.body.cleanup_done.removed.n; i++)
			log_info("image cleanup removed %s", rep.body.cleanup_done.removed.v[i]);
	else if (rep.type == BC_MSG_ERROR)
		log_warnx("image cleanup: %s", rep.body.error.message);
	if (rep.type != BC_MSG_NONE)
		bc_msg_clear(&rep);
	bc_strs_free(&req.body.cleanup.keep);
}

/* Each step as it ends goes out on PUB, from the loop. */
struct post_step {
	struct rec *r;
	bc_msg m;
	char said[1024]; /* for the device's log, or "" */
	bool locked;	 /* the app holds its update lock */
	bool started;	 /* a CREATE that started the container */
};

/* "Updates are locked" once while an app holds its lock */
static void
locked_said(struct rec *r, const bc_body_step *st, bool locked)
{
	size_t i;

	for (i = 0; i < r->n_locked_said; i++)
		if (r->locked_said[i] == st->app_id)
			break;
	if (st->ok && i < r->n_locked_said) /* the wait is over */
		r->locked_said[i] = r->locked_said[--r->n_locked_said];
	if (!locked || i < r->n_locked_said)
		return;
	if (r->n_locked_said < sizeof(r->locked_said) / sizeof(r->locked_said[0]))
		r->locked_said[r->n_locked_said++] = st->app_id;
	bc_daemon_syslog(r->d, st->app_id, NULL, "Updates are locked: %s; waiting",
			 st->error ? st->error : "the app holds its lock");
}

static void
posted_step(void *ud)
{
	struct post_step *p = ud;
	bc_err err = {0};

	if (bc_send(p->r->d->pub, &p->m, &err) < 0)
		log_warnx("publish step: %s", err.msg);
	if (p->said[0])
		bc_daemon_syslog(p->r->d, p->m.body.step.app_id, p->m.body.step.service, "%s",
				 p->said);
	if (p->started) /* a CREATE that started it too: the supervisor says both */
		bc_daemon_syslog(p->r->d, p->m.body.step.app_id, p->m.body.step.service,
				 "Started service '%s'", p->m.body.step.service);
	if (p->locked || strcmp(p->m.body.step.action, "TAKE_LOCK") == 0)
		locked_said(p->r, &p->m.body.step, p->locked);
	bc_msg_clear(&p->m);
	free(p);
}

static void
on_step(void *ud, const bc_step *s, int rc, const bc_err *err)
{
	struct round *rd = ud;
	struct post_step *p = calloc(1, sizeof(*p));
	const char *what = s->current	? s->current->name
			   : s->target	? s->target->name
			   : s->volume	? s->volume->name
			   : s->network ? s->network->name
					: NULL;

	if (rc < 0)
		log_warnx("%s %s: %s", bc_action_name(s->action), what ? what : "", err->msg);
	if (p == NULL)
		return;
	p->r = rd->r;
	if (!bc_step_say(s, rc, rc < 0 ? err->msg : NULL, p->said, sizeof(p->said)))
		p->said[0] = '\0';
	p->locked = rc < 0 && err->code == BC_ELOCKED;
	p->started = rc == 0 && what != NULL &&
		     ((s->action == BC_STEP_CREATE && s->target && s->target->running) ||
		      s->action == BC_STEP_HANDOVER);
	if (p->locked) /* waiting, not failing: said once (locked_said) */
		p->said[0] = '\0';
	p->m.type = BC_MSG_STEP;
	p->m.body.step.generation = rd->gen;
	p->m.body.step.action = strdup(bc_action_name(s->action));
	p->m.body.step.app_id = s->app ? s->app->app_id : 0;
	p->m.body.step.service = what ? strdup(what) : NULL;
	p->m.body.step.ok = rc == 0;
	p->m.body.step.error = rc < 0 ? strdup(err->msg) : NULL;
	if (bc_pool_post(rd->r->pool, posted_step, p) < 0) {
		bc_msg_clear(&p->m);
		free(p);
	}
}

/* A round is about to run: its apps are busy ("Downloading" while one of
 * its images comes, else "Updating") until the converge ends. */
/* The plan waits on an app's update lock: said on the loop, once a wait */
struct post_locked {
	struct rec *r;
	bc_body_step st;
	char reason[160];
};

static void
posted_locked(void *ud)
{
	struct post_locked *p = ud;
	locked_said(p->r, &p->st, true);
	free(p);
}

static void
on_wait(void *ud, const bc_plan *plan)
{
	struct round *rd = ud;

	for (size_t i = 0; i < plan->n; i++) {
		const bc_step *s = &plan->steps[i];
		struct post_locked *p;
		if (s->app == NULL || s->action != BC_STEP_NOOP ||
		    strstr(s->reason, "locked by the app") == NULL ||
		    (p = calloc(1, sizeof(*p))) == NULL)
			continue;
		p->r = rd->r;
		snprintf(p->reason, sizeof(p->reason), "%s", s->reason);
		p->st = (bc_body_step){.app_id = s->app->app_id, .error = p->reason};
		if (bc_pool_post(rd->r->pool, posted_locked, p) < 0)
			free(p);
	}
}

static void
on_plan(void *ud, const bc_plan *plan)
{
	struct round *rd = ud;
	json_t *busy = json_object();

	for (size_t i = 0; i < plan->n; i++) {
		const bc_step *s = &plan->steps[i];
		char key[32];
		const char *have;
		if (s->app == NULL || s->action == BC_STEP_NOOP)
			continue;
		bc_statedoc_key(key, sizeof(key), s->app->app_id, NULL);
		have = json_string_value(json_object_get(busy, key));
		if (s->action == BC_STEP_FETCH || have == NULL)
			json_object_set_new(
			    busy, key,
			    json_string(s->action == BC_STEP_FETCH ? "Downloading" : "Updating"));
		else if (strcmp(have, "Downloading") != 0)
			json_object_set_new(busy, key, json_string("Updating"));
	}
	post_json(rd->r, NULL, busy, true);
}

/* What a round ends with, posted before its cleanup: whoever waits on the
 * settled state need not wait for the image cleanup too. */
struct result {
	struct rec *r;
	uint64_t gen;
	int rc;
	bool settled;
	json_t *sdoc;
};

static void
posted_result(void *ud)
{
	struct result *res = ud;
	struct rec *r = res->r;

	json_object_clear(r->busy);
	r->done_gen = res->gen;
	r->settled = res->rc == 0 && res->settled;
	if (r->settled && res->sdoc != NULL)
		rec_purge_prune(r, res->sdoc);
	if (r->settled && r->generation == res->gen)
		r->force = false; /* --force lasts until its target settles */
	r->failures = res->rc < 0 ? r->failures + 1 : 0;
	r->retry_at = bc_mono_ms() + (res->rc < 0  ? bc_doubling_ms(r->failures - 1, 1000, 60000)
				      : r->settled ? 0
						   : 1000);
	if (res->sdoc != NULL) { /* else (out of memory) the last one stays */
		json_decref(r->state_doc);
		r->state_doc = res->sdoc;
	}
	publish(r);
	free(res);
}

static void
round_work(void *ud)
{
	struct round *rd = ud;
	struct rec *r = rd->r;
	bc_exec_env env = {.lockdir = r->lockdir,
			   .fetch = fetch_via_fetcher,
			   .lock = rec_lock,
			   .guard = rec_guard,
			   .on_step = on_step,
			   .ud = rd,
			   .pool = r->pool};
	bc_state target = {0}, cur = {0};
	bc_converge c = {0};
	bc_err err = {0}, err2 = {0};
	bool have_cur, parsed = false;
	bc_app_facts *facts = NULL;
	size_t nfacts = 0;
	struct result *res = calloc(1, sizeof(*res));
	int64_t purge[BC_STATE_MAX_APPS];
	size_t n_purge = 0, i;
	json_t *v;
	uint64_t t0;
	int rc;

	json_array_foreach(rd->purge, i, v) if (n_purge < BC_STATE_MAX_APPS) purge[n_purge++] =
	    json_integer_value(v);

	rec_locks_refresh(rd);
	if (rec_lock_facts(rd, &facts, &nfacts) < 0)
		log_warnx("lock facts: out of memory");
	t0 = bc_mono_ms();
	if (r->eng != NULL)
		bc_engine_set_env(r->eng, &env);
	if (r->eng == NULL && (r->eng = bc_engine_new(r->workers, &env, &err)) == NULL) {
		rc = -1;
	} else {
		bc_target_opts o = {.lockdir = r->lockdir};
		rc = bc_target_parse(rd->doc, &o, &target, &err);
		parsed = rc == 0;
		if (rc == 0) {
			c = (bc_converge){.now_ms = bc_wall_ms(),
					  .purge = purge,
					  .n_purge = n_purge,
					  .scope = r->scope,
					  .n_scope = r->n_scope,
					  .use_locks = true,
					  .facts = facts,
					  .n_facts = nfacts,
					  .on_plan = on_plan,
					  .on_wait = on_wait,
					  .ud = rd};
			rc = bc_engine_converge(r->eng, &target, &c, &err);
		}
	}
	if (rc < 0) {
		log_warnx("converge: %s", err.msg);
		if (err.code == BC_ESYS && r->eng != NULL) { /* the engine went away */
			bc_engine_free(r->eng);
			r->eng = NULL;
		}
	} else if (c.rounds > 0) {
		log_info("generation %llu: %zu step(s) in %d round(s)%s%s",
			 (unsigned long long)rd->gen, c.steps_done, c.rounds,
			 c.settled ? ", settled" : "; waiting: ", c.waiting);
	}
	c.elapsed_ms = bc_mono_ms() - t0;
	have_cur =
	    r->eng != NULL && bc_engine_observe(r->eng, r->scope, r->n_scope, &cur, &err2) == 0;
	if (have_cur && parsed) /* a failed update too: dirs must not pile up */
		prune_lockdirs(r, &target, &cur);
	if (res != NULL) {
		*res = (struct result){
		    .r = r,
		    .gen = rd->gen,
		    .rc = rc,
		    .settled = c.settled,
		    .sdoc = state_doc(have_cur ? &cur : NULL, &target, &c, rc, &err, rd->gen)};
		if (bc_pool_post(r->pool, posted_result, res) < 0) {
			json_decref(res->sdoc);
			free(res);
		}
	}
	if (rc == 0 && c.settled && c.steps_done > 0)
		cleanup_images(&target);
	if (have_cur)
		bc_state_free(&cur);
	bc_converge_clear(&c);
	free(facts);
	bc_state_free(&target);
}

static void
round_done(void *ud, bool ran)
{
	struct round *rd = ud;

	(void)ran; /* not run: the daemon stops; the next run starts anew */
	rd->r->running = false;
	rd->r->round = NULL;
	json_decref(rd->doc);
	json_decref(rd->purge);
	bc_pull_backoff_clear(&rd->pulls);
	free(rd);
}

/* On the loop: send a round out with copies of what it needs. */
static void
round_start(struct rec *r)
{
	struct round *rd = calloc(1, sizeof(*rd));
	bc_err err = {0};

	if (rd == NULL) {
		log_warnx("converge: out of memory");
		r->retry_at = bc_mono_ms() + 1000;
		return;
	}
	rd->r = r;
	rd->gen = r->generation;
	rd->purge = json_deep_copy(r->purge);
	rd->doc = json_deep_copy(r->target);
	bc_held_copy(&rd->leases, &r->leases);
	/* locks are overridden by up --force, or by the device config */
	rd->force_now = r->force || bc_target_override_lock(rd->doc);
	r->wake = false;
	r->running = true;
	r->round = rd;
	if (rd->doc == NULL || rd->purge == NULL ||
	    bc_pull_backoff_copy(&rd->pulls, &r->pulls) < 0 ||
	    bc_pool_submit(r->pool, round_work, round_done, rd, &err) < 0) {
		log_warnx("converge: %s", err.msg[0] ? err.msg : "out of memory");
		round_done(rd, false);
		r->retry_at = bc_mono_ms() + 1000;
	}
}

/* When the next round is due (the loop asks before every wait). */
static uint64_t
round_due(void *ud)
{
	struct rec *r = ud;

	if (r->running || r->stopping || r->target == NULL)
		return UINT64_MAX;
	if (r->generation != r->done_gen || r->wake)
		return 0;
	if (!r->settled) /* waiting on a timer (hand-over) or retrying an error */
		return r->retry_at;
	return UINT64_MAX;
}

static void
round_fire(void *ud)
{
	round_start(ud);
}

int
rec_rounds_start(struct rec *r, bc_err *err)
{
	return bc_daemon_timer(r->d, round_due, round_fire, r, err);
}
