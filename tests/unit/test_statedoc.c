/* lib/statedoc: the state document the reconciler publishes, the CLI shows
 * and the Composer API returns per app. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/plan/statedoc.h"

static bc_app *
app(bc_state *s, int64_t id, const char *name, const char *commit)
{
	bc_app *a = bc_state_add_app(s);
	assert_non_null(a);
	a->app_id = id;
	a->uuid = strdup(name ? name : "u");
	a->name = name ? strdup(name) : NULL;
	a->commit = commit ? strdup(commit) : NULL;
	return a;
}

static bc_service *
svc(bc_app *a, const char *name, int64_t release, const char *status)
{
	bc_service *s = bc_app_add_service(a);
	assert_non_null(s);
	s->name = strdup(name);
	s->image = strdup("registry/img:1");
	s->release_id = release;
	s->image_id = 7;
	s->commit = strdup(release == 2 ? "c2" : "c1");
	if (status != NULL) {
		s->status = strdup(status);
		s->container_id = strdup("0123456789abcdef0123");
	}
	return s;
}

static json_t *
app_of(json_t *doc, int64_t id)
{
	json_t *a = bc_statedoc_app(doc, id);
	json_decref(a); /* doc keeps it (or it was a fresh Idle one: checked apart) */
	return a;
}

static const char *
str(json_t *o, const char *path1, const char *path2, const char *key)
{
	if (path1)
		o = json_object_get(o, path1);
	if (path2)
		o = json_object_get(o, path2);
	return json_string_value(json_object_get(o, key));
}

static void
test_absent_app_is_idle(void **state)
{
	bc_statedoc_in in = {.generation = 3};
	json_t *doc, *a, *want;
	char *text;
	(void)state;

	doc = bc_statedoc_build(&in);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "apps")), 0);
	a = bc_statedoc_app(doc, 42);
	text = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
	want = json_loads("{\"status\": \"Idle\", \"services\": {}, \"networks\": {}, "
			  "\"volumes\": {}}",
			  0, NULL);
	assert_true(json_equal(a, want));
	free(text);
	json_decref(want);
	json_decref(a);
	json_decref(doc);
}

static void
test_running_app_maps_services(void **state)
{
	bc_state tgt = {0}, cur = {0};
	bc_app *t = app(&tgt, 1, "web-app", "c2"), *c = app(&cur, 1, NULL, NULL);
	bc_converge cv = {.settled = true};
	bc_statedoc_in in = {.generation = 1, .current = &cur, .target = &tgt, .c = &cv};
	json_t *doc, *a;
	(void)state;

	svc(t, "web", 2, NULL);
	svc(t, "db", 2, NULL);
	/* a hand-over: the old container and the new one of web */
	svc(c, "web", 2, "running");
	svc(c, "web", 1, "running");
	bc_volume *v = bc_app_add_volume(t);
	v->name = strdup("data");
	bc_network *n = bc_app_add_network(c);
	n->name = strdup("default");

	doc = bc_statedoc_build(&in);
	a = app_of(doc, 1);
	assert_string_equal(str(a, NULL, NULL, "status"), "Idle");
	assert_string_equal(str(a, NULL, NULL, "name"), "web-app");
	assert_string_equal(str(a, NULL, NULL, "commit"), "c2");
	assert_string_equal(str(a, "services", "web", "status"), "running");
	assert_string_equal(str(a, "services", "web", "commit"), "c2"); /* the target's */
	assert_string_equal(str(a, "services", "web", "id"), "0123456789ab");
	assert_string_equal(str(a, "services", "web", "container"), "web_7_2_c2");
	assert_string_equal(str(a, "services", "db", "status"), "pending");
	assert_string_equal(str(a, "volumes", "data", "status"), "pending");
	assert_string_equal(str(a, "networks", "default", "status"), "created");
	assert_true(json_is_true(json_object_get(doc, "settled")));
	json_decref(doc);
	bc_state_free(&tgt);
	bc_state_free(&cur);
}

