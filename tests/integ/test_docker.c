/* lib/docker against the real engine (started by tests/harness). Every
 * object made here is labelled io.balena-compose.test=1 and named
 * bctest-<pid>-..., and removed by the test or by the harness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/docker/docker.h"

#define LABEL "io.balena-compose.test"
#define TRAPLOOP "trap exit TERM; while :; do sleep 1; done"

static const char *image;	 /* local: bctest/busybox:v1 */
static const char *remote_image; /* 127.0.0.1:5000/bctest/busybox:v2 */

static bc_docker *
client(void)
{
	bc_err err = {0};
	bc_docker *d = bc_docker_new(NULL, &err);
	if (d == NULL)
		fail_msg("docker client: %s", err.msg);
	return d;
}

static void
name_of(char *out, size_t n, const char *what)
{
	snprintf(out, n, "bctest-%d-%s", (int)getpid(), what);
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A labelled container running cmd under sh; mounts may be NULL. */
static void
make_container(bc_docker *d, const char *name, const char *cmd, json_t *binds, int tty, char id[65])
{
	bc_err err = {0};
	json_t *cfg = json_pack("{s:s, s:[s,s,s], s:{s:s}, s:b, s:i, s:{s:o*}}", "Image", image,
				"Cmd", "/bin/sh", "-c", cmd, "Labels", LABEL, "1", "Tty", tty,
				"StopTimeout", 10, "HostConfig", "Binds", binds);
	assert_non_null(cfg);
	if (bc_docker_container_create(d, name, cfg, id, &err) < 0)
		fail_msg("create %s: %s", name, err.msg);
	json_decref(cfg);
	assert_int_equal(strlen(id), 64);
}

static const char *
status_of(bc_docker *d, const char *id, json_t **keep)
{
	bc_err err = {0};
	json_t *j = bc_docker_container_inspect(d, id, &err);
	if (j == NULL)
		fail_msg("inspect: %s", err.msg);
	*keep = j;
	return json_string_value(json_object_get(json_object_get(j, "State"), "Status"));
}

static void
wait_exit(bc_docker *d, const char *id)
{
	char path[128];
	bc_err err = {0};
	snprintf(path, sizeof(path), "/containers/%s/wait", id);
	if (bc_docker_request(d, "POST", path, NULL, NULL, &err) < 0)
		fail_msg("wait: %s", err.msg);
}

static int
list_has(json_t *list, const char *key, const char *val)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		const char *s = json_string_value(json_object_get(e, key));
		if (s && strcmp(s, val) == 0)
			return 1;
	}
	return 0;
}

static void
test_version(void **state)
{
	bc_docker *d = client();
	unsigned maj, min;
	(void)state;
	assert_int_equal(sscanf(bc_docker_api_version(d), "%u.%u", &maj, &min), 2);
	assert_true(maj == 1 && min >= 41 && min <= 43);
	bc_docker_free(d);
}

