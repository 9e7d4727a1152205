/* lib/target + lib/spec: the v3 target into the model and Docker bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/model/spec.h"
#include "lib/model/target.h"
#include "lib/model/values.h"

#define FIXTURE "tests/fixtures/target-v3-example.json"
#define APPUUID "a1b2c3d4e5f60718293a4b5c6d7e8f90"

static json_t *
fixture(void)
{
	json_error_t je;
	json_t *j = json_load_file(FIXTURE, 0, &je);
	if (j == NULL)
		fail_msg("%s: %s", FIXTURE, je.text);
	return j;
}

/* The service object of the fixture's release, to edit. */
static json_t *
svc_json(json_t *doc, const char *name)
{
	json_t *rel = json_object_get(
	    json_object_get(
		json_object_get(
		    json_object_get(json_object_get(doc, "6fe3b78b0a5c4d1e9f2a3b4c5d6e7f80"),
				    "apps"),
		    APPUUID),
		"releases"),
	    "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
	return name ? json_object_get(json_object_get(rel, "services"), name) : rel;
}

static int
has_str(const json_t *arr, const char *s)
{
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e) if (json_is_string(e) &&
					  strcmp(json_string_value(e), s) == 0) return 1;
	return 0;
}

static void
test_fixture(void **state)
{
	bc_target_opts o = {.lockdir = "/tmp/bc-locks", .device_type = "generic-amd64"};
	json_t *doc = fixture(), *spec, *host;
	bc_state st;
	bc_err err = {0};
	bc_app *a;
	bc_service *sensor, *up;
	(void)state;

	if (bc_target_parse(doc, &o, &st, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(st.n_apps, 1);
	a = &st.apps[0];
	assert_int_equal(a->app_id, 1001);
	assert_string_equal(a->uuid, APPUUID);
	assert_string_equal(a->name, "weather-station");
	assert_string_equal(a->commit, "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
	assert_int_equal(a->release_id, 2002);
	assert_int_equal(a->n_services, 2);
	assert_int_equal(a->n_volumes, 1);
	assert_int_equal(a->n_networks, 2); /* default + backend */
	assert_non_null(bc_app_network(a, "default"));

	sensor = bc_app_service(a, "sensor");
	assert_int_equal(sensor->service_id, 301);
	assert_int_equal(sensor->image_id, 4001);
	assert_int_equal(sensor->release_id, 2002);
	assert_string_equal(sensor->image, "127.0.0.1:5000/weather/sensor:2");
	assert_true(sensor->running);
	assert_int_equal(sensor->strategy, BC_STRAT_DOWNLOAD_THEN_KILL);
	assert_int_equal(strlen(sensor->config_hash), 16);
	spec = sensor->spec;
	host = json_object_get(spec, "HostConfig");
	assert_true(has_str(json_object_get(spec, "Env"), "SAMPLE_HZ=10"));
	assert_true(has_str(json_object_get(spec, "Env"), "BALENA_APP_ID=1001"));
	assert_true(has_str(json_object_get(spec, "Env"), "BALENA_SERVICE_NAME=sensor"));
	assert_true(has_str(json_object_get(spec, "Env"), "BALENA_DEVICE_TYPE=generic-amd64"));
	assert_true(has_str(json_object_get(spec, "Env"),
			    "BALENA_DEVICE_UUID=6fe3b78b0a5c4d1e9f2a3b4c5d6e7f80"));
	assert_true(
	    has_str(json_object_get(spec, "Env"), "BALENA_APP_LOCK_PATH=/tmp/balena/updates.lock"));
	assert_true(has_str(json_object_get(host, "Binds"), "1001_readings:/data"));
	assert_true(has_str(json_object_get(host, "Binds"), "/sys:/sys")); /* features.sysfs */
	assert_true(
	    has_str(json_object_get(host, "Binds"), "/tmp/bc-locks/1001/sensor:/tmp/balena"));
	assert_string_equal(json_string_value(json_object_get(host, "NetworkMode")),
			    APPUUID "_backend");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(host, "RestartPolicy"), "Name")),
	    "always");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(spec, "Labels"), "io.balena.app-id")),
	    "1001");
	assert_string_equal(json_string_value(json_object_get(json_object_get(spec, "Labels"),
							      "io.balena.service-name")),
			    "sensor");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(spec, "Labels"), BC_LABEL_HASH)),
	    sensor->config_hash);
	assert_true(bc_strv_has(&sensor->volumes, "readings"));
	assert_true(bc_strv_has(&sensor->networks, "backend"));

	up = bc_app_service(a, "uploader");
	assert_int_equal(up->strategy, BC_STRAT_HAND_OVER);
	assert_int_equal(up->handover_timeout_ms, 30000);
	assert_true(bc_strv_has(&up->depends_on, "sensor"));
	assert_true(has_str(json_object_get(json_object_get(up->spec, "HostConfig"), "Binds"),
			    "1001_readings:/data:ro"));
	assert_string_equal(
	    json_string_value(json_object_get(bc_app_network(a, "backend")->spec, "Name")),
	    APPUUID "_backend");
	assert_string_equal(
	    json_string_value(json_object_get(bc_app_volume(a, "readings")->spec, "Name")),
	    "1001_readings");
	bc_state_free(&st);
	json_decref(doc);
}

