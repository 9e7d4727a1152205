#include "lib/plan/executor.h"

#include "lib/base/fsutil.h"
#include "lib/base/log.h"
#include "lib/docker/ustar.h"
#include "lib/locks/lock.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/model/spec.h"

/* "service:x" + rest (":ro", ":alias", "") as "<x's container>" + rest:
 * x running, of cur; its id, or its name for links (an alias on a user
 * network resolves names only). 0, or -1 with err. */
static int
resolve_ref(const char *ref, const bc_app *cur, const char *svcname, const char *what, char *out,
	    size_t n, bc_err *err)
{
	bool by_name = strcmp(what, "links") == 0;
	const char *name = ref + 8, *rest = strchr(name, ':');
	size_t len = rest ? (size_t)(rest - name) : strlen(name);

	for (size_t i = 0; cur != NULL && i < cur->n_services; i++) {
		const bc_service *dep = &cur->services[i];
		if (strlen(dep->name) == len && strncmp(dep->name, name, len) == 0 && dep->running) {
			char cname[512];
			if (by_name && bc_container_name(cname, sizeof(cname), dep) < 0)
				break;
			snprintf(out, n, "%s%s", by_name ? cname : dep->container_id,
				 rest ? rest : "");
			return 0;
		}
	}
	return bc_err_set(err, BC_EINVAL, "service '%s': %s %s is not running", svcname, what, ref);
}

/* Each "service:x..." of list (VolumesFrom, an endpoint's Links) resolved,
 * in place. */
static int
resolve_list(json_t *list, const bc_app *cur, const char *svcname, const char *what, bc_err *err)
{
	json_t *e;
	size_t i;

	json_array_foreach(list, i, e)
	{
		const char *ref = json_string_value(e);
		char buf[700];
		if (ref == NULL || strncmp(ref, "service:", 8) != 0)
			continue;
		if (resolve_ref(ref, cur, svcname, what, buf, sizeof(buf), err) < 0)
			return -1;
		json_array_set_new(list, i, json_string(buf));
	}
	return 0;
}

/* network_mode, pid and ipc "service:<name>" -> "container:<id of that
 * service's running container>" (of the same app: the parser allows no
 * other container). */
static int
resolve_service_modes(json_t *body, const bc_app *cur, const char *svcname, bc_err *err)
{
	static const char *const fields[][2] = {
	    {"NetworkMode", "network_mode"}, {"PidMode", "pid"}, {"IpcMode", "ipc"}};
	json_t *host = json_object_get(body, "HostConfig");

	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		const char *mode = json_string_value(json_object_get(host, fields[f][0]));
		char id[700], buf[720];

		if (mode == NULL || strncmp(mode, "service:", 8) != 0)
			continue;
		if (resolve_ref(mode, cur, svcname, fields[f][1], id, sizeof(id), err) < 0)
			return -1;
		snprintf(buf, sizeof(buf), "container:%s", id);
		json_object_set_new(host, fields[f][0], json_string(buf));
	}
	if (resolve_list(json_object_get(host, "VolumesFrom"), cur, svcname, "volumes_from", err) <
	    0)
		return -1;
	{
		const char *net;
		json_t *ep;
		json_object_foreach(
		    json_object_get(json_object_get(body, "NetworkingConfig"), "EndpointsConfig"), net,
		    ep) if (resolve_list(json_object_get(ep, "Links"), cur, svcname, "links",
					 err) < 0) return -1;
	}
	return 0;
}

/* The service's hooks of kind ("post_start", "pre_stop") run in container
 * id, one after the other, each at most 60 s. A post_start that fails
 * fails the step (the container stays as it is); a pre_stop's failure is
 * only said: it never keeps a container from stopping. */
static int
run_hooks(bc_docker *d, const bc_service *svc, const char *kind, const char *id, bc_err *err)
{
	const json_t *h;
	size_t i;

	json_array_foreach(json_object_get(svc->hooks, kind), i, h)
	{
		bc_err e = {0};
		int code;
		if (bc_docker_exec(d, id, h, 60000, &code, &e) == 0 && code == 0)
			continue;
		if (e.msg[0] == '\0')
			bc_err_set(&e, BC_EINVAL, "exited %d", code);
		if (strcmp(kind, "pre_stop") == 0) {
			log_warnx("service '%s': pre_stop hook %zu: %s (stopping it anyway)",
				  svc->name, i + 1, e.msg);
			continue;
		}
		return bc_err_set(err, e.code ? e.code : BC_EINVAL, "service '%s': %s hook %zu: %s",
				  svc->name, kind, i + 1, e.msg);
	}
	return 0;
}

