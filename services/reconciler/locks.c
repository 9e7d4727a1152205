/* The reconciler and update locks: the locker holds the files, we hold
 * leases. Before anything destructive the planner asks for a TAKE_LOCK
 * (lib/plan/planner.c); while an app holds its own lock nothing of it
 * moves; a LOCK_EVENT from the locker wakes us (events.c) the moment an
 * app lets go. The calls to the locker are made by the round, on the
 * pool; the loop keeps the leases' file. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/base/clock.h"
#include "lib/base/fsutil.h"
#include "lib/ipc/client.h"
#include "lib/base/log.h"
#include "lib/locks/mounts.h"
#include "proto/ipc.h"
#include "rec.h"

#define LOCK_CALL_MS 10000

bool
rec_in_scope(const struct rec *r, int64_t app)
{
	return bc_settings_in_scope(&r->d->settings, app);
}

/* Our leases are kept on disk: a reconciler killed while it held an app's
 * locks renews them when it comes back, instead of waiting for them to
 * expire. The loop keeps the file ({"<app id>": lease, ...}); a round
 * posts its changes there. */
void
rec_load_leases(struct rec *r)
{
	json_t *l = bc_read_json(r->leasefile, 0, 1 << 20, NULL);
	const char *k;
	json_t *v;

	json_object_foreach(l, k, v)
	{
		char *end;
		long long app = strtoll(k, &end, 10);
		if (*end == '\0' && app > 0 && json_is_integer(v) && json_integer_value(v) > 0 &&
		    bc_held_set(&r->leases, app, (uint64_t)json_integer_value(v)) < 0)
			break;
	}
	json_decref(l);
}

void
rec_lease_set(struct rec *r, int64_t app_id, uint64_t lease)
{
	json_t *doc = json_object();
	bc_err err = {0};
	size_t i = 0;
	int64_t a;
	uint64_t l;

	if (bc_held_set(&r->leases, app_id, lease) < 0)
		log_warnx("app %lld: more than %d apps hold leases; this one is not kept",
			  (long long)app_id, BC_HELD_MAX);
	while (doc != NULL && bc_held_next(&r->leases, &i, &a, &l)) {
		char key[32];
		snprintf(key, sizeof(key), "%lld", (long long)a);
		json_object_set_new(doc, key, json_integer((json_int_t)l));
	}
	if (doc == NULL || bc_write_json_atomic(r->leasefile, doc, 0600, &err) < 0)
		log_warnx("keep our lock leases: %s", doc ? err.msg : "out of memory");
	json_decref(doc);
}

struct lease_change {
	struct rec *r;
	int64_t app_id;
	uint64_t lease;
};

static void
lease_changed(void *ud)
{
	struct lease_change *c = ud;
	rec_lease_set(c->r, c->app_id, c->lease);
	free(c);
}

/* The round's table changes now; the loop's (and the file) right after. */
static void
round_lease(struct round *rd, int64_t app_id, uint64_t lease)
{
	struct lease_change *c = calloc(1, sizeof(*c));

	if (bc_held_set(&rd->leases, app_id, lease) < 0)
		log_warnx("app %lld: more than %d apps hold leases", (long long)app_id,
			  BC_HELD_MAX);
	if (c == NULL) {
		log_warnx("keep our lock leases: out of memory");
		return;
	}
	*c = (struct lease_change){.r = rd->r, .app_id = app_id, .lease = lease};
	if (bc_pool_post(rd->r->pool, lease_changed, c) < 0) {
		log_warnx("keep our lock leases: out of memory");
		free(c);
	}
}

/* Renew each lease with the locker; those it refused go into lost, and
 * with unreachable_is_lost those it could not be asked about too. Blocks:
 * a pool job's. */
