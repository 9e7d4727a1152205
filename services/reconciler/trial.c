/* Health-gated updates, carried out on the loop: what lib/core/trial.h
 * decides (commit, or fail), done here. A commit makes the target the
 * release to go back to (settled.json); a failure puts the release before
 * it back for each app on trial (target.json), after writing down what
 * failed (trial.json) so that a kill -9 anywhere between the two files
 * still ends in the earlier release (rec_trial_start finishes it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base/clock.h"
#include "lib/base/fsutil.h"
#include "lib/base/log.h"
#include "lib/model/spec.h"
#include "lib/model/target.h"
#include "rec.h"

static void
trial_save(struct rec *r)
{
	json_t *doc = bc_trial_to_json(&r->trial, &r->failed);
	bc_err err = {0};

	if (doc == NULL || bc_write_json_atomic(r->trialfile, doc, 0600, &err) < 0)
		log_warnx("keep the update's trial: %s", doc ? err.msg : "out of memory");
	json_decref(doc);
}

/* A commit as people know a release by, or NULL for one without (a local
 * compose project's "local"). */
static const char *
rel_name(const char *commit)
{
	return commit != NULL && commit[0] && strcmp(commit, "local") != 0 ? commit : NULL;
}

/* The loop's timer: judge again when the settle period ends. */
static void
trial_wake_at_deadline(struct rec *r)
{
	uint64_t dl = bc_trial_deadline(&r->trial), now = bc_wall_ms();

	r->trial_wake = UINT64_MAX;
	if (dl > 0)
		r->trial_wake = bc_mono_ms() + (dl > now ? dl - now : 0) + 50;
}

/* Is app's release in rel one that failed and stays (no release before it
 * to go back to)? */
static bool
failed_here(const struct rec *r, const bc_release *rel, int64_t app)
{
	const bc_trial_failed *f = bc_trial_failed_of(&r->failed, app);
	char key[17];

	if (f == NULL)
		return false;
	bc_release_app_key(rel, app, key);
	return strcmp(f->key, key) == 0;
}

void
rec_trial_arm(struct rec *r)
{
	int64_t apps[BC_STATE_MAX_APPS];
	size_t n = bc_release_changed(r->last_good, r->target, apps, BC_STATE_MAX_APPS), k = 0;

	/* an app whose release failed with nothing to go back to is not
	 * tried again: it is what runs */
	for (size_t i = 0; i < n; i++)
		if (!failed_here(r, r->target, apps[i]))
			apps[k++] = apps[i];
	bc_trial_begin(&r->trial, apps, k, bc_release_settle_ms(r->target, apps, k, r->settle_ms),
		       bc_wall_ms());
	r->trial_wake = UINT64_MAX;
	if (k > 0)
		log_info("update on trial: %zu app(s); committed once every service has run %llu "
			 "ms",
			 k, (unsigned long long)r->trial.period_ms);
	trial_save(r);
}

int
rec_trial_filter(struct rec *r, json_t *merged, bool force)
{
	json_t *apps = NULL, *app, *d;
	const char *k;
	int kept = 0;

	json_object_foreach(merged, k, d) apps = json_object_get(d, "apps");
	json_object_foreach(apps, k, app)
	{
		int64_t id = json_integer_value(json_object_get(app, "id"));
		const bc_trial_failed *f = bc_trial_failed_of(&r->failed, id);
		const json_t *now;
		char key[17];
		if (f == NULL)
			continue;
		bc_json_hash(app, NULL, key);
		if (strcmp(key, f->key) != 0 || force) {
			/* another release, or up --force: tried anew */
			bc_trial_failed_drop(&r->failed, id);
			continue;
		}
		if (!f->rolled_back || r->target == NULL ||
		    (now = bc_target_app_doc(r->target->doc, id, NULL)) == NULL)
			continue; /* it is what runs: nothing to go back to */
		/* the release that failed, again: the one that runs stays */
		log_info("app %lld: its release %s was rolled back (%s); not tried again until it "
			 "changes",
			 (long long)id, rel_name(f->commit) ? f->commit : "(local)", f->reason);
		if (json_object_set_new(apps, k, json_deep_copy(now)) < 0)
			return -1;
		kept++;
	}
	trial_save(r);
	return kept;
}

void
rec_trial_forget(struct rec *r, int64_t app)
{
	if (bc_trial_failed_drop(&r->failed, app))
		trial_save(r);
}

/* The target with apps (n) as the last committed release has them, kept
 * on disk: the way back. -1 (said) when it cannot be made. */