static void
test_container_lifecycle(void **state)
{
	bc_docker *d = client();
	char name[64], renamed[64], id[65];
	bc_err err = {0};
	json_t *j, *list;
	double t0;
	(void)state;

	name_of(name, sizeof(name), "life");
	name_of(renamed, sizeof(renamed), "life-renamed");
	make_container(d, name, TRAPLOOP, NULL, 0, id);

	list = bc_docker_container_list(d, LABEL "=1", true, &err);
	assert_non_null(list);
	assert_true(list_has(list, "Id", id));
	json_decref(list);

	assert_string_equal(status_of(d, id, &j), "created");
	json_decref(j);
	assert_int_equal(bc_docker_container_start(d, id, &err), 0);
	assert_int_equal(bc_docker_container_start(d, id, &err), 0); /* 304: already */
	assert_string_equal(status_of(d, id, &j), "running");
	json_decref(j);

	/* running-only listing sees it too */
	list = bc_docker_container_list(d, LABEL, false, &err);
	assert_true(list_has(list, "Id", id));
	json_decref(list);

	assert_int_equal(bc_docker_container_rename(d, id, renamed, &err), 0);
	j = bc_docker_container_inspect(d, renamed, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "Id")), id);
	json_decref(j);

	/* restart: the same container, started again (its own stop timeout,
	 * then 10 s); a bad id is refused before any request */
	{
		json_t *before = bc_docker_container_inspect(d, id, &err), *after;
		const char *t1 = json_string_value(
		    json_object_get(json_object_get(before, "State"), "StartedAt"));
		assert_int_equal(bc_docker_container_restart(d, id, -1, &err), 0);
		assert_int_equal(bc_docker_container_restart(d, id, 10, &err), 0);
		after = bc_docker_container_inspect(d, id, &err);
		assert_string_equal(status_of(d, id, &j), "running");
		json_decref(j);
		assert_string_not_equal(t1, json_string_value(json_object_get(
						json_object_get(after, "State"), "StartedAt")));
		json_decref(before);
		json_decref(after);
		assert_int_equal(bc_docker_container_restart(d, "../x", 10, &err), -1);
	}
	t0 = now_s();
	if (bc_docker_container_stop(d, id, 10, &err) < 0)
		fail_msg("stop: %s", err.msg);
	/* The container traps TERM: it must stop well before the 10 s kill. */
	assert_true(now_s() - t0 < 5.0);
	assert_string_equal(status_of(d, id, &j), "exited");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(j, "State"), "ExitCode")), 0);
	json_decref(j);
	assert_int_equal(bc_docker_container_stop(d, id, 10, &err), 0); /* 304: already */

	assert_int_equal(bc_docker_container_remove(d, id, false, true, &err), 0);
	assert_null(bc_docker_container_inspect(d, id, &err));
	assert_int_equal(err.code, BC_ENOTFOUND);
	assert_int_equal(err.status, 404);
	assert_non_null(strstr(err.msg, "No such container"));
	bc_docker_free(d);
}

static void
test_kill(void **state)
{
	bc_docker *d = client();
	char name[64], id[65];
	bc_err err = {0};
	json_t *j;
	(void)state;
	name_of(name, sizeof(name), "kill");
	make_container(d, name, TRAPLOOP, NULL, 0, id);
	assert_int_equal(bc_docker_container_start(d, id, &err), 0);
	assert_int_equal(bc_docker_container_kill(d, id, "SIGKILL", &err), 0);
	wait_exit(d, id);
	assert_string_equal(status_of(d, id, &j), "exited");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(j, "State"), "ExitCode")), 137);
	json_decref(j);
	assert_int_equal(bc_docker_container_remove(d, id, true, true, &err), 0);
	bc_docker_free(d);
}

static void
test_errors_carry_status_and_message(void **state)
{
	bc_docker *d = client();
	char name[64], id[65], id2[65];
	bc_err err = {0};
	json_t *cfg;
	(void)state;
	name_of(name, sizeof(name), "conflict");
	make_container(d, name, "true", NULL, 0, id);
	cfg = json_pack("{s:s, s:{s:s}}", "Image", image, "Labels", LABEL, "1");
	assert_int_equal(bc_docker_container_create(d, name, cfg, id2, &err), -1);
	json_decref(cfg);
	assert_int_equal(err.code, BC_EHTTP);
	assert_int_equal(err.status, 409);
	assert_non_null(strstr(err.msg, "already in use"));
	assert_int_equal(bc_docker_container_remove(d, id, true, true, &err), 0);

	assert_int_equal(bc_docker_container_start(d, "bctest-no-such-container", &err), -1);
	assert_int_equal(err.status, 404);
	assert_null(bc_docker_image_inspect(d, "bctest/no-such-image:x", &err));
	assert_int_equal(err.code, BC_ENOTFOUND);
	/* refused before any request: a path-breaking id */
	assert_int_equal(bc_docker_container_start(d, "../../images", &err), 0 - 1);
	assert_int_equal(err.code, BC_EINVAL);
	bc_docker_free(d);
}

