/* Shared by the balena-compose subcommands. */
#ifndef BC_CLI_H
#define BC_CLI_H

#include <jansson.h>

#include "../lib/model.h"
#include "../proto/ipc.h"

/* The reconciler's state: *doc is the caller's. */
int cli_state(const char *cmd, uint64_t *gen, bool *settled, json_t **doc);

/* Wait until the reconciler has settled generation gen (or failed, or
 * timeout_s passed). Prints what it waits on. 0 settled, 1 otherwise. */
int cli_wait(const char *cmd, uint64_t gen, int timeout_s);

/* Print the services of the state document, docker-compose style; app
 * filters by uuid, name or id when not NULL. */
void cli_print_ps(const json_t *doc, const char *app);

/* A compose file (with its project) or a v3 target file (- for stdin),
 * loaded and validated whole: the v3 document (the caller's), and the
 * parsed state in *st if st is not NULL (the caller's then); or NULL after
 * printing why, naming the file. */
json_t *cli_load_target(const char *cmd, const char *compose, const char *project,
			const char *target, bc_state *st);

int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_lock(int argc, char **argv);

#endif
