/* lib/cloud/report: the state report built from a state document, and the
 * diff that sends only what changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cloud/report.h"
#include "lib/plan/statedoc.h"

/* The report of a state written as its document (typed first, as the
 * gateway has it), rejected: app uuid -> commit, or NULL. */
static json_t *
report_of(const json_t *doc, const json_t *rejected)
{
	bc_body_state st = {0};
	bc_rejections rej = {0};
	bc_err err = {0};
	const char *k;
	json_t *v, *out;

	if (bc_statedoc_to_msg(doc, &st, &err) < 0)
		fail_msg("state: %s", err.msg);
	json_object_foreach((json_t *)rejected, k, v)
	{
		snprintf(rej.v[rej.n].uuid, sizeof(rej.v[0].uuid), "%s", k);
		snprintf(rej.v[rej.n].commit, sizeof(rej.v[0].commit), "%s", json_string_value(v));
		rej.n++;
	}
	out = bc_report_from_state(&st, rejected ? &rej : NULL);
	bc_statebody_free(&st);
	return out;
}

static json_t *
state(const char *app_status, const char *svc_status, int percent)
{
	json_t *s = json_pack("{s:s, s:s}", "status", svc_status, "image", "reg/img:1");
	if (percent >= 0)
		json_object_set_new(
		    s, "download",
		    json_pack("{s:s, s:i}", "image", "reg/img:2", "percent", percent));
	return json_pack("{s:I, s:b, s:[{s:i, s:s, s:s, s:s, s:s, s:{s:o}}, {s:i, s:s, s:{}}]}",
			 "generation", (json_int_t)3, "settled", 1, "apps", "id", 1, "uuid",
			 "appuuid1", "name", "one", "commit", "c1", "status", app_status,
			 "services", "web", s, "id", 2, "status", "Idle", "services");
}

static const char *
path_str(const json_t *dev, const char *svc_field)
{
	json_t *rel = json_object_get(
	    json_object_get(json_object_get(json_object_get(dev, "apps"), "appuuid1"), "releases"),
	    "c1");
	if (strcmp(svc_field, "update_status") == 0)
		return json_string_value(json_object_get(rel, "update_status"));
	return json_string_value(
	    json_object_get(json_object_get(json_object_get(rel, "services"), "web"), svc_field));
}

static void
test_build(void **state_)
{
	json_t *st = state("Idle", "running", -1), *dev = report_of(st, NULL);
	(void)state_;

	assert_string_equal(json_string_value(json_object_get(dev, "status")), "Idle");
	assert_string_equal(path_str(dev, "status"), "Running");
	assert_string_equal(path_str(dev, "image"), "reg/img:1");
	assert_string_equal(path_str(dev, "update_status"), "done");
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(dev, "apps"), "appuuid1"), "release_uuid")),
	    "c1");
	/* an app without a uuid (a local compose project) is not reported */
	assert_int_equal(json_object_size(json_object_get(dev, "apps")), 1);
	json_decref(dev);
	json_decref(st);

	st = state("Downloading", "running", 42);
	dev = report_of(st, NULL);
	assert_string_equal(json_string_value(json_object_get(dev, "status")), "Updating");
	assert_string_equal(path_str(dev, "update_status"), "downloading");
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(
		    json_object_get(
			json_object_get(
			    json_object_get(
				json_object_get(json_object_get(dev, "apps"), "appuuid1"),
				"releases"),
			    "c1"),
			"services"),
		    "web"),
		"download_progress")),
	    42);
	json_decref(dev);
	json_decref(st);

	st = state("Failed", "exited", -1);
	dev = report_of(st, NULL);
	assert_string_equal(path_str(dev, "update_status"), "aborted");
	assert_string_equal(path_str(dev, "status"), "exited");
	json_decref(dev);
	json_decref(st);
}

static const char *
rel_status(const json_t *dev, const char *app, const char *commit)
{
	json_t *a = json_object_get(json_object_get(dev, "apps"), app);
	json_t *r = json_object_get(json_object_get(a, "releases"), commit);
	return json_string_value(json_object_get(r, "update_status"));
}