static void
test_network(void **state)
{
	bc_docker *d = client();
	char name[64], cname[64], nid[65], cid[65];
	bc_err err = {0};
	json_t *cfg, *list, *j, *nets;
	(void)state;
	name_of(name, sizeof(name), "net");
	name_of(cname, sizeof(cname), "netc");
	cfg = json_pack("{s:s, s:s, s:{s:s}}", "Name", name, "Driver", "bridge", "Labels", LABEL,
			"1");
	if (bc_docker_network_create(d, cfg, nid, &err) < 0)
		fail_msg("network create: %s", err.msg);
	json_decref(cfg);

	list = bc_docker_network_list(d, LABEL "=1", &err);
	assert_non_null(list);
	assert_true(list_has(list, "Name", name));
	json_decref(list);

	make_container(d, cname, TRAPLOOP, NULL, 0, cid);
	if (bc_docker_network_connect(d, nid, cid, NULL, &err) < 0)
		fail_msg("connect: %s", err.msg);
	j = bc_docker_container_inspect(d, cid, &err);
	nets = json_object_get(json_object_get(j, "NetworkSettings"), "Networks");
	assert_non_null(json_object_get(nets, name));
	json_decref(j);

	assert_int_equal(bc_docker_container_remove(d, cid, true, true, &err), 0);
	assert_int_equal(bc_docker_network_remove(d, nid, &err), 0);
	list = bc_docker_network_list(d, LABEL "=1", &err);
	assert_false(list_has(list, "Name", name));
	json_decref(list);
	bc_docker_free(d);
}

struct collect {
	bc_buf out, errs;
	int frames;
	int stop_after;
};

static int
on_frame(void *ud, int stream, const char *data, size_t len)
{
	struct collect *c = ud;
	bc_buf_add(stream == 2 ? &c->errs : &c->out, data, len, NULL);
	c->frames++;
	return c->stop_after && c->frames >= c->stop_after;
}

static void
test_volume_survives_container(void **state)
{
	bc_docker *d = client();
	char vname[64], w[64], r[64], wid[65], rid[65], bind[128];
	struct collect c = {0};
	bc_err err = {0};
	json_t *cfg, *list;
	(void)state;
	name_of(vname, sizeof(vname), "vol");
	name_of(w, sizeof(w), "volw");
	name_of(r, sizeof(r), "volr");
	cfg = json_pack("{s:s, s:{s:s}}", "Name", vname, "Labels", LABEL, "1");
	assert_int_equal(bc_docker_volume_create(d, cfg, &err), 0);
	json_decref(cfg);
	list = bc_docker_volume_list(d, LABEL "=1", &err);
	assert_non_null(list);
	assert_true(list_has(list, "Name", vname));
	json_decref(list);

	snprintf(bind, sizeof(bind), "%s:/data", vname);
	make_container(d, w, "echo kept > /data/f", json_pack("[s]", bind), 0, wid);
	assert_int_equal(bc_docker_container_start(d, wid, &err), 0);
	wait_exit(d, wid);
	assert_int_equal(bc_docker_container_remove(d, wid, true, false, &err), 0);

	make_container(d, r, "cat /data/f", json_pack("[s]", bind), 0, rid);
	assert_int_equal(bc_docker_container_start(d, rid, &err), 0);
	wait_exit(d, rid);
	assert_int_equal(bc_docker_logs(d, rid, "stdout=1&stderr=1", false, on_frame, &c, &err), 0);
	assert_string_equal(bc_buf_cstr(&c.out), "kept\n");
	assert_int_equal(bc_docker_container_remove(d, rid, true, false, &err), 0);

	assert_int_equal(bc_docker_volume_remove(d, vname, false, &err), 0);
	list = bc_docker_volume_list(d, LABEL "=1", &err);
	assert_false(list_has(list, "Name", vname));
	json_decref(list);
	bc_buf_free(&c.out);
	bc_buf_free(&c.errs);
	bc_docker_free(d);
}

static void
test_logs_demux(void **state)
{
	bc_docker *d = client();
	char name[64], id[65];
	struct collect c = {0};
	bc_err err = {0};
	(void)state;
	name_of(name, sizeof(name), "logs");
	make_container(d, name, "echo out1; echo err1 >&2; echo out2; printf 'no newline' >&2",
		       NULL, 0, id);
	assert_int_equal(bc_docker_container_start(d, id, &err), 0);
	wait_exit(d, id);
	if (bc_docker_logs(d, id, "stdout=1&stderr=1", false, on_frame, &c, &err) < 0)
		fail_msg("logs: %s", err.msg);
	assert_string_equal(bc_buf_cstr(&c.out), "out1\nout2\n");
	assert_string_equal(bc_buf_cstr(&c.errs), "err1\nno newline");
	assert_int_equal(c.frames, 4);
	assert_int_equal(bc_docker_container_remove(d, id, true, true, &err), 0);
	bc_buf_free(&c.out);
	bc_buf_free(&c.errs);
	bc_docker_free(d);
}

