/* TLS to the cloud (nng's TLS, mbedTLS): one client configuration, the peer
 * verified against ca_file (a PEM file; "" or NULL: the system's CAs). The
 * gateway and the logger's log stream share it. */
#ifndef BC_CLOUD_TLS_H
#define BC_CLOUD_TLS_H

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>

#include "lib/base/err.h"

#define BC_SYSTEM_CAS "/etc/ssl/certs/ca-certificates.crt"

/* *tls is the caller's (nng_tls_config_free). Returns 0, or -1 with err
 * (BC_EINVAL: the CA file, named, could not be read). */
int bc_cloud_tls_new(const char *ca_file, nng_tls_config **tls, bc_err *err);

/* An HTTP client of url's host with tls (NULL for plain http), the
 * certificate checked against url's host name. *client is the caller's. */
int bc_cloud_client(const nng_url *url, nng_tls_config *tls, nng_http_client **client, bc_err *err);

#endif
