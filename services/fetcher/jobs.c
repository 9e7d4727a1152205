/* The fetcher's pulls: the loop starts queued jobs as far as
 * BC_FETCH_CONCURRENCY allows; each attempt runs on the pool, pulling
 * through the Docker API, posting progress back, refusing a pull that
 * would eat into the disk reserve. A failure worth a retry waits on the
 * loop's timer (a cancel ends the wait at once). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <stdatomic.h>

#include "lib/base/clock.h"
#include "lib/model/config.h"
#include "lib/docker/docker.h"
#include "lib/base/log.h"
#include "proto/ipc.h"
#include "fetcher.h"

void
fetcher_publish_done(struct fetcher *f, const bc_job *j)
{
	bc_msg m = {.type = BC_MSG_FETCH_DONE};
	bc_err err = {0};

	if (j->id == 0)
		return;
	m.body.fetch_done.job = j->id;
	m.body.fetch_done.instance = f->instance;
	m.body.fetch_done.image = (char *)j->image;
	m.body.fetch_done.ok = j->state == BC_JOB_DONE;
	m.body.fetch_done.id = j->state == BC_JOB_DONE ? (char *)j->image_id : NULL;
	m.body.fetch_done.error = j->state == BC_JOB_DONE ? NULL : (char *)j->error;
	if (bc_send(f->d->pub, &m, &err) < 0)
		log_warnx("publish: %s", err.msg);
	if (j->state == BC_JOB_DONE)
		bc_daemon_syslog(f->d, 0, NULL, "Downloaded image '%s'", j->image);
	else if (j->state == BC_JOB_FAILED)
		bc_daemon_syslog(f->d, 0, NULL, "Failed to download image '%s' due to '%s'",
				 j->image, j->error);
}

/* One pull: the job's image and credentials, handed to one attempt at a
 * time on the pool. The loop owns it between attempts; cancel is the one
 * field both touch. */
struct pull {
	struct fetcher *f;
	uint64_t id;	 /* the job's */
	char image[512]; /* a copy: the attempt never reads the job table */
	char *auth;	 /* X-Registry-Auth: a secret, wiped when the pull ends */
	atomic_bool cancel;
	unsigned attempt;
	uint64_t retry_at; /* monotonic ms: the next attempt (0: none waiting) */
	/* the attempt's */
	bc_docker *d;
	bc_progress prog;
	uint64_t last_pub;
	unsigned last_pct;
	uint64_t avail, reserve; /* the disk guard while bytes arrive */
	bool disk_full;
	/* what the attempt ended with */
	enum bc_job_state st; /* BC_JOB_PULLING: failed, worth a retry */
	char error[512];
	char image_id[128];
};

struct progress {
	struct fetcher *f;
	uint64_t id;
	uint64_t current, total;
	unsigned percent;
	bool publish;
};

/* On the loop: a pull's progress into its job, and out on PUB. */
static void
posted_progress(void *ud)
{
	struct progress *p = ud;
	bc_job *j = bc_jobs_get(&p->f->jobs, p->id);

	if (j != NULL && j->state == BC_JOB_PULLING) {
		j->current = p->current;
		j->total = p->total;
		j->percent = p->percent;
		if (p->publish) {
			bc_msg m = {.type = BC_MSG_FETCH_PROGRESS};
			m.body.fetch_progress.job = j->id;
			m.body.fetch_progress.instance = p->f->instance;
			m.body.fetch_progress.image = j->image;
			m.body.fetch_progress.percent = p->percent;
			m.body.fetch_progress.current = p->current;
			m.body.fetch_progress.total = p->total;
			bc_send(p->f->d->pub, &m, NULL);
		}
	}
	free(p);
}