static void
test_rejected(void **state_)
{
	json_t *st = state("Idle", "running", -1);
	json_t *rej = json_pack("{s:s, s:s}", "appuuid1", "c9", "newapp", "r1");
	json_t *dev = report_of(st, rej);
	(void)state_;

	assert_string_equal(rel_status(dev, "appuuid1", "c9"), "rejected");
	/* the running release is still there beside it */
	assert_string_equal(rel_status(dev, "appuuid1", "c1"), "done");
	assert_string_equal(rel_status(dev, "newapp", "r1"), "rejected");
	json_decref(dev);
	json_decref(rej);
	json_decref(st);
}

/* An app of two services, db and web, each with a container of a release
 * (NULL: no container yet) and the target release "c2". */
static json_t *
update_state(const char *app_status, const char *web_commit, const char *web_status,
	     const char *db_commit, int percent)
{
	json_t *svcs = json_object();
	json_t *web = json_pack("{s:s, s:s, s:s}", "status", web_status ? web_status : "pending",
				"image", "reg/web:2", "commit", web_commit ? web_commit : "c2");
	json_t *db = json_pack("{s:s, s:s, s:s}", "status", "running", "image", "reg/db:1",
			       "commit", db_commit);
	if (percent >= 0)
		json_object_set_new(
		    web, "download",
		    json_pack("{s:s, s:i}", "image", "reg/web:2", "percent", percent));
	json_object_set_new(svcs, "web", web);
	json_object_set_new(svcs, "db", db);
	return json_pack("{s:[{s:i, s:s, s:s, s:s, s:o}]}", "apps", "id", 1, "uuid", "appuuid1",
			 "commit", "c2", "status", app_status, "services", svcs);
}

static const char *
svc_of(const json_t *dev, const char *commit, const char *svc, const char *field)
{
	json_t *a = json_object_get(json_object_get(dev, "apps"), "appuuid1");
	json_t *r = json_object_get(json_object_get(a, "releases"), commit);
	return json_string_value(
	    json_object_get(json_object_get(json_object_get(r, "services"), svc), field));
}

static const char *
runs(const json_t *dev)
{
	return json_string_value(json_object_get(
	    json_object_get(json_object_get(dev, "apps"), "appuuid1"), "release_uuid"));
}

static size_t
n_services(const json_t *dev, const char *commit)
{
	json_t *a = json_object_get(json_object_get(dev, "apps"), "appuuid1");
	return json_object_size(
	    json_object_get(json_object_get(json_object_get(a, "releases"), commit), "services"));
}

