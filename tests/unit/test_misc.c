/* Small pure helpers: image references, label filters, error wrapping,
 * the bounded buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/text.h"
#include "lib/docker/docker.h"
#include "lib/base/buf.h"
#include "lib/base/fsutil.h"
#include "lib/model/values.h"

static void
split_ok(const char *ref, const char *name, const char *tag)
{
	char n[512], t[256];
	assert_int_equal(bc_image_ref_split(ref, n, sizeof(n), t, sizeof(t), NULL), 0);
	assert_string_equal(n, name);
	assert_string_equal(t, tag);
}

static void
test_ref_split(void **state)
{
	(void)state;
	split_ok("busybox", "busybox", "latest");
	split_ok("busybox:1.36", "busybox", "1.36");
	split_ok("127.0.0.1:5000/bctest/base", "127.0.0.1:5000/bctest/base", "latest");
	split_ok("127.0.0.1:5000/bctest/base:v2", "127.0.0.1:5000/bctest/base", "v2");
	split_ok("reg:5000/a@sha256:abcd", "reg:5000/a", "sha256:abcd");
	split_ok("registry2.balena-cloud.com/v2/deadbeef@sha256:00",
		 "registry2.balena-cloud.com/v2/deadbeef", "sha256:00");
}

static void
test_ref_split_bad(void **state)
{
	char n[16], t[16];
	bc_err err = {0};
	(void)state;
	assert_int_equal(bc_image_ref_split("", n, sizeof(n), t, sizeof(t), &err), -1);
	assert_int_equal(bc_image_ref_split(":tag", n, sizeof(n), t, sizeof(t), &err), -1);
	assert_int_equal(bc_image_ref_split("a:", n, sizeof(n), t, sizeof(t), &err), -1);
	assert_int_equal(bc_image_ref_split("a b", n, sizeof(n), t, sizeof(t), &err), -1);
	assert_non_null(strstr(err.msg, "characters not allowed"));
	assert_int_equal(bc_image_ref_split("reg/../x", n, sizeof(n), t, sizeof(t), &err), -1);
	assert_int_equal(bc_image_ref_split("/abs", n, sizeof(n), t, sizeof(t), &err), -1);
	assert_int_equal(
	    bc_image_ref_split("a/very/long/name/indeed", n, sizeof(n), t, sizeof(t), &err), -1);
}

static void
test_label_filter(void **state)
{
	char *q = bc_docker_label_filter("io.balena.app-id=12", NULL);
	(void)state;
	assert_string_equal(q, "filters=%7B%22label%22%3A%5B%22io.balena.app-id%3D12%22%5D%7D");
	free(q);
}

static void
test_err_wrap(void **state)
{
	bc_err err = {0};
	char longmsg[600];
	(void)state;
	bc_err_set(&err, BC_EINVAL, "inner %d", 1);
	bc_err_wrap(&err, "outer");
	assert_string_equal(err.msg, "outer: inner 1");
	assert_int_equal(err.code, BC_EINVAL);
	memset(longmsg, 'x', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	bc_err_set(&err, BC_EINVAL, "%s", longmsg);
	bc_err_wrap(&err, "p");
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
	assert_memory_equal(err.msg, "p: xxx", 6);
	assert_int_equal(bc_err_set(NULL, BC_EINVAL, "ignored"), -1);
}

static void
test_buf_bound(void **state)
{
	bc_buf b = {.max = 8};
	bc_err err = {0};
	(void)state;
	assert_int_equal(bc_buf_add(&b, "12345678", 8, &err), 0);
	assert_int_equal(bc_buf_add(&b, "9", 1, &err), -1);
	assert_int_equal(err.code, BC_ETOOBIG);
	bc_buf_consume(&b, 3);
	assert_string_equal(bc_buf_cstr(&b), "45678");
	bc_buf_free(&b);
}

/* State files are never read through a symlink nor blocked on */
static void
test_read_json(void **state)
{
	char dir[] = "/tmp/bc-rj-XXXXXX", f[64], l[64], p[64], cmd[96];
	json_error_t je;
	json_t *j;
	FILE *fp;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(f, sizeof(f), "%s/state.json", dir);
	snprintf(l, sizeof(l), "%s/link.json", dir);
	snprintf(p, sizeof(p), "%s/fifo.json", dir);
	fp = fopen(f, "w");
	assert_non_null(fp);
	fputs("{\"a\": 1}", fp);
	fclose(fp);
	assert_int_equal(symlink(f, l), 0);
	assert_int_equal(mkfifo(p, 0600), 0);
	j = bc_read_json(f, 0, 100, &je);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
	json_decref(j);
	assert_null(bc_read_json(l, 0, 100, &je)); /* a symlink: not followed */
	assert_null(bc_read_json(p, 0, 100, &je)); /* a FIFO: no hang */
	assert_non_null(strstr(je.text, "not a regular file"));
	assert_null(bc_read_json(f, 0, 4, &je)); /* bounded */
	assert_non_null(strstr(je.text, "larger"));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* the cloud's and the apps' words on their way to a terminal: no escape
 * sequence, no C1 control, the rest (UTF-8, tabs) as it was */
static void
test_tame(void **state)
{
	char s[] = "a\033[2Jb\tc\r\n\x7f d\xc2\x9b"
		   "31m e \xc3\xa9";
	(void)state;
	bc_tame(s);
	assert_string_equal(s, "a?[2Jb\tc??? d??31m e \xc3\xa9");
}

/* what a terminal is shown: escapes for every control but TAB, for C1
 * and for bytes that are not UTF-8; the rest as it was; never half an
 * escape when the room ends */
static void
test_visible(void **state)
{
	static const char in[] = "a\033]0;PWNED\a\033[31mRED\r\nfake: line\t\x7f"
				 "\xc2\x9b"
				 "1m \xc3\xa9 \xff \xe2\x82\xac";
	char out[256], small[10];
	(void)state;

	assert_true(bc_visible_needed(in, sizeof(in) - 1, false));
	bc_visible(in, sizeof(in) - 1, out, sizeof(out), false);
	assert_string_equal(out, "a\\e]0;PWNED\\x07\\e[31mRED\\r\\nfake: line\t\\x7f\\u009b"
				 "1m \xc3\xa9 \\xff \xe2\x82\xac");
	bc_visible("a\nb", 3, out, sizeof(out), true);
	assert_string_equal(out, "a\nb");
	assert_false(bc_visible_needed("plain \xc3\xa9\ttext", 13, false));
	assert_true(bc_visible_needed("a\nb", 3, false));
	/* an overlong form and a surrogate are not UTF-8 */
	bc_visible("\xc0\xaf\xed\xa0\x80", 5, out, sizeof(out), false);
	assert_string_equal(out, "\\xc0\\xaf\\xed\\xa0\\x80");
	/* cut before an escape that does not fit */
	assert_int_equal(bc_visible("abcdefgh\033", 9, small, sizeof(small), false), 8);
	assert_string_equal(small, "abcdefgh");
}

/* A label's truth as the supervisor's checkTruthy reads it: any case */
static void
test_label_truthy(void **state)
{
	const char *yes[] = {"1", "true", "True", "TRUE", "on", "ON"};
	const char *no[] = {"0", "false", "yes", "", " 1", "true ", "off", "2"};
	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!bc_label_truthy(yes[i]))
			fail_msg("'%s' is true", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (bc_label_truthy(no[i]))
			fail_msg("'%s' is not true", no[i]);
	assert_false(bc_label_truthy(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ref_split),	 cmocka_unit_test(test_ref_split_bad),
	    cmocka_unit_test(test_label_filter), cmocka_unit_test(test_err_wrap),
	    cmocka_unit_test(test_buf_bound),	 cmocka_unit_test(test_read_json),
	    cmocka_unit_test(test_tame),	 cmocka_unit_test(test_visible),
	    cmocka_unit_test(test_label_truthy),
	};
	return cmocka_run_group_tests_name("misc", tests, NULL, NULL);
}
