#include "lib/cloud/report.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/plan/statedoc.h"

/* Docker's state of a container (or ours while it has none) as the
 * supervisor names a service's status. */
static const char *
service_status(const char *s, const char *app_status)
{
	static const struct {
		const char *ours, *theirs;
	} map[] = {{"running", "Running"},    {"created", "Installed"},
		   {"restarting", "Running"}, {"paused", "Running"},
		   {"exited", "exited"},      {"dead", "Dead"},
		   {"removing", "Stopping"},  {"downloading", "Downloading"}};

	for (size_t i = 0; s != NULL && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(s, map[i].ours) == 0)
			return map[i].theirs;
	/* no container yet: its image is there or coming */
	if (app_status != NULL && strcmp(app_status, "Downloading") == 0)
		return "Downloading";
	return app_status != NULL && strcmp(app_status, "Idle") == 0 ? "Downloaded" : "Installing";
}

static const char *
update_status(const char *app_status)
{
	if (app_status == NULL)
		return "applying changes";
	if (strcmp(app_status, "Idle") == 0)
		return "done";
	if (strcmp(app_status, "Downloading") == 0)
		return "downloading";
	if (strcmp(app_status, "Failed") == 0)
		return "aborted";
	if (strcmp(app_status, "Rolled back") == 0)
		return "done"; /* the release that runs is the one before */
	return "applying changes";
}

/* releases[commit], made on first use with its update_status. */
static json_t *
release_of(json_t *releases, const char *commit, const char *status)
{
	json_t *r = json_object_get(releases, commit);

	if (r == NULL) {
		r = json_pack("{s:s, s:{}}", "update_status", status, "services");
		json_object_set_new(releases, commit, r);
	}
	return json_object_get(r, "services");
}

/* One app as the supervisor's getState files it: each container under the
 * release its labels name (a service doc's "commit"), what has no
 * container yet under the target release (the app's "commit"), which
 * carries the app's update_status; a release that is not the target is
 * one that was applied: "done". release_uuid: the release that runs, the
 * target once the app is Idle, before that the release of the containers
 * that are not the target's; none (the cloud keeps what it had) while
 * only the target's containers exist and it is not yet applied. */
static json_t *
app_report(const bc_app_rec *a)
{
	const char *st = bc_app_status_name(a->status);
	const char *target = a->commit;
	const char *runs = NULL;
	json_t *rels = json_object(), *out;

	if (target != NULL)
		release_of(rels, target, update_status(st));
	/* the release that failed its trial: aborted (the supervisor's
	 * nearest; why is in the device's log) */
	if (a->rolled_back != NULL && (target == NULL || strcmp(a->rolled_back, target) != 0))
		release_of(rels, a->rolled_back, "aborted");
	for (size_t i = 0; i < a->services.n; i++) {
		const bc_svc_rec *s = &a->services.v[i];
		const char *commit = s->commit ?: target;
		bool dl = s->dl_image != NULL;
		bool old = target != NULL && commit != NULL && strcmp(commit, target) != 0;
		json_t *o;

		if (commit == NULL)
			continue;
		o = json_pack("{s:s, s:s}", "image", s->image ?: "", "status",
			      service_status(s->status, old ? "Idle" : st));
		if (old) {
			if (runs == NULL ||
			    (s->status != NULL && strcmp(s->status, "running") == 0))
				runs = commit;
			json_object_set_new(release_of(rels, commit, "done"), s->name, o);
			/* the target's image for it is coming: filed under the target */
			if (dl)
				json_object_set_new(
				    release_of(rels, target, update_status(st)), s->name,
				    json_pack("{s:s, s:s, s:I}", "image", s->dl_image, "status",
					      "Downloading", "download_progress",
					      (json_int_t)s->dl_percent));
			continue;
		}
		if (dl)
			json_object_set_new(o, "download_progress",
					    json_integer((json_int_t)s->dl_percent));
		json_object_set_new(release_of(rels, commit, update_status(st)), s->name, o);
	}
	if (target != NULL && st != NULL &&
	    (strcmp(st, "Idle") == 0 || strcmp(st, "Rolled back") == 0))
		runs = target;
	out = json_pack("{s:o}", "releases", rels);
	if (runs != NULL)
		json_object_set_new(out, "release_uuid", json_string(runs));
	return out;
}

