/* lib/model/contract: service contracts. The table
 * tests/fixtures/contracts.json holds @balena/contrato's verdict (MET,
 * UNMET, INVALID) for each case, made by tests/contracts/contracts-table.js
 * with the device contract the supervisor builds; ours must be the same.
 * Then the device's facts as the supervisor reads them (os-release,
 * uname), and the reason an unmet contract gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "lib/model/contract.h"

#define TABLE "tests/fixtures/contracts.json"

static void
facts_of(const json_t *d, bc_device_facts *f)
{
	memset(f, 0, sizeof(*f));
#define F(k)                                                                                       \
	snprintf(f->k, sizeof(f->k), "%s",                                                         \
		 json_string_value(json_object_get(d, #k))                                         \
		     ? json_string_value(json_object_get(d, #k))                                   \
		     : "")
	F(supervisor);
	F(device_type);
	F(arch);
	F(os_slug);
	F(os_version);
	F(kernel_slug);
	F(kernel_version);
	F(l4t);
#undef F
}

static void
test_table(void **state)
{
	json_error_t je;
	json_t *cases = json_load_file(TABLE, 0, &je), *c;
	size_t i;
	int bad = 0;
	(void)state;

	if (cases == NULL)
		fail_msg("%s: %s", TABLE, je.text);
	assert_true(json_array_size(cases) >= 70);
	json_array_foreach(cases, i, c)
	{
		bc_device_facts f;
		bc_err err = {0};
		char why[300] = "";
		const char *want = json_string_value(json_object_get(c, "verdict"));
		const char *got;
		int r;
		facts_of(json_object_get(c, "device"), &f);
		r = bc_contract_met(json_object_get(c, "contract"), "main", &f, why, sizeof(why),
				    &err);
		got = r == 1 ? "MET" : r == 0 ? "UNMET" : "INVALID";
		if (strcmp(got, want) != 0) {
			bad++;
			print_message("%s: contrato says %s, we say %s (%s%s)\n",
				      json_string_value(json_object_get(c, "name")), want, got, why,
				      err.msg);
		}
		if (r == 0)
			assert_true(strncmp(why, "requires ", 9) == 0);
		if (r < 0)
			assert_non_null(
			    strstr(err.msg, "The contract for service main failed validation"));
	}
	json_decref(cases);
	if (bad > 0)
		fail_msg("%d verdicts differ from contrato's", bad);
}

static void
test_facts(void **state)
{
	bc_device_facts f;
	(void)state;

	bc_device_facts_from(&f,
			     "NAME=\"balenaOS\"\nID=balena-os\nVERSION=\"2.88.4+rev1\"\n"
			     "VERSION_ID=\"2.88.4\"\n",
			     "jetson-nano", "Linux", "4.9.253-l4t-r32.4.3", "aarch64");
	assert_string_equal(f.supervisor, BC_SUPERVISOR_CLAIM);
	assert_string_equal(f.device_type, "jetson-nano");
	assert_string_equal(f.arch, "aarch64");
	assert_string_equal(f.os_slug, "balena-os");
	assert_string_equal(f.os_version, "2.88.4+rev1");
	assert_string_equal(f.kernel_slug, "linux");
	assert_string_equal(f.kernel_version, "4.9.253");
	assert_string_equal(f.l4t, "32.4.3");
	/* two numbers: .0 added, as the supervisor does */
	bc_device_facts_from(&f, NULL, NULL, "Linux", "4.9.140-l4t-r32.2+g", "aarch64");
	assert_string_equal(f.l4t, "32.2.0");
	assert_string_equal(f.os_slug, "");
	assert_string_equal(f.device_type, "");
	/* Debian: VERSION as written (not semver: compared as text) */
	bc_device_facts_from(&f,
			     "PRETTY_NAME=\"Debian GNU/Linux 12 "
			     "(bookworm)\"\nID=debian\nVERSION=\"12 (bookworm)\"\n",
			     NULL, "Linux", "6.1.0-13-amd64", "x86_64");
	assert_string_equal(f.os_version, "12 (bookworm)");
	assert_string_equal(f.kernel_version, "6.1.0");
	assert_string_equal(f.arch, "amd64");
	assert_string_equal(f.l4t, "");
	bc_device_facts_from(&f, NULL, NULL, "Linux", "6.1", "armv7l");
	assert_string_equal(f.kernel_version, "");
	assert_string_equal(f.arch, "armv7hf");
	/* what a file says is made visible */
	bc_device_facts_from(&f, "ID=\"evil\x1b[2J\"\nVERSION=1.0.0\n", NULL, "Linux", "6.1.0",
			     "x86_64");
	assert_null(strchr(f.os_slug, '\x1b'));
}

static void
test_why(void **state)
{
	bc_device_facts f;
	bc_err err = {0};
	char why[300];
	json_t *c;
	(void)state;

	bc_device_facts_from(&f, NULL, "intel-nuc", "Linux", "6.1.0", "x86_64");
	c = json_pack("{s:[{s:s,s:s}]}", "requires", "type", "sw.supervisor", "version", ">=99");
	assert_int_equal(bc_contract_met(c, "main", &f, why, sizeof(why), &err), 0);
	assert_string_equal(why,
			    "requires sw.supervisor >=99 (the device has " BC_SUPERVISOR_CLAIM ")");
	json_decref(c);
	c = json_pack("{s:[{s:[{s:s,s:s},{s:s}]}]}", "requires", "or", "type", "hw.device-type",
		      "slug", "raspberrypi4-64", "type", "sw.l4t");
	assert_int_equal(bc_contract_met(c, "main", &f, why, sizeof(why), &err), 0);
	assert_string_equal(why, "requires one of: hw.device-type raspberrypi4-64 (the device has "
				 "intel-nuc); sw.l4t (the device has none)");
	json_decref(c);
	/* a slug from the target, on its way to a terminal */
	c = json_pack("{s:[{s:s,s:s}]}", "requires", "type", "arch.sw", "slug", "x\x1b[31m");
	assert_int_equal(bc_contract_met(c, "main", &f, why, sizeof(why), &err), 0);
	assert_null(strchr(why, '\x1b'));
	json_decref(c);
	/* invalid: named */
	c = json_pack("{s:[{s:s}]}", "requires", "type", "sw.blah");
	assert_int_equal(bc_contract_met(c, "web", &f, why, sizeof(why), &err), -1);
	assert_string_equal(err.msg, "The contract for service web failed validation, with error: "
				     "sw.blah is not a valid contract requirement type");
	json_decref(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_facts),
	    cmocka_unit_test(test_why),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
