/* Shared by the balena-compose subcommands. */
#ifndef BC_CLI_H
#define BC_CLI_H

#include <jansson.h>

#include "../proto/ipc.h"

/* The reconciler's state: *doc is the caller's. */
int cli_state(const char *cmd, uint64_t *gen, bool *settled, json_t **doc);

/* Wait until the reconciler has settled generation gen (or failed, or
 * timeout_s passed). Prints what it waits on. 0 settled, 1 otherwise. */
int cli_wait(const char *cmd, uint64_t gen, int timeout_s);

/* Print the services of the state document, docker-compose style; app
 * filters by uuid, name or id when not NULL. */
void cli_print_ps(const json_t *doc, const char *app);

int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_lock(int argc, char **argv);

#endif
