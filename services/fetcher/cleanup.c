/* Image cleanup: the fetcher removes only images it pulled itself (listed
 * in $BC_STATEDIR/fetcher-pulled.json) that nothing still wants. Removal is
 * by reference and without force, so Docker refuses an image a container
 * uses (it is kept and tried again next time); update locks do not hold it
 * back, as they only guard containers. */
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

/* The list is the loop's: loaded once, kept on disk at each change, as
 * ["<image reference>", ...]. */
void
fetcher_pulled_load(struct fetcher *f)
{
	char path[600];
	json_t *l, *e;
	size_t i;

	list_path(f, path, sizeof(path));
	l = bc_read_json(path, 0, 16 << 20, NULL);
	json_array_foreach(l, i, e) if (json_is_string(e) &&
					!bc_strs_has(&f->pulled, json_string_value(e)))
	    bc_strs_add(&f->pulled, json_string_value(e));
	json_decref(l);
}

static void
save(const struct fetcher *f)
{
	char path[600];
	bc_err err = {0};
	json_t *l = json_array();

	for (size_t i = 0; l != NULL && i < f->pulled.n; i++)
		json_array_append_new(l, json_string(f->pulled.v[i]));
	list_path(f, path, sizeof(path));
	if (l == NULL || bc_write_json_atomic(path, l, 0600, &err) < 0)
		log_warnx("keep the list of pulled images: %s", l ? err.msg : "out of memory");
	json_decref(l);
}

void
fetcher_record_pull(struct fetcher *f, const char *ref)
{
	if (!bc_strs_has(&f->pulled, ref) && bc_strs_add(&f->pulled, ref) == 0)
		save(f);
}

/* One CLEANUP: what may go (decided on the loop), removed on the pool. */
struct cleanup {
	struct fetcher *f;
	bc_pending *reply;
	bc_strs candidates;
	bc_strs removed;
	bc_err err;
	int rc;
};

static void
cleanup_work(void *ud)
{
	struct cleanup *c = ud;
	bc_docker *d = bc_docker_new(NULL, &c->err);

	if (d == NULL) {
		c->rc = -1;
		return;
	}
	for (size_t i = 0; i < c->candidates.n; i++) {
		const char *ref = c->candidates.v[i];
		bc_err rerr = {0};
		if (bc_docker_image_remove(d, ref, false, &rerr) == 0 ||
		    rerr.code == BC_ENOTFOUND) {
			bc_strs_add(&c->removed, ref);
			log_info("cleanup: removed %s", ref);
		} else {
			log_info("cleanup: kept %s: %s", ref, rerr.msg); /* in use: next time */
		}
	}
	bc_docker_free(d);
}

static void
cleanup_done(void *ud, bool ran)
{
	struct cleanup *c = ud;
	struct fetcher *f = c->f;
	bc_msg rep = {.type = BC_MSG_CLEANUP_DONE};

	if (!ran) {
		bc_err_set(&c->err, BC_ESYS, "the fetcher is stopping");
		c->rc = -1;
	}
	if (c->rc == 0) {
		/* the list as it is now (a pull may have ended meanwhile), less
		 * what went */
		bc_strs left = {0};
		for (size_t i = 0; i < f->pulled.n; i++)
			if (!bc_strs_has(&c->removed, f->pulled.v[i]))
				bc_strs_add(&left, f->pulled.v[i]);
		bc_strs_free(&f->pulled);
		f->pulled = left;
		save(f);
		rep.body.cleanup_done.removed = c->removed;
		c->removed = (bc_strs){0};
	}
	bc_daemon_reply(f->d, c->reply, &rep, c->rc == 0 ? NULL : &c->err);
	bc_strs_free(&rep.body.cleanup_done.removed);
	bc_strs_free(&c->candidates);
	bc_strs_free(&c->removed);
	free(c);
}

int
fetcher_cleanup(struct fetcher *f, const bc_body_cleanup *req, bc_msg *rep, bc_err *err)
{
	struct cleanup *c = calloc(1, sizeof(*c));

	(void)rep;
	if (c == NULL)
		return bc_err_sys(err, "cleanup");
	c->f = f;
	for (size_t i = 0; i < f->pulled.n; i++) {
		const char *ref = f->pulled.v[i];
		/* an image a job is pulling right now is wanted too */
		if (!bc_strs_has(&req->keep, ref) && !bc_jobs_in_flight(&f->jobs, ref))
			bc_strs_add(&c->candidates, ref);
	}
	if (bc_pool_submit(f->pool, cleanup_work, cleanup_done, c, err) < 0) {
		bc_strs_free(&c->candidates);
		free(c);
		return -1;
	}
	/* the reply goes when the removals end (cleanup_done) */
	c->reply = bc_daemon_defer(f->d);
	return BC_DEFERRED;
}
