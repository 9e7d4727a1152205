#include "lib/plan/planner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct planner {
	const bc_plan_ctx *ctx;
	bc_plan *out;
	bc_err *err;
	int failed;
};

static bc_step *
emit(struct planner *p, enum bc_action a, const bc_app *app)
{
	bc_step *ns;

	if (p->failed)
		return NULL;
	ns = realloc(p->out->steps, (p->out->n + 1) * sizeof(*ns));
	if (ns == NULL) {
		bc_err_sys(p->err, "plan");
		p->failed = 1;
		return NULL;
	}
	p->out->steps = ns;
	ns = &ns[p->out->n++];
	memset(ns, 0, sizeof(*ns));
	ns->action = a;
	ns->app = app;
	return ns;
}

static void
noop(struct planner *p, const bc_app *app, const bc_service *target, const char *fmt,
     const char *arg)
{
	bc_step *s = emit(p, BC_STEP_NOOP, app);
	if (s != NULL) {
		s->target = target;
		snprintf(s->reason, sizeof(s->reason), fmt, arg);
	}
}

static const char *
image_id(const struct planner *p, const char *ref)
{
	for (size_t i = 0; i < p->ctx->n_images; i++)
		if (strcmp(p->ctx->images[i].ref, ref) == 0)
			return p->ctx->images[i].id;
	return NULL;
}

static const bc_app_facts *
facts(const struct planner *p, int64_t app_id)
{
	for (size_t i = 0; i < p->ctx->n_apps; i++)
		if (p->ctx->apps[i].app_id == app_id)
			return &p->ctx->apps[i];
	return NULL;
}

static bool
all_images_ready(const struct planner *p, const bc_app *t)
{
	for (size_t i = 0; i < t->n_services; i++)
		if (image_id(p, t->services[i].image) == NULL)
			return false;
	return true;
}

static bool
is_running(const bc_service *c)
{
	return c->running;
}

/* Same effective config and same image content: only metadata or the run
 * state may differ. */
static bool
config_equal(const struct planner *p, const bc_service *c, const bc_service *t)
{
	const char *id = image_id(p, t->image);

	return c->config_hash != NULL && t->config_hash != NULL &&
	       strcmp(c->config_hash, t->config_hash) == 0 && id != NULL &&
	       c->image_ref_id != NULL && strcmp(id, c->image_ref_id) == 0;
}

static bool
same_name(const bc_service *c, const bc_service *t)
{
	return c->image_id == t->image_id && c->release_id == t->release_id && c->commit != NULL &&
	       t->commit != NULL && strcmp(c->commit, t->commit) == 0;
}

/* The container that stands for a service: the one that already is what the
 * target asks (same config, same name), else the newest (by creation, then
 * by id for a stable answer); NULL if it has none alive. Creation times are
 * whole seconds, so an old and a new container can tie: matching the target
 * comes first for that reason. */
static const bc_service *
pick(const struct planner *p, const bc_app *c, const char *name, const bc_service *t)
{
	const bc_service *best = NULL;

	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < c->n_services; i++) {
		const bc_service *s = &c->services[i];
		if (strcmp(s->name, name) != 0 || (s->status && strcmp(s->status, "dead") == 0))
			continue;
		if (t != NULL && config_equal(p, s, t) && same_name(s, t))
			return s;
		if (best == NULL || s->created > best->created ||
		    (s->created == best->created &&
		     strcmp(s->container_id, best->container_id) > 0))
			best = s;
	}
	return best;
}

