#include "lib/core/locker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

void
bc_lockwatches_free(bc_lockwatches *t)
{
	free(t->v);
	*t = (bc_lockwatches){0};
}

static bc_lockwatch *
find(bc_lockwatches *t, int wd)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].wd == wd)
			return &t->v[i];
	return NULL;
}

int
bc_lockwatches_add(bc_lockwatches *t, int wd, int depth, int64_t app_id, const char *name,
		   const char *path)
{
	bc_lockwatch *w;

	if (find(t, wd) != NULL)
		return 1;
	if (t->n == t->cap) {
		size_t cap = t->cap * 2 + 16;
		bc_lockwatch *v = realloc(t->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		t->v = v;
		t->cap = cap;
	}
	w = &t->v[t->n++];
	w->wd = wd;
	w->depth = depth;
	w->app_id = app_id;
	snprintf(w->name, sizeof(w->name), "%s", name ? name : "");
	snprintf(w->path, sizeof(w->path), "%s", path);
	return 0;
}

int64_t
bc_lockwatch_app(int depth, int64_t parent_app, const char *name)
{
	return depth == 1 ? strtoll(name, NULL, 10) : parent_app;
}

bc_lw_effect
bc_lockwatches_event(bc_lockwatches *t, int wd, uint32_t mask, const char *name)
{
	bc_lw_effect e = {.action = BC_LW_NOTHING};
	bc_lockwatch *w = find(t, wd);

	if (w != NULL && (mask & IN_IGNORED)) {
		/* the directory went (a pruned lock dir): so does its entry */
		*w = t->v[--t->n];
		e.action = BC_LW_FORGOTTEN;
		return e;
	}
	if (w == NULL || name == NULL || name[0] == '\0')
		return e;
	if (w->depth < 2 && (mask & IN_CREATE) && (mask & IN_ISDIR)) {
		e.action = BC_LW_WATCH;
		e.depth = w->depth + 1;
		e.app_id = bc_lockwatch_app(e.depth, w->app_id, name);
		snprintf(e.name, sizeof(e.name), "%s", name);
		snprintf(e.path, sizeof(e.path), "%s/%s", w->path, name);
	} else if (w->depth == 2 &&
		   (strcmp(name, "updates.lock") == 0 || strcmp(name, "resin-updates.lock") == 0)) {
		e.action = BC_LW_PUBLISH;
		e.depth = 2;
		e.app_id = w->app_id;
		snprintf(e.name, sizeof(e.name), "%s", w->name);
		snprintf(e.path, sizeof(e.path), "%s", w->path);
	}
	return e;
}
