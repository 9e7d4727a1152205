/* balena-compose up / down / ps / state: clients of the reconciler. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/buf.h"
#include "lib/base/clock.h"
#include "lib/base/text.h"
#include "lib/ipc/client.h"
#include "lib/model/compose.h"
#include "lib/model/target.h"
#include "lib/plan/statedoc.h"
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
cli_wait(const char *cmd, const bc_ack *ack, const int64_t *apps, size_t n,
	 enum bc_wait_until until, int timeout_s)
{
	bc_err err = {0};

	if (bc_client_wait(NULL, ack, apps, n, until, timeout_s * 1000, print_waiting, NULL, &err) <
	    0) {
		fprintf(stderr, "balena-compose %s: %s\n", cmd, err.msg);
		return err.code == BC_EINVAL ? 2 : 1; /* 2: apps failed, the others ended */
	}
	return 0;
}

/* The poll's watcher: a thread that says what is awaited, until told. */
struct poll_watch {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

static void *
poll_watch(void *arg)
{
	struct poll_watch *w = arg;
	uint64_t t0 = bc_mono_ms();
	struct timespec until;

	pthread_mutex_lock(&w->mu);
	for (int n = 1; !w->done; n++) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += n == 1 ? 2 : 5;
		while (!w->done && pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
			;
		if (w->done)
			break;
		pthread_mutex_unlock(&w->mu);
		{
			bc_msg req = {.type = BC_MSG_GW_STATUS}, rep;
			bc_err err = {0};
			const char *where = NULL;
			bool got =
			    bc_client_call(NULL, "gateway", &req, &rep, BC_MSG_GW_INFO, &err) == 0;
			if (got)
				where = rep.body.gw_info.endpoint;
			fprintf(stderr,
				"waiting: the cloud%s%s has not answered the poll yet (%llu s)\n",
				where ? " at " : "", where ? where : "",
				(unsigned long long)((bc_mono_ms() - t0) / 1000));
			if (got)
				bc_msg_clear(&rep);
		}
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int
cli_poll(bc_ack *ack, bc_err *err)
{
	struct poll_watch w = {.done = false};
	pthread_t th;
	bool watching;
	int rc;

	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	watching = pthread_create(&th, NULL, poll_watch, &w) == 0;
	rc = bc_client_poll(NULL, ack, err);
	if (watching) {
		pthread_mutex_lock(&w.mu);
		w.done = true;
		pthread_cond_signal(&w.cv);
		pthread_mutex_unlock(&w.mu);
		pthread_join(th, NULL);
	}
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return rc;
}

bool
cli_app_matches(const json_t *app, const char *const *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (bc_statedoc_app_is(app, want[i]))
			return true;
	return n == 0;
}

/* An app's name for people: its name, else its id; "(removed)" after it
 * when it has left the target. */
static const char *
app_label(const json_t *app, char *buf, size_t n)
{
	const char *name = json_string_value(json_object_get(app, "name"));
	bool removed = json_is_true(json_object_get(app, "removed"));

	if (name != NULL && !removed)
		return name;
	if (name != NULL)
		snprintf(buf, n, "%s (removed)", name);
	else
		snprintf(buf, n, "%lld%s",
			 (long long)json_integer_value(json_object_get(app, "id")),
			 removed ? " (removed)" : "");
	return buf;
}

void
cli_print_ps(const json_t *doc, const char *const *want, size_t n)
{
	size_t i;
	const char *k;
	json_t *app, *s;

	printf("%-16s %-12s %-36s %-12s %-12s %s\n", "APP", "SERVICE", "CONTAINER", "ID", "STATUS",
	       "IMAGE");
	json_array_foreach(json_object_get(doc, "apps"), i, app)
	{
		char buf[300];
		const char *an = app_label(app, buf, sizeof(buf));
		if (!cli_app_matches(app, want, n))
			continue;
		json_object_foreach(json_object_get(app, "services"), k, s)
		    printf("%-16s %-12s %-36s %-12s %-12s %s\n", an, k,
			   json_string_value(json_object_get(s, "container")) ?: "-",
			   json_string_value(json_object_get(s, "id")) ?: "-",
			   json_string_value(json_object_get(s, "status")),
			   json_string_value(json_object_get(s, "image")) ?: "-");
	}
}

/* The apps of doc that want names, as a JSON array (the caller's). */
static json_t *
apps_json(const json_t *doc, const char *const *want, size_t n)
{
	json_t *out = json_array(), *app;
	size_t i;

	json_array_foreach(json_object_get(doc, "apps"), i, app) if (cli_app_matches(app, want, n))
	    json_array_append(out, app);
	return out;
}

static char *
read_file(const char *cmd, const char *path, size_t *len)
{
	bc_buf b = {.max = BC_PROTO_MAX_DOC};
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	bc_err err = {0};

	if (f == NULL) {
		fprintf(stderr, "balena-compose %s: cannot open '%s': %m\n", cmd, path);
		return NULL;
	}
	if (bc_buf_read(&b, f, &err) < 0) {
		fprintf(stderr, "balena-compose %s: '%s': %s\n", cmd, path, err.msg);
		bc_buf_free(&b);
		b.data = NULL;
	}
	if (f != stdin)
		fclose(f);
	*len = b.len;
	return b.data ? b.data : strdup("");
}

/* As docker compose says it (to stderr, once per variable). */
static void
warn_unset(void *ud, const char *name)
{
	fprintf(stderr,
		"balena-compose %s: warning: The \"%s\" variable is not set. Defaulting to a "
		"blank string.\n",
		(const char *)ud, name);
}

static void
warn_compose(void *ud, const char *msg)
{
	char m[512];

	snprintf(m, sizeof(m), "%s", msg);
	bc_tame(m); /* the file's words */
	fprintf(stderr, "balena-compose %s: warning: %s\n", (const char *)ud, m);
}

json_t *
cli_read_target(const char *cmd, const cli_src *src)
{
	bc_compose_opts co = {.project = src->project,
			      .profiles =
				  src->profiles ? src->profiles : getenv("COMPOSE_PROFILES"),
			      .env_file = src->env_file,
			      .unset = warn_unset,
			      .warn = warn_compose,
			      .ud = (void *)cmd};
	bc_err err = {0};
	json_t *doc;

	if (src->compose != NULL) {
		doc = bc_compose_load(src->compose, &co, &err);
	} else {
		size_t len;
		char *text = read_file(cmd, src->target, &len);
		if (text == NULL)
			return NULL;
		doc = bc_target_load(text, len, src->target, &err);
		free(text);
	}
	if (doc == NULL)
		fprintf(stderr, "balena-compose %s: %s\n", cmd, err.msg);
	return doc;
}

json_t *
cli_load_target(const char *cmd, const cli_src *src, bc_state *st)
{
	const char *source = src->compose ? src->compose : src->target;
	bc_err err = {0};
	bc_state tmp;
	json_t *doc = cli_read_target(cmd, src);

	/* the whole of it is checked here, naming the file */
	if (doc != NULL && bc_target_parse(doc, NULL, st ? st : &tmp, &err) < 0) {
		bc_err_wrap(&err, "%s", source);
		fprintf(stderr, "balena-compose %s: %s\n", cmd, err.msg);
		json_decref(doc);
		return NULL;
	}
	if (doc != NULL && st == NULL)
		bc_state_free(&tmp);
	return doc;
}

int
cli_add_profile(char *list, size_t n, const char *name)
{
	size_t used = strlen(list);

	if (*name == '\0' || strchr(name, ',') != NULL || used + strlen(name) + 2 > n)
		return -1;
	snprintf(list + used, n - used, "%s%s", used ? "," : "", name);
	return 0;
}

int
cli_src_option(int c, const char *arg, cli_src *src, char *profiles, size_t n)
{
	switch (c) {
	case 'f':
		src->compose = arg;
		return 1;
	case 'p':
		src->project = arg;
		return 1;
	case 't':
		src->target = arg;
		return 1;
	case 'E':
		src->env_file = arg;
		return 1;
	case 'P':
		if (cli_add_profile(profiles, n, arg) < 0)
			return -1;
		src->profiles = profiles;
		return 1;
	default:
		return 0;
	}
}

static const char up_usage[] =
    "usage: balena-compose up -f docker-compose.yml [-p NAME] [--build] [--detach]\n"
    "                         [--timeout S]\n"
    "       balena-compose up -t TARGET.json [--detach] [--timeout S]\n"
    "       balena-compose up -a APP [--timeout S]\n"
    "\n"
    "Run a compose file as an app (local mode), or merge the apps of a balena\n"
    "v3 target state document, and wait until they run (default: up to 600 s).\n"
    "  -f, --file FILE    a docker-compose.yml\n"
    "  -p, --project NAME the app's name (default: the file's name:, else its directory)\n"
    "      --profile NAME run the services of that profile too (again for more;\n"
    "                     default: $COMPOSE_PROFILES, comma-separated)\n"
    "      --env-file F   the variables for the file's ${...} (instead of .env)\n"
    "      --build        build every service that has build: (else only those\n"
    "                     whose image is missing)\n"
    "  -t, --target FILE  a v3 target (- for standard input)\n"
    "  -a, --app APP      a device that follows the cloud: ask the cloud now and\n"
    "                     wait for that app of its target (a name or a uuid)\n"
    "  -d, --detach       return once the target is accepted\n"
    "      --force        update even services whose app holds its update lock,\n"
    "                     and try again a release that was rolled back\n"
    "      --timeout S    how long to wait for it to settle\n"
    "An update is committed once its services have run their settle period\n"
    "(BC_SETTLE_PERIOD, 30 s); one that fails it is rolled back.\n"
    "Exit status: 0 running as asked, 1 rejected, rolled back or not settled,\n"
    "100 usage.\n";

/* Wait for these apps as up does, then show them all: the ones that
 * failed as well as the others. The exit status: 0 all run, else 1. */
static int
wait_and_show(const bc_ack *ack, const int64_t *ids, const char *const *names, size_t n,
	      int timeout)
{
	int rc = cli_wait("up", ack, ids, n, BC_UNTIL_IDLE, timeout);
	uint64_t gen;
	bool settled;
	json_t *doc;

	if (rc == 0 || rc == 2) {
		if (cli_state("up", &gen, &settled, &doc) < 0)
			return 1;
		cli_print_ps(doc, names, n);
		json_decref(doc);
	}
	return rc ? 1 : 0;
}

/* up -a: the gateway polls now; then wait for the app as up does */
static int
up_cloud_app(const char *app, int timeout)
{
	bc_err err = {0};
	bc_ack ack;
	uint64_t gen;
	bool settled;
	json_t *doc, *a;
	int64_t id = 0;
	const char *name = app;
	size_t i;

	if (cli_poll(&ack, &err) < 0) {
		fprintf(stderr, "balena-compose up: the cloud: %s\n", err.msg);
		return 1;
	}
	/* the reconciler's document shows the target once a round has run on
	 * it: wait for that generation (a new run of it starts over at 1) */
	for (int tries = 0;; tries++) {
		uint64_t inst;
		if (bc_client_state_of(NULL, &gen, &inst, &settled, &doc, &err) < 0) {
			fprintf(stderr, "balena-compose up: %s\n", err.msg);
			return 1;
		}
		if (gen >= ack.generation || inst != ack.instance || tries >= timeout * 10)
			break;
		json_decref(doc);
		usleep(100 * 1000);
	}
	json_array_foreach(json_object_get(doc, "apps"), i, a)
	{
		const char *n = json_string_value(json_object_get(a, "name"));
		const char *u = json_string_value(json_object_get(a, "uuid"));
		if ((n && strcmp(n, app) == 0) || (u && strcmp(u, app) == 0))
			id = json_integer_value(json_object_get(a, "id"));
	}
	json_decref(doc);
	if (id == 0) {
		fprintf(stderr,
			"balena-compose up: no app '%s' in the cloud's target for this device\n",
			app);
		return 1;
	}
	return wait_and_show(&ack, &id, &name, 1, timeout);
}

int
cmd_up(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"target", 1, NULL, 't'},	{"file", 1, NULL, 'f'},	  {"app", 1, NULL, 'a'},
	    {"project", 1, NULL, 'p'},	{"detach", 0, NULL, 'd'}, {"force", 0, NULL, 'F'},
	    {"timeout", 1, NULL, 'T'},	{"help", 0, NULL, 'h'},	  {"profile", 1, NULL, 'P'},
	    {"env-file", 1, NULL, 'E'}, {"build", 0, NULL, 'B'},  {NULL, 0, NULL, 0}};
	const char *app = NULL;
	cli_src src = {0};
	char profiles[512] = "";
	int detach = 0, timeout = 600, c, rc;
	bool force = false, build = false;
	bc_err err = {0};
	json_t *doc;
	char *text;
	bc_ack ack;
	size_t napps;
	int64_t *ids;
	const char **names;

	optind = 1;
	while ((c = getopt_long(argc, argv, "t:f:p:a:dh", opts, NULL)) != -1) {
		if ((rc = cli_src_option(c, optarg, &src, profiles, sizeof(profiles))) > 0)
			continue;
		switch (rc < 0 ? '?' : c) {
		case 'a':
			app = optarg;
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
		case 'B':
			build = true;
			break;
		case 'h':
			fputs(up_usage, stdout);
			return 0;
		default:
			fputs(up_usage, stderr);
			return 100;
		}
	}
	if (app != NULL) {
		if (src.target || src.compose || src.project || detach || force || src.profiles ||
		    src.env_file || build || optind != argc || timeout <= 0) {
			fputs(up_usage, stderr);
			return 100;
		}
		return up_cloud_app(app, timeout);
	}
	if ((src.target == NULL) == (src.compose == NULL) ||
	    ((src.project || src.profiles || src.env_file || build) && !src.compose) ||
	    optind != argc || timeout <= 0) {
		fputs(up_usage, stderr);
		return 100;
	}
	/* read here (a compose file into the v3 shape), validated whole by the
	 * reconciler as it arrives: parsed into the model once, there */
	if ((doc = cli_read_target("up", &src)) == NULL)
		return 1;
	/* images with build: made here, before the target goes */
	if (src.compose != NULL &&
	    (cli_build("up", doc, build, NULL, 0) < 0 || cli_platforms("up", doc) < 0 ||
	     cli_pull_policy("up", doc) < 0)) {
		json_decref(doc);
		return 1;
	}
	text = json_dumps(doc, JSON_COMPACT);
	rc = text ? bc_client_apply(NULL, text, force, &ack, &err)
		  : bc_err_set(&err, BC_ESYS, "out of memory");
	free(text);
	if (rc < 0) {
		/* a target refused names its file, as the file's own errors do */
		if (err.code == BC_EINVAL || err.code == BC_ETOOBIG)
			fprintf(stderr, "balena-compose up: %s: %s\n",
				src.compose ? src.compose : src.target, err.msg);
		else
			fprintf(stderr, "balena-compose up: %s\n", err.msg);
		json_decref(doc);
		return 1;
	}
	if (detach) {
		printf("target accepted (generation %llu)\n", (unsigned long long)ack.generation);
		json_decref(doc);
		return 0;
	}
	/* wait for these apps only, and show only them */
	napps = bc_target_count_apps(doc);
	ids = calloc(napps + 1, sizeof(*ids));
	names = calloc(napps + 1, sizeof(*names));
	rc = ids && names ? 0 : 1;
	if (rc == 0)
		napps = bc_target_apps(doc, ids, names, napps);
	if (rc == 0)
		rc = wait_and_show(&ack, ids, names, napps, timeout);
	free(ids);
	free(names);
	json_decref(doc);
	return rc;
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
	bc_ack ack;
	int64_t id = 0;
	json_t *doc, *a;
	bool settled;
	size_t i;

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
	if (cli_state("down", &gen, &settled, &doc) < 0)
		return 1;
	if (app == NULL) {
		size_t named = 0;
		json_array_foreach(json_object_get(doc, "apps"), i, a)
		{
			const char *u = json_string_value(json_object_get(a, "uuid"));
			if (!json_is_true(json_object_get(a, "removed")) && u != NULL) {
				snprintf(only, sizeof(only), "%s", u);
				named++;
			}
		}
		if (named != 1) {
			json_decref(doc);
			fprintf(stderr, "balena-compose down: %s; name it with -p\n",
				named ? "several apps run" : "no app runs");
			return named ? 100 : 1;
		}
		app = only;
	}
	/* the app's id, to wait for it alone: another app's trouble is not ours */
	json_array_foreach(json_object_get(doc, "apps"), i,
			   a) if (cli_app_matches(a, (const char *const[]){app}, 1)) id =
	    json_integer_value(json_object_get(a, "id"));
	json_decref(doc);
	if (bc_client_down(NULL, app, volumes, &ack, &err) < 0) {
		fprintf(stderr, "balena-compose down: %s\n", err.msg);
		return 1;
	}
	if (cli_wait("down", &ack, &id, id ? 1 : 0,
		     volumes ? BC_UNTIL_GONE : BC_UNTIL_GONE_BUT_VOLUMES, timeout))
		return 1;
	/* what stays, and how it would go */
	if (!volumes && id != 0 && cli_state("down", &gen, &settled, &doc) == 0) {
		const json_t *left = bc_statedoc_find(doc, id);
		const char *k;
		json_t *v;
		if (json_object_size(json_object_get(left, "volumes")) > 0) {
			printf("kept: the volume(s)");
			json_object_foreach(json_object_get(left, "volumes"), k, v)
			    printf(" %s", k);
			printf(" of app %s (balena-compose down -p %s -v removes them)\n", app,
			       app);
		}
		json_decref(doc);
	}
	return 0;
}

/* ps and state: [-p APP]... [--json] */
static int
view_args(int argc, char **argv, const char *usage, const char **want, size_t *n, bool *as_json)
{
	*n = 0;
	*as_json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--json") == 0) {
			*as_json = true;
		} else if ((strcmp(argv[i], "-p") == 0 || strcmp(argv[i], "--project") == 0) &&
			   i + 1 < argc && *n < 16) {
			want[(*n)++] = argv[++i];
		} else {
			fputs(usage, stderr);
			return 100;
		}
	}
	return -1;
}

