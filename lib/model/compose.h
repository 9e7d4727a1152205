/* docker-compose.yml (the compose spec, the parts a device runs) into a v3
 * target document, for local mode. The result goes through the same
 * validation as a cloud target (lib/model/target.c).
 *
 * YAML is read with libyaml and bounded (file size, node count, depth, so
 * aliases cannot explode). ${VAR}, ${VAR:-default}, ${VAR-default},
 * ${VAR:?message}, ${VAR?message}, $VAR and $$ are interpolated from the
 * environment and a .env file beside the compose file. env_file is read
 * relative to the compose file. An unsupported key is an error naming the
 * file, the line and the key.
 *
 * include: adds other files' resources (each read in its own directory,
 * with its own .env, checked whole); extends: merges a service onto the
 * one it names, of this file or another, as the specification merges. At
 * most 256 file reads in all, include 8 deep, extends 16. */
#ifndef BC_COMPOSE_H
#define BC_COMPOSE_H

#include <jansson.h>

#include "lib/base/buf.h"
#include "lib/base/err.h"

#define BC_COMPOSE_MAX_BYTES ((size_t)1 << 20)
#define BC_COMPOSE_MAX_NODES 100000
#define BC_COMPOSE_MAX_DEPTH 64

typedef struct bc_compose_opts {
	const char *project; /* app name; NULL: the file's "name", else its directory's */
	const char *device;  /* device uuid key of the document; NULL: "local" */
	int64_t app_id;	     /* 0: derived from the project name */
	const char *commit;  /* release commit; NULL: "local" */
	int64_t release_id;  /* 0: 1 */
	/* the profiles enabled, comma-separated ("*": all); a service with
	 * profiles runs only when one of them is enabled. NULL: none. */
	const char *profiles;
	/* the file of variables for interpolation (--env-file), read instead
	 * of the project directory's .env, and required; NULL: .env, if there */
	const char *env_file;
	/* Variable lookup for interpolation; NULL: getenv. */
	const char *(*lookup)(void *ud, const char *name);
	/* Told once per variable that is used unset with no default (it
	 * becomes ""); may be NULL. name is borrowed for the call. */
	void (*unset)(void *ud, const char *name);
	/* Told each key accepted that has no meaning on one device (deploy's
	 * swarm keys, replicas > 1), as docker compose warns; may be NULL. */
	void (*warn)(void *ud, const char *msg);
	/* Reads a file that include or extends names (path as made absolute
	 * against the project directory) into out, bounded by out->max; 0, or
	 * -1 with err. NULL: the filesystem. (The fuzzer's own files.) */
	int (*read)(void *ud, const char *path, bc_buf *out, bc_err *err);
	void *ud;
} bc_compose_opts;

/* A compose structure already in JSON (services/volumes/networks/name,
 * borrowed) into a v3 document; source names it in errors. */
json_t *bc_compose_to_target(const json_t *compose, const char *source, const bc_compose_opts *opts,
			     bc_err *err);

/* Parse the compose file at path into a v3 document (the caller's to
 * json_decref). */
json_t *bc_compose_load(const char *path, const bc_compose_opts *opts, bc_err *err);

/* Parse compose text; source names it in errors and dir is where env_file
 * and .env are looked for (NULL: no files are read). */
json_t *bc_compose_parse(const char *text, size_t len, const char *source, const char *dir,
			 const bc_compose_opts *opts, bc_err *err);

#endif
