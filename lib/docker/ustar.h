/* The tar the reconciler writes (a service's files, PUT into a new
 * container): plain ustar, regular files only, written here rather than by
 * libarchive, which would bring libxml2 and ICU into a daemon's memory
 * (bench/footprint measured 3.3 MiB more). Build contexts, written by the
 * CLI, use libarchive (lib/docker/tarball.h). */
#ifndef BC_USTAR_H
#define BC_USTAR_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/base/buf.h"
#include "lib/base/err.h"

/* Names are ustar's: bc_tar_name_fits (lib/base/text.h) says which fit. */
/* files: [{"target": "/abs/path", "content": "...", "mode": 0444,
 * "uid": "0", "gid": "0"}] as the target's "files" key carries them
 * (checked there), into out (the caller's, bounded by out->max); entries
 * are named relative to "/". 0, or -1 with err. */
int bc_tar_files(const json_t *files, bc_buf *out, bc_err *err);

#endif
