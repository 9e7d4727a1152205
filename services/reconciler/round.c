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

/* r->core.purge as kept in purgefile: [app id, ...] */
static int
write_purge(struct rec *r, bc_err *err)
{
	json_t *a = json_array();
	int rc;

	for (size_t i = 0; a != NULL && i < r->core.n_purge; i++)
		json_array_append_new(a, json_integer(r->core.purge[i]));
	if (a == NULL)
		return bc_err_set(err, BC_ESYS, "%s: out of memory", r->purgefile);
	rc = bc_write_json_atomic(r->purgefile, a, 0600, err);
	json_decref(a);
	return rc;
}

void
rec_load_purge(struct rec *r)
{
	json_t *a = bc_read_json(r->purgefile, 0, 1 << 20, NULL);
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v) if (json_is_integer(v) && json_integer_value(v) > 0)
	    bc_recon_purge_add(&r->core, json_integer_value(v));
	json_decref(a);
}

int
rec_persist(struct rec *r, bc_err *err)
{
	if (write_purge(r, err) < 0)
		return -1;
	return bc_write_json_atomic(r->statefile, r->target->doc, 0600, err);
}

void
rec_purge_add(struct rec *r, int64_t app)
{
	bc_recon_purge_add(&r->core, app);
}

struct prune {
	struct rec *r;
	const bc_body_state *doc;
};

/* back in the target: its volumes are its own again; gone: done */
static bool
purge_keeps(void *ud, int64_t app)
{
	struct prune *p = ud;
	char id[32];

	snprintf(id, sizeof(id), "%lld", (long long)app);
	if (p->r->target && bc_target_find_app(p->r->target->doc, id, NULL, 0) != NULL)
		return false;
	return p->doc == NULL || bc_statebody_find(p->doc, app) != NULL;
}

void
rec_purge_prune(struct rec *r, const bc_body_state *doc)
{
	struct prune p = {r, doc};
	bc_err err = {0};

	if (bc_recon_purge_prune(&r->core, purge_keeps, &p) && write_purge(r, &err) < 0)
		log_warnx("%s", err.msg);
}

/* The state (lib/plan/statedoc.h) after a converge (cur: what Docker has
 * now, NULL if it could not be seen), typed into out; without an engine
 * (Docker away) it still says why. -1 when out of memory. */
