/* The Composer API in use: run one service as app APP_ID, move it to a new
 * release, then remove it; print the app's state after each step.
 *
 *   composer-example APP_ID IMAGE
 *
 * Needs the balena-compose daemons running (make demo starts them). */
#include <balena-compose.h>
#include <stdio.h>
#include <stdlib.h>

static int
show(bc_composer *c, const char *when)
{
	char err[512];
	char *state = bc_composer_state(c, err, sizeof(err));

	if (state == NULL) {
		fprintf(stderr, "state: %s\n", err);
		return -1;
	}
	printf("%s: %s\n", when, state);
	free(state);
	return 0;
}

int
main(int argc, char **argv)
{
	char err[512], target[1024];
	bc_composer *c;
	int rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s APP_ID IMAGE\n", argv[0]);
		return 100;
	}
	if ((c = bc_composer_new(atoll(argv[1]), NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 100;
	}
	snprintf(target, sizeof(target),
		 "{\"name\": \"composer-example\", \"services\": {\"hello\": {\"image\": \"%s\","
		 " \"command\": [\"sh\", \"-c\", \"trap exit TERM; while :; do sleep 1; done\"],"
		 " \"labels\": {\"io.balena-compose.test\": \"1\"}}},"
		 " \"networks\": {\"default\": {\"labels\": {\"io.balena-compose.test\": \"1\"}}}}",
		 argv[2]);
	if (bc_composer_update(c, "release1", target, err, sizeof(err)) < 0 ||
	    show(c, "release1") < 0 ||
	    /* same config, new release: renamed, not restarted */
	    bc_composer_update(c, "release2", target, err, sizeof(err)) < 0 ||
	    show(c, "release2") < 0 ||
	    bc_composer_update(c, "release2", "{\"services\": {}}", err, sizeof(err)) < 0 ||
	    show(c, "removed") < 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	rc = 0;
out:
	bc_composer_free(c);
	return rc;
}
