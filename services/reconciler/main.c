/* reconciler daemon: holds the target and converges Docker to it.
 *
 * APPLY merges the apps of a v3 document into the target (validated whole
 * first: a bad target changes nothing), DOWN removes an app, GET_STATE
 * answers with the last state document. All on the loop; the converging
 * happens in rounds on the worker pool (round.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lib/base/fsutil.h"
#include "lib/base/log.h"
#include "lib/plan/statedoc.h"
#include "lib/model/config.h"
#include "lib/model/target.h"
#include "rec.h"

/* This device's facts: os_release (an os-release file; unreadable: no
 * sw.os), device_type (config.json's deviceType, or NULL), uname. */
static void
device_facts_read(bc_device_facts *f, const char *os_release, const char *device_type)
{
	struct utsname u;
	char buf[8192];
	FILE *fp = os_release != NULL ? fopen(os_release, "re") : NULL;
	bool have = fp != NULL;
	size_t n = 0;

	if (have) {
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	bc_device_facts_from(f, have ? buf : NULL, device_type, u.sysname, u.release, u.machine);
}

/* config.json's deviceType (BALENA_DEVICE_TYPE in every service), or NULL */
static const char *
rec_device_type(const struct rec *r)
{
	return r->facts.device_type[0] ? r->facts.device_type : NULL;
}

void
rec_target_opts(struct rec *r, bc_target_opts *o)
{
	bc_config c;
	bc_err err = {0};

	explicit_bzero(r->api_key, sizeof(r->api_key));
	r->api_url[0] = '\0';
	if (bc_config_load(r->config, &c, &err) == 0) {
		if (c.device_api_key != NULL && c.api_endpoint != NULL &&
		    strlen(c.device_api_key) < sizeof(r->api_key) &&
		    strlen(c.api_endpoint) < sizeof(r->api_url)) {
			memcpy(r->api_key, c.device_api_key, strlen(c.device_api_key) + 1);
			memcpy(r->api_url, c.api_endpoint, strlen(c.api_endpoint) + 1);
		}
		bc_config_free(&c);
	}
	*o = (bc_target_opts){.lockdir = r->lockdir,
			      .device_type = rec_device_type(r),
			      .facts = &r->facts,
			      .api_key = r->api_key[0] ? r->api_key : NULL,
			      .api_url = r->api_url[0] ? r->api_url : NULL};
}

/* The services a release leaves out for their unmet contracts, said as
 * the supervisor says it (a system message of each app). */
static void
skipped_said(struct rec *r, const bc_release *rel)
{
	for (size_t a = 0; a < rel->st.n_apps; a++) {
		const bc_app *app = &rel->st.apps[a];
		char names[512];
		size_t o = 0;
		if (app->skipped.n == 0)
			continue;
		for (size_t i = 0; i < app->skipped.n && o < sizeof(names); i++)
			o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? ". " : "",
					      app->skipped.v[i]);
		log_info("app %lld: not running %s: their contracts are unmet (optional)",
			 (long long)app->app_id, names);
		bc_daemon_syslog(r->d, app->app_id, NULL,
				 "Not running containers because of contract violations: %s",
				 names);
	}
}

/* The composition keys a release leaves out, said as the supervisor says
 * it (a system message of each service that has some). */
static void
ignored_said(struct rec *r, const bc_release *rel)
{
	for (size_t a = 0; a < rel->st.n_apps; a++)
		for (size_t i = 0; i < rel->st.apps[a].n_services; i++) {
			const bc_service *s = &rel->st.apps[a].services[i];
			char keys[512];
			size_t o = 0;
			if (s->ignored.n == 0)
				continue;
			for (size_t k = 0; k < s->ignored.n && o < sizeof(keys); k++)
				o += (size_t)snprintf(keys + o, sizeof(keys) - o, "%s%s",
						      k ? ", " : "", s->ignored.v[k]);
			log_warnx("app %lld service '%s': ignoring unsupported or unknown compose "
				  "fields: %s",
				  (long long)rel->st.apps[a].app_id, s->name, keys);
			bc_daemon_syslog(r->d, rel->st.apps[a].app_id, s->name,
					 "Ignoring unsupported or unknown compose fields: %s",
					 keys);
		}
}

