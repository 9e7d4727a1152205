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
/* The same without the fsyncs: atomic when the process dies (kill -9), not
 * when the machine does (then the old content or none may be there). For
 * state written many times a second (the logger's cursors). */
int bc_write_json_replace(const char *path, const json_t *json, int mode, bc_err *err);

/* Read the JSON document in path (a state file): never through a symlink
 * (O_NOFOLLOW), only a regular file of at most max bytes, read without
 * blocking on what is not one. Returns it (the caller's), or NULL with
 * je->text saying why (je may be NULL). */
json_t *bc_read_json(const char *path, size_t flags, size_t max, json_error_t *je);

/* mkdir -p: path and every missing parent, with mode. Returns 0, or -1
 * with err naming the directory that could not be made. */
int bc_mkdirs(const char *path, int mode, bc_err *err);

/* Make path (with mode; its missing parents with 0700; mode -1: make nothing)
 * and check that nobody but root (or our effective uid) can change where it
 * leads or what is in it: walked from "/" one component at a time (openat,
 * O_NOFOLLOW), each must be a directory owned by root or us and writable by
 * nobody else; an ancestor may be writable by others if it is sticky (/tmp:
 * they cannot rename or remove what is ours in it), the path itself may not.
 * A symlink on the way is followed only if root or we own it, and its
 * target is walked the same way (at most 8). Returns 0, or -1 with err
 * naming the component and what is wrong with it. */
int bc_dir_secure(const char *path, int mode, bc_err *err);

/* Go's filepath.Clean on a '/'-path of at most 4095 bytes, in place: no
 * "//" or "." components, ".." taken back where it can be (at "/" it
 * stays "/"), "" becomes ".". */
void bc_path_clean(char *p);

#endif