static void
renew(const bc_held *leases, bc_held *lost, bool unreachable_is_lost)
{
	size_t i = 0;
	int64_t app;
	uint64_t lease;

	while (bc_held_next(leases, &i, &app, &lease)) {
		bc_msg t = {.type = BC_MSG_LOCK_TAKE}, tr = {.type = BC_MSG_NONE};
		bc_err err = {0};
		t.body.lock_take.app_id = app;
		/* a renewal (no services): the lease keeps its own */
		t.body.lock_take.lease = lease;
		if (bc_call("locker", &t, &tr, LOCK_CALL_MS, &err) < 0) {
			if (unreachable_is_lost)
				bc_held_set(lost, app, lease);
			log_warnx("renew the lease of app %lld: %s", (long long)app, err.msg);
		} else if (tr.type != BC_MSG_LOCK_GRANTED) {
			bc_held_set(lost, app, lease);
		}
		if (tr.type != BC_MSG_NONE)
			bc_msg_clear(&tr);
	}
}

void
rec_locks_refresh(struct round *rd)
{
	bc_msg req = {.type = BC_MSG_LOCK_STATUS}, rep = {.type = BC_MSG_NONE};
	bc_held *leases = malloc(sizeof(*leases)), *lost = calloc(1, sizeof(*lost));
	bc_err err = {0};
	uint64_t t0 = bc_mono_ms(), lease;
	int64_t app;
	size_t i = 0;

	rd->n_app_locks = 0;
	if (bc_call("locker", &req, &rep, LOCK_CALL_MS, &err) < 0)
		log_warnx("the apps' update locks: %s", err.msg);
	else if (bc_mono_ms() - t0 > 1000)
		log_warnx("the apps' update locks: the locker took %llu ms to answer",
			  (unsigned long long)(bc_mono_ms() - t0));
	if (err.code == 0 && rep.type == BC_MSG_LOCK_INFO) {
		for (size_t k = 0; k < rep.body.lock_info.locks.n; k++) {
			const bc_lock_rec *l = &rep.body.lock_info.locks.v[k];
			bool seen = false;
			if (l->holder != BC_HOLDER_APP || !rec_in_scope(rd->r, l->app_id))
				continue;
			for (size_t j = 0; j < rd->n_app_locks && !seen; j++)
				seen = rd->app_locks[j].app_id == l->app_id;
			if (seen || rd->n_app_locks == BC_STATE_MAX_APPS)
				continue;
			rd->app_locks[rd->n_app_locks].app_id = l->app_id;
			snprintf(rd->app_locks[rd->n_app_locks].service,
				 sizeof(rd->app_locks[0].service), "%s", l->service);
			rd->n_app_locks++;
		}
	}
	if (rep.type != BC_MSG_NONE)
		bc_msg_clear(&rep);
	if (leases == NULL || lost == NULL) {
		log_warnx("renew our leases: out of memory");
		free(leases);
		free(lost);
		return;
	}
	/* renew ours; one not renewed is dropped (the planner takes it again) */
	bc_held_copy(leases, &rd->leases);
	renew(leases, lost, true);
	while (bc_held_next(lost, &i, &app, &lease))
		round_lease(rd, app, 0);
	free(leases);
	free(lost);
}

int
rec_lock_facts(struct round *rd, bc_app_facts **facts, size_t *n)
{
	size_t cap = bc_held_count(&rd->leases) + rd->n_app_locks, i = 0;
	int64_t app;
	uint64_t lease;

	*n = 0;
	if ((*facts = calloc(cap + 1, sizeof(**facts))) == NULL)
		return -1;
	while (bc_held_next(&rd->leases, &i, &app, &lease) && *n < cap)
		(*facts)[(*n)++] = (bc_app_facts){.app_id = app, .locks_held = true};
	for (size_t k = 0; k < rd->n_app_locks && !rd->force_now; k++) {
		/* up --force, or the device config: the apps' locks are passed */
		bc_app_facts *f = NULL;
		for (size_t j = 0; j < *n && f == NULL; j++)
			if ((*facts)[j].app_id == rd->app_locks[k].app_id)
				f = &(*facts)[j];
		if (f == NULL)
			f = &(*facts)[(*n)++];
		f->app_id = rd->app_locks[k].app_id;
		f->app_lock = rd->app_locks[k].service;
	}
	return 0;
}

/* Every service of the app: the target's and those with a lock directory
 * (services on their way out), into out. */
