/* The locker's watches, on the daemon's loop: inotify on every lock
 * directory (publishing a LOCK_EVENT the moment an app's lockfile comes or
 * goes, no polling) and the end of leases not renewed in time. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/fsutil.h"
#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "proto/ipc.h"
#include "locker.h"

#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE)

static void
publish(struct locker *l, int64_t app, const char *service, const char *dir)
{
	bc_msg m = {.type = BC_MSG_LOCK_EVENT};
	int who = bc_lock_holder(dir, NULL);

	m.body.lock_event.app_id = app;
	m.body.lock_event.service = (char *)service;
	m.body.lock_event.holder = who; /* bc_lock_holder's numbers are the wire's */
	bc_send(l->pub, &m, NULL);
}

static void
add_watch(struct locker *l, const char *path, int depth, int64_t app, const char *name)
{
	int wd = inotify_add_watch(l->inotify, path, WATCH_MASK | IN_ONLYDIR);

	if (wd < 0 || bc_lockwatches_add(&l->watches, wd, depth, app, name, path) != 0)
		return; /* already watched, or out of memory */
	/* what is already there below it */
	if (depth < 2) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			char sub[1100];
			if (e->d_name[0] == '.')
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			add_watch(l, sub, depth + 1, bc_lockwatch_app(depth + 1, app, e->d_name),
				  e->d_name);
		}
		if (d)
			closedir(d);
	}
}

static void
on_events(struct locker *l)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(l->inotify, buf, sizeof(buf));

	for (char *p = buf; n > 0 && p < buf + n;) {
		struct inotify_event *ev = (struct inotify_event *)p;
		bc_lw_effect e;
		p += sizeof(*ev) + ev->len;
		e = bc_lockwatches_event(&l->watches, ev->wd, ev->mask, ev->len ? ev->name : "");
		if (e.action == BC_LW_WATCH)
			add_watch(l, e.path, e.depth, e.app_id, e.name);
		else if (e.action == BC_LW_PUBLISH)
			publish(l, e.app_id, e.name, e.path);
	}
}

void
locker_end_lease(struct locker *l, bc_lease *ls)
{
	bc_err err = {0};

	if (bc_lock_release(l->lockdir, ls->app_id, &ls->services, ls->id, &err) < 0)
		log_warnx("lease %llu: %s", (unsigned long long)ls->id, err.msg);
	bc_leases_clear(ls);
}

/* inotify said something changed under the lock directory */
static void
on_inotify(void *ud, short revents)
{
	(void)revents;
	on_events(ud);
}

/* The loop's timer: the earliest end of a live lease. */
static uint64_t
lease_due(void *ud)
{
	struct locker *l = ud;
	uint64_t next;
	bc_lease *due = bc_leases_expired(&l->leases, bc_mono_ms(), &next);

	return due != NULL ? 0 : next;
}

static void
expire(void *ud)
{
	struct locker *l = ud;

	for (bc_lease *ls; (ls = bc_leases_expired(&l->leases, bc_mono_ms(), NULL)) != NULL;) {
		log_warnx("lease %llu of app %lld was not renewed: released",
			  (unsigned long long)ls->id, (long long)ls->app_id);
		locker_end_lease(l, ls);
	}
}

int
locker_start_watch(struct locker *l, struct bc_daemon *d, bc_err *err)
{
	if (bc_mkdirs(l->lockdir, 0755, err) < 0)
		return bc_err_wrap(err, "lock directory");
	if ((l->inotify = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0)
		return bc_err_sys(err, "inotify");
	add_watch(l, l->lockdir, 0, 0, NULL);
	/* no thread of our own: the daemon's loop polls inotify and keeps the
	 * lease timer */
	if (bc_daemon_watch_fd(d, l->inotify, POLLIN, on_inotify, l, err) < 0 ||
	    bc_daemon_timer(d, lease_due, expire, l, err) < 0)
		return -1;
	return 0;
}

void
locker_stop_watch(struct locker *l)
{
	close(l->inotify);
	bc_lockwatches_free(&l->watches);
}
