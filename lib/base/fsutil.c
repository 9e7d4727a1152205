#include "lib/base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
write_json(const char *path, const json_t *json, int mode, bool sync, bc_err *err)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return bc_err_set(err, BC_ETOOBIG, "path '%.64s...' too long", path);
	/* made new (a crash's leftover, or whatever else is there under that
	 * name, a link included, is removed, never written through) */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return bc_err_sys(err, "write '%s'", tmp);
	if (fchmod(fd, (mode_t)mode) < 0) { /* the umask does not widen it, nor narrow */
		bc_err_sys(err, "write '%s'", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (json_dumpfd(json, fd, JSON_COMPACT) < 0 || (sync && fsync(fd) < 0)) {
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
	if (sync && (fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

int
bc_write_json_atomic(const char *path, const json_t *json, int mode, bc_err *err)
{
	return write_json(path, json, mode, true, err);
}

int
bc_write_json_replace(const char *path, const json_t *json, int mode, bc_err *err)
{
	return write_json(path, json, mode, false, err);
}

json_t *
bc_read_json(const char *path, size_t flags, size_t max, json_error_t *je)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	json_t *j = NULL;

	if (je != NULL)
		snprintf(je->text, sizeof(je->text), "%s", "");
	if (fd < 0) {
		if (je != NULL)
			snprintf(je->text, sizeof(je->text), "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		if (je != NULL)
			snprintf(je->text, sizeof(je->text), "%s",
				 S_ISREG(st.st_mode) ? "larger than allowed"
						     : "not a regular file");
	} else {
		j = json_loadfd(fd, flags, je);
	}
	close(fd);
	return j;
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

#define SECURE_HOPS 8

static bool
trusted_uid(uid_t u)
{
	return u == 0 || u == geteuid();
}

/* One walk of path from "/"; *next gets a path to walk again when a
 * trusted symlink is met (its target with the rest appended). */
static int
secure_walk(const char *path, int mode, char *next, size_t nnext, bc_err *err)
{
	char buf[PATH_MAX], sofar[PATH_MAX] = "";
	char *save = NULL, *c;
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), rc = -1;
	struct stat st;

	next[0] = '\0';
	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return bc_err_set(err, BC_ETOOBIG, "path '%.64s...' too long", path);
	if (fd < 0)
		return bc_err_sys(err, "open '/'");
	for (c = strtok_r(buf, "/", &save); c != NULL; c = strtok_r(NULL, "/", &save)) {
		bool last;
		int nfd;

		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			bc_err_set(err, BC_EINVAL, "'%s': '..' is not allowed in it", path);
			goto out;
		}
		snprintf(sofar + strlen(sofar), sizeof(sofar) - strlen(sofar), "/%s", c);
		last = save == NULL || *save == '\0' || strspn(save, "/") == strlen(save);
		nfd = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && mode >= 0) {
			/* a parent we create is ours alone: the run directory
			 * (the lock root's parent by default) must be 0700, and
			 * a lock root under another BC_RUNDIR must not make it
			 * 0755 */
			if (mkdirat(fd, c, last ? (mode_t)mode : 0700) < 0 && errno != EEXIST) {
				bc_err_sys(err, "create '%s'", sofar);
				goto out;
			}
			nfd = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0 && (errno == ENOTDIR || errno == ELOOP) &&
		    fstatat(fd, c, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
			char target[PATH_MAX], dir[PATH_MAX];
			ssize_t n;

			if (!trusted_uid(st.st_uid)) {
				bc_err_set(err, BC_EINVAL,
					   "'%s' is a symlink of uid %u (not root): refusing to "
					   "follow it",
					   sofar, (unsigned)st.st_uid);
				goto out;
			}
			n = readlinkat(fd, c, target, sizeof(target) - 1);
			if (n <= 0) {
				bc_err_sys(err, "read the symlink '%s'", sofar);
				goto out;
			}
			target[n] = '\0';
			snprintf(dir, sizeof(dir), "%.*s", (int)(strlen(sofar) - strlen(c) - 1),
				 sofar);
			if ((size_t)snprintf(next, nnext, "%s%s%s%s%s", target[0] == '/' ? "" : dir,
					     target[0] == '/' ? "" : "/", target, last ? "" : "/",
					     last ? "" : save) >= nnext) {
				bc_err_set(err, BC_ETOOBIG, "'%s': its symlinks lead too far",
					   path);
				goto out;
			}
			rc = 0;
			goto out;
		}
		if (nfd < 0) {
			bc_err_sys(err, "open '%s'", sofar);
			goto out;
		}
		close(fd);
		fd = nfd;
		if (fstat(fd, &st) < 0) {
			bc_err_sys(err, "stat '%s'", sofar);
			goto out;
		}
		if (!trusted_uid(st.st_uid)) {
			bc_err_set(err, BC_EINVAL,
				   "'%s' is owned by uid %u, not root: another user could change "
				   "what is in it",
				   sofar, (unsigned)st.st_uid);
			goto out;
		}
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (last || !(st.st_mode & S_ISVTX))) {
			bc_err_set(err, BC_EINVAL,
				   "'%s' is writable by %s (mode %04o): another user could change "
				   "what is in it",
				   sofar, (st.st_mode & S_IWOTH) ? "everyone" : "its group",
				   (unsigned)(st.st_mode & 07777));
			goto out;
		}
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

int
bc_dir_secure(const char *path, int mode, bc_err *err)
{
	char a[PATH_MAX], b[PATH_MAX];

	if (path[0] != '/')
		return bc_err_set(err, BC_EINVAL, "'%s': an absolute path is needed", path);
	snprintf(a, sizeof(a), "%s", path);
	for (int hop = 0; hop <= SECURE_HOPS; hop++) {
		if (secure_walk(a, mode, b, sizeof(b), err) < 0)
			return hop > 0 ? bc_err_wrap(err, "'%s', through its symlinks", path) : -1;
		if (b[0] == '\0')
			return 0;
		memcpy(a, b, sizeof(a));
	}
	return bc_err_set(err, BC_EINVAL, "'%s': more than %d symlinks on the way", path,
			  SECURE_HOPS);
}

void
bc_path_clean(char *p)
{
	bool abs = p[0] == '/';
	char *seg[512];
	size_t n = 0, o = 0;
	char *save = NULL, *t;
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s", p);
	for (t = strtok_r(tmp, "/", &save); t != NULL && n < 512; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0 && n > 0 && strcmp(seg[n - 1], "..") != 0) {
			n--;
			continue;
		}
		if (strcmp(t, "..") == 0 && abs)
			continue;
		seg[n++] = t;
	}
	if (abs)
		p[o++] = '/';
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(seg[i]);
		if (i > 0)
			p[o++] = '/';
		memmove(p + o, seg[i], l);
		o += l;
	}
	if (o == 0)
		p[o++] = '.';
	p[o] = '\0';
}
