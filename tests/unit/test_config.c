/* lib/config: config.json fields, defaults, errors that name the field and
 * never show a secret. */
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

#include "lib/model/config.h"

#define SECRET "s3cr3t-device-key-4f9a"

static int
parse(const char *js, bc_config *c, bc_err *err)
{
	return bc_config_parse(js, strlen(js), "config.json", c, err);
}

static void
expect_err(const char *js, const char *needle)
{
	bc_config c;
	bc_err err = {0};

	assert_int_equal(parse(js, &c, &err), -1);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error '%s' lacks '%s'", err.msg, needle);
	assert_null(strstr(err.msg, SECRET));
	assert_null(strstr(err.msg, "s3cr3t"));
	assert_null(c.uuid);
}

static void
test_full(void **state)
{
	bc_config c;
	bc_err err = {0};
	(void)state;
	assert_int_equal(parse("{\"uuid\":\"0123456789abcdef0123456789abcdef\","
			       "\"deviceApiKey\":\"" SECRET "\","
			       "\"apiEndpoint\":\"https://api.example.test\","
			       "\"deltaEndpoint\":\"https://delta.example.test\","
			       "\"registryEndpoint\":\"registry.example.test\","
			       "\"deviceType\":\"generic-amd64\",\"applicationId\":\"1234\","
			       "\"deviceId\":99,\"listenPort\":48485,"
			       "\"appUpdatePollInterval\":\"600000\",\"delta\":\"true\","
			       "\"deltaVersion\":3,\"persistentLogging\":false,"
			       "\"wifiSsid\":\"owned by the OS, ignored\",\"os\":{\"x\":1}}",
			       &c, &err),
			 0);
	assert_false(c.unmanaged);
	assert_string_equal(c.uuid, "0123456789abcdef0123456789abcdef");
	assert_string_equal(c.device_api_key, SECRET);
	assert_string_equal(c.api_endpoint, "https://api.example.test");
	assert_string_equal(c.registry_endpoint, "registry.example.test");
	assert_int_equal(c.application_id, 1234);
	assert_int_equal(c.device_id, 99);
	assert_int_equal(c.listen_port, 48485);
	assert_int_equal(c.app_update_poll_interval_ms, 600000);
	assert_true(c.delta);
	bc_config_free(&c);
	assert_null(c.uuid);
}

static void
test_defaults_unmanaged(void **state)
{
	bc_config c;
	(void)state;
	assert_int_equal(parse("{}", &c, NULL), 0);
	assert_true(c.unmanaged);
	assert_int_equal(c.listen_port, 48484);
	assert_int_equal(c.app_update_poll_interval_ms, 900000);
	assert_int_equal(c.delta_version, 3);
	assert_int_equal(c.delta_retry_count, 30);
	assert_false(c.delta);
	bc_config_free(&c);
	/* "" is unset, as in the supervisor */
	assert_int_equal(parse("{\"apiEndpoint\":\"\"}", &c, NULL), 0);
	assert_true(c.unmanaged);
	bc_config_free(&c);
}

static void
test_field_errors(void **state)
{
	(void)state;
	expect_err("{\"listenPort\":70000}", "'listenPort' is 70000, outside 1..65535");
	expect_err("{\"listenPort\":-1}", "'listenPort' must be a non-negative integer");
	expect_err("{\"listenPort\":\"12a\"}", "'listenPort'");
	expect_err("{\"appUpdatePollInterval\":1.5}", "'appUpdatePollInterval'");
	expect_err("{\"delta\":\"maybe\"}", "'delta' must be a boolean");
	expect_err("{\"uuid\":\"ABC\"}", "'uuid' must be lower-case hexadecimal");
	expect_err("{\"uuid\":12}", "'uuid' must be a string");
	expect_err("{\"apiEndpoint\":\"ftp://x\"}", "'apiEndpoint' must be an http");
	expect_err("{\"registryEndpoint\":\"https://reg.example\"}",
		   "'registryEndpoint' must be a host or host:port");
	expect_err("{\"registryEndpoint\":\"reg.example/v2\"}", "'registryEndpoint'");
	expect_err("{\"registryEndpoint\":\"user@reg.example\"}", "'registryEndpoint'");
	expect_err("{\"registryEndpoint\":\"reg.example:\"}", "'registryEndpoint'");
	expect_err("{\"registryEndpoint\":\"reg.example:1234567\"}", "'registryEndpoint'");
	expect_err("[]", "top level must be a JSON object");
	expect_err("{\"uuid\":\"ab\",\"uuid\":\"cd\"}", "config.json:1:");
}

static void
test_secrets_never_in_errors(void **state)
{
	(void)state;
	/* wrong kinds of secret fields */
	expect_err("{\"deviceApiKey\":[\"" SECRET "\"]}", "'deviceApiKey' must be a string");
	/* a syntax error right inside the secret: jansson would quote it */
	expect_err("{\"deviceApiKey\":\"" SECRET "\"x}", "config.json:1:");
	expect_err("{\"deviceApiKey\":\"" SECRET, "config.json:1:");
	/* managed without a key */
	expect_err("{\"apiEndpoint\":\"https://a\",\"uuid\":\"ab\"}",
		   "'uuid' and 'deviceApiKey' are required");
}

