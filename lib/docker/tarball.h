/* A build's context as a tar for the engine, written with libarchive (a
 * directory, .dockerignore honoured as the docker CLI honours it). The
 * CLI's: no daemon links this (the files a service's secrets and configs
 * make are lib/docker/ustar.h).
 *
 * Each writes into out (the caller's; bounded by out->max, 0 meaning
 * BC_BUF_DEFAULT_MAX), which the caller frees with bc_buf_free. */
#ifndef BC_TARBALL_H
#define BC_TARBALL_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/base/buf.h"
#include "lib/base/err.h"

/* The build context under dir: every file, directory and symlink (not
 * followed) not excluded by dir/.dockerignore; dockerfile (relative to
 * dir) and .dockerignore are always sent, as the docker CLI sends them.
 * Owners are 0:0 as the CLI writes them. At most BC_TAR_MAX_ENTRIES
 * entries and BC_TAR_MAX_DEPTH directories deep. */
#define BC_TAR_MAX_ENTRIES 200000
#define BC_TAR_MAX_DEPTH 64
int bc_tar_context(const char *dir, const char *dockerfile, bc_buf *out, bc_err *err);
/* The same with one more file, name (relative) holding text (a Dockerfile
 * given inline), written last; name and text may be NULL. */
int bc_tar_context_with(const char *dir, const char *dockerfile, const char *name,
			const char *text, bc_buf *out, bc_err *err);

/* .dockerignore's rules (its text), for tests and bc_tar_context: is the
 * path (relative, '/'-separated, no leading "./") excluded? The last rule
 * that matches the path or one of its parent directories decides; a rule
 * starting with '!' includes again. -1 with err for a bad pattern. */
typedef struct bc_ignore bc_ignore;
bc_ignore *bc_ignore_parse(const char *text, size_t len, const char *source, bc_err *err);
int bc_ignore_match(const bc_ignore *ig, const char *path);
/* Does any rule include again (then an excluded directory is still read)? */
bool bc_ignore_has_exceptions(const bc_ignore *ig);
void bc_ignore_free(bc_ignore *ig);

#endif
