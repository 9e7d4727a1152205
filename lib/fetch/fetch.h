/* Building blocks of the fetcher that need no daemon: progress of a pull
 * from Docker's stream, which failures are worth a retry and how long to
 * wait, the registry credential header, the disk reserve, and the size of
 * an image from its registry manifest. */
#ifndef BC_FETCH_H
#define BC_FETCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/base/err.h"

/* --- progress ------------------------------------------------------------- */

#define BC_PROGRESS_MAX_LAYERS 256

typedef struct bc_progress {
	struct {
		char id[72];
		uint64_t current, total;
		bool done;
	} layer[BC_PROGRESS_MAX_LAYERS];
	size_t n;
} bc_progress;

/* Account one object of Docker's pull stream. Objects without a layer id
 * (the "Pulling from", "Digest", "Status" lines) change nothing. */
void bc_progress_feed(bc_progress *p, const json_t *obj);
/* Bytes done and known so far, and a percent (0 when nothing is known;
 * 100 only when every known layer is done). */
void bc_progress_sum(const bc_progress *p, uint64_t *current, uint64_t *total, unsigned *percent);

/* --- retries --------------------------------------------------------------- */

/* Is a pull error worth another try (network trouble, a 5xx, a registry
 * going away) rather than final (credentials, a missing image)? */
bool bc_pull_retryable(const char *error);
/* Exponential backoff with "equal jitter": a delay in [base*2^attempt / 2,
 * base*2^attempt], at most cap; r is a random number. Half the delay is
 * always waited (no retry storms at once), the other half is spread. */
uint64_t bc_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, uint32_t r);

/* --- registries -------------------------------------------------------------- */

/* The registry named by an image reference ("reg:5000/a/b:1" -> "reg:5000"),
 * or false for a Docker Hub name ("a/b", "busybox"). */
bool bc_image_registry(const char *ref, char *out, size_t n);

/* Is host[:port] (len bytes) exactly a loopback address: "localhost",
 * 127.a.b.c (four decimal bytes) or "[::1]", each with an optional port?
 * "localhost.example.com" and "127.evil.com" are not. */
bool bc_host_is_loopback(const char *host, size_t len);

/* May the agent send a request (with the device's credentials) to url? Only
 * https, or plain http to a loopback address; no userinfo in the host.
 * *plain says which. Returns 0, or -1 with err naming the url. */
int bc_registry_url_check(const char *url, bool *plain, bc_err *err);

/* key="value" out of a registry's WWW-Authenticate header (realm,
 * service, scope) into out (n bytes); false if absent or too long. */
bool bc_auth_param(const char *hdr, const char *key, char *out, size_t n);

/* Is registry a (host[:port] of an image) the device's registry b (config.json
 * registryEndpoint)? The device's credentials go only there. */
bool bc_registry_same(const char *a, const char *b);

/* The X-Registry-Auth value (base64 of {username, password, serveraddress}).
 * The result is a secret: the caller frees it after explicit_bzero. */
char *bc_registry_auth(const char *user, const char *password, const char *server);

/* The compressed size of an image (its config and layers) from the
 * registry's manifest, following a manifest list to this machine's
 * platform. user/password may be NULL. Plain http for loopback registries
 * (bc_host_is_loopback), https otherwise; a token realm is held to
 * bc_registry_url_check too, and curl itself to that one scheme. */
int bc_registry_image_size(const char *ref, const char *user, const char *password, long timeout_s,
			   uint64_t *bytes, bc_err *err);

/* --- disk ---------------------------------------------------------------------- */

/* The reserve to keep free on a filesystem of fs_size bytes: spec is "N%",
 * a size ("512M", "1G", bytes), or NULL for the default, the smaller of
 * 10 % and 512 MiB. */
int bc_disk_reserve(const char *spec, uint64_t fs_size, uint64_t *reserve, bc_err *err);
/* Free bytes (for unprivileged use) and size of the filesystem of path. */
int bc_disk_space(const char *path, uint64_t *avail, uint64_t *size, bc_err *err);

#endif
