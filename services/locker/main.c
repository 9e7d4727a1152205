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

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "locker.h"

static int
services_of(const bc_strs *in, bc_strv *out, bc_err *err)
{
	if (in->n == 0)
		return bc_err_set(err, BC_EINVAL, "services: 1..%d names are needed",
				  BC_LOCK_MAX_SERVICES);
	for (size_t i = 0; i < in->n; i++) {
		const char *s = in->v[i];
		if (*s == '\0' || strchr(s, '/') || s[0] == '.') {
			bc_strv_free(out);
			return bc_err_set(err, BC_EINVAL, "'%s' is not a service name", s);
		}
		bc_strv_add(out, s);
	}
	return 0;
}

/* bc_lock_take found a service locked by another lease of ours (never the
 * app's). A lease that is not live left it behind (a crash between our
 * create and our own cleanup): it goes, and the take is tried again. A
 * live one is the agent asking twice: an error that says so. */
static int
ours_held(struct locker *l, int64_t app_id, const bc_strv *svcs, uint64_t id, bool force,
	  const char **held, bc_err *err)
{
	char dir[1024];
	uint64_t other = 0;
	bc_strv one = {0};
	int rc;

	if (bc_lock_dir(dir, sizeof(dir), l->lockdir, app_id, *held) == 0 &&
	    bc_lock_holder(dir, &other) == 2) {
		if (bc_leases_get(&l->leases, other, 0) != NULL)
			return bc_err_set(err, BC_EINVAL,
					  "app %lld: service '%s' is locked already by the agent's "
					  "lease %llu (release it first)",
					  (long long)app_id, *held, (unsigned long long)other);
		log_warnx("app %lld: service '%s': removing our lockfiles of lease %llu, which "
			  "is not live",
			  (long long)app_id, *held, (unsigned long long)other);
		bc_strv_add(&one, *held);
		rc = bc_lock_release(l->lockdir, app_id, &one, other, err);
		bc_strv_free(&one);
		if (rc < 0)
			return -1;
	}
	rc = bc_lock_take(l->lockdir, app_id, svcs, id, force, held, err);
	return rc == 2 ? bc_err_set(err, BC_EINVAL, "app %lld: service '%s' is locked by another "
						    "lease of the agent",
				    (long long)app_id, *held)
		       : rc;
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
		if ((ls = bc_leases_get(&l->leases, req->lease, req->app_id)) != NULL) {
			ls->expires = bc_mono_ms() + l->ttl_ms;
			rep->type = BC_MSG_LOCK_GRANTED;
			rep->body.lock_granted.lease = ls->id;
			rep->body.lock_granted.expires_ms = l->ttl_ms;
		}
		if (ls == NULL)
			return bc_err_set(
			    err, BC_ENOTFOUND,
			    "lease %llu is not live (expired, or the locker restarted): "
			    "take the locks again",
			    (unsigned long long)req->lease);
		return BC_HANDLED;
	}
	if (services_of(&req->services, &svcs, err) < 0)
		return -1;
	/* random ids: a lease of a previous run is never taken for a live one */
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint64_t)getpid() << 20 ^ bc_mono_ms();
	id = bc_lease_id(r);
	if ((ls = bc_leases_slot(&l->leases)) == NULL) {
		bc_strv_free(&svcs);
		return bc_err_set(err, BC_ETOOBIG, "%d leases are live", BC_LEASES_MAX);
	}
	rc = bc_lock_take(l->lockdir, req->app_id, &svcs, id, req->force, &held, err);
	if (rc == 2)
		rc = ours_held(l, req->app_id, &svcs, id, req->force, &held, err);
	if (rc == 0) {
		bc_leases_set(ls, id, req->app_id, &svcs, bc_mono_ms() + l->ttl_ms);
		rep->type = BC_MSG_LOCK_GRANTED;
		rep->body.lock_granted.lease = id;
		rep->body.lock_granted.expires_ms = l->ttl_ms;
	} else if (rc == 1) {
		rep->type = BC_MSG_LOCK_HELD;
		rep->body.lock_held.app_id = req->app_id;
		rep->body.lock_held.service = strdup(held);
	}
	bc_strv_free(&svcs);
	return rc < 0 ? -1 : BC_HANDLED;
}

static int
release(struct locker *l, const bc_body_lock_release *req, bc_msg *rep, bc_err *err)
{
	bc_lease *ls = bc_leases_get(&l->leases, req->lease, 0);

	if (ls == NULL)
		return bc_err_set(err, BC_ENOTFOUND, "no live lease %llu",
				  (unsigned long long)req->lease);
	locker_end_lease(l, ls);
	rep->type = BC_MSG_LOCK_RELEASED;
	rep->body.lock_released.lease = req->lease;
	return BC_HANDLED;
}

static void
scan_one(void *ud, int64_t app_id, const char *service, const char *dir)
{
	bc_lock_list *l = ud;
	bc_lock_rec *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (v == NULL)
		return;
	l->v = v;
	/* bc_lock_holder's numbers are the wire's enum bc_lock_holder */
	v[l->n] = (bc_lock_rec){
	    .app_id = app_id, .service = strdup(service), .holder = bc_lock_holder(dir, NULL)};
	if (v[l->n].service != NULL)
		l->n++;
}

static int
status(struct locker *l, bc_msg *rep, bc_err *err)
{
	bc_lease_list *out = &rep->body.lock_info.leases;
	uint64_t now = bc_mono_ms();

	rep->type = BC_MSG_LOCK_INFO;
	bc_lock_each(l->lockdir, scan_one, &rep->body.lock_info.locks, NULL);
	if ((out->v = calloc(BC_LEASES_MAX, sizeof(*out->v))) == NULL)
		return bc_err_sys(err, "status");
	for (size_t i = 0; i < BC_LEASES_MAX; i++) {
		const bc_lease *ls = &l->leases.slot[i];
		bc_lease_rec *r = &out->v[out->n];
		if (ls->id == 0)
			continue;
		r->lease = ls->id;
		r->app_id = ls->app_id;
		r->expires_in_ms = ls->expires > now ? ls->expires - now : 0;
		for (size_t k = 0; k < ls->services.n; k++)
			bc_strs_add(&r->services, ls->services.v[k]);
		out->n++;
	}
	return BC_HANDLED;
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

	l->pub = d->pub;
	snprintf(l->lockdir, sizeof(l->lockdir), "%s", d->settings.lockdir);
	l->ttl_ms = d->settings.lock_ttl_ms;
	if (bc_daemon_lock_root(d, err) < 0)
		return -1;
	/* no lease is live yet: every lockfile of ours is an orphan */
	if ((removed = bc_lock_sweep(l->lockdir, NULL, NULL, err)) < 0)
		return -1;
	if (removed > 0)
		log_info("removed %d orphaned lockfile(s) of a previous run", removed);
	return locker_start_watch(l, d, err);
}

static void
stop(struct bc_daemon *d)
{
	struct locker *l = d->ops->ctx;

	locker_stop_watch(l);
	/* our locks go with us; the app's stay */
	for (size_t i = 0; i < BC_LEASES_MAX; i++)
		if (l->leases.slot[i].id)
			locker_end_lease(l, &l->leases.slot[i]);
}

int
main(int argc, char **argv)
{
	static struct locker l;
	static const struct bc_daemon_ops ops = {
	    .name = "locker", .dispatch = dispatch, .ctx = &l, .start = start, .stop = stop};
	return bc_daemon_main(argc, argv, &ops);
}
