/* lib/core/locker: what the locker's inotify events mean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/inotify.h>

#include "lib/core/locker.h"

static void
test_events(void **state)
{
	bc_lockwatches t = {0};
	bc_lw_effect e;
	(void)state;

	assert_int_equal(bc_lockwatches_add(&t, 1, 0, 0, NULL, "/locks"), 0);
	assert_int_equal(bc_lockwatches_add(&t, 1, 0, 0, NULL, "/locks"), 1); /* once */
	/* an app's directory appears under the root: watched, its id read */
	e = bc_lockwatches_event(&t, 1, IN_CREATE | IN_ISDIR, "42");
	assert_int_equal(e.action, BC_LW_WATCH);
	assert_int_equal(e.depth, 1);
	assert_int_equal(e.app_id, 42);
	assert_string_equal(e.path, "/locks/42");
	assert_int_equal(bc_lockwatches_add(&t, 2, e.depth, e.app_id, e.name, e.path), 0);
	/* a file there is nothing; a service's directory is watched */
	assert_int_equal(bc_lockwatches_event(&t, 2, IN_CREATE, "x").action, BC_LW_NOTHING);
	e = bc_lockwatches_event(&t, 2, IN_CREATE | IN_ISDIR, "web");
	assert_int_equal(e.action, BC_LW_WATCH);
	assert_int_equal(e.depth, 2);
	assert_int_equal(e.app_id, 42);
	assert_string_equal(e.name, "web");
	assert_string_equal(e.path, "/locks/42/web");
	assert_int_equal(bc_lockwatches_add(&t, 3, e.depth, e.app_id, e.name, e.path), 0);
	/* the app's lockfile (either name) comes or goes: published */
	const uint32_t masks[] = {IN_CREATE, IN_DELETE, IN_MOVED_TO, IN_MOVED_FROM, IN_CLOSE_WRITE};
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		e = bc_lockwatches_event(&t, 3, masks[i],
					 i % 2 ? "resin-updates.lock" : "updates.lock");
		assert_int_equal(e.action, BC_LW_PUBLISH);
		assert_int_equal(e.app_id, 42);
		assert_string_equal(e.name, "web");
		assert_string_equal(e.path, "/locks/42/web");
	}
	/* anything else the app writes there is not ours to look at, and
	 * nothing below a service's directory is watched */
	assert_int_equal(bc_lockwatches_event(&t, 3, IN_CREATE, "updates.lock.tmp").action,
			 BC_LW_NOTHING);
	assert_int_equal(bc_lockwatches_event(&t, 3, IN_CREATE | IN_ISDIR, "sub").action,
			 BC_LW_NOTHING);
	/* a lockfile name at the app's level is not a lock */
	assert_int_equal(bc_lockwatches_event(&t, 2, IN_CREATE, "updates.lock").action,
			 BC_LW_NOTHING);
	/* unknown descriptors and events without a name: nothing */
	assert_int_equal(bc_lockwatches_event(&t, 99, IN_CREATE, "updates.lock").action,
			 BC_LW_NOTHING);
	assert_int_equal(bc_lockwatches_event(&t, 3, IN_CREATE, "").action, BC_LW_NOTHING);
	/* the service's directory went: forgotten, its events nothing */
	assert_int_equal(bc_lockwatches_event(&t, 3, IN_IGNORED, "").action, BC_LW_FORGOTTEN);
	assert_int_equal(t.n, 2);
	assert_int_equal(bc_lockwatches_event(&t, 3, IN_CREATE, "updates.lock").action,
			 BC_LW_NOTHING);
	/* a descriptor number reused by inotify for a new directory is added
	 * anew */
	assert_int_equal(bc_lockwatches_add(&t, 3, 2, 42, "db", "/locks/42/db"), 0);
	e = bc_lockwatches_event(&t, 3, IN_DELETE, "updates.lock");
	assert_string_equal(e.name, "db");
	bc_lockwatches_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
