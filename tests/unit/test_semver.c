/* lib/model/semver: versions and ranges as node's semver reads them. The
 * table tests/fixtures/semver.tsv is that package's own answer (made by
 * tests/contracts/semver-table.js) for every version against every range:
 * valid(), validRange(), satisfies(); ours must give the same, line by
 * line. Plus the order of prereleases, which the table only samples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "lib/model/semver.h"

#define TABLE "tests/fixtures/semver.tsv"

/* A JSON string field of the line into out. */
static bool
field(const char *s, char *out, size_t n)
{
	json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);
	bool ok = json_is_string(j) && strlen(json_string_value(j)) < n;

	if (ok)
		strcpy(out, json_string_value(j));
	json_decref(j);
	return ok;
}

static void
test_table(void **state)
{
	FILE *f = fopen(TABLE, "r");
	char line[4096];
	int lines = 0, bad = 0;
	(void)state;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *col[5], *p = line, v[512], r[512];
		bc_semver sv;
		bool vv, rv, sat;
		int i;
		line[strcspn(line, "\n")] = '\0';
		for (i = 0; i < 5 && p != NULL; i++) {
			col[i] = p;
			if ((p = strchr(p, '\t')) != NULL)
				*p++ = '\0';
		}
		assert_int_equal(i, 5);
		assert_true(field(col[0], v, sizeof(v)));
		assert_true(field(col[1], r, sizeof(r)));
		lines++;
		vv = bc_semver_parse(v, &sv);
		rv = bc_semver_range_valid(r);
		sat = vv && rv && bc_semver_satisfies(&sv, r);
		if (vv != (col[2][0] == '1') || rv != (col[3][0] == '1') ||
		    (vv && rv && sat != (col[4][0] == '1'))) {
			if (bad++ < 40)
				print_message(
				    "semver says valid %s range %s satisfies %s for '%s' '%s'; we "
				    "say %d %d %d\n",
				    col[2], col[3], col[4], v, r, vv, rv, sat);
		}
	}
	fclose(f);
	assert_true(lines > 4000);
	if (bad > 0)
		fail_msg("%d of %d lines differ from node's semver", bad, lines);
}

static void
test_order(void **state)
{
	/* semver.org's example, lowest first */
	const char *order[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
			       "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
			       "1.0.0-rc.1",  "1.0.0",	       "1.0.1",
			       "1.1.0",	      "2.0.0",	       "10.0.0"};
	bc_semver a, b;
	(void)state;

	for (size_t i = 0; i + 1 < sizeof(order) / sizeof(order[0]); i++) {
		assert_true(bc_semver_parse(order[i], &a));
		assert_true(bc_semver_parse(order[i + 1], &b));
		if (bc_semver_cmp(&a, &b) >= 0 || bc_semver_cmp(&b, &a) <= 0)
			fail_msg("%s < %s", order[i], order[i + 1]);
	}
	/* build metadata is not part of the order */
	assert_true(bc_semver_parse("1.2.3+a", &a));
	assert_true(bc_semver_parse("1.2.3+b", &b));
	assert_int_equal(bc_semver_cmp(&a, &b), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
