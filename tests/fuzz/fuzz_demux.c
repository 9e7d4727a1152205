/* libFuzzer: the Docker multiplexed log stream, fed in two chunks split at a
 * position taken from the input. */
#include <stdlib.h>

#include "lib/docker/dstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
on_frame(void *ud, int stream, const char *d, size_t len)
{
	size_t *total = ud;
	if (stream < 0 || stream > 3 || len > BC_DEMUX_MAX_FRAME || (len && d == NULL))
		abort();
	*total += len;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bc_demux dm = {0};
	size_t total = 0, cut;

	if (size < 1)
		return 0;
	cut = data[0] % size;
	data++;
	size--;
	if (cut > size)
		cut = size;
	if (bc_demux_feed(&dm, (const char *)data, cut, on_frame, &total, NULL) == 0 &&
	    bc_demux_feed(&dm, (const char *)data + cut, size - cut, on_frame, &total, NULL) == 0)
		(void)bc_demux_finish(&dm, NULL);
	if (total > size)
		abort();
	bc_demux_free(&dm);
	return 0;
}
