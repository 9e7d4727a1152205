/* libFuzzer: what the cloud answers the gateway, error bodies and all, as
 * the gateway reads it (lib/cloud/answer.h): chunks whose size comes from
 * the first byte, a body limit from the second, then the connection's end.
 * The body kept never passes the limit nor what came in; what is kept of
 * the headers stays within its bounds. */
#include <stdlib.h>
#include <string.h>

#include "lib/cloud/answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bc_cloud_answer *a = malloc(sizeof(*a));
	size_t step, off = 0, max;
	int r = 0;

	if (size < 2 || a == NULL) {
		free(a);
		return 0;
	}
	step = (size_t)data[0] % 64 + 1;
	max = (size_t)data[1] * 16; /* 0 .. 4080 bytes */
	bc_cloud_answer_init(a, max, data[0] & 0x80);
	data += 2;
	size -= 2;
	while (off < size && r == 0) {
		size_t n = size - off < step ? size - off : step;
		r = bc_cloud_answer_feed(a, (const char *)data + off, n, NULL);
		off += n;
	}
	if (r == 0)
		r = bc_cloud_answer_eof(a, NULL);
	if (a->body.len > max || a->body.len > size)
		abort();
	if (r == 1 && (a->too_big || a->parser.status < 100 || a->parser.status > 999))
		abort();
	if (strlen(a->etag) >= sizeof(a->etag) || a->retry_after_s < 0 || a->retry_after_s > 999999)
		abort();
	bc_cloud_answer_free(a);
	free(a);
	return 0;
}
