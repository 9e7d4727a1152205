/* The locker's watches, their decisions apart from its loop: what each
 * inotify descriptor looks at (the lock root, an app's directory, a
 * service's), and what an event under one means: a new directory to
 * watch, an app's lockfile that came or went (publish it), a directory
 * gone (forget its watch). Pure: no I/O (inotify and the directories are
 * services/locker's); the event masks are inotify's. */
#ifndef BC_CORE_LOCKER_H
#define BC_CORE_LOCKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bc_lockwatch {
	int wd;
	int depth; /* 0 the lock root, 1 an app's directory, 2 a service's */
	int64_t app_id;
	char name[64]; /* the service's (depth 2), the app's id (1) */
	char path[1024];
} bc_lockwatch;

/* Zeroed: empty. Free with bc_lockwatches_free. */
typedef struct bc_lockwatches {
	bc_lockwatch *v; /* owned */
	size_t n, cap;
} bc_lockwatches;

void bc_lockwatches_free(bc_lockwatches *t);

/* wd looks at path (depth, app, name): 1 when wd was known already
 * (nothing changes), 0 added, -1 out of memory. */
int bc_lockwatches_add(bc_lockwatches *t, int wd, int depth, int64_t app_id, const char *name,
		       const char *path);

enum bc_lw_action {
	BC_LW_NOTHING,
	BC_LW_WATCH,	 /* watch e.path (e.depth, e.app_id, e.name), and what is below */
	BC_LW_PUBLISH,	 /* app e.app_id's service e.name: its lockfile came or went
			    (its directory: e.path) */
	BC_LW_FORGOTTEN, /* the directory of wd went: its entry is gone */
};

typedef struct bc_lw_effect {
	enum bc_lw_action action;
	int depth;
	int64_t app_id;
	char name[64];
	char path[1100];
} bc_lw_effect;

/* One inotify event (wd, mask, the name under it: may be empty). */
bc_lw_effect bc_lockwatches_event(bc_lockwatches *t, int wd, uint32_t mask, const char *name);

/* The app a directory named name at depth (1: an app's, named by its id;
 * 2: a service's, of parent_app) belongs to. */
int64_t bc_lockwatch_app(int depth, int64_t parent_app, const char *name);

#endif
