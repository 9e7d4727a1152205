/* A Docker Engine API client over the unix socket (our HTTP/1.1 client,
 * lib/docker/http1), JSON by jansson.
 *
 * One bc_docker is used by one thread. The API version is negotiated once in
 * bc_docker_new from GET /version: the lower of the engine's and
 * BC_DOCKER_API_MAX, never below BC_DOCKER_API_MIN.
 *
 * Errors: -1 (or NULL) with err filled. An engine error carries the HTTP
 * status in err->status and Docker's own message in err->msg; 404 gives
 * BC_ENOTFOUND, other statuses BC_EHTTP.
 *
 * Ownership: every json_t * returned is a new reference the caller must
 * json_decref. json_t * arguments are borrowed. */
#ifndef BC_DOCKER_H
#define BC_DOCKER_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/docker/dstream.h"
#include "lib/base/err.h"

#define BC_DOCKER_SOCK_DEFAULT "/var/run/docker.sock"
#define BC_DOCKER_API_MIN "1.41"
#define BC_DOCKER_API_MAX "1.43"
#define BC_DOCKER_MAX_RESPONSE ((size_t)64 << 20)

typedef struct bc_docker bc_docker;

/* sock: a unix socket path, or NULL for $DOCKER_HOST (unix:// only) or
 * BC_DOCKER_SOCK_DEFAULT. Returns a handle the caller frees with
 * bc_docker_free. */
bc_docker *bc_docker_new(const char *sock, bc_err *err);
void bc_docker_free(bc_docker *d);
/* "1.41": the negotiated version; owned by d. */
const char *bc_docker_api_version(const bc_docker *d);

/* One request to the versioned path ("/containers/json?all=1"). body may be
 * NULL. On success *out (if out is not NULL) gets the decoded JSON body, or
 * NULL for an empty body. */
int bc_docker_request(bc_docker *d, const char *method, const char *path, const json_t *body,
		      json_t **out, bc_err *err);

/* "label=key=value" style filter builders take a label ("key" or
 * "key=value"); NULL lists everything. */

/* Containers. id buffers are 65 bytes (64 hex + NUL). */
json_t *bc_docker_container_list(bc_docker *d, const char *label, bool all, bc_err *err);
json_t *bc_docker_container_inspect(bc_docker *d, const char *id, bc_err *err);
int bc_docker_container_create(bc_docker *d, const char *name, const json_t *config, char id[65],
			       bc_err *err);
/* The same, for platform ("linux/arm64"; NULL: the engine's own). */
int bc_docker_container_create_for(bc_docker *d, const char *name, const char *platform,
				   const json_t *config, char id[65], bc_err *err);
int bc_docker_container_start(bc_docker *d, const char *id, bc_err *err);
/* Stop with SIGTERM (or the container's stop signal), SIGKILL after
 * timeout_s (< 0: the container's own StopTimeout). Stopping a stopped
 * container succeeds. */
int bc_docker_container_stop(bc_docker *d, const char *id, int timeout_s, bc_err *err);
/* Stop (as bc_docker_container_stop, timeout_s < 0: the container's own)
 * and start it again: the same container. */
int bc_docker_container_restart(bc_docker *d, const char *id, int timeout_s, bc_err *err);
int bc_docker_container_kill(bc_docker *d, const char *id, const char *signal, bc_err *err);
int bc_docker_container_remove(bc_docker *d, const char *id, bool force, bool volumes, bc_err *err);
/* Run a process in the container (body: an exec's create body, Cmd, User,
 * Privileged, WorkingDir, Env) and wait for it to end, at most
 * timeout_ms: *code gets its exit code. 0, or -1 with err (then *code is
 * -1). */
int bc_docker_exec(bc_docker *d, const char *id, const json_t *body, int timeout_ms, int *code,
		   bc_err *err);
/* Unpack a tar (tar, len: borrowed) into the container at dir (PUT
 * .../archive): its entries' directories are made as needed. */
int bc_docker_container_put_archive(bc_docker *d, const char *id, const char *dir, const void *tar,
				    size_t len, bc_err *err);
int bc_docker_container_rename(bc_docker *d, const char *id, const char *name, bc_err *err);

/* Networks. */
json_t *bc_docker_network_list(bc_docker *d, const char *label, bc_err *err);
int bc_docker_network_create(bc_docker *d, const json_t *config, char id[65], bc_err *err);
int bc_docker_network_remove(bc_docker *d, const char *id, bc_err *err);
/* endpoint may be NULL. */
int bc_docker_network_connect(bc_docker *d, const char *net, const char *container,
			      const json_t *endpoint, bc_err *err);

