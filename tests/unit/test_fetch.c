/* lib/fetch: progress, retries, registry names, auth header, disk reserve. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/fetch/fetch.h"

static void
feed(bc_progress *p, const char *js)
{
	json_t *o = json_loads(js, 0, NULL);
	assert_non_null(o);
	bc_progress_feed(p, o);
	json_decref(o);
}

static void
test_progress(void **state)
{
	bc_progress p = {0};
	uint64_t c, t;
	unsigned pct;
	(void)state;
	feed(&p, "{\"status\":\"Pulling from bctest/busybox\",\"id\":\"v2\"}");
	feed(&p, "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"aaa\"}");
	feed(&p, "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"bbb\"}");
	bc_progress_sum(&p, &c, &t, &pct);
	assert_int_equal(pct, 0);
	feed(&p, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":250,\"total\":1000},"
		 "\"id\":\"aaa\"}");
	feed(&p, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":0,\"total\":3000},"
		 "\"id\":\"bbb\"}");
	bc_progress_sum(&p, &c, &t, &pct);
	assert_int_equal(c, 250);
	assert_int_equal(t, 4000);
	assert_int_equal(pct, 6);
	feed(&p, "{\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"aaa\"}");
	feed(&p, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":3000,\"total\":3000},"
		 "\"id\":\"bbb\"}");
	bc_progress_sum(&p, &c, &t, &pct);
	assert_int_equal(c, 4000);
	assert_int_equal(pct, 99); /* not done until every layer says so */
	feed(&p, "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"bbb\"}");
	feed(&p, "{\"status\":\"Digest: sha256:00\"}");
	bc_progress_sum(&p, &c, &t, &pct);
	assert_int_equal(pct, 100);
	assert_int_equal(p.n, 2); /* the tag line is no layer */
}

static void
test_retryable(void **state)
{
	(void)state;
	assert_true(bc_pull_retryable("Get \"http://127.0.0.1:5000/v2/\": dial tcp 127.0.0.1:5000: "
				      "connect: connection refused"));
	assert_true(bc_pull_retryable("received unexpected HTTP status: 503 Service Unavailable"));
	assert_true(bc_pull_retryable("unexpected EOF"));
	assert_false(bc_pull_retryable("unauthorized: authentication required"));
	assert_false(bc_pull_retryable("manifest for x:y not found: manifest unknown"));
	assert_false(bc_pull_retryable("pull access denied for x"));
	assert_false(bc_pull_retryable(NULL));
}

static void
test_backoff(void **state)
{
	(void)state;
	for (uint32_t r = 0; r < 1000; r += 37) {
		uint64_t d0 = bc_backoff_ms(0, 1000, 30000, r);
		uint64_t d3 = bc_backoff_ms(3, 1000, 30000, r);
		uint64_t d9 = bc_backoff_ms(9, 1000, 30000, r);
		assert_true(d0 >= 500 && d0 <= 1000);
		assert_true(d3 >= 4000 && d3 <= 8000);
		assert_true(d9 >= 15000 && d9 <= 30000);
	}
	/* the doubling without jitter (the cloud's backoffs): min(base x 2^n, cap) */
	assert_int_equal(bc_doubling_ms(0, 15000, 900000), 15000);
	assert_int_equal(bc_doubling_ms(3, 15000, 900000), 120000);
	assert_int_equal(bc_doubling_ms(6, 15000, 900000), 900000);
	assert_int_equal(bc_doubling_ms(1000, 5000, 300000), 300000); /* no overflow */
	assert_int_equal(bc_doubling_ms(2, 15000, 2000), 2000);	     /* a cap below the base */
}

static void
test_registry_names(void **state)
{
	char r[64];
	(void)state;
	assert_true(bc_image_registry("127.0.0.1:5000/bctest/busybox:v2", r, sizeof(r)));
	assert_string_equal(r, "127.0.0.1:5000");
	assert_true(bc_image_registry("registry2.balena-cloud.com/v2/abc@sha256:00", r, sizeof(r)));
	assert_string_equal(r, "registry2.balena-cloud.com");
	assert_true(bc_image_registry("localhost/x", r, sizeof(r)));
	assert_false(bc_image_registry("busybox", r, sizeof(r)));
	assert_false(bc_image_registry("bctest/busybox:v1", r, sizeof(r)));
}

