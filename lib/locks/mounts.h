/* Update-lock mounts as Docker and the kernel show them. A container's
 * lock directory is a bind mount of <lockdir>/<appId>/<service>, resolved
 * when the container starts: if the lock root's filesystem is unmounted
 * and another put in its place while the container runs, the container
 * keeps the old one and its updates.lock is one the agent cannot see. So
 * the lock root is never covered while running containers bind-mount it,
 * and a container whose lock mount is not on the lock root the agent sees
 * counts as holding its lock.
 *
 * Pure: the callers bring Docker's list and a process's mountinfo. */
#ifndef BC_MOUNTS_H
#define BC_MOUNTS_H

#include <jansson.h>
#include <stddef.h>

/* How many of containers (Docker's container list) bind-mount a directory
 * under lockdir. */
size_t bc_lock_root_users(const json_t *containers, const char *lockdir);

/* In mountinfo (the text of /proc/PID/mountinfo, len bytes), the mount at
 * mountpoint (the one on top, when several are): its device ("MAJ:MIN")
 * into dev and its root (the path within its filesystem, as the kernel
 * escapes it) into root. 0, or -1 when there is none. */
int bc_mountinfo_find(const char *mountinfo, size_t len, const char *mountpoint, char *dev,
		      size_t ndev, char *root, size_t nroot);

#endif