static const char *
hash_after(json_t *doc, const char *svc)
{
	static char h[17];
	bc_state st;
	bc_err err = {0};
	if (bc_target_parse(doc, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	strcpy(h, bc_app_service(&st.apps[0], svc)->config_hash);
	bc_state_free(&st);
	return h;
}

static void
test_hash(void **state)
{
	json_t *doc = fixture(), *rel, *s;
	char base[17];
	(void)state;
	strcpy(base, hash_after(doc, "sensor"));
	assert_string_equal(hash_after(doc, "sensor"), base); /* stable */

	/* a new release with a new image ref and ids: same config */
	s = svc_json(doc, "sensor");
	json_object_set_new(s, "image", json_string("127.0.0.1:5000/weather/sensor:3"));
	json_object_set_new(s, "image_id", json_integer(5001));
	assert_string_equal(hash_after(doc, "sensor"), base);

	/* environment order does not matter, values do: the same pairs in
	 * the other order (checked: the keys really come out reversed) */
	{
		char other[17];
		const char *k;
		json_t *env = json_object_get(s, "environment"), *rev = json_object(), *v;
		strcpy(other, hash_after(doc, "uploader"));
		json_object_set_new(env, "A_FIRST", json_string("x"));
		strcpy(base, hash_after(doc, "sensor"));
		json_object_set_new(rev, "A_FIRST", json_string("x"));
		json_object_set_new(rev, "SAMPLE_HZ", json_string("10"));
		json_object_foreach(env, k, v) break;
		assert_string_equal(k, "SAMPLE_HZ"); /* the order before */
		json_object_set_new(s, "environment", rev);
		json_object_foreach(rev, k, v) break;
		assert_string_equal(k, "A_FIRST"); /* and after */
		assert_string_equal(hash_after(doc, "sensor"), base);
		json_object_set_new(rev, "SAMPLE_HZ", json_string("20"));
		assert_string_not_equal(hash_after(doc, "sensor"), base);
		/* the other service did not move */
		assert_string_equal(hash_after(doc, "uploader"), other);
	}
	rel = svc_json(doc, NULL);
	assert_non_null(rel);
	json_decref(doc);
}

static void
expect_reject(json_t *doc, const char *needle)
{
	bc_state st;
	bc_err err = {0};
	assert_int_equal(bc_target_parse(doc, NULL, &st, &err), -1);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error '%s' lacks '%s'", err.msg, needle);
	assert_int_equal(st.n_apps, 0);
	json_decref(doc);
}

/* The fixture with one composition key of one service set, rejected. */
static void
reject_composition(const char *svc, const char *key, json_t *value, const char *needle)
{
	json_t *d = fixture();
	json_object_set_new(json_object_get(svc_json(d, svc), "composition"), key, value);
	expect_reject(d, needle);
}

static void
test_rejections(void **state)
{
	json_t *d;
	(void)state;

	/* both spellings of one key: refused, naming it */
	d = fixture();
	json_object_set_new(json_object_get(svc_json(d, "sensor"), "composition"), "capAdd",
			    json_pack("[s]", "NET_ADMIN"));
	json_object_set_new(json_object_get(svc_json(d, "sensor"), "composition"), "cap_add",
			    json_pack("[s]", "NET_ADMIN"));
	expect_reject(d, "composition key 'cap_add' is given twice");

	reject_composition("sensor", "volumes", json_pack("[s]", "nope:/x"),
			   "volume 'nope' is not declared by the release");

	reject_composition("sensor", "volumes", json_pack("[s]", "/etc:/host-etc"),
			   "host path '/etc' refused: bind mounts need the label " BC_LABEL_BINDS);

	d = fixture();
	json_object_set_new(json_object_get(svc_json(d, "sensor"), "labels"),
			    "io.balena.update.strategy", json_string("yolo"));
	expect_reject(d, "io.balena.update.strategy 'yolo' is not");

	reject_composition("uploader", "depends_on", json_pack("[s]", "ghost"),
			   "depends_on 'ghost' is not a service of the release");

	reject_composition("sensor", "depends_on", json_pack("[s]", "uploader"),
			   "depends_on forms a cycle");

	d = fixture();
	json_object_set_new(svc_json(d, "sensor"), "running", json_string("yes"));
	expect_reject(d, "'running' must be true or false");

	reject_composition("sensor", "networks", json_pack("[s]", "elsewhere"),
			   "network 'elsewhere' is not declared");

	/* app id 0: the locker and lock directories cannot name it */
	d = fixture();
	json_object_set_new(
	    json_object_get(
		json_object_get(json_object_get(d, "6fe3b78b0a5c4d1e9f2a3b4c5d6e7f80"), "apps"),
		APPUUID),
	    "id", json_integer(0));
	expect_reject(d, "'id' must be a positive integer");

	d = fixture();
	json_object_set_new(d, "second-device", json_object());
	expect_reject(d, "exactly one device uuid");

	reject_composition("sensor", "ports", json_pack("[s]", "99999:80"),
			   "is not a port mapping");

	/* found by fuzz_compose: leaked PortBindings when ports was no list */
	reject_composition("sensor", "ports", json_string("8080:80"), "'ports': must be a list");
}

/* What one target may hold (BC_TARGET_MAX_*): past each bound it is
 * refused whole, the bound named; at it, taken. */
static json_t *
app_of(json_t *doc)
{
	return json_object_get(
	    json_object_get(json_object_get(doc, "6fe3b78b0a5c4d1e9f2a3b4c5d6e7f80"), "apps"),
	    APPUUID);
}

static json_t *
many_apps(int n)
{
	json_t *d = json_object(), *apps = json_object();
	char uuid[40];

	for (int i = 1; i <= n; i++) {
		snprintf(uuid, sizeof(uuid), "app%d", i);
		json_object_set_new(apps, uuid,
				    json_pack("{s:I, s:s}", "id", (json_int_t)i, "name", uuid));
	}
	json_object_set_new(d, "dev", json_pack("{s:o}", "apps", apps));
	return d;
}

static void
accept_doc(json_t *doc)
{
	bc_state st;
	bc_err err = {0};

	if (bc_target_parse(doc, NULL, &st, &err) < 0)
		fail_msg("refused: %s", err.msg);
	bc_state_free(&st);
	json_decref(doc);
}

static void
test_bounds(void **state)
{
	json_t *d, *m, *svcs, *deep;
	char name[600], key[32];
	(void)state;

	accept_doc(many_apps(BC_TARGET_MAX_APPS));
	expect_reject(many_apps(BC_TARGET_MAX_APPS + 1), "more than 256 apps");

	/* an app's name: a state message holds 256 bytes of it */
	memset(name, 'n', BC_TARGET_MAX_NAME + 1);
	name[BC_TARGET_MAX_NAME + 1] = '\0';
	d = fixture();
	json_object_set_new(app_of(d), "name", json_string(name));
	expect_reject(d, "'name' is longer than 256 bytes");
	name[BC_TARGET_MAX_NAME] = '\0';
	d = fixture();
	json_object_set_new(app_of(d), "name", json_string(name));
	accept_doc(d);

	/* an image, with the ":latest" it gets: 511 bytes at most */
	memset(name, 'i', sizeof(name));
	name[BC_TARGET_MAX_IMAGE - 7 + 1] = '\0';
	d = fixture();
	json_object_set_new(svc_json(d, "sensor"), "image", json_string(name));
	expect_reject(d, "'image' is longer than 511 bytes (with its tag)");
	name[BC_TARGET_MAX_IMAGE - 7] = '\0';
	d = fixture();
	json_object_set_new(svc_json(d, "sensor"), "image", json_string(name));
	accept_doc(d);

	/* environment and labels of one service */
	d = fixture();
	m = json_object();
	for (int i = 0; i <= BC_TARGET_MAX_MAP; i++) {
		snprintf(key, sizeof(key), "V%d", i);
		json_object_set_new(m, key, json_string("x"));
	}
	json_object_set_new(svc_json(d, "sensor"), "environment", m);
	expect_reject(d, "'environment' has more than 1024 entries");

	/* services of one app, and of all apps together */
	d = fixture();
	svcs = json_object_get(svc_json(d, NULL), "services");
	for (int i = 0; json_object_size(svcs) <= BC_TARGET_MAX_SERVICES; i++) {
		snprintf(key, sizeof(key), "s%d", i);
		json_object_set(svcs, key, svc_json(d, "sensor"));
	}
	expect_reject(d, "more than 256 services");
	d = many_apps(5);
	for (int a = 1; a <= 5; a++) {
		json_t *app;
		snprintf(key, sizeof(key), "app%d", a);
		app = json_object_get(json_object_get(json_object_get(d, "dev"), "apps"), key);
		svcs = json_object();
		for (int i = 0; i < 220; i++) {
			char sn[16];
			snprintf(sn, sizeof(sn), "s%d", i);
			json_object_set_new(svcs, sn,
					    json_pack("{s:I, s:i, s:s}", "id", (json_int_t)i + 1,
						      "image_id", 1, "image", "busybox"));
		}
		json_object_set_new(app, "releases",
				    json_pack("{s:{s:i, s:o}}", "c1", "id", 1, "services", svcs));
	}
	expect_reject(d, "more than 1024 services in all apps");

	/* nesting, and values in all */
	deep = json_string("x");
	for (int i = 0; i < BC_TARGET_MAX_DEPTH + 2; i++)
		deep = json_pack("[o]", deep);
	d = fixture();
	json_object_set_new(app_of(d), "extra", deep);
	expect_reject(d, "nested more than 64 deep");
	d = fixture();
	m = json_array();
	for (int i = 0; i < BC_TARGET_MAX_NODES; i++)
		json_array_append_new(m, json_true());
	json_object_set_new(app_of(d), "extra", m);
	expect_reject(d, "more than 100000 values");
}

/* Text of many small values is refused by their count before a tree is
 * built (1 MiB of '{},' is ~75 MiB of jansson's); strings hide none. */
static void
test_load_counts_values(void **state)
{
	size_t n = 3 * (BC_TARGET_MAX_NODES + 1);
	char *text = malloc(n + 2);
	bc_err err = {0};
	json_t *j;

	(void)state;
	assert_non_null(text);
	text[0] = '[';
	for (size_t i = 1; i < n; i += 3)
		memcpy(text + i, "{},", 3);
	text[n - 1] = ']';
	assert_true(bc_json_values_bound(text, n) > BC_TARGET_MAX_NODES);
	assert_null(bc_target_load(text, n, "flood.json", &err));
	assert_string_equal(err.msg, "flood.json: more than 100000 values");
	free(text);
	/* separators inside strings (escaped quotes too) are not values */
	{
		const char *t = "{\"a,b[{\":\"x\\\",{\"}";
		assert_int_equal(bc_json_values_bound(t, strlen(t)), 2);
	}
	j = bc_target_load("{\"a\": 1, \"a\": 2}", 16, "dup.json", &err);
	assert_null(j);
	assert_non_null(strstr(err.msg, "dup.json:1:"));
}

static void
test_binds_allowed_by_label(void **state)
{
	json_t *d = fixture(), *s = svc_json(d, "sensor");
	bc_state st;
	bc_err err = {0};
	(void)state;
	json_object_set_new(json_object_get(s, "labels"), BC_LABEL_BINDS, json_string("1"));
	json_object_set_new(json_object_get(s, "composition"), "volumes",
			    json_pack("[s,s]", "/etc/hostname:/host-name:ro", "readings:/data"));
	if (bc_target_parse(d, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(
	    has_str(json_object_get(
			json_object_get(bc_app_service(&st.apps[0], "sensor")->spec, "HostConfig"),
			"Binds"),
		    "/etc/hostname:/host-name:ro"));
	bc_state_free(&st);
	json_decref(d);
}

/* Item 6 of the trust issue: what a target could use to reach beyond its
 * app without the bind-mount label. */
static void
add_volume(json_t *d, const char *name, json_t *driver_opts)
{
	json_t *rel = svc_json(d, NULL), *vols = json_object_get(rel, "volumes");
	if (vols == NULL)
		json_object_set_new(rel, "volumes", vols = json_object());
	json_object_set_new(vols, name, json_pack("{s:o}", "driver_opts", driver_opts));
}

static void
with_volume(json_t *driver_opts, bool label, const char *needle)
{
	json_t *d = fixture(), *s = svc_json(d, "sensor");
	bc_state st;
	bc_err err = {0};

	add_volume(d, "hostish", driver_opts);
	json_object_set_new(json_object_get(s, "composition"), "volumes",
			    json_pack("[s]", "hostish:/mnt"));
	if (label)
		json_object_set_new(json_object_get(s, "labels"), BC_LABEL_BINDS, json_string("1"));
	if (needle != NULL) {
		expect_reject(d, needle);
		return;
	}
	if (bc_target_parse(d, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	bc_state_free(&st);
	json_decref(d);
}

static void
test_escalation_gates(void **state)
{
	json_t *d;
	bc_state st;
	bc_err err = {0};
	(void)state;

	/* a named volume that is a bind mount by another name */
	with_volume(json_pack("{s:s,s:s,s:s}", "type", "none", "o", "bind", "device", "/etc"),
		    false,
		    "volume 'hostish' mounts the host's device '/etc', type 'none', o 'bind': "
		    "refused, bind mounts need the label " BC_LABEL_BINDS);
	with_volume(json_pack("{s:s,s:s}", "o", "ro,rbind", "device", "/root"), false,
		    "mounts the host's device '/root'");
	with_volume(json_pack("{s:s,s:s}", "type", "ext4", "device", "/dev/sda1"), false,
		    "mounts the host's device '/dev/sda1', type 'ext4'");
	with_volume(json_pack("{s:s,s:s,s:s}", "type", "none", "o", "bind", "device", "/etc"), true,
		    NULL); /* the label is the gate */
	with_volume(json_pack("{s:s,s:s,s:s}", "type", "tmpfs", "device", "tmpfs", "o", "size=1m"),
		    false, NULL);
	with_volume(json_pack("{s:i}", "size", 5), false, "driver_opts 'size' must be a string");

	/* pid and ipc: the host's, or a service of this app; never another container */
	reject_composition("sensor", "pid", json_string("container:0123abcd"),
			   "'pid': 'container:0123abcd' is not host or service:<name>");
	reject_composition("sensor", "ipc", json_string("container:0123abcd"),
			   "'ipc': 'container:0123abcd' is not host, none, private, shareable");
	reject_composition("sensor", "pid", json_string("service:ghost"),
			   "depends_on 'ghost' is not a service of the release");
	reject_composition("sensor", "pid", json_string("service:"), "'pid'");
	reject_composition("sensor", "pid", json_integer(1), "'pid': must be a string");
	d = fixture();
	json_object_set_new(json_object_get(svc_json(d, "uploader"), "composition"), "pid",
			    json_string("service:sensor"));
	json_object_set_new(json_object_get(svc_json(d, "uploader"), "composition"), "ipc",
			    json_string("shareable"));
	json_object_set_new(json_object_get(svc_json(d, "sensor"), "composition"), "pid",
			    json_string("host"));
	if (bc_target_parse(d, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(bc_app_service(&st.apps[0], "uploader")->spec, "HostConfig"),
		"PidMode")),
	    "service:sensor"); /* container:<id> at create, of this app's sensor */
	assert_true(bc_strv_has(&bc_app_service(&st.apps[0], "uploader")->depends_on, "sensor"));
	bc_state_free(&st);
	json_decref(d);
}

/* A volume or network outside the app (external, or a Docker name of the
 * release's own): the label is the gate; external ones are not made, and
 * what a service waits for leaves them out; the Docker names are theirs */
static void
test_outside_components(void **state)
{
	json_t *d, *s, *rel;
	bc_state st;
	bc_err err = {0};
	const bc_service *svc;
	const json_t *host;
	(void)state;

	d = fixture();
	rel = svc_json(d, NULL);
	s = svc_json(d, "sensor");
	if (json_object_get(rel, "volumes") == NULL)
		json_object_set_new(rel, "volumes", json_object());
	if (json_object_get(rel, "networks") == NULL)
		json_object_set_new(rel, "networks", json_object());
	{
		json_t *v = json_pack("{s:{s:b, s:s}, s:{s:s}}", "shared", "external", 1, "name",
				      "my-shared", "own", "name", "fixed-own");
		json_t *n = json_pack("{s:{s:b}, s:{}}", "traefik", "external", 1, "back");
		json_object_update(json_object_get(rel, "volumes"), v);
		json_object_update(json_object_get(rel, "networks"), n);
		json_decref(v);
		json_decref(n);
	}
	json_object_set_new(json_object_get(s, "composition"), "volumes",
			    json_pack("[s, s]", "shared:/shared", "own:/own"));
	json_object_set_new(json_object_get(s, "composition"), "networks",
			    json_pack("[s, s]", "back", "traefik"));
	expect_reject(json_deep_copy(d), "volume 'shared' is outside the app (external or named "
					 "my-shared): refused, that needs the label");
	json_object_set_new(json_object_get(s, "labels"), BC_LABEL_BINDS, json_string("1"));
	if (bc_target_parse(d, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	svc = bc_app_service(&st.apps[0], "sensor");
	host = json_object_get(svc->spec, "HostConfig");
	assert_true(has_str(json_object_get(host, "Binds"), "my-shared:/shared"));
	assert_true(has_str(json_object_get(host, "Binds"), "fixed-own:/own"));
	/* it waits for its own volume and network, not for the device's */
	assert_true(bc_strv_has(&svc->volumes, "own"));
	assert_false(bc_strv_has(&svc->volumes, "shared"));
	assert_true(bc_strv_has(&svc->networks, "back"));
	assert_false(bc_strv_has(&svc->networks, "traefik"));
	assert_non_null(json_object_get(svc->connect, "traefik")); /* joined by its name */
	assert_true(bc_app_volume(&st.apps[0], "shared")->external);
	assert_null(bc_app_volume(&st.apps[0], "shared")->spec);
	assert_string_equal(json_string_value(json_object_get(
				bc_app_volume(&st.apps[0], "own")->spec, "Name")),
			    "fixed-own");
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(bc_app_volume(&st.apps[0], "own")->spec, "Labels"),
				"io.balena-compose.component")),
			    "own");
	assert_true(bc_app_network(&st.apps[0], "traefik")->external);
	bc_state_free(&st);
	/* the network too needs the label */
	json_object_del(json_object_get(s, "labels"), BC_LABEL_BINDS);
	json_object_set_new(json_object_get(s, "composition"), "volumes", json_array());
	expect_reject(d, "network 'traefik' is outside the app (external or named traefik)");
	/* names are Docker names; external is a boolean */
	d = fixture();
	json_object_set_new(svc_json(d, NULL), "volumes",
			    json_pack("{s:{s:s}}", "v", "name", "../etc"));
	expect_reject(d, "volume 'v': name must be a Docker name");
	d = fixture();
	json_object_set_new(svc_json(d, NULL), "networks",
			    json_pack("{s:{s:s}}", "n", "external", "yes"));
	expect_reject(d, "network 'n': external must be true or false");
}

/* volumes_from and links: a service of this app (it starts first, its
 * container resolved at create); a container outside it needs the label */
static void
test_volumes_from_links(void **state)
{
	json_t *d = fixture(), *c = json_object_get(svc_json(d, "uploader"), "composition"), *ep;
	bc_state st;
	bc_err err = {0};
	const bc_service *svc;
	(void)state;
	json_object_set_new(c, "volumes_from", json_pack("[s]", "sensor:ro"));
	json_object_set_new(c, "links", json_pack("[s, s]", "sensor:probe", "sensor"));
	if (bc_target_parse(d, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	svc = bc_app_service(&st.apps[0], "uploader");
	assert_true(bc_strv_has(&svc->depends_on, "sensor"));
	assert_true(has_str(json_object_get(json_object_get(svc->spec, "HostConfig"), "VolumesFrom"),
			    "service:sensor:ro"));
	ep = json_object_iter_value(json_object_iter(json_object_get(
	    json_object_get(svc->spec, "NetworkingConfig"), "EndpointsConfig")));
	assert_true(has_str(json_object_get(ep, "Links"), "service:sensor:probe"));
	assert_true(has_str(json_object_get(ep, "Links"), "service:sensor:sensor"));
	assert_null(json_object_get(svc->spec, "x-links"));
	bc_state_free(&st);
	json_decref(d);

	reject_composition("uploader", "volumes_from", json_pack("[s]", "ghost"),
			   "depends_on 'ghost' is not a service of the release");
	reject_composition("uploader", "volumes_from", json_pack("[s]", "sensor:rx"),
			   "'volumes_from': 'sensor:rx': the mode is ro or rw");
	reject_composition("uploader", "volumes_from", json_pack("[s]", "container:other"),
			   "'volumes_from': 'container:other' is a container outside the app: "
			   "refused, that needs the label");
	reject_composition("uploader", "external_links", json_pack("[s]", "redis:cache"),
			   "'external_links': containers outside the app: refused");
	reject_composition("uploader", "links", json_pack("[s]", "ghost:g"),
			   "depends_on 'ghost' is not a service of the release");
	d = fixture();
	json_object_set_new(json_object_get(svc_json(d, "uploader"), "composition"), "links",
			    json_pack("[s]", "sensor"));
	json_object_set_new(json_object_get(svc_json(d, "uploader"), "composition"),
			    "network_mode", json_string("host"));
	expect_reject(d, "'network_mode': cannot be combined with links");
}

/* post_start and pre_stop: exec bodies; pre_stop also on the container
 * (a later release stops it); a privileged hook needs a privileged
 * service; part of the config hash */
static void
test_hooks(void **state)
{
	json_t *d = fixture(), *c = json_object_get(svc_json(d, "sensor"), "composition");
	bc_state st;
	bc_err err = {0};
	const bc_service *svc;
	const json_t *h;
	char base[17];
	(void)state;
	strcpy(base, hash_after(d, "sensor"));
	json_object_set_new(c, "post_start",
			    json_pack("[{s:s, s:s, s:[s]}]", "command", "sh -c 'echo hi >/x'",
				      "user", "nobody", "environment", "A=1"));
	json_object_set_new(c, "pre_stop", json_pack("[{s:[s,s]}]", "command", "/bin/true", "x"));
	if (bc_target_parse(d, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	svc = bc_app_service(&st.apps[0], "sensor");
	h = json_array_get(json_object_get(svc->hooks, "post_start"), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(h, "Cmd"), 2)),
			    "echo hi >/x");
	assert_string_equal(json_string_value(json_object_get(h, "User")), "nobody");
	assert_true(has_str(json_object_get(h, "Env"), "A=1"));
	assert_true(json_is_false(json_object_get(h, "Privileged")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(svc->spec, "Labels"),
							      "io.balena-compose.pre-stop")),
			    "[{\"Cmd\":[\"/bin/true\",\"x\"],\"Privileged\":false,\"Env\":[]}]");
	assert_string_not_equal(svc->config_hash, base);
	bc_state_free(&st);
	json_decref(d);
	/* container_name (the label): the container's own name */
	d = fixture();
	json_object_set_new(json_object_get(svc_json(d, "sensor"), "labels"),
			    "io.balena-compose.container-name", json_string("my-sensor"));
	if (bc_target_parse(d, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	{
		char cname[200];
		svc = bc_app_service(&st.apps[0], "sensor");
		assert_string_equal(svc->container_name, "my-sensor");
		assert_int_equal(bc_container_name(cname, sizeof(cname), svc), 0);
		assert_string_equal(cname, "my-sensor");
	}
	bc_state_free(&st);
	json_decref(d);
	d = fixture();
	json_object_set_new(json_object_get(svc_json(d, "sensor"), "labels"),
			    "io.balena-compose.container-name", json_string("../x"));
	expect_reject(d, "io.balena-compose.container-name must be a Docker name");
	/* platform: on the container's label (create reads it there) */
	d = fixture();
	json_object_set_new(json_object_get(svc_json(d, "sensor"), "composition"), "platform",
			    json_string("linux/arm64/v8"));
	if (bc_target_parse(d, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(bc_app_service(&st.apps[0], "sensor")->spec, "Labels"),
		"io.balena-compose.platform")),
	    "linux/arm64/v8");
	bc_state_free(&st);
	json_decref(d);
	reject_composition("sensor", "platform", json_string("linux//arm"),
			   "'platform': must be os[/arch[/variant]]");
	reject_composition("sensor", "platform", json_string("Linux/x86 64"),
			   "'platform': must be os[/arch[/variant]]");
	reject_composition("sensor", "post_start",
			   json_pack("[{s:s, s:b}]", "command", "x", "privileged", 1),
			   "a privileged hook needs a privileged service");
	reject_composition("sensor", "pre_stop", json_pack("[{s:s}]", "cmd", "x"),
			   "each hook is {command, user, privileged, working_dir, environment}");
	reject_composition("sensor", "pre_stop", json_pack("[{s:[]}]", "command"),
			   "each hook needs a command");
}

/* Item 8: container logs are bounded unless the composition says how */
static void
test_logging(void **state)
{
	json_t *d = fixture(), *lc;
	bc_state st;
	bc_err err = {0};
	(void)state;

	json_object_set_new(json_object_get(svc_json(d, "uploader"), "composition"), "logging",
			    json_pack("{s:s,s:{s:s,s:i}}", "driver", "local", "options", "max-size",
				      "1m", "max-file", 2));
	if (bc_target_parse(d, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	lc = json_object_get(
	    json_object_get(bc_app_service(&st.apps[0], "sensor")->spec, "HostConfig"),
	    "LogConfig");
	assert_string_equal(json_string_value(json_object_get(lc, "Type")), "json-file");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(lc, "Config"), "max-size")),
	    BC_LOG_MAX_SIZE);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(lc, "Config"), "max-file")),
	    BC_LOG_MAX_FILE);
	lc = json_object_get(
	    json_object_get(bc_app_service(&st.apps[0], "uploader")->spec, "HostConfig"),
	    "LogConfig");
	assert_string_equal(json_string_value(json_object_get(lc, "Type")), "local");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(lc, "Config"), "max-file")), "2");
	bc_state_free(&st);
	json_decref(d);
	reject_composition("sensor", "logging", json_string("json-file"),
			   "'logging': must be a map");
	reject_composition("sensor", "logging", json_pack("{s:s}", "drvier", "local"),
			   "'logging': key 'drvier' is not driver or options");
	reject_composition("sensor", "logging", json_pack("{s:i}", "driver", 1),
			   "driver must be a non-empty string");
	reject_composition("sensor", "logging", json_pack("{s:{s:[]}}", "options", "x"),
			   "'logging.options': value of 'x' must be a string or number");
}