static void
test_logs_tty_raw(void **state)
{
	bc_docker *d = client();
	char name[64], id[65];
	struct collect c = {0};
	bc_err err = {0};
	(void)state;
	name_of(name, sizeof(name), "tty");
	make_container(d, name, "echo on-a-tty", NULL, 1, id);
	assert_int_equal(bc_docker_container_start(d, id, &err), 0);
	wait_exit(d, id);
	assert_int_equal(bc_docker_logs(d, id, "stdout=1&stderr=1", true, on_frame, &c, &err), 0);
	assert_string_equal(bc_buf_cstr(&c.out), "on-a-tty\r\n");
	assert_int_equal(bc_docker_container_remove(d, id, true, true, &err), 0);
	bc_buf_free(&c.out);
	bc_buf_free(&c.errs);
	bc_docker_free(d);
}

static void
test_logs_follow_stops(void **state)
{
	bc_docker *d = client();
	char name[64], id[65];
	struct collect c = {.stop_after = 3};
	bc_err err = {0};
	(void)state;
	name_of(name, sizeof(name), "follow");
	make_container(d, name, "trap exit TERM; while :; do echo tick; sleep 0.2; done", NULL, 0,
		       id);
	assert_int_equal(bc_docker_container_start(d, id, &err), 0);
	/* follow=1 never ends by itself: only our callback can end it. */
	assert_int_equal(
	    bc_docker_logs(d, id, "follow=1&stdout=1&stderr=1", false, on_frame, &c, &err), 0);
	assert_int_equal(c.frames, 3);
	assert_string_equal(bc_buf_cstr(&c.out), "tick\ntick\ntick\n");
	/* the handle is still good after an aborted stream */
	assert_int_equal(bc_docker_container_remove(d, id, true, true, &err), 0);
	bc_buf_free(&c.out);
	bc_buf_free(&c.errs);
	bc_docker_free(d);
}

/* A log stream read on a loop takes at most its budget a turn (4 receives
 * of 16 KiB: the logger's 64 KiB), whatever the engine has ready, then
 * gives the loop back: a container that floods cannot keep the loop from
 * the other streams. The rest comes on later turns, all of it. */
static int
count_bytes(void *ud, int stream, const char *data, size_t len)
{
	(void)stream;
	(void)data;
	*(size_t *)ud += len;
	return 0;
}

static void
test_logs_budget_a_turn(void **state)
{
	bc_docker *d = client();
	char name[64], id[65];
	bc_err err = {0};
	bc_docker_stream *s;
	size_t got = 0, first;
	int rc = 0, turns = 0;
	(void)state;
	name_of(name, sizeof(name), "flood");
	/* 2,000,000 bytes on stdout with no newline, then it ends: Docker
	 * keeps them as 16 KiB parts and sends each in a frame of its own
	 * (frames of short lines would fill a unix socket's buffer by their
	 * count long before 64 KiB were waiting) */
	make_container(d, name, "head -c 2000000 /dev/zero | tr '\\0' x", NULL, 0, id);
	assert_int_equal(bc_docker_container_start(d, id, &err), 0);
	wait_exit(d, id);
	s = bc_docker_logs_open(NULL, id, "stdout=1&stderr=1", false, count_bytes, &got, &err);
	if (s == NULL)
		fail_msg("logs: %s", err.msg);
	bc_docker_stream_budget(s, 4);
	/* the engine writes what it has until the socket is full (more than
	 * 64 KiB): the first turn still takes 64 KiB at most, and leaves the
	 * rest ready for the next turn */
	usleep(1000 * 1000);
	rc = bc_docker_stream_read(s, &err);
	first = got;
	assert_int_equal(rc, 0);
	if (first <= 4 * 16384 / 2)
		fail_msg("the first turn took %zu bytes", first);
	assert_true(first <= 4 * 16384);
	{
		struct pollfd pf = {.fd = bc_docker_stream_fd(s), .events = POLLIN};
		assert_int_equal(poll(&pf, 1, 0), 1); /* more was there: the budget ended it */
	}
	for (double t0 = now_s(); rc == 0 && now_s() - t0 < 60; turns++) {
		struct pollfd pf = {.fd = bc_docker_stream_fd(s), .events = POLLIN};
		if (poll(&pf, 1, 1000) > 0)
			rc = bc_docker_stream_read(s, &err);
	}
	if (rc != 1)
		fail_msg("rc %d after %d turns, %zu bytes: %s", rc, turns, got, err.msg);
	assert_int_equal(got, 2000000);
	bc_docker_stream_free(s);
	assert_int_equal(bc_docker_container_remove(d, id, true, true, &err), 0);
	bc_docker_free(d);
}

