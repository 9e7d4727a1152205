/* libFuzzer: what a registry sends that we read before any body: its
 * WWW-Authenticate challenge (realm, service, scope) and the checks on the
 * realm's URL and host (lib/fetch: bc_auth_param, bc_registry_url_check,
 * bc_host_is_loopback). */
#include <stdlib.h>
#include <string.h>

#include "lib/fetch/fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *hdr = malloc(size + 1), realm[512], v[256];
	bool plain;
	bc_err err = {0};

	if (hdr == NULL)
		return 0;
	memcpy(hdr, data, size);
	hdr[size] = '\0';
	if (bc_auth_param(hdr, "realm", realm, sizeof(realm)))
		(void)bc_registry_url_check(realm, &plain, &err);
	(void)bc_auth_param(hdr, "service", v, sizeof(v));
	(void)bc_auth_param(hdr, "scope", v, sizeof(v));
	(void)bc_registry_url_check(hdr, &plain, &err);
	(void)bc_host_is_loopback(hdr, strlen(hdr));
	free(hdr);
	return 0;
}