/* Why t cannot start yet, or NULL when it can. */
static const char *
start_blocker(const struct planner *p, const bc_app *c, const bc_app *t, const bc_service *svc,
	      char *buf, size_t n)
{
	for (size_t i = 0; i < svc->depends_on.n; i++) {
		const char *dep = svc->depends_on.v[i];
		const bc_service *dt = bc_app_service(t, dep);
		const bc_service *dc = pick(p, c, dep, dt);
		const bc_dep_rule *r = bc_service_dep_rule(svc, dep);
		uint8_t cond = r != NULL ? r->cond : BC_DEP_STARTED;
		if (dt == NULL)
			continue; /* not in the release: required: false */
		if (cond == BC_DEP_COMPLETED) {
			/* a one-shot of this release that exited 0 (an exited
			 * container is left to its restart policy: it stays so) */
			if (dc == NULL || !config_equal(p, dc, dt) || dc->status == NULL ||
			    strcmp(dc->status, "exited") != 0) {
				snprintf(buf, n, "waiting for dependency '%s' to complete", dep);
				return buf;
			}
			if (dc->exit_code != 0) {
				snprintf(
				    buf, n,
				    "dependency '%s' did not complete successfully (exit code %d)",
				    dep, dc->exit_code);
				return buf;
			}
			continue;
		}
		if (dc == NULL || !is_running(dc) || !config_equal(p, dc, dt)) {
			snprintf(buf, n, "waiting for dependency '%s' to run", dep);
			return buf;
		}
		if (cond == BC_DEP_HEALTHY && dc->health != BC_HEALTH_HEALTHY) {
			snprintf(buf, n, "waiting for dependency '%s' to be healthy%s", dep,
				 dc->health == BC_HEALTH_NONE	     ? " (it has no healthcheck)"
				 : dc->health == BC_HEALTH_UNHEALTHY ? " (it is unhealthy)"
								     : "");
			return buf;
		}
	}
	for (size_t i = 0; i < svc->volumes.n; i++)
		if (c == NULL || bc_app_volume(c, svc->volumes.v[i]) == NULL) {
			snprintf(buf, n, "waiting for volume '%s'", svc->volumes.v[i]);
			return buf;
		}
	for (size_t i = 0; i < svc->networks.n; i++) {
		const bc_network *cn = c ? bc_app_network(c, svc->networks.v[i]) : NULL;
		const bc_network *tn = bc_app_network(t, svc->networks.v[i]);
		if (cn == NULL || (tn != NULL && tn->config_hash && cn->config_hash &&
				   strcmp(cn->config_hash, tn->config_hash) != 0)) {
			snprintf(buf, n, "waiting for network '%s'", svc->networks.v[i]);
			return buf;
		}
	}
	if (!all_images_ready(p, t))
		return "waiting for every image of the release";
	return NULL;
}

/* The dependency of svc's restart: true rules recreated since cur (svc's
 * running container) started, or NULL. Both times come from the engine's
 * inspect (0: not known: no restart). */
static const char *
restart_cause(const struct planner *p, const bc_app *c, const bc_app *t, const bc_service *svc,
	      const bc_service *cur)
{
	for (size_t i = 0; i < svc->n_dep_rules && cur->started_ms > 0; i++) {
		const bc_dep_rule *r = &svc->dep_rules[i];
		const bc_service *dt = r->restart ? bc_app_service(t, r->name) : NULL;
		const bc_service *dc = dt ? pick(p, c, r->name, dt) : NULL;
		if (dc != NULL && is_running(dc) && config_equal(p, dc, dt) && dc->created_ms > 0 &&
		    dc->created_ms > cur->started_ms)
			return r->name;
	}
	return NULL;
}

static void
kill_step(struct planner *p, const bc_app *app, const bc_service *cur, bool remove_image)
{
	bc_step *s = emit(p, BC_STEP_KILL, app);
	if (s != NULL) {
		s->current = cur;
		s->remove_image = remove_image;
	}
}

static void
fetch_step(struct planner *p, const bc_app *t, const bc_service *svc)
{
	bc_step *s = emit(p, BC_STEP_FETCH, t);
	if (s != NULL) {
		s->target = svc;
		s->image = svc->image;
	}
}

static bool
has_dead(const bc_app *c, const char *name)
{
	for (size_t i = 0; c != NULL && i < c->n_services; i++)
		if (strcmp(c->services[i].name, name) == 0 && c->services[i].status &&
		    strcmp(c->services[i].status, "dead") == 0)
			return true;
	return false;
}

