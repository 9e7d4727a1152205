#include "lib/cloud/tls.h"

int
bc_cloud_tls_new(const char *ca_file, nng_tls_config **tls, bc_err *err)
{
	const char *ca = ca_file != NULL && *ca_file ? ca_file : BC_SYSTEM_CAS;
	int rv;

	*tls = NULL;
	if ((rv = nng_tls_config_alloc(tls, NNG_TLS_MODE_CLIENT)) != 0 ||
	    (rv = nng_tls_config_auth_mode(*tls, NNG_TLS_AUTH_MODE_REQUIRED)) != 0)
		return bc_err_set(err, BC_ESYS, "TLS: %s", nng_strerror(rv));
	if ((rv = nng_tls_config_ca_file(*tls, ca)) != 0) {
		nng_tls_config_free(*tls);
		*tls = NULL;
		return bc_err_set(err, BC_EINVAL, "TLS: the CA file '%s': %s", ca, nng_strerror(rv));
	}
	return 0;
}

int
bc_cloud_client(const nng_url *url, nng_tls_config *tls, nng_http_client **client, bc_err *err)
{
	int rv;

	if ((rv = nng_http_client_alloc(client, url)) != 0)
		return bc_err_set(err, BC_ESYS, "HTTP client: %s", nng_strerror(rv));
	/* one config for every connection; the name is checked against the
	 * certificate (mbedTLS takes it per config: set it each time) */
	if (tls != NULL && ((rv = nng_tls_config_server_name(tls, url->u_hostname)) != 0 ||
			    (rv = nng_http_client_set_tls(*client, tls)) != 0)) {
		nng_http_client_free(*client);
		*client = NULL;
		return bc_err_set(err, BC_ESYS, "TLS for %s: %s", url->u_hostname, nng_strerror(rv));
	}
	return 0;
}
