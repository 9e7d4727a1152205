/* lib/compose: docker-compose.yml into a v3 target, through lib/target. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/model/compose.h"
#include "lib/model/contract.h"
#include "lib/model/target.h"

static char dir[64];

static void
write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *
vars(void *ud, const char *name)
{
	(void)ud;
	if (strcmp(name, "TAG") == 0)
		return "v1";
	if (strcmp(name, "EMPTY") == 0)
		return "";
	if (strcmp(name, "FROM_SHELL") == 0)
		return "shell-value";
	return NULL;
}

static json_t *
parse(const char *yml, bc_err *err)
{
	bc_compose_opts o = {.lookup = vars};
	return bc_compose_parse(yml, strlen(yml), "compose.yml", dir, &o, err);
}

static const char full[] = "name: demo-app\n"
			   "x-common: &common\n"
			   "  restart: unless-stopped\n"
			   "  labels:\n"
			   "    io.balena-compose.test: '1'\n"
			   "services:\n"
			   "  web:\n"
			   "    <<: *common\n"
			   "    image: 127.0.0.1:5000/bctest/busybox:${TAG}\n"
			   "    command: sh -c 'echo hi'\n"
			   "    environment:\n"
			   "      - MODE=${MODE:-production}\n"
			   "      - EMPTY_OR=${EMPTY:-fallback}\n"
			   "      - EMPTY_DASH=${EMPTY-fallback}\n"
			   "      - PRICE=$$5\n"
			   "      - FROM_SHELL\n"
			   "    env_file: web.env\n"
			   "    ports: ['127.0.0.1:8080:80']\n"
			   "    depends_on:\n"
			   "      db: {condition: service_started}\n"
			   "    networks: [front]\n"
			   "  db:\n"
			   "    <<: *common\n"
			   "    image: bctest/busybox:v1\n"
			   "    environment: {PORT: 5432, DEBUG: true, NULLVAR: null}\n"
			   "    volumes: ['data:/data', {type: tmpfs, target: /run}]\n"
			   "    ports: ['81', 82, '127.0.0.1:8082:83']\n"
			   "    networks: [front]\n"
			   "volumes:\n"
			   "  data: {labels: {io.balena-compose.test: '1'}}\n"
			   "networks:\n"
			   "  front:\n"
			   "    driver: bridge\n"
			   "    x-note: ignored\n";

static int
has(const json_t *env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char k[64];
	snprintf(k, sizeof(k), "%.*s", (int)(eq - kv), kv);
	return json_is_string(json_object_get(env, k)) &&
	       strcmp(json_string_value(json_object_get(env, k)), eq + 1) == 0;
}

static void
test_full(void **state)
{
	bc_err err = {0};
	json_t *doc, *app = NULL, *rel, *web, *db;
	const char *k;
	bc_state st;
	(void)state;
	write_file("web.env",
		   "# comment\nexport FROM_FILE=\"quoted\"\nMODE=overridden-by-environment\n");
	doc = parse(full, &err);
	if (doc == NULL)
		fail_msg("%s", err.msg);
	json_object_foreach(json_object_get(json_object_get(doc, "local"), "apps"), k, app) break;
	assert_string_equal(json_string_value(json_object_get(app, "name")), "demo-app");
	assert_int_equal(strncmp(k, "local", 5), 0);
	rel = json_object_get(json_object_get(app, "releases"), "local");
	web = json_object_get(json_object_get(rel, "services"), "web");
	db = json_object_get(json_object_get(rel, "services"), "db");
	assert_string_equal(json_string_value(json_object_get(web, "image")),
			    "127.0.0.1:5000/bctest/busybox:v1");
	assert_true(has(json_object_get(web, "environment"), "MODE=production"));
	assert_true(has(json_object_get(web, "environment"), "EMPTY_OR=fallback"));
	assert_true(has(json_object_get(web, "environment"), "EMPTY_DASH="));
	assert_true(has(json_object_get(web, "environment"), "PRICE=$5"));
	assert_true(has(json_object_get(web, "environment"), "FROM_SHELL=shell-value"));
	assert_true(has(json_object_get(web, "environment"), "FROM_FILE=quoted"));
	assert_true(has(json_object_get(db, "environment"), "PORT=5432"));
	assert_true(has(json_object_get(db, "environment"), "DEBUG=true"));
	assert_null(json_object_get(json_object_get(db, "environment"), "NULLVAR"));
	{
		/* a port alone is published on one the engine picks, as docker
		 * compose does: said so in the target ("0:81") */
		json_t *ports = json_object_get(json_object_get(db, "composition"), "ports");
		assert_string_equal(json_string_value(json_array_get(ports, 0)), "0:81");
		assert_string_equal(json_string_value(json_array_get(ports, 1)), "0:82");
		assert_string_equal(json_string_value(json_array_get(ports, 2)),
				    "127.0.0.1:8082:83");
	}
	assert_string_equal(json_string_value(json_object_get(json_object_get(web, "labels"),
							      "io.balena-compose.test")),
			    "1");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(web, "composition"), "restart")),
	    "unless-stopped"); /* from the merge key */
	assert_null(
	    json_object_get(json_object_get(json_object_get(rel, "networks"), "front"), "x-note"));
	/* and it is a valid target */
	if (bc_target_parse(doc, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(st.n_apps, 1);
	assert_int_equal(st.apps[0].n_services, 2);
	assert_true(bc_strv_has(&bc_app_service(&st.apps[0], "web")->depends_on, "db"));
	bc_state_free(&st);
	json_decref(doc);
}

static void
expect(const char *yml, const char *needle)
{
	bc_err err = {0};
	json_t *doc = parse(yml, &err);
	if (doc != NULL)
		fail_msg("accepted, but expected '%s'", needle);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error '%s' lacks '%s'", err.msg, needle);
}

static void
test_errors_name_file_line_key(void **state)
{
	(void)state;
	expect("services:\n  web:\n    image: a\n    frobnicate: 1\n",
	       "compose.yml:4: service 'web': key 'frobnicate' is not supported");
	expect("services:\n  web:\n    image: a\n    build: 5\n",
	       "compose.yml:4: service 'web': build must be a path or have a context");
	/* found by the target's parser, after the file is read: still its line */
	expect("services:\n  web:\n    image: a\n    ports: ['99999:80']\n",
	       "compose.yml:4: service 'web': 'ports': '99999:80' is not a port mapping");
	expect("services:\n  web:\n    image: a\n    environment: {'A B': x}\n",
	       "compose.yml:4: service 'web': 'environment': the name 'A B'");
	expect("services:\n  web:\n    image: a\nfrobs: {}\n",
	       "compose.yml:4: top level: key 'frobs' is not supported");
	expect("services:\n  web:\n    image: a\n    secrets: [nope]\n",
	       "compose.yml:4: service 'web': secret 'nope' is not defined in the top-level "
	       "secrets");
	expect("services:\n  web:\n    image: a\nsecrets:\n  s:\n    external: true\n",
	       "compose.yml:5: secrets 's': external secrets need a swarm");
	expect("services:\n  web:\n    image: a\nsecrets:\n  s:\n    content: x\n",
	       "compose.yml:6: secret 's': key 'content' is not supported");
	expect("services:\n  web:\n    image: a\nsecrets:\n  s:\n    name: x\n",
	       "compose.yml:5: secrets 's' needs one source: file, environment");
	expect("services:\n  web:\n    image: a\nconfigs:\n  s:\n    file: a\n    content: x\n",
	       "compose.yml:5: configs 's' needs one source: file, environment or content");
	expect("services:\n  web:\n    image: a\n    secrets: [s]\n"
	       "secrets:\n  s:\n    environment: UNSET_VAR_X\n",
	       "compose.yml:4: service 'web': secret 's': its environment variable "
	       "'UNSET_VAR_X' is not set");
	expect("services:\n  web:\n    image: a\n    files: []\n",
	       "compose.yml:4: service 'web': key 'files' is not supported");
	expect("services:\n  web:\n    image: a\nvolumes:\n  v:\n    externel: true\n",
	       "compose.yml:6: volume 'v': key 'externel' is not supported");
	expect("services:\n  web:\n    command: x\n", "service 'web': 'image' or 'build' is required");
	expect("services:\n  web:\n    build: {context: 'https://github.com/x/y.git'}\n",
	       "compose.yml:3: service 'web': build.context 'https://github.com/x/y.git': a remote "
	       "context (git, URL) is not supported");
	expect("services:\n  web:\n    build: {dockerfile: D, dockerfile_inline: 'FROM x'}\n",
	       "compose.yml:3: service 'web': build.dockerfile and build.dockerfile_inline: give one");
	expect("services:\n  web:\n    build: {no_cache: 1}\n",
	       "compose.yml:3: service 'web': build.no_cache must be true or false");
	expect("services:\n  web:\n    image: a\n    pull_policy: sometimes\n",
	       "compose.yml:4: service 'web': pull_policy 'sometimes' is not always, never");
	expect("services:\n  web:\n    image: a\n    pull_policy: build\n",
	       "compose.yml:4: service 'web': pull_policy build needs a build");
	expect("services:\n  web:\n    image: a\n   bad: indent\n", "compose.yml:4:");
	expect("services:\n  web:\n    image: ${NOPE:?set NOPE please}\n",
	       "compose.yml:3: variable NOPE: set NOPE please");
	expect("services:\n  web:\n    image: a\n    image: b\n",
	       "compose.yml:4: key 'image' appears twice");
	expect("services: {}\n", "'services' must map at least one service");
	expect("", "the file is empty");
	expect("services:\n  web:\n    image: a\n    env_file: missing.env\n", "missing.env");
}

static void
count_unset(void *ud, const char *name)
{
	char *seen = ud;
	strcat(seen, name);
	strcat(seen, ";");
}

/* A variable used unset with no default is told once (docker compose
 * warns); a default, a set (even empty) variable, or $$ is not. */
static void
test_unset_told_once(void **state)
{
	static const char yml[] =
	    "services:\n"
	    "  a:\n"
	    "    image: x/y:${NOPE}\n"
	    "    command: echo $NOPE ${NOPE} $$LITERAL $OTHER\n"
	    "    environment: [\"A=${D1:-x}\", \"B=${D2-y}\", \"C=${EMPTY}\", \"T=$TAG\"]\n";
	char seen[256] = "";
	bc_compose_opts o = {.lookup = vars, .unset = count_unset, .ud = seen};
	bc_err err = {0};
	json_t *doc = bc_compose_parse(yml, strlen(yml), "compose.yml", dir, &o, &err);
	(void)state;
	assert_non_null(doc);
	assert_string_equal(seen, "NOPE;OTHER;");
	json_decref(doc);
}

/* The specification's substitutions, each as docker compose makes it:
 * ":+" and "+" (an alternative when set), nested words, and errors that
 * name the variable, the file and the line. */
static void
test_interpolation_forms(void **state)
{
	static const struct {
		const char *in, *want; /* want NULL: refused with err */
		const char *err;
	} t[] = {
	    {"${TAG:+alt}", "alt", NULL},
	    {"${TAG+alt}", "alt", NULL},
	    {"${NOPE:+alt}", "", NULL},
	    {"${NOPE+alt}", "", NULL},
	    {"${EMPTY:+alt}", "", NULL},	 /* set but empty: not for ":+" */
	    {"${EMPTY+alt}", "alt", NULL},	 /* set: for "+" */
	    {"${NOPE:-${TAG}-x}", "v1-x", NULL}, /* a nested default */
	    {"${NOPE:-${ALSO:-deep}}", "deep", NULL},
	    {"${TAG:+${TAG}${TAG}}", "v1v1", NULL},
	    {"a${NOPE-}b", "ab", NULL},
	    {"$${TAG}", "${TAG}", NULL},
	    {"${NOPE:?need ${TAG}}", NULL, "compose.yml:4: variable NOPE: need v1"},
	    {"${NOPE:-${OOPS}", NULL, "compose.yml:4: unterminated ${"},
	    {"${TAG:=x}", NULL, "compose.yml:4: bad substitution"},
	    {"${NOPE:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-x}}}}}}}}}}", NULL,
	     "substitutions nested too deep"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char yml[512];
		bc_compose_opts o = {.lookup = vars};
		bc_err err = {0};
		json_t *doc, *app = NULL, *env;
		const char *k;
		snprintf(yml, sizeof(yml),
			 "services:\n  a:\n    image: x\n    environment: {V: '%s'}\n", t[i].in);
		doc = bc_compose_parse(yml, strlen(yml), "compose.yml", dir, &o, &err);
		if (t[i].want == NULL) {
			if (doc != NULL || strstr(err.msg, t[i].err) == NULL)
				fail_msg("'%s': accepted, or not '%s' (%s)", t[i].in, t[i].err,
					 err.msg);
			continue;
		}
		if (doc == NULL)
			fail_msg("'%s': %s", t[i].in, err.msg);
		json_object_foreach(json_object_get(json_object_get(doc, "local"), "apps"), k,
				    app) break;
		env = json_object_get(
		    json_object_get(
			json_object_get(
			    json_object_get(
				json_object_get(json_object_get(app, "releases"), "local"),
				"services"),
			    "a"),
			"environment"),
		    "V");
		if (!json_is_string(env) || strcmp(json_string_value(env), t[i].want) != 0)
			fail_msg("'%s': '%s', want '%s'", t[i].in,
				 env ? json_string_value(env) : "(none)", t[i].want);
		json_decref(doc);
	}
}

/* profiles: a service in profiles runs only when one is enabled ("*":
 * all); none left is an error saying how to enable one; a bad profiles key
 * is named with its line. */
static void
test_profiles(void **state)
{
	static const char yml[] = "services:\n"
				  "  web: {image: x}\n"
				  "  debug: {image: x, profiles: [debug, all]}\n"
				  "  tools:\n"
				  "    image: x\n"
				  "    profiles: [tools]\n";
	static const struct {
		const char *on, *want;
	} t[] = {{NULL, "web"},
		 {"", "web"},
		 {"debug", "debug web"},
		 {"all", "debug web"},
		 {"tools,debug", "debug tools web"},
		 {"*", "debug tools web"},
		 {"nope", "web"}};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bc_compose_opts o = {.profiles = t[i].on};
		bc_err err = {0};
		json_t *doc = bc_compose_parse(yml, strlen(yml), "compose.yml", dir, &o, &err),
		       *app = NULL;
		const char *k, *names[3];
		char got[64] = "";
		size_t n = 0;
		if (doc == NULL)
			fail_msg("'%s': %s", t[i].on ? t[i].on : "(none)", err.msg);
		json_object_foreach(json_object_get(json_object_get(doc, "local"), "apps"), k,
				    app) break;
		json_t *svcs = json_object_get(
			   json_object_get(json_object_get(app, "releases"), "local"), "services"),
		       *sv;
		json_object_foreach(svcs, k, sv) if (n < 3) names[n++] = k;
		/* sorted, to compare */
		for (size_t a = 0; a < n; a++)
			for (size_t b = a + 1; b < n; b++)
				if (strcmp(names[b], names[a]) < 0) {
					const char *x = names[a];
					names[a] = names[b];
					names[b] = x;
				}
		for (size_t a = 0; a < n; a++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", a ? " " : "",
				 names[a]);
		if (strcmp(got, t[i].want) != 0)
			fail_msg("'%s': %s, want %s", t[i].on ? t[i].on : "(none)", got, t[i].want);
		json_decref(doc);
	}
	expect("services:\n  web: {image: x, profiles: [a]}\n",
	       "no service runs: each is in profiles not enabled (--profile NAME");
	expect("services:\n  web:\n    image: x\n    profiles: debug\n",
	       "compose.yml:4: service 'web': profiles must be a list of names");
}

/* env_file's long form: {path, required}; a missing optional file is
 * nothing, a missing required one an error naming it. */
static void
test_env_file_long_form(void **state)
{
	static const char yml[] = "services:\n"
				  "  a:\n"
				  "    image: x\n"
				  "    env_file:\n"
				  "      - path: web.env\n"
				  "      - {path: no-such.env, required: false}\n";
	bc_err err = {0};
	json_t *doc;
	(void)state;
	write_file("web.env", "FROM_FILE=long\n");
	doc = parse(yml, &err);
	if (doc == NULL)
		fail_msg("%s", err.msg);
	json_decref(doc);
	expect("services:\n  a:\n    image: x\n    env_file: [{path: no-such.env}]\n",
	       "no-such.env");
	expect("services:\n  a:\n    image: x\n    env_file: [{path: web.env, optional: 1}]\n",
	       "compose.yml:4: service 'a': env_file must be a path, or a list of paths and "
	       "{path, required} maps");
	expect("services:\n  a:\n    image: x\n    env_file: [5]\n", "env_file must be a path");
}

static void
collect(void *ud, const char *msg)
{
	char *seen = ud;
	strncat(seen, msg, 1023 - strlen(seen));
	strncat(seen, "|", 1023 - strlen(seen));
}

/* deploy as docker compose reads it on one engine: resources become the
 * container's limits, restart_policy its restart; the swarm's keys and
 * replicas other than 1 are warned of, each named; a key deploy does not
 * have, or two values of one limit, is an error. */
static void
test_deploy(void **state)
{
	static const char yml[] = "services:\n"
				  "  a:\n"
				  "    image: x\n"
				  "    mem_limit: 64m\n"
				  "    deploy:\n"
				  "      replicas: 3\n"
				  "      placement: {constraints: [node.role == manager]}\n"
				  "      restart_policy: {condition: on-failure, max_attempts: 4}\n"
				  "      resources:\n"
				  "        limits: {cpus: '0.5', memory: 64m, pids: 50}\n"
				  "        reservations: {memory: 32m, cpus: '0.1'}\n";
	char seen[1024] = "";
	bc_compose_opts o = {.warn = collect, .ud = seen};
	bc_err err = {0};
	json_t *doc = bc_compose_parse(yml, strlen(yml), "compose.yml", dir, &o, &err), *app = NULL;
	const char *k;
	bc_state st;
	(void)state;
	if (doc == NULL)
		fail_msg("%s", err.msg);
	json_object_foreach(json_object_get(json_object_get(doc, "local"), "apps"), k, app) break;
	json_t *comp = json_object_get(
	    json_object_get(
		json_object_get(json_object_get(json_object_get(app, "releases"), "local"),
				"services"),
		"a"),
	    "composition");
	assert_string_equal(json_string_value(json_object_get(comp, "cpus")), "0.5");
	assert_int_equal(json_integer_value(json_object_get(comp, "pids_limit")), 50);
	assert_string_equal(json_string_value(json_object_get(comp, "mem_reservation")), "32m");
	assert_string_equal(json_string_value(json_object_get(comp, "restart")), "on-failure:4");
	assert_null(json_object_get(comp, "deploy"));
	assert_non_null(strstr(seen, "service 'a': deploy.replicas other than 1"));
	assert_non_null(strstr(seen, "service 'a': deploy.placement has no meaning"));
	assert_non_null(strstr(seen, "deploy.resources.reservations.cpus is not applied"));
	if (bc_target_parse(doc, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(bc_app_service(&st.apps[0], "a")->spec, "HostConfig"), "NanoCpus")),
	    500000000);
	bc_state_free(&st);
	json_decref(doc);
	expect("services:\n  a:\n    image: x\n    mem_limit: 64m\n    deploy:\n"
	       "      resources: {limits: {memory: 128m}}\n",
	       "compose.yml:5: service 'a': mem_limit and deploy.resources.limits differ");
	expect("services:\n  a:\n    image: x\n    deploy: {scale: 2}\n",
	       "compose.yml:4: service 'a': key 'deploy.scale' is not supported");
}

