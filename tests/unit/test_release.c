/* lib/core/release: a target parsed once into a shared, counted release. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/core/release.h"

#define FIXTURE "tests/fixtures/target-v3-example.json"
#define DEV "6fe3b78b0a5c4d1e9f2a3b4c5d6e7f80"
#define APP "a1b2c3d4e5f60718293a4b5c6d7e8f90"
#define REL "0f1e2d3c4b5a69788796a5b4c3d2e1f0"

static json_t *
fixture(void)
{
	json_error_t je;
	json_t *j = json_load_file(FIXTURE, 0, &je);
	if (j == NULL)
		fail_msg("%s: %s", FIXTURE, je.text);
	return j;
}

static json_t *
services(json_t *doc)
{
	return json_object_get(
	    json_object_get(
		json_object_get(
		    json_object_get(json_object_get(json_object_get(doc, DEV), "apps"), APP),
		    "releases"),
		REL),
	    "services");
}

static void
test_parsed_once(void **state)
{
	bc_target_opts o = {.lockdir = "/tmp/bc-locks"};
	bc_err err = {0};
	json_t *doc = fixture();
	bc_release *rel, *r2;
	(void)state;

	/* two services on one image: the image once */
	json_object_set_new(json_object_get(services(doc), "uploader"), "image",
			    json_string("127.0.0.1:5000/weather/sensor:2"));
	rel = bc_release_new(doc, &o, &err);
	assert_non_null(rel);
	assert_ptr_equal(rel->doc, doc); /* taken over, not copied */
	assert_int_equal(rel->st.n_apps, 1);
	assert_int_equal(rel->st.apps[0].n_services, 2);
	assert_int_equal(rel->n_images, 1);
	assert_true(bc_release_has_image(rel, "127.0.0.1:5000/weather/sensor:2"));
	assert_false(bc_release_has_image(rel, "127.0.0.1:5000/weather/uploader:2"));
	assert_false(bc_release_has_image(NULL, "x"));
	assert_false(rel->override_lock); /* the fixture's config says "0" */
	/* shared: the last reference frees (ASan sees a leak or a double free) */
	r2 = bc_release_ref(rel);
	assert_ptr_equal(r2, rel);
	assert_int_equal(rel->refs, 2);
	bc_release_unref(rel);
	assert_int_equal(r2->refs, 1);
	bc_release_unref(r2);
	bc_release_unref(NULL);
	assert_null(bc_release_ref(NULL));
}

static void
test_override_lock(void **state)
{
	bc_target_opts o = {.lockdir = "/tmp/bc-locks"};
	bc_err err = {0};
	json_t *doc = fixture();
	bc_release *rel;
	(void)state;

	json_object_set_new(json_object_get(json_object_get(doc, DEV), "config"),
			    "BALENA_SUPERVISOR_OVERRIDE_LOCK", json_string("true"));
	assert_non_null(rel = bc_release_new(doc, &o, &err));
	assert_true(rel->override_lock);
	bc_release_unref(rel);
}

static void
test_invalid(void **state)
{
	bc_target_opts o = {.lockdir = "/tmp/bc-locks"};
	bc_err err = {0};
	json_t *doc = fixture();
	(void)state;

	/* refused whole, the field named; the document is released (ASan) */
	json_object_set_new(json_object_get(services(doc), "sensor"), "running",
			    json_string("yes"));
	assert_null(bc_release_new(doc, &o, &err));
	assert_non_null(strstr(err.msg, "'running' must be true or false"));
	assert_non_null(strstr(err.msg, "sensor"));
}

/* The helpers of a trial: which apps changed, the content key, the way
 * back, the settle period. */
static void
test_trial_helpers(void **state)
{
	bc_target_opts o = {.lockdir = "/tmp/bc-locks"};
	bc_err err = {0};
	bc_release *a = bc_release_new(fixture(), &o, &err), *b, *c;
	json_t *doc, *sensor;
	int64_t ids[4];
	char ka[17], kb[17], kc[17];
	(void)state;

	assert_non_null(a);
	int64_t id = a->st.apps[0].app_id;
	/* the same document: nothing changed; from none: all */
	assert_non_null(b = bc_release_new(json_deep_copy(a->doc), &o, &err));
	assert_int_equal(bc_release_changed(a, b, ids, 4), 0);
	assert_int_equal(bc_release_changed(NULL, b, ids, 4), 1);
	assert_int_equal(ids[0], id);
	bc_release_app_key(a, id, ka);
	bc_release_app_key(b, id, kb);
	assert_string_equal(ka, kb);
	assert_int_equal(strlen(ka), 16);
	bc_release_app_key(a, 999, kc);
	assert_string_equal(kc, "");
	bc_release_unref(b);

	/* a label changes: the app changed, another key; its settle period */
	doc = json_deep_copy(a->doc);
	sensor = json_object_get(services(doc), "sensor");
	json_object_set_new(json_object_get(sensor, "labels"),
			    "io.balena-compose.update.settle-period", json_string("1m30s"));
	assert_non_null(b = bc_release_new(doc, &o, &err));
	assert_int_equal(bc_release_changed(a, b, ids, 4), 1);
	bc_release_app_key(b, id, kb);
	assert_string_not_equal(ka, kb);
	assert_int_equal(bc_release_settle_ms(b, &id, 1, 30000), 90000);
	assert_int_equal(bc_release_settle_ms(a, &id, 1, 30000), 30000);
	assert_int_equal(bc_release_settle_ms(a, &id, 1, 0), 0);

	/* the way back: b's doc with the app as a has it */
	doc = bc_release_with_apps_of(b, a, &id, 1);
	assert_non_null(doc);
	assert_true(json_equal(doc, a->doc));
	assert_non_null(c = bc_release_new(doc, &o, &err));
	bc_release_app_key(c, id, kc);
	assert_string_equal(kc, ka);
	bc_release_unref(c);
	/* an app the earlier release lacks stays as it is */
	doc = bc_release_with_apps_of(b, NULL, &id, 1);
	assert_true(json_equal(doc, b->doc));
	json_decref(doc);
	bc_release_unref(b);

	/* a settle period that is not a duration: refused, named */
	doc = json_deep_copy(a->doc);
	sensor = json_object_get(services(doc), "sensor");
	json_object_set_new(json_object_get(sensor, "labels"),
			    "io.balena-compose.update.settle-period", json_string("soon"));
	assert_null(bc_release_new(doc, &o, &err));
	assert_non_null(strstr(err.msg, "io.balena-compose.update.settle-period 'soon'"));
	bc_release_unref(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parsed_once),
	    cmocka_unit_test(test_override_lock),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_trial_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