static int
on_progress(void *ud, json_t *obj)
{
	struct pull *p = ud;
	struct progress *pr;
	uint64_t cur, tot, now = bc_mono_ms();
	unsigned pct;
	bool publish;

	bc_progress_feed(&p->prog, obj);
	bc_progress_sum(&p->prog, &cur, &tot, &pct);
	/* no size from the registry: the totals Docker reports guard the disk */
	if (p->avail && tot > 0 && (tot > p->avail || p->avail - tot < p->reserve)) {
		p->disk_full = true;
		return 1;
	}
	publish = pct != p->last_pct && (now - p->last_pub >= 250 || pct == 100);
	if (publish || now - p->last_pub >= 250) {
		if ((pr = calloc(1, sizeof(*pr))) != NULL) {
			*pr = (struct progress){p->f, p->id, cur, tot, pct, publish};
			if (bc_pool_post(p->f->pool, posted_progress, pr) < 0)
				free(pr);
		}
		p->last_pub = now;
		p->last_pct = pct;
	}
	return atomic_load(&p->cancel) ? 1 : 0;
}

/* The device's registry credentials as the supervisor uses them:
 * d_<uuid> / deviceApiKey from config.json, read once per job, for the
 * device's registry only (config.json's registryEndpoint): an image from
 * any other registry is pulled without them. A secret: creds_clear wipes
 * it. */
struct creds {
	bool have;
	char user[128];
	char key[512];
	char registry[256]; /* registryEndpoint: the one registry they are for */
};

/* Are the credentials for image's registry? */
static bool
creds_for(const struct creds *cr, const char *image)
{
	char reg[256];

	return cr->have && bc_image_registry(image, reg, sizeof(reg)) &&
	       bc_registry_same(reg, cr->registry);
}

static void
creds_load(const struct fetcher *f, struct creds *cr)
{
	bc_config c;

	memset(cr, 0, sizeof(*cr));
	if (bc_config_load(f->config, &c, NULL) < 0)
		return;
	if (c.uuid && c.device_api_key && c.registry_endpoint) {
		snprintf(cr->user, sizeof(cr->user), "d_%s", c.uuid);
		snprintf(cr->key, sizeof(cr->key), "%s", c.device_api_key);
		snprintf(cr->registry, sizeof(cr->registry), "%s", c.registry_endpoint);
		cr->have = true;
	}
	bc_config_free(&c);
}

static void
creds_clear(struct creds *cr)
{
	explicit_bzero(cr, sizeof(*cr));
}

/* The X-Registry-Auth for an image that names a registry; NULL when there
 * are no credentials or no registry. A secret. */
static char *
auth_for(const char *image, const struct creds *cr)
{
	if (!creds_for(cr, image))
		return NULL;
	return bc_registry_auth(cr->user, cr->key, cr->registry);
}

/* How many bytes the image needs, from its registry (0: unknown). */
static uint64_t
estimate(const char *image, const struct creds *cr)
{
	char reg[256];
	uint64_t bytes = 0;
	bc_err err = {0};

	if (!bc_image_registry(image, reg, sizeof(reg)))
		return 0;
	if (fetcher_image_size(image, creds_for(cr, image) ? cr->user : NULL,
			       creds_for(cr, image) ? cr->key : NULL, 20, &bytes, &err) < 0) {
		log_info("'%s': size unknown (%s); the pull's own totals guard the disk", image,
			 err.msg);
		return 0;
	}
	log_info("'%s': %llu bytes by the registry manifest", image, (unsigned long long)bytes);
	return bytes;
}

/* The disk guard: 0 when there is room (or the engine's disk cannot be
 * seen from here), else -1 with the reason. */
static int
disk_guard(struct fetcher *f, bc_docker *d, uint64_t need, uint64_t *avail, uint64_t *reserve,
	   bc_err *err)
{
	json_t *info = NULL;
	const char *root;
	uint64_t size;
	bc_err serr = {0};
	int rc = -1;

	*avail = 0;
	if (bc_docker_request(d, "GET", "/info", NULL, &info, err) < 0)
		return -1;
	root = json_string_value(json_object_get(info, "DockerRootDir"));
	if (root == NULL) {
		bc_err_set(err, BC_EPROTO, "docker /info has no DockerRootDir");
	} else if (bc_disk_space(root, avail, &size, &serr) < 0) {
		/* We run beside the engine, not on its filesystem (in a
		 * container, or the engine has another data-root): its disk
		 * cannot be measured here, so no pull is refused for it. */
		if (!atomic_exchange(&f->guard_warned, true))
			log_warnx("disk guard off: the engine's data root cannot be seen here "
				  "(%s)",
				  serr.msg);
		rc = 0;
	} else if (bc_disk_reserve(f->reserve, size, reserve, err) == 0) {
		if (need > 0 && (need > *avail || *avail - need < *reserve))
			bc_err_set(
			    err, BC_EINVAL,
			    "disk: the image needs %llu MiB but %s has %llu MiB free and keeps "
			    "%llu MiB in reserve",
			    (unsigned long long)(need >> 20), root,
			    (unsigned long long)(*avail >> 20),
			    (unsigned long long)(*reserve >> 20));
		else
			rc = 0;
	}
	json_decref(info);
	return rc;
}