/* Volumes. bc_docker_volume_list returns the "Volumes" array. */
json_t *bc_docker_volume_list(bc_docker *d, const char *label, bc_err *err);
int bc_docker_volume_create(bc_docker *d, const json_t *config, bc_err *err);
int bc_docker_volume_remove(bc_docker *d, const char *name, bool force, bc_err *err);

/* Images. */
json_t *bc_docker_image_list(bc_docker *d, const char *label, bc_err *err);
json_t *bc_docker_image_inspect(bc_docker *d, const char *ref, bc_err *err);
int bc_docker_image_tag(bc_docker *d, const char *ref, const char *repo, const char *tag,
			bc_err *err);
int bc_docker_image_remove(bc_docker *d, const char *ref, bool force, bc_err *err);

/* Split an image reference into the name and the tag or digest that
 * /images/create wants ("reg:5000/a/b:1" -> "reg:5000/a/b", "1";
 * "a@sha256:..." -> "a", "sha256:..."; no tag -> "latest"). Returns -1 on an
 * empty or oversized reference or one without a name. */
int bc_image_ref_split(const char *ref, char *name, size_t namelen, char *tag, size_t taglen,
		       bc_err *err);

/* Pull ref. registry_auth is the base64 X-Registry-Auth value (a secret:
 * never logged, never put in an error) or NULL. on_progress, if not NULL,
 * gets each progress object. An error object in the stream fails the pull
 * with its message. */
int bc_docker_image_pull(bc_docker *d, const char *ref, const char *registry_auth,
			 bc_json_fn on_progress, void *ud, bc_err *err);

/* Streams. They block until the engine ends the stream, the callback returns
 * non-zero (then they return 0), or an error. query is appended after '?'
 * as given (already URL-encoded) and may be NULL. */
/* Build an image from a tar of its context (POST /build; query is the
 * endpoint's, already encoded: "t=name&dockerfile=..."). on_progress (may
 * be NULL) sees each line of the build's stream; an "error" line fails it.
 * id gets the image's id. */
int bc_docker_image_build(bc_docker *d, const char *query, const void *tar, size_t len,
			  bc_json_fn on_progress, void *ud, char id[80], bc_err *err);

/* The same, the image of platform ("linux/arm64"; NULL: the engine's). */
int bc_docker_image_pull_for(bc_docker *d, const char *ref, const char *platform,
			     const char *registry_auth, bc_json_fn on_progress, void *ud,
			     bc_err *err);

int bc_docker_events(bc_docker *d, const char *query, bc_json_fn fn, void *ud, bc_err *err);

/* The same stream read by the caller's loop: open connects and sends (on a
 * unix socket: at once; sock NULL: $DOCKER_HOST or the default), then each
 * time the fd is readable bc_docker_stream_read hands what came to fn (on
 * the caller's thread) without blocking. Returns 0 while the stream goes
 * on, 1 when it ended (the engine closed it, or fn returned non-zero), -1
 * with err (an error status, a malformed stream). The caller frees with
 * bc_docker_stream_free (a stream that ended is not reopened: open anew). */
typedef struct bc_docker_stream bc_docker_stream;
bc_docker_stream *bc_docker_events_open(const char *sock, const char *query, bc_json_fn fn,
					void *ud, bc_err *err);
/* A container's logs, read by the caller's loop the same way (query as
 * for bc_docker_logs: follow=1&stdout=1&stderr=1&timestamps=1&since=...);
 * each frame goes to fn (a TTY container's raw chunks as stream 1). */
bc_docker_stream *bc_docker_logs_open(const char *sock, const char *id, const char *query,
				      bool tty, bc_frame_fn fn, void *ud, bc_err *err);
int bc_docker_stream_fd(const bc_docker_stream *s);
/* At most n receives of 16 KiB in one bc_docker_stream_read (default 64). */
void bc_docker_stream_budget(bc_docker_stream *s, int n);
int bc_docker_stream_read(bc_docker_stream *s, bc_err *err);
void bc_docker_stream_free(bc_docker_stream *s);
/* tty: the container was created with Tty (its logs are raw, not framed;
 * each chunk then arrives as stream 1). */
int bc_docker_logs(bc_docker *d, const char *id, const char *query, bool tty, bc_frame_fn fn,
		   void *ud, bc_err *err);

/* URL-encoded filters={"label":[label]} for a query string; caller frees. */
char *bc_docker_label_filter(const char *label, bc_err *err);
/* URL-encoded filters=<filters as JSON> (borrowed); caller frees. */
char *bc_docker_filters(const json_t *filters, bc_err *err);

#endif