/* --env-file: its variables instead of the project's .env; it must exist */
static void
test_env_file_option(void **state)
{
	static const char yml[] = "services:\n  a:\n    image: x:${FROM_DOTENV:-none}\n";
	char path[1100];
	bc_compose_opts o = {.env_file = path};
	bc_err err = {0};
	json_t *doc;
	char *text;
	(void)state;
	write_file(".env", "FROM_DOTENV=dot\n");
	write_file("other.env", "FROM_DOTENV=other\n");
	doc = parse(yml, &err);
	text = json_dumps(doc, 0);
	assert_non_null(strstr(text, "\"x:dot\""));
	free(text);
	json_decref(doc);
	snprintf(path, sizeof(path), "%s/other.env", dir);
	doc = bc_compose_parse(yml, strlen(yml), "compose.yml", dir, &o, &err);
	text = json_dumps(doc, 0);
	assert_non_null(strstr(text, "\"x:other\""));
	free(text);
	json_decref(doc);
	snprintf(path, sizeof(path), "%s/missing.env", dir);
	assert_null(bc_compose_parse(yml, strlen(yml), "compose.yml", dir, &o, &err));
	assert_non_null(strstr(err.msg, "missing.env"));
	snprintf(path, sizeof(path), "%s/.env", dir);
	unlink(path); /* the other tests see no .env */
}

