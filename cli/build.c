/* Building the images a compose file's services name with build: (up -f,
 * build -f): the engine's builder, its output shown as it comes. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/base/text.h"
#include "lib/docker/build.h"
#include "cli.h"

struct shown {
	const char *svc;
};

size_t
cli_services(json_t *doc, const char **names, json_t **svcs, size_t max)
{
	const char *dev, *app, *rel, *svc;
	json_t *dj, *aj, *rj, *sj;
	size_t n = 0;

	json_object_foreach(doc, dev, dj) json_object_foreach(json_object_get(dj, "apps"), app, aj)
	    json_object_foreach(json_object_get(aj, "releases"), rel, rj)
		json_object_foreach(json_object_get(rj, "services"), svc, sj) if (n < max)
	{
		names[n] = svc;
		svcs[n++] = sj;
	}
	return n;
}

/* The engine, connected on first use into *d; NULL after saying why. */
static bc_docker *
engine(const char *cmd, bc_docker **d)
{
	bc_err err = {0};

	if (*d == NULL && (*d = bc_docker_new(NULL, &err)) == NULL)
		fprintf(stderr, "balena-compose %s: %s\n", cmd, err.msg);
	return *d;
}

static void
show_line(void *ud, const char *line)
{
	const struct shown *s = ud;
	char t[1024];

	if (*line == '\0')
		return;
	snprintf(t, sizeof(t), "%s", line);
	bc_tame(t); /* the build's own words (its RUN steps print what they like) */
	printf("%s | %s\n", s->svc, t);
	fflush(stdout);
}

/* One service's build: 1 built, 0 not needed or not possible (warned),
 * -1 failed (said). */
static int
build_one(const char *cmd, bc_docker **d, const char *svc, const json_t *sj, bool all)
{
	const json_t *b = json_object_get(sj, "build");
	const char *image = json_string_value(json_object_get(sj, "image"));
	const char *ctx = json_string_value(json_object_get(b, "context"));
	bool given = json_is_true(json_object_get(b, "image_given"));
	struct shown sh = {svc};
	bc_err err = {0};
	char id[80];
	struct stat st;
	json_t *have;

	if (image == NULL || ctx == NULL)
		return 0;
	if (engine(cmd, d) == NULL)
		return -1;
	if (!all && !json_is_true(json_object_get(b, "always")) &&
	    (have = bc_docker_image_inspect(*d, image, &err)) != NULL) {
		json_decref(have);
		return 0; /* as docker compose: built when missing (--build: always) */
	}
	if (stat(ctx, &st) < 0 || !S_ISDIR(st.st_mode)) {
		if (given) {
			fprintf(stderr,
				"balena-compose %s: warning: service '%s': build context '%s' is "
				"not here: the image '%s' is used as it is\n",
				cmd, svc, ctx, image);
			return 0;
		}
		fprintf(stderr, "balena-compose %s: service '%s': build context '%s': %s\n", cmd,
			svc, ctx, stat(ctx, &st) < 0 ? strerror(errno) : "not a directory");
		return -1;
	}
	printf("%s | building %s from %s\n", svc, image, ctx);
	fflush(stdout);
	if (bc_build_run(*d, b, image, show_line, &sh, id, &err) < 0) {
		bc_tame(err.msg);
		fprintf(stderr, "balena-compose %s: service '%s': build: %s\n", cmd, svc, err.msg);
		return -1;
	}
	printf("%s | built %s (%.19s)\n", svc, image, id);
	return 1;
}

int
cli_build(const char *cmd, json_t *doc, bool all, const char *const *only, size_t n_only)
{
	const char *names[CLI_MAX_SERVICES];
	json_t *svcs[CLI_MAX_SERVICES];
	size_t n = cli_services(doc, names, svcs, CLI_MAX_SERVICES);
	bc_docker *d = NULL;
	int rc = 0;

	for (size_t k = 0; k < n; k++) {
		bool wanted = n_only == 0;
		for (size_t i = 0; i < n_only; i++)
			wanted |= strcmp(only[i], names[k]) == 0;
		if (rc == 0 && wanted && json_object_get(svcs[k], "build") &&
		    build_one(cmd, &d, names[k], svcs[k], all) < 0)
			rc = -1;
		/* the reconciler has no use for it */
		json_object_del(svcs[k], "build");
	}
	if (d != NULL)
		bc_docker_free(d);
	return rc;
}

int
cli_pull_policy(const char *cmd, json_t *doc)
{
	const char *names[CLI_MAX_SERVICES], *pull[CLI_MAX_SERVICES];
	json_t *svcs[CLI_MAX_SERVICES];
	size_t n = cli_services(doc, names, svcs, CLI_MAX_SERVICES), np = 0;
	bc_docker *d = NULL;
	int rc = 0;

	for (size_t k = 0; k < n && rc == 0; k++) {
		const char *pp = json_string_value(json_object_get(svcs[k], "pull_policy"));
		const char *image = json_string_value(json_object_get(svcs[k], "image"));
		bc_err err = {0};
		json_t *have = NULL;
		if (pp == NULL || image == NULL)
			continue;
		if (strcmp(pp, "always") == 0) {
			pull[np++] = image;
			continue;
		}
		/* never: it must be here already */
		if (engine(cmd, &d) == NULL) {
			rc = -1;
		} else if ((have = bc_docker_image_inspect(d, image, &err)) == NULL) {
			fprintf(stderr,
				"balena-compose %s: service '%s': pull_policy never, and the image "
				"'%s' is not here\n",
				cmd, names[k], image);
			rc = -1;
		}
		json_decref(have);
	}
	if (d != NULL)
		bc_docker_free(d);
	if (rc == 0 && np > 0 && cli_fetch(cmd, pull, np) != 0)
		rc = -1;
	for (size_t k = 0; k < n; k++)
		json_object_del(svcs[k], "pull_policy"); /* the reconciler has no use for it */
	return rc;
}