static void
test_compose_keys(void **state)
{
	json_t *d = fixture(), *c = json_object_get(svc_json(d, "sensor"), "composition"), *spec,
	       *host;
	bc_state st;
	bc_err err = {0};
	(void)state;
	json_object_set_new(c, "command", json_string("sh -c 'echo \"hi there\"; sleep 1'"));
	json_object_set_new(c, "ports", json_pack("[s,i]", "127.0.0.1:8080:80/tcp", 9000));
	json_object_set_new(c, "stop_grace_period", json_string("1m30s"));
	json_object_set_new(c, "mem_limit", json_string("512m"));
	json_object_set_new(c, "cpus", json_real(1.5));
	json_object_set_new(
	    c, "healthcheck",
	    json_pack("{s:s,s:s,s:i}", "test", "true", "interval", "10s", "retries", 3));
	json_object_set_new(
	    c, "ulimits",
	    json_pack("{s:i,s:{s:i,s:i}}", "nproc", 100, "nofile", "soft", 10, "hard", 20));
	json_object_set_new(c, "tmpfs", json_string("/run"));
	json_object_set_new(c, "devices", json_pack("[s]", "/dev/ttyUSB0:/dev/ttyS0:rw"));
	json_object_set_new(c, "extra_hosts", json_pack("[s]", "db:10.0.0.2"));
	json_object_set_new(c, "restart", json_string("on-failure:3"));
	json_object_set_new(c, "init", json_true());
	if (bc_target_parse(d, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	spec = bc_app_service(&st.apps[0], "sensor")->spec;
	host = json_object_get(spec, "HostConfig");
	assert_int_equal(json_array_size(json_object_get(spec, "Cmd")), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(spec, "Cmd"), 2)),
			    "echo \"hi there\"; sleep 1");
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(json_object_get(host, "PortBindings"), "80/tcp"), 0),
		"HostIp")),
	    "127.0.0.1");
	assert_non_null(json_object_get(json_object_get(spec, "ExposedPorts"), "9000/tcp"));
	assert_int_equal(json_integer_value(json_object_get(spec, "StopTimeout")), 90);
	assert_int_equal(json_integer_value(json_object_get(host, "Memory")), 512 << 20);
	assert_int_equal(json_integer_value(json_object_get(host, "NanoCpus")), 1500000000);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(spec, "Healthcheck"), "Interval")),
	    10000000000LL);
	assert_int_equal(json_array_size(json_object_get(host, "Ulimits")), 2);
	assert_non_null(json_object_get(json_object_get(host, "Tmpfs"), "/run"));
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(json_object_get(host, "Devices"), 0),
					      "PathInContainer")),
	    "/dev/ttyS0");
	assert_true(has_str(json_object_get(host, "ExtraHosts"), "db:10.0.0.2"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(host, "RestartPolicy"),
							    "MaximumRetryCount")),
			 3);
	assert_true(json_is_true(json_object_get(host, "Init")));
	bc_state_free(&st);
	json_decref(d);
}