static void
test_release_that_runs(void **state_)
{
	json_t *st, *dev;
	(void)state_;

	/* an update waits on a lock: the old release c1 runs both services */
	st = update_state("Waiting for update lock", "c1", "running", "c1", -1);
	dev = report_of(st, NULL);
	assert_string_equal(runs(dev), "c1");
	assert_string_equal(rel_status(dev, "appuuid1", "c1"), "done");
	assert_string_equal(svc_of(dev, "c1", "web", "status"), "Running");
	assert_string_equal(svc_of(dev, "c1", "db", "status"), "Running");
	assert_string_equal(rel_status(dev, "appuuid1", "c2"), "applying changes");
	assert_int_equal(n_services(dev, "c2"), 0); /* nothing of it exists */
	json_decref(dev);
	json_decref(st);

	/* its image comes: under the target, with its progress; the old
	 * container stays under c1 */
	st = update_state("Downloading", "c1", "running", "c1", 40);
	dev = report_of(st, NULL);
	assert_string_equal(runs(dev), "c1");
	assert_string_equal(svc_of(dev, "c1", "web", "status"), "Running");
	assert_null(svc_of(dev, "c1", "web", "download_progress"));
	assert_string_equal(svc_of(dev, "c2", "web", "status"), "Downloading");
	assert_string_equal(rel_status(dev, "appuuid1", "c2"), "downloading");
	json_decref(dev);
	json_decref(st);

	/* the pull failed: c2 aborted, c1 still what runs */
	st = update_state("Failed", "c1", "running", "c1", -1);
	dev = report_of(st, NULL);
	assert_string_equal(runs(dev), "c1");
	assert_string_equal(rel_status(dev, "appuuid1", "c2"), "aborted");
	assert_int_equal(n_services(dev, "c2"), 0);
	assert_string_equal(rel_status(dev, "appuuid1", "c1"), "done");
	json_decref(dev);
	json_decref(st);

	/* c2 failed its trial and c1 came back: c1 runs and is done, c2 is
	 * aborted; the device is not busy */
	st = update_state("Rolled back", "c1", "running", "c1", -1);
	json_object_set_new(json_array_get(json_object_get(st, "apps"), 0), "commit",
			    json_string("c1"));
	json_object_set_new(json_array_get(json_object_get(st, "apps"), 0), "rolled_back",
			    json_string("c2"));
	dev = report_of(st, NULL);
	assert_string_equal(runs(dev), "c1");
	assert_string_equal(rel_status(dev, "appuuid1", "c1"), "done");
	assert_string_equal(rel_status(dev, "appuuid1", "c2"), "aborted");
	assert_int_equal(n_services(dev, "c2"), 0);
	assert_string_equal(json_string_value(json_object_get(dev, "status")), "Idle");
	json_decref(dev);
	json_decref(st);

	/* the trial of c2: applying changes until it is committed */
	st = update_state("Settling", "c2", "running", "c2", -1);
	dev = report_of(st, NULL);
	assert_string_equal(rel_status(dev, "appuuid1", "c2"), "applying changes");
	assert_string_equal(json_string_value(json_object_get(dev, "status")), "Updating");
	json_decref(dev);
	json_decref(st);

	/* half way: web is c2's, db still c1's */
	st = update_state("Updating", "c2", "running", "c1", -1);
	dev = report_of(st, NULL);
	assert_string_equal(runs(dev), "c1");
	assert_string_equal(svc_of(dev, "c2", "web", "status"), "Running");
	assert_null(svc_of(dev, "c1", "web", "status"));
	assert_string_equal(svc_of(dev, "c1", "db", "status"), "Running");
	json_decref(dev);
	json_decref(st);

	/* only the target's containers, not yet applied: no claim */
	st = update_state("Updating", "c2", "created", "c2", -1);
	dev = report_of(st, NULL);
	assert_null(runs(dev));
	assert_int_equal(n_services(dev, "c2"), 2);
	json_decref(dev);
	json_decref(st);

	/* applied */
	st = update_state("Idle", "c2", "running", "c2", -1);
	dev = report_of(st, NULL);
	assert_string_equal(runs(dev), "c2");
	assert_string_equal(rel_status(dev, "appuuid1", "c2"), "done");
	assert_null(json_object_get(
	    json_object_get(json_object_get(json_object_get(dev, "apps"), "appuuid1"), "releases"),
	    "c1"));
	json_decref(dev);
	json_decref(st);

	/* an app on its way out is not reported */
	st = update_state("Updating", "c1", "running", "c1", -1);
	json_object_set_new(json_array_get(json_object_get(st, "apps"), 0), "removed", json_true());
	dev = report_of(st, NULL);
	assert_int_equal(json_object_size(json_object_get(dev, "apps")), 0);
	json_decref(dev);
	json_decref(st);
}

