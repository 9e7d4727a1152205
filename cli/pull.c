/* balena-compose pull: images onto the device through the fetcher, with a
 * progress bar per image on a terminal, lines otherwise. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ipc/client.h"
#include "lib/model/compose.h"
#include "lib/model/target.h"
#include "cli.h"

#define MAX_IMAGES 256

struct view {
	const char **images;
	size_t n;
	bool tty;
	unsigned pct[MAX_IMAGES];
	uint64_t cur[MAX_IMAGES], tot[MAX_IMAGES];
	const char *state[MAX_IMAGES];
	char error[MAX_IMAGES][256];
	bool drawn;
};

static void
line(const struct view *v, size_t i)
{
	char bar[21];
	unsigned fill = v->pct[i] / 5;

	for (unsigned k = 0; k < 20; k++)
		bar[k] = k < fill ? '#' : '.';
	bar[20] = '\0';
	printf("%-48.48s [%s] %3u%% %7.1f/%-7.1f MiB %s\n", v->images[i], bar, v->pct[i],
	       v->cur[i] / 1048576.0, v->tot[i] / 1048576.0, v->state[i]);
}

static void
draw(struct view *v)
{
	if (v->drawn) {
		char up[24];
		snprintf(up, sizeof(up), "\033[%zuA", v->n);
		cli_raw(stdout, up); /* back to the first line */
	}
	for (size_t i = 0; i < v->n; i++) {
		cli_raw(stdout, "\033[2K");
		line(v, i);
	}
	fflush(stdout);
	v->drawn = true;
}

static void
on_progress(void *ud, size_t i, unsigned percent, uint64_t current, uint64_t total)
{
	struct view *v = ud;
	unsigned before = v->pct[i];

	v->pct[i] = percent;
	v->cur[i] = current;
	v->tot[i] = total;
	v->state[i] = "pulling";
	if (v->tty)
		draw(v);
	else if (percent / 10 != before / 10)
		printf("%s: %u%% (%llu/%llu bytes)\n", v->images[i], percent,
		       (unsigned long long)current, (unsigned long long)total);
}

static void
on_done(void *ud, size_t i, bool ok, const char *error)
{
	struct view *v = ud;

	v->state[i] = ok ? "done" : "FAILED";
	if (ok)
		v->pct[i] = 100;
	snprintf(v->error[i], sizeof(v->error[i]), "%s", ok ? "" : (error ? error : "failed"));
	if (v->tty)
		draw(v);
	else
		printf("%s: %s%s%s\n", v->images[i], ok ? "done" : "failed", ok ? "" : ": ",
		       v->error[i]);
}

/* Is img the image of a service of doc that is built here (a compose
 * file's build: with no image: of its own: nothing to pull)? */
static bool
built_here(json_t *doc, const char *img)
{
	const char *names[CLI_MAX_SERVICES];
	json_t *svcs[CLI_MAX_SERVICES];
	size_t n = cli_services(doc, names, svcs, CLI_MAX_SERVICES);

	for (size_t k = 0; k < n; k++) {
		const json_t *b = json_object_get(svcs[k], "build");
		const char *mine = json_string_value(json_object_get(svcs[k], "image"));
		size_t len = mine ? strlen(mine) : 0;
		if (b != NULL && !json_is_true(json_object_get(b, "image_given")) && mine &&
		    strncmp(img, mine, len) == 0 &&
		    (img[len] == '\0' || strcmp(img + len, ":latest") == 0))
			return true;
	}
	return false;
}

/* The images of a target, once each, into list (copies the caller frees);
 * those built here (doc, may be NULL) left out, said. */
static size_t
images_of(const bc_state *st, json_t *doc, const char **list, size_t max)
{
	size_t n = 0;

	for (size_t a = 0; a < st->n_apps; a++)
		for (size_t s = 0; s < st->apps[a].n_services; s++) {
			const char *img = st->apps[a].services[s].image;
			bool seen = false;
			if (doc != NULL && built_here(doc, img)) {
				printf("%s: skipped, its image is built here (balena-compose "
				       "build -f)\n",
				       st->apps[a].services[s].name);
				continue;
			}
			for (size_t k = 0; k < n; k++)
				seen = seen || strcmp(list[k], img) == 0;
			if (!seen && n < max)
				list[n++] = strdup(img);
		}
	return n;
}

static const char usage[] = "usage: balena-compose pull IMAGE...\n"
			    "       balena-compose pull -f docker-compose.yml [-p NAME]\n"
			    "       balena-compose pull -t TARGET.json\n"
			    "       balena-compose pull --status\n"
			    "       balena-compose pull --cancel JOB\n"
			    "\n"
			    "Get images onto the device through the fetcher, without running\n"
			    "anything; or list the fetcher's jobs; or cancel one.\n"
			    "Exit status: 0 all there, 1 any failed, 100 usage.\n";