static const char ps_usage[] = "usage: balena-compose ps [-p APP]... [--json]\n"
			       "\n"
			       "List the services' containers, of the apps named (uuid, name or\n"
			       "id) or of all. --json: each app's state document (see state).\n";

int
cmd_ps(int argc, char **argv)
{
	const char *want[16];
	size_t n;
	uint64_t gen;
	bool settled, as_json;
	json_t *doc;
	int rc = view_args(argc, argv, ps_usage, want, &n, &as_json);

	if (rc >= 0)
		return rc;
	if (cli_state("ps", &gen, &settled, &doc) < 0)
		return 1;
	if (as_json) {
		json_t *apps = apps_json(doc, want, n);
		json_dumpf(apps, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(apps);
	} else {
		cli_print_ps(doc, want, n);
	}
	json_decref(doc);
	return 0;
}

static const char state_usage[] =
    "usage: balena-compose state [-p APP]... [--json]\n"
    "\n"
    "The reconciler's view: target generation, whether it settled, what it\n"
    "waits on, and each app: its status (Idle, Downloading, Updating,\n"
    "Waiting, Waiting for update lock, Failed, Settling, Rolled back) and\n"
    "services.\n"
    "--json: {generation, settled, error, waiting, apps: [one document per app,\n"
    "as the Composer API's state() gives it]}.\n";

/* " (INTRO a, b)" of an app's list key (skipped, ignored) when it has one:
 * the release's words, on their way to a terminal */
static void
print_list(const json_t *a, const char *key, const char *intro)
{
	const json_t *l = json_object_get(a, key), *v;
	size_t i;

	if (json_array_size(l) == 0)
		return;
	printf(" (%s", intro);
	json_array_foreach(l, i, v)
	{
		char one[256];
		snprintf(one, sizeof(one), "%s", json_string_value(v) ?: "");
		bc_tame(one);
		printf("%s%s", i ? ", " : "", one);
	}
	putchar(')');
}

/* Why an app that left the target is still listed. */
static void
print_removed(const json_t *a)
{
	const json_t *vols = json_object_get(a, "volumes");
	const char *k, *name = json_string_value(json_object_get(a, "name"));
	json_t *v;
	char id[32];

	if (!json_is_true(json_object_get(a, "removed")))
		return;
	if (json_object_size(json_object_get(a, "services")) > 0 ||
	    json_object_size(json_object_get(a, "networks")) > 0) {
		printf(" (not in the target: being removed)");
		return;
	}
	snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(a, "id")));
	printf(" (not in the target; its volume(s)");
	json_object_foreach((json_t *)vols, k, v) printf(" %s", k);
	printf(" kept: balena-compose down -p %s -v removes them)", name ? name : id);
}

