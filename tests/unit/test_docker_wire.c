/* lib/docker on the wire: the request lines it sends, read by a stand-in
 * for the engine on a unix socket (the real engine is in tests/integ). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/docker/docker.h"

struct engine {
	int fd;
	char lines[4][256]; /* the request line of each request */
	int n;
};

/* Answers each request on one connection: /version with ApiVersion 1.43,
 * anything else with an empty JSON list. */
static void *
serve(void *arg)
{
	struct engine *e = arg;
	int c = accept(e->fd, NULL, NULL);
	char buf[8192];
	size_t have = 0;

	while (c >= 0 && e->n < 4) {
		char *end;
		ssize_t r = read(c, buf + have, sizeof(buf) - 1 - have);
		const char *body;
		char rep[512];
		if (r <= 0)
			break;
		have += (size_t)r;
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		snprintf(e->lines[e->n], sizeof(e->lines[0]), "%.*s",
			 (int)(strchr(buf, '\r') - buf), buf);
		body = strstr(e->lines[e->n], "/version ") ? "{\"ApiVersion\":\"1.43\"}" : "[]";
		e->n++;
		snprintf(rep, sizeof(rep),
			 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 strlen(body), body);
		if (write(c, rep, strlen(rep)) < 0)
			break;
		have = 0;
	}
	if (c >= 0)
		close(c);
	return NULL;
}

static void
test_version_unversioned_then_versioned(void **state)
{
	struct engine e = {0};
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	pthread_t th;
	bc_err err = {0};
	bc_docker *d;
	json_t *list;
	(void)state;

	snprintf(a.sun_path, sizeof(a.sun_path), "/tmp/bc-wire-%d.sock", (int)getpid());
	unlink(a.sun_path);
	e.fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(e.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(e.fd, 1), 0);
	assert_int_equal(pthread_create(&th, NULL, serve, &e), 0);

	d = bc_docker_new(a.sun_path, &err);
	if (d == NULL)
		fail_msg("%s", err.msg);
	assert_string_equal(bc_docker_api_version(d), "1.43");
	list = bc_docker_container_list(d, NULL, true, &err);
	assert_non_null(list);
	json_decref(list);
	bc_docker_free(d);
	pthread_join(th, NULL);
	close(e.fd);
	unlink(a.sun_path);

	assert_int_equal(e.n, 2);
	assert_string_equal(e.lines[0], "GET /version HTTP/1.1");
	assert_true(strncmp(e.lines[1], "GET /v1.43/containers/json?", 27) == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_version_unversioned_then_versioned),
	};
	return cmocka_run_group_tests_name("docker_wire", tests, NULL, NULL);
}