/* Is the volume or network (kind "volumes" or "networks") of Docker name
 * dname this app's (its labels say so)? 0, or -1 with err saying to use
 * external: true for one made outside it. */
static int
ours(bc_docker *d, const char *kind, const char *dname, int64_t app_id, bc_err *err)
{
	char path[700], id[32];
	json_t *o = NULL;
	const char *got;
	int rc;

	snprintf(path, sizeof(path), "/%s/%s", kind, dname);
	if (bc_docker_request(d, "GET", path, NULL, &o, err) < 0)
		return -1;
	got = json_string_value(json_object_get(json_object_get(o, "Labels"), "io.balena.app-id"));
	snprintf(id, sizeof(id), "%lld", (long long)app_id);
	rc = got != NULL && strcmp(got, id) == 0
		 ? 0
		 : bc_err_set(err, BC_EINVAL,
			      "%s '%s' is there already and is not this app's: give it external: "
			      "true to use it",
			      strcmp(kind, "volumes") == 0 ? "volume" : "network", dname);
	json_decref(o);
	return rc;
}

/* Does the service's create body mount the Docker volume dname? */
static bool
uses_volume(const bc_service *t, const char *dname)
{
	const json_t *e;
	size_t i, n = strlen(dname);

	json_array_foreach(json_object_get(json_object_get(t->spec, "HostConfig"), "Binds"), i, e)
	{
		const char *b = json_string_value(e);
		if (b != NULL && strncmp(b, dname, n) == 0 && b[n] == ':')
			return true;
	}
	return false;
}

/* The service's files (its secrets and configs from an environment or
 * content source) into the new container, before it starts. */
static int
put_files(bc_docker *d, const bc_service *t, const char *id, bc_err *err)
{
	bc_buf tar = {.max = (size_t)4 << 20};
	int rc = bc_tar_files(t->files, &tar, err);

	if (rc == 0)
		rc = bc_docker_container_put_archive(d, id, "/", tar.data, tar.len, err);
	if (tar.data != NULL) /* secrets: not left in freed memory */
		explicit_bzero(tar.data, tar.cap);
	bc_buf_free(&tar);
	if (rc < 0)
		bc_err_wrap(err, "service '%s': its files", t->name);
	return rc;
}

static int
create(bc_docker *d, const bc_step *s, const bc_state *current, const bc_exec_env *env, bc_err *err)
{
	const bc_service *t = s->target;
	char name[512], id[65], dir[1024];
	const char *net;
	json_t *body, *ep;
	int rc = -1;

	if (bc_container_name(name, sizeof(name), t) < 0)
		return bc_err_set(err, BC_ETOOBIG, "service '%s': container name too long",
				  t->name);
	if (env->lockdir != NULL) {
		if (bc_lock_dir(dir, sizeof(dir), env->lockdir, s->app->app_id, t->name) < 0)
			return bc_err_set(err, BC_ETOOBIG, "service '%s': lock path too long",
					  t->name);
		if (bc_mkdirs(dir, 0755, err) < 0)
			return -1;
		/* a hand-over starts unsignalled: an old signal would end it at once */
		if (s->action == BC_STEP_HANDOVER) {
			char sig[1100];
			snprintf(sig, sizeof(sig), "%s/handover-complete", dir);
			unlink(sig);
		}
	}
	/* an external volume is the device's: not made here (the engine would
	 * make an empty one of that name), so it must be there */
	for (size_t i = 0; i < s->app->n_volumes; i++) {
		const bc_volume *v = &s->app->volumes[i];
		char path[700];
		if (!v->external || !uses_volume(t, v->docker_name))
			continue;
		snprintf(path, sizeof(path), "/volumes/%s", v->docker_name);
		if (bc_docker_request(d, "GET", path, NULL, NULL, err) < 0)
			return bc_err_wrap(err, "service '%s': external volume '%s'", t->name,
					   v->docker_name);
	}
	body = json_deep_copy(t->spec);
	json_object_set_new(body, "Image", json_string(t->image));
	if (t->container_name != NULL) {
		/* what its name does not say, for the current state */
		json_t *l = json_object_get(body, "Labels");
		char num[32];
		snprintf(num, sizeof(num), "%lld", (long long)t->image_id);
		json_object_set_new(l, BC_LABEL_IMAGE_ID, json_string(num));
		snprintf(num, sizeof(num), "%lld", (long long)t->release_id);
		json_object_set_new(l, BC_LABEL_RELEASE_ID, json_string(num));
		json_object_set_new(l, BC_LABEL_COMMIT, json_string(t->commit ? t->commit : "none"));
	}
	if (resolve_service_modes(body, bc_state_app(current, s->app->app_id), t->name, err) < 0)
		goto out;
	if (bc_docker_container_create_for(
		d, name,
		json_string_value(json_object_get(json_object_get(body, "Labels"), BC_LABEL_PLATFORM)),
		body, id, err) < 0)
		goto out;
	json_object_foreach(t->connect, net, ep)
	{
		json_t *own = json_deep_copy(ep);
		int crc = resolve_list(json_object_get(own, "Links"),
				       bc_state_app(current, s->app->app_id), t->name, "links", err);
		if (crc == 0)
			crc = bc_docker_network_connect(d, net, id, own, err);
		json_decref(own);
		if (crc < 0) {
			bc_docker_container_remove(d, id, true, false, NULL);
			goto out;
		}
	}
	if (json_array_size(t->files) > 0 && put_files(d, t, id, err) < 0) {
		bc_docker_container_remove(d, id, true, false, NULL);
		goto out;
	}
	rc = t->running ? bc_docker_container_start(d, id, err) : 0;
	if (rc == 0 && t->running)
		rc = run_hooks(d, t, "post_start", id, err);
out:
	json_decref(body);
	return rc;
}