static int
status(void)
{
	static const char *const state[] = {"queued", "pulling", "done", "failed", "cancelled"};
	bc_msg req = {.type = BC_MSG_FETCH_STATUS}, rep;
	bc_err err = {0};

	if (bc_client_call(NULL, "fetcher", &req, &rep, BC_MSG_FETCH_JOBS, &err) < 0) {
		fprintf(stderr, "balena-compose pull: %s\n", err.msg);
		return 1;
	}
	printf("%-5s %-48s %-10s %4s %8s %s\n", "JOB", "IMAGE", "STATE", "%", "ATTEMPTS", "ERROR");
	for (size_t i = 0; i < rep.body.fetch_jobs.jobs.n; i++) {
		const bc_fetch_job_rec *j = &rep.body.fetch_jobs.jobs.v[i];
		printf("%-5llu %-48.48s %-10s %4llu %8llu %s\n", (unsigned long long)j->job,
		       j->image, state[j->state], (unsigned long long)j->percent,
		       (unsigned long long)j->attempts, j->error ? j->error : "");
	}
	bc_msg_clear(&rep);
	return 0;
}

static int
cancel(const char *job)
{
	bc_msg req = {.type = BC_MSG_FETCH_CANCEL}, rep;
	bc_err err = {0};
	char *end;

	req.body.fetch_cancel.job = strtoull(job, &end, 10);
	if (*end || end == job) {
		fputs(usage, stderr);
		return 100;
	}
	if (bc_client_call(NULL, "fetcher", &req, &rep, BC_MSG_FETCH_CANCELLED, &err) < 0) {
		fprintf(stderr, "balena-compose pull: %s\n", err.msg);
		return 1;
	}
	printf("job %s cancelled\n", job);
	bc_msg_clear(&rep);
	return 0;
}

int
cli_fetch(const char *cmd, const char **images, size_t n)
{
	static struct view v;
	bc_err err = {0};
	int failed;

	if (n > MAX_IMAGES) {
		fprintf(stderr, "balena-compose %s: more than %d images\n", cmd, MAX_IMAGES);
		return 1;
	}
	memset(&v, 0, sizeof(v));
	v.images = images;
	v.n = n;
	v.tty = isatty(STDOUT_FILENO);
	for (size_t i = 0; i < n; i++)
		v.state[i] = "waiting";
	if (v.tty)
		draw(&v);
	failed =
	    bc_client_fetch(NULL, images, n, NULL, on_progress, on_done, &v, 60 * 60 * 1000, &err);
	if (failed < 0)
		fprintf(stderr, "balena-compose %s: %s\n", cmd, err.msg);
	else if (v.tty)
		for (size_t i = 0; i < n; i++)
			if (v.error[i][0])
				fprintf(stderr, "%s: %s\n", images[i], v.error[i]);
	return failed == 0 ? 0 : 1;
}

int
cmd_pull(int argc, char **argv)
{
	static const struct option opts[] = {{"file", 1, NULL, 'f'},   {"project", 1, NULL, 'p'},
					     {"target", 1, NULL, 't'}, {"status", 0, NULL, 'S'},
					     {"cancel", 1, NULL, 'C'}, {"help", 0, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *images[MAX_IMAGES], *file = NULL, *target = NULL;
	bc_compose_opts co = {0};
	size_t n = 0;
	int c, failed;
	bool owned = false;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:p:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			file = optarg;
			break;
		case 'p':
			co.project = optarg;
			break;
		case 't':
			target = optarg;
			break;
		case 'S':
			return optind == argc ? status() : 100;
		case 'C':
			return optind == argc ? cancel(optarg) : 100;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 100;
		}
	}
	if ((file && target) || ((file || target) && optind != argc) ||
	    (!file && !target && optind == argc)) {
		fputs(usage, stderr);
		return 100;
	}
	if (file || target) {
		bc_state st;
		json_t *doc = cli_load_target(
		    "pull", &(cli_src){.compose = file, .project = co.project, .target = target},
		    &st);
		if (doc == NULL)
			return 1;
		n = images_of(&st, doc, images, MAX_IMAGES);
		bc_state_free(&st);
		json_decref(doc);
		owned = true;
	} else {
		for (int i = optind; i < argc && n < MAX_IMAGES; i++)
			images[n++] = argv[i];
	}
	if (owned && n == 0)
		return 0; /* every image is built here */
	failed = cli_fetch("pull", images, n);
	if (owned)
		for (size_t i = 0; i < n; i++)
			free((char *)images[i]);
	return failed;
}
