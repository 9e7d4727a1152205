/* The locker's own state: leases, shared by the request loop (main.c) and
 * the watcher thread (watch.c: inotify on the lock directories, lease
 * expiry) under one mutex. */
#ifndef BC_LOCKER_H
#define BC_LOCKER_H

#include <pthread.h>

#include "lib/ipc/daemon.h"
#include "lib/locks/leases.h"
#include "lib/locks/lock.h"

struct wentry;

struct locker {
	pthread_mutex_t mu;
	bc_leases leases; /* lib/locks/leases.h */
	bool stopping;
	/* set once at start */
	char lockdir[512];
	uint64_t ttl_ms;
	int wake[2]; /* a pipe: tells the watcher the leases changed */
	int inotify;
	nng_socket pub;
	pthread_t th;
	/* the watcher thread's own: what each inotify descriptor looks at */
	struct wentry *watches;
	size_t nwatches, capwatches;
};

/* watch.c */
int locker_start_watch(struct locker *l, bc_err *err);
void locker_stop_watch(struct locker *l);
void locker_wake(struct locker *l);
/* Under mu: end a lease (its files go) and free its slot. */
void locker_end_lease(struct locker *l, bc_lease *ls);

#endif