static void
test_outcomes_per_app(void **state)
{
	bc_state tgt = {0};
	bc_app_outcome o[3] = {{.app_id = 1, .phase = BC_APP_SETTLED},
			       {.app_id = 2, .phase = BC_APP_FAILED, .why = "fetch 'x': 404"},
			       {.app_id = 3, .phase = BC_APP_LOCKED, .why = "locked by the app"}};
	bc_converge cv = {.apps = o, .n_apps = 3};
	bc_statedoc_in in = {.generation = 2, .target = &tgt, .c = &cv, .error = "fetch 'x': 404"};
	json_t *doc;
	(void)state;

	app(&tgt, 1, "one", "a");
	app(&tgt, 2, "two", "b");
	app(&tgt, 3, "three", "c");
	doc = bc_statedoc_build(&in);
	/* one app's failure is that app's, not the others' */
	assert_string_equal(str(app_of(doc, 1), NULL, NULL, "status"), "Idle");
	assert_null(json_object_get(app_of(doc, 1), "error"));
	assert_string_equal(str(app_of(doc, 2), NULL, NULL, "status"), "Failed");
	assert_string_equal(str(app_of(doc, 2), NULL, NULL, "error"), "fetch 'x': 404");
	assert_string_equal(str(app_of(doc, 3), NULL, NULL, "status"), "Waiting for update lock");
	assert_string_equal(str(app_of(doc, 3), NULL, NULL, "waiting"), "locked by the app");
	assert_false(json_is_true(json_object_get(doc, "settled")));
	json_decref(doc);

	/* a converge that failed as a whole (Docker away): every app says so */
	cv.n_apps = 0;
	in.error = "docker: connection refused";
	doc = bc_statedoc_build(&in);
	assert_string_equal(str(app_of(doc, 1), NULL, NULL, "status"), "Failed");
	assert_string_equal(str(app_of(doc, 3), NULL, NULL, "error"), "docker: connection refused");
	json_decref(doc);
	bc_state_free(&tgt);
}

/* The document typed (as the reconciler keeps it) and back (to look at). */
static void
typed(json_t *doc, bc_body_state *st)
{
	bc_err err = {0};
	*st = (bc_body_state){0};
	if (bc_statedoc_to_msg(doc, st, &err) < 0)
		fail_msg("to_msg: %s", err.msg);
	json_decref(doc);
}

static json_t *
untyped(bc_body_state *st)
{
	json_t *doc = bc_statedoc_from_msg(st);
	bc_statebody_free(st);
	assert_non_null(doc);
	return doc;
}

static void
test_overlay_busy_and_downloads(void **state)
{
	bc_state tgt = {0}, cur = {0};
	bc_converge cv = {.settled = true};
	bc_statedoc_in in = {.generation = 1, .current = &cur, .target = &tgt, .c = &cv};
	bc_body_state st, copy;
	bc_err err = {0};
	json_t *doc, *a, *d;
	const bc_busy busy[] = {{.app_id = 1, .downloading = true}, {.app_id = 9}};
	const bc_download dl[] = {
	    {.app_id = 1,
	     .service = "db",
	     .image = "reg/db:2",
	     .percent = 40,
	     .current = 4,
	     .total = 10},
	    {.app_id = 1,
	     .service = "web",
	     .image = "reg/web:2",
	     .percent = 5,
	     .current = 1,
	     .total = 20},
	    {.app_id = 1,
	     .service = "new",
	     .image = "reg/new:1",
	     .percent = 1,
	     .current = 1,
	     .total = 100},
	    {.app_id = 77, .service = "x", .image = "reg/x:1"}, /* no such app: nothing */
	};
	(void)state;

	svc(app(&tgt, 1, "one", "c2"), "db", 2, NULL);
	svc(app(&cur, 1, NULL, NULL), "web", 1, "running");
	typed(bc_statedoc_build(&in), &st);
	/* the loop lays it over a copy: the kept one stays as it was */
	assert_int_equal(bc_statebody_copy(&copy, &st, &err), 0);
	assert_int_equal(bc_statebody_overlay(&copy, dl, 4, busy, 2), 0);
	assert_null(bc_statebody_find(&st, 9));
	bc_statebody_free(&st);
	doc = untyped(&copy);
	a = app_of(doc, 1);
	assert_string_equal(str(a, NULL, NULL, "status"), "Downloading");
	assert_string_equal(str(a, "services", "db", "status"), "downloading");
	d = json_object_get(json_object_get(json_object_get(a, "services"), "db"), "download");
	assert_int_equal(json_integer_value(json_object_get(d, "percent")), 40);
	assert_int_equal(json_integer_value(json_object_get(d, "total")), 10);
	assert_string_equal(json_string_value(json_object_get(d, "image")), "reg/db:2");
	/* the running one keeps running while its next image comes */
	assert_string_equal(str(a, "services", "web", "status"), "running");
	assert_non_null(
	    json_object_get(json_object_get(json_object_get(a, "services"), "web"), "download"));
	/* a service with no record yet: one, downloading its image */
	assert_string_equal(str(a, "services", "new", "status"), "downloading");
	assert_string_equal(str(a, "services", "new", "image"), "reg/new:1");
	/* an app the last converge did not know yet */
	assert_string_equal(str(app_of(doc, 9), NULL, NULL, "status"), "Updating");
	assert_null(bc_statedoc_find(doc, 77));
	json_decref(doc);
	bc_state_free(&tgt);
	bc_state_free(&cur);
}