static void
test_text_errors(void **state)
{
	bc_state st;
	bc_err err = {0};
	(void)state;
	assert_int_equal(bc_target_parse_text("{", 1, "t.json", NULL, &st, &err), -1);
	assert_non_null(strstr(err.msg, "t.json:1:"));
	assert_int_equal(
	    bc_target_parse_text("{\"d\":{\"apps\":{}}}", 17, "t.json", NULL, &st, &err), 0);
	assert_int_equal(st.n_apps, 0);
}

/* The reconciler's target as documents: merge, lookup, removal, the
 * override-lock flag. */
static void
test_merge_find_remove(void **state)
{
	json_t *cur = json_loads("{\"dev\": {\"name\": \"d\", \"config\": {}, \"apps\": {"
				 "\"u1\": {\"id\": 1, \"name\": \"one\"},"
				 "\"u2\": {\"id\": 2, \"name\": \"two\"}}}}",
				 0, NULL);
	json_t *doc = json_loads("{\"dev\": {\"config\": {\"BALENA_SUPERVISOR_OVERRIDE_LOCK\": "
				 "\"1\"}, \"apps\": {\"u2\": {\"id\": 2, \"name\": \"deux\"},"
				 "\"u3\": {\"id\": 3}}}}",
				 0, NULL);
	json_t *m, *first;
	char names[128];
	bc_err err = {0};
	(void)state;
	assert_non_null(cur);
	assert_non_null(doc);
	m = bc_target_merge(cur, doc, &err);
	assert_non_null(m);
	assert_int_equal(bc_target_count_apps(m), 3);
	assert_int_equal(bc_target_count_apps(cur), 2); /* current untouched */
	/* an app of doc replaces the app of its uuid */
	assert_string_equal(bc_target_find_app(m, "deux", NULL, 0), "u2");
	assert_null(bc_target_find_app(m, "two", NULL, 0));
	assert_string_equal(bc_target_find_app(m, "3", NULL, 0), "u3");
	assert_string_equal(bc_target_find_app(m, "u1", NULL, 0), "u1");
	assert_null(bc_target_find_app(m, "nope", names, sizeof(names)));
	assert_string_equal(names, "one, deux, u3");
	{
		/* the apps it names, for a client to wait on (not validated) */
		int64_t ids[4];
		const char *uuids[4];
		assert_int_equal(bc_target_apps(m, ids, uuids, 4), 3);
		assert_int_equal(ids[0] + ids[1] + ids[2], 6);
		assert_int_equal(bc_target_apps(m, ids, uuids, 2), 2);
		assert_int_equal(bc_target_apps(json_object_get(m, "dev"), ids, uuids, 4), 0);
	}
	/* the held device keeps its config: a new document brings apps */
	assert_false(bc_target_override_lock(m));
	assert_true(bc_target_override_lock(doc));
	bc_target_remove_app(m, "u2");
	assert_int_equal(bc_target_count_apps(m), 2);
	assert_null(bc_target_find_app(m, "deux", names, sizeof(names)));
	json_decref(m);
	/* nothing held yet: the document itself */
	first = bc_target_merge(NULL, doc, &err);
	assert_true(json_equal(first, doc));
	json_decref(first);
	/* no device at all */
	first = json_object();
	assert_null(bc_target_merge(cur, first, &err));
	assert_int_equal(err.code, BC_EINVAL);
	json_decref(first);
	bc_target_remove_app(cur, "u1");
	bc_target_remove_app(cur, "u2");
	assert_null(bc_target_find_app(cur, "x", names, sizeof(names)));
	assert_string_equal(names, "none");
	json_decref(cur);
	json_decref(doc);
}

