/* libFuzzer: a service's contract from a target, and the semver ranges
 * and versions in it (lib/model/contract.h, lib/model/semver.h). The
 * input: a version, a newline, then the contract's JSON. */
#include <stdlib.h>
#include <string.h>

#include "lib/model/contract.h"
#include "lib/model/semver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t vl = nl != NULL ? (size_t)(nl - (const char *)data) : size;
	char *v = strndup((const char *)data, vl);
	bc_semver sv;
	bc_device_facts f;
	json_t *c;
	char why[256];

	if (v == NULL)
		return 0;
	/* the same text as a version and as a range */
	if (bc_semver_parse(v, &sv))
		(void)bc_semver_satisfies(&sv, v);
	(void)bc_semver_range_valid(v);
	bc_device_facts_from(&f, v, v, "Linux", v, "x86_64");
	if (nl != NULL && (c = json_loadb(nl + 1, size - vl - 1, JSON_DECODE_ANY, NULL)) != NULL) {
		(void)bc_contract_met(c, "fuzz", &f, why, sizeof(why), NULL);
		json_decref(c);
	}
	free(v);
	return 0;
}