static void
test_alias_bomb(void **state)
{
	const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
			   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			   "services: {web: {image: a, x-bomb: *e}}\n";
	(void)state;
	expect(bomb, "more than 100000 YAML nodes");
}

static void
test_stable_ids_and_project(void **state)
{
	bc_err err = {0};
	bc_compose_opts o = {.project = "Other Name!"};
	const char *yml = "services:\n  web:\n    image: a\n";
	json_t *a = parse(yml, &err), *b = parse(yml, &err), *c;
	json_t *x = NULL;
	const char *k;
	(void)state;
	assert_true(json_equal(a, b)); /* same file, same ids */
	c = bc_compose_parse(yml, strlen(yml), "compose.yml", dir, &o, &err);
	json_object_foreach(json_object_get(json_object_get(c, "local"), "apps"), k, x) break;
	assert_string_equal(json_string_value(json_object_get(x, "name")), "othername");
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

/* No name: and no -p: the directory's name, also when the file is given
 * relative to the working directory ("docker-compose.yml" gives dir "."),
 * normalised as docker compose does. */
static void
test_project_from_directory(void **state)
{
	static const char yml[] = "services:\n  web:\n    image: busybox\n";
	char sub[128], cwd[1024];
	bc_err err = {0};
	json_t *doc, *x = NULL;
	const char *k;
	(void)state;
	snprintf(sub, sizeof(sub), "%s/_My.Demo-App_2", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(cwd, sizeof(cwd), "%s/docker-compose.yml", sub);
	{
		FILE *f = fopen(cwd, "w");
		assert_non_null(f);
		fputs(yml, f);
		fclose(f);
	}
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(sub), 0);
	doc = bc_compose_load("docker-compose.yml", NULL, &err);
	assert_int_equal(chdir(cwd), 0);
	if (doc == NULL)
		fail_msg("%s", err.msg);
	json_object_foreach(json_object_get(json_object_get(doc, "local"), "apps"), k, x) break;
	assert_string_equal(json_string_value(json_object_get(x, "name")), "mydemo-app_2");
	json_decref(doc);
}

/* A service's contract: contract.yml at the root of its build context, as
 * balena's tools read it (the image itself is built elsewhere). */
/* Host paths are the project directory's (made absolute), the label that
 * lets a target bind them is set; secrets and configs land where the
 * specification says: a file source bound read-only, the others made as
 * files with their mode (0440 is octal, as docker compose reads it). */
static void
test_binds_secrets_configs(void **state)
{
	bc_err err = {0};
	char real[4096], want[4200];
	json_t *t, *svc, *comp, *vols, *files;
	const char *yml = "services:\n"
			  "  web:\n"
			  "    image: a\n"
			  "    volumes: ['./data:/data:ro', 'named:/n', {type: bind, source: "
			  "'sub/../conf', target: /conf}]\n"
			  "    secrets: [pw, {source: tok, target: token, mode: 0440, uid: '7'}]\n"
			  "    configs: [motd, {source: pwc, target: /etc/pw}]\n"
			  "  plain:\n"
			  "    image: a\n"
			  "    volumes: ['named:/n']\n"
			  "volumes: {named: {}}\n"
			  "secrets:\n"
			  "  pw: {file: ./pw.txt}\n"
			  "  tok: {environment: TAG}\n"
			  "configs:\n"
			  "  motd: {content: 'hi ${TAG}'}\n"
			  "  pwc: {file: /etc/hostname}\n";
	(void)state;
	assert_non_null(realpath(dir, real));
	t = parse(yml, &err);
	assert_non_null(t);
	svc = json_object_get(json_object_get(json_object_get(json_object_get(
	    json_object_get(json_object_get(json_object_get(t, "local"), "apps"),
			    json_object_iter_key(json_object_iter(json_object_get(
				json_object_get(t, "local"), "apps")))),
	    "releases"), "local"), "services"), "web");
	assert_non_null(svc);
	assert_string_equal(json_string_value(json_object_get(json_object_get(svc, "labels"),
							      "io.balena-compose.features.bind-mounts")),
			    "1");
	comp = json_object_get(svc, "composition");
	vols = json_object_get(comp, "volumes");
	assert_int_equal(json_array_size(vols), 5);
	snprintf(want, sizeof(want), "%s/data:/data:ro", real);
	assert_string_equal(json_string_value(json_array_get(vols, 0)), want);
	assert_string_equal(json_string_value(json_array_get(vols, 1)), "named:/n");
	snprintf(want, sizeof(want), "%s/conf", real);
	assert_string_equal(json_string_value(json_object_get(json_array_get(vols, 2), "source")),
			    want);
	snprintf(want, sizeof(want), "%s/pw.txt:/run/secrets/pw:ro", real);
	assert_string_equal(json_string_value(json_array_get(vols, 3)), want);
	assert_string_equal(json_string_value(json_array_get(vols, 4)), "/etc/hostname:/etc/pw:ro");
	files = json_object_get(comp, "files");
	assert_int_equal(json_array_size(files), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(files, 0), "target")),
			    "/run/secrets/token");
	assert_string_equal(json_string_value(json_object_get(json_array_get(files, 0), "content")),
			    "v1");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(files, 0), "mode")),
			 0440);
	assert_string_equal(json_string_value(json_object_get(json_array_get(files, 1), "target")),
			    "/motd");
	assert_string_equal(json_string_value(json_object_get(json_array_get(files, 1), "content")),
			    "hi v1");
	/* a service with no host path gets no label */
	svc = json_object_get(json_object_get(json_object_get(json_object_get(json_object_get(
	    json_object_get(json_object_get(t, "local"), "apps"),
	    json_object_iter_key(json_object_iter(json_object_get(json_object_get(t, "local"),
								  "apps")))),
	    "releases"), "local"), "services"), "plain");
	assert_null(json_object_get(json_object_get(svc, "labels"),
				    "io.balena-compose.features.bind-mounts"));
	/* and the document is a valid target: the files are the service's */
	{
		bc_state st = {0};
		char *text = json_dumps(t, 0);
		assert_int_equal(bc_target_parse_text(text, strlen(text), "t", NULL, &st, &err), 0);
		assert_int_equal(json_array_size(st.apps[0].services[1].files) +
				     json_array_size(st.apps[0].services[0].files),
				 2);
		free(text);
		bc_state_free(&st);
	}
	json_decref(t);
	/* a compose structure given as JSON has no directory for a relative path */
	{
		json_t *j = json_pack("{s:s, s:{s:{s:s, s:[s]}}}", "name", "p", "services", "web",
				      "image", "a", "volumes", "./x:/x");
		assert_null(bc_compose_to_target(j, "j.json", NULL, &err));
		assert_non_null(strstr(err.msg, "the relative host path './x' needs a file on disk"));
		json_decref(j);
	}
}