static void
service_steps(struct planner *p, const bc_app *c, const bc_app *t, const bc_service *svc)
{
	const bc_service *cur = pick(p, c, svc->name, svc);
	bool need_dl = image_id(p, svc->image) == NULL;
	const char *why;
	char buf[160];
	bc_step *s;

	/* A dead container is being removed this round; its name may be the
	 * one we would create, so look again next round. */
	if (has_dead(c, svc->name))
		return;
	if (cur == NULL) {
		if (need_dl) {
			fetch_step(p, t, svc);
		} else if ((why = start_blocker(p, c, t, svc, buf, sizeof(buf))) != NULL) {
			noop(p, t, svc, "%s", why);
		} else if ((s = emit(p, BC_STEP_CREATE, t)) != NULL) {
			s->target = svc;
		}
		return;
	}
	if (config_equal(p, cur, svc)) {
		enum bc_action a = BC_STEP_NOOP;
		if (!same_name(cur, svc) && svc->container_name != NULL) {
			/* its name is its own: what it does not say is on labels,
			 * which a rename cannot change; made again */
			kill_step(p, t, cur, false);
			return;
		}
		if (!same_name(cur, svc))
			a = BC_STEP_UPDATE_METADATA;
		else if (svc->running && cur->status && strcmp(cur->status, "created") == 0)
			a = BC_STEP_START; /* never started; an exited one is its restart policy's
					    */
		else if (!svc->running && is_running(cur))
			a = BC_STEP_STOP;
		else if (svc->running && is_running(cur) &&
			 (why = restart_cause(p, c, t, svc, cur)) != NULL) {
			/* once its dependencies are as its rules ask */
			const char *cause = why;
			if ((why = start_blocker(p, c, t, svc, buf, sizeof(buf))) != NULL) {
				noop(p, t, svc, "%s", why);
				return;
			}
			if ((s = emit(p, BC_STEP_RESTART, t)) != NULL) {
				s->current = cur;
				s->target = svc;
				snprintf(s->reason, sizeof(s->reason),
					 "its dependency '%s' was recreated", cause);
			}
			return;
		}
		if (a != BC_STEP_NOOP && (s = emit(p, a, t)) != NULL) {
			s->current = cur;
			s->target = svc;
		}
		return;
	}
	switch (svc->strategy) {
	case BC_STRAT_KILL_THEN_DOWNLOAD:
		kill_step(p, t, cur, false);
		return;
	case BC_STRAT_DELETE_THEN_DOWNLOAD:
		kill_step(p, t, cur, true);
		return;
	case BC_STRAT_HAND_OVER:
		if (need_dl) {
			fetch_step(p, t, svc);
			return;
		}
		/* Two containers cannot share a name: a config change within one
		 * release, or a service with a name of its own, is handled as
		 * download-then-kill. */
		if (!same_name(cur, svc) && svc->container_name == NULL) {
			if ((why = start_blocker(p, c, t, svc, buf, sizeof(buf))) != NULL) {
				noop(p, t, svc, "%s", why);
			} else if ((s = emit(p, BC_STEP_HANDOVER, t)) != NULL) {
				s->current = cur;
				s->target = svc;
			}
			return;
		}
		/* fall through */
	case BC_STRAT_DOWNLOAD_THEN_KILL:
		if (need_dl)
			fetch_step(p, t, svc);
		else if (all_images_ready(p, t))
			kill_step(p, t, cur, false);
		else
			noop(p, t, svc, "%s",
			     "waiting for every image of the release before killing");
		return;
	}
}

/* Older containers of a service beside the newest: killed, except the one
 * being handed over from, which waits for the signal or the timeout. */
static void
extra_containers(struct planner *p, const bc_app *c, const bc_app *t, const bc_service *svc)
{
	const bc_service *keep = pick(p, c, svc->name, svc);

	for (size_t i = 0; c != NULL && i < c->n_services; i++) {
		const bc_service *old = &c->services[i];
		if (old == keep || strcmp(old->name, svc->name) != 0 ||
		    (old->status && strcmp(old->status, "dead") == 0))
			continue;
		if (svc->strategy == BC_STRAT_HAND_OVER && keep != NULL && is_running(old) &&
		    config_equal(p, keep, svc) && is_running(keep)) {
			char key[160];
			bool done;
			snprintf(key, sizeof(key), "%lld/%s", (long long)t->app_id, keep->name);
			done = p->ctx->handover_done != NULL &&
			       bc_strv_has(p->ctx->handover_done, key);
			/* from when the new one started; where that is not
			 * known, Docker's list gives its creation in whole
			 * seconds: a second later (the timeout is a minimum) */
			uint64_t born = keep->started_ms > 0 ? (uint64_t)keep->started_ms
							     : ((uint64_t)keep->created + 1) * 1000;
			if (!done && p->ctx->now_ms < born + svc->handover_timeout_ms) {
				noop(p, t, svc, "awaiting hand-over from '%s'", old->container_id);
				continue;
			}
		}
		kill_step(p, t, old, false);
	}
}

static bool
network_in_use(const bc_app *c, const char *net)
{
	for (size_t i = 0; i < c->n_services; i++)
		if (bc_strv_has(&c->services[i].networks, net))
			return true;
	return false;
}

static bool
purged(const bc_plan_ctx *ctx, int64_t app_id)
{
	for (size_t i = 0; i < ctx->n_purge; i++)
		if (ctx->purge[i] == app_id)
			return true;
	return false;
}

