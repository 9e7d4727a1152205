/* libFuzzer: newline-delimited JSON (Docker events and pull progress). */
#include <stdlib.h>

#include "lib/docker/dstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
on_obj(void *ud, json_t *o)
{
	(void)ud;
	if (!json_is_object(o))
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bc_jsonl jl = {0};
	size_t cut = size / 2;

	if (bc_jsonl_feed(&jl, (const char *)data, cut, on_obj, NULL, NULL) == 0 &&
	    bc_jsonl_feed(&jl, (const char *)data + cut, size - cut, on_obj, NULL, NULL) == 0)
		(void)bc_jsonl_finish(&jl, on_obj, NULL, NULL);
	bc_jsonl_free(&jl);
	return 0;
}
