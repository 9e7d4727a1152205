/* balena-compose up / down / ps / state: clients of the reconciler. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/client.h"
#include "../lib/compose.h"
#include "../lib/target.h"
#include "cli.h"

int
cli_state(const char *cmd, uint64_t *gen, bool *settled, json_t **doc)
{
	bc_err err = {0};

	if (bc_client_state(NULL, gen, settled, doc, &err) < 0) {
		fprintf(stderr, "balena-compose %s: %s\n", cmd, err.msg);
		return -1;
	}
	return 0;
}

static void
print_waiting(void *ud, const char *waiting)
{
	(void)ud;
	fprintf(stderr, "waiting: %s\n", waiting);
}

int
cli_wait(const char *cmd, uint64_t gen, int timeout_s)
{
	bc_err err = {0};

	if (bc_client_wait(NULL, gen, timeout_s * 1000, print_waiting, NULL, &err) < 0) {
		fprintf(stderr, "balena-compose %s: %s\n", cmd, err.msg);
		return 1;
	}
	return 0;
}

static bool
app_matches(const json_t *app, const char *want)
{
	char id[32];
	const char *uuid = json_string_value(json_object_get(app, "uuid"));
	const char *name = json_string_value(json_object_get(app, "name"));

	snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(app, "id")));
	return want == NULL || strcmp(id, want) == 0 || (uuid && strcmp(uuid, want) == 0) ||
	       (name && strcmp(name, want) == 0);
}

void
cli_print_ps(const json_t *doc, const char *want)
{
	size_t i, k;
	json_t *app, *s;

	printf("%-16s %-12s %-36s %-12s %-10s %s\n", "APP", "SERVICE", "CONTAINER", "ID", "STATUS",
	       "IMAGE");
	json_array_foreach(json_object_get(doc, "apps"), i, app)
	{
		const char *an = json_string_value(json_object_get(app, "name"));
		char idbuf[32];
		if (!app_matches(app, want))
			continue;
		if (an == NULL) {
			snprintf(idbuf, sizeof(idbuf), "%lld (removed)",
				 (long long)json_integer_value(json_object_get(app, "id")));
			an = idbuf;
		}
		json_array_foreach(json_object_get(app, "services"), k, s)
		    printf("%-16s %-12s %-36s %-12s %-10s %s\n", an,
			   json_string_value(json_object_get(s, "name")),
			   json_string_value(json_object_get(s, "container")),
			   json_string_value(json_object_get(s, "id")),
			   json_string_value(json_object_get(s, "status")),
			   json_string_value(json_object_get(s, "image")));
	}
}

static char *
read_file(const char *cmd, const char *path, size_t *len)
{
	bc_buf b = {.max = BC_PROTO_MAX_DOC};
	char chunk[8192];
	size_t n;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	bc_err err = {0};

	if (f == NULL) {
		fprintf(stderr, "balena-compose %s: cannot open '%s': %m\n", cmd, path);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (bc_buf_add(&b, chunk, n, &err) < 0) {
			fprintf(stderr, "balena-compose %s: '%s': %s\n", cmd, path, err.msg);
			bc_buf_free(&b);
			b.data = NULL;
			break;
		}
	if (f != stdin)
		fclose(f);
	*len = b.len;
	return b.data ? b.data : strdup("");
}

json_t *
cli_load_target(const char *cmd, const char *compose, const char *project, const char *target,
		bc_state *st)
{
	bc_compose_opts co = {.project = project};
	const char *source = compose ? compose : target;
	bc_err err = {0};
	bc_state tmp;
	json_t *doc = NULL;

	if (compose != NULL) {
		doc = bc_compose_load(compose, &co, &err);
	} else {
		json_error_t je;
		size_t len;
		char *text = read_file(cmd, target, &len);
		if (text == NULL)
			return NULL;
		doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
		free(text);
		if (doc == NULL)
			bc_err_set(&err, BC_EINVAL, "%s:%d:%d: %s", target, je.line, je.column,
				   je.text);
	}
	/* the whole of it is checked here, naming the file, before anything is sent */
	if (doc != NULL && bc_target_parse(doc, NULL, st ? st : &tmp, &err) < 0) {
		bc_err_wrap(&err, "%s", source);
		json_decref(doc);
		doc = NULL;
	} else if (doc != NULL && st == NULL) {
		bc_state_free(&tmp);
	}
	if (doc == NULL)
		fprintf(stderr, "balena-compose %s: %s\n", cmd, err.msg);
	return doc;
}