/* Item 4 of the trust issue: plain http (and so the device's key in
 * clear) only to exact loopback addresses; a token realm of any other
 * scheme is refused before anything is sent. */
static void
test_loopback_and_schemes(void **state)
{
	static const char *yes[] = {"localhost",  "localhost:5000", "LOCALHOST", "127.0.0.1",
				    "127.0.0.1:5000", "127.255.10.1", "[::1]", "[::1]:5000"};
	static const char *no[] = {"localhost.evil.com", "localhost.evil.com:5000",
				   "127.evil.com", "127.0.0.1.evil.com", "127.0.0.1:50a",
				   "127.0.0.256", "127.0.0", "127.0.0.01", "128.0.0.1",
				   "evil-localhost", "[::2]", "[::1]x", "localhost:", "::1",
				   "10.0.0.1", "127.0.0.1:1234567", ""};
	bool plain;
	bc_err err = {0};
	(void)state;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(bc_host_is_loopback(yes[i], strlen(yes[i])));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (bc_host_is_loopback(no[i], strlen(no[i])))
			fail_msg("'%s' taken for loopback", no[i]);
	}
	assert_int_equal(bc_registry_url_check("https://api.example.com/auth?x=1", &plain, &err), 0);
	assert_false(plain);
	assert_int_equal(bc_registry_url_check("http://127.0.0.1:5000/token", &plain, &err), 0);
	assert_true(plain);
	assert_int_equal(bc_registry_url_check("ftp://127.0.0.1/token", &plain, &err), -1);
	assert_non_null(strstr(err.msg, "https only"));
	assert_int_equal(bc_registry_url_check("http://localhost.evil.com/token", &plain, &err), -1);
	assert_non_null(strstr(err.msg, "plain http only to a loopback"));
	assert_int_equal(bc_registry_url_check("http://127.0.0.1@evil.com/", &plain, &err), -1);
	assert_int_equal(bc_registry_url_check("https://user:pw@evil.com/", &plain, &err), -1);
	assert_int_equal(bc_registry_url_check("file:///etc/shadow", &plain, &err), -1);
	assert_int_equal(bc_registry_url_check("//evil.com/", &plain, &err), -1);
	/* the device's registry only */
	assert_true(bc_registry_same("Registry2.balena-cloud.com", "registry2.balena-cloud.com"));
	assert_false(bc_registry_same("registry2.balena-cloud.com.evil", "registry2.balena-cloud.com"));
	assert_false(bc_registry_same("127.0.0.1:5001", "127.0.0.1:5000"));
	assert_false(bc_registry_same("127.0.0.1:5000", NULL));
}

static void
test_auth_header(void **state)
{
	char *a = bc_registry_auth("d_abc", "s3cr3t", "reg:5000");
	(void)state;
	/* base64 of {"username":"d_abc","password":"s3cr3t","serveraddress":"reg:5000"} */
	assert_string_equal(a, "eyJ1c2VybmFtZSI6ImRfYWJjIiwicGFzc3dvcmQiOiJzM2NyM3QiLCJzZXJ2ZXJhZGR"
			       "yZXNzIjoicmVnOjUwMDAifQ==");
	free(a);
}

static void
test_reserve(void **state)
{
	uint64_t r;
	bc_err err = {0};
	(void)state;
	assert_int_equal(bc_disk_reserve(NULL, 1000ull << 20, &r, &err), 0);
	assert_int_equal(r, 100ull << 20); /* 10 % of 1000 MiB */
	assert_int_equal(bc_disk_reserve(NULL, 100ull << 30, &r, &err), 0);
	assert_int_equal(r, 512ull << 20); /* capped at 512 MiB */
	assert_int_equal(bc_disk_reserve("25%", 1000, &r, &err), 0);
	assert_int_equal(r, 250);
	assert_int_equal(bc_disk_reserve("1g", 0, &r, &err), 0);
	assert_int_equal(r, 1ull << 30);
	assert_int_equal(bc_disk_reserve("lots", 0, &r, &err), -1);
	assert_int_equal(bc_disk_reserve("120%", 0, &r, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_progress),	cmocka_unit_test(test_retryable),
	    cmocka_unit_test(test_backoff),	cmocka_unit_test(test_registry_names),
	    cmocka_unit_test(test_auth_header), cmocka_unit_test(test_reserve),
	    cmocka_unit_test(test_loopback_and_schemes),
	};
	return cmocka_run_group_tests_name("fetch", tests, NULL, NULL);
}
