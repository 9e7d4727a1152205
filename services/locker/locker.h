/* The locker's own state: leases and watches. Everything runs on the
 * daemon's one loop (lib/ipc/daemon.h): requests (main.c), inotify and the
 * lease timer (watch.c). No thread of its own, no lock. */
#ifndef BC_LOCKER_H
#define BC_LOCKER_H

#include "lib/core/locker.h"
#include "lib/ipc/daemon.h"
#include "lib/locks/leases.h"
#include "lib/locks/lock.h"

struct locker {
	bc_leases leases; /* lib/locks/leases.h */
	/* set once at start */
	char lockdir[512];
	uint64_t ttl_ms;
	int inotify;
	nng_socket pub;
	/* what each inotify descriptor looks at (lib/core/locker.h) */
	bc_lockwatches watches;
};

/* watch.c */
int locker_start_watch(struct locker *l, struct bc_daemon *d, bc_err *err);
void locker_stop_watch(struct locker *l);
/* End a lease (its files go) and free its slot. */
void locker_end_lease(struct locker *l, bc_lease *ls);

#endif