/* the services of a local document's one app and release */
static json_t *
services_of(json_t *t)
{
	json_t *apps = json_object_get(json_object_get(t, "local"), "apps");
	json_t *app = json_object_iter_value(json_object_iter(apps));
	json_t *rel = json_object_iter_value(json_object_iter(json_object_get(app, "releases")));
	return json_object_get(rel, "services");
}

static void
keep_warning(void *ud, const char *msg)
{
	char *buf = ud;
	size_t n = strlen(buf);
	snprintf(buf + n, 1024 - n, "%s\n", msg);
}

/* build: the object the CLI builds from: the context absolute, the image
 * named as docker compose names it when none is given, what the engine's
 * builder cannot do warned of */
static void
test_build_spec(void **state)
{
	char warned[1024] = "", real[4096], want[4200];
	bc_compose_opts o = {.lookup = vars, .warn = keep_warning, .ud = warned};
	bc_err err = {0};
	const char *yml = "name: proj\n"
			  "services:\n"
			  "  web:\n"
			  "    build:\n"
			  "      context: ./app\n"
			  "      args: [TAG, NOT_SET, 'B=2']\n"
			  "      extra_hosts: {db: 10.0.0.2}\n"
			  "      shm_size: 1m\n"
			  "      platforms: [linux/amd64, linux/arm64]\n"
			  "      ssh: [default]\n"
			  "    pull_policy: build\n"
			  "  api:\n"
			  "    image: reg/api:${TAG}\n"
			  "    build: .\n"
			  "    pull_policy: always\n"
			  "  cron:\n"
			  "    image: reg/cron\n"
			  "    pull_policy: daily\n";
	json_t *t, *svcs, *b;
	(void)state;
	assert_non_null(realpath(dir, real));
	t = bc_compose_parse(yml, strlen(yml), "compose.yml", dir, &o, &err);
	assert_non_null(t);
	svcs = services_of(t);
	assert_string_equal(json_string_value(json_object_get(json_object_get(svcs, "web"), "image")),
			    "proj-web");
	b = json_object_get(json_object_get(svcs, "web"), "build");
	snprintf(want, sizeof(want), "%s/app", real);
	assert_string_equal(json_string_value(json_object_get(b, "context")), want);
	assert_string_equal(json_string_value(json_object_get(json_object_get(b, "args"), "TAG")),
			    "v1");
	assert_null(json_object_get(json_object_get(b, "args"), "NOT_SET"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(b, "args"), "B")),
			    "2");
	assert_string_equal(json_string_value(json_array_get(json_object_get(b, "extra_hosts"), 0)),
			    "db:10.0.0.2");
	assert_int_equal(json_integer_value(json_object_get(b, "shm_size")), 1048576);
	assert_string_equal(json_string_value(json_object_get(b, "platform")), "linux/amd64");
	assert_true(json_is_true(json_object_get(b, "always")));
	assert_true(json_is_false(json_object_get(b, "image_given")));
	assert_non_null(strstr(warned, "service 'web': build.ssh is not applied"));
	assert_non_null(strstr(warned, "build.platforms: one engine builds one platform"));
	assert_null(json_object_get(json_object_get(svcs, "web"), "pull_policy"));
	b = json_object_get(json_object_get(svcs, "api"), "build");
	assert_string_equal(json_string_value(json_object_get(json_object_get(svcs, "api"), "image")),
			    "reg/api:v1");
	assert_string_equal(json_string_value(json_object_get(b, "context")), real);
	assert_true(json_is_true(json_object_get(b, "image_given")));
	/* always: for up to pull; daily: taken as missing, said */
	assert_string_equal(json_string_value(json_object_get(json_object_get(svcs, "api"),
							      "pull_policy")),
			    "always");
	assert_null(json_object_get(json_object_get(svcs, "cron"), "pull_policy"));
	assert_non_null(strstr(warned, "service 'cron': pull_policy daily is taken as missing"));
	json_decref(t);
}

