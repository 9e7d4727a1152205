/* lib/engine against the real engine and registry: deploy, no-op re-up,
 * targeted recreate, rename on a new commit, depends_on order, strategies
 * (order read from Docker's own event stream), volumes that outlive updates
 * and the app. Everything is scoped to this test's app ids and labelled
 * io.balena-compose.test=1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/plan/engine.h"
#include "lib/model/target.h"

#define TEST_LABEL "io.balena-compose.test"
#define LOOP "trap exit TERM; while :; do sleep 1; done"

static const char *local_image;	 /* bctest/busybox:v1, present */
static const char *remote_image; /* 127.0.0.1:5000/bctest/busybox:v2 */
static int64_t app_id;
static char app_uuid[64];
static bc_engine *eng;

static double
now_s(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static uint64_t
now_ms(void)
{
	return (uint64_t)(now_s() * 1000);
}

/* --- target documents ------------------------------------------------------- */

static json_t *
svc(int id, const char *image, json_t *env, json_t *comp, json_t *labels)
{
	json_t *s =
	    json_pack("{s:i, s:i, s:s, s:o, s:o, s:o}", "id", id, "image_id", id * 10, "image",
		      image, "environment", env ? env : json_object(), "labels",
		      labels ? labels : json_object(), "composition", comp ? comp : json_object());
	json_object_set_new(json_object_get(s, "labels"), TEST_LABEL, json_string("1"));
	if (json_object_get(json_object_get(s, "composition"), "command") == NULL)
		json_object_set_new(json_object_get(s, "composition"), "command",
				    json_pack("[s,s,s]", "sh", "-c", LOOP));
	return s;
}

/* A v3 document with one release of our app; services is taken. */
static json_t *
doc(const char *commit, int release, json_t *services)
{
	/* default is declared only to carry the test label, for cleanup */
	json_t *rel = json_pack("{s:i, s:o, s:{s:{s:{s:s}}}, s:{s:{s:{s:s}}, s:{s:{s:s}}}}", "id",
				release, "services", services, "volumes", "data", "labels",
				TEST_LABEL, "1", "networks", "backend", "labels", TEST_LABEL, "1",
				"default", "labels", TEST_LABEL, "1");
	json_t *app = json_pack("{s:I, s:s, s:{s:o}}", "id", (json_int_t)app_id, "name", "bctest",
				"releases", commit, rel);
	return json_pack("{s:{s:s, s:{s:o}}}", "bctestdevice", "name", "dev", "apps", app_uuid,
			 app);
}

static bc_converge
converge_doc(json_t *d, bool remove_volumes)
{
	bc_state target;
	bc_err err = {0};
	bc_converge c = {.now_ms = now_ms(),
			 .purge = remove_volumes ? &app_id : NULL,
			 .n_purge = remove_volumes ? 1 : 0,
			 .scope = &app_id,
			 .n_scope = 1};

	if (d == NULL) {
		memset(&target, 0, sizeof(target));
	} else if (bc_target_parse(d, NULL, &target, &err) < 0) {
		fail_msg("target: %s", err.msg);
	}
	if (bc_engine_converge(eng, &target, &c, &err) < 0)
		fail_msg("converge: %s", err.msg);
	bc_converge_clear(&c); /* the callers read only the totals */
	bc_state_free(&target);
	json_decref(d);
	return c;
}

static void
settle(json_t *d)
{
	bc_converge c = converge_doc(d, false);
	if (!c.settled)
		fail_msg("not settled: %s", c.waiting);
}

static void
remove_everything(void)
{
	bc_converge c = converge_doc(NULL, true);
	/* removal takes rounds: containers, then networks, then volumes */
	for (int i = 0; i < 3 && !c.settled; i++)
		c = converge_doc(NULL, true);
	assert_true(c.settled);
}

/* --- observing ---------------------------------------------------------------- */

struct ctr {
	char id[65], name[128], started[64];
	int found;
};

static struct ctr
container_of(const char *service)
{
	struct ctr r = {0};
	bc_err err = {0};
	char lbl[64];
	json_t *list, *e;
	size_t i;

	snprintf(lbl, sizeof(lbl), "io.balena.app-id=%lld", (long long)app_id);
	list = bc_docker_container_list(bc_engine_docker(eng), lbl, true, &err);
	json_array_foreach(list, i, e)
	{
		const char *sn = json_string_value(
		    json_object_get(json_object_get(e, "Labels"), "io.balena.service-name"));
		if (sn && strcmp(sn, service) == 0) {
			json_t *ins = bc_docker_container_inspect(
			    bc_engine_docker(eng), json_string_value(json_object_get(e, "Id")),
			    &err);
			snprintf(r.id, sizeof(r.id), "%s",
				 json_string_value(json_object_get(e, "Id")));
			snprintf(r.name, sizeof(r.name), "%s",
				 json_string_value(json_array_get(json_object_get(e, "Names"), 0)) +
				     1);
			snprintf(r.started, sizeof(r.started), "%s",
				 json_string_value(
				     json_object_get(json_object_get(ins, "State"), "StartedAt")));
			json_decref(ins);
			r.found++;
		}
	}
	json_decref(list);
	return r;
}

struct evlog {
	char lines[64][160];
	int n;
};

static int
on_event(void *ud, json_t *ev)
{
	struct evlog *l = ud;
	const char *type = json_string_value(json_object_get(ev, "Type"));
	const char *action = json_string_value(json_object_get(ev, "Action"));
	json_t *attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
	const char *actor = json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID"));
	char want[32];

	snprintf(want, sizeof(want), "%lld", (long long)app_id);
	if (l->n >= 64 || type == NULL || action == NULL)
		return 0;
	if (strcmp(type, "container") == 0) {
		const char *a = json_string_value(json_object_get(attrs, "io.balena.app-id"));
		const char *sn =
		    json_string_value(json_object_get(attrs, "io.balena.service-name"));
		if (a == NULL || strcmp(a, want) != 0 || strncmp(action, "exec", 4) == 0)
			return 0;
		snprintf(l->lines[l->n++], 160, "%s %s", action, sn ? sn : "?");
	} else if (strcmp(type, "image") == 0 && actor != NULL) {
		snprintf(l->lines[l->n++], 160, "image-%s %s", action, actor);
	}
	return 0;
}

/* Events of our app (and every image event) between since and now. */
static struct evlog
events_since(double since)
{
	static struct evlog l;
	char q[128];
	bc_err err = {0};

	memset(&l, 0, sizeof(l));
	snprintf(q, sizeof(q), "since=%.6f&until=%.6f", since, now_s());
	if (bc_docker_events(bc_engine_docker(eng), q, on_event, &l, &err) < 0)
		fail_msg("events: %s", err.msg);
	return l;
}

static int
event_at(const struct evlog *l, const char *prefix)
{
	for (int i = 0; i < l->n; i++)
		if (strncmp(l->lines[i], prefix, strlen(prefix)) == 0)
			return i;
	return -1;
}

static void
dump(const struct evlog *l)
{
	for (int i = 0; i < l->n; i++)
		print_message("    event %d: %s\n", i, l->lines[i]);
}

#define BEFORE(l, a, b)                                                                            \
	do {                                                                                       \
		int ia = event_at(&(l), a), ib = event_at(&(l), b);                                \
		if (ia < 0 || ib < 0 || ia > ib) {                                                 \
			dump(&(l));                                                                \
			fail_msg("expected '%s' (%d) before '%s' (%d)", a, ia, b, ib);             \
		}                                                                                  \
	} while (0)

/* --- tests ----------------------------------------------------------------------- */

static json_t *
three(const char *worker_b)
{
	return json_pack(
	    "{s:o, s:o, s:o}", "db",
	    svc(1, local_image, NULL,
		json_pack("{s:[s], s:[s]}", "volumes", "data:/data", "networks", "backend"), NULL),
	    "web",
	    svc(2, local_image, json_pack("{s:s}", "A", "1"),
		json_pack("{s:[s], s:[s]}", "depends_on", "db", "networks", "backend"), NULL),
	    "worker", svc(3, local_image, json_pack("{s:s}", "B", worker_b), NULL, NULL));
}

static void
test_deploy_noop_recreate_rename(void **state)
{
	struct ctr db, web, worker, again;
	struct evlog ev;
	bc_converge c;
	double t0 = now_s();
	char want[128];
	(void)state;

	c = converge_doc(doc("c1", 1, three("1")), false);
	assert_true(c.settled);
	db = container_of("db");
	web = container_of("web");
	worker = container_of("worker");
	assert_int_equal(db.found + web.found + worker.found, 3);
	snprintf(want, sizeof(want), "web_20_1_c1");
	assert_string_equal(web.name, want);
	ev = events_since(t0);
	BEFORE(ev, "start db", "create web"); /* depends_on */

	/* re-up: nothing to do, and Docker sees no write at all */
	t0 = now_s();
	c = converge_doc(doc("c1", 1, three("1")), false);
	assert_true(c.settled);
	assert_int_equal(c.rounds, 0);
	assert_int_equal(c.steps_done, 0);
	ev = events_since(t0);
	if (ev.n != 0) {
		dump(&ev);
		fail_msg("a no-op re-up made %d container events", ev.n);
	}

	/* one service's env changes: only it is recreated */
	settle(doc("c1", 1, three("2")));
	again = container_of("worker");
	assert_string_not_equal(again.id, worker.id);
	assert_string_equal(container_of("web").id, web.id);
	assert_string_equal(container_of("db").id, db.id);
	worker = again;

	/* a new commit with the same config: renamed, not restarted */
	t0 = now_s();
	settle(doc("c2", 2, three("2")));
	again = container_of("web");
	assert_string_equal(again.id, web.id);
	assert_string_equal(again.started, web.started);
	assert_string_equal(again.name, "web_20_2_c2");
	assert_string_equal(container_of("worker").id, worker.id);
	ev = events_since(t0);
	assert_true(event_at(&ev, "rename web") >= 0);
	assert_int_equal(event_at(&ev, "kill"), -1);
	assert_int_equal(event_at(&ev, "start"), -1);

	remove_everything();
	assert_int_equal(container_of("web").found, 0);
}

/* v1 running, then a new release on the registry image under a strategy. */
static struct evlog
update_under(const char *strategy, const char *from_image, bool expect_settled)
{
	json_t *lbl = json_pack("{s:s, s:s}", "io.balena.update.strategy", strategy,
				"io.balena.update.handover-timeout", "1000");
	double t0;
	bc_converge c;

	settle(doc("c1", 1,
		   json_pack("{s:o}", "app", svc(1, from_image, NULL, NULL, json_deep_copy(lbl)))));
	bc_docker_image_remove(bc_engine_docker(eng), remote_image, true, NULL);
	t0 = now_s();
	c = converge_doc(
	    doc("c2", 2, json_pack("{s:o}", "app", svc(1, remote_image, NULL, NULL, lbl))), false);
	if (expect_settled && !c.settled)
		fail_msg("%s: not settled: %s", strategy, c.waiting);
	if (!expect_settled) {
		/* hand-over: the old one waits out the 1 s timeout, counted from
		 * the new one's creation second rounded up (Docker dates
		 * containers to the second; the timeout is a minimum) */
		assert_false(c.settled);
		assert_non_null(strstr(c.waiting, "awaiting hand-over"));
		usleep(2100 * 1000);
		settle(
		    doc("c2", 2,
			json_pack("{s:o}", "app",
				  svc(1, remote_image, NULL, NULL,
				      json_pack("{s:s, s:s}", "io.balena.update.strategy", strategy,
						"io.balena.update.handover-timeout", "1000")))));
	}
	assert_int_equal(container_of("app").found, 1);
	return events_since(t0);
}

static void
test_strategies(void **state)
{
	struct evlog ev;
	char pull[200], dtd_tag[64];
	(void)state;
	snprintf(pull, sizeof(pull), "image-pull %s", remote_image);

	ev = update_under("download-then-kill", local_image, true);
	BEFORE(ev, pull, "kill app");
	BEFORE(ev, "destroy app", "create app");
	remove_everything();

	ev = update_under("kill-then-download", local_image, true);
	BEFORE(ev, "kill app", pull);
	BEFORE(ev, pull, "create app");
	remove_everything();

	/* delete-then-download also drops the old image, by its own tag */
	snprintf(dtd_tag, sizeof(dtd_tag), "bctest/dtd:%d", (int)getpid());
	assert_int_equal(bc_docker_image_tag(bc_engine_docker(eng), local_image, "bctest/dtd",
					     strchr(dtd_tag, ':') + 1, NULL),
			 0);
	ev = update_under("delete-then-download", dtd_tag, true);
	BEFORE(ev, "destroy app", "image-untag");
	BEFORE(ev, "image-untag", pull);
	assert_null(bc_docker_image_inspect(bc_engine_docker(eng), dtd_tag, NULL));
	remove_everything();

	ev = update_under("hand-over", local_image, false);
	BEFORE(ev, pull, "start app");
	BEFORE(ev, "start app", "kill app"); /* new runs before old is killed */
	remove_everything();
}

struct acc {
	char buf[256];
	size_t len;
};

static int
on_log(void *ud, int st, const char *data, size_t len)
{
	struct acc *acc = ud;
	(void)st;
	if (acc->len + len < sizeof(acc->buf)) {
		memcpy(acc->buf + acc->len, data, len);
		acc->len += len;
	}
	return 0;
}

/* A throwaway container that prints /data/log of the app's data volume. */
static void
read_volume(char *out, size_t n)
{
	bc_docker *d = bc_engine_docker(eng);
	char name[64], vol[128], id[65], path[128];
	json_t *cfg;
	bc_err err = {0};
	struct acc acc = {{0}, 0};

	snprintf(name, sizeof(name), "bctest-%d-reader", (int)getpid());
	snprintf(vol, sizeof(vol), "%lld_data:/data", (long long)app_id);
	cfg =
	    json_pack("{s:s, s:[s,s,s], s:{s:s}, s:{s:[s]}}", "Image", local_image, "Cmd", "sh",
		      "-c", "cat /data/log", "Labels", TEST_LABEL, "1", "HostConfig", "Binds", vol);
	if (bc_docker_container_create(d, name, cfg, id, &err) < 0)
		fail_msg("reader: %s", err.msg);
	json_decref(cfg);
	assert_int_equal(bc_docker_container_start(d, id, &err), 0);
	snprintf(path, sizeof(path), "/containers/%s/wait", id);
	assert_int_equal(bc_docker_request(d, "POST", path, NULL, NULL, &err), 0);
	assert_int_equal(bc_docker_logs(d, id, "stdout=1", false, on_log, &acc, &err), 0);
	snprintf(out, n, "%s", acc.buf);
	bc_docker_container_remove(d, id, true, false, NULL);
}

static json_t *
writer(const char *mark)
{
	return json_pack("{s:o}", "writer",
			 svc(1, local_image, json_pack("{s:s}", "MARK", mark),
			     json_pack("{s:[s], s:[s,s,s]}", "volumes", "data:/data", "command",
				       "sh", "-c", "echo $MARK >> /data/log; " LOOP),
			     NULL));
}

static void
test_volume_outlives_updates_and_app(void **state)
{
	char got[256], vname[64];
	bc_converge c;
	(void)state;
	settle(doc("c1", 1, writer("one")));
	settle(doc("c1", 1, writer("two"))); /* env change: recreated on the same volume */
	c = converge_doc(NULL, false);	     /* the app goes, its volume stays */
	for (int i = 0; i < 3 && !c.settled; i++)
		c = converge_doc(NULL, false);
	assert_true(c.settled);
	assert_int_equal(container_of("writer").found, 0);
	read_volume(got, sizeof(got));
	assert_string_equal(got, "one\ntwo\n");
	remove_everything(); /* down -v */
	snprintf(vname, sizeof(vname), "%lld_data", (long long)app_id);
	{
		bc_err err = {0};
		json_t *l =
		    bc_docker_volume_list(bc_engine_docker(eng), "io.balena.supervised", &err);
		size_t i;
		json_t *e;
		json_array_foreach(l, i, e)
		    assert_string_not_equal(json_string_value(json_object_get(e, "Name")), vname);
		json_decref(l);
	}
}

static bc_pool *pool;

static int
setup(void **state)
{
	bc_err err = {0};
	bc_exec_env env = {0};
	(void)state;
	/* the steps of a round run side by side, as in the reconciler */
	if ((pool = bc_pool_new(4, 8, &err)) == NULL)
		fail_msg("pool: %s", err.msg);
	env.pool = pool;
	eng = bc_engine_new(4, &env, &err);
	if (eng == NULL)
		fail_msg("engine: %s", err.msg);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	bc_engine_free(eng);
	bc_pool_free(pool);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_deploy_noop_recreate_rename),
	    cmocka_unit_test(test_strategies),
	    cmocka_unit_test(test_volume_outlives_updates_and_app),
	};
	local_image = getenv("BCTEST_IMAGE");
	remote_image = getenv("BCTEST_REMOTE_IMAGE");
	if (local_image == NULL || remote_image == NULL) {
		fprintf(stderr, "run me from tests/harness/run-integ.sh (BCTEST_IMAGE unset)\n");
		return 1;
	}
	app_id = 990000 + getpid() % 9000;
	snprintf(app_uuid, sizeof(app_uuid), "bctest%08x", (unsigned)getpid());
	return cmocka_run_group_tests_name("engine", tests, setup, teardown);
}