int
bc_exec_step(bc_docker *d, const bc_step *s, const bc_state *current, const bc_exec_env *env,
	     bc_err *err)
{
	char name[600];

	switch (s->action) {
	case BC_STEP_KILL:
	case BC_STEP_STOP:
	case BC_STEP_REMOVE:
	case BC_STEP_CREATE:
	case BC_STEP_HANDOVER:
	case BC_STEP_START:
	case BC_STEP_UPDATE_METADATA:
	case BC_STEP_RESTART:
		if (env->guard != NULL && s->app != NULL && env->guard(env->ud, s->app, err) < 0)
			return -1;
		break;
	default:
		break;
	}
	switch (s->action) {
	case BC_STEP_FETCH:
		if (env->fetch != NULL)
			return env->fetch(env->ud, d, s, err);
		return bc_docker_image_pull(d, s->image, NULL, NULL, NULL, err);
	case BC_STEP_KILL:
		if (s->current->running)
			run_hooks(d, s->current, "pre_stop", s->current->container_id, NULL);
		if (bc_docker_container_stop(d, s->current->container_id, -1, err) < 0 ||
		    bc_docker_container_remove(d, s->current->container_id, true, false, err) < 0)
			return -1;
		/* by the reference it was created from: an id shared by several
		 * tags cannot be removed without force, a reference is untagged */
		if (s->remove_image && s->current->image != NULL)
			bc_docker_image_remove(d, s->current->image, false, NULL);
		return 0;
	case BC_STEP_STOP:
		if (s->current->running)
			run_hooks(d, s->current, "pre_stop", s->current->container_id, NULL);
		return bc_docker_container_stop(d, s->current->container_id, -1, err);
	case BC_STEP_REMOVE:
		return bc_docker_container_remove(d, s->current->container_id, true, false, err);
	case BC_STEP_CREATE:
	case BC_STEP_HANDOVER:
		return create(d, s, current, env, err);
	case BC_STEP_START:
		if (bc_docker_container_start(d, s->current->container_id, err) < 0)
			return -1;
		return s->target != NULL
			   ? run_hooks(d, s->target, "post_start", s->current->container_id, err)
			   : 0;
	case BC_STEP_UPDATE_METADATA:
		if (bc_container_name(name, sizeof(name), s->target) < 0)
			return bc_err_set(err, BC_ETOOBIG, "container name too long");
		return bc_docker_container_rename(d, s->current->container_id, name, err);
	case BC_STEP_CREATE_NETWORK: {
		/* Docker would make a second network of the same name (a run of
		 * ours killed as its create was on the way, the next one not
		 * seeing it yet): asked not to, the one there is ours already */
		char id[65];
		json_t *spec = json_copy(s->network->spec);
		int rc;
		if (spec == NULL)
			return bc_err_set(err, BC_ESYS, "network create: out of memory");
		json_object_set_new(spec, "CheckDuplicate", json_true());
		rc = bc_docker_network_create(d, spec, id, err);
		json_decref(spec);
		if (rc < 0 && err->status == 409) {
			bc_err_clear(err);
			rc = 0;
		}
		if (rc == 0 && s->network->docker_name != NULL)
			return ours(d, "networks", s->network->docker_name, s->app->app_id, err);
		return rc;
	}
	case BC_STEP_REMOVE_NETWORK:
		if (bc_network_dname(name, sizeof(name), s->app->uuid, s->network) < 0)
			return bc_err_set(err, BC_ETOOBIG, "network name too long");
		return bc_docker_network_remove(d, name, err);
	case BC_STEP_CREATE_VOLUME:
		if (bc_docker_volume_create(d, s->volume->spec, err) < 0)
			return -1;
		/* a name of the release's own: the engine hands back one of that
		 * name that is there already, which may be someone else's */
		return s->volume->docker_name != NULL
			   ? ours(d, "volumes", s->volume->docker_name, s->app->app_id, err)
			   : 0;
	case BC_STEP_REMOVE_VOLUME:
		if (bc_volume_dname(name, sizeof(name), s->app->app_id, s->volume) < 0)
			return bc_err_set(err, BC_ETOOBIG, "volume name too long");
		return bc_docker_volume_remove(d, name, false, err);
	case BC_STEP_TAKE_LOCK:
	case BC_STEP_RELEASE_LOCK:
		if (env->lock == NULL)
			return 0;
		return env->lock(env->ud, d, s->app, bc_state_app(current, s->app->app_id),
				 s->action == BC_STEP_TAKE_LOCK, err);
	case BC_STEP_RESTART:
		return bc_docker_container_restart(d, s->current->container_id, -1, err);
	case BC_STEP_NOOP:
		return 0;
	}
	return bc_err_set(err, BC_EINVAL, "unknown step %d", (int)s->action);
}

