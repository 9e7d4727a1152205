#include "lib/locks/lock.h"

#include "lib/base/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const names[] = {"updates.lock", "resin-updates.lock"};

int
bc_lock_dir(char *out, size_t n, const char *lockdir, int64_t app_id, const char *service)
{
	int r = snprintf(out, n, "%s/%lld/%s", lockdir, (long long)app_id, service);
	return r < 0 || (size_t)r >= n ? -1 : 0;
}

static bool
empty_dir(int dfd)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	bool empty = true;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (empty && (e = readdir(d)) != NULL)
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

int
bc_lock_root_prepare(const char *lockdir, const char *guard, bool (*in_use)(const char *lockdir),
		     const char **how, bc_err *err)
{
	struct stat self, up;
	int g, dfd = -1, rc = -1;

	*how = "";
	if (bc_dir_secure(lockdir, 0755, err) < 0)
		return -1;
	if ((g = open(guard, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return bc_err_sys(err, "open '%s'", guard);
	if (flock(g, LOCK_EX) < 0) {
		bc_err_sys(err, "lock '%s'", guard);
		goto out;
	}
	dfd = open(lockdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &self) < 0 || fstatat(dfd, "..", &up, 0) < 0) {
		bc_err_sys(err, "open '%s'", lockdir);
		goto out;
	}
	if (self.st_dev != up.st_dev) {
		*how = "its own mount (kept as it is)";
	} else if (!empty_dir(dfd)) {
		/* a mount now would hide the lock dirs of running containers */
		*how = "not a mount of its own and not empty: left as it is until the next boot";
	} else if (in_use != NULL && in_use(lockdir)) {
		/* empty, yet containers bind-mount it: its filesystem was
		 * unmounted under them, and they hold it still */
		*how = "not a mount of its own, empty, yet running containers bind-mount "
		       "directories of it (was its tmpfs unmounted under them?): not covered; "
		       "their apps count as locked until their containers are recreated";
	} else if (mount("balena-compose-locks", lockdir, "tmpfs", MS_NODEV | MS_NOSUID | MS_NOEXEC,
			 BC_LOCK_ROOT_MOUNT_OPTS) < 0) {
		*how = errno == EPERM ? "not a mount of its own: mounting one is not allowed here"
				      : "not a mount of its own: mounting one failed";
	} else {
		*how = "a tmpfs mounted for it (" BC_LOCK_ROOT_MOUNT_OPTS ",nodev,nosuid,noexec)";
	}
	rc = bc_dir_secure(lockdir, -1, err); /* what is there now: the mount's root too */
out:
	if (dfd >= 0)
		close(dfd);
	close(g); /* drops the flock */
	return rc;
}

/* A lock directory is the app's to write: whatever is at a lock's name may
 * be a FIFO (an open would hang), a device node (an open by root reaches a
 * host device), a symlink (to anything), a directory. So nothing there is
 * followed, and nothing is opened for reading unless it is a regular file:
 * it is first opened O_PATH (no open of the object itself), checked, and
 * only then opened again through that very fd, non-blocking. */

/* Is anything at path (a dangling symlink counts)? */
static bool
present(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Is the file at path one of ours? *lease gets its lease. */
static bool
ours(const char *path, uint64_t *lease)
{
	char buf[512], proc[64];
	struct stat st;
	ssize_t n;
	int pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC), fd;
	json_t *j;
	bool r = false;

	if (pfd < 0)
		return false;
	if (fstat(pfd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size >= (off_t)sizeof(buf)) {
		close(pfd);
		return false;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	close(pfd);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return false;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	j = json_loads(buf, 0, NULL);
	if (j != NULL && json_is_string(json_object_get(j, "owner")) &&
	    strcmp(json_string_value(json_object_get(j, "owner")), BC_LOCK_OWNER) == 0 &&
	    json_is_integer(json_object_get(j, "lease"))) {
		*lease = (uint64_t)json_integer_value(json_object_get(j, "lease"));
		r = true;
	}
	json_decref(j);
	return r;
}

#define RM_MAX_DEPTH 16
#define RM_MAX_ENTRIES 10000

/* Remove name in dirfd whatever it is, as the supervisor does with an
 * app's lock under --force: a file, FIFO, device node or symlink is
 * unlinked (never followed), a directory removed with what is in it, walked
 * by fd with O_NOFOLLOW so that a symlink swapped in meanwhile leads
 * nowhere. Bounded: an app cannot make us walk for ever. */
static int
rm_at(int at, const char *name, int depth, size_t *budget)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int fd, rc = 0;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(at, name, 0) < 0 && errno != ENOENT ? -1 : 0;
	if (depth >= RM_MAX_DEPTH)
		return -1;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((*budget)-- == 0) {
			errno = E2BIG;
			rc = -1;
			break;
		}
		rc = rm_at(dirfd(d), e->d_name, depth + 1, budget);
	}
	closedir(d);
	if (rc == 0 && unlinkat(at, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

static int
remove_any(const char *dir, const char *name, bc_err *err)
{
	size_t budget = RM_MAX_ENTRIES;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rc;

	if (dfd < 0)
		return bc_err_sys(err, "open '%s'", dir);
	rc = rm_at(dfd, name, 0, &budget);
	if (rc < 0)
		bc_err_sys(err, "remove the app's '%s/%s'", dir, name);
	close(dfd);
	return rc;
}

int
bc_lock_holder(const char *dir, uint64_t *lease)
{
	char path[1100];
	int who = 0;

	for (int i = 0; i < 2; i++) {
		uint64_t l;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (!present(path))
			continue;
		if (!ours(path, &l))
			return 1; /* anything else there is the app's: it holds it */
		who = 2;
		if (lease)
			*lease = l;
	}
	return who;
}

static const char *
boot_id(char *out, size_t n)
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t r = fd >= 0 ? read(fd, out, n - 1) : -1;

	if (fd >= 0)
		close(fd);
	out[r > 0 ? (size_t)r : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return out;
}

int
bc_lock_take(const char *lockdir, int64_t app_id, const bc_strv *services, uint64_t lease,
	     bool force, const char **held, bc_err *err)
{
	char dir[1024], path[1100], boot[64], *rec;
	json_t *owner;
	size_t made_n = 0;
	char(*made)[1100] = calloc(services->n * 2 + 1, sizeof(*made));
	int rc = 0;

	if (made == NULL)
		return bc_err_sys(err, "lock");
	owner = json_pack("{s:s, s:I, s:i, s:s, s:I}", "owner", BC_LOCK_OWNER, "lease",
			  (json_int_t)lease, "pid", (int)getpid(), "boot",
			  boot_id(boot, sizeof(boot)), "time", (json_int_t)time(NULL));
	rec = json_dumps(owner, JSON_COMPACT);
	json_decref(owner);
	for (size_t s = 0; s < services->n && rc == 0; s++) {
		if (bc_lock_dir(dir, sizeof(dir), lockdir, app_id, services->v[s]) < 0) {
			rc = bc_err_set(err, BC_ETOOBIG, "lock directory for '%s': path too long",
					services->v[s]);
			break;
		}
		if (bc_mkdirs(dir, 0755, err) < 0) {
			rc = bc_err_wrap(err, "lock directory for '%s'", services->v[s]);
			break;
		}
		for (int i = 0; i < 2 && rc == 0; i++) {
			uint64_t l;
			int fd;
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			if (force && present(path) && !(ours(path, &l) && l == lease) &&
			    remove_any(dir, names[i], err) < 0) { /* override: the app's lock goes */
				rc = -1;
				break;
			}
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
			if (fd >= 0) {
				bool w = write(fd, rec, strlen(rec)) == (ssize_t)strlen(rec);
				close(fd);
				strcpy(made[made_n++], path);
				if (!w)
					rc = bc_err_sys(err, "write '%s'", path);
			} else if (errno == EEXIST) {
				bool mine = ours(path, &l);
				if (mine && l == lease)
					continue; /* already ours under this lease */
				if (held)
					*held = services->v[s];
				rc = mine ? 2 : 1; /* another lease of ours, or the app's */
			} else {
				rc = bc_err_sys(err, "create '%s'", path);
			}
		}
	}
	if (rc != 0) /* all or nothing */
		for (size_t i = 0; i < made_n; i++)
			unlink(made[i]);
	free(made);
	free(rec);
	return rc;
}

int
bc_lock_release(const char *lockdir, int64_t app_id, const bc_strv *services, uint64_t lease,
		bc_err *err)
{
	char dir[1024], path[1100];

	for (size_t s = 0; s < services->n; s++) {
		if (bc_lock_dir(dir, sizeof(dir), lockdir, app_id, services->v[s]) < 0)
			return bc_err_set(err, BC_ETOOBIG, "lock directory too long");
		for (int i = 0; i < 2; i++) {
			uint64_t l;
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			if (ours(path, &l) && (lease == 0 || l == lease) && unlink(path) < 0 &&
			    errno != ENOENT)
				return bc_err_sys(err, "remove '%s'", path);
		}
	}
	return 0;
}

int
bc_lock_each(const char *lockdir,
	     void (*fn)(void *ud, int64_t app_id, const char *service, const char *dir), void *ud,
	     bc_err *err)
{
	DIR *top = opendir(lockdir), *app;
	struct dirent *a, *s;
	char p1[1024], p2[1300];

	if (top == NULL)
		return errno == ENOENT ? 0 : bc_err_sys(err, "open '%s'", lockdir);
	while ((a = readdir(top)) != NULL) {
		if (a->d_name[0] == '.')
			continue;
		snprintf(p1, sizeof(p1), "%s/%s", lockdir, a->d_name);
		if ((app = opendir(p1)) == NULL)
			continue;
		while ((s = readdir(app)) != NULL) {
			if (s->d_name[0] == '.')
				continue;
			snprintf(p2, sizeof(p2), "%s/%s", p1, s->d_name);
			fn(ud, strtoll(a->d_name, NULL, 10), s->d_name, p2);
		}
		closedir(app);
	}
	closedir(top);
	return 0;
}

struct sweep {
	bool (*keep)(void *ud, uint64_t lease);
	void *ud;
	int removed;
};

static void
sweep_one(void *ud, int64_t app_id, const char *service, const char *dir)
{
	struct sweep *sw = ud;
	char path[1400];

	(void)app_id, (void)service;
	for (int i = 0; i < 2; i++) {
		uint64_t l;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (ours(path, &l) && !(sw->keep && sw->keep(sw->ud, l)) && unlink(path) == 0)
			sw->removed++;
	}
}

int
bc_lock_sweep(const char *lockdir, bool (*keep)(void *ud, uint64_t lease), void *ud, bc_err *err)
{
	struct sweep sw = {keep, ud, 0};

	if (bc_lock_each(lockdir, sweep_one, &sw, err) < 0)
		return -1;
	return sw.removed;
}

int
bc_lock_prune(const char *lockdir, bool (*keep)(void *ud, int64_t app_id, const char *service),
	      void *ud, bc_err *err)
{
	int top = open(lockdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), removed = 0;
	DIR *t;
	struct dirent *a;

	if (top < 0)
		return errno == ENOENT ? 0 : bc_err_sys(err, "open '%s'", lockdir);
	if ((t = fdopendir(top)) == NULL) {
		close(top);
		return bc_err_sys(err, "open '%s'", lockdir);
	}
	while ((a = readdir(t)) != NULL) {
		int64_t app_id;
		int afd;
		DIR *ad;
		struct dirent *e;
		bool left = false;

		if (a->d_name[0] == '.' || strspn(a->d_name, "0123456789") != strlen(a->d_name) ||
		    strlen(a->d_name) > 18)
			continue;
		app_id = strtoll(a->d_name, NULL, 10);
		afd = openat(dirfd(t), a->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (afd < 0)
			continue;
		if ((ad = fdopendir(afd)) == NULL) {
			close(afd);
			continue;
		}
		while ((e = readdir(ad)) != NULL) {
			size_t budget = RM_MAX_ENTRIES;
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			if (keep(ud, app_id, e->d_name) || rm_at(dirfd(ad), e->d_name, 0, &budget) < 0)
				left = true;
			else
				removed++;
		}
		closedir(ad);
		if (!left && !keep(ud, app_id, NULL) && unlinkat(dirfd(t), a->d_name, AT_REMOVEDIR) == 0)
			removed++;
	}
	closedir(t);
	return removed;
}
