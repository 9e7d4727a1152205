/* bc-regsize IMAGE TIMEOUT_S: the size of IMAGE by its registry's manifest.
 *
 * The fetcher runs this once per pull, before the pull, for the disk guard.
 * Talking to a registry needs HTTPS, so libcurl and a TLS stack: kept in
 * this short-lived process, the fetcher daemon itself never loads them
 * (about 8 MiB resident, bench/footprint), and a registry's answers are
 * parsed by a process that ends right after.
 *
 * Credentials come on standard input (a user line and a password line, or
 * nothing), never in the arguments (which any local user can read).
 * Output: the size in bytes and exit 0, or one line saying why and exit 1
 * (never the password). Exit 100: usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fetch/fetch.h"

static void
chomp(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
}

int
main(int argc, char **argv)
{
	char user[1024] = "", pw[4096] = "";
	uint64_t bytes = 0;
	bc_err err = {0};
	long timeout;
	int rc;

	if (argc != 3 || (timeout = strtol(argv[2], NULL, 10)) <= 0 || timeout > 3600) {
		fprintf(stderr, "usage: bc-regsize IMAGE TIMEOUT_S (credentials on stdin)\n");
		return 100;
	}
	if (fgets(user, sizeof(user), stdin) != NULL && fgets(pw, sizeof(pw), stdin) != NULL) {
		chomp(user);
		chomp(pw);
	} else {
		user[0] = pw[0] = '\0';
	}
	rc = bc_registry_image_size(argv[1], user[0] ? user : NULL, user[0] ? pw : NULL, timeout,
				    &bytes, &err);
	explicit_bzero(pw, sizeof(pw));
	if (rc < 0) {
		printf("%s\n", err.msg);
		return 1;
	}
	printf("%llu\n", (unsigned long long)bytes);
	return 0;
}