json_t *
bc_report_from_state(const bc_body_state *state, const bc_rejections *rejected)
{
	json_t *apps = json_object(), *out;
	int busy = 0;

	for (size_t i = 0; i < state->apps.n; i++) {
		const bc_app_rec *a = &state->apps.v[i];
		const char *st = bc_app_status_name(a->status);
		if (st != NULL && strcmp(st, "Idle") != 0 && strcmp(st, "Failed") != 0 &&
		    strcmp(st, "Rolled back") != 0)
			busy = 1;
		/* an app on its way out is not the cloud's to hear of (the
		 * supervisor reports only the target's apps) */
		if (a->uuid == NULL || a->removed)
			continue;
		json_object_set_new(apps, a->uuid, app_report(a));
	}
	for (size_t i = 0; rejected != NULL && i < rejected->n; i++) {
		const bc_rejected *r = &rejected->v[i];
		json_t *ar = json_object_get(apps, r->uuid), *rels;
		if (ar == NULL)
			json_object_set_new(apps, r->uuid, ar = json_pack("{s:{}}", "releases"));
		rels = json_object_get(ar, "releases");
		json_object_set_new(
		    rels, r->commit,
		    json_pack("{s:s, s:{}}", "update_status", "rejected", "services"));
	}
	out = json_pack("{s:s, s:o}", "status", busy ? "Updating" : "Idle", "apps", apps);
	return out;
}

json_t *
bc_report_diff(const json_t *last, const json_t *now)
{
	json_t *out = json_object(), *v;
	const char *k;

	json_object_foreach((json_t *)now, k, v)
	{
		if (last == NULL || !json_equal(json_object_get(last, k), v))
			json_object_set(out, k, v);
	}
	if (json_object_size(out) == 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* Has every release of a the same update_status in b (same app, same
 * commit)? */
static bool
statuses_in(const json_t *a, const json_t *b)
{
	const char *uuid, *commit;
	json_t *app, *r;

	json_object_foreach(json_object_get(a, "apps"), uuid, app)
	{
		json_t *other = json_object_get(json_object_get(b, "apps"), uuid);
		json_object_foreach(json_object_get(app, "releases"), commit, r)
		{
			json_t *o = json_object_get(json_object_get(other, "releases"), commit);
			if (o == NULL || !json_equal(json_object_get(r, "update_status"),
						     json_object_get(o, "update_status")))
				return false;
		}
	}
	return true;
}

int
bc_report_status_changed(const json_t *last, const json_t *now)
{
	if (last == NULL)
		return 1;
	if (!json_equal(json_object_get(last, "status"), json_object_get(now, "status")))
		return 1;
	return !(statuses_in(last, now) && statuses_in(now, last));
}

uint64_t
bc_report_when(const json_t *last, const json_t *now, uint64_t last_sent_ms, uint64_t now_ms)
{
	if (last_sent_ms == 0 || bc_report_status_changed(last, now))
		return now_ms;
	return last_sent_ms + BC_REPORT_EVERY_MS;
}

uint64_t
bc_cloud_backoff_ms(unsigned n, long retry_after_s, uint64_t cap_ms)
{
	if (retry_after_s > 0 && retry_after_s <= BC_RETRY_AFTER_MAX_S)
		return (uint64_t)retry_after_s * 1000; /* seconds (RFC 9110) */
	return bc_doubling_ms(n, BC_CLOUD_BACKOFF_MIN_MS, cap_ms);
}

char *
bc_reporter_body(const bc_reporter *r, const char *uuid, const bc_body_state *st,
		 const bc_rejections *rejected, bc_err *err)
{
	json_t *now = bc_report_from_state(st, rejected), *diff, *body;
	char *text;

	err->code = 0;
	if (now == NULL) {
		bc_err_set(err, BC_ESYS, "state report: out of memory");
		return NULL;
	}
	diff = bc_report_diff(r->accepted, now);
	json_decref(now);
	if (diff == NULL)
		return NULL; /* never an empty report */
	body = json_pack("{s:o}", uuid, diff);
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (text == NULL)
		bc_err_set(err, BC_ESYS, "state report: out of memory");
	return text;
}

void
bc_reporter_accepted(bc_reporter *r, const char *uuid, const char *body)
{
	json_t *b = json_loads(body, 0, NULL);
	json_t *diff = json_object_get(b, uuid);

	if (r->accepted == NULL)
		r->accepted = json_object();
	json_object_update(r->accepted, diff);
	json_decref(b);
}

uint64_t
bc_reporter_when(const bc_reporter *r, const bc_body_state *st, const bc_rejections *rejected,
		 uint64_t last_sent_ms, uint64_t now_ms)
{
	json_t *now = bc_report_from_state(st, rejected);
	uint64_t at = bc_report_when(r->accepted, now, last_sent_ms, now_ms);

	json_decref(now);
	return at;
}

void
bc_reporter_free(bc_reporter *r)
{
	json_decref(r->accepted);
	r->accepted = NULL;
}
