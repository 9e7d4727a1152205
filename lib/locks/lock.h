/* Update locks as files, the way apps and the balena Supervisor see them:
 * a service's lock directory <lockdir>/<appId>/<service>/ is bind-mounted
 * into its containers at /tmp/balena and /tmp/resin; the service is locked
 * while updates.lock or resin-updates.lock exists there.
 *
 * The locker takes a service's lock by creating both files with O_EXCL,
 * writing its owner record in them ({"owner": "balena-compose", "lease",
 * "pid", "boot", "time"}), so that an app cannot take the lock mid-update
 * and a leftover of ours is recognisable as ours and never as an app's. */
#ifndef BC_LOCK_H
#define BC_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/model/model.h"

#define BC_LOCK_OWNER "balena-compose"

/* The lock root's own small filesystem: an app cannot fill the host's disk
 * or its inodes through its lock directory, nor leave a device node or a
 * setuid program there for anyone. */
#define BC_LOCK_ROOT_MOUNT_OPTS "size=8m,nr_inodes=16384,mode=0755"

/* Make the lock root safe before any lock directory is made in it. Both
 * the locker and the reconciler call this at start; guard is a file (in
 * the run directory) whose flock serialises them. The root is made and
 * checked (bc_dir_secure: no other user can redirect it); then, if it is
 * not a mount of its own yet, is empty and not in use (in_use, asked only
 * then, may be NULL: do running containers bind-mount directories of it?
 * lib/locks/mounts.h), a tmpfs is mounted on it (BC_LOCK_ROOT_MOUNT_OPTS,
 * nodev, nosuid, noexec). Otherwise it is left
 * as it is: a mount would hide the lock directories running containers
 * have. Not being allowed to mount is not an error. *how says what was
 * found or done (a static string, for the log). Returns 0, or -1 with err
 * naming the path and what is wrong. */
int bc_lock_root_prepare(const char *lockdir, const char *guard,
			 bool (*in_use)(const char *lockdir), const char **how, bc_err *err);

/* "<lockdir>/<appId>/<service>" into out. */
int bc_lock_dir(char *out, size_t n, const char *lockdir, int64_t app_id, const char *service);

/* Who holds a service's lock: 0 nobody, 1 the app, 2 us (*lease then says
 * which lease). */
int bc_lock_holder(const char *dir, uint64_t *lease);

/* Take the locks of these services for lease. force: remove the app's
 * lockfiles first. If an app holds one (and not force), nothing is taken
 * (what this call created is undone), *held names the first service held
 * (a pointer into services), and 1 is returned; 2 the same when that
 * service's lock is ours under another lease (bc_lock_holder says which):
 * never the app's. 0 taken, -1 error. A service already held by the same
 * lease counts as taken. */
int bc_lock_take(const char *lockdir, int64_t app_id, const bc_strv *services, uint64_t lease,
		 bool force, const char **held, bc_err *err);

/* Remove our lockfiles of these services that carry lease (lease 0: any of
 * ours). The app's files are never touched. */
int bc_lock_release(const char *lockdir, int64_t app_id, const bc_strv *services, uint64_t lease,
		    bc_err *err);

/* Call fn for every service directory <lockdir>/<app>/<service>/. A
 * missing lockdir has none. */
int bc_lock_each(const char *lockdir,
		 void (*fn)(void *ud, int64_t app_id, const char *service, const char *dir),
		 void *ud, bc_err *err);

/* Walk <lockdir>/<app>/<service>/ and remove every lockfile of ours whose
 * lease keep() does not vouch for. Returns how many were removed. */
int bc_lock_sweep(const char *lockdir, bool (*keep)(void *ud, uint64_t lease), void *ud,
		  bc_err *err);

/* Remove what keep() does not vouch for: each <lockdir>/<app>/<service>
 * entry with keep(ud, app, service) false (whatever the app left in it:
 * walked by fd, never followed, bounded), then each app directory left
 * empty with keep(ud, app, NULL) false. For the lock directories of
 * services gone from both the target and Docker: no container is left
 * that could let go of a lock there, and an app's services would
 * otherwise pile up for ever. Returns how many entries went, or -1. */
int bc_lock_prune(const char *lockdir, bool (*keep)(void *ud, int64_t app_id, const char *service),
		  void *ud, bc_err *err);

#endif