static int
go_back(struct rec *r, const int64_t *apps, size_t n)
{
	bc_target_opts o;
	bc_err err = {0};
	json_t *doc;
	bc_release *rel;

	rec_target_opts(r, &o);
	if ((doc = bc_release_with_apps_of(r->target, r->last_good, apps, n)) == NULL ||
	    (rel = bc_release_new(doc, &o, &err)) == NULL) {
		log_warnx("roll back: %s", doc ? err.msg : "out of memory");
		return -1;
	}
	bc_release_unref(r->target);
	r->target = rel;
	if (rec_persist(r, &err) < 0)
		log_warnx("%s", err.msg);
	return 0;
}

/* The release before the trial's comes back for each app on trial that
 * had one; why says what failed. */
static void
rollback(struct rec *r, const char *why)
{
	int64_t back[BC_STATE_MAX_APPS];
	size_t n_back = 0;

	for (size_t i = 0; i < r->trial.n_apps; i++) {
		int64_t id = r->trial.apps[i];
		const bc_app *a = bc_state_app(&r->target->st, id);
		const bc_app *was = r->last_good ? bc_state_app(&r->last_good->st, id) : NULL;
		bc_trial_failed f = {.app_id = id, .rolled_back = was != NULL, .at = bc_wall_ms()};
		bc_release_app_key(r->target, id, f.key);
		snprintf(f.commit, sizeof(f.commit), "%s", a && a->commit ? a->commit : "");
		if (was != NULL && rel_name(was->commit) != NULL)
			snprintf(f.reason, sizeof(f.reason), "%s; back to release %s", why,
				 was->commit);
		else if (was != NULL)
			snprintf(f.reason, sizeof(f.reason), "%s; the release before it runs again",
				 why);
		else
			snprintf(f.reason, sizeof(f.reason),
				 "%s; no release before it to go back to", why);
		bc_trial_failed_put(&r->failed, &f);
		if (was != NULL)
			back[n_back++] = id;
		log_warnx("app %lld: release %s failed its trial: %s", (long long)id,
			  rel_name(f.commit) ? f.commit : "(local)", f.reason);
		if (rel_name(f.commit) != NULL)
			bc_daemon_syslog(r->d, id, NULL, "%s release %s: %s",
					 was ? "Rolled back" : "Update failed", f.commit, f.reason);
		else
			bc_daemon_syslog(r->d, id, NULL, "%s: %s",
					 was ? "Rolled back the update" : "Update failed",
					 f.reason);
	}
	bc_trial_end(&r->trial);
	r->trial_wake = UINT64_MAX;
	/* what failed first: a kill -9 after it finishes the way back at
	 * start (rec_trial_start) */
	trial_save(r);
	if (n_back == 0)
		return;
	/* a new generation: the rounds converge the way back */
	if (go_back(r, back, n_back) == 0) {
		bc_pull_backoff_clear(&r->pulls);
		bc_recon_applied(&r->core, false);
	}
}

static void
commit(struct rec *r)
{
	log_info("update committed: every service ran %llu ms",
		 (unsigned long long)r->trial.period_ms);
	for (size_t i = 0; i < r->trial.n_apps; i++)
		bc_daemon_syslog(r->d, r->trial.apps[i], NULL,
				 "Update committed: every service ran its settle period");
	bc_trial_end(&r->trial);
	r->trial_wake = UINT64_MAX;
	/* a target holding a release that failed with nothing before it is
	 * no way back: the last one stays that */
	if (rec_trial_committable(r))
		rec_remember_settled(r);
	trial_save(r);
	/* the release before it is no longer the way back: its images go */
	r->cleanup_due = true;
	r->core.wake = true;
}

bool
rec_trial_committable(const struct rec *r)
{
	if (r->trial.on || r->target == NULL)
		return false;
	for (size_t a = 0; a < r->target->st.n_apps; a++)
		if (failed_here(r, r->target, r->target->st.apps[a].app_id))
			return false;
	return true;
}

void
rec_trial_seen(struct rec *r, bool settled, const bc_trial_obs *obs, size_t n)
{
	char why[512];
	int v;

	if (!r->trial.on)
		return;
	if (settled && r->trial.since == 0) {
		bc_trial_settled(&r->trial, bc_wall_ms());
		trial_save(r);
	}
	v = bc_trial_judge(&r->trial, obs, n, bc_wall_ms(), why, sizeof(why));
	if (v == BC_TRIAL_FAIL)
		rollback(r, why);
	else if (v == BC_TRIAL_COMMIT)
		commit(r);
	else
		trial_wake_at_deadline(r);
}

void
rec_trial_step(struct rec *r, const bc_body_step *st, bool locked)
{
	char why[512];

	if (bc_trial_step(&r->trial, st->app_id, st->action, st->service, st->ok, locked, st->error,
			  why, sizeof(why)))
		rollback(r, why);
}

