/* The fetcher's workers: each takes a queued job and pulls it through the
 * Docker API, publishing progress, retrying what is worth a retry, and
 * refusing a pull that would eat into the disk reserve. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

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

	m.body.fetch_done.job = j->id;
	m.body.fetch_done.instance = f->instance;
	m.body.fetch_done.image = (char *)j->image;
	m.body.fetch_done.ok = j->state == BC_JOB_DONE;
	m.body.fetch_done.id = j->state == BC_JOB_DONE ? (char *)j->image_id : NULL;
	m.body.fetch_done.error = j->state == BC_JOB_DONE ? NULL : (char *)j->error;
	if (bc_send(f->pub, &m, &err) < 0)
		log_warnx("publish: %s", err.msg);
}

/* One pull in flight: what the progress callback needs. */
struct pull {
	struct fetcher *f;
	bc_job *j; /* fields other than progress are read under mu */
	bc_progress prog;
	uint64_t last_pub;
	unsigned last_pct;
	uint64_t avail, reserve; /* the disk guard while bytes arrive */
	bool disk_full;
};

static int
on_progress(void *ud, json_t *obj)
{
	struct pull *p = ud;
	uint64_t cur, tot, now = bc_mono_ms();
	unsigned pct;
	bool stop;

	bc_progress_feed(&p->prog, obj);
	bc_progress_sum(&p->prog, &cur, &tot, &pct);
	pthread_mutex_lock(&p->f->mu);
	p->j->current = cur;
	p->j->total = tot;
	p->j->percent = pct;
	stop = p->j->cancel || p->f->stopping;
	pthread_mutex_unlock(&p->f->mu);
	/* no size from the registry: the totals Docker reports guard the disk */
	if (p->avail && tot > 0 && (tot > p->avail || p->avail - tot < p->reserve)) {
		p->disk_full = true;
		return 1;
	}
	if (pct != p->last_pct && (now - p->last_pub >= 250 || pct == 100)) {
		bc_msg m = {.type = BC_MSG_FETCH_PROGRESS};
		m.body.fetch_progress.job = p->j->id;
		m.body.fetch_progress.instance = p->f->instance;
		m.body.fetch_progress.image = p->j->image;
		m.body.fetch_progress.percent = pct;
		m.body.fetch_progress.current = cur;
		m.body.fetch_progress.total = tot;
		bc_send(p->f->pub, &m, NULL);
		p->last_pub = now;
		p->last_pct = pct;
	}
	return stop ? 1 : 0;
}

/* The device's registry credentials as the supervisor uses them:
 * d_<uuid> / deviceApiKey from config.json, read once per job. A secret:
 * creds_clear wipes it. */
struct creds {
	bool have;
	char user[128];
	char key[512];
};