static void
test_pending_target(void **state)
{
	json_t *doc = json_pack("{s:I, s:[{s:i, s:s, s:s, s:s, s:s, s:{s:{s:s, s:s}}}]}",
				"generation", (json_int_t)4, "apps", "id", 7, "uuid", "u7",
				"commit", "c1", "status", "Failed", "error", "boom", "services",
				"main", "status", "running", "commit", "c1");
	bc_state tgt = {0}, same = {0};
	bc_body_state st;
	(void)state;

	app(&same, 7, "seven", "c1");
	app(&tgt, 7, "seven", "c2");
	app(&tgt, 8, "eight", "d1");
	app(&tgt, 9, NULL, NULL); /* a compose project: no commit, nothing */
	typed(doc, &st);
	/* the same release: nothing changes */
	assert_int_equal(bc_statebody_pending(&st, &same), 0);
	assert_int_equal(bc_statebody_find(&st, 7)->status, BC_APP_FAILING);
	/* a newer one: its commit, Updating (the failure is over), the
	 * containers as they are */
	assert_int_equal(bc_statebody_pending(&st, &tgt), 0);
	doc = untyped(&st);
	assert_string_equal(str(app_of(doc, 7), NULL, NULL, "commit"), "c2");
	assert_string_equal(str(app_of(doc, 7), NULL, NULL, "status"), "Updating");
	assert_null(str(app_of(doc, 7), NULL, NULL, "error"));
	assert_string_equal(str(app_of(doc, 7), "services", "main", "commit"), "c1");
	/* an app the state did not know */
	assert_string_equal(str(app_of(doc, 8), NULL, NULL, "commit"), "d1");
	assert_string_equal(str(app_of(doc, 8), NULL, NULL, "name"), "eight");
	assert_string_equal(str(app_of(doc, 8), NULL, NULL, "status"), "Updating");
	assert_null(bc_statedoc_find(doc, 9));
	json_decref(doc);
	bc_state_free(&tgt);
	bc_state_free(&same);
}

/* Found by id, uuid or name. */
static void
test_app_rec_is(void **state)
{
	bc_app_rec a = {.id = 12, .uuid = "abc", .name = "web"};
	(void)state;
	assert_true(bc_app_rec_is(&a, "12"));
	assert_true(bc_app_rec_is(&a, "abc"));
	assert_true(bc_app_rec_is(&a, "web"));
	assert_false(bc_app_rec_is(&a, "1"));
	a.uuid = a.name = NULL;
	assert_false(bc_app_rec_is(&a, "abc"));
}

/* The document through a STATE message and back is the same document. */
static void
test_through_the_wire(void **state)
{
	bc_state tgt = {0}, cur = {0};
	bc_app_outcome o[2] = {{.app_id = 1, .phase = BC_APP_SETTLED},
			       {.app_id = 2, .phase = BC_APP_FAILED, .why = "no image"}};
	bc_converge cv = {.apps = o, .n_apps = 2, .rounds = 2, .steps_done = 5};
	bc_statedoc_in in = {.generation = 4, .current = &cur, .target = &tgt, .c = &cv};
	bc_msg m = {.type = BC_MSG_STATE}, back;
	bc_buf b = {0};
	bc_err err = {0};
	json_t *doc, *again;
	const bc_download dl = {.app_id = 1,
				.service = "db",
				.image = "reg/db:2",
				.percent = 40,
				.current = 4,
				.total = 10};
	(void)state;

	svc(app(&tgt, 1, "one", "c2"), "db", 2, NULL);
	svc(app(&cur, 1, NULL, NULL), "web", 1, "running");
	bc_app_add_volume(&tgt.apps[0])->name = strdup("data");
	svc(app(&tgt, 2, "two", "c9"), "x", 2, NULL);
	doc = bc_statedoc_build(&in);
	assert_int_equal(bc_statedoc_to_msg(doc, &m.body.state, &err), 0);
	m.body.state.generation = 4;
	for (int pass = 0; pass < 2; pass++) {
		/* as built, then with a download laid over the typed form */
		assert_int_equal(bc_msg_encode(&m, &b, &err), 0);
		assert_int_equal(bc_msg_decode(b.data, b.len, &back, &err), 0);
		again = bc_statedoc_from_msg(&back.body.state);
		if (!json_equal(doc, again)) {
			char *x = json_dumps(doc, JSON_SORT_KEYS),
			     *y = json_dumps(again, JSON_SORT_KEYS);
			fail_msg("pass %d: before: %s\nafter:  %s", pass, x, y);
		}
		json_decref(again);
		json_decref(doc);
		bc_msg_clear(&back);
		bc_buf_free(&b);
		assert_int_equal(bc_statebody_overlay(&m.body.state, &dl, 1, NULL, 0), 0);
		doc = bc_statedoc_from_msg(&m.body.state);
	}
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(json_object_get(json_object_get(app_of(doc, 1), "services"), "db"),
				"download"),
		"percent")),
	    40);
	json_decref(doc);
	bc_msg_clear(&m);
	bc_state_free(&tgt);
	bc_state_free(&cur);
}