static void
remove_app(struct planner *p, const bc_app *c)
{
	bc_step *s;

	if (c->n_services > 0) {
		for (size_t i = 0; i < c->n_services; i++)
			kill_step(p, c, &c->services[i], false);
		return;
	}
	if (c->n_networks > 0) {
		for (size_t i = 0; i < c->n_networks; i++)
			if ((s = emit(p, BC_STEP_REMOVE_NETWORK, c)) != NULL)
				s->network = &c->networks[i];
		return;
	}
	for (size_t i = 0; purged(p->ctx, c->app_id) && i < c->n_volumes; i++)
		if ((s = emit(p, BC_STEP_REMOVE_VOLUME, c)) != NULL)
			s->volume = &c->volumes[i];
}

static void
component_steps(struct planner *p, const bc_app *c, const bc_app *t)
{
	bc_step *s;

	for (size_t i = 0; i < t->n_volumes; i++) {
		const bc_volume *tv = &t->volumes[i];
		const bc_volume *cv = c ? bc_app_volume(c, tv->name) : NULL;
		if (tv->external)
			continue; /* the device's: used as it is */
		if (cv == NULL) {
			if ((s = emit(p, BC_STEP_CREATE_VOLUME, t)) != NULL)
				s->volume = tv;
		} else if (cv->config_hash && tv->config_hash &&
			   strcmp(cv->config_hash, tv->config_hash) != 0) {
			/* Never delete data implicitly: say so and go on. */
			noop(p, t, NULL,
			     "volume '%s' config changed; not recreated (data would be lost)",
			     tv->name);
		}
	}
	for (size_t i = 0; i < t->n_networks; i++) {
		const bc_network *tn = &t->networks[i];
		const bc_network *cn = c ? bc_app_network(c, tn->name) : NULL;
		if (tn->external)
			continue;
		if (cn == NULL) {
			if ((s = emit(p, BC_STEP_CREATE_NETWORK, t)) != NULL)
				s->network = tn;
		} else if (cn->config_hash && tn->config_hash &&
			   strcmp(cn->config_hash, tn->config_hash) != 0) {
			/* Recreate: first every container on it goes. */
			if (!network_in_use(c, cn->name)) {
				if ((s = emit(p, BC_STEP_REMOVE_NETWORK, t)) != NULL)
					s->network = cn;
			} else {
				for (size_t k = 0; k < c->n_services; k++)
					if (bc_strv_has(&c->services[k].networks, cn->name))
						kill_step(p, t, &c->services[k], false);
			}
		}
	}
	for (size_t i = 0; c != NULL && i < c->n_networks; i++) {
		const bc_network *cn = &c->networks[i];
		if (bc_app_network(t, cn->name) != NULL)
			continue;
		if (!network_in_use(c, cn->name)) {
			if ((s = emit(p, BC_STEP_REMOVE_NETWORK, t)) != NULL)
				s->network = cn;
		} else {
			noop(p, t, NULL, "network '%s' waits for its containers to go", cn->name);
		}
	}
}

static bool
destructive(enum bc_action a)
{
	return a == BC_STEP_KILL || a == BC_STEP_STOP || a == BC_STEP_UPDATE_METADATA ||
	       a == BC_STEP_HANDOVER || a == BC_STEP_REMOVE || a == BC_STEP_RESTART;
}

/* Locks: before the first destructive step of an app, take its locks and
 * nothing else for it this round; once it has nothing left, release. */
static void
apply_locks(struct planner *p, const bc_app *app, size_t first)
{
	bool any_destructive = false, any = false, held;
	bc_step *s;

	const bc_app_facts *f = facts(p, app->app_id);

	if (!p->ctx->use_locks || p->failed)
		return;
	held = f != NULL && f->locks_held;
	for (size_t i = first; i < p->out->n; i++) {
		any = true;
		if (destructive(p->out->steps[i].action))
			any_destructive = true;
	}
	if (any && !held && f != NULL) {
		const char *svc = f->app_lock;
		if (svc != NULL) {
			/* the app said "not now": no kill, no new service */
			p->out->n = first;
			noop(p, app, NULL, "locked by the app (service '%s')", svc);
			if (p->out->n > first)
				p->out->steps[p->out->n - 1].locked = true;
			return;
		}
	}
	if (any_destructive && !held) {
		p->out->n = first; /* drop this round's steps of the app */
		if ((s = emit(p, BC_STEP_TAKE_LOCK, app)) != NULL)
			snprintf(s->reason, sizeof(s->reason), "before updating the app");
	} else if (!any && held) {
		emit(p, BC_STEP_RELEASE_LOCK, app);
	}
}

