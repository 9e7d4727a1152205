/* A compose service's build, run by the engine's builder (POST /build with
 * a tar of the context, lib/docker/tarball). The build is the object the
 * compose loader writes beside a service (lib/model/compose.h):
 *
 *   context (an absolute directory), dockerfile (relative to it),
 *   dockerfile_inline, args {NAME: value}, target, labels {NAME: value},
 *   cache_from [image], network, shm_size (bytes), extra_hosts
 *   ["host:ip"], no_cache, pull, tags [image], platform
 *
 * The image is tagged image and each of tags. */
#ifndef BC_BUILD_H
#define BC_BUILD_H

#include <jansson.h>

#include "lib/base/err.h"
#include "lib/docker/docker.h"

/* The largest context sent (a .dockerignore keeps it small). */
#define BC_BUILD_MAX_CONTEXT ((size_t)512 << 20)

/* Told each line of the builder's output (its "stream"; the line is
 * borrowed for the call and is the build's own text: tame it before a
 * terminal). May be NULL. */
typedef void (*bc_build_line_fn)(void *ud, const char *line);

/* Build image from build. id (80 bytes) gets the image's id. 0, or -1
 * with err (the builder's own error when a step failed). */
int bc_build_run(bc_docker *d, const json_t *build, const char *image, bc_build_line_fn fn,
		 void *ud, char id[80], bc_err *err);

/* The query of POST /build for build and image ("t=...&dockerfile=..."):
 * the caller's to free; NULL with err (a value of the wrong type). */
char *bc_build_query(const json_t *build, const char *image, bc_err *err);

#endif
