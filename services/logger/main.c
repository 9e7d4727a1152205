/* logger daemon. Minimal until its issue lands: binds its sockets, answers the
 * common messages (PING), exits cleanly on SIGTERM. */
#include "lib/ipc/daemon.h"

int
main(int argc, char **argv)
{
	static const struct bc_daemon_ops ops = {.name = "logger"};
	return bc_daemon_main(argc, argv, &ops);
}
