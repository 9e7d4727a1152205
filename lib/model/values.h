/* Parsers for compose value syntaxes. Pure; each fails with a message that
 * names the offending value (the caller adds where it was). */
#ifndef BC_VALUES_H
#define BC_VALUES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/base/err.h"

/* Go-style duration ("1h2m3.5s", "500ms", "10us") or a bare number of
 * seconds -> nanoseconds. */
int bc_parse_duration(const json_t *v, int64_t *ns, bc_err *err);

/* Is a label's value true, as the supervisor reads it (checkTruthy: "1",
 * "true", "on", any case)? NULL is not. */
bool bc_label_truthy(const char *v);

/* Is name one an environment variable (env) or a label may have? Not
 * empty, at most 255 bytes, no space, control character or quote (the
 * supervisor refuses those: docs/compatibility.md), and no '=' in an
 * environment variable's. */
bool bc_name_ok(const char *name, bool env);

/* Is name one Docker takes for a container, volume or network
 * ([a-zA-Z0-9][a-zA-Z0-9_.-]*), at most max bytes? */
bool bc_docker_name_ok(const char *name, size_t max);

/* Byte size: integer, or a number with b/k/m/g (optionally followed by b),
 * any case -> bytes. */
int bc_parse_bytes(const json_t *v, int64_t *bytes, bc_err *err);

/* Split a command line as a POSIX shell would split words: whitespace,
 * '...' literal, "..." with \" \\ \$ \` escapes, backslash outside quotes.
 * No expansion. Returns a new JSON array of strings (caller owns). */
json_t *bc_shell_split(const char *s, bc_err *err);

/* One port ("[IP:][HOST:]CONTAINER[/PROTO]", ranges "8000-8001", or an
 * integer) added to ExposedPorts and PortBindings (both objects). The IP
 * may be v4 or v6 (in brackets or not, as the supervisor reads it). HOST
 * empty or 0 ("127.0.0.1::80", "0:80"): a port the engine picks; no HOST
 * ("80"): the same port on the host, as the supervisor publishes it (the
 * compose loader writes docker compose's "80" as "0:80"). */
int bc_parse_port(const json_t *v, json_t *exposed, json_t *bindings, bc_err *err);

/* "host[:container[:perms]]" -> {PathOnHost, PathInContainer, CgroupPermissions}. */
json_t *bc_parse_device(const char *s, bc_err *err);

/* restart: no | always | unless-stopped | on-failure[:N] -> RestartPolicy. */
json_t *bc_parse_restart(const char *s, bc_err *err);

#endif
