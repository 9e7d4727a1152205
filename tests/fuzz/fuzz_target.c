/* libFuzzer: a v3 target document through lib/target and lib/spec. */
#include "lib/model/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bc_target_opts o = {.lockdir = "/tmp/fuzz-locks"};
	bc_state st;

	if (bc_target_parse_text((const char *)data, size, "fuzz.json", &o, &st, NULL) == 0)
		bc_state_free(&st);
	return 0;
}