struct evwait {
	const char *id;
	int seen_create, seen_start;
};

static int
on_event(void *ud, json_t *ev)
{
	struct evwait *w = ud;
	const char *id = json_string_value(json_object_get(ev, "id"));
	const char *action = json_string_value(json_object_get(ev, "Action"));
	if (id == NULL || action == NULL || strcmp(id, w->id) != 0)
		return 0;
	if (strcmp(action, "create") == 0)
		w->seen_create = 1;
	if (strcmp(action, "start") == 0)
		w->seen_start = 1;
	return w->seen_start;
}

static void
test_events_see_start(void **state)
{
	bc_docker *d = client();
	char name[64], id[65], query[512], *filter;
	struct evwait w = {0};
	bc_err err = {0};
	long since = (long)time(NULL) - 1;
	(void)state;
	name_of(name, sizeof(name), "events");
	make_container(d, name, TRAPLOOP, NULL, 0, id);
	assert_int_equal(bc_docker_container_start(d, id, &err), 0);
	/* No 'until': the stream stays open; the callback ends it on 'start'. */
	filter = bc_docker_label_filter(LABEL, &err);
	snprintf(query, sizeof(query), "since=%ld&%s", since, filter);
	free(filter);
	w.id = id;
	if (bc_docker_events(d, query, on_event, &w, &err) < 0)
		fail_msg("events: %s", err.msg);
	assert_true(w.seen_create);
	assert_true(w.seen_start);
	assert_int_equal(bc_docker_container_remove(d, id, true, true, &err), 0);
	bc_docker_free(d);
}

/* The same stream read the way a daemon's loop reads it: poll the fd, read
 * what came, never block; nothing waiting reads as 0 at once. */
static int
on_event_go_on(void *ud, json_t *ev)
{
	on_event(ud, ev);
	return 0;
}

static void
test_events_on_a_loop(void **state)
{
	bc_docker *d = client();
	char name[64], id[65], *filter;
	struct evwait w = {0};
	bc_err err = {0};
	bc_docker_stream *s;
	double t0;
	int rc = 0;
	(void)state;

	filter = bc_docker_label_filter(LABEL, &err);
	s = bc_docker_events_open(NULL, filter, on_event_go_on, &w, &err);
	free(filter);
	if (s == NULL)
		fail_msg("events: %s", err.msg);
	t0 = now_s();
	assert_int_equal(bc_docker_stream_read(s, &err), 0); /* nothing yet: at once */
	assert_true(now_s() - t0 < 0.5);
	name_of(name, sizeof(name), "evloop");
	make_container(d, name, TRAPLOOP, NULL, 0, id);
	w.id = id;
	assert_int_equal(bc_docker_container_start(d, id, &err), 0);
	for (int i = 0; i < 100 && !w.seen_start && rc == 0; i++) {
		struct pollfd pf = {.fd = bc_docker_stream_fd(s), .events = POLLIN};
		if (poll(&pf, 1, 100) > 0)
			rc = bc_docker_stream_read(s, &err);
	}
	assert_int_equal(rc, 0);
	assert_true(w.seen_create);
	assert_true(w.seen_start);
	bc_docker_stream_free(s);
	assert_int_equal(bc_docker_container_remove(d, id, true, true, &err), 0);
	bc_docker_free(d);

	/* no engine there: a clear error, at once */
	assert_null(
	    bc_docker_events_open("/nonexistent/docker.sock", NULL, on_event_go_on, &w, &err));
	assert_non_null(strstr(err.msg, "/nonexistent/docker.sock"));
}

