/* libFuzzer: an HTTP/1.1 response from the engine's socket (lib/http1),
 * fed in chunks whose size comes from the input's first byte, then the
 * connection's end. Body bytes must never exceed what came in. */
#include <stdlib.h>

#include "lib/docker/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
on_body(void *ud, const char *d, size_t len)
{
	size_t *total = ud;
	if (len == 0 || d == NULL)
		abort();
	*total += len;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bc_http1_parser *p = malloc(sizeof(*p));
	size_t total = 0, step, off = 0;
	int r = 0;

	if (size < 1 || p == NULL) {
		free(p);
		return 0;
	}
	step = (size_t)data[0] % 64 + 1;
	bc_http1_parser_init(p, data[0] & 0x80);
	data++;
	size--;
	while (off < size && r == 0) {
		size_t n = size - off < step ? size - off : step, used = 0;
		r = bc_http1_feed(p, (const char *)data + off, n, &used, on_body, &total, NULL);
		if (used > n)
			abort();
		off += r == 0 ? n : used;
	}
	if (r == 0)
		(void)bc_http1_eof(p, NULL);
	if (total > size)
		abort();
	free(p);
	return 0;
}