static void
test_diff(void **state_)
{
	json_t *a = state("Idle", "running", -1), *b = state("Downloading", "running", 10);
	json_t *c = state("Downloading", "running", 20);
	json_t *ra = report_of(a, NULL), *rb = report_of(b, NULL), *rc = report_of(c, NULL), *d;
	(void)state_;

	d = bc_report_diff(NULL, ra); /* the first: everything */
	assert_non_null(json_object_get(d, "status"));
	assert_non_null(json_object_get(d, "apps"));
	json_decref(d);
	{
		/* the same state built again (another document): never an
		 * empty report */
		json_t *a2 = state("Idle", "running", -1), *ra2 = report_of(a2, NULL);
		assert_ptr_not_equal(ra2, ra);
		assert_null(bc_report_diff(ra, ra2));
		json_decref(ra2);
		json_decref(a2);
	}
	d = bc_report_diff(rb, rc); /* progress only: apps whole, status not */
	assert_null(json_object_get(d, "status"));
	assert_non_null(json_object_get(json_object_get(d, "apps"), "appuuid1"));
	json_decref(d);
	assert_true(bc_report_status_changed(ra, rb));	/* Idle -> Updating: at once */
	assert_false(bc_report_status_changed(rb, rc)); /* progress: at the next tick */
	assert_true(bc_report_status_changed(NULL, ra));
	json_decref(ra);
	json_decref(rb);
	json_decref(rc);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

/* When reports go, and the waits after a failure: a status change at
 * once, anything else at most every 10 s; Retry-After over the backoff,
 * which doubles from 15 s up to the poll interval. */
static void
test_when(void **state_)
{
	json_t *a = state("Idle", "running", -1), *b = state("Downloading", "running", 10);
	json_t *c = state("Downloading", "running", 20);
	json_t *ra = report_of(a, NULL), *rb = report_of(b, NULL), *rc = report_of(c, NULL);
	static const struct {
		long retry_after;
		unsigned n;
		uint64_t cap, want;
	} waits[] = {
	    {0, 0, 900000, 15000},     {0, 1, 900000, 30000},  {0, 2, 900000, 60000},
	    {0, 3, 900000, 120000},    {0, 2, 40000, 40000},   {0, 40, 900000, 900000},
	    {7, 0, 900000, 7000},      {7, 5, 900000, 7000},   {86400, 0, 1000, 86400000},
	    {86401, 0, 900000, 15000}, {-3, 1, 900000, 30000},
	};
	(void)state_;
	/* the first report, and a status change: at once */
	assert_int_equal(bc_report_when(NULL, ra, 0, 5000000), 5000000);
	assert_int_equal(bc_report_when(ra, rb, 4999000, 5000000), 5000000);
	/* progress only: 10 s after the last one sent */
	assert_int_equal(bc_report_when(rb, rc, 4999000, 5000000), 4999000 + BC_REPORT_EVERY_MS);
	assert_int_equal(bc_report_when(rb, rc, 4000000, 5000000), 4000000 + BC_REPORT_EVERY_MS);
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++)
		assert_int_equal(
		    bc_cloud_backoff_ms(waits[i].n, waits[i].retry_after, waits[i].cap),
		    waits[i].want);
	json_decref(ra);
	json_decref(rb);
	json_decref(rc);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

/* The gateway's side: the body to send (only what changed since what the
 * cloud accepted), nothing when nothing changed, and when. */
static void
test_reporter(void **state_)
{
	bc_reporter r = {0};
	bc_body_state a = {0}, b = {0};
	bc_err err = {0};
	json_t *ja = state("Idle", "running", -1), *jb = state("Downloading", "running", 30), *sent;
	char *body;
	(void)state_;

	assert_int_equal(bc_statedoc_to_msg(ja, &a, &err), 0);
	assert_int_equal(bc_statedoc_to_msg(jb, &b, &err), 0);
	/* nothing accepted yet: everything, under the device's uuid, at once */
	assert_int_equal(bc_reporter_when(&r, &a, NULL, 0, 5000), 5000);
	body = bc_reporter_body(&r, "dev1", &a, NULL, &err);
	assert_non_null(body);
	sent = json_loads(body, 0, NULL);
	assert_non_null(json_object_get(json_object_get(sent, "dev1"), "status"));
	assert_non_null(json_object_get(json_object_get(sent, "dev1"), "apps"));
	json_decref(sent);
	bc_reporter_accepted(&r, "dev1", body);
	free(body);
	/* the same state again: nothing to send, and no error */
	err.code = 7;
	assert_null(bc_reporter_body(&r, "dev1", &a, NULL, &err));
	assert_int_equal(err.code, 0);
	assert_int_equal(bc_reporter_when(&r, &a, NULL, 4000, 5000), 4000 + BC_REPORT_EVERY_MS);
	/* the app is busy now: a status change goes at once, the apps whole */
	assert_int_equal(bc_reporter_when(&r, &b, NULL, 4000, 5000), 5000);
	body = bc_reporter_body(&r, "dev1", &b, NULL, &err);
	sent = json_loads(body, 0, NULL);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(sent, "dev1"), "status")),
	    "Updating");
	json_decref(sent);
	free(body);
	bc_reporter_free(&r);
	bc_statebody_free(&a);
	bc_statebody_free(&b);
	json_decref(ja);
	json_decref(jb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build),
	    cmocka_unit_test(test_rejected),
	    cmocka_unit_test(test_release_that_runs),
	    cmocka_unit_test(test_diff),
	    cmocka_unit_test(test_when),
	    cmocka_unit_test(test_reporter),
	};
	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