static int
state_doc(const bc_state *cur, const bc_state *target, const bc_converge *c, int rc,
	  const bc_err *err, uint64_t gen, bc_body_state *out)
{
	bc_statedoc_in in = {.generation = gen,
			     .current = cur,
			     .target = target,
			     .c = c,
			     .error = rc < 0 ? err->msg : NULL};
	json_t *doc = bc_statedoc_build(&in);
	bc_err terr = {0};
	int ok = doc != NULL && bc_statedoc_to_msg(doc, out, &terr) == 0 ? 0 : -1;

	if (ok < 0) {
		log_warnx("state: %s", terr.msg[0] ? terr.msg : "out of memory");
		bc_statebody_free(out);
	}
	json_decref(doc);
	return ok;
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
	int rc = bc_statebody_copy(st, &r->sdoc, err);

	/* the last converge's state, with a newer target's releases (no
	 * converge has run on it yet), what is busy and what comes now */
	if (rc == 0 && r->core.done_gen < r->core.generation && r->target != NULL)
		rc = bc_statebody_pending(st, &r->target->st);
	if (rc == 0)
		rc = bc_statebody_overlay(st, r->downloads, r->n_downloads, r->busy, r->n_busy);
	if (rc == 0)
		rec_trial_overlay(r, st);
	if (rc == 0)
		rec_health_overlay(r, st);
	if (rc < 0 && err->msg[0] == '\0')
		bc_err_set(err, BC_ESYS, "state: out of memory");
	st->generation = r->core.done_gen;
	st->instance = r->instance;
	st->settled = r->core.settled;
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

/* An image coming for a service (dl), or done (gone). */
struct post_download {
	struct rec *r;
	bc_download dl;
	bool gone;
};

static void
posted_download(void *ud)
{
	struct post_download *p = ud;
	struct rec *r = p->r;
	size_t i;

	for (i = 0; i < r->n_downloads; i++)
		if (r->downloads[i].app_id == p->dl.app_id &&
		    strcmp(r->downloads[i].service, p->dl.service) == 0)
			break;
	if (p->gone) {
		if (i < r->n_downloads)
			r->downloads[i] = r->downloads[--r->n_downloads];
	} else if (i < r->n_downloads) {
		r->downloads[i] = p->dl;
	} else {
		bc_download *v = realloc(r->downloads, (r->n_downloads + 1) * sizeof(*v));
		if (v != NULL) { /* else the state shows less for a moment */
			r->downloads = v;
			v[r->n_downloads++] = p->dl;
		}
	}
	free(p);
}

static void
post_download(struct rec *r, const bc_step *s, unsigned percent, uint64_t current, uint64_t total,
	      bool gone)
{
	struct post_download *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return; /* the state shows less for a moment: not worth failing for */
	*p = (struct post_download){
	    .r = r,
	    .gone = gone,
	    .dl = {
		.app_id = s->app->app_id, .percent = percent, .current = current, .total = total}};
	snprintf(p->dl.service, sizeof(p->dl.service), "%s", s->target->name);
	snprintf(p->dl.image, sizeof(p->dl.image), "%s", s->image);
	if (bc_pool_post(r->pool, posted_download, p) < 0)
		free(p);
}

/* The apps a round's plan is busy with, replacing those of its last. */
struct post_busy {
	struct rec *r;
	bc_busy *busy;
	size_t n;
};

static void
posted_busy(void *ud)
{
	struct post_busy *p = ud;

	free(p->r->busy);
	p->r->busy = p->busy;
	p->r->n_busy = p->n;
	free(p);
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
	(void)i;
	post_download(fx->r, fx->s, percent, current, total, false);
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
	char why[1024], when[96];
	uint64_t mono, wall;
	int failed;

	(void)d;
	/* a pull that failed lately waits its turn: no request, no log */
	if (bc_pull_backoff_waits(&rd->pulls, s->image, bc_mono_ms(), bc_wall_ms(), why,
				  sizeof(why)))
		return bc_err_set(err, BC_EHTTP, "fetch '%s': %s", s->image, why);
	failed = bc_client_fetch(NULL, &s->image, 1, NULL, fetch_progress, fetch_done, &fx,
				 60 * 60 * 1000, err);
	post_download(r, s, 0, 0, 0, true);
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
 * service of the target uses any more, nor of the release before it (the
 * last that settled: the way back). */
static void
cleanup_images(const bc_release *target, const bc_release *before)
{
	bc_msg req = {.type = BC_MSG_CLEANUP}, rep = {.type = BC_MSG_NONE};
	bc_err err = {0};

	for (size_t i = 0; i < target->n_images; i++)
		bc_strs_add(&req.body.cleanup.keep, target->images[i]);
	for (size_t i = 0; before != NULL && i < before->n_images; i++)
		if (!bc_strs_has(&req.body.cleanup.keep, before->images[i]))
			bc_strs_add(&req.body.cleanup.keep, before->images[i]);
	if (bc_call("fetcher", &req, &rep, 120 * 1000, &err) < 0)
		log_warnx("image cleanup: %s", err.msg);
	else if (rep.type == BC_MSG_CLEANUP_DONE)
		log_info("image cleanup: %zu removed; kept the images of this release%s",
			 rep.body.cleanup_done.removed.n,
			 before != NULL && before != target ? " and of the one before it" : "");
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
	if (bc_recon_say_locked(&r->core, st->app_id, st->ok, locked))
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
	if (p->m.body.step.generation == p->r->core.generation)
		rec_trial_step(p->r, &p->m.body.step, p->locked);
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
	struct post_busy *p = calloc(1, sizeof(*p));

	if (p == NULL || (plan->n > 0 && (p->busy = calloc(plan->n, sizeof(*p->busy))) == NULL)) {
		free(p);
		return; /* the state shows less for a moment */
	}
	p->r = rd->r;
	for (size_t i = 0; i < plan->n; i++) {
		const bc_step *s = &plan->steps[i];
		size_t k;
		if (s->app == NULL || s->action == BC_STEP_NOOP)
			continue;
		for (k = 0; k < p->n && p->busy[k].app_id != s->app->app_id; k++)
			;
		if (k == p->n)
			p->busy[p->n++] = (bc_busy){.app_id = s->app->app_id};
		if (s->action == BC_STEP_FETCH)
			p->busy[k].downloading = true;
	}
	if (bc_pool_post(rd->r->pool, posted_busy, p) < 0) {
		free(p->busy);
		free(p);
	}
}

/* What a round ends with, posted before its cleanup: whoever waits on the
 * settled state need not wait for the image cleanup too. */
struct result {
	struct rec *r;
	uint64_t gen;
	int rc;
	bool settled;
	bool sdoc_ok; /* sdoc was made (else, out of memory, the last stays) */
	bc_body_state sdoc;
	bool seen;	   /* the trial's apps were looked at: obs */
	bc_trial_obs *obs; /* each container of them */
	size_t n_obs;
	bool sick_seen; /* every container was looked at: these are unhealthy */
	bc_sick_obs *sick;
	size_t n_sick;
};

void
rec_remember_settled(struct rec *r)
{
	bc_err err = {0};

	bc_release_unref(r->last_good);
	r->last_good = bc_release_ref(r->target);
	if (bc_write_json_atomic(r->settledfile, r->target->doc, 0600, &err) < 0)
		log_warnx("keep the settled release: %s", err.msg);
}

static void
posted_result(void *ud)
{
	struct result *res = ud;
	struct rec *r = res->r;

	free(r->busy);
	r->busy = NULL;
	r->n_busy = 0;
	if (bc_recon_ended(&r->core, res->gen, res->rc, res->settled, bc_mono_ms()) && res->sdoc_ok)
		rec_purge_prune(r, &res->sdoc);
	if (res->sdoc_ok) { /* else (out of memory) the last one stays */
		bc_statebody_free(&r->sdoc);
		r->sdoc = res->sdoc;
		r->sdoc_ok = true;
	}
	/* the trial judges what the round saw of its apps (a roll back
	 * makes a new generation: the state said next is of it) */
	if (res->gen == r->core.generation && res->seen)
		rec_trial_seen(r, res->rc == 0 && res->settled, res->obs, res->n_obs);
	if (res->sick_seen)
		rec_health_seen(r, res->sick, res->n_sick);
	publish(r);
	/* after the state is out: whoever waits on it does not wait for
	 * the file's fsync too */
	if (r->core.settled && res->gen == r->core.generation && r->last_good != r->target &&
	    rec_trial_committable(r))
		rec_remember_settled(r);
	free(res->obs);
	free(res->sick);
	free(res);
}

/* Restart policy of a target service: does an exit 0 end it well? */
static bool
one_shot(const bc_service *s)
{
	const char *p = json_string_value(json_object_get(
	    json_object_get(json_object_get(s->spec, "HostConfig"), "RestartPolicy"), "Name"));
	return p == NULL || *p == '\0' || strcmp(p, "no") == 0 || strcmp(p, "on-failure") == 0;
}

/* What Docker says of each container of the apps on trial (the target's
 * services, the container made for each: same config hash). */
static int
trial_observe(struct round *rd, bc_docker *d, const bc_state *target, const bc_state *cur,
	      bc_trial_obs **out, size_t *n)
{
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < rd->n_trial; i++) {
		const bc_app *ta = bc_state_app(target, rd->trial_apps[i]);
		const bc_app *ca = bc_state_app(cur, rd->trial_apps[i]);
		for (size_t k = 0; ta != NULL && k < ta->n_services; k++) {
			const bc_service *ts = &ta->services[k], *cs = NULL;
			bc_trial_obs *o;
			json_t *in;
			bc_err err = {0};
			for (size_t j = 0; ca != NULL && j < ca->n_services && cs == NULL; j++)
				if (strcmp(ca->services[j].name, ts->name) == 0 &&
				    ca->services[j].config_hash && ts->config_hash &&
				    strcmp(ca->services[j].config_hash, ts->config_hash) == 0)
					cs = &ca->services[j];
			if (*n == cap) {
				bc_trial_obs *v = realloc(*out, (cap = cap * 2 + 8) * sizeof(*v));
				if (v == NULL)
					return -1;
				*out = v;
			}
			o = &(*out)[(*n)++];
			*o = (bc_trial_obs){.app_id = ta->app_id,
					    .wanted = ts->running,
					    .one_shot = one_shot(ts),
					    .exit_code = -1};
			snprintf(o->service, sizeof(o->service), "%s", ts->name);
			if (cs == NULL)
				continue; /* not made yet */
			if ((in = bc_docker_container_inspect(d, cs->container_id, &err)) == NULL) {
				(*n)--; /* gone meanwhile: the next round sees */
				continue;
			}
			{
				json_t *state = json_object_get(in, "State");
				const char *h = json_string_value(
				    json_object_get(json_object_get(state, "Health"), "Status"));
				snprintf(o->container, sizeof(o->container), "%s",
					 cs->container_id);
				o->created = cs->created;
				o->restarting = json_is_true(json_object_get(state, "Restarting"));
				o->running = json_is_true(json_object_get(state, "Running")) &&
					     !o->restarting;
				o->exit_code =
				    (int)json_integer_value(json_object_get(state, "ExitCode"));
				o->restarts = (uint64_t)json_integer_value(
				    json_object_get(in, "RestartCount"));
				o->health = h == NULL			  ? BC_HEALTH_NONE
					    : strcmp(h, "healthy") == 0	  ? BC_HEALTH_HEALTHY
					    : strcmp(h, "unhealthy") == 0 ? BC_HEALTH_UNHEALTHY
					    : strcmp(h, "starting") == 0  ? BC_HEALTH_STARTING
									  : BC_HEALTH_NONE;
			}
			json_decref(in);
		}
	}
	return 0;
}

/* The containers cur has unhealthy, outside the trial (its apps roll back
 * instead), each with its service's period (the target's label, else
 * BC_UNHEALTHY_RESTART). */
static int
sick_observe(const struct round *rd, const bc_state *cur, bc_sick_obs **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	for (size_t a = 0; a < cur->n_apps; a++) {
		const bc_app *ca = &cur->apps[a];
		const bc_app *ta = bc_state_app(&rd->rel->st, ca->app_id);
		bool trial = false;
		for (size_t i = 0; i < rd->n_trial; i++)
			trial |= rd->trial_apps[i] == ca->app_id;
		for (size_t k = 0; !trial && k < ca->n_services; k++) {
			const bc_service *cs = &ca->services[k];
			const bc_service *ts = ta ? bc_app_service(ta, cs->name) : NULL;
			bc_sick_obs *o, *v;
			if (cs->health != BC_HEALTH_UNHEALTHY || !cs->running || *n >= BC_SICK_MAX)
				continue;
			if ((v = realloc(*out, (*n + 1) * sizeof(*v))) == NULL)
				return -1;
			*out = v;
			o = &v[(*n)++];
			*o = (bc_sick_obs){.app_id = ca->app_id,
					   .period_ms = ts && ts->unhealthy_ms >= 0
							    ? (uint64_t)ts->unhealthy_ms
							    : rd->r->unhealthy_ms};
			snprintf(o->service, sizeof(o->service), "%s", cs->name);
			snprintf(o->container, sizeof(o->container), "%s", cs->container_id);
		}
	}
	return 0;
}

/* A restart's end, told to the loop. */
struct post_restart {
	struct rec *r;
	bc_sick_obs o;
	bool ok;
	char error[sizeof(((bc_err *)0)->msg)];
};

static void
posted_restart(void *ud)
{
	struct post_restart *p = ud;
	rec_health_restarted(p->r, &p->o, p->ok, p->error);
	free(p);
}

static void
restart_sick(struct round *rd, bc_docker *d)
{
	for (size_t i = 0; i < rd->n_restart; i++) {
		struct post_restart *p = calloc(1, sizeof(*p));
		bc_err err = {0};
		int rc = bc_docker_container_restart(d, rd->restart[i].container, 10, &err);
		if (p == NULL)
			continue;
		*p = (struct post_restart){.r = rd->r, .o = rd->restart[i], .ok = rc == 0};
		snprintf(p->error, sizeof(p->error), "%s", err.msg);
		if (bc_pool_post(rd->r->pool, posted_restart, p) < 0)
			free(p);
	}
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
	const bc_state *target = &rd->rel->st;
	bc_state cur = {0};
	bc_converge c = {0};
	bc_err err = {0}, err2 = {0};
	bool have_cur;
	bc_app_facts *facts = NULL;
	size_t nfacts = 0;
	struct result *res = calloc(1, sizeof(*res));
	uint64_t t0;
	int rc;

	rec_locks_refresh(rd);
	if (rec_lock_facts(rd, &facts, &nfacts) < 0)
		log_warnx("lock facts: out of memory");
	t0 = bc_mono_ms();
	if (r->eng != NULL)
		bc_engine_set_env(r->eng, &env);
	if (r->eng == NULL && (r->eng = bc_engine_new(r->workers, &env, &err)) == NULL) {
		rc = -1;
	} else {
		c = (bc_converge){.now_ms = bc_wall_ms(),
				  .purge = rd->purge,
				  .n_purge = rd->n_purge,
				  .scope = r->scope,
				  .n_scope = r->n_scope,
				  .use_locks = true,
				  .facts = facts,
				  .n_facts = nfacts,
				  .on_plan = on_plan,
				  .on_wait = on_wait,
				  .ud = rd};
		rc = bc_engine_converge(r->eng, target, &c, &err);
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
	if (r->eng != NULL && rd->n_restart > 0)
		restart_sick(rd, bc_engine_docker(r->eng));
	have_cur =
	    r->eng != NULL && bc_engine_observe(r->eng, r->scope, r->n_scope, &cur, &err2) == 0;
	if (have_cur) /* a failed update too: dirs must not pile up */
		prune_lockdirs(r, target, &cur);
	if (res != NULL) {
		*res = (struct result){.r = r, .gen = rd->gen, .rc = rc, .settled = c.settled};
		res->sdoc_ok = state_doc(have_cur ? &cur : NULL, target, &c, rc, &err, rd->gen,
					 &res->sdoc) == 0;
		if (have_cur && rd->n_trial > 0)
			res->seen = trial_observe(rd, bc_engine_docker(r->eng), target, &cur,
						  &res->obs, &res->n_obs) == 0;
		if (have_cur)
			res->sick_seen = sick_observe(rd, &cur, &res->sick, &res->n_sick) == 0;
		if (bc_pool_post(r->pool, posted_result, res) < 0) {
			bc_statebody_free(&res->sdoc);
			free(res->obs);
			free(res->sick);
			free(res);
		}
	}
	if (rc == 0 && c.settled && (c.steps_done > 0 || rd->cleanup))
		cleanup_images(rd->rel, rd->kept);
	if (have_cur)
		bc_state_free(&cur);
	bc_converge_clear(&c);
	free(facts);
}

static void
round_done(void *ud, bool ran)
{
	struct round *rd = ud;

	(void)ran; /* not run: the daemon stops; the next run starts anew */
	bc_recon_gone(&rd->r->core);
	rd->r->round = NULL;
	bc_release_unref(rd->rel);
	bc_release_unref(rd->kept);
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
		bc_recon_not_sent(&r->core, bc_mono_ms());
		return;
	}
	rd->r = r;
	rd->gen = r->core.generation;
	memcpy(rd->purge, r->core.purge, r->core.n_purge * sizeof(rd->purge[0]));
	rd->n_purge = r->core.n_purge;
	rd->rel = bc_release_ref(r->target);
	rd->kept = bc_release_ref(r->last_good);
	bc_held_copy(&rd->leases, &r->leases);
	/* locks are overridden by up --force, or by the device config */
	rd->force_now = r->core.force || rd->rel->override_lock;
	rd->cleanup = r->cleanup_due;
	memcpy(rd->restart, r->restart, r->n_restart * sizeof(r->restart[0]));
	rd->n_restart = r->n_restart;
	r->n_restart = 0;
	r->cleanup_due = false;
	for (size_t i = 0; i < r->trial.n_apps && r->trial.on; i++)
		rd->trial_apps[rd->n_trial++] = r->trial.apps[i];
	bc_recon_sent(&r->core);
	r->round = rd;
	if (bc_pull_backoff_copy(&rd->pulls, &r->pulls) < 0 ||
	    bc_pool_submit(r->pool, round_work, round_done, rd, &err) < 0) {
		log_warnx("converge: %s", err.msg[0] ? err.msg : "out of memory");
		round_done(rd, false);
		bc_recon_not_sent(&r->core, bc_mono_ms());
	}
}

/* When the next round is due (the loop asks before every wait). */
static uint64_t
round_due(void *ud)
{
	struct rec *r = ud;
	return bc_recon_due(&r->core);
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
