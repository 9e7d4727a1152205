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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parsed_once),
	    cmocka_unit_test(test_override_lock),
	    cmocka_unit_test(test_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
