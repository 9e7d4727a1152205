/* From a service's compose configuration (the v3 target's `composition`,
 * plus its `environment` and `labels`) to the Docker create body we run it
 * with, and the hash that says whether a running container still matches.
 *
 * Every compose key we accept has a handler; any other key is an error that
 * names it and where it was. The hash covers the whole create body except
 * what changes with every release without changing the container: the
 * image reference (its content is compared by image id instead) and the
 * names. */
#ifndef BC_SPEC_H
#define BC_SPEC_H

#include "lib/base/err.h"
#include "lib/model/model.h"

#define BC_LABEL_HASH "io.balena-compose.config-hash"
#define BC_LABEL_BINDS "io.balena-compose.features.bind-mounts"
/* on a volume or network a release names itself (compose's name:): its
 * name in the app */
#define BC_LABEL_COMPONENT "io.balena-compose.component"
/* on a service: the container's own name (compose's container_name) */
#define BC_LABEL_CONTAINER_NAME "io.balena-compose.container-name"
/* on a container named so: what its name does not say (its image id,
 * release id and commit), for the current state */
#define BC_LABEL_IMAGE_ID "io.balena-compose.image-id"
#define BC_LABEL_RELEASE_ID "io.balena-compose.release-id"
#define BC_LABEL_COMMIT "io.balena-compose.commit"
/* on a container: the platform it was made for (composition platform) */
#define BC_LABEL_PLATFORM "io.balena-compose.platform"
/* on a container: its pre_stop hooks, the exec bodies as JSON */
#define BC_LABEL_PRE_STOP "io.balena-compose.pre-stop"
/* The app's name, on its containers, volumes and networks: what `state`
 * calls an app that has left the target while parts of it remain (its
 * kept volumes). Outside the hash: a renamed app is not recreated. */
#define BC_LABEL_APP_NAME "io.balena-compose.app-name"
/* how long a service must run before its update is committed */
#define BC_LABEL_SETTLE "io.balena-compose.update.settle-period"
/* how long it may stay unhealthy before it is restarted */
#define BC_LABEL_UNHEALTHY "io.balena-compose.health.restart-after"
/* A service's logs unless its composition has `logging`: json-file, at
 * most BC_LOG_MAX_FILE files of BC_LOG_MAX_SIZE. */
#define BC_LOG_MAX_SIZE "10m"
#define BC_LOG_MAX_FILE "3"

typedef struct bc_spec_ctx {
	int64_t app_id;
	const char *app_uuid;
	const char *app_name;
	const char *device_uuid; /* may be NULL */
	const char *device_type; /* may be NULL */
	const char *device_name; /* may be NULL */
	const char *board_rev;	 /* the host OS's BALENA_BOARD_REV; may be NULL */
	const char *device_arch; /* amd64, aarch64, armv7hf ...; may be NULL */
	const char *host_os;	 /* the host OS's PRETTY_NAME; may be NULL */
	const char *api_key;	 /* for io.balena.features.balena-api; may be NULL */
	const char *api_url;	 /* the same; may be NULL */
	const char *lockdir;	 /* host base of the update-lock dirs; NULL: none */
	const bc_app *app;	 /* the app being built: its declared volumes and networks */
	const char *where;	 /* "app 'x'": prefix for errors */
} bc_spec_ctx;

/* Fill svc->spec, connect, config_hash, depends_on, volumes, networks,
 * strategy and handover_timeout_ms from the three JSON parts (each may be
 * NULL). svc->name and service_id must be set. */
int bc_spec_service(bc_service *svc, const json_t *composition, const json_t *environment,
		    const json_t *labels, const bc_spec_ctx *ctx, bc_err *err);

/* Volumes and networks of the release: Docker create bodies and hashes. */
int bc_spec_volume(bc_volume *vol, const json_t *config, const bc_spec_ctx *ctx, bc_err *err);
int bc_spec_network(bc_network *net, const json_t *config, const bc_spec_ctx *ctx, bc_err *err);

/* Is key a compose key we take for a service / a volume / a network? */
bool bc_spec_service_key(const char *key);
bool bc_spec_volume_key(const char *key);
bool bc_spec_network_key(const char *key);

/* FNV-1a 64 over canonical JSON (sorted keys), as 16 hex digits + NUL. */
void bc_json_hash(const json_t *j, const json_t *extra, char out[17]);

#endif