/* A v3 target as the supervisor reads it: camelCase keys as their
 * snake_case, the supervisor's keys run, and a key we do not run (unknown,
 * or build, container_name) left out and named, not refusing the release. */
static void
test_supervisor_keys(void **state)
{
	json_t *d = fixture(), *c = json_object_get(svc_json(d, "sensor"), "composition"), *host;
	bc_state st;
	bc_err err = {0};
	const bc_service *s;
	(void)state;

	json_object_set_new(c, "capAdd", json_pack("[s]", "NET_ADMIN"));
	json_object_set_new(c, "workingDir", json_string("/app"));
	json_object_set_new(c, "securityOpt", json_pack("[s]", "no-new-privileges"));
	json_object_set_new(c, "cgroup_parent", json_string("/bc"));
	json_object_set_new(c, "cpuQuota", json_integer(50000));
	json_object_set_new(c, "cpuset", json_string("0-1"));
	json_object_set_new(c, "mac_address", json_string("02:42:ac:11:00:02"));
	json_object_set_new(c, "oomKillDisable", json_true());
	json_object_set_new(c, "pids_limit", json_integer(100));
	json_object_set_new(c, "storage_opt", json_pack("{s:s}", "size", "1G"));
	json_object_set_new(c, "usernsMode", json_string("host"));
	json_object_set_new(c, "runtime", json_string("runc"));
	json_object_set_new(c, "frobnicate", json_true());
	json_object_set_new(c, "build", json_string("."));
	json_object_set_new(c, "container_name", json_string("x"));
	if (bc_target_parse(d, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	s = bc_app_service(&st.apps[0], "sensor");
	host = json_object_get(s->spec, "HostConfig");
	assert_string_equal(json_string_value(json_array_get(json_object_get(host, "CapAdd"), 0)),
			    "NET_ADMIN");
	assert_string_equal(json_string_value(json_object_get(s->spec, "WorkingDir")), "/app");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(host, "SecurityOpt"), 0)),
	    "no-new-privileges");
	assert_string_equal(json_string_value(json_object_get(host, "CgroupParent")), "/bc");
	assert_int_equal(json_integer_value(json_object_get(host, "CpuQuota")), 50000);
	assert_string_equal(json_string_value(json_object_get(host, "CpusetCpus")), "0-1");
	assert_string_equal(json_string_value(json_object_get(s->spec, "MacAddress")),
			    "02:42:ac:11:00:02");
	assert_true(json_is_true(json_object_get(host, "OomKillDisable")));
	assert_int_equal(json_integer_value(json_object_get(host, "PidsLimit")), 100);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(host, "StorageOpt"), "size")), "1G");
	assert_string_equal(json_string_value(json_object_get(host, "UsernsMode")), "host");
	assert_string_equal(json_string_value(json_object_get(host, "Runtime")), "runc");
	/* left out, named as given */
	assert_int_equal(s->ignored.n, 3);
	assert_true(bc_strv_has(&s->ignored, "frobnicate"));
	assert_true(bc_strv_has(&s->ignored, "build"));
	assert_true(bc_strv_has(&s->ignored, "container_name"));
	assert_int_equal(bc_app_service(&st.apps[0], "uploader")->ignored.n, 0);
	bc_state_free(&st);
	json_decref(d);
}

/* Ids as strings of digits, as the supervisor takes them: the integers
 * they name; anything else still refused, named. */
