/* libFuzzer: the message decoder. Anything that decodes must re-encode and
 * decode to the same type and id. */
#include <stdlib.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bc_msg m, again;
	bc_buf b = {0};

	if (bc_msg_decode(data, size, &m, NULL) == 0) {
		if (bc_msg_encode(&m, &b, NULL) != 0)
			abort();
		if (bc_msg_decode(b.data, b.len, &again, NULL) != 0 || again.type != m.type ||
		    again.id != m.id)
			abort();
		bc_msg_clear(&again);
		bc_buf_free(&b);
	}
	bc_msg_clear(&m);
	return 0;
}