/* extends (same file, another file, chained) merged as the specification
 * merges; include adds another file's resources, read in its own
 * directory with its own .env; errors name the file they are in */
static void
test_extends_include(void **state)
{
	bc_err err = {0};
	char real[4096], want[4200];
	json_t *t, *svcs, *web, *comp;
	(void)state;
	assert_non_null(realpath(dir, real));
	write_file("base.yml", "services:\n"
			       "  webapp:\n"
			       "    image: img:${TAG}\n"
			       "    environment: [A=1, B=2]\n"
			       "    labels: {l1: a}\n"
			       "    ports: ['8080:80']\n"
			       "    volumes: ['./static:/static', 'data:/data']\n"
			       "    command: base\n"
			       "    healthcheck: {test: [CMD, 'true'], interval: 10s}\n"
			       "  loop1: {image: x, extends: loop2}\n"
			       "  loop2: {image: x, extends: loop1}\n");
	t = parse("services:\n"
		  "  web:\n"
		  "    extends: {file: base.yml, service: webapp}\n"
		  "    environment: {B: '3'}\n"
		  "    labels: [l2=b]\n"
		  "    ports: ['8080:80', '8443:443']\n"
		  "    volumes: ['./mine:/data']\n"
		  "    healthcheck: {interval: 5s}\n"
		  "  web2:\n"
		  "    extends: web\n"
		  "    command: [other]\n"
		  "volumes: {data: {}}\n",
		  &err);
	if (t == NULL)
		fail_msg("%s", err.msg);
	svcs = services_of(t);
	web = json_object_get(svcs, "web");
	comp = json_object_get(web, "composition");
	assert_string_equal(json_string_value(json_object_get(web, "image")), "img:v1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(web, "environment"),
							      "A")),
			    "1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(web, "environment"),
							      "B")),
			    "3");
	assert_non_null(json_object_get(json_object_get(web, "labels"), "l1"));
	assert_non_null(json_object_get(json_object_get(web, "labels"), "l2"));
	/* ports appended without repeats; volumes by target, the base's paths
	 * its own directory's */
	assert_int_equal(json_array_size(json_object_get(comp, "ports")), 2);
	snprintf(want, sizeof(want), "%s/static:/static", real);
	assert_string_equal(json_string_value(json_array_get(json_object_get(comp, "volumes"), 0)),
			    want);
	snprintf(want, sizeof(want), "%s/mine:/data", real);
	assert_string_equal(json_string_value(json_array_get(json_object_get(comp, "volumes"), 1)),
			    want);
	assert_int_equal(json_array_size(json_object_get(comp, "volumes")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(comp, "healthcheck"),
							      "interval")),
			    "5s");
	assert_non_null(json_object_get(json_object_get(comp, "healthcheck"), "test"));
	/* chained: web2 is web with its own command */
	comp = json_object_get(json_object_get(svcs, "web2"), "composition");
	assert_string_equal(json_string_value(json_array_get(json_object_get(comp, "command"), 0)),
			    "other");
	assert_int_equal(json_array_size(json_object_get(comp, "ports")), 2);
	json_decref(t);

	/* a list and a map of depends_on merged: a map of both */
	t = parse("services:\n"
		  "  a: {image: x}\n"
		  "  b: {image: x}\n"
		  "  base: {image: x, depends_on: [a]}\n"
		  "  s: {extends: base, depends_on: {b: {condition: service_healthy}}}\n",
		  &err);
	if (t == NULL)
		fail_msg("%s", err.msg);
	comp = json_object_get(json_object_get(services_of(t), "s"), "composition");
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(json_object_get(comp, "depends_on"), "a"), "condition")),
			    "service_started");
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(json_object_get(comp, "depends_on"), "b"), "condition")),
			    "service_healthy");
	json_decref(t);

	expect("services:\n  a: {extends: {file: base.yml, service: loop1}}\n",
	       "base.yml: service 'loop2': extends goes round in a cycle");
	expect("services:\n  a: {extends: nope}\n", "service 'a': extends: no service 'nope'");
	expect("services:\n  a: {extends: {file: base.yml, service: nope}}\n",
	       "extends: " );
	expect("services:\n  a: {extends: {file: missing.yml, service: x}}\n", "missing.yml");
	expect("services:\n  a: {extends: {service: x, frob: 1}}\n",
	       "service 'a': extends must be a service name or {service, file}");

	/* include: its own directory, .env and paths; a resource defined twice
	 * differently is an error; an error in it names it */
	write_file("inc.yml", "services:\n"
			      "  db:\n"
			      "    image: db:${DBTAG}\n"
			      "    volumes: ['./dbdata:/var/lib/db', 'dbvol:/v']\n"
			      "volumes: {dbvol: {}}\n");
	write_file(".env", "DBTAG=from-dotenv\n");
	t = parse("include: [inc.yml]\nservices:\n  web: {image: w, volumes: ['dbvol:/x']}\n", &err);
	if (t == NULL)
		fail_msg("%s", err.msg);
	svcs = services_of(t);
	assert_string_equal(json_string_value(json_object_get(json_object_get(svcs, "db"), "image")),
			    "db:from-dotenv");
	snprintf(want, sizeof(want), "%s/dbdata:/var/lib/db", real);
	assert_string_equal(json_string_value(json_array_get(
				json_object_get(json_object_get(json_object_get(svcs, "db"),
								"composition"),
						"volumes"),
				0)),
			    want);
	json_decref(t);
	write_file("bad-inc.yml", "services:\n  db:\n    image: a\n    frob: 1\n");
	expect("include: [bad-inc.yml]\nservices:\n  web: {image: w}\n",
	       "bad-inc.yml:4: service 'db': key 'frob' is not supported");
	expect("include: [inc.yml]\nservices:\n  db: {image: other}\n",
	       "compose.yml:1: include: services 'db' of");
	expect("include: [{path: inc.yml, frob: 1}]\nservices:\n  web: {image: w}\n",
	       "include: each entry is a path or {path, project_directory, env_file}");
	write_file("self.yml", "include: [self.yml]\nservices:\n  s: {image: a}\n");
	expect("include: [self.yml]\nservices:\n  web: {image: w}\n",
	       "include goes round in a cycle or deeper than 8");
	{
		char p[128];
		snprintf(p, sizeof(p), "%s/.env", dir);
		unlink(p);
	}
}