static void
test_image_ops(void **state)
{
	bc_docker *d = client();
	char repo[64];
	bc_err err = {0};
	json_t *j, *list;
	size_t i;
	json_t *e;
	int found = 0;
	(void)state;
	j = bc_docker_image_inspect(d, image, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(json_object_get(j, "Config"), "Labels"), LABEL)),
			    "1");
	json_decref(j);
	snprintf(repo, sizeof(repo), "bctest/tagged-%d", (int)getpid());
	assert_int_equal(bc_docker_image_tag(d, image, repo, "x", &err), 0);
	list = bc_docker_image_list(d, LABEL "=1", &err);
	assert_non_null(list);
	json_array_foreach(list, i, e)
	{
		size_t k;
		json_t *t;
		json_array_foreach(json_object_get(e, "RepoTags"), k, t)
		{
			char want[80];
			snprintf(want, sizeof(want), "%s:x", repo);
			if (strcmp(json_string_value(t), want) == 0)
				found = 1;
		}
	}
	json_decref(list);
	assert_true(found);
	snprintf(repo + strlen(repo), sizeof(repo) - strlen(repo), ":x");
	assert_int_equal(bc_docker_image_remove(d, repo, false, &err), 0);
	assert_null(bc_docker_image_inspect(d, repo, &err));
	assert_int_equal(err.status, 404);
	bc_docker_free(d);
}

struct progress {
	int objects, status_line;
};

static int
on_progress(void *ud, json_t *o)
{
	struct progress *p = ud;
	const char *s = json_string_value(json_object_get(o, "status"));
	p->objects++;
	if (s && strncmp(s, "Status:", 7) == 0)
		p->status_line = 1;
	return 0;
}

static void
test_pull_from_registry(void **state)
{
	bc_docker *d = client();
	struct progress p = {0};
	char missing[256];
	bc_err err = {0};
	json_t *j;
	(void)state;
	/* make sure it really comes over the wire */
	bc_docker_image_remove(d, remote_image, true, NULL);
	if (bc_docker_image_pull(d, remote_image, NULL, on_progress, &p, &err) < 0)
		fail_msg("pull: %s", err.msg);
	assert_true(p.objects >= 2);
	assert_true(p.status_line);
	j = bc_docker_image_inspect(d, remote_image, &err);
	assert_non_null(j);
	json_decref(j);

	snprintf(missing, sizeof(missing), "%s-does-not-exist", remote_image);
	assert_int_equal(bc_docker_image_pull(d, missing, NULL, NULL, NULL, &err), -1);
	assert_non_null(strstr(err.msg, missing));
	assert_true(strstr(err.msg, "not found") != NULL || strstr(err.msg, "unknown") != NULL);
	bc_docker_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_version),
	    cmocka_unit_test(test_container_lifecycle),
	    cmocka_unit_test(test_kill),
	    cmocka_unit_test(test_errors_carry_status_and_message),
	    cmocka_unit_test(test_network),
	    cmocka_unit_test(test_volume_survives_container),
	    cmocka_unit_test(test_logs_demux),
	    cmocka_unit_test(test_logs_tty_raw),
	    cmocka_unit_test(test_logs_follow_stops),
	    cmocka_unit_test(test_logs_budget_a_turn),
	    cmocka_unit_test(test_events_see_start),
	    cmocka_unit_test(test_events_on_a_loop),
	    cmocka_unit_test(test_image_ops),
	    cmocka_unit_test(test_pull_from_registry),
	};
	image = getenv("BCTEST_IMAGE");
	remote_image = getenv("BCTEST_REMOTE_IMAGE");
	if (image == NULL || remote_image == NULL) {
		fprintf(stderr, "run me from tests/harness/run-integ.sh (BCTEST_IMAGE unset)\n");
		return 1;
	}
	return cmocka_run_group_tests_name("docker", tests, NULL, NULL);
}
