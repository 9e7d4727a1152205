/* balena-compose: the command-line client of the daemons.
 * Exit codes: 0 ok, 1 the command failed, 100 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"


static const char *const daemons[] = {"gateway", "reconciler", "fetcher", "locker", "logger"};
#define NDAEMONS (sizeof(daemons) / sizeof(daemons[0]))

static int
known_daemon(const char *n)
{
	for (size_t i = 0; i < NDAEMONS; i++)
		if (strcmp(n, daemons[i]) == 0)
			return 1;
	return 0;
}

static int
ping_one(const char *name, int timeout_ms)
{
	bc_msg req = {.type = BC_MSG_PING}, rep;
	bc_err err = {0};

	req.body.ping.from = "cli";
	if (bc_call(name, &req, &rep, timeout_ms, &err) < 0) {
		printf("%-11s DOWN  %s\n", name, err.msg);
		return 1;
	}
	if (rep.type != BC_MSG_PONG) {
		printf("%-11s ERROR %s\n", name,
		       rep.type == BC_MSG_ERROR ? rep.body.error.message : "unexpected reply");
		bc_msg_clear(&rep);
		return 1;
	}
	printf("%-11s UP    pid %llu, up %llu.%03llus\n", name,
	       (unsigned long long)rep.body.pong.pid,
	       (unsigned long long)rep.body.pong.uptime_ms / 1000,
	       (unsigned long long)rep.body.pong.uptime_ms % 1000);
	bc_msg_clear(&rep);
	return 0;
}

static int
cmd_ping(int argc, char **argv)
{
	int failed = 0, timeout_ms = 2000;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: balena-compose ping [DAEMON...]\n\n"
		       "Ask each daemon (default: all five) whether it is up.\n"
		       "Daemons: gateway reconciler fetcher locker logger\n"
		       "Sockets are looked for in $BC_RUNDIR (default %s).\n"
		       "Exit status 1 if any daemon does not answer.\n",
		       BC_RUNDIR_DEFAULT);
		return 0;
	}
	for (int i = 1; i < argc; i++)
		if (!known_daemon(argv[i])) {
			fprintf(stderr, "balena-compose ping: unknown daemon '%s'\n", argv[i]);
			return 100;
		}
	if (argc == 1)
		for (size_t i = 0; i < NDAEMONS; i++)
			failed |= ping_one(daemons[i], timeout_ms);
	for (int i = 1; i < argc; i++)
		failed |= ping_one(argv[i], timeout_ms);
	return failed;
}

static int
cmd_update(int argc, char **argv)
{
	bc_err err = {0};
	bc_ack ack;

	if (argc > 1) {
		printf("usage: balena-compose update\n\n"
		       "Ask the cloud for this device's target now (the gateway polls at once\n"
		       "instead of at its next interval) and say when it is in the reconciler's\n"
		       "hands. Exit status 1 in local mode, when the cloud cannot be asked or\n"
		       "the gateway does not answer.\n");
		return strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ? 0 : 100;
	}
	if (cli_poll(&ack, &err) < 0) {
		fprintf(stderr, "balena-compose update: %s\n", err.msg);
		return 1;
	}
	/* how the poll went, and which release of each app the target is */
	{
		bc_msg req = {.type = BC_MSG_GW_STATUS}, rep;
		if (bc_client_call(NULL, "gateway", &req, &rep, BC_MSG_GW_INFO, &err) == 0) {
			if (rep.body.gw_info.last_poll)
				printf("the cloud: %s\n", rep.body.gw_info.last_poll);
			bc_msg_clear(&rep);
		}
	}
	{
		uint64_t gen;
		bool settled;
		json_t *doc, *a;
		size_t i;
		if (bc_client_state(NULL, &gen, &settled, &doc, &err) < 0) {
			printf("the cloud's target is the reconciler's generation %llu\n",
			       (unsigned long long)ack.generation);
			return 0;
		}
		json_array_foreach(json_object_get(doc, "apps"), i, a)
		{
			const char *c = json_string_value(json_object_get(a, "commit"));
			if (json_object_get(a, "uuid") == NULL || c == NULL)
				continue;
			printf("app %s: release %s (%s)\n",
			       json_string_value(json_object_get(a, "name")) ?: "-", c,
			       json_string_value(json_object_get(a, "status")) ?: "-");
		}
		json_decref(doc);
	}
	return 0;
}