static void
services_of(struct rec *r, const bc_app *app, bc_strs *out)
{
	char dir[1024];
	DIR *d;
	struct dirent *e;

	for (size_t i = 0; i < app->n_services; i++)
		bc_strs_add(out, app->services[i].name);
	snprintf(dir, sizeof(dir), "%s/%lld", r->lockdir, (long long)app->app_id);
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.' && !bc_strs_has(out, e->d_name))
				bc_strs_add(out, e->d_name);
		closedir(d);
	}
	if (out->n == 0)
		bc_strs_add(out, "_");
}

/* /proc/PID/mountinfo of a container's process into buf (n bytes, the
 * kernel's text, not the container's): its length, or -1. */
static ssize_t
read_mountinfo(long pid, char *buf, size_t n)
{
	char path[64];
	size_t len = 0;
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/mountinfo", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while (len < n && (got = read(fd, buf + len, n - len)) > 0)
		len += (size_t)got;
	close(fd);
	return (ssize_t)len;
}

/* Is each running container's lock directory (its mount at /tmp/balena)
 * on the lock root we see? One that kept an old lock root (its tmpfs was
 * unmounted and another put in its place while it ran) has an updates.lock
 * we cannot see: its app counts as locked, never as unlocked. 0 when all
 * are (or none has a lock mount), -1 with err (BC_ELOCKED) naming the
 * first that is not. Blocks: Docker and /proc. */
static int
lock_mounts_ours(struct rec *r, bc_docker *d, const bc_app *running, bc_err *err)
{
	static const size_t max = 1 << 20;
	struct stat st;
	char want[32], dev[32], root[1024], suffix[300];
	char *buf;
	int rc = 0;

	if (d == NULL || stat(r->lockdir, &st) < 0 || (buf = malloc(max)) == NULL)
		return 0;
	snprintf(want, sizeof(want), "%u:%u", major(st.st_dev), minor(st.st_dev));
	for (size_t i = 0; rc == 0 && i < running->n_services; i++) {
		const bc_service *s = &running->services[i];
		json_t *ins;
		long pid;
		ssize_t len;
		size_t sl;
		if (!s->running || s->container_id == NULL ||
		    (ins = bc_docker_container_inspect(d, s->container_id, NULL)) == NULL)
			continue;
		pid =
		    (long)json_integer_value(json_object_get(json_object_get(ins, "State"), "Pid"));
		json_decref(ins);
		if (pid <= 0 || (len = read_mountinfo(pid, buf, max)) < 0 ||
		    bc_mountinfo_find(buf, (size_t)len, "/tmp/balena", dev, sizeof(dev), root,
				      sizeof(root)) < 0)
			continue; /* gone meanwhile, or no lock directory of ours */
		snprintf(suffix, sizeof(suffix), "/%lld/%s", (long long)running->app_id, s->name);
		sl = strlen(suffix);
		if (strcmp(dev, want) == 0 && strlen(root) >= sl &&
		    strcmp(root + strlen(root) - sl, suffix) == 0)
			continue;
		rc = bc_err_set(err, BC_ELOCKED,
				"service '%s' (container %.12s): its lock directory is not on the "
				"lock root the agent sees (%s; was its filesystem unmounted while "
				"the container ran?): its update lock cannot be read, so it counts "
				"as held (up --force updates anyway)",
				s->name, s->container_id, r->lockdir);
		if (err != NULL)
			err->code = BC_ELOCKED;
	}
	free(buf);
	return rc;
}