static void
test_build_contract(void **state)
{
	char path[300], sub[300];
	bc_err err = {0};
	json_t *doc, *svcs, *rel = NULL, *x = NULL;
	const char *k;
	FILE *f;
	(void)state;

	snprintf(sub, sizeof(sub), "%s/sensor", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(path, sizeof(path), "%s/sensor/contract.yml", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("type: sw.container\nslug: sensor\nrequires:\n  - type: arch.sw\n    slug: "
	      "aarch64\n  - or:\n      - type: sw.l4t\n        version: '32.x'\n",
	      f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/docker-compose.yml", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("services:\n  sensor:\n    image: r/sensor\n    build: ./sensor\n"
	      "  web:\n    image: r/web\n    build: {context: web}\n",
	      f);
	fclose(f);
	if ((doc = bc_compose_load(path, NULL, &err)) == NULL)
		fail_msg("%s", err.msg);
	json_object_foreach(json_object_get(json_object_get(doc, "local"), "apps"), k, x) break;
	json_object_foreach(json_object_get(x, "releases"), k, rel) break;
	svcs = json_object_get(rel, "services");
	x = json_object_get(json_object_get(svcs, "sensor"), "contract");
	assert_non_null(x);
	assert_string_equal(json_string_value(json_object_get(x, "slug")), "sensor");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(x, "requires"), 0), "slug")),
			    "aarch64");
	/* the contract is the target's: checked there like any */
	assert_int_equal(bc_contract_check(x, "sensor", &err), 0);
	/* web's context has none: no contract; build is not a Docker key */
	assert_null(json_object_get(json_object_get(svcs, "web"), "contract"));
	assert_null(
	    json_object_get(json_object_get(json_object_get(svcs, "web"), "composition"), "build"));
	json_decref(doc);
	/* a build with no context, and a contract.yml that is not YAML: named */
	assert_non_null(f = fopen(path, "w"));
	fputs("services:\n  web:\n    image: r/web\n    build: {dockerfile: x}\n", f);
	fclose(f);
	assert_null(bc_compose_load(path, NULL, &err));
	assert_non_null(strstr(err.msg, "build must be a path or have a context"));
	snprintf(path, sizeof(path), "%s/sensor/contract.yml", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("requires: [a: b: c\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/docker-compose.yml", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("services:\n  sensor:\n    image: r/sensor\n    build: sensor\n", f);
	fclose(f);
	assert_null(bc_compose_load(path, NULL, &err));
	assert_non_null(strstr(err.msg, "sensor/contract.yml:"));
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/bc-compose-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_errors_name_file_line_key),
	    cmocka_unit_test(test_alias_bomb),
	    cmocka_unit_test(test_unset_told_once),
	    cmocka_unit_test(test_interpolation_forms),
	    cmocka_unit_test(test_profiles),
	    cmocka_unit_test(test_env_file_long_form),
	    cmocka_unit_test(test_deploy),
	    cmocka_unit_test(test_env_file_option),
	    cmocka_unit_test(test_stable_ids_and_project),
	    cmocka_unit_test(test_project_from_directory),
	    cmocka_unit_test(test_build_contract),
	    cmocka_unit_test(test_binds_secrets_configs),
	    cmocka_unit_test(test_build_spec),
	    cmocka_unit_test(test_extends_include),
	};
	return cmocka_run_group_tests_name("compose", tests, setup, teardown);
}