static void
test_load_file(void **state)
{
	char path[] = "/tmp/bc-config-XXXXXX";
	bc_config c;
	bc_err err = {0};
	FILE *f;
	int fd;
	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("{\"uuid\":\"abc\",\"listenPort\":1}", f);
	fclose(f);
	assert_int_equal(bc_config_load(path, &c, &err), 0);
	assert_string_equal(c.uuid, "abc");
	bc_config_free(&c);
	unlink(path);
	assert_int_equal(bc_config_load(path, &c, &err), -1);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(err.code, BC_ESYS);
}

static void
test_size_bound(void **state)
{
	static char big[BC_CONFIG_MAX_BYTES + 2];
	bc_config c;
	bc_err err = {0};
	(void)state;
	memset(big, ' ', sizeof(big) - 1);
	assert_int_equal(bc_config_parse(big, sizeof(big) - 1, "big.json", &c, &err), -1);
	assert_int_equal(err.code, BC_ETOOBIG);
}

/* config.json holds the device's key: an update leaves it 0600 whatever
 * it was (and says what it was); its temporary file is made new, never
 * written through a link someone left under its name */
static void
test_update_private(void **state)
{
	char dir[] = "/tmp/bc-cfgupd-XXXXXX", path[96], tmp[112], victim[96];
	json_t *ch = json_pack("{s:s, s:n}", "deviceApiKey", "k2", "apiKey");
	json_error_t je;
	json_t *doc;
	bc_err err = {0};
	struct stat st;
	int was = 0;
	FILE *fp;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	fp = fopen(path, "w");
	fputs("{\"uuid\": \"u\", \"apiKey\": \"fleet\", \"os\": 1}", fp);
	fclose(fp);
	chmod(path, 0644);
	fp = fopen(victim, "w");
	fputs("untouched", fp);
	fclose(fp);
	assert_int_equal(symlink(victim, tmp), 0);

	assert_int_equal(bc_config_update(path, ch, &was, &err), 0);
	assert_int_equal(was, 0644);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	doc = json_load_file(path, 0, &je);
	assert_string_equal(json_string_value(json_object_get(doc, "deviceApiKey")), "k2");
	assert_null(json_object_get(doc, "apiKey"));
	assert_int_equal(json_integer_value(json_object_get(doc, "os")), 1);
	json_decref(doc);
	/* the link was removed, not written through */
	fp = fopen(victim, "r");
	{
		char got[32] = "";
		assert_non_null(fgets(got, sizeof(got), fp));
		assert_string_equal(got, "untouched");
	}
	fclose(fp);
	assert_int_equal(lstat(tmp, &st), -1);
	json_decref(ch);
	unlink(path);
	unlink(victim);
	rmdir(dir);
}

/* One answer to "does the device follow the cloud?" (bc_config_mode). */
static int
mode_of(const char *dir, const char *json, bc_config *c, char *why, bc_err *err)
{
	char path[96];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/config.json", dir);
	unlink(path);
	if (json != NULL) {
		fp = fopen(path, "w");
		fputs(json, fp);
		fclose(fp);
	}
	return bc_config_mode(path, c, why, 200, err);
}

static void
test_mode(void **state)
{
	char dir[] = "/tmp/bc-cfgmode-XXXXXX", why[200], path[96];
	bc_config c;
	bc_err err = {0};
	(void)state;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(mode_of(dir, NULL, &c, why, &err), BC_MODE_LOCAL);
	assert_non_null(strstr(why, "no config.json at "));
	assert_int_equal(mode_of(dir, "{\"uuid\": \"abc123\"}", &c, why, &err), BC_MODE_LOCAL);
	assert_non_null(strstr(why, "no apiEndpoint in "));
	assert_null(c.uuid);
	assert_int_equal(mode_of(dir,
				 "{\"uuid\": \"abc123\", \"apiEndpoint\": \"https://api.example\", \"deviceApiKey\": \"k\", "
				 "\"localMode\": true}",
				 &c, why, &err),
			 BC_MODE_LOCAL);
	assert_non_null(strstr(why, "localMode in "));
	assert_null(c.api_endpoint);
	assert_int_equal(mode_of(dir, "{\"uuid\": \"abc123\", \"apiEndpoint\": \"https://api.example\", \"deviceApiKey\": \"k\"}",
				 &c, why, &err),
			 BC_MODE_CLOUD);
	assert_string_equal(c.uuid, "abc123");
	bc_config_free(&c);
	assert_int_equal(mode_of(dir, "{\"uuid\": 7}", &c, why, &err), -1);
	assert_non_null(strstr(err.msg, "uuid"));
	snprintf(path, sizeof(path), "%s/config.json", dir);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full),	   cmocka_unit_test(test_defaults_unmanaged),
	    cmocka_unit_test(test_field_errors),   cmocka_unit_test(test_secrets_never_in_errors),
	    cmocka_unit_test(test_load_file),	   cmocka_unit_test(test_size_bound),
	    cmocka_unit_test(test_update_private), cmocka_unit_test(test_mode),

	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
