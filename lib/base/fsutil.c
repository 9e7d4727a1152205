#include "lib/base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int
bc_write_json_atomic(const char *path, const json_t *json, int mode, bc_err *err)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return bc_err_set(err, BC_ETOOBIG, "path '%.64s...' too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return bc_err_sys(err, "write '%s'", tmp);
	if (json_dumpfd(json, fd, JSON_COMPACT) < 0 || fsync(fd) < 0) {
		bc_err_sys(err, "write '%s'", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		bc_err_sys(err, "rename '%s' to '%s'", tmp, path);
		unlink(tmp);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if ((fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

int
bc_mkdirs(const char *path, int mode, bc_err *err)
{
	char buf[PATH_MAX];

	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return bc_err_set(err, BC_ETOOBIG, "path '%.64s...' too long", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
			return bc_err_sys(err, "create '%s'", buf);
		*p = '/';
	}
	if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
		return bc_err_sys(err, "create '%s'", buf);
	return 0;
}
