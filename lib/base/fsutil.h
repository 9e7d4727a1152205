/* Files written so that a crash at any point leaves the old content or the
 * new, never a mix: one copy of that, for every daemon. */
#ifndef BC_FSUTIL_H
#define BC_FSUTIL_H

#include <jansson.h>
#include <stddef.h>

#include "lib/base/err.h"

/* Write json (compact) to path atomically: a sibling temporary file,
 * fsync, rename over path, fsync of the directory. mode: of a new file.
 * Returns 0, or -1 with err naming the path (path is unchanged then). */
int bc_write_json_atomic(const char *path, const json_t *json, int mode, bc_err *err);

/* mkdir -p: path and every missing parent, with mode. Returns 0, or -1
 * with err naming the directory that could not be made. */
int bc_mkdirs(const char *path, int mode, bc_err *err);

#endif
