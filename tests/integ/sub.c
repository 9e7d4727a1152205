/* Test helper: subscribe to a daemon's PUB socket and print each message,
 * one line each ("STEP CREATE web ok", "STATE 3 settled"), until COUNT
 * messages or TIMEOUT_MS pass.
 * usage: sub DAEMON COUNT TIMEOUT_MS */
#include <stdio.h>
#include <stdlib.h>

#include "proto/ipc.h"

#include <nng/protocol/pubsub0/sub.h>

int
main(int argc, char **argv)
{
	char addr[160];
	nng_socket s;
	bc_err err = {0};
	int n, timeout;

	if (argc != 4)
		return 100;
	n = atoi(argv[2]);
	timeout = atoi(argv[3]);
	if (bc_addr(addr, sizeof(addr), argv[1], BC_SOCK_PUB, &err) < 0 || nng_sub0_open(&s) ||
	    nng_socket_set(s, NNG_OPT_SUB_SUBSCRIBE, "", 0) ||
	    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, timeout) || nng_dial(s, addr, NULL, 0)) {
		fprintf(stderr, "sub: cannot subscribe to %s\n", addr);
		return 1;
	}
	printf("subscribed\n");
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		bc_msg m;
		if (bc_recv(s, &m, NULL, &err) < 0)
			break;
		if (m.type == BC_MSG_STEP)
			printf("STEP %s %s %s\n", m.body.step.action,
			       m.body.step.service ? m.body.step.service : "-",
			       m.body.step.ok ? "ok" : "failed");
		else if (m.type == BC_MSG_FETCH_PROGRESS)
			printf("FETCH_PROGRESS %llu %s %llu%%\n",
			       (unsigned long long)m.body.fetch_progress.job,
			       m.body.fetch_progress.image,
			       (unsigned long long)m.body.fetch_progress.percent);
		else if (m.type == BC_MSG_FETCH_DONE)
			printf("FETCH_DONE %llu %s %s %s\n",
			       (unsigned long long)m.body.fetch_done.job, m.body.fetch_done.image,
			       m.body.fetch_done.ok ? "ok" : "failed",
			       m.body.fetch_done.error ? m.body.fetch_done.error : "");
		else if (m.type == BC_MSG_LOCK_EVENT)
			printf("LOCK_EVENT %lld %s %s\n", (long long)m.body.lock_event.app_id,
			       m.body.lock_event.service,
			       m.body.lock_event.holder == BC_HOLDER_APP  ? "app"
			       : m.body.lock_event.holder == BC_HOLDER_US ? "us"
									  : "nobody");
		else if (m.type == BC_MSG_STATE)
			printf("STATE %llu %s\n", (unsigned long long)m.body.state.generation,
			       m.body.state.settled ? "settled" : "unsettled");
		else
			printf("%s\n", bc_msgtype_name(m.type));
		fflush(stdout);
		bc_msg_clear(&m);
	}
	bc_sock_close(s);
	return 0;
}
