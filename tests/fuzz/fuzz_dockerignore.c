/* libFuzzer: a .dockerignore (lib/docker/tarball's rules, the patterns of
 * a build's context), then paths matched against it: fixed ones and each
 * line of the input itself. Bounded: a pattern that would take too long
 * matches nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/docker/tarball.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {"a",	  "a/b",	 "node_modules/x/y.js",
					    "Dockerfile", ".dockerignore", "x.go",
					    "d/e/f/g.md", "",		   "[/]"};
	bc_ignore *ig = bc_ignore_parse((const char *)data, size, "fuzz", NULL);
	char line[512];

	if (ig == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		(void)bc_ignore_match(ig, paths[i]);
	for (size_t at = 0, n; at < size; at += n + 1) {
		const char *nl = memchr(data + at, '\n', size - at);
		n = nl ? (size_t)(nl - (const char *)data) - at : size - at;
		if (n < sizeof(line) && memchr(data + at, '\0', n) == NULL) {
			memcpy(line, data + at, n);
			line[n] = '\0';
			(void)bc_ignore_match(ig, line);
		}
	}
	(void)bc_ignore_has_exceptions(ig);
	bc_ignore_free(ig);
	return 0;
}
