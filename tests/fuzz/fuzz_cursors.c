/* libFuzzer: the logger's cursor file (log-cursors.json), read at start
 * from the state directory: parsed as the logger does (bounded, duplicate
 * keys refused), each entry decoded by bc_logcursor_entry. Whatever the
 * bytes, an entry is taken whole or not at all. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/logs/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *doc, *v;
	const char *id;

	if (size > (1 << 20))
		return 0;
	doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL)
		return 0;
	json_object_foreach(doc, id, v)
	{
		bc_logcursor c[2] = {{-1, 0}, {-1, 0}};
		if (bc_logcursor_entry(id, v, c) == 0 && (c[0].ts_ns < 0 || c[1].ts_ns < 0))
			abort(); /* taken, yet not whole */
	}
	json_decref(doc);
	return 0;
}
