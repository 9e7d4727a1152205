#include "lib/cloud/report.h"

#include <stdbool.h>
#include <string.h>

#include "lib/base/clock.h"

/* Docker's state of a container (or ours while it has none) as the
 * supervisor names a service's status. */
static const char *
service_status(const char *s, const char *app_status)
{
	static const struct {
		const char *ours, *theirs;
	} map[] = {{"running", "Running"},	   {"created", "Installed"},
		   {"restarting", "Running"},	   {"paused", "Running"},
		   {"exited", "exited"},	   {"dead", "Dead"},
		   {"removing", "Stopping"},	   {"downloading", "Downloading"}};

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
app_report(const json_t *a)
{
	const char *st = json_string_value(json_object_get(a, "status"));
	const char *target = json_string_value(json_object_get(a, "commit"));
	const char *runs = NULL, *name;
	json_t *rels = json_object(), *s, *out;

	if (target != NULL)
		release_of(rels, target, update_status(st));
	json_object_foreach(json_object_get(a, "services"), name, s)
	{
		const char *commit = json_string_value(json_object_get(s, "commit")) ?: target;
		const char *status = json_string_value(json_object_get(s, "status"));
		json_t *dl = json_object_get(s, "download");
		json_t *pct = json_object_get(dl, "percent");
		bool old = target != NULL && commit != NULL && strcmp(commit, target) != 0;
		json_t *o;

		if (commit == NULL)
			continue;
		o = json_pack("{s:s, s:s}", "image",
			      json_string_value(json_object_get(s, "image")) ?: "", "status",
			      service_status(status, old ? "Idle" : st));
		if (old) {
			if (runs == NULL || (status != NULL && strcmp(status, "running") == 0))
				runs = commit;
			json_object_set_new(release_of(rels, commit, "done"), name, o);
			/* the target's image for it is coming: filed under the target */
			if (json_is_integer(pct))
				json_object_set_new(
				    release_of(rels, target, update_status(st)), name,
				    json_pack("{s:s, s:s, s:O}", "image",
					      json_string_value(json_object_get(dl, "image")) ?: "",
					      "status", "Downloading", "download_progress", pct));
			continue;
		}
		if (json_is_integer(pct))
			json_object_set(o, "download_progress", pct);
		json_object_set_new(release_of(rels, commit, update_status(st)), name, o);
	}
	if (target != NULL && st != NULL && strcmp(st, "Idle") == 0)
		runs = target;
	out = json_pack("{s:o}", "releases", rels);
	if (runs != NULL)
		json_object_set_new(out, "release_uuid", json_string(runs));
	return out;
}

json_t *
bc_report_from_state(const json_t *state, const json_t *rejected)
{
	json_t *apps = json_object(), *a, *out;
	const char *uuid, *commit;
	size_t i;
	int busy = 0;

	json_array_foreach(json_object_get(state, "apps"), i, a)
	{
		const char *st = json_string_value(json_object_get(a, "status"));
		uuid = json_string_value(json_object_get(a, "uuid"));
		if (st != NULL && strcmp(st, "Idle") != 0 && strcmp(st, "Failed") != 0)
			busy = 1;
		/* an app on its way out is not the cloud's to hear of (the
		 * supervisor reports only the target's apps) */
		if (uuid == NULL || json_is_true(json_object_get(a, "removed")))
			continue;
		json_object_set_new(apps, uuid, app_report(a));
	}
	json_object_foreach((json_t *)rejected, uuid, a)
	{
		json_t *ar = json_object_get(apps, uuid), *rels;
		if ((commit = json_string_value(a)) == NULL)
			continue;
		if (ar == NULL)
			json_object_set_new(apps, uuid, ar = json_pack("{s:{}}", "releases"));
		rels = json_object_get(ar, "releases");
		json_object_set_new(rels, commit,
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
