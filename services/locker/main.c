/* locker daemon: update locks that apps can trust and that never orphan.
 *
 * LOCK_TAKE takes the locks of an app's services for a lease (all or
 * nothing; LOCK_HELD names the service whose lock the app holds), or
 * renews a live lease. LOCK_RELEASE ends a lease. A lease not renewed
 * within BC_LOCK_TTL_MS (default 60 s) ends by itself. At start, lockfiles
 * of ours that no live lease holds (a previous run killed mid-update) are
 * removed; the app's are never touched. LOCK_EVENT on PUB says when a
 * service's lockfiles change (inotify). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/clock.h"
#include "../../lib/log.h"
#include "locker.h"

static int
services_of(const char *js, bc_strv *out, bc_err *err)
{
	json_t *a = json_loads(js, 0, NULL), *e;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > 256) {
		json_decref(a);
		return bc_err_set(err, BC_EINVAL, "services must be a JSON array of 1..256 names");
	}
	json_array_foreach(a, i, e)
	{
		const char *s = json_string_value(e);
		if (s == NULL || *s == '\0' || strchr(s, '/') || s[0] == '.' || strlen(s) > 63) {
			json_decref(a);
			bc_strv_free(out);
			return bc_err_set(err, BC_EINVAL, "'%s' is not a service name",
					  s ? s : "?");
		}
		bc_strv_add(out, s);
	}
	json_decref(a);
	return 0;
}

static int
take(struct locker *l, const bc_body_lock_take *req, bc_msg *rep, bc_err *err)
{
	bc_strv svcs = {0};
	const char *held = NULL;
	bc_lease *ls;
	uint64_t id, r;
	int rc;

	if (req->app_id <= 0)
		return bc_err_set(err, BC_EINVAL, "app_id must be positive");
	if (req->lease) {
		/* a renewal: the lease keeps its services, it only lives longer */
		pthread_mutex_lock(&l->mu);
		if ((ls = bc_leases_get(&l->leases, req->lease, req->app_id)) != NULL) {
			ls->expires = bc_mono_ms() + l->ttl_ms;
			rep->type = BC_MSG_LOCK_GRANTED;
			rep->body.lock_granted.lease = ls->id;
			rep->body.lock_granted.expires_ms = l->ttl_ms;
			locker_wake(l);
		}
		pthread_mutex_unlock(&l->mu);
		if (ls == NULL)
			return bc_err_set(
			    err, BC_ENOTFOUND,
			    "lease %llu is not live (expired, or the locker restarted): "
			    "take the locks again",
			    (unsigned long long)req->lease);
		return BC_HANDLED;
	}
	if (services_of(req->services, &svcs, err) < 0)
		return -1;
	/* random ids: a lease of a previous run is never taken for a live one */
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint64_t)getpid() << 20 ^ bc_mono_ms();
	id = bc_lease_id(r);
	pthread_mutex_lock(&l->mu);
	if ((ls = bc_leases_slot(&l->leases)) == NULL) {
		pthread_mutex_unlock(&l->mu);
		bc_strv_free(&svcs);
		return bc_err_set(err, BC_ETOOBIG, "%d leases are live", BC_LEASES_MAX);
	}
	rc = bc_lock_take(l->lockdir, req->app_id, &svcs, id, req->force, &held, err);
	if (rc == 0) {
		bc_leases_set(ls, id, req->app_id, &svcs, bc_mono_ms() + l->ttl_ms);
		rep->type = BC_MSG_LOCK_GRANTED;
		rep->body.lock_granted.lease = id;
		rep->body.lock_granted.expires_ms = l->ttl_ms;
		locker_wake(l);
	} else if (rc == 1) {
		rep->type = BC_MSG_LOCK_HELD;
		rep->body.lock_held.app_id = req->app_id;
		rep->body.lock_held.service = strdup(held);
	}
	bc_strv_free(&svcs);
	pthread_mutex_unlock(&l->mu);
	return rc < 0 ? -1 : BC_HANDLED;
}

