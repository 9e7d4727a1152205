/* The reconciler's threads: the worker converges Docker to the target
 * whenever the target changes or Docker changes under it; the events thread
 * follows Docker's event stream and wakes the worker. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/ipc/client.h"
#include "lib/base/clock.h"
#include "lib/base/fsutil.h"
#include "lib/locks/lock.h"
#include "lib/base/log.h"
#include "lib/plan/statedoc.h"
#include "lib/model/target.h"
#include "proto/ipc.h"
#include "rec.h"

int
rec_persist(struct rec *r, bc_err *err)
{
	return bc_write_json_atomic(r->statefile, r->target, 0600, err);
}

/* The state document (lib/plan/statedoc.h) after a converge; without an
 * engine (Docker away) it still says why. */
static json_t *
state_doc(struct rec *r, bc_engine *eng, const bc_state *target, const bc_converge *c, int rc,
	  const bc_err *err, uint64_t gen)
{
	bc_state cur;
	bc_err oerr = {0};
	bool have_cur = eng && bc_engine_observe(eng, r->scope, r->n_scope, &cur, &oerr) == 0;
	bc_statedoc_in in = {.generation = gen,
			     .current = have_cur ? &cur : NULL,
			     .target = target,
			     .c = c,
			     .error = rc < 0 ? err->msg : NULL};
	json_t *doc = bc_statedoc_build(&in);

	if (have_cur)
		bc_state_free(&cur);
	return doc;
}

int
rec_state_body(struct rec *r, bc_body_state *st, bc_err *err)
{
	json_t *doc = r->state_doc ? json_deep_copy(r->state_doc) : json_object();
	int rc;

	if (doc == NULL)
		return bc_err_sys(err, "state");
	/* the last converge's document, with what is busy and coming now */
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

	if (rec_state_body(r, &m.body.state, &err) < 0 || bc_send(r->pub, &m, &err) < 0)
		log_warnx("publish state: %s", err.msg);
	bc_msg_clear(&m);
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
	pthread_mutex_lock(&fx->r->mu);
	json_object_set_new(fx->r->downloads, key,
			    json_pack("{s:s, s:i, s:I, s:I}", "image", fx->s->image, "percent",
				      (int)percent, "current", (json_int_t)current, "total",
				      (json_int_t)total));
	pthread_mutex_unlock(&fx->r->mu);
}

static void
fetch_done(void *ud, size_t i, bool ok, const char *error)
{
	struct fetching *fx = ud;
	(void)i;
	if (!ok)
		snprintf(fx->error, sizeof(fx->error), "%s", error ? error : "failed");
}

