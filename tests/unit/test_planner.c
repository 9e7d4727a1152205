/* lib/planner: table-driven. Each case gives the current containers, the
 * target services, the images present and the context, and expects the
 * exact steps in order ("ACTION name; ..."). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/plan/planner.h"

struct sd { /* a service, current or target; unset fields take defaults */
	const char *name, *image, *hash, *commit, *status, *rid, *cid;
	int64_t image_id, release_id, created, started_ms, created_ms;
	const char *deps, *vols, *nets; /* comma lists */
	/* depends_on's long form: "dep=healthy|completed|started|optional|restart,..." */
	const char *rules;
	uint8_t health; /* current: enum bc_health */
	int exit;	/* current, exited: its code */
	enum bc_strategy strat;
	uint64_t ho_ms;
	bool stopped; /* target: running=false */
};

struct pcase {
	const char *name;
	bool cur_app, tgt_app;
	struct sd cur[4], tgt[4];
	const char *cur_vols, *tgt_vols, *cur_nets, *tgt_nets; /* "name=hash,..." */
	const char *images; /* "ref=id,..." default img:1=sha:1 */
	uint64_t now_ms;
	bool handover_done;
	int64_t purge;	      /* an app whose volumes go with it (down -v), or 0 */
	int locks;	      /* 0 none, 1 not held, 2 held */
	const char *app_lock; /* the service whose lock the app holds */
	const char *expect;
	const char *reason; /* in the first NOOP step's reason, when set */
};

