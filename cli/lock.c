/* balena-compose lock: the locker's view and hand control of update locks. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ipc/client.h"
#include "cli.h"

static const char usage[] =
    "usage: balena-compose lock status\n"
    "       balena-compose lock take --app ID [--force] SERVICE...\n"
    "       balena-compose lock release LEASE\n"
    "\n"
    "Update locks: a service is locked while updates.lock (or the legacy\n"
    "resin-updates.lock) is in its lock directory, /tmp/balena (/tmp/resin) in\n"
    "its containers. take holds them for a lease (printed) until release, or\n"
    "until the lease runs out (BC_LOCK_TTL_MS); --force removes the app's own.\n"
    "Exit status: 0 done, 1 refused (the app holds a lock) or failed, 100 usage.\n";

static int
call(bc_msg *req, bc_msg *rep, enum bc_msgtype want)
{
	bc_err err = {0};

	if (bc_client_call(NULL, "locker", req, rep, want, &err) < 0) {
		fprintf(stderr, "balena-compose lock: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int
status(void)
{
	static const char *const holder[] = {"nobody", "app", "us"};
	bc_msg req = {.type = BC_MSG_LOCK_STATUS}, rep;
	const bc_body_lock_info *in = &rep.body.lock_info;

	if (call(&req, &rep, BC_MSG_LOCK_INFO) < 0)
		return 1;
	printf("%-12s %-20s %s\n", "APP", "SERVICE", "LOCKED BY");
	for (size_t i = 0; i < in->locks.n; i++)
		printf("%-12lld %-20s %s\n", (long long)in->locks.v[i].app_id,
		       in->locks.v[i].service, holder[in->locks.v[i].holder]);
	for (size_t i = 0; i < in->leases.n; i++)
		printf("lease %llu: app %lld, %llu ms left\n",
		       (unsigned long long)in->leases.v[i].lease, (long long)in->leases.v[i].app_id,
		       (unsigned long long)in->leases.v[i].expires_in_ms);
	bc_msg_clear(&rep);
	return 0;
}

static int
take(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"app", 1, NULL, 'a'}, {"force", 0, NULL, 'f'}, {NULL, 0, NULL, 0}};
	bc_msg req = {.type = BC_MSG_LOCK_TAKE}, rep;
	long long app = 0;
	int c, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "a:f", opts, NULL)) != -1) {
		if (c == 'a')
			app = atoll(optarg);
		else if (c == 'f')
			req.body.lock_take.force = true;
		else {
			fputs(usage, stderr);
			return 100;
		}
	}
	if (app <= 0 || optind == argc) {
		fputs(usage, stderr);
		return 100;
	}
	for (int i = optind; i < argc; i++)
		bc_strs_add(&req.body.lock_take.services, argv[i]);
	req.body.lock_take.app_id = app;
	rc = call(&req, &rep, BC_MSG_NONE); /* GRANTED or HELD */
	bc_strs_free(&req.body.lock_take.services);
	if (rc < 0)
		return 1;
	if (rep.type == BC_MSG_LOCK_GRANTED) {
		printf("lease %llu (expires in %llu ms unless renewed)\n",
		       (unsigned long long)rep.body.lock_granted.lease,
		       (unsigned long long)rep.body.lock_granted.expires_ms);
	} else if (rep.type == BC_MSG_LOCK_HELD) {
		fprintf(stderr, "balena-compose lock: the app holds the lock of service '%s'\n",
			rep.body.lock_held.service);
		rc = 1;
	}
	bc_msg_clear(&rep);
	return rc;
}

int
cmd_lock(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "status") == 0 && argc == 2)
		return status();
	if (argc >= 2 && strcmp(argv[1], "take") == 0)
		return take(argc - 1, argv + 1);
	if (argc == 3 && strcmp(argv[1], "release") == 0) {
		bc_msg req = {.type = BC_MSG_LOCK_RELEASE}, rep;
		char *end;
		req.body.lock_release.lease = strtoull(argv[2], &end, 10);
		if (*end || end == argv[2]) {
			fputs(usage, stderr);
			return 100;
		}
		if (call(&req, &rep, BC_MSG_LOCK_RELEASED) < 0)
			return 1;
		bc_msg_clear(&rep);
		printf("released\n");
		return 0;
	}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return 0;
	}
	fputs(usage, stderr);
	return 100;
}
