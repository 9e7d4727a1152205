/* libFuzzer: a v3 target document through lib/target and lib/spec; and
 * the count of values taken before parsing (bc_json_values_bound) is never
 * fewer than the values jansson makes of the text. */
#include <stdlib.h>

#include "lib/model/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
values(const json_t *j)
{
	const char *k;
	json_t *v;
	size_t i, n = 1;

	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v) n += values(v);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v) n += values(v);
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bc_target_opts o = {.lockdir = "/tmp/fuzz-locks"};
	bc_state st;
	json_t *j;

	if (bc_target_parse_text((const char *)data, size, "fuzz.json", &o, &st, NULL) == 0)
		bc_state_free(&st);
	/* jansson alone (its depth is its own: 2048) */
	j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (j != NULL && values(j) > bc_json_values_bound((const char *)data, size))
		abort();
	json_decref(j);
	return 0;
}