static void
plan_app(struct planner *p, const bc_app *c, const bc_app *t)
{
	size_t first = p->out->n;
	bc_step *s;

	if (t == NULL) {
		remove_app(p, c);
		apply_locks(p, c, first);
		return;
	}
	for (size_t i = 0; c != NULL && i < c->n_services; i++) {
		const bc_service *cs = &c->services[i];
		if (cs->status && strcmp(cs->status, "dead") == 0) {
			if ((s = emit(p, BC_STEP_REMOVE, t)) != NULL)
				s->current = cs;
		} else if (bc_app_service(t, cs->name) == NULL) {
			kill_step(p, t, cs, false);
		}
	}
	for (size_t i = 0; i < t->n_services; i++) {
		extra_containers(p, c, t, &t->services[i]);
		service_steps(p, c, t, &t->services[i]);
	}
	component_steps(p, c, t);
	apply_locks(p, t, first);
}

int
bc_plan_build(const bc_state *current, const bc_state *target, const bc_plan_ctx *ctx, bc_plan *out,
	      bc_err *err)
{
	struct planner p = {.ctx = ctx, .out = out, .err = err};

	out->steps = NULL;
	out->n = 0;
	for (size_t i = 0; i < target->n_apps; i++)
		plan_app(&p, bc_state_app(current, target->apps[i].app_id), &target->apps[i]);
	for (size_t i = 0; i < current->n_apps; i++)
		if (bc_state_app(target, current->apps[i].app_id) == NULL)
			plan_app(&p, &current->apps[i], NULL);
	if (p.failed) {
		bc_plan_free(out);
		return -1;
	}
	return 0;
}

void
bc_plan_free(bc_plan *p)
{
	free(p->steps);
	p->steps = NULL;
	p->n = 0;
}

size_t
bc_plan_actionable(const bc_plan *p)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++)
		if (p->steps[i].action != BC_STEP_NOOP)
			n++;
	return n;
}

const char *
bc_action_name(enum bc_action a)
{
	static const char *const names[] = {
	    "FETCH",	       "KILL",		"STOP",
	    "REMOVE",	       "CREATE",	"START",
	    "UPDATE_METADATA", "HANDOVER",	"CREATE_NETWORK",
	    "REMOVE_NETWORK",  "CREATE_VOLUME", "REMOVE_VOLUME",
	    "TAKE_LOCK",       "RELEASE_LOCK",	"NOOP",
	    "RESTART",
	};
	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

bool
bc_step_say(const bc_step *s, int rc, const char *error, char *out, size_t n)
{
	/* what was done, what failed: the supervisor's words (log-types.ts) */
	static const struct {
		const char *done, *failed;
	} words[] = {
	    /* FETCH: the fetcher says it (Downloading, Downloaded) */
	    [BC_STEP_KILL] = {"Killed service", "Failed to kill service"},
	    [BC_STEP_STOP] = {"Stopped service", "Failed to stop service"},
	    [BC_STEP_REMOVE] = {"Removed dead service", "Failed to remove dead service"},
	    [BC_STEP_CREATE] = {"Installed service", "Failed to install service"},
	    [BC_STEP_START] = {"Started service", "Failed to start service"},
	    [BC_STEP_UPDATE_METADATA] = {"Updated service", "Failed to update service"},
	    [BC_STEP_HANDOVER] = {"Installed service", "Failed to install service"},
	    [BC_STEP_CREATE_NETWORK] = {"Created network", "Failed to create network"},
	    [BC_STEP_REMOVE_NETWORK] = {"Removed network", "Failed to remove network"},
	    [BC_STEP_CREATE_VOLUME] = {"Created volume", "Failed to create volume"},
	    [BC_STEP_REMOVE_VOLUME] = {"Removed volume", "Failed to remove volume"},
	    [BC_STEP_RESTART] = {"Restarted service", "Failed to restart service"},
	};
	const char *what = s->current	? s->current->name
			   : s->target	? s->target->name
			   : s->volume	? s->volume->name
			   : s->network ? s->network->name
					: NULL;

	if ((unsigned)s->action >= sizeof(words) / sizeof(words[0]) ||
	    words[s->action].done == NULL)
		return false;
	if (rc == 0)
		snprintf(out, n, "%s '%s'", words[s->action].done, what ? what : "");
	else
		snprintf(out, n, "%s '%s' due to '%s'", words[s->action].failed, what ? what : "",
			 error ? error : "an error");
	return true;
}

void
bc_step_describe(const bc_step *s, char *out, size_t n)
{
	const char *what = "";

	if (s->current != NULL)
		what = s->current->name;
	else if (s->target != NULL)
		what = s->target->name;
	else if (s->volume != NULL)
		what = s->volume->name;
	else if (s->network != NULL)
		what = s->network->name;
	else if (s->app != NULL && s->app->name != NULL)
		what = s->app->name;
	snprintf(out, n, "%s %s", bc_action_name(s->action), what);
}