/* The cloud's target is one the gateway refused: why (the caller's), or
 * NULL (local mode, accepted, or the gateway away). */
static char *
cloud_rejected(void)
{
	bc_msg req = {.type = BC_MSG_GW_STATUS}, rep;
	bc_err err = {0};
	char *why = NULL;

	if (bc_client_call(NULL, "gateway", &req, &rep, BC_MSG_GW_INFO, &err) < 0)
		return NULL;
	if (rep.body.gw_info.rejected != NULL)
		why = strdup(rep.body.gw_info.rejected);
	bc_msg_clear(&rep);
	return why;
}

int
cmd_state(int argc, char **argv)
{
	const char *want[16];
	size_t n, i;
	uint64_t gen;
	bool settled, as_json;
	json_t *doc, *a;
	const char *e, *w;
	char *rejected;
	int rc = view_args(argc, argv, state_usage, want, &n, &as_json);

	if (rc >= 0)
		return rc;
	if (cli_state("state", &gen, &settled, &doc) < 0)
		return 1;
	rejected = cloud_rejected();
	if (as_json) {
		json_object_set_new(doc, "apps", apps_json(doc, want, n));
		if (rejected != NULL)
			json_object_set_new(doc, "rejected", json_string(rejected));
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
		if (rejected != NULL)
			printf("the cloud's target: rejected, what runs stays: %s\n", rejected);
		json_array_foreach(json_object_get(doc, "apps"), i, a)
		{
			const char *ae = json_string_value(json_object_get(a, "error"));
			const char *aw = json_string_value(json_object_get(a, "waiting"));
			if (!cli_app_matches(a, want, n))
				continue;
			printf("app %s (%lld): %s%s%s",
			       json_string_value(json_object_get(a, "name")) ?: "-",
			       (long long)json_integer_value(json_object_get(a, "id")),
			       json_string_value(json_object_get(a, "status")),
			       ae   ? ": "
			       : aw ? ": "
				    : "",
			       ae   ? ae
			       : aw ? aw
				    : "");
			print_removed(a);
			print_list(a, "skipped", "left out, their contracts unmet: ");
			print_list(a, "ignored", "left out of its composition: ");
			putchar('\n');
		}
		cli_print_ps(doc, want, n);
	}
	free(rejected);
	json_decref(doc);
	return 0;
}