static void
split_add(bc_strv *v, const char *list)
{
	char buf[256], *save = NULL;
	if (list == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		assert_int_equal(bc_strv_add(v, t), 0);
}

static void
add_rules(bc_service *s, const char *list)
{
	char buf[256], *save = NULL;
	if (list == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s", list);
	s->dep_rules = calloc(8, sizeof(*s->dep_rules));
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		bc_dep_rule *r = &s->dep_rules[s->n_dep_rules++];
		*eq = '\0';
		r->name = strdup(t);
		r->cond = !strcmp(eq + 1, "healthy")	 ? BC_DEP_HEALTHY
			  : !strcmp(eq + 1, "completed") ? BC_DEP_COMPLETED
							 : BC_DEP_STARTED;
		r->optional = !strcmp(eq + 1, "optional");
		r->restart = !strcmp(eq + 1, "restart");
	}
}

static char *
dup_or(const char *s, const char *dflt)
{
	return strdup(s ? s : dflt);
}

static void
add_services(bc_app *a, const struct sd *defs, bool current)
{
	for (int i = 0; i < 4 && defs[i].name; i++) {
		const struct sd *d = &defs[i];
		bc_service *s = bc_app_add_service(a);
		char cid[64];
		s->name = strdup(d->name);
		s->image = dup_or(d->image, "img:1");
		s->config_hash =
		    d->hash && strcmp(d->hash, "none") == 0 ? NULL : dup_or(d->hash, "h1");
		s->commit = dup_or(d->commit, "c1");
		s->image_id = d->image_id ? d->image_id : 1;
		s->release_id = d->release_id ? d->release_id : 1;
		s->strategy = d->strat;
		s->handover_timeout_ms = d->ho_ms ? d->ho_ms : 60000;
		split_add(&s->depends_on, d->deps);
		add_rules(s, d->rules);
		split_add(&s->volumes, d->vols);
		split_add(&s->networks, d->nets);
		if (current) {
			s->status = dup_or(d->status, "running");
			s->running = strcmp(s->status, "running") == 0;
			s->image_ref_id = dup_or(d->rid, "sha:1");
			snprintf(cid, sizeof(cid), "%s-%d", d->name, i);
			s->container_id = dup_or(d->cid, cid);
			s->created = d->created ? d->created : 100;
			s->started_ms = d->started_ms;
			s->created_ms = d->created_ms;
			s->health = d->health;
			s->exit_code = d->exit;
		} else {
			s->running = !d->stopped;
		}
	}
}

static void
add_components(bc_app *a, const char *list, bool vols)
{
	char buf[256], *save = NULL;
	if (list == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		*eq = '\0';
		if (vols) {
			bc_volume *v = bc_app_add_volume(a);
			v->name = strdup(t);
			v->config_hash = strdup(eq + 1);
		} else {
			bc_network *n = bc_app_add_network(a);
			n->name = strdup(t);
			n->config_hash = strdup(eq + 1);
		}
	}
}

static void
build(bc_state *st, bool present, const struct sd *svcs, const char *vols, const char *nets,
      bool current)
{
	bc_app *a;
	memset(st, 0, sizeof(*st));
	if (!present)
		return;
	a = bc_state_add_app(st);
	a->app_id = 1;
	a->uuid = strdup("u1");
	a->name = strdup("app1");
	add_services(a, svcs, current);
	add_components(a, vols, true);
	add_components(a, nets, false);
}

static void
describe(const bc_plan *p, char *out, size_t n)
{
	out[0] = '\0';
	for (size_t i = 0; i < p->n; i++) {
		char one[200];
		bc_step_describe(&p->steps[i], one, sizeof(one));
		snprintf(out + strlen(out), n - strlen(out), "%s%s%s", i ? "; " : "", one,
			 p->steps[i].remove_image ? " +rmi" : "");
	}
}

static int
run_case(const struct pcase *c)
{
	bc_state cur, tgt;
	bc_image_have imgs[8];
	char ibuf[256], *save = NULL, got[1024];
	size_t ni = 0;
	bc_strv signalled = {0};
	/* the table's app is app 1: its lock facts, as data */
	bc_app_facts facts = {.app_id = 1, .locks_held = c->locks == 2, .app_lock = c->app_lock};
	bc_plan_ctx ctx = {.now_ms = c->now_ms,
			   .purge = &c->purge,
			   .n_purge = c->purge ? 1 : 0,
			   .use_locks = c->locks != 0,
			   .apps = &facts,
			   .n_apps = 1,
			   .handover_done = &signalled};
	bc_plan plan;
	bc_err err = {0};

	snprintf(ibuf, sizeof(ibuf), "%s", c->images ? c->images : "img:1=sha:1");
	for (char *t = strtok_r(ibuf, ",", &save); t && *t != '-'; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		*eq = '\0';
		imgs[ni].ref = t;
		imgs[ni++].id = eq + 1;
	}
	ctx.images = imgs;
	ctx.n_images = ni;
	if (c->handover_done)
		bc_strv_add(&signalled, "1/web");
	build(&cur, c->cur_app, c->cur, c->cur_vols, c->cur_nets, true);
	build(&tgt, c->tgt_app, c->tgt, c->tgt_vols, c->tgt_nets, false);
	if (bc_plan_build(&cur, &tgt, &ctx, &plan, &err) < 0)
		fail_msg("%s: plan failed: %s", c->name, err.msg);
	describe(&plan, got, sizeof(got));
	if (c->reason != NULL) {
		const char *why = NULL;
		for (size_t i = 0; why == NULL && i < plan.n; i++)
			if (plan.steps[i].action == BC_STEP_NOOP)
				why = plan.steps[i].reason;
		if (why == NULL || strstr(why, c->reason) == NULL) {
			print_error("case '%s':\n  want the reason: %s\n  got:  %s\n", c->name,
				    c->reason, why ? why : "(no NOOP)");
			bc_plan_free(&plan);
			bc_state_free(&cur);
			bc_state_free(&tgt);
			bc_strv_free(&signalled);
			return 1;
		}
	}
	bc_plan_free(&plan);
	bc_state_free(&cur);
	bc_state_free(&tgt);
	bc_strv_free(&signalled);
	if (strcmp(got, c->expect) != 0) {
		print_error("case '%s':\n  want: %s\n  got:  %s\n", c->name, c->expect, got);
		return 1;
	}
	return 0;
}

#define WEB(...)                                                                                   \
	{                                                                                          \
		.name = "web", __VA_ARGS__                                                         \
	}
#define DB(...)                                                                                    \
	{                                                                                          \
		.name = "db", __VA_ARGS__                                                          \
	}
#define NOTHING "-"

static const struct pcase cases[] = {
    {"empty to empty", .expect = ""},
    {"fresh deploy, image present", .tgt_app = 1, .tgt = {WEB()}, .expect = "CREATE web"},
    {"fresh deploy, image missing", .tgt_app = 1, .tgt = {WEB()}, .images = NOTHING,
     .expect = "FETCH web"},
    {"settled: no steps", .cur_app = 1, .tgt_app = 1, .cur = {WEB()}, .tgt = {WEB()}, .expect = ""},
    {"new commit same config: rename only", .cur_app = 1, .tgt_app = 1, .cur = {WEB()},
     .tgt = {WEB(.commit = "c2", .release_id = 2, .image_id = 2)}, .expect = "UPDATE_METADATA web"},
    {"env change, image present: kill (then create)", .cur_app = 1, .tgt_app = 1, .cur = {WEB()},
     .tgt = {WEB(.hash = "h2")}, .expect = "KILL web"},
    {"new image missing: fetch before kill", .cur_app = 1, .tgt_app = 1, .cur = {WEB()},
     .tgt = {WEB(.image = "img:2")}, .expect = "FETCH web"},
    {"new image present: kill", .cur_app = 1, .tgt_app = 1, .cur = {WEB()},
     .tgt = {WEB(.image = "img:2")}, .images = "img:1=sha:1,img:2=sha:2", .expect = "KILL web"},
    {"download-then-kill waits for every image of the app", .cur_app = 1, .tgt_app = 1,
     .cur = {WEB(), DB()}, .tgt = {WEB(.image = "img:2"), DB(.image = "img:3")},
     .images = "img:1=sha:1,img:2=sha:2", .expect = "NOOP web; FETCH db"},
    {"kill-then-download kills before the image is there", .cur_app = 1, .tgt_app = 1,
     .cur = {WEB()}, .tgt = {WEB(.image = "img:2", .strat = BC_STRAT_KILL_THEN_DOWNLOAD)},
     .expect = "KILL web"},
    {"delete-then-download kills and removes the image", .cur_app = 1, .tgt_app = 1, .cur = {WEB()},
     .tgt = {WEB(.image = "img:2", .strat = BC_STRAT_DELETE_THEN_DOWNLOAD)},
     .expect = "KILL web +rmi"},
    {"kill-then-download after the kill: fetch", .tgt_app = 1, .cur_app = 1,
     .tgt = {WEB(.image = "img:2", .strat = BC_STRAT_KILL_THEN_DOWNLOAD)}, .expect = "FETCH web"},
    {"hand-over: fetch first", .cur_app = 1, .tgt_app = 1, .cur = {WEB()},
     .tgt = {WEB(.image = "img:2", .commit = "c2", .release_id = 2, .strat = BC_STRAT_HAND_OVER)},
     .expect = "FETCH web"},
    {"hand-over: new beside old", .cur_app = 1, .tgt_app = 1, .cur = {WEB()},
     .tgt = {WEB(.image = "img:2", .commit = "c2", .release_id = 2, .strat = BC_STRAT_HAND_OVER)},
     .images = "img:1=sha:1,img:2=sha:2", .expect = "HANDOVER web"},
    {"hand-over: old waits for the signal", .cur_app = 1, .tgt_app = 1,
     .cur = {WEB(), WEB(.commit = "c2", .release_id = 2, .rid = "sha:2", .created = 200)},
     .tgt = {WEB(.image = "img:2", .commit = "c2", .release_id = 2, .strat = BC_STRAT_HAND_OVER,
		 .ho_ms = 30000)},
     .images = "img:1=sha:1,img:2=sha:2", .now_ms = 210000, .expect = "NOOP web"},
    {"hand-over: old and new born the same second, old id sorts higher", .cur_app = 1, .tgt_app = 1,
     .cur = {WEB(.cid = "zzz-old"),
	     WEB(.commit = "c2", .release_id = 2, .rid = "sha:2", .cid = "aaa-new")},
     .tgt = {WEB(.image = "img:2", .commit = "c2", .release_id = 2, .strat = BC_STRAT_HAND_OVER,
		 .ho_ms = 30000)},
     .images = "img:1=sha:1,img:2=sha:2", .now_ms = 110000, .expect = "NOOP web"},
    {"hand-over: old killed after the timeout", .cur_app = 1, .tgt_app = 1,
     .cur = {WEB(), WEB(.commit = "c2", .release_id = 2, .rid = "sha:2", .created = 200)},
     .tgt = {WEB(.image = "img:2", .commit = "c2", .release_id = 2, .strat = BC_STRAT_HAND_OVER,
		 .ho_ms = 30000)},
     .images = "img:1=sha:1,img:2=sha:2", .now_ms = 231000, .expect = "KILL web"},
    {"hand-over: the timeout is a minimum though Docker's creation time is in seconds",
     .cur_app = 1, .tgt_app = 1,
     .cur = {WEB(), WEB(.commit = "c2", .release_id = 2, .rid = "sha:2", .created = 200)},
     .tgt = {WEB(.image = "img:2", .commit = "c2", .release_id = 2, .strat = BC_STRAT_HAND_OVER,
		 .ho_ms = 30000)},
     .images = "img:1=sha:1,img:2=sha:2", .now_ms = 230500, .expect = "NOOP web"},
    /* created at 200 s, started 1.8 s later: the timeout runs from the start */
    {"hand-over: the timeout runs from the new one's start, where known", .cur_app = 1,
     .tgt_app = 1,
     .cur = {WEB(), WEB(.commit = "c2", .release_id = 2, .rid = "sha:2", .created = 200,
			.started_ms = 201800)},
     .tgt = {WEB(.image = "img:2", .commit = "c2", .release_id = 2, .strat = BC_STRAT_HAND_OVER,
		 .ho_ms = 30000)},
     .images = "img:1=sha:1,img:2=sha:2", .now_ms = 231500, .expect = "NOOP web"},
    {"hand-over: and ends 30 s after that start", .cur_app = 1, .tgt_app = 1,
     .cur = {WEB(), WEB(.commit = "c2", .release_id = 2, .rid = "sha:2", .created = 200,
			.started_ms = 201800)},
     .tgt = {WEB(.image = "img:2", .commit = "c2", .release_id = 2, .strat = BC_STRAT_HAND_OVER,
		 .ho_ms = 30000)},
     .images = "img:1=sha:1,img:2=sha:2", .now_ms = 231800, .expect = "KILL web"},
    {"hand-over: old killed on handover-complete", .cur_app = 1, .tgt_app = 1,
     .cur = {WEB(), WEB(.commit = "c2", .release_id = 2, .rid = "sha:2", .created = 200)},
     .tgt = {WEB(.image = "img:2", .commit = "c2", .release_id = 2, .strat = BC_STRAT_HAND_OVER,
		 .ho_ms = 30000)},
     .images = "img:1=sha:1,img:2=sha:2", .now_ms = 201000, .handover_done = 1,
     .expect = "KILL web"},
    {"hand-over within one release falls back to kill", .cur_app = 1, .tgt_app = 1, .cur = {WEB()},
     .tgt = {WEB(.hash = "h2", .strat = BC_STRAT_HAND_OVER)}, .expect = "KILL web"},
    {"spurious older container is killed", .cur_app = 1, .tgt_app = 1,
     .cur = {WEB(.created = 50, .cid = "old"), WEB(.created = 100)}, .tgt = {WEB()},
     .expect = "KILL web"},
    {"service gone from target", .cur_app = 1, .tgt_app = 1, .cur = {WEB(), DB()}, .tgt = {WEB()},
     .expect = "KILL db"},
    {"dead container removed, service waits a round", .cur_app = 1, .tgt_app = 1,
     .cur = {WEB(.status = "dead")}, .tgt = {WEB()}, .expect = "REMOVE web"},
    {"target stopped, none current: create without start", .tgt_app = 1, .tgt = {WEB(.stopped = 1)},
     .expect = "CREATE web"},
    {"target stopped, running: stop", .cur_app = 1, .tgt_app = 1, .cur = {WEB()},
     .tgt = {WEB(.stopped = 1)}, .expect = "STOP web"},
    {"target stopped, already exited: nothing", .cur_app = 1, .tgt_app = 1,
     .cur = {WEB(.status = "exited")}, .tgt = {WEB(.stopped = 1)}, .expect = ""},
    {"created, never started: start", .cur_app = 1, .tgt_app = 1, .cur = {WEB(.status = "created")},
     .tgt = {WEB()}, .expect = "START web"},
    {"exited by itself: left to its restart policy", .cur_app = 1, .tgt_app = 1,
     .cur = {WEB(.status = "exited")}, .tgt = {WEB()}, .expect = ""},
    {"depends_on: dependency first", .tgt_app = 1, .tgt = {DB(), WEB(.deps = "db")},
     .expect = "CREATE db; NOOP web"},
    {"depends_on: dependency running", .cur_app = 1, .tgt_app = 1, .cur = {DB()},
     .tgt = {DB(), WEB(.deps = "db")}, .expect = "CREATE web"},
    {"depends_on: dependency created but not running", .cur_app = 1, .tgt_app = 1,
     .cur = {DB(.status = "created")}, .tgt = {DB(), WEB(.deps = "db")},
     .expect = "START db; NOOP web"},
    {"depends_on: dependency being replaced", .cur_app = 1, .tgt_app = 1, .cur = {DB()},
     .tgt = {DB(.hash = "h2"), WEB(.deps = "db")}, .expect = "KILL db; NOOP web"},
    {"service_healthy: the dependency healthy", .cur_app = 1, .tgt_app = 1,
     .cur = {DB(.health = BC_HEALTH_HEALTHY)},
     .tgt = {DB(), WEB(.deps = "db", .rules = "db=healthy")}, .expect = "CREATE web"},
    {"service_healthy: the dependency still starting", .cur_app = 1, .tgt_app = 1,
     .cur = {DB(.health = BC_HEALTH_STARTING)},
     .tgt = {DB(), WEB(.deps = "db", .rules = "db=healthy")}, .expect = "NOOP web",
     .reason = "waiting for dependency 'db' to be healthy"},
    {"service_healthy: the dependency has no healthcheck", .cur_app = 1, .tgt_app = 1,
     .cur = {DB()}, .tgt = {DB(), WEB(.deps = "db", .rules = "db=healthy")}, .expect = "NOOP web",
     .reason = "(it has no healthcheck)"},
    {"service_healthy: the dependency unhealthy", .cur_app = 1, .tgt_app = 1,
     .cur = {DB(.health = BC_HEALTH_UNHEALTHY)},
     .tgt = {DB(), WEB(.deps = "db", .rules = "db=healthy")}, .expect = "NOOP web",
     .reason = "(it is unhealthy)"},
    {"service_completed_successfully: exited 0", .cur_app = 1, .tgt_app = 1,
     .cur = {DB(.status = "exited")}, .tgt = {DB(), WEB(.deps = "db", .rules = "db=completed")},
     .expect = "CREATE web"},
    {"service_completed_successfully: still running", .cur_app = 1, .tgt_app = 1, .cur = {DB()},
     .tgt = {DB(), WEB(.deps = "db", .rules = "db=completed")}, .expect = "NOOP web",
     .reason = "waiting for dependency 'db' to complete"},
    {"service_completed_successfully: exited 3", .cur_app = 1, .tgt_app = 1,
     .cur = {DB(.status = "exited", .exit = 3)},
     .tgt = {DB(), WEB(.deps = "db", .rules = "db=completed")}, .expect = "NOOP web",
     .reason = "did not complete successfully (exit code 3)"},
    {"service_completed_successfully: exited 0 but of the last release", .cur_app = 1, .tgt_app = 1,
     .cur = {DB(.status = "exited")},
     .tgt = {DB(.hash = "h2"), WEB(.deps = "db", .rules = "db=completed")},
     .expect = "KILL db; NOOP web"},
    {"service_started, long form: running is enough", .cur_app = 1, .tgt_app = 1, .cur = {DB()},
     .tgt = {DB(), WEB(.deps = "db", .rules = "db=started")}, .expect = "CREATE web"},
    {"restart: true: its dependency was recreated since it started", .cur_app = 1, .tgt_app = 1,
     .cur = {DB(.created_ms = 5000), WEB(.started_ms = 4000)},
     .tgt = {DB(), WEB(.deps = "db", .rules = "db=restart")}, .expect = "RESTART web",
     .reason = NULL},
    {"restart: true: the dependency older than its start", .cur_app = 1, .tgt_app = 1,
     .cur = {DB(.created_ms = 3000), WEB(.started_ms = 4000)},
     .tgt = {DB(), WEB(.deps = "db", .rules = "db=restart")}, .expect = ""},
    {"restart: true: times not known: nothing", .cur_app = 1, .tgt_app = 1,
     .cur = {DB(), WEB()}, .tgt = {DB(), WEB(.deps = "db", .rules = "db=restart")},
     .expect = ""},
    {"restart: false (the short form): never restarted", .cur_app = 1, .tgt_app = 1,
     .cur = {DB(.created_ms = 5000), WEB(.started_ms = 4000)},
     .tgt = {DB(), WEB(.deps = "db")}, .expect = ""},
    {"restart: false (the long form): never restarted", .cur_app = 1, .tgt_app = 1,
     .cur = {DB(.created_ms = 5000), WEB(.started_ms = 4000)},
     .tgt = {DB(), WEB(.deps = "db", .rules = "db=started")}, .expect = ""},
    {"restart: true: its lock first", .cur_app = 1, .tgt_app = 1,
     .cur = {DB(.created_ms = 5000), WEB(.started_ms = 4000)},
     .tgt = {DB(), WEB(.deps = "db", .rules = "db=restart")}, .locks = 1,
     .expect = "TAKE_LOCK app1"},
    {"restart: true: not while the new dependency is being made", .cur_app = 1, .tgt_app = 1,
     .cur = {DB(.created_ms = 5000), WEB(.started_ms = 4000)},
     .tgt = {DB(.hash = "h2"), WEB(.deps = "db", .rules = "db=restart")},
     .expect = "KILL db"},
    {"required: false and not in the release: not waited for", .tgt_app = 1,
     .tgt = {WEB(.deps = "cache", .rules = "cache=optional")}, .expect = "CREATE web"},
    {"volume created before its service", .tgt_app = 1, .tgt = {WEB(.vols = "data")},
     .tgt_vols = "data=v1", .expect = "NOOP web; CREATE_VOLUME data"},
    {"volume present: service created", .cur_app = 1, .tgt_app = 1, .tgt = {WEB(.vols = "data")},
     .cur_vols = "data=v1", .tgt_vols = "data=v1", .expect = "CREATE web"},
    {"volume config changed: never recreated", .cur_app = 1, .tgt_app = 1,
     .cur = {WEB(.vols = "data")}, .tgt = {WEB(.vols = "data")}, .cur_vols = "data=v1",
     .tgt_vols = "data=v2", .expect = "NOOP app1"},
    {"volume dropped from target: kept", .cur_app = 1, .tgt_app = 1, .cur = {WEB()}, .tgt = {WEB()},
     .cur_vols = "data=v1", .expect = ""},
    {"network created before its service", .tgt_app = 1, .tgt = {WEB(.nets = "backend")},
     .tgt_nets = "backend=n1", .expect = "NOOP web; CREATE_NETWORK backend"},
    {"network changed, in use: its containers go first", .cur_app = 1, .tgt_app = 1,
     .cur = {WEB(.nets = "backend")}, .tgt = {WEB(.nets = "backend")}, .cur_nets = "backend=n1",
     .tgt_nets = "backend=n2", .expect = "KILL web"},
    {"network changed, unused: removed (then created)", .cur_app = 1, .tgt_app = 1,
     .cur_nets = "backend=n1", .tgt_nets = "backend=n2", .expect = "REMOVE_NETWORK backend"},
    {"network dropped, unused: removed", .cur_app = 1, .tgt_app = 1, .cur_nets = "old=n1",
     .expect = "REMOVE_NETWORK old"},
    {"network dropped, in use: waits for its containers", .cur_app = 1, .tgt_app = 1,
     .cur = {WEB(.nets = "old")}, .tgt = {WEB(.hash = "h2")}, .cur_nets = "old=n1",
     .expect = "KILL web; NOOP app1"},
    {"app removed: services first", .cur_app = 1, .cur = {WEB(), DB()}, .cur_nets = "default=n1",
     .expect = "KILL web; KILL db"},
    {"app removed: then networks", .cur_app = 1, .cur_nets = "default=n1", .cur_vols = "data=v1",
     .expect = "REMOVE_NETWORK default"},
    {"app removed: volumes kept", .cur_app = 1, .cur_vols = "data=v1", .expect = ""},
    {"app removed with down -v: volumes go", .cur_app = 1, .cur_vols = "data=v1", .purge = 1,
     .expect = "REMOVE_VOLUME data"},
    {"another app's down -v: this app's volumes stay", .cur_app = 1, .cur_vols = "data=v1",
     .purge = 2, .expect = ""},
    {"locks: taken before a kill", .cur_app = 1, .tgt_app = 1, .cur = {WEB()},
     .tgt = {WEB(.hash = "h2")}, .locks = 1, .expect = "TAKE_LOCK app1"},
    {"locks: held, kill goes ahead", .cur_app = 1, .tgt_app = 1, .cur = {WEB()},
     .tgt = {WEB(.hash = "h2")}, .locks = 2, .expect = "KILL web"},
    {"locks: released once settled", .cur_app = 1, .tgt_app = 1, .cur = {WEB()}, .tgt = {WEB()},
     .locks = 2, .expect = "RELEASE_LOCK app1"},
    {"locks: not needed to create", .tgt_app = 1, .tgt = {WEB()}, .locks = 1,
     .expect = "CREATE web"},
    {"app holds its lock: nothing of it moves", .cur_app = 1, .tgt_app = 1, .cur = {WEB()},
     .tgt = {WEB(.hash = "h2"), DB()}, .locks = 1, .app_lock = "web", .expect = "NOOP app1"},
    {"app holds its lock, nothing to do: no step", .cur_app = 1, .tgt_app = 1, .cur = {WEB()},
     .tgt = {WEB()}, .locks = 1, .app_lock = "web", .expect = ""},
    {"app holds its lock but ours is taken (force): go ahead", .cur_app = 1, .tgt_app = 1,
     .cur = {WEB()}, .tgt = {WEB(.hash = "h2")}, .locks = 2, .app_lock = "web",
     .expect = "KILL web"},
    {"locks: none held, nothing to do", .cur_app = 1, .tgt_app = 1, .cur = {WEB()}, .tgt = {WEB()},
     .locks = 1, .expect = ""},
    {"container made elsewhere (no hash) is replaced", .cur_app = 1, .tgt_app = 1,
     .cur = {WEB(.hash = "none")}, .tgt = {WEB()}, .expect = "KILL web"},
    {"same ref re-pulled to new content is replaced", .cur_app = 1, .tgt_app = 1, .cur = {WEB()},
     .tgt = {WEB()}, .images = "img:1=sha:9", .expect = "KILL web"},
    {"metadata waits behind nothing: rename while stopped target", .cur_app = 1, .tgt_app = 1,
     .cur = {WEB(.status = "exited")}, .tgt = {WEB(.commit = "c2", .release_id = 2, .stopped = 1)},
     .expect = "UPDATE_METADATA web"},
};

static void
test_cases(void **state)
{
	int failed = 0;
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		failed += run_case(&cases[i]);
	print_message("%zu planner cases, %d failed\n", sizeof(cases) / sizeof(cases[0]), failed);
	assert_int_equal(failed, 0);
}

/* Two apps move independently: one is installed while the other goes. */
static void
test_two_apps(void **state)
{
	bc_state cur = {0}, tgt = {0};
	bc_image_have img = {"img:1", "sha:1"};
	bc_plan_ctx ctx = {.images = &img, .n_images = 1};
	bc_plan plan;
	char got[256];
	bc_app *a;
	bc_service *s;
	(void)state;

	a = bc_state_add_app(&cur);
	a->app_id = 7;
	a->uuid = strdup("u7");
	s = bc_app_add_service(a);
	s->name = strdup("old");
	s->image = strdup("img:1");
	s->status = strdup("running");
	s->container_id = strdup("x");
	a = bc_state_add_app(&tgt);
	a->app_id = 8;
	a->uuid = strdup("u8");
	s = bc_app_add_service(a);
	s->name = strdup("new");
	s->image = strdup("img:1");
	s->config_hash = strdup("h");
	s->running = true;
	assert_int_equal(bc_plan_build(&cur, &tgt, &ctx, &plan, NULL), 0);
	describe(&plan, got, sizeof(got));
	assert_string_equal(got, "CREATE new; KILL old");
	assert_ptr_equal(plan.steps[1].app, &cur.apps[0]);
	assert_int_equal(bc_plan_actionable(&plan), 2);
	bc_plan_free(&plan);
	bc_state_free(&cur);
	bc_state_free(&tgt);
}

static void
test_names(void **state)
{
	bc_service s = {.name = "web", .image_id = 4001, .release_id = 2002, .commit = "0f1e"};
	char buf[64];
	(void)state;
	assert_int_equal(bc_container_name(buf, sizeof(buf), &s), 0);
	assert_string_equal(buf, "web_4001_2002_0f1e");
	assert_int_equal(bc_volume_docker_name(buf, sizeof(buf), 1001, "readings"), 0);
	assert_string_equal(buf, "1001_readings");
	assert_int_equal(bc_network_docker_name(buf, sizeof(buf), "a1b2", "backend"), 0);
	assert_string_equal(buf, "a1b2_backend");
	assert_int_equal(bc_container_name(buf, 8, &s), -1);
	assert_string_equal(bc_action_name(BC_STEP_HANDOVER), "HANDOVER");
}

/* the device's log says each step in the supervisor's words; the fetcher
 * says downloads, and waiting is not a step to tell */
static void
test_step_say(void **state)
{
	bc_service web = {.name = "web"};
	bc_network net = {.name = "default"};
	bc_step s = {.action = BC_STEP_KILL, .current = &web};
	char out[256];
	(void)state;
	assert_true(bc_step_say(&s, 0, NULL, out, sizeof(out)));
	assert_string_equal(out, "Killed service 'web'");
	s = (bc_step){.action = BC_STEP_CREATE, .target = &web};
	assert_true(bc_step_say(&s, -1, "no such image", out, sizeof(out)));
	assert_string_equal(out, "Failed to install service 'web' due to 'no such image'");
	s = (bc_step){.action = BC_STEP_CREATE_NETWORK, .network = &net};
	assert_true(bc_step_say(&s, 0, NULL, out, sizeof(out)));
	assert_string_equal(out, "Created network 'default'");
	s = (bc_step){.action = BC_STEP_FETCH, .image = "r/a:1"};
	assert_false(bc_step_say(&s, 0, NULL, out, sizeof(out)));
	s = (bc_step){.action = BC_STEP_NOOP};
	assert_false(bc_step_say(&s, 0, NULL, out, sizeof(out)));
	s = (bc_step){.action = BC_STEP_TAKE_LOCK};
	assert_false(bc_step_say(&s, 0, NULL, out, sizeof(out)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_two_apps),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_step_say),
	};
	return cmocka_run_group_tests_name("planner", tests, NULL, NULL);
}