/* One attempt of a pull, on the pool. Ends with p->st: done, failed,
 * cancelled, or still pulling (a retry is worth it: the loop decides). */
static void
attempt(void *ud)
{
	struct pull *p = ud;
	struct fetcher *f = p->f;
	struct creds cr;
	char *auth;
	bc_err err = {0};
	uint64_t need;
	json_t *img;

	creds_load(f, &cr);
	auth = p->auth ? p->auth : auth_for(p->image, &cr);
	need = estimate(p->image, &cr);
	memset(&p->prog, 0, sizeof(p->prog));
	p->disk_full = false;
	p->st = BC_JOB_FAILED;
	if (p->d == NULL && (p->d = bc_docker_new(NULL, &err)) == NULL)
		goto failed;
	if (disk_guard(f, p->d, need, &p->avail, &p->reserve, &err) < 0) {
		snprintf(p->error, sizeof(p->error), "%s", err.msg);
		goto out; /* final: retrying will not make room */
	}
	if (need > 0)
		p->avail = 0; /* checked already: no second guard while pulling */
	if (bc_docker_image_pull(p->d, p->image, auth, on_progress, p, &err) == 0) {
		if (p->disk_full) {
			snprintf(p->error, sizeof(p->error),
				 "disk: pulling '%.300s' would leave less than the %llu MiB reserve",
				 p->image, (unsigned long long)(p->reserve >> 20));
			goto out;
		}
		if (atomic_load(&p->cancel)) {
			p->st = BC_JOB_CANCELLED;
			goto out;
		}
		if ((img = bc_docker_image_inspect(p->d, p->image, &err)) == NULL)
			goto failed;
		snprintf(p->image_id, sizeof(p->image_id), "%s",
			 json_string_value(json_object_get(img, "Id")) ?: "");
		json_decref(img);
		p->st = BC_JOB_DONE;
		goto out;
	}
failed:
	snprintf(p->error, sizeof(p->error), "%s", err.msg);
	if (err.code == BC_ESYS && p->d != NULL) { /* the engine went away */
		bc_docker_free(p->d);
		p->d = NULL;
	}
	if (atomic_load(&p->cancel))
		p->st = BC_JOB_CANCELLED;
	else if (p->attempt < f->retries && bc_pull_retryable(err.msg))
		p->st = BC_JOB_PULLING;
out:
	if (auth != p->auth && auth != NULL) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	creds_clear(&cr);
}

static void
pull_free(struct pull *p)
{
	if (p->auth != NULL) {
		explicit_bzero(p->auth, strlen(p->auth));
		free(p->auth);
	}
	bc_docker_free(p->d);
	free(p);
}

static size_t
slot_of(const struct fetcher *f, uint64_t id)
{
	for (size_t i = 0; i < BC_JOBS_MAX; i++)
		if (f->jobs.slot[i].id == id)
			return i;
	return BC_JOBS_MAX;
}

/* On the loop: the pull ends as p->st says; its slot goes to the next. */
static void
finish(struct pull *p)
{
	struct fetcher *f = p->f;
	size_t i = slot_of(f, p->id);
	bc_job *j = i < BC_JOBS_MAX ? &f->jobs.slot[i] : NULL;

	if (j != NULL) {
		j->attempts = p->attempt + 1;
		bc_jobs_end(j, p->st, p->image_id, p->st == BC_JOB_CANCELLED ? NULL : p->error);
		if (p->st == BC_JOB_DONE) {
			fetcher_record_pull(f, j->image);
			log_info("job %llu: pulled %s", (unsigned long long)j->id, j->image);
		} else {
			log_warnx("job %llu: %s: %s", (unsigned long long)j->id, j->image,
				  j->error);
		}
		fetcher_publish_done(f, j);
		f->pulls[i] = NULL;
	}
	f->pulling--;
	pull_free(p);
	fetcher_kick(f);
}

