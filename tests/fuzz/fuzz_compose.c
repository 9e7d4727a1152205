/* libFuzzer: a compose file through lib/compose, then lib/target. No files
 * are read (dir NULL) and variables come from a fixed table. */
#include <string.h>

#include "lib/model/compose.h"
#include "lib/model/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
vars(void *ud, const char *name)
{
	(void)ud;
	return strcmp(name, "TAG") == 0 ? "v1" : NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bc_compose_opts o = {.project = "fuzz", .lookup = vars};
	json_t *doc = bc_compose_parse((const char *)data, size, "fuzz.yml", NULL, &o, NULL);
	bc_state st;

	if (doc != NULL && bc_target_parse(doc, NULL, &st, NULL) == 0)
		bc_state_free(&st);
	json_decref(doc);
	return 0;
}
