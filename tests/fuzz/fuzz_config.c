/* libFuzzer: config.json parsing. */
#include "lib/model/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bc_config c;

	if (bc_config_parse((const char *)data, size, "fuzz.json", &c, NULL) == 0)
		bc_config_free(&c);
	return 0;
}