static int
fetch_via_fetcher(void *ud, bc_docker *d, const bc_step *s, bc_err *err)
{
	struct fetching fx = {.r = ud, .s = s};
	char key[192];
	int failed;

	(void)d;
	failed = bc_client_fetch(NULL, &s->image, 1, NULL, fetch_progress, fetch_done, &fx,
				 60 * 60 * 1000, err);
	bc_statedoc_key(key, sizeof(key), s->app->app_id, s->target->name);
	pthread_mutex_lock(&fx.r->mu);
	json_object_del(fx.r->downloads, key);
	pthread_mutex_unlock(&fx.r->mu);
	if (failed < 0)
		return bc_err_wrap(err, "fetch '%s'", s->image);
	if (failed > 0)
		return bc_err_set(err, BC_EHTTP, "fetch '%s': %s", s->image, fx.error);
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
				bc_strs_add(&req.body.cleanup.keep, target->apps[a].services[s].image);
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

/* Each step as it ends, on PUB (the executor calls this one at a time). */
static void
on_step(void *ud, const bc_step *s, int rc, const bc_err *err)
{
	struct rec *r = ud;
	bc_msg m = {.type = BC_MSG_STEP};
	bc_err serr = {0};
	const char *what = s->current	? s->current->name
			   : s->target	? s->target->name
			   : s->volume	? s->volume->name
			   : s->network ? s->network->name
					: NULL;

	m.body.step.generation = r->step_gen;
	m.body.step.action = (char *)bc_action_name(s->action);
	m.body.step.app_id = s->app ? s->app->app_id : 0;
	m.body.step.service = (char *)what;
	m.body.step.ok = rc == 0;
	m.body.step.error = rc < 0 ? (char *)err->msg : NULL;
	if (bc_send(r->pub, &m, &serr) < 0)
		log_warnx("publish step: %s", serr.msg);
	if (rc < 0)
		log_warnx("%s %s: %s", m.body.step.action, what ? what : "", err->msg);
}

/* A round is about to run: its apps are busy ("Downloading" while one of
 * its images comes, else "Updating") until the converge ends. */
static void
on_plan(void *ud, const bc_plan *plan)
{
	struct rec *r = ud;

	pthread_mutex_lock(&r->mu);
	json_object_clear(r->busy);
	for (size_t i = 0; i < plan->n; i++) {
		const bc_step *s = &plan->steps[i];
		char key[32];
		const char *have;
		if (s->app == NULL || s->action == BC_STEP_NOOP)
			continue;
		bc_statedoc_key(key, sizeof(key), s->app->app_id, NULL);
		have = json_string_value(json_object_get(r->busy, key));
		if (s->action == BC_STEP_FETCH || have == NULL)
			json_object_set_new(r->busy, key,
					    json_string(s->action == BC_STEP_FETCH ? "Downloading"
										   : "Updating"));
		else if (strcmp(have, "Downloading") != 0)
			json_object_set_new(r->busy, key, json_string("Updating"));
	}
	pthread_mutex_unlock(&r->mu);
}

static void *
worker(void *arg)
{
	struct rec *r = arg;
	bc_exec_env env = {.lockdir = r->lockdir,
			   .fetch = fetch_via_fetcher,
			   .lock = rec_lock,
			   .on_step = on_step,
			   .ud = r};
	uint64_t backoff_ms = 0, retry_at = 0;
	bc_engine *eng = NULL;

	for (;;) {
		bc_state target;
		bc_converge c = {0};
		bc_err err = {0};
		uint64_t t0;
		json_t *lockjs = NULL;
		bc_app_facts *facts = NULL;
		size_t nfacts = 0;
		json_t *doc;
		uint64_t gen;
		bool rmv;
		int rc;
		json_t *sdoc; /* the state document of this converge */

		pthread_mutex_lock(&r->mu);
		for (;;) {
			struct timespec ts;
			if (r->stopping) {
				pthread_mutex_unlock(&r->mu);
				bc_engine_free(eng);
				return NULL;
			}
			if (r->target != NULL && (r->generation != r->done_gen || r->wake))
				break;
			if (r->target != NULL && !r->settled) {
				/* waiting on a timer (hand-over) or retrying after an error */
				if (bc_wall_ms() >= retry_at)
					break;
				ts.tv_sec = (time_t)(retry_at / 1000);
				ts.tv_nsec = (long)(retry_at % 1000) * 1000000;
				pthread_cond_timedwait(&r->cv, &r->mu, &ts);
			} else {
				pthread_cond_wait(&r->cv, &r->mu);
			}
		}
		r->wake = false;
		gen = r->step_gen = r->generation;
		rmv = r->remove_volumes;
		doc = json_deep_copy(r->target);
		/* locks are overridden by up --force, or by the device config */
		r->force_now = r->force || bc_target_override_lock(doc);
		pthread_mutex_unlock(&r->mu);
		rec_locks_refresh(r);
		if (rec_lock_facts(r, &lockjs, &facts, &nfacts) < 0)
			log_warnx("lock facts: out of memory");
		t0 = bc_mono_ms();

		if (eng == NULL && (eng = bc_engine_new(r->workers, &env, &err)) == NULL) {
			rc = -1;
			memset(&target, 0, sizeof(target));
		} else {
			bc_target_opts o = {.lockdir = r->lockdir};
			rc = bc_target_parse(doc, &o, &target, &err);
			if (rc == 0) {
				c = (bc_converge){.now_ms = bc_wall_ms(),
						  .remove_volumes = rmv,
						  .scope = r->scope,
						  .n_scope = r->n_scope,
						  .use_locks = true,
						  .facts = facts,
						  .n_facts = nfacts,
						  .on_plan = on_plan,
						  .ud = r};
				rc = bc_engine_converge(eng, &target, &c, &err);
			}
		}
		json_decref(doc);
		if (rc < 0) {
			log_warnx("converge: %s", err.msg);
			backoff_ms =
			    backoff_ms ? (backoff_ms * 2 > 60000 ? 60000 : backoff_ms * 2) : 1000;
			if (err.code == BC_ESYS && eng != NULL) { /* the engine went away */
				bc_engine_free(eng);
				eng = NULL;
			}
		} else {
			backoff_ms = c.settled ? 0 : 1000;
			if (c.rounds > 0)
				log_info("generation %llu: %zu step(s) in %d round(s)%s%s",
					 (unsigned long long)gen, c.steps_done, c.rounds,
					 c.settled ? ", settled" : "; waiting: ", c.waiting);
		}
		c.elapsed_ms = bc_mono_ms() - t0;
		sdoc = state_doc(r, eng, &target, &c, rc, &err, gen);
		bc_converge_clear(&c);
		free(facts);
		json_decref(lockjs);

		pthread_mutex_lock(&r->mu);
		json_object_clear(r->busy);
		r->done_gen = gen;
		r->settled = rc == 0 && c.settled;
		if (r->settled && rmv && r->generation == gen)
			r->remove_volumes = false;
		if (r->settled && r->generation == gen)
			r->force = false; /* --force lasts until its target settles */
		retry_at = bc_wall_ms() + backoff_ms;
		if (sdoc != NULL) { /* else (out of memory) the last one stays */
			json_decref(r->state_doc);
			r->state_doc = sdoc;
		}
		publish(r);
		pthread_mutex_unlock(&r->mu);
		/* after the settled state is out: whoever waits on it need not
		 * wait for the image cleanup too */
		if (rc == 0 && c.settled && c.steps_done > 0)
			cleanup_images(&target);
		bc_state_free(&target);
	}
}

static int
on_event(void *ud, json_t *ev)
{
	struct rec *r = ud;
	const char *action = json_string_value(json_object_get(ev, "Action"));
	int stop;

	if (action == NULL || strncmp(action, "exec_", 5) == 0 || strcmp(action, "attach") == 0 ||
	    strncmp(action, "health_status", 13) == 0)
		return 0;
	pthread_mutex_lock(&r->mu);
	r->wake = true;
	stop = r->stopping;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return stop;
}

/* Follows Docker's events for supervised containers. Blocks in the stream;
 * the process exit ends it. */
static void *
events(void *arg)
{
	struct rec *r = arg;
	bc_err err = {0};
	json_t *f =
	    json_pack("{s:[s], s:[s]}", "type", "container", "label", "io.balena.supervised");
	char *query = bc_docker_filters(f, &err);

	json_decref(f);
	if (query == NULL) {
		log_warnx("docker events: %s", err.msg);
		return NULL;
	}
	for (;;) {
		bc_docker *d = bc_docker_new(NULL, &err);
		if (d != NULL) {
			if (bc_docker_events(d, query, on_event, r, &err) < 0)
				log_warnx("docker events: %s", err.msg);
			bc_docker_free(d);
		}
		pthread_mutex_lock(&r->mu);
		if (r->stopping) {
			pthread_mutex_unlock(&r->mu);
			free(query);
			return NULL;
		}
		r->wake = true; /* we may have missed something */
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
		sleep(2);
	}
}

int
rec_start_threads(struct rec *r, bc_err *err)
{
	if (pthread_create(&r->worker, NULL, worker, r) != 0)
		return bc_err_set(err, BC_ESYS, "start the worker thread");
	if (pthread_create(&r->events, NULL, events, r) != 0)
		return bc_err_set(err, BC_ESYS, "start the events thread");
	pthread_detach(r->events);
	if (rec_start_lock_events(r, err) < 0)
		return -1;
	return 0;
}

void
rec_stop_threads(struct rec *r)
{
	pthread_mutex_lock(&r->mu);
	r->stopping = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	/* the worker finishes the round it is in: every step is safe to stop
	 * after, and the next start plans from what Docker then says */
	pthread_join(r->worker, NULL);
}
