/* config.json, the device's identity and cloud settings (on balenaOS it lives
 * on the boot partition). Unknown keys are left alone: the OS owns many of
 * them. A known key of the wrong kind or out of range is an error naming the
 * file and the field. Error messages never contain a secret's value. */
#ifndef BC_CONFIG_H
#define BC_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"

#define BC_CONFIG_PATH_DEFAULT "/mnt/boot/config.json"
#define BC_CONFIG_MAX_BYTES ((size_t)1 << 20)

typedef struct bc_config {
	/* Strings are owned by the struct (bc_config_free); NULL when absent. */
	char *uuid;
	char *device_api_key; /* secret */
	char *api_key;	      /* provisioning key; secret */
	char *api_endpoint;   /* NULL: unmanaged, local mode only */
	char *delta_endpoint;
	char *registry_endpoint;
	char *device_type;
	char *hostname;
	int64_t application_id;		      /* 0 when absent */
	int64_t device_id;		      /* 0 when absent */
	uint32_t listen_port;		      /* default 48484 */
	uint64_t app_update_poll_interval_ms; /* default 900000 */
	uint64_t api_timeout_ms;	      /* default 900000 */
	bool delta;			      /* default false */
	uint32_t delta_version;		      /* default 3 */
	uint64_t delta_request_timeout_ms;    /* default 59000 */
	uint64_t delta_apply_timeout_ms;      /* default 0 = none */
	uint32_t delta_retry_count;	      /* default 30 */
	uint64_t delta_retry_interval_ms;     /* default 10000 */
	bool local_mode;
	bool persistent_logging;
	bool development_mode;
	bool unmanaged; /* derived: no apiEndpoint */
} bc_config;

/* Parse len bytes of JSON; source names the file in errors. On success c
 * owns its strings; on failure c is left empty. */
int bc_config_parse(const char *json, size_t len, const char *source, bc_config *c, bc_err *err);

/* Read and parse path (at most BC_CONFIG_MAX_BYTES). */
int bc_config_load(const char *path, bc_config *c, bc_err *err);

/* Does the device follow the cloud? The one answer every daemon and the
 * CLI go by, from config.json at path:
 *   BC_MODE_CLOUD  an apiEndpoint, no localMode: *c loaded (the caller's,
 *                  bc_config_free);
 *   BC_MODE_LOCAL  no config.json, no apiEndpoint, or localMode: why says
 *                  which (NUL-terminated in whylen bytes), *c empty;
 *   -1             config.json there but not readable or not valid: err
 *                  names it, *c empty (what to do is the caller's: the
 *                  gateway refuses to start, the others stay local). */
enum { BC_MODE_LOCAL = 0, BC_MODE_CLOUD = 1 };
int bc_config_mode(const char *path, bc_config *c, char *why, size_t whylen, bc_err *err);

void bc_config_free(bc_config *c);

/* Change config.json in place, atomically (a sibling temporary file made
 * new, fsync, rename): each key of changes is set to its value, or removed
 * when the value is null; every other key (the OS's) stays as it was. The
 * file is written 0600 (it holds the device's key): *was_mode (may be
 * NULL) gets the mode it had, for the caller to say so when it was wider.
 * Returns 0, or -1 with err naming the file. */
int bc_config_update(const char *path, const json_t *changes, int *was_mode, bc_err *err);

#endif
