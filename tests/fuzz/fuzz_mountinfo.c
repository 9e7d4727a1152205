/* libFuzzer: a process's /proc/PID/mountinfo as the reconciler reads it to
 * tell whether a container's lock directory is on the lock root it sees.
 * Whatever the text, a find stays inside it and gives NUL-terminated fields
 * that fit their buffers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/locks/mounts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dev[32], root[64];

	if (bc_mountinfo_find((const char *)data, size, "/tmp/balena", dev, sizeof(dev), root,
			      sizeof(root)) == 0 &&
	    (strlen(dev) >= sizeof(dev) || strlen(root) >= sizeof(root) || dev[0] == '\0'))
		abort();
	return 0;
}