/* the commit the app's containers run: one, "mixed", or "-" */
static const char *
current_commit(const json_t *app)
{
	const char *k, *c = NULL;
	json_t *s;

	json_object_foreach(json_object_get(app, "services"), k, s)
	{
		const char *sc = json_string_value(json_object_get(s, "commit"));
		if (sc == NULL || json_object_get(s, "container") == NULL)
			continue;
		if (c != NULL && strcmp(c, sc) != 0)
			return "mixed";
		c = sc;
	}
	return c ? c : "-";
}

static int
cmd_status(int argc, char **argv)
{
	bc_msg req = {.type = BC_MSG_GW_STATUS}, rep;
	bc_err err = {0};
	uint64_t gen;
	bool settled;
	json_t *doc, *a;
	size_t i;
	int rc = 0;

	if (argc > 1) {
		printf("usage: balena-compose status\n\n"
		       "How the device stands: its mode (cloud, local, provisioning), whether the\n"
		       "cloud answers, the last poll and state report, and each app's status with\n"
		       "the release it runs and the one its target wants.\n");
		return strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ? 0 : 100;
	}
	if (bc_client_call(NULL, "gateway", &req, &rep, BC_MSG_GW_INFO, &err) < 0) {
		printf("mode:        unknown (gateway: %s)\n", err.msg);
		rc = 1;
	} else {
		const bc_body_gw_info *g = &rep.body.gw_info;
		printf("mode:        %s", g->mode);
		if (g->endpoint)
			printf(" (%s, device %s)", g->endpoint, g->uuid ? g->uuid : "-");
		printf("\n");
		if (strcmp(g->mode, "local") != 0) {
			printf("cloud:       %s\n", g->reachable ? "reachable" : "not reachable");
			printf("last poll:   %s\n", g->last_poll ? g->last_poll : "none yet");
			printf("last report: %s\n", g->last_report ? g->last_report : "none yet");
			if (g->rejected) {
				printf("target:      rejected, what runs stays: %s\n", g->rejected);
			}
		}
		bc_msg_clear(&rep);
	}
	if (cli_state("status", &gen, &settled, &doc) < 0)
		return 1;
	printf("%-20s %-24s %-34s %s\n", "APP", "STATUS", "CURRENT", "TARGET");
	json_array_foreach(json_object_get(doc, "apps"), i, a)
	{
		const char *n = json_string_value(json_object_get(a, "name"));
		const char *t = json_string_value(json_object_get(a, "commit"));
		char id[32];
		snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(a, "id")));
		printf("%-20s %-24s %-34s %s\n", n ? n : id,
		       json_string_value(json_object_get(a, "status")) ?: "-", current_commit(a),
		       t ? t : "(removed)");
	}
	json_decref(doc);
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} cmds[] = {
    {"up", cmd_up, "run a target's apps and wait until they run"},
    {"down", cmd_down, "stop and remove an app (volumes only with -v)"},
    {"ps", cmd_ps, "list the services' containers"},
    {"state", cmd_state, "what the reconciler runs and waits on"},
    {"config", cmd_config, "print the v3 target a compose file becomes"},
    {"pull", cmd_pull, "get images onto the device, with progress"},
    {"build", cmd_build, "build the images of a compose file's services"},
    {"lock", cmd_lock, "update locks: status, take, release"},
    {"logs", cmd_logs, "what the apps print, and the system's messages"},
    {"ping", cmd_ping, "check that the daemons are up"},
    {"update", cmd_update, "ask the cloud for the target now"},
    {"status", cmd_status, "mode, the cloud, and each app's release"},
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: balena-compose COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\nRun 'balena-compose COMMAND --help' for more.\n");
}

int
main(int argc, char **argv)
{
	cli_term_init();
	if (argc < 2) {
		usage(stderr);
		return 100;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("balena-compose %s\n", BC_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "balena-compose: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 100;
}
