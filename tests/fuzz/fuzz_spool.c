/* libFuzzer: the logger's spool read back (lib/logs/spool.c), whatever
 * bytes its segment holds: each record's head is checked against the
 * segment before a byte of its body is trusted, so a record is read whole
 * or the read fails; it never reads past what the segment holds. The
 * input is written as the segment's contents, as a disk could have them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/logs/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64];
	char path[96];
	bc_logspool s;
	const bc_logrec *r;
	uint64_t used = 0;
	int w;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/fuzz-spool.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	snprintf(path, sizeof(path), "%s/spool", dir);
	if (bc_logspool_open(&s, path, BC_LOGSPOOL_MIN, NULL) < 0)
		abort();
	w = s.w;
	if (pwrite(s.fd[w], data, size, 0) != (ssize_t)size)
		abort();
	s.size[w] = size;
	s.n[w] = 1;
	s.last_seq[w] = UINT64_MAX;
	while ((r = bc_logspool_next(&s, NULL)) != NULL) {
		if (r->message == NULL || strlen(r->container) > 15)
			abort();
		used += s.rlen;
		if (used > size)
			abort();
		bc_logspool_took(&s);
	}
	bc_logspool_close(&s);
	return 0;
}