static void
test_ids_as_strings(void **state)
{
	json_t *d = fixture(), *svc = svc_json(d, "sensor");
	char *text;
	bc_state st;
	bc_err err = {0};
	(void)state;

	json_object_set_new(svc, "id", json_string("301"));
	json_object_set_new(svc, "image_id", json_string("4001"));
	text = json_dumps(d, 0);
	if (bc_target_parse_text(text, strlen(text), "t.json", NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(bc_app_service(&st.apps[0], "sensor")->service_id, 301);
	assert_int_equal(bc_app_service(&st.apps[0], "sensor")->image_id, 4001);
	bc_state_free(&st);
	free(text);
	json_object_set_new(svc, "image_id", json_string("40a1"));
	text = json_dumps(d, 0);
	assert_int_equal(bc_target_parse_text(text, strlen(text), "t.json", NULL, &st, &err), -1);
	assert_non_null(strstr(err.msg, "'image_id' must be a non-negative integer"));
	free(text);
	json_decref(d);
}

/* network_mode "service: x" (with a space), as the supervisor takes it:
 * written "service:x", and x is waited for. */
static void
test_network_mode_service_space(void **state)
{
	json_t *d = fixture(), *c = json_object_get(svc_json(d, "uploader"), "composition");
	bc_state st;
	bc_err err = {0};
	const bc_service *s;
	(void)state;

	json_object_del(c, "networks");
	json_object_set_new(c, "network_mode", json_string("service:  sensor"));
	if (bc_target_parse(d, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	s = bc_app_service(&st.apps[0], "uploader");
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(s->spec, "HostConfig"), "NetworkMode")),
			    "service:sensor");
	assert_true(bc_strv_has(&s->depends_on, "sensor"));
	bc_state_free(&st);
	json_object_set_new(c, "network_mode", json_string("service: "));
	expect_reject(d, "'service: ' names no service");
}

/* Long-form volumes: their options become the mount's (propagation,
 * nocopy, tmpfs size and mode); a key the long form does not have is
 * refused, named. */
static void
test_volume_long_forms(void **state)
{
	json_t *d = fixture(), *svc = svc_json(d, "sensor"),
	       *c = json_object_get(svc, "composition");
	json_t *host;
	bc_state st;
	bc_err err = {0};
	char *binds, *tmpfs;
	(void)state;

	json_object_set_new(json_object_get(svc, "labels"), BC_LABEL_BINDS, json_string("1"));
	json_object_set_new(
	    c, "volumes",
	    json_pack("[{s:s, s:s, s:s, s:{s:s}}, {s:s, s:s, s:s, s:b, s:{s:b}, s:s}, "
		      "{s:s, s:s, s:{s:i, s:i}}]",
		      "type", "bind", "source", "/srv", "target", "/srv", "bind", "propagation",
		      "rslave", "type", "volume", "source", "readings", "target", "/data",
		      "read_only", 1, "volume", "nocopy", 1, "consistency", "cached", "type",
		      "tmpfs", "target", "/run", "tmpfs", "size", 65536, "mode", 1023));
	if (bc_target_parse(d, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	host = json_object_get(bc_app_service(&st.apps[0], "sensor")->spec, "HostConfig");
	binds = json_dumps(json_object_get(host, "Binds"), 0);
	tmpfs = json_dumps(json_object_get(host, "Tmpfs"), 0);
	assert_non_null(strstr(binds, "\"/srv:/srv:rslave\""));
	assert_non_null(strstr(binds, ":/data:ro,nocopy\""));
	assert_non_null(strstr(tmpfs, "\"/run\": \"size=65536,mode=1777\""));
	free(binds);
	free(tmpfs);
	bc_state_free(&st);
	json_decref(d);

	reject_composition("sensor", "volumes",
			   json_pack("[{s:s, s:s, s:s, s:i}]", "type", "volume", "source",
				     "readings", "target", "/d", "bogus", 1),
			   "long form: key 'bogus' is not supported");
	reject_composition("sensor", "volumes",
			   json_pack("[{s:s, s:s, s:s, s:{s:b}}]", "type", "volume", "source",
				     "readings", "target", "/d", "volume", "subpath", 1),
			   "volume: key 'subpath' is not supported");
	reject_composition("sensor", "volumes",
			   json_pack("[{s:s, s:s, s:s, s:{s:s}}]", "type", "volume", "source",
				     "readings", "target", "/d", "bind", "propagation", "rslave"),
			   "'bind' options need type: bind");
	reject_composition("sensor", "volumes",
			   json_pack("[{s:s, s:s, s:{s:s}}]", "type", "tmpfs", "target", "/t",
				     "tmpfs", "size", "lots"),
			   "'volumes'");
	/* long-form ports: mode, name and app_protocol taken; others refused */
	d = fixture();
	json_object_set_new(json_object_get(svc_json(d, "sensor"), "composition"), "ports",
			    json_pack("[{s:i, s:s, s:s, s:s, s:s}]", "target", 80, "host_ip",
				      "127.0.0.1", "mode", "ingress", "name", "web", "app_protocol",
				      "http"));
	if (bc_target_parse(d, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	bc_state_free(&st);
	json_decref(d);
	reject_composition("sensor", "ports", json_pack("[{s:i, s:i}]", "target", 80, "bogus", 1),
			   "long form: key 'bogus' is not supported");
	reject_composition("sensor", "ports",
			   json_pack("[{s:i, s:s}]", "target", 80, "mode", "swarm"),
			   "mode must be host or ingress");
}

/* A service's network attachments: every key taken into the endpoint (or
 * refused, named); the network of the highest priority is the one joined
 * at create. */
static void
test_network_attachments(void **state)
{
	json_t *d = fixture(), *rel, *c = json_object_get(svc_json(d, "sensor"), "composition");
	json_t *ep, *connect;
	bc_state st;
	bc_err err = {0};
	const bc_service *s;
	char *text;
	(void)state;

	/* a second network in the release */
	rel = json_object_get(
	    json_object_get(
		json_object_get(
		    json_object_get(json_object_get(d, "6fe3b78b0a5c4d1e9f2a3b4c5d6e7f80"), "apps"),
		    "a1b2c3d4e5f60718293a4b5c6d7e8f90"),
		"releases"),
	    "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
	json_object_set_new(json_object_get(rel, "networks"), "front", json_object());
	json_object_set_new(c, "networks",
			    json_pack("{s:{s:[s], s:s, s:s, s:[s], s:s, s:{s:s}}, s:{s:i}}",
				      "backend", "aliases", "sense", "ipv4_address", "172.30.0.5",
				      "ipv6_address", "fd00::5", "link_local_ips", "169.254.1.5",
				      "mac_address", "02:42:ac:1e:00:05", "driver_opts",
				      "com.example.x", "1", "front", "priority", 100));
	if (bc_target_parse(d, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	s = bc_app_service(&st.apps[0], "sensor");
	/* front (priority 100) at create; backend joined after, all of it */
	assert_non_null(strstr(json_string_value(json_object_get(
				   json_object_get(s->spec, "HostConfig"), "NetworkMode")),
			       "_front"));
	connect = s->connect;
	assert_int_equal(json_object_size(connect), 1);
	ep = json_object_iter_value(json_object_iter(connect));
	text = json_dumps(ep, JSON_SORT_KEYS);
	assert_non_null(strstr(text, "\"IPv4Address\": \"172.30.0.5\""));
	assert_non_null(strstr(text, "\"IPv6Address\": \"fd00::5\""));
	assert_non_null(strstr(text, "\"LinkLocalIPs\": [\"169.254.1.5\"]"));
	assert_non_null(strstr(text, "\"MacAddress\": \"02:42:ac:1e:00:05\""));
	assert_non_null(strstr(text, "\"DriverOpts\": {\"com.example.x\": \"1\"}"));
	assert_non_null(strstr(text, "\"sense\""));
	free(text);
	bc_state_free(&st);
	json_object_set_new(c, "networks", json_pack("{s:{s:i}}", "backend", "bogus", 1));
	expect_reject(d, "'backend': key 'bogus' is not supported");
}

/* Devices' long form and healthcheck's start_interval. */
static void
test_devices_long_and_start_interval(void **state)
{
	json_t *d = fixture(), *c = json_object_get(svc_json(d, "sensor"), "composition");
	json_t *spec;
	bc_state st;
	bc_err err = {0};
	char *devs;
	(void)state;

	json_object_set_new(c, "devices",
			    json_pack("[s, {s:s, s:s, s:s}, {s:s}]", "/dev/ttyS0", "source",
				      "/dev/ttyUSB0", "target", "/dev/ttyS1", "permissions", "rw",
				      "source", "/dev/null"));
	json_object_set_new(c, "healthcheck",
			    json_pack("{s:s, s:s, s:s}", "test", "true", "start_period", "10s",
				      "start_interval", "1s"));
	if (bc_target_parse(d, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	spec = bc_app_service(&st.apps[0], "sensor")->spec;
	devs = json_dumps(json_object_get(json_object_get(spec, "HostConfig"), "Devices"),
			  JSON_SORT_KEYS);
	assert_non_null(strstr(devs, "{\"CgroupPermissions\": \"rw\", \"PathInContainer\": "
				     "\"/dev/ttyS1\", \"PathOnHost\": \"/dev/ttyUSB0\"}"));
	assert_non_null(strstr(devs, "\"PathInContainer\": \"/dev/null\""));
	free(devs);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(spec, "Healthcheck"),
							    "StartInterval")),
			 1000000000);
	bc_state_free(&st);
	json_decref(d);
	reject_composition("sensor", "devices",
			   json_pack("[{s:s, s:s}]", "source", "/dev/x", "mode", "rw"),
			   "long form: key 'mode' is not supported");
}

/* Port forms: each as "KEY=HOSTIP|HOSTPORT,..." of the PortBindings it
 * makes (HOSTPORT empty: the engine picks), or refused. */
static void
test_port_forms(void **state)
{
	static const struct {
		const char *in;
		const char *want; /* NULL: refused */
	} t[] = {
	    {"80", "80/tcp=|80"}, /* the supervisor: the same port */
	    {"0:80", "80/tcp=|"}, /* docker compose's "80": the engine picks */
	    {"8080:80", "80/tcp=|8080"},
	    {"127.0.0.1:8080:80/udp", "80/udp=127.0.0.1|8080"},
	    {"127.0.0.1::80", "80/tcp=127.0.0.1|"},
	    {":80", "80/tcp=|"},
	    {"[::1]:8080:80", "80/tcp=::1|8080"},
	    {"::1:8080:80", "80/tcp=::1|8080"},
	    {"8000-8001:80-81", "80/tcp=|8000,81/tcp=|8001"},
	    {"8000-8001", "8000/tcp=|8000,8001/tcp=|8001"},
	    {"9000:80-81", "80/tcp=|9000,81/tcp=|9000"},
	    {"80/sctp", "80/sctp=|80"},
	    {"8000-8002:80-81", NULL},
	    {"80/icmp", NULL},
	    {"99999:80", NULL},
	    {"host.example:8080:80", NULL},
	    {"[]:8080:80", NULL},
	    {"1:2:3:4", NULL},
	    {"", NULL},
	    {"a:80", NULL},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		json_t *exposed = json_object(), *bind = json_object(), *in = json_string(t[i].in);
		bc_err err = {0};
		int rc = bc_parse_port(in, exposed, bind, &err);
		char got[256] = "";
		const char *k;
		json_t *v;
		json_object_foreach(bind, k, v)
		{
			size_t o = strlen(got);
			snprintf(
			    got + o, sizeof(got) - o, "%s%s=%s|%s", o ? "," : "", k,
			    json_string_value(json_object_get(json_array_get(v, 0), "HostIp")),
			    json_string_value(json_object_get(json_array_get(v, 0), "HostPort")));
		}
		if (t[i].want == NULL ? rc != -1 : rc != 0 || strcmp(got, t[i].want) != 0)
			fail_msg("'%s': rc %d, '%s' (want %s; %s)", t[i].in, rc, got,
				 t[i].want ? t[i].want : "refused", err.msg);
		if (rc == 0 && json_object_size(exposed) != json_object_size(bind))
			fail_msg("'%s': exposed and bound differ", t[i].in);
		json_decref(exposed);
		json_decref(bind);
		json_decref(in);
	}
}

/* Feature labels: gpu asks for the GPU as docker run --gpus 1 does (every
 * field); extra-firmware mounts the device's volume of extra firmware;
 * host-os.board-rev passes the host's board revision; supervisor-api is
 * refused with why (no device API yet); BALENA_DEVICE_TYPE is the
 * device's. */
static void
test_feature_labels(void **state)
{
	bc_device_facts f;
	bc_target_opts o = {.lockdir = "/tmp/bc-locks",
			    .device_type = "intel-nuc",
			    .facts = &f,
			    .api_key = "k3y",
			    .api_url = "https://api.example"};
	json_t *doc = fixture(), *labels, *host, *req;
	bc_state st;
	bc_err err = {0};
	bc_service *s;
	char *env;
	(void)state;

	bc_device_facts_from(&f,
			     "ID=balena-os\nVERSION=2.88.4\nBALENA_BOARD_REV=\"1.2\"\n"
			     "PRETTY_NAME=\"balenaOS 2.88.4\"\n",
			     "intel-nuc", "Linux", "6.1.0", "x86_64");
	labels = json_object_get(svc_json(doc, "sensor"), "labels");
	json_object_set_new(labels, "io.balena.features.gpu", json_string("1"));
	json_object_set_new(labels, "io.balena.features.extra-firmware", json_string("true"));
	json_object_set_new(labels, "io.balena.features.host-os.board-rev", json_string("on"));
	json_object_set_new(labels, "io.balena.features.balena-api", json_string("1"));
	if (bc_target_parse(doc, &o, &st, &err) < 0)
		fail_msg("%s", err.msg);
	s = bc_app_service(&st.apps[0], "sensor");
	host = json_object_get(s->spec, "HostConfig");
	req = json_array_get(json_object_get(host, "DeviceRequests"), 0);
	assert_non_null(req);
	assert_string_equal(json_string_value(json_object_get(req, "Driver")), "");
	assert_int_equal(json_integer_value(json_object_get(req, "Count")), 1);
	assert_int_equal(json_array_size(json_object_get(req, "DeviceIDs")), 0);
	assert_string_equal(json_string_value(json_array_get(
				json_array_get(json_object_get(req, "Capabilities"), 0), 0)),
			    "gpu");
	assert_true(json_is_object(json_object_get(req, "Options")));
	assert_true(has_str(json_object_get(host, "Binds"), "extra-firmware:/extra-firmware"));
	env = json_dumps(json_object_get(s->spec, "Env"), 0);
	assert_non_null(strstr(env, "\"BALENA_HOST_OS_BOARD_REV=1.2\""));
	assert_non_null(strstr(env, "\"BALENA_DEVICE_TYPE=intel-nuc\""));
	assert_non_null(strstr(env, "\"BALENA_API_KEY=k3y\""));
	assert_non_null(strstr(env, "\"RESIN_API_KEY=k3y\""));
	assert_non_null(strstr(env, "\"BALENA_API_URL=https://api.example\""));
	/* the rest of what the supervisor sets, in both spellings */
	assert_non_null(strstr(env, "\"BALENA_DEVICE_ARCH=amd64\""));
	assert_non_null(strstr(env, "\"RESIN_DEVICE_ARCH=amd64\""));
	assert_non_null(strstr(env, "\"BALENA_HOST_OS_VERSION=balenaOS 2.88.4\""));
	assert_non_null(strstr(env, "\"RESIN_HOST_OS_VERSION=balenaOS 2.88.4\""));
	assert_non_null(strstr(env, "\"RESIN_APP_UUID="));
	assert_non_null(
	    strstr(env, "\"BALENA_SERVICE_HANDOVER_COMPLETE_PATH=/tmp/balena/handover-complete\""));
	assert_non_null(strstr(env, "\"RESIN_SERVICE_KILL_ME_PATH=/tmp/balena/handover-complete\""));
	free(env);
	/* uploader has none of them */
	s = bc_app_service(&st.apps[0], "uploader");
	env = json_dumps(json_object_get(s->spec, "Env"), 0);
	assert_null(strstr(env, "API_KEY"));
	free(env);
	host = json_object_get(s->spec, "HostConfig");
	assert_null(json_object_get(host, "DeviceRequests"));
	assert_false(has_str(json_object_get(host, "Binds"), "extra-firmware:/extra-firmware"));
	bc_state_free(&st);
	/* no key (local mode, not provisioned yet): the label gives nothing */
	o.api_key = NULL;
	if (bc_target_parse(doc, &o, &st, &err) < 0)
		fail_msg("%s", err.msg);
	env = json_dumps(json_object_get(bc_app_service(&st.apps[0], "sensor")->spec, "Env"), 0);
	assert_null(strstr(env, "API_KEY"));
	assert_null(strstr(env, "API_URL"));
	free(env);
	bc_state_free(&st);
	/* the supervisor's API: refused, said why */
	json_object_set_new(labels, "io.balena.features.supervisor-api", json_string("1"));
	assert_int_equal(bc_target_parse(doc, &o, &st, &err), -1);
	assert_non_null(strstr(err.msg, "service 'sensor'"));
	assert_non_null(strstr(err.msg, "the supervisor API is not provided by balena-compose"));
	json_decref(doc);
}

/* depends_on's long form: each dependency's condition, required and
 * restart kept; a bad one named; a dependency that is not required may be
 * absent from the release. */
static void
test_depends_long_form(void **state)
{
	json_t *doc = fixture(), *comp;
	bc_state st;
	bc_err err = {0};
	const bc_dep_rule *r;
	(void)state;

	comp = json_object_get(svc_json(doc, "uploader"), "composition");
	json_object_set_new(comp, "depends_on",
			    json_pack("{s:{s:s,s:b},s:{s:s,s:b}}", "sensor", "condition",
				      "service_healthy", "restart", 1, "cache", "condition",
				      "service_completed_successfully", "required", 0));
	if (bc_target_parse(doc, NULL, &st, &err) < 0)
		fail_msg("%s", err.msg);
	{
		bc_service *up = bc_app_service(&st.apps[0], "uploader");
		assert_int_equal(up->depends_on.n, 2);
		assert_non_null(r = bc_service_dep_rule(up, "sensor"));
		assert_int_equal(r->cond, BC_DEP_HEALTHY);
		assert_true(r->restart);
		assert_false(r->optional);
		assert_non_null(r = bc_service_dep_rule(up, "cache"));
		assert_int_equal(r->cond, BC_DEP_COMPLETED);
		assert_true(r->optional);
		assert_null(bc_service_dep_rule(up, "nope"));
	}
	bc_state_free(&st);
	/* required (the default) and absent: refused */
	json_object_set_new(comp, "depends_on",
			    json_pack("{s:{s:s}}", "cache", "condition", "service_started"));
	assert_int_equal(bc_target_parse(doc, NULL, &st, &err), -1);
	assert_non_null(strstr(err.msg, "depends_on 'cache' is not a service of the release"));
	/* what is not compose's: named */
	json_object_set_new(comp, "depends_on",
			    json_pack("{s:{s:s}}", "sensor", "condition", "service_ready"));
	assert_int_equal(bc_target_parse(doc, NULL, &st, &err), -1);
	assert_non_null(strstr(err.msg,
			       "'sensor': condition 'service_ready' is not service_started, "
			       "service_healthy or service_completed_successfully"));
	json_object_set_new(comp, "depends_on", json_pack("{s:{s:s}}", "sensor", "restart", "yes"));
	assert_int_equal(bc_target_parse(doc, NULL, &st, &err), -1);
	assert_non_null(strstr(err.msg, "required and restart must be true or false"));
	json_object_set_new(comp, "depends_on", json_pack("{s:{s:i}}", "sensor", "timeout", 5));
	assert_int_equal(bc_target_parse(doc, NULL, &st, &err), -1);
	assert_non_null(strstr(err.msg, "key 'timeout' is not supported"));
	json_decref(doc);
}

/* Contracts: the shape always; against the device when it is given:
 * an optional service whose contract is unmet is left out (and out of the
 * others' depends_on), any other refuses the target naming what is
 * required. */
/* files: made in the container (what compose secrets and configs of an
 * environment or content source become): checked strictly, never naming
 * the content; part of the config hash (a new content recreates). */
static void
test_files(void **state)
{
	json_t *doc = fixture(), *comp;
	bc_state st;
	bc_err err = {0};
	char base[17], big[1100];
	const bc_service *svc;
	(void)state;
	strcpy(base, hash_after(doc, "sensor"));
	comp = json_object_get(svc_json(doc, "sensor"), "composition");
	json_object_set_new(comp, "files",
			    json_pack("[{s:s, s:s, s:i, s:i}]", "target", "/run/secrets/tok",
				      "content", "s3cret", "mode", 0400, "uid", 7));
	assert_int_equal(bc_target_parse(doc, NULL, &st, &err), 0);
	svc = bc_app_service(&st.apps[0], "sensor");
	assert_int_equal(json_array_size(svc->files), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(svc->files, 0), "uid")),
			    "7");
	assert_string_equal(json_string_value(json_object_get(json_array_get(svc->files, 0), "gid")),
			    "0");
	assert_string_not_equal(svc->config_hash, base);
	strcpy(base, svc->config_hash);
	bc_state_free(&st);
	json_object_set_new(json_array_get(json_object_get(comp, "files"), 0), "content",
			    json_string("other"));
	assert_string_not_equal(hash_after(doc, "sensor"), base);
	json_decref(doc);

	reject_composition("sensor", "files", json_pack("[{s:s, s:s}]", "target", "rel/x",
							 "content", "s3cret"),
			   "'files': each file needs a target: the absolute path of a file");
	reject_composition("sensor", "files", json_pack("[{s:s, s:s}]", "target", "/run/../etc/x",
							 "content", "s3cret"),
			   "each file needs a target: the absolute path of a file (no ..)");
	reject_composition("sensor", "files", json_pack("[{s:s, s:i}]", "target", "/x",
							 "content", 5),
			   "'files': each file needs its content as a string");
	reject_composition("sensor", "files",
			   json_pack("[{s:s, s:s, s:i}]", "target", "/x", "content", "s3cret",
				     "mode", 070000),
			   "a file's mode must be a number 0..07777");
	reject_composition("sensor", "files",
			   json_pack("[{s:s, s:s, s:s}]", "target", "/x", "content", "s3cret",
				     "owner", "me"),
			   "a file's keys are target, content, mode, uid and gid");
	reject_composition("sensor", "files",
			   json_pack("[{s:s, s:s, s:s}]", "target", "/x", "content", "s3cret",
				     "uid", "root"),
			   "a file's uid and gid must be numbers");
	/* names the supervisor refuses: a space, a quote (the service's own
	 * maps and the composition's) */
	{
		json_t *d = fixture();
		json_object_set_new(json_object_get(svc_json(d, "sensor"), "environment"), "MY VAR",
				    json_string("1"));
		expect_reject(d, "'environment': the name 'MY VAR' is empty, too long, or has a space");
		d = fixture();
		json_object_set_new(json_object_get(svc_json(d, "sensor"), "labels"), "a\"b",
				    json_string("1"));
		expect_reject(d, "'labels': the name 'a\"b' is empty");
	}
	reject_composition("sensor", "environment", json_pack("[s]", "A B=1"),
			   "'environment': the name 'A B' is empty, too long, or has a space");
	reject_composition("sensor", "labels", json_pack("{s:s}", "x'y", "1"),
			   "'labels': the name 'x'y' is empty");
	reject_composition("sensor", "files", json_string("x"),
			   "must be a list of at most 64 files");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	{
		json_t *many = json_array(), *d = fixture();
		char *huge = malloc((1 << 20) + 2);
		memset(huge, 'b', (1 << 20) + 1);
		huge[(1 << 20) + 1] = '\0';
		json_array_append_new(many, json_pack("{s:s, s:s}", "target", "/x", "content", huge));
		json_object_set_new(json_object_get(svc_json(d, "sensor"), "composition"), "files",
				    many);
		assert_int_equal(bc_target_parse(d, NULL, &st, &err), -1);
		assert_non_null(strstr(err.msg, "larger than 1 MiB together"));
		assert_null(strstr(err.msg, "bbbb")); /* the content is never in an error */
		free(huge);
		json_decref(d);
	}
	reject_composition("sensor", "files",
			   json_pack("[{s:s, s:s}]", "target", big, "content", "s3cret"),
			   "each file needs a target");
	big[0] = '/';
	big[161] = '/';
	big[200] = '\0';
	reject_composition("sensor", "files",
			   json_pack("[{s:s, s:s}]", "target", big, "content", "s3cret"),
			   "a file's target is too long (a tar name");
}

static void
test_contracts(void **state)
{
	bc_device_facts f;
	bc_target_opts o = {.lockdir = "/tmp/bc-locks", .facts = &f};
	json_t *doc = fixture();
	json_t *need99 =
	    json_pack("{s:[{s:s,s:s}]}", "requires", "type", "sw.supervisor", "version", ">=99");
	bc_state st;
	bc_err err = {0};
	(void)state;

	bc_device_facts_from(&f, NULL, "intel-nuc", "Linux", "6.1.0", "x86_64");
	/* met: all runs */
	json_object_set_new(
	    svc_json(doc, "sensor"), "contract",
	    json_pack("{s:[{s:s,s:s}]}", "requires", "type", "arch.sw", "slug", "amd64"));
	assert_int_equal(bc_target_parse(doc, &o, &st, &err), 0);
	assert_int_equal(st.apps[0].n_services, 2);
	assert_int_equal(st.apps[0].skipped.n, 0);
	bc_state_free(&st);
	/* unmet, optional: sensor is left out, and uploader no longer waits on it */
	json_object_set(svc_json(doc, "sensor"), "contract", need99);
	json_object_set_new(json_object_get(svc_json(doc, "sensor"), "labels"),
			    "io.balena.features.optional", json_string("TRUE"));
	assert_int_equal(bc_target_parse(doc, &o, &st, &err), 0);
	assert_int_equal(st.apps[0].n_services, 1);
	assert_string_equal(st.apps[0].services[0].name, "uploader");
	assert_int_equal(st.apps[0].services[0].depends_on.n, 0);
	assert_int_equal(st.apps[0].skipped.n, 1);
	assert_string_equal(st.apps[0].skipped.v[0], "sensor");
	bc_state_free(&st);
	/* not judged without the device: both run */
	assert_int_equal(bc_target_parse(doc, NULL, &st, &err), 0);
	assert_int_equal(st.apps[0].n_services, 2);
	bc_state_free(&st);
	/* unmet, not optional: the target is refused, naming service and need */
	json_object_del(json_object_get(svc_json(doc, "sensor"), "labels"),
			"io.balena.features.optional");
	assert_int_equal(bc_target_parse(doc, &o, &st, &err), -1);
	assert_int_equal(err.code, BC_EINVAL);
	assert_non_null(strstr(err.msg, "services with unmet requirements: "));
	assert_non_null(strstr(
	    err.msg,
	    "sensor (requires sw.supervisor >=99 (the device has " BC_SUPERVISOR_CLAIM "))"));
	assert_int_equal(st.n_apps, 0);
	/* a contract of the wrong shape is refused with or without the device */
	json_object_set_new(svc_json(doc, "sensor"), "contract",
			    json_pack("{s:[{s:s}]}", "requires", "type", "sw.blah"));
	assert_int_equal(bc_target_parse(doc, NULL, &st, &err), -1);
	assert_non_null(strstr(err.msg, "sw.blah is not a valid contract requirement type"));
	json_decref(need99);
	json_decref(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_merge_find_remove),
	    cmocka_unit_test(test_contracts),
	    cmocka_unit_test(test_files),
	    cmocka_unit_test(test_outside_components),
	    cmocka_unit_test(test_volumes_from_links),
	    cmocka_unit_test(test_hooks),
	    cmocka_unit_test(test_depends_long_form),
	    cmocka_unit_test(test_feature_labels),
	    cmocka_unit_test(test_port_forms),
	    cmocka_unit_test(test_supervisor_keys),
	    cmocka_unit_test(test_ids_as_strings),
	    cmocka_unit_test(test_network_mode_service_space),
	    cmocka_unit_test(test_volume_long_forms),
	    cmocka_unit_test(test_network_attachments),
	    cmocka_unit_test(test_devices_long_and_start_interval),
	    cmocka_unit_test(test_fixture),
	    cmocka_unit_test(test_hash),
	    cmocka_unit_test(test_rejections),
	    cmocka_unit_test(test_binds_allowed_by_label),
	    cmocka_unit_test(test_escalation_gates),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_load_counts_values),
	    cmocka_unit_test(test_logging),
	    cmocka_unit_test(test_compose_keys),
	    cmocka_unit_test(test_text_errors),
	};
	return cmocka_run_group_tests_name("target", tests, NULL, NULL);
}