static const char config_usage[] =
    "usage: balena-compose config -f docker-compose.yml [-p NAME] [--profile NAME]...\n"
    "                     [--env-file FILE]\n"
    "       balena-compose config -t TARGET.json\n"
    "\n"
    "Validate without running: -f prints the v3 target a compose file becomes;\n"
    "-t checks a v3 target (- for standard input) with the device's own parser\n"
    "(contracts for their shape only: no device is asked) and prints it\n"
    "normalised (keys sorted). Exit status: 0 valid, 1 refused (saying why),\n"
    "100 usage.\n";

int
cmd_config(int argc, char **argv)
{
	static const struct option opts[] = {{"file", 1, NULL, 'f'},   {"project", 1, NULL, 'p'},
					     {"target", 1, NULL, 't'}, {"profile", 1, NULL, 'P'},
					     {"help", 0, NULL, 'h'},   {"env-file", 1, NULL, 'E'},
					     {NULL, 0, NULL, 0}};
	cli_src src = {0};
	char profiles[512] = "";
	json_t *doc;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:p:t:h", opts, NULL)) != -1) {
		if ((r = cli_src_option(c, optarg, &src, profiles, sizeof(profiles))) > 0)
			continue;
		if (r == 0 && c == 'h') {
			fputs(config_usage, stdout);
			return 0;
		}
		fputs(config_usage, stderr);
		return 100;
	}
	if ((src.compose == NULL) == (src.target == NULL) ||
	    (src.target && (src.project || src.profiles || src.env_file)) || optind != argc) {
		fputs(config_usage, stderr);
		return 100;
	}
	if ((doc = cli_load_target("config", &src, NULL)) == NULL)
		return 1;
	json_dumpf(doc, stdout, JSON_INDENT(2) | (src.target ? JSON_SORT_KEYS : 0));
	putchar('\n');
	json_decref(doc);
	return 0;
}