static const char up_usage[] =
    "usage: balena-compose up -f docker-compose.yml [-p NAME] [--detach] [--timeout S]\n"
    "       balena-compose up -t TARGET.json [--detach] [--timeout S]\n"
    "\n"
    "Run a compose file as an app (local mode), or merge the apps of a balena\n"
    "v3 target state document, and wait until they run (default: up to 600 s).\n"
    "  -f, --file FILE    a docker-compose.yml\n"
    "  -p, --project NAME the app's name (default: the file's name:, else its directory)\n"
    "  -t, --target FILE  a v3 target (- for standard input)\n"
    "  -d, --detach       return once the target is accepted\n"
    "      --force        update even services whose app holds its update lock\n"
    "      --timeout S    how long to wait for it to settle\n"
    "Exit status: 0 running as asked, 1 rejected or not settled, 100 usage.\n";

int
cmd_up(int argc, char **argv)
{
	static const struct option opts[] = {{"target", 1, NULL, 't'},	{"file", 1, NULL, 'f'},
					     {"project", 1, NULL, 'p'}, {"detach", 0, NULL, 'd'},
					     {"force", 0, NULL, 'F'},	{"timeout", 1, NULL, 'T'},
					     {"help", 0, NULL, 'h'},	{NULL, 0, NULL, 0}};
	const char *path = NULL, *compose = NULL, *project = NULL;
	int detach = 0, timeout = 600, c, rc;
	bool force = false;
	bc_err err = {0};
	json_t *doc;
	char *text;
	uint64_t gen;

	optind = 1;
	while ((c = getopt_long(argc, argv, "t:f:p:dh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			path = optarg;
			break;
		case 'f':
			compose = optarg;
			break;
		case 'p':
			project = optarg;
			break;
		case 'd':
			detach = 1;
			break;
		case 'F':
			force = true;
			break;
		case 'T':
			timeout = atoi(optarg);
			break;
		case 'h':
			fputs(up_usage, stdout);
			return 0;
		default:
			fputs(up_usage, stderr);
			return 100;
		}
	}
	if ((path == NULL) == (compose == NULL) || (project && !compose) || optind != argc ||
	    timeout <= 0) {
		fputs(up_usage, stderr);
		return 100;
	}
	if ((doc = cli_load_target("up", compose, project, path, NULL)) == NULL)
		return 1;
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	rc = text ? bc_client_apply(NULL, text, force, &gen, &err)
		  : bc_err_set(&err, BC_ESYS, "out of memory");
	free(text);
	if (rc < 0) {
		fprintf(stderr, "balena-compose up: %s\n", err.msg);
		return 1;
	}
	if (detach) {
		printf("target accepted (generation %llu)\n", (unsigned long long)gen);
		return 0;
	}
	if (cli_wait("up", gen, timeout) != 0)
		return 1;
	return cmd_ps(1, (char *[]){"ps", NULL});
}

static const char down_usage[] =
    "usage: balena-compose down [-p APP] [-v] [--timeout SECONDS]\n"
    "\n"
    "Stop and remove an app's containers and networks. Its volumes stay\n"
    "unless -v is given.\n"
    "  -p, --project APP  the app (uuid, name or id); needed when several run\n"
    "  -v, --volumes      remove its volumes too (their data is lost)\n";

int
cmd_down(int argc, char **argv)
{
	static const struct option opts[] = {{"project", 1, NULL, 'p'},
					     {"volumes", 0, NULL, 'v'},
					     {"timeout", 1, NULL, 'T'},
					     {"help", 0, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *app = NULL;
	bool volumes = false;
	int timeout = 600, c;
	bc_err err = {0};
	char only[128] = "";
	uint64_t gen;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			app = optarg;
			break;
		case 'v':
			volumes = true;
			break;
		case 'T':
			timeout = atoi(optarg);
			break;
		case 'h':
			fputs(down_usage, stdout);
			return 0;
		default:
			fputs(down_usage, stderr);
			return 100;
		}
	}
	if (optind != argc || timeout <= 0) {
		fputs(down_usage, stderr);
		return 100;
	}
	if (app == NULL) {
		json_t *doc, *a;
		bool settled;
		size_t i, named = 0;
		if (cli_state("down", &gen, &settled, &doc) < 0)
			return 1;
		json_array_foreach(json_object_get(doc, "apps"), i, a)
		{
			const char *u = json_string_value(json_object_get(a, "uuid"));
			if (json_object_get(a, "name") != NULL && u != NULL) {
				snprintf(only, sizeof(only), "%s", u);
				named++;
			}
		}
		json_decref(doc);
		if (named != 1) {
			fprintf(stderr, "balena-compose down: %s; name it with -p\n",
				named ? "several apps run" : "no app runs");
			return named ? 100 : 1;
		}
		app = only;
	}
	if (bc_client_down(NULL, app, volumes, &gen, &err) < 0) {
		fprintf(stderr, "balena-compose down: %s\n", err.msg);
		return 1;
	}
	return cli_wait("down", gen, timeout);
}

int
cmd_ps(int argc, char **argv)
{
	const char *app = NULL;
	uint64_t gen;
	bool settled;
	json_t *doc;

	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("usage: balena-compose ps [-p APP]\n\nList the services' containers.\n");
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "-p") == 0)
		app = argv[2];
	else if (argc != 1) {
		fprintf(stderr, "usage: balena-compose ps [-p APP]\n");
		return 100;
	}
	if (cli_state("ps", &gen, &settled, &doc) < 0)
		return 1;
	cli_print_ps(doc, app);
	json_decref(doc);
	return 0;
}

