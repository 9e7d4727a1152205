/* fetcher daemon: gets images onto the device.
 *
 * FETCH pulls through the Docker API and answers FETCHED with the image id
 * once the pull is done. (Asynchronous jobs with progress on PUB, retries,
 * deltas, the disk guard and cleanup come with the fetcher issue.) The
 * registry credential in a FETCH is a secret: it goes only into the
 * X-Registry-Auth header, never into a log or an error. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/daemon.h"
#include "../../lib/docker.h"
#include "../../lib/log.h"

struct fetcher {
	bc_docker *docker; /* opened on first use; dropped after an engine error */
};

static int
fetch(struct fetcher *f, const bc_body_fetch *req, bc_msg *rep, bc_err *err)
{
	json_t *img;
	const char *id;

	if (f->docker == NULL && (f->docker = bc_docker_new(NULL, err)) == NULL)
		return -1;
	log_info("pulling %s", req->image);
	if (bc_docker_image_pull(f->docker, req->image, req->auth, NULL, NULL, err) < 0) {
		if (err->code == BC_ESYS) { /* the engine went away: reconnect next time */
			bc_docker_free(f->docker);
			f->docker = NULL;
		}
		log_warnx("%s", err->msg);
		return -1;
	}
	if ((img = bc_docker_image_inspect(f->docker, req->image, err)) == NULL)
		return -1;
	id = json_string_value(json_object_get(img, "Id"));
	rep->type = BC_MSG_FETCHED;
	rep->body.fetched.image = strdup(req->image);
	rep->body.fetched.id = strdup(id ? id : "");
	json_decref(img);
	log_info("pulled %s", req->image);
	return BC_HANDLED;
}

static int
dispatch(struct bc_daemon *d, const bc_msg *req, bc_msg *rep, bc_err *err)
{
	if (req->type == BC_MSG_FETCH)
		return fetch(d->ops->ctx, &req->body.fetch, rep, err);
	return BC_NOT_MINE;
}

static void
stop(struct bc_daemon *d)
{
	struct fetcher *f = d->ops->ctx;
	bc_docker_free(f->docker);
	f->docker = NULL;
}

int
main(int argc, char **argv)
{
	static struct fetcher f;
	static const struct bc_daemon_ops ops = {
	    .name = "fetcher", .dispatch = dispatch, .ctx = &f, .stop = stop};
	return bc_daemon_main(argc, argv, &ops);
}
