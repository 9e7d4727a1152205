/* Test helper: send raw bytes (given in hex) to a daemon's REP socket and
 * print the decoded reply as "TYPE id=N message". Lets the daemon suite
 * speak broken protocol on purpose.
 * usage: rawreq DAEMON HEX */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ipc.h"

#include <nng/protocol/reqrep0/req.h>

int
main(int argc, char **argv)
{
	unsigned char bytes[4096];
	size_t n = 0;
	char addr[160];
	nng_socket s;
	bc_msg rep;
	bc_err err = {0};
	char *buf = NULL;
	size_t len = 0;

	if (argc != 3 || strlen(argv[2]) % 2 || strlen(argv[2]) / 2 > sizeof(bytes)) {
		fprintf(stderr, "usage: rawreq DAEMON HEX\n");
		return 100;
	}
	for (const char *h = argv[2]; *h; h += 2) {
		unsigned v;
		if (sscanf(h, "%2x", &v) != 1)
			return 100;
		bytes[n++] = (unsigned char)v;
	}
	if (bc_addr(addr, sizeof(addr), argv[1], BC_SOCK_REP, &err) < 0 || nng_req0_open(&s) ||
	    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 2000) || nng_dial(s, addr, NULL, 0) ||
	    nng_send(s, bytes, n, 0) || nng_recv(s, &buf, &len, NNG_FLAG_ALLOC)) {
		fprintf(stderr, "rawreq: cannot talk to %s %s\n", addr, err.msg);
		return 1;
	}
	if (bc_msg_decode(buf, len, &rep, &err) < 0) {
		printf("UNDECODABLE %s\n", err.msg);
		return 1;
	}
	printf("%s id=%llu %s\n", bc_msgtype_name(rep.type), (unsigned long long)rep.id,
	       rep.type == BC_MSG_ERROR ? rep.body.error.message : "");
	bc_msg_clear(&rep);
	nng_free(buf, len);
	bc_sock_close(s);
	return 0;
}