/* Does the image (inspected) say it is of platform ("os[/arch[/variant]]")? */
static bool
of_platform(const json_t *img, const char *platform)
{
	char want[80];
	const char *os = json_string_value(json_object_get(img, "Os"));
	const char *arch = json_string_value(json_object_get(img, "Architecture"));
	const char *var = json_string_value(json_object_get(img, "Variant"));
	char *a, *v;

	snprintf(want, sizeof(want), "%s", platform);
	if ((a = strchr(want, '/')) != NULL)
		*a++ = '\0';
	if (a != NULL && (v = strchr(a, '/')) != NULL)
		*v++ = '\0';
	else
		v = NULL;
	return os && strcmp(os, want) == 0 && (a == NULL || (arch && strcmp(arch, a) == 0)) &&
	       (v == NULL || (var && strcmp(var, v) == 0));
}

int
cli_platforms(const char *cmd, json_t *doc)
{
	const char *names[CLI_MAX_SERVICES];
	json_t *svcs[CLI_MAX_SERVICES];
	size_t n = cli_services(doc, names, svcs, CLI_MAX_SERVICES);
	bc_docker *d = NULL;
	int rc = 0;

	for (size_t k = 0; k < n && rc == 0; k++) {
		const char *pf = json_string_value(
		    json_object_get(json_object_get(svcs[k], "composition"), "platform"));
		const char *image = json_string_value(json_object_get(svcs[k], "image"));
		const char *svc = names[k];
		bc_err err = {0};
		json_t *img;
		if (pf == NULL || image == NULL)
			continue;
		if (engine(cmd, &d) == NULL) {
			rc = -1;
			continue;
		}
		img = bc_docker_image_inspect(d, image, &err);
		if (img != NULL && of_platform(img, pf)) {
			json_decref(img);
			continue;
		}
		json_decref(img);
		printf("%s | pulling %s for %s\n", svc, image, pf);
		fflush(stdout);
		if (bc_docker_image_pull_for(d, image, pf, NULL, NULL, NULL, &err) < 0) {
			bc_tame(err.msg);
			fprintf(stderr, "balena-compose %s: service '%s': %s\n", cmd, svc, err.msg);
			rc = -1;
			continue;
		}
		/* a registry with one platform's image hands that one whatever
		 * was asked: it is checked again */
		img = bc_docker_image_inspect(d, image, &err);
		if (img == NULL || !of_platform(img, pf)) {
			fprintf(stderr,
				"balena-compose %s: service '%s': the image '%s' is not for %s (its "
				"registry has it for %s/%s only)\n",
				cmd, svc, image, pf,
				img ? json_string_value(json_object_get(img, "Os")) ?: "?" : "?",
				img ? json_string_value(json_object_get(img, "Architecture")) ?: "?"
				    : "?");
			rc = -1;
		}
		json_decref(img);
	}
	if (d != NULL)
		bc_docker_free(d);
	return rc;
}

static const char build_usage[] =
    "usage: balena-compose build -f docker-compose.yml [-p NAME] [SERVICE...]\n"
    "\n"
    "Build the images of a compose file's services that have build: (all, or\n"
    "those named), with the engine's builder, showing its output. up -f builds\n"
    "the ones whose image is missing; up --build all of them.\n"
    "  -f, --file FILE    a docker-compose.yml\n"
    "  -p, --project NAME the app's name (default: the file's name:, else its directory)\n"
    "      --profile NAME services of that profile too (again for more)\n"
    "      --env-file FILE variables for interpolation instead of the directory's .env\n";

int
cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {{"file", 1, NULL, 'f'},	 {"project", 1, NULL, 'p'},
					     {"profile", 1, NULL, 'P'},	 {"env-file", 1, NULL, 'E'},
					     {"help", 0, NULL, 'h'},	 {NULL, 0, NULL, 0}};
	cli_src src = {0};
	char profiles[512] = "";
	json_t *doc;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:p:h", opts, NULL)) != -1) {
		if ((rc = cli_src_option(c, optarg, &src, profiles, sizeof(profiles))) > 0)
			continue;
		if (rc == 0 && c == 'h') {
			fputs(build_usage, stdout);
			return 0;
		}
		fputs(build_usage, stderr);
		return 100;
	}
	if (src.compose == NULL) {
		fputs(build_usage, stderr);
		return 100;
	}
	if ((doc = cli_read_target("build", &src)) == NULL)
		return 1;
	rc = cli_build("build", doc, true, (const char *const *)argv + optind,
		       (size_t)(argc - optind));
	json_decref(doc);
	return rc == 0 ? 0 : 1;
}
