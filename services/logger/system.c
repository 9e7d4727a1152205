/* System messages: every other daemon publishes SYSLOG on its PUB socket
 * (bc_daemon_syslog); the logger subscribes to them all (dialled in the
 * background: a daemon that restarts is found again) and makes each a
 * record with isSystem, stamped as it arrives. Their other events are
 * ignored here. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/ipc/client.h"
#include "proto/ipc.h"
#include "logger.h"

static const char *const senders[LG_SENDERS] = {"reconciler", "fetcher", "gateway", "locker"};

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
	for (size_t i = 0; i < LG_SENDERS; i++) {
		char what[32];
		if (g->sys_fd[i] < 0)
			continue;
		snprintf(what, sizeof(what), "%s events", senders[i]);
		bc_client_sub_drain(g->sys[i], what, system_event, g);
	}
}

int
lg_system_start(struct lg *g, bc_err *err)
{
	for (size_t i = 0; i < LG_SENDERS; i++) {
		bc_err serr = {0};
		g->sys_fd[i] = -1;
		if (bc_client_sub(NULL, senders[i], true, &g->sys[i], &serr) < 0) {
			log_warnx("%s events: %s", senders[i], serr.msg);
			continue;
		}
		if (nng_socket_get_int(g->sys[i], NNG_OPT_RECVFD, &g->sys_fd[i]) != 0 ||
		    bc_daemon_watch_fd(g->d, g->sys_fd[i], POLLIN, system_ready, g, err) < 0)
			return -1;
	}
	return 0;
}

void
lg_system_stop(struct lg *g)
{
	for (size_t i = 0; i < LG_SENDERS; i++) {
		if (g->sys_fd[i] < 0)
			continue;
		bc_daemon_unwatch_fd(g->d, g->sys_fd[i]);
		bc_sock_close(g->sys[i]);
		g->sys_fd[i] = -1;
	}
}
