/* System messages: every daemon pushes SYSLOG to the logger's PULL socket
 * (bc_daemon_syslog, which keeps them while we are away) and the logger
 * makes each a record with isSystem, stamped as it arrives. Anything else
 * on that socket is ignored. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/ipc/client.h"
#include "proto/ipc.h"
#include "logger.h"

static void
system_event(void *ud, bc_msg *m)
{
	bc_logrec r = {.ts_ns = (int64_t)bc_wall_ms() * 1000000, .is_system = true};

	if (m->type != BC_MSG_SYSLOG)
		return;
	r.app_id = m->body.syslog.app_id;
	r.service = m->body.syslog.service;
	m->body.syslog.service = NULL; /* taken */
	r.message = bc_log_message(m->body.syslog.message, strlen(m->body.syslog.message), false);
	if (r.message != NULL)
		lg_push(ud, &r);
	bc_logrec_free(&r);
}

static void
system_ready(void *ud, short revents)
{
	struct lg *g = ud;

	(void)revents;
	bc_client_sub_drain(g->sys, "system messages", system_event, g);
}

int
lg_system_start(struct lg *g, bc_err *err)
{
	g->sys_fd = -1;
	if (bc_listen(&g->sys, "logger", BC_SOCK_PULL, err) < 0)
		return -1;
	if (nng_socket_get_int(g->sys, NNG_OPT_RECVFD, &g->sys_fd) != 0 ||
	    bc_daemon_watch_fd(g->d, g->sys_fd, POLLIN, system_ready, g, err) < 0) {
		g->sys_fd = -1;
		bc_sock_close(g->sys);
		return err->msg[0] ? -1 : bc_err_set(err, BC_ESYS, "system messages: receive fd");
	}
	return 0;
}

void
lg_system_stop(struct lg *g)
{
	if (g->sys_fd < 0)
		return;
	bc_daemon_unwatch_fd(g->d, g->sys_fd);
	bc_sock_close(g->sys);
	g->sys_fd = -1;
}
