/* Shared by the balena-compose subcommands. */
#ifndef BC_CLI_H
#define BC_CLI_H

#include <jansson.h>

#include "lib/ipc/client.h"
#include "lib/model/model.h"
#include "proto/ipc.h"

/* The reconciler's state: *doc is the caller's. */
int cli_state(const char *cmd, uint64_t *gen, bool *settled, json_t **doc);

/* Wait until the change ack made has taken effect for apps (n ids; none:
 * the whole target), until each is as until says (or one failed, or
 * timeout_s passed). Prints what it waits on. 0 done, 1 otherwise. */
int cli_wait(const char *cmd, const bc_ack *ack, const int64_t *apps, size_t n,
	     enum bc_wait_until until, int timeout_s);

/* Ask the gateway to poll the cloud now (bc_client_poll); while the
 * answer is awaited, say so on stderr every few seconds ("waiting: the
 * cloud at ... has not answered the poll yet (6 s)"). 0 with *ack, else -1
 * with err. */
int cli_poll(bc_ack *ack, bc_err *err);

/* Is app (of a state document) one of want (n of them: uuid, name or id)?
 * n == 0: every app is. */
bool cli_app_matches(const json_t *app, const char *const *want, size_t n);

/* Print the services of the state document, docker-compose style. Only the
 * apps named in want (by uuid, name or id; n of them) when n > 0. */
void cli_print_ps(const json_t *doc, const char *const *want, size_t n);

/* Where a target comes from: a compose file (with its project, the
 * profiles enabled, comma-separated, else $COMPOSE_PROFILES, and the file
 * of its variables, else its directory's .env) or a v3 target file (- for
 * stdin). Strings borrowed. */
typedef struct cli_src {
	const char *compose, *project, *profiles, *env_file;
	const char *target;
} cli_src;

/* The source read into the v3 shape but not validated (up: the reconciler
 * does, as it arrives): the document (the caller's), or NULL after
 * printing why, naming the file. */
json_t *cli_read_target(const char *cmd, const cli_src *src);

/* The same, validated whole here (config, pull): the v3 document (the
 * caller's), and the parsed state in *st if st is not NULL (the caller's
 * then); or NULL after printing why, naming the file. */
json_t *cli_load_target(const char *cmd, const cli_src *src, bc_state *st);

/* stdout and stderr through a filter that makes controls visible
 * (cli/term.c); once, first thing in main. */
void cli_term_init(void);
/* Our own escape s (a colour, the cursor) onto f (stdout or stderr),
 * around the filter, in order with what was printed before. */
void cli_raw(FILE *f, const char *s);

/* Build the images of doc's services that carry a build (a compose file's
 * build:, lib/docker/build.h): those whose image is missing, or all when
 * all (--build); only the services named in only (n_only of them; none:
 * every one). Each service's build is taken out of doc (the reconciler
 * has no use for it). Prints the builder's output; 0, or -1 after saying
 * which failed. */
int cli_build(const char *cmd, json_t *doc, bool all, const char *const *only, size_t n_only);

/* --profile NAME, once more: added to list (size n), comma-separated.
 * -1 when it does not fit or is no name. */
int cli_add_profile(char *list, size_t n, const char *name);

/* One option naming where a target comes from, as up, config and build
 * take them (getopt's c and its argument): -f, -p, -t, --profile (into
 * profiles, n bytes, again for more), --env-file. 1 taken into src, 0 not
 * one of them, -1 a bad one (usage). */
int cli_src_option(int c, const char *arg, cli_src *src, char *profiles, size_t n);

/* Pull images (n, borrowed) through the fetcher, with progress (a bar per
 * image on a terminal, lines otherwise). 0 all there, 1 any failed (said). */
int cli_fetch(const char *cmd, const char **images, size_t n);

/* A compose file's pull_policy for up (the services' "pull_policy" the
 * loader writes): always pulls their images now, never checks they are
 * here. Taken out of doc. 0, or -1 after saying why. */
int cli_pull_policy(const char *cmd, json_t *doc);

/* The images of doc's services that name a platform (composition
 * platform), pulled for it from their registry by the engine when the one
 * here is of another (the fetcher gets the engine's own platform). 0, or
 * -1 after saying why. */
int cli_platforms(const char *cmd, json_t *doc);

/* The services of a v3 document, every app and release: their names and
 * objects (borrowed from doc) into names and svcs, at most max. */
#define CLI_MAX_SERVICES 1024
size_t cli_services(json_t *doc, const char **names, json_t **svcs, size_t max);

int cmd_build(int argc, char **argv);
int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_lock(int argc, char **argv);
int cmd_logs(int argc, char **argv);

#endif