/* One round: its steps are items of a pool map; each item borrows a free
 * Docker handle (a bit of `free`), so no two steps share one. */
struct round {
	const bc_plan *plan;
	const bc_state *current;
	const bc_exec_env *env;
	bc_docker **handles;
	const size_t *idx; /* the actionable steps' indexes */
	atomic_uint free;  /* bit i: handle i is free */
	atomic_int failed;
	pthread_mutex_t mu; /* the first error and on_step: one at a time */
	bc_err first;
};

static size_t
borrow(struct round *r)
{
	for (;;) {
		unsigned f = atomic_load(&r->free);
		unsigned bit;
		if (f == 0)
			continue; /* cannot happen: never wider than the handles */
		bit = f & -f;
		if (atomic_compare_exchange_weak(&r->free, &f, f & ~bit))
			return (size_t)__builtin_ctz(bit);
	}
}

static void
run_item(void *ud, size_t i)
{
	struct round *r = ud;
	const bc_step *s = &r->plan->steps[r->idx[i]];
	size_t h = borrow(r);
	bc_err err = {0};
	int rc = bc_exec_step(r->handles[h], s, r->current, r->env, &err);

	atomic_fetch_or(&r->free, 1u << h);
	/* one at a time: the engine's bookkeeping and the caller's are
	 * memory only (no I/O under this lock) */
	pthread_mutex_lock(&r->mu);
	if (rc < 0 && atomic_fetch_add(&r->failed, 1) == 0)
		r->first = err;
	if (r->env->on_step != NULL)
		r->env->on_step(r->env->ud, s, rc, &err);
	pthread_mutex_unlock(&r->mu);
}

int
bc_exec_round(bc_docker **handles, size_t nhandles, const bc_plan *plan, const bc_state *current,
	      const bc_exec_env *env, bc_err *err)
{
	struct round r = {.plan = plan, .current = current, .env = env, .handles = handles};
	size_t *idx = calloc(plan->n + 1, sizeof(*idx)), n = 0;
	int failed;

	if (nhandles == 0)
		return bc_err_set(err, BC_EINVAL, "a round needs a Docker handle"), 1;
	if (idx == NULL)
		return bc_err_sys(err, "round"), 1;
	for (size_t i = 0; i < plan->n; i++)
		if (plan->steps[i].action != BC_STEP_NOOP)
			idx[n++] = i;
	if (nhandles > 16)
		nhandles = 16;
	r.idx = idx;
	atomic_init(&r.free, (1u << nhandles) - 1);
	atomic_init(&r.failed, 0);
	pthread_mutex_init(&r.mu, NULL);
	if (env->pool != NULL) {
		bc_pool_map(env->pool, n, nhandles, run_item, &r);
	} else {
		for (size_t i = 0; i < n; i++)
			run_item(&r, i);
	}
	pthread_mutex_destroy(&r.mu);
	free(idx);
	failed = atomic_load(&r.failed);
	if (failed > 0 && err != NULL)
		*err = r.first;
	return failed;
}