/* On the loop: an attempt ended. A retry keeps the pull's slot while it
 * waits. */
static void
attempt_done(void *ud, bool ran)
{
	struct pull *p = ud;
	struct fetcher *f = p->f;
	bool cancel = atomic_load(&p->cancel) || f->stopping || !ran;

	if (p->st == BC_JOB_PULLING && !cancel) {
		uint32_t r = 0;
		uint64_t wait = bc_backoff_ms(p->attempt, 1000, 30000,
					      getrandom(&r, sizeof(r), 0) == sizeof(r) ? r : 7);
		log_warnx("pull '%s' (attempt %u): %s; retrying in %llu ms", p->image,
			  p->attempt + 1, p->error, (unsigned long long)wait);
		p->attempt++;
		p->retry_at = bc_mono_ms() + wait;
		return; /* the loop's timer starts the next attempt */
	}
	if (!ran || (p->st == BC_JOB_PULLING && cancel))
		p->st = BC_JOB_CANCELLED;
	finish(p);
}

static void
submit(struct fetcher *f, struct pull *p)
{
	bc_err err = {0};

	p->retry_at = 0;
	if (bc_pool_submit(f->pool, attempt, attempt_done, p, &err) < 0) {
		/* cannot happen while pulls <= workers; end it rather than lose it */
		snprintf(p->error, sizeof(p->error), "%s", err.msg);
		p->st = BC_JOB_FAILED;
		finish(p);
	}
}

void
fetcher_kick(struct fetcher *f)
{
	while (!f->stopping && f->pulling < f->workers) {
		char *auth = NULL;
		bc_job *j = bc_jobs_start_next(&f->jobs, &auth);
		struct pull *p;
		size_t i;
		if (j == NULL)
			return;
		i = (size_t)(j - f->jobs.slot);
		if ((p = calloc(1, sizeof(*p))) == NULL) {
			if (auth != NULL) {
				explicit_bzero(auth, strlen(auth));
				free(auth);
			}
			bc_jobs_end(j, BC_JOB_FAILED, NULL, "out of memory");
			fetcher_publish_done(f, j);
			continue;
		}
		p->f = f;
		p->id = j->id;
		p->auth = auth;
		snprintf(p->image, sizeof(p->image), "%s", j->image);
		f->pulls[i] = p;
		f->pulling++;
		log_info("job %llu: pulling %s", (unsigned long long)j->id, j->image);
		submit(f, p);
	}
}

/* The loop's timer: attempts whose retry is due. */
static uint64_t
retry_due(void *ud)
{
	struct fetcher *f = ud;
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < BC_JOBS_MAX; i++)
		if (f->pulls[i] != NULL && f->pulls[i]->retry_at != 0 && f->pulls[i]->retry_at < next)
			next = f->pulls[i]->retry_at;
	return next;
}

static void
retry_fire(void *ud)
{
	struct fetcher *f = ud;
	uint64_t now = bc_mono_ms();

	for (size_t i = 0; i < BC_JOBS_MAX; i++) {
		struct pull *p = f->pulls[i];
		if (p != NULL && p->retry_at != 0 && p->retry_at <= now)
			submit(f, p);
	}
}

void
fetcher_cancel_pull(struct fetcher *f, const bc_job *j)
{
	size_t i = (size_t)(j - f->jobs.slot);
	struct pull *p = i < BC_JOBS_MAX ? f->pulls[i] : NULL;

	if (p == NULL)
		return;
	atomic_store(&p->cancel, true);
	if (p->retry_at != 0) { /* waiting for a retry: it ends now */
		p->st = BC_JOB_CANCELLED;
		finish(p);
	}
}

void
fetcher_stop_pulls(struct fetcher *f)
{
	f->stopping = true;
	for (size_t i = 0; i < BC_JOBS_MAX; i++)
		fetcher_cancel_pull(f, &f->jobs.slot[i]);
}

int
fetcher_jobs_start(struct fetcher *f, bc_err *err)
{
	return bc_daemon_timer(f->d, retry_due, retry_fire, f, err);
}
