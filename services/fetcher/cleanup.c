/* Image cleanup: the fetcher removes only images it pulled itself (listed
 * in $BC_STATEDIR/fetcher-pulled.json) that nothing still wants. Removal is
 * by reference and without force, so Docker refuses an image a container
 * uses (it is kept and tried again next time); update locks do not hold it
 * back, as they only guard containers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/docker/docker.h"
#include "lib/base/fsutil.h"
#include "lib/base/log.h"
#include "fetcher.h"

static void
list_path(const struct fetcher *f, char *out, size_t n)
{
	snprintf(out, n, "%s/fetcher-pulled.json", f->statedir);
}

static json_t *
load(const struct fetcher *f)
{
	char path[600];
	json_t *l;

	list_path(f, path, sizeof(path));
	l = json_load_file(path, 0, NULL);
	if (!json_is_array(l)) {
		json_decref(l);
		l = json_array();
	}
	return l;
}

static void
save(const struct fetcher *f, json_t *l)
{
	char path[600];
	bc_err err = {0};

	list_path(f, path, sizeof(path));
	if (bc_write_json_atomic(path, l, 0600, &err) < 0)
		log_warnx("keep the list of pulled images: %s", err.msg);
}

static bool
has(const json_t *l, const char *ref)
{
	size_t i;
	json_t *e;
	json_array_foreach(l, i, e) if (strcmp(json_string_value(e), ref) == 0) return true;
	return false;
}

/* Under mu (the list is the fetcher's alone). */
void
fetcher_record_pull(struct fetcher *f, const char *ref)
{
	json_t *l = load(f);

	if (!has(l, ref)) {
		json_array_append_new(l, json_string(ref));
		save(f, l);
	}
	json_decref(l);
}

int
fetcher_cleanup(struct fetcher *f, const bc_body_cleanup *req, bc_msg *rep, bc_err *err)
{
	bc_strs candidates = {0};
	bc_strs *removed = &rep->body.cleanup_done.removed;
	json_t *l, *left, *e;
	bc_docker *d;
	size_t i;

	if ((d = bc_docker_new(NULL, err)) == NULL)
		return -1;
	rep->type = BC_MSG_CLEANUP_DONE;
	/* what may go, decided under the lock; Docker is asked without it,
	 * so replies and progress are not held up behind image removals */
	pthread_mutex_lock(&f->mu);
	l = load(f);
	json_array_foreach(l, i, e)
	{
		const char *ref = json_string_value(e);
		/* an image a job is pulling right now is wanted too */
		if (ref != NULL && !bc_strs_has(&req->keep, ref) && !bc_jobs_in_flight(&f->jobs, ref))
			bc_strs_add(&candidates, ref);
	}
	pthread_mutex_unlock(&f->mu);
	json_decref(l);
	for (i = 0; i < candidates.n; i++) {
		const char *ref = candidates.v[i];
		bc_err rerr = {0};
		if (bc_docker_image_remove(d, ref, false, &rerr) == 0 || rerr.code == BC_ENOTFOUND) {
			bc_strs_add(removed, ref);
			log_info("cleanup: removed %s", ref);
		} else {
			log_info("cleanup: kept %s: %s", ref, rerr.msg); /* in use: next time */
		}
	}
	bc_docker_free(d);
	bc_strs_free(&candidates);
	/* the list as it is now (a pull may have ended meanwhile), less what went */
	pthread_mutex_lock(&f->mu);
	l = load(f);
	left = json_array();
	json_array_foreach(l, i, e) if (!bc_strs_has(removed, json_string_value(e)))
	    json_array_append(left, e);
	save(f, left);
	pthread_mutex_unlock(&f->mu);
	json_decref(left);
	json_decref(l);
	return BC_HANDLED;
}