static int
apply(struct rec *r, const bc_body_apply *req, bc_msg *rep, bc_err *err)
{
	bc_target_opts o;
	json_t *doc, *merged;
	bc_release *rel;
	uint64_t gen;
	size_t napps;

	rec_target_opts(r, &o);
	if (r->cloud && !req->replace)
		return bc_err_set(
		    err, BC_EINVAL,
		    "this device follows the cloud (apiEndpoint in %s): a local target would be "
		    "replaced at the next poll. Use 'balena-compose up -a <app>' for the cloud's "
		    "apps, or set \"localMode\": true in config.json and restart the agent to run "
		    "local ones",
		    r->config);
	if ((doc = bc_target_load(req->target, strlen(req->target), "target", err)) == NULL)
		return -1;
	napps = bc_target_count_apps(doc);
	merged = req->replace ? json_incref(doc)
			      : bc_target_merge(r->target ? r->target->doc : NULL, doc, err);
	json_decref(doc);
	/* a release that failed its trial and was rolled back is not tried
	 * again until it changes (or --force) */
	if (merged != NULL && rec_trial_filter(r, merged, req->force) < 0) {
		json_decref(merged);
		return bc_err_sys(err, "target");
	}
	/* validated whole, merged (ids unique across apps, ...), and parsed
	 * into the model the rounds use: once */
	if (merged == NULL || (rel = bc_release_new(merged, &o, err)) == NULL)
		return -1;
	bc_release_unref(r->target);
	r->target = rel;
	skipped_said(r, rel);
	ignored_said(r, rel);
	rec_trial_arm(r);
	/* a new target: its images are tried at once */
	bc_pull_backoff_clear(&r->pulls);
	rec_purge_prune(r, NULL); /* an app back in the target keeps its volumes */
	gen = bc_recon_applied(&r->core, req->force);
	/* kept before it is acknowledged: a client that follows a restarted
	 * reconciler counts on it */
	if (rec_persist(r, err) < 0)
		log_warnx("%s (the target is applied but will not survive a restart)", err->msg);
	log_info("target generation %llu: %zu app(s) applied", (unsigned long long)gen, napps);
	rep->type = BC_MSG_ACK;
	rep->body.ack.generation = gen;
	rep->body.ack.instance = r->instance;
	return BC_HANDLED;
}

/* The last state's record of an app that want names (id, uuid or name)
 * and that has left the target, or NULL. */
static const bc_app_rec *
removed_app(const struct rec *r, const char *want)
{
	for (size_t i = 0; i < r->sdoc.apps.n; i++)
		if (r->sdoc.apps.v[i].removed && bc_app_rec_is(&r->sdoc.apps.v[i], want))
			return &r->sdoc.apps.v[i];
	return NULL;
}

static int
down(struct rec *r, const bc_body_down *req, bc_msg *rep, bc_err *err)
{
	char names[256];
	const char *found;
	uint64_t gen;

	found =
	    r->target ? bc_target_find_app(r->target->doc, req->app, names, sizeof(names)) : NULL;
	if (found == NULL) {
		/* an app that left the target earlier, its volumes kept: -v
		 * removes them now; without it, there is nothing more to do */
		const bc_app_rec *left = removed_app(r, req->app);
		if (left == NULL)
			return bc_err_set(err, BC_ENOTFOUND, "no app '%s' in the target (apps: %s)",
					  req->app, r->target ? names : "none");
		if (!req->volumes) {
			rep->type = BC_MSG_ACK;
			rep->body.ack.generation = r->core.generation;
			rep->body.ack.instance = r->instance;
			return BC_HANDLED;
		}
		rec_purge_add(r, left->id);
	} else if (r->cloud) {
		/* the cloud's target is the truth here: an app removed by hand
		 * would stay away until the next target, and up -a would find
		 * it missing */
		return bc_err_set(
		    err, BC_EINVAL,
		    "this device follows the cloud (apiEndpoint in %s): app '%s' is in the "
		    "cloud's target and leaves when the cloud's target drops it. To run apps "
		    "by hand, set \"localMode\": true in config.json and restart the agent",
		    r->config, req->app);
	} else {
		/* a new release without the app (the one a round may hold is
		 * never changed) */
		bc_target_opts o;
		json_t *doc = json_deep_copy(r->target->doc);
		int64_t id = doc ? bc_target_remove_app(doc, found) : 0;
		bc_release *rel;
		rec_target_opts(r, &o);
		if (doc == NULL || (rel = bc_release_new(doc, &o, err)) == NULL)
			return doc == NULL ? bc_err_sys(err, "down") : -1;
		bc_release_unref(r->target);
		r->target = rel;
		if (req->volumes)
			rec_purge_add(r, id);
		rec_trial_forget(r, id);
		rec_trial_arm(r);
	}
	gen = bc_recon_downed(&r->core);
	if (rec_persist(r, err) < 0)
		log_warnx("%s", err->msg);
	rep->type = BC_MSG_ACK;
	rep->body.ack.generation = gen;
	rep->body.ack.instance = r->instance;
	return BC_HANDLED;
}

static int
get_state(struct rec *r, bc_msg *rep, bc_err *err)
{
	int rc;

	rep->type = BC_MSG_STATE;
	rc = rec_state_body(r, &rep->body.state, err);
	return rc < 0 ? -1 : BC_HANDLED;
}

static int
dispatch(struct bc_daemon *d, const bc_msg *req, bc_msg *rep, bc_err *err)
{
	struct rec *r = d->ops->ctx;

	switch (req->type) {
	case BC_MSG_APPLY:
		return apply(r, &req->body.apply, rep, err);
	case BC_MSG_DOWN:
		return down(r, &req->body.down, rep, err);
	case BC_MSG_GET_STATE:
		return get_state(r, rep, err);
	default:
		return BC_NOT_MINE;
	}
}