static int
release(struct locker *l, const bc_body_lock_release *req, bc_msg *rep, bc_err *err)
{
	bc_lease *ls;
	bool found;

	pthread_mutex_lock(&l->mu);
	if ((found = (ls = bc_leases_get(&l->leases, req->lease, 0)) != NULL))
		locker_end_lease(l, ls);
	pthread_mutex_unlock(&l->mu);
	if (!found)
		return bc_err_set(err, BC_ENOTFOUND, "no live lease %llu",
				  (unsigned long long)req->lease);
	rep->type = BC_MSG_ACK;
	rep->body.ack.generation = req->lease;
	return BC_HANDLED;
}

static void
scan_one(void *ud, int64_t app_id, const char *service, const char *dir)
{
	int who = bc_lock_holder(dir, NULL);

	json_array_append_new(ud, json_pack("{s:I, s:s, s:s}", "app_id", (json_int_t)app_id,
					    "service", service, "holder",
					    who == 1   ? "app"
					    : who == 2 ? "us"
						       : "nobody"));
}

/* Every service directory under the lock dir, with who holds it. */
static json_t *
scan(const char *lockdir)
{
	json_t *out = json_array();

	bc_lock_each(lockdir, scan_one, out, NULL);
	return out;
}

static int
status(struct locker *l, bc_msg *rep, bc_err *err)
{
	json_t *doc = json_pack("{s:[], s:o}", "leases", "locks", scan(l->lockdir));
	json_t *leases = json_object_get(doc, "leases");
	uint64_t now = bc_mono_ms();

	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < BC_LEASES_MAX; i++) {
		const bc_lease *ls = &l->leases.slot[i];
		json_t *sv = json_array();
		if (ls->id == 0) {
			json_decref(sv);
			continue;
		}
		for (size_t k = 0; k < ls->services.n; k++)
			json_array_append_new(sv, json_string(ls->services.v[k]));
		json_array_append_new(
		    leases, json_pack("{s:I, s:I, s:o, s:I}", "lease", (json_int_t)ls->id, "app_id",
				      (json_int_t)ls->app_id, "services", sv, "expires_in_ms",
				      (json_int_t)(ls->expires > now ? ls->expires - now : 0)));
	}
	pthread_mutex_unlock(&l->mu);
	rep->type = BC_MSG_LOCK_INFO;
	rep->body.lock_info.json = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return rep->body.lock_info.json ? BC_HANDLED : bc_err_sys(err, "status");
}

static int
dispatch(struct bc_daemon *d, const bc_msg *req, bc_msg *rep, bc_err *err)
{
	struct locker *l = d->ops->ctx;

	switch (req->type) {
	case BC_MSG_LOCK_TAKE:
		return take(l, &req->body.lock_take, rep, err);
	case BC_MSG_LOCK_RELEASE:
		return release(l, &req->body.lock_release, rep, err);
	case BC_MSG_LOCK_STATUS:
		return status(l, rep, err);
	default:
		return BC_NOT_MINE;
	}
}

static int
start(struct bc_daemon *d, bc_err *err)
{
	struct locker *l = d->ops->ctx;
	int removed;

	pthread_mutex_init(&l->mu, NULL);
	l->pub = d->pub;
	snprintf(l->lockdir, sizeof(l->lockdir), "%s", d->settings.lockdir);
	l->ttl_ms = d->settings.lock_ttl_ms;
	/* no lease is live yet: every lockfile of ours is an orphan */
	if ((removed = bc_lock_sweep(l->lockdir, NULL, NULL, err)) < 0)
		return -1;
	if (removed > 0)
		log_info("removed %d orphaned lockfile(s) of a previous run", removed);
	return locker_start_watch(l, err);
}

static void
stop(struct bc_daemon *d)
{
	struct locker *l = d->ops->ctx;

	locker_stop_watch(l);
	/* our locks go with us; the app's stay */
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < BC_LEASES_MAX; i++)
		if (l->leases.slot[i].id)
			locker_end_lease(l, &l->leases.slot[i]);
	pthread_mutex_unlock(&l->mu);
}

int
main(int argc, char **argv)
{
	static struct locker l;
	static const struct bc_daemon_ops ops = {
	    .name = "locker", .dispatch = dispatch, .ctx = &l, .start = start, .stop = stop};
	return bc_daemon_main(argc, argv, &ops);
}