/* The words of a health-gated update go over the wire and back: Settling,
 * Rolled back with the release that failed, a service's restart count. */
static void
test_trial_words_through_the_wire(void **state)
{
	const char *text =
	    "{\"generation\": 3, \"settled\": true, \"error\": null, \"waiting\": \"\", "
	    "\"rounds\": 1, "
	    "\"steps\": 0, \"converge_ms\": 1, \"apps\": ["
	    "{\"id\": 1, \"commit\": \"c1\", \"status\": \"Rolled back\", \"error\": \"why\", "
	    "\"rolled_back\": \"c2\", \"skipped\": [\"opt\", \"gpu\"], \"ignored\": [\"s: "
	    "frobnicate\"], \"services\": {\"s\": {\"status\": \"running\", \"image\": \"i\", "
	    "\"commit\": \"c1\", "
	    "\"release\": 1, \"health_restarts\": 2}}, \"networks\": {}, \"volumes\": {}},"
	    "{\"id\": 2, \"status\": \"Settling\", \"waiting\": \"its period\", \"services\": {}, "
	    "\"networks\": {}, \"volumes\": {}}]}";
	json_t *doc = json_loads(text, 0, NULL), *again;
	bc_msg m = {.type = BC_MSG_STATE}, back;
	bc_buf b = {0};
	bc_err err = {0};
	(void)state;

	assert_non_null(doc);
	assert_int_equal(bc_statedoc_to_msg(doc, &m.body.state, &err), 0);
	assert_int_equal(m.body.state.apps.v[0].status, BC_APP_ROLLED_BACK);
	assert_int_equal(m.body.state.apps.v[1].status, BC_APP_SETTLING);
	assert_int_equal(bc_msg_encode(&m, &b, &err), 0);
	assert_int_equal(bc_msg_decode(b.data, b.len, &back, &err), 0);
	again = bc_statedoc_from_msg(&back.body.state);
	if (!json_equal(doc, again)) {
		char *x = json_dumps(doc, JSON_SORT_KEYS), *y = json_dumps(again, JSON_SORT_KEYS);
		fail_msg("before: %s\nafter:  %s", x, y);
	}
	assert_string_equal(bc_app_status_name(BC_APP_ROLLED_BACK), "Rolled back");
	assert_null(bc_app_status_name(BC_APP_ROLLED_BACK + 1));
	json_decref(again);
	json_decref(doc);
	bc_msg_clear(&back);
	bc_msg_clear(&m);
	bc_buf_free(&b);
}

/* A state beyond the message's bounds is cut to them: it is still sent. */
static void
test_bounded_for_the_wire(void **state)
{
	json_t *doc = json_pack("{s:I, s:b, s:s, s:[{s:I, s:s, s:{}, s:{}, s:{}}]}", "generation",
				(json_int_t)1, "settled", 1, "waiting", "", "apps", "id",
				(json_int_t)1, "status", "Idle", "services", "networks", "volumes");
	json_t *vols = json_object_get(json_array_get(json_object_get(doc, "apps"), 0), "volumes");
	bc_msg m = {.type = BC_MSG_STATE};
	bc_buf b = {0};
	bc_err err = {0};
	(void)state;
	for (int i = 0; i < BC_STATE_MAX_NAMED + 50; i++) {
		char name[16];
		snprintf(name, sizeof(name), "v%d", i);
		json_object_set_new(vols, name, json_pack("{s:s}", "status", "created"));
	}
	assert_int_equal(bc_statedoc_to_msg(doc, &m.body.state, &err), 0);
	assert_int_equal(m.body.state.apps.v[0].volumes.n, BC_STATE_MAX_NAMED);
	assert_int_equal(bc_msg_encode(&m, &b, &err), 0);
	bc_buf_free(&b);
	bc_msg_clear(&m);
	json_decref(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_absent_app_is_idle),
	    cmocka_unit_test(test_running_app_maps_services),
	    cmocka_unit_test(test_outcomes_per_app),
	    cmocka_unit_test(test_overlay_busy_and_downloads),
	    cmocka_unit_test(test_pending_target),
	    cmocka_unit_test(test_app_rec_is),
	    cmocka_unit_test(test_through_the_wire),
	    cmocka_unit_test(test_trial_words_through_the_wire),
	    cmocka_unit_test(test_bounded_for_the_wire),
	};
	return cmocka_run_group_tests_name("statedoc", tests, NULL, NULL);
}