/* A target kept in a file from before a restart, if it still validates. */
static bc_release *
load_release(struct rec *r, const char *file)
{
	bc_target_opts o;
	json_error_t je;
	bc_err err = {0};
	bc_release *rel;
	json_t *doc = bc_read_json(file, JSON_REJECT_DUPLICATES, BC_PROTO_MAX_DOC, &je);

	rec_target_opts(r, &o);
	if (doc == NULL) {
		if (access(file, F_OK) == 0)
			log_warnx("ignoring %s: %s", file, je.text);
		return NULL;
	}
	if ((rel = bc_release_new(doc, &o, &err)) == NULL)
		log_warnx("ignoring %s: %s", file, err.msg);
	return rel;
}

static int
start(struct bc_daemon *d, bc_err *err)
{
	struct rec *r = d->ops->ctx;
	const bc_settings *set = &d->settings;

	r->d = d;
	r->instance = d->instance;
	r->workers = set->workers;
	r->lock_ttl_ms = set->lock_ttl_ms;
	r->scope = set->n_scope ? set->scope : NULL;
	r->n_scope = set->n_scope;
	snprintf(r->lockdir, sizeof(r->lockdir), "%s", set->lockdir);
	snprintf(r->config, sizeof(r->config), "%s", set->config);
	{
		/* the mode only: the gateway is the one that uses the key */
		bc_config c;
		bc_err cerr = {0};
		char why[600];
		int mode = bc_config_mode(set->config, &c, why, sizeof(why), &cerr);
		r->pull_cap_ms = 900000;
		r->cloud = mode == BC_MODE_CLOUD;
		if (r->cloud) {
			r->pull_cap_ms = c.app_update_poll_interval_ms;
			bc_config_free(&c);
		}
		if (mode < 0)
			log_warnx("local mode (%s)", cerr.msg);
		else
			log_info("%s mode (%s)", r->cloud ? "cloud" : "local", why);
	}
	{
		/* the device's facts for contracts: config.json's deviceType
		 * (either mode), the host OS's os-release, uname */
		bc_config c;
		bc_err cerr = {0};
		bool have = bc_config_load(set->config, &c, &cerr) == 0;
		device_facts_read(&r->facts, set->os_release, have ? c.device_type : NULL);
		if (have)
			bc_config_free(&c);
		log_info("the device, for contracts: supervisor %s, device type %s, arch %s, os "
			 "%s %s, kernel %s %s%s%s",
			 r->facts.supervisor, r->facts.device_type[0] ? r->facts.device_type : "-",
			 r->facts.arch[0] ? r->facts.arch : "-",
			 r->facts.os_slug[0] ? r->facts.os_slug : "-", r->facts.os_version,
			 r->facts.kernel_slug, r->facts.kernel_version,
			 r->facts.l4t[0] ? ", l4t " : "", r->facts.l4t);
	}
	snprintf(r->statefile, sizeof(r->statefile), "%s/target.json", set->statedir);
	snprintf(r->leasefile, sizeof(r->leasefile), "%s/leases.json", set->statedir);
	snprintf(r->purgefile, sizeof(r->purgefile), "%s/purge.json", set->statedir);
	if (bc_daemon_lock_root(d, err) < 0)
		return -1;
	snprintf(r->settledfile, sizeof(r->settledfile), "%s/settled.json", set->statedir);
	snprintf(r->trialfile, sizeof(r->trialfile), "%s/trial.json", set->statedir);
	r->settle_ms = set->settle_ms;
	r->unhealthy_ms = set->unhealthy_ms;
	if ((r->target = load_release(r, r->statefile)) != NULL)
		log_info("resuming the target kept in %s", r->statefile);
	r->last_good = load_release(r, r->settledfile);
	bc_recon_init(&r->core, r->target != NULL);
	rec_load_purge(r);
	rec_load_leases(r);
	if (rec_trial_start(r, err) < 0 || rec_health_start(r, err) < 0)
		return -1;
	/* a round, and beside it the steps it runs at once (bc_pool_map) */
	if (bc_daemon_start_pool(d, r->workers + 1, 4, err) < 0)
		return -1;
	r->pool = d->pool;
	if (rec_rounds_start(r, err) < 0 || rec_renewals_start(r, err) < 0)
		return -1;
	return rec_events_start(r, err);
}

/* The round out finishes (every step is safe to stop after, and the next
 * start plans from what Docker then says); the skeleton waits for it. */
static void
stop(struct bc_daemon *d)
{
	struct rec *r = d->ops->ctx;

	r->core.stopping = true;
	rec_events_stop(r);
}

int
main(int argc, char **argv)
{
	static struct rec r;
	static const struct bc_daemon_ops ops = {
	    .name = "reconciler", .dispatch = dispatch, .ctx = &r, .start = start, .stop = stop};
	return bc_daemon_main(argc, argv, &ops);
}