int
rec_lock(void *ud, bc_docker *d, const bc_app *app, const bc_app *running, bool take, bc_err *err)
{
	struct round *rd = ud;
	bc_msg req = {.type = take ? BC_MSG_LOCK_TAKE : BC_MSG_LOCK_RELEASE},
	       rep = {.type = BC_MSG_NONE};
	int rc = 0;

	if (take && !rd->force_now && running != NULL &&
	    lock_mounts_ours(rd->r, d, running, err) < 0)
		return -1;
	if (take) {
		req.body.lock_take.app_id = app->app_id;
		req.body.lock_take.force = rd->force_now;
		services_of(rd->r, app, &req.body.lock_take.services);
	} else {
		req.body.lock_release.lease = bc_held_get(&rd->leases, app->app_id);
	}
	if (bc_call("locker", &req, &rep, LOCK_CALL_MS, err) < 0) {
		rc = bc_err_wrap(err, "update locks of app %lld", (long long)app->app_id);
	} else if (rep.type == BC_MSG_LOCK_GRANTED) {
		round_lease(rd, app->app_id, rep.body.lock_granted.lease);
	} else if (rep.type == BC_MSG_LOCK_HELD) {
		rc = bc_err_set(err, BC_ELOCKED, "locked by the app (service '%s')",
				rep.body.lock_held.service);
		if (err)
			err->code = BC_ELOCKED;
	} else if (rep.type == BC_MSG_ERROR && take) {
		rc = bc_err_set(err, BC_ESYS, "update locks of app %lld: %s",
				(long long)app->app_id, rep.body.error.message);
	} else if (!take) {
		round_lease(rd, app->app_id, 0); /* released, or the lease was gone anyway */
	}
	if (take)
		bc_strs_free(&req.body.lock_take.services);
	if (rep.type != BC_MSG_NONE)
		bc_msg_clear(&rep);
	return rc;
}

int
rec_guard(void *ud, const bc_app *app, bc_err *err)
{
	struct round *rd = ud;

	/* not a failure of the app: it waits, as for a lock the app holds,
	 * and the next round takes the lock again (or finds the app's) */
	if (bc_held_is_lost(&rd->leases, app->app_id)) {
		bc_err_set(err, BC_ELOCKED,
			   "app %lld: our update lock lease ran out mid-update; stopping before "
			   "this step (the lock is taken again first)",
			   (long long)app->app_id);
		if (err != NULL)
			err->code = BC_ELOCKED;
		return -1;
	}
	return 0;
}

/* One renewal of every lease, on the pool. */
struct renewal {
	struct rec *r;
	bc_held leases; /* a copy of r->leases */
	bc_held lost;	/* what the locker no longer knows */
};

static void
renew_work(void *ud)
{
	struct renewal *rn = ud;
	/* the locker away: it removes nothing meanwhile either */
	renew(&rn->leases, &rn->lost, false);
}

static void
renew_done(void *ud, bool ran)
{
	struct renewal *rn = ud;
	struct rec *r = rn->r;
	size_t i = 0;
	int64_t app;
	uint64_t lease;

	r->renewing = false;
	r->renew_at = bc_mono_ms() + r->lock_ttl_ms / 3;
	while (ran && bc_held_next(&rn->lost, &i, &app, &lease)) {
		if (bc_held_get(&r->leases, app) != lease)
			continue; /* released or taken anew meanwhile */
		log_warnx("app %lld: our update lock lease ran out", (long long)app);
		rec_lease_set(r, app, 0);
		if (r->round != NULL) /* the round stops before its next step of it */
			bc_held_mark_lost(&r->round->leases, app, lease);
	}
	free(rn);
}

static uint64_t
renew_due(void *ud)
{
	struct rec *r = ud;
	return r->renewing || bc_held_count(&r->leases) == 0 ? UINT64_MAX : r->renew_at;
}

static void
renew_fire(void *ud)
{
	struct rec *r = ud;
	struct renewal *rn = calloc(1, sizeof(*rn));
	bc_err err = {0};

	r->renew_at = bc_mono_ms() + r->lock_ttl_ms / 3;
	if (rn == NULL)
		return;
	rn->r = r;
	bc_held_copy(&rn->leases, &r->leases);
	if (bc_pool_submit(r->pool, renew_work, renew_done, rn, &err) < 0) {
		log_warnx("renew our leases: %s", err.msg[0] ? err.msg : "out of memory");
		free(rn);
		return;
	}
	r->renewing = true;
}

int
rec_renewals_start(struct rec *r, bc_err *err)
{
	return bc_daemon_timer(r->d, renew_due, renew_fire, r, err);
}