static void
creds_load(const struct fetcher *f, struct creds *cr)
{
	bc_config c;

	memset(cr, 0, sizeof(*cr));
	if (bc_config_load(f->config, &c, NULL) < 0)
		return;
	if (c.uuid && c.device_api_key) {
		snprintf(cr->user, sizeof(cr->user), "d_%s", c.uuid);
		snprintf(cr->key, sizeof(cr->key), "%s", c.device_api_key);
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
	char reg[256];

	if (!cr->have || !bc_image_registry(image, reg, sizeof(reg)))
		return NULL;
	return bc_registry_auth(cr->user, cr->key, reg);
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
	if (fetcher_image_size(image, cr->have ? cr->user : NULL, cr->have ? cr->key : NULL, 20,
			       &bytes, &err) < 0) {
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
		pthread_mutex_lock(&f->mu);
		if (!f->guard_warned)
			log_warnx("disk guard off: the engine's data root cannot be seen here "
				  "(%s)",
				  serr.msg);
		f->guard_warned = true;
		pthread_mutex_unlock(&f->mu);
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

/* Pull job j with retries. Returns the state it ends in; the reason or the
 * image id go to errbuf / idbuf (copied into the job under the lock). */
static enum bc_job_state
run(struct fetcher *f, bc_docker **d, bc_job *j, char *auth, const struct creds *cr,
    char *errbuf, char *idbuf)
{
	json_t *img;

	for (unsigned attempt = 0;; attempt++) {
		struct pull p = {.f = f, .j = j};
		bc_err err = {0};
		uint64_t need = estimate(j->image, cr);
		bool cancel;

		if (*d == NULL && (*d = bc_docker_new(NULL, &err)) == NULL)
			goto failed;
		if (disk_guard(f, *d, need, &p.avail, &p.reserve, &err) < 0) {
			snprintf(errbuf, 512, "%s", err.msg);
			return BC_JOB_FAILED; /* final: retrying will not make room */
		}
		if (need > 0)
			p.avail = 0; /* checked already: no second guard while pulling */
		if (bc_docker_image_pull(*d, j->image, auth, on_progress, &p, &err) == 0) {
			pthread_mutex_lock(&f->mu);
			cancel = j->cancel || f->stopping;
			pthread_mutex_unlock(&f->mu);
			if (p.disk_full) {
				snprintf(errbuf, 512,
					 "disk: pulling '%.300s' would leave less than the %llu "
					 "MiB reserve",
					 j->image, (unsigned long long)(p.reserve >> 20));
				return BC_JOB_FAILED;
			}
			if (cancel)
				return BC_JOB_CANCELLED;
			if ((img = bc_docker_image_inspect(*d, j->image, &err)) == NULL)
				goto failed;
			snprintf(idbuf, 128, "%s",
				 json_string_value(json_object_get(img, "Id")) ?: "");
			json_decref(img);
			return BC_JOB_DONE;
		}
	failed:
		snprintf(errbuf, 512, "%s", err.msg);
		if (err.code == BC_ESYS && *d != NULL) { /* the engine went away */
			bc_docker_free(*d);
			*d = NULL;
		}
		pthread_mutex_lock(&f->mu);
		cancel = j->cancel || f->stopping;
		j->attempts = attempt + 1;
		if (!cancel && attempt < f->retries && bc_pull_retryable(err.msg)) {
			uint32_t r = 0;
			struct timespec ts;
			uint64_t wait = bc_backoff_ms(
			    attempt, 1000, 30000, getrandom(&r, sizeof(r), 0) == sizeof(r) ? r : 7);
			log_warnx("pull '%s' (attempt %u): %s; retrying in %llu ms", j->image,
				  attempt + 1, err.msg, (unsigned long long)wait);
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += (time_t)(wait / 1000);
			ts.tv_nsec += (long)(wait % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			/* a cancel or a stop wakes us early */
			while (!j->cancel && !f->stopping &&
			       pthread_cond_timedwait(&f->cv, &f->mu, &ts) == 0)
				;
			cancel = j->cancel || f->stopping;
			pthread_mutex_unlock(&f->mu);
			if (cancel)
				return BC_JOB_CANCELLED;
			continue;
		}
		pthread_mutex_unlock(&f->mu);
		return cancel ? BC_JOB_CANCELLED : BC_JOB_FAILED;
	}
}

static void *
worker(void *arg)
{
	struct fetcher *f = arg;
	bc_docker *d = NULL;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		bc_job *j = NULL;
		char *auth = NULL, errbuf[512] = "", idbuf[128] = "";
		struct creds cr;
		enum bc_job_state st;

		while (!f->stopping && (j = bc_jobs_start_next(&f->jobs, &auth)) == NULL)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->stopping)
			break;
		pthread_mutex_unlock(&f->mu);

		creds_load(f, &cr);
		if (auth == NULL)
			auth = auth_for(j->image, &cr);
		log_info("job %llu: pulling %s", (unsigned long long)j->id, j->image);
		st = run(f, &d, j, auth, &cr, errbuf, idbuf);
		creds_clear(&cr);
		if (auth != NULL) {
			explicit_bzero(auth, strlen(auth));
			free(auth);
		}

		pthread_mutex_lock(&f->mu);
		bc_jobs_end(j, st, idbuf, st == BC_JOB_CANCELLED ? NULL : errbuf);
		if (st == BC_JOB_DONE) {
			fetcher_record_pull(f, j->image);
			log_info("job %llu: pulled %s", (unsigned long long)j->id, j->image);
		} else {
			log_warnx("job %llu: %s: %s", (unsigned long long)j->id, j->image,
				  j->error);
		}
		fetcher_publish_done(f, j);
		pthread_cond_broadcast(&f->cv);
	}
	pthread_mutex_unlock(&f->mu);
	bc_docker_free(d);
	return NULL;
}

int
fetcher_start_workers(struct fetcher *f, bc_err *err)
{
	for (size_t i = 0; i < f->workers; i++)
		if (pthread_create(&f->th[i], NULL, worker, f) != 0)
			return bc_err_set(err, BC_ESYS, "start fetch worker %zu", i);
	return 0;
}

void
fetcher_stop_workers(struct fetcher *f)
{
	pthread_mutex_lock(&f->mu);
	f->stopping = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	/* a pull in flight stops at its next progress message; the process
	 * exits after this, so the workers are not waited for */
	for (size_t i = 0; i < f->workers; i++)
		pthread_detach(f->th[i]);
}