int
cmd_state(int argc, char **argv)
{
	uint64_t gen;
	bool settled, as_json = argc == 2 && strcmp(argv[1], "--json") == 0;
	json_t *doc;
	const char *e, *w;

	if (argc > 1 && !as_json) {
		if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
			printf("usage: balena-compose state [--json]\n\nThe reconciler's view: "
			       "target generation, whether it settled, what it waits on.\n");
			return 0;
		}
		fprintf(stderr, "usage: balena-compose state [--json]\n");
		return 100;
	}
	if (cli_state("state", &gen, &settled, &doc) < 0)
		return 1;
	if (as_json) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		e = json_string_value(json_object_get(doc, "error"));
		w = json_string_value(json_object_get(doc, "waiting"));
		printf("generation %llu, %s\n", (unsigned long long)gen,
		       settled ? "settled" : (e ? "failing" : "converging"));
		if (e)
			printf("error: %s\n", e);
		if (w && *w)
			printf("waiting: %s\n", w);
		cli_print_ps(doc, NULL);
	}
	json_decref(doc);
	return 0;
}

int
cmd_config(int argc, char **argv)
{
	static const struct option opts[] = {{"file", 1, NULL, 'f'},
					     {"project", 1, NULL, 'p'},
					     {"help", 0, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	bc_compose_opts co = {0};
	const char *file = NULL;
	json_t *doc;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			file = optarg;
			break;
		case 'p':
			co.project = optarg;
			break;
		case 'h':
			printf("usage: balena-compose config -f docker-compose.yml [-p NAME]\n\n"
			       "Print the v3 target a compose file becomes (validated), without "
			       "running it.\n");
			return 0;
		default:
			return 100;
		}
	}
	if (file == NULL || optind != argc) {
		fprintf(stderr, "usage: balena-compose config -f docker-compose.yml [-p NAME]\n");
		return 100;
	}
	if ((doc = cli_load_target("config", file, co.project, NULL, NULL)) == NULL)
		return 1;
	json_dumpf(doc, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(doc);
	return 0;
}