void
rec_trial_overlay(const struct rec *r, bc_body_state *st)
{
	uint64_t dl = bc_trial_deadline(&r->trial), now = bc_wall_ms();

	for (size_t i = 0; i < st->apps.n; i++) {
		bc_app_rec *a = &st->apps.v[i];
		const bc_trial_failed *f;
		char text[800];
		if (a->status != BC_APP_IDLE || a->removed)
			continue;
		if (bc_trial_judges(&r->trial, a->id)) {
			/* words that stay the same while it lasts: a client says
			 * each new one */
			a->status = BC_APP_SETTLING;
			if (dl == 0) {
				snprintf(text, sizeof(text), "the new release to settle");
			} else if (dl > now) {
				time_t end = (time_t)(dl / 1000);
				struct tm tm;
				char at[32] = "";
				if (gmtime_r(&end, &tm) != NULL)
					strftime(at, sizeof(at), "%H:%M:%SZ", &tm);
				snprintf(
				    text, sizeof(text),
				    "the new release to run its settle period of %llu s (until "
				    "%s)",
				    (unsigned long long)((r->trial.period_ms + 999) / 1000), at);
			} else {
				snprintf(text, sizeof(text),
					 "the new release's services to be running and healthy");
			}
			free(a->waiting);
			a->waiting = strdup(text);
			continue;
		}
		if ((f = bc_trial_failed_of(&r->failed, a->id)) == NULL)
			continue;
		if (f->rolled_back && r->core.done_gen < r->core.generation) {
			/* the way back has not run yet */
			a->status = BC_APP_UPDATING;
			continue;
		}
		if (f->rolled_back) {
			a->status = BC_APP_ROLLED_BACK;
			free(a->rolled_back);
			a->rolled_back = strdup(f->commit[0] ? f->commit : "local");
			if (rel_name(f->commit) != NULL)
				snprintf(text, sizeof(text), "release %s: %s", f->commit,
					 f->reason);
			else
				snprintf(text, sizeof(text), "%s", f->reason);
		} else {
			if (!failed_here(r, r->target, a->id))
				continue;
			a->status = BC_APP_FAILING;
			if (rel_name(f->commit) != NULL)
				snprintf(text, sizeof(text), "release %s failed: %s", f->commit,
					 f->reason);
			else
				snprintf(text, sizeof(text), "the update failed: %s", f->reason);
		}
		free(a->error);
		a->error = strdup(text);
	}
}

/* --- the timer ---------------------------------------------------------- */

static uint64_t
trial_due(void *ud)
{
	const struct rec *r = ud;
	return r->trial_wake;
}

static void
trial_fire(void *ud)
{
	struct rec *r = ud;

	r->trial_wake = UINT64_MAX;
	r->core.wake = true; /* a round looks, and its end judges */
}

int
rec_trial_start(struct rec *r, bc_err *err)
{
	json_t *doc = bc_read_json(r->trialfile, 0, 4 << 20, NULL);
	bc_trial kept = {0};
	int64_t back[BC_STATE_MAX_APPS];
	size_t n_back = 0;

	r->trial_wake = UINT64_MAX;
	if (doc != NULL && bc_trial_from_json(doc, &kept, &r->failed) < 0)
		log_warnx("ignoring %s: not a trial this agent wrote", r->trialfile);
	json_decref(doc);
	/* a way back that a kill -9 interrupted: the apps whose target is a
	 * release that failed and was rolled back go back now */
	for (size_t a = 0; r->target != NULL && a < r->target->st.n_apps; a++) {
		int64_t id = r->target->st.apps[a].app_id;
		const bc_trial_failed *f = bc_trial_failed_of(&r->failed, id);
		if (f != NULL && f->rolled_back && failed_here(r, r->target, id) &&
		    r->last_good != NULL && bc_state_app(&r->last_good->st, id) != NULL)
			back[n_back++] = id;
	}
	if (n_back > 0 && go_back(r, back, n_back) == 0)
		log_info("finished a roll back of %zu app(s) a restart interrupted", n_back);
	if (r->target != NULL) {
		bool same = true;
		rec_trial_arm(r);
		/* the same apps as the trial kept: it goes on where it was */
		same = kept.on && kept.n_apps == r->trial.n_apps &&
		       memcmp(kept.apps, r->trial.apps, kept.n_apps * sizeof(kept.apps[0])) == 0;
		if (same) {
			r->trial = kept;
			log_info("resuming the update's trial (settle period %s)",
				 kept.since ? "running" : "not started");
			trial_save(r);
		}
	}
	return bc_daemon_timer(r->d, trial_due, trial_fire, r, err);
}
