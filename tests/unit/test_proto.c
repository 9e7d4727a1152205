/* proto/: round trips and the strictness rules of the decoder, each with a
 * handcrafted hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <msgpack.h>
#include <string.h>

#include "proto/proto.h"

static void
roundtrip(bc_msg *in, bc_msg *out)
{
	bc_buf b = {0};
	bc_err err = {0};

	assert_int_equal(bc_msg_encode(in, &b, &err), 0);
	assert_int_equal(bc_msg_decode(b.data, b.len, out, &err), 0);
	assert_int_equal(out->type, in->type);
	assert_int_equal(out->id, in->id);
	bc_buf_free(&b);
}

static void
test_roundtrip_pong(void **state)
{
	bc_msg in = {.type = BC_MSG_PONG, .id = 42}, out;
	(void)state;
	in.body.pong.daemon = "fetcher";
	in.body.pong.pid = 1234;
	in.body.pong.uptime_ms = UINT64_MAX;
	roundtrip(&in, &out);
	assert_string_equal(out.body.pong.daemon, "fetcher");
	assert_int_equal(out.body.pong.pid, 1234);
	assert_true(out.body.pong.uptime_ms == UINT64_MAX);
	bc_msg_clear(&out);
}

/* a batch of log records: a system one (no container, no service) and a
 * container's, stderr, with a negative id refused nowhere (the device is 0) */
static void
test_roundtrip_log_batch(void **state)
{
	bc_log_rec recs[2] = {
	    {.seq = 1, .ts_ns = 1795963257123456789LL, .message = "Killing service 'web'",
	     .is_system = true},
	    {.seq = 2, .ts_ns = 1795963257123456789LL, .nth = 3, .app_id = 7, .service_id = 9,
	     .service = "web", .container = "0123456789ab", .is_stderr = true,
	     .message = "line \xe2\x82\xac"}};
	bc_msg in = {.type = BC_MSG_LOG_BATCH, .id = 0}, out;
	(void)state;
	in.body.log_batch = (bc_body_log_batch){.instance = 5, .first = 1, .more = true,
						 .records = {recs, 2}};
	roundtrip(&in, &out);
	assert_int_equal(out.body.log_batch.records.n, 2);
	assert_true(out.body.log_batch.more);
	assert_true(out.body.log_batch.records.v[0].is_system);
	assert_null(out.body.log_batch.records.v[0].container);
	assert_int_equal(out.body.log_batch.records.v[1].nth, 3);
	assert_int_equal(out.body.log_batch.records.v[1].ts_ns, 1795963257123456789LL);
	assert_string_equal(out.body.log_batch.records.v[1].service, "web");
	assert_string_equal(out.body.log_batch.records.v[1].message, recs[1].message);
	bc_msg_clear(&out);
}

static void
test_roundtrip_ping_optional_absent(void **state)
{
	bc_msg in = {.type = BC_MSG_PING, .id = 7}, out;
	(void)state;
	roundtrip(&in, &out);
	assert_null(out.body.ping.from);
	bc_msg_clear(&out);
}

static void
test_roundtrip_error_negative_code(void **state)
{
	bc_msg in, out;
	(void)state;
	assert_int_equal(bc_msg_make_error(&in, 9, -5, "boom", NULL), 0);
	roundtrip(&in, &out);
	assert_int_equal(out.body.error.code, -5);
	assert_string_equal(out.body.error.message, "boom");
	bc_msg_clear(&in);
	bc_msg_clear(&out);
}

static void
test_roundtrip_state_and_step(void **state)
{
	bc_msg in = {.type = BC_MSG_STATE, .id = 3}, out;
	(void)state;
	in.body.state.generation = 9;
	in.body.state.settled = true;
	roundtrip(&in, &out);
	assert_true(out.body.state.settled);
	assert_int_equal(out.body.state.generation, 9);
	assert_int_equal(out.body.state.apps.n, 0);
	bc_msg_clear(&out);

	memset(&in, 0, sizeof(in));
	in.type = BC_MSG_STEP;
	in.body.step.generation = 2;
	in.body.step.action = "KILL";
	in.body.step.app_id = -1; /* signed on the wire */
	in.body.step.ok = false;
	in.body.step.error = "boom";
	roundtrip(&in, &out);
	assert_string_equal(out.body.step.action, "KILL");
	assert_int_equal(out.body.step.app_id, -1);
	assert_false(out.body.step.ok);
	assert_null(out.body.step.service);
	assert_string_equal(out.body.step.error, "boom");
	bc_msg_clear(&out);
}

static void
test_encode_missing_required(void **state)
{
	bc_msg in = {.type = BC_MSG_PONG};
	bc_buf b = {0};
	bc_err err = {0};
	(void)state;
	assert_int_equal(bc_msg_encode(&in, &b, &err), -1);
	assert_non_null(strstr(err.msg, "'daemon' is required"));
	assert_int_equal(b.len, 0);
}

/* --- hand-built inputs -------------------------------------------------- */

struct pk {
	msgpack_sbuffer sb;
	msgpack_packer p;
};

static void
pk_init(struct pk *k)
{
	msgpack_sbuffer_init(&k->sb);
	msgpack_packer_init(&k->p, &k->sb, msgpack_sbuffer_write);
}

static void
pk_str(struct pk *k, const char *s)
{
	msgpack_pack_str(&k->p, strlen(s));
	msgpack_pack_str_body(&k->p, s, strlen(s));
}

/* An envelope with v/t/id and an open body map of nbody pairs. */
static void
pk_env(struct pk *k, uint64_t v, uint64_t t, uint64_t id, size_t nbody)
{
	pk_init(k);
	msgpack_pack_map(&k->p, 4);
	pk_str(k, "v");
	msgpack_pack_uint64(&k->p, v);
	pk_str(k, "t");
	msgpack_pack_uint64(&k->p, t);
	pk_str(k, "id");
	msgpack_pack_uint64(&k->p, id);
	pk_str(k, "b");
	msgpack_pack_map(&k->p, nbody);
}

static void
expect_fail(const void *data, size_t len, const char *needle, uint64_t want_id)
{
	bc_msg m;
	bc_err err = {0};

	assert_int_equal(bc_msg_decode(data, len, &m, &err), -1);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err.msg, needle);
	assert_int_equal(m.id, want_id);
	assert_int_equal(m.type, BC_MSG_NONE);
}

/* expect_fail on what k holds, then free it. */
static void
pk_fail(struct pk *k, const char *needle, uint64_t want_id)
{
	expect_fail(k->sb.data, k->sb.size, needle, want_id);
	msgpack_sbuffer_destroy(&k->sb);
}

static void
test_trailing_bytes(void **state)
{
	struct pk k;
	(void)state;
	pk_env(&k, 1, BC_MSG_PING, 3, 0);
	msgpack_pack_nil(&k.p);
	pk_fail(&k, "trailing", 0);
}

static void
test_truncated_everywhere(void **state)
{
	bc_msg in = {.type = BC_MSG_PONG, .id = 1}, out;
	bc_buf b = {0};
	(void)state;
	in.body.pong.daemon = "x";
	assert_int_equal(bc_msg_encode(&in, &b, NULL), 0);
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(bc_msg_decode(b.data, n, &out, NULL), -1);
	bc_buf_free(&b);
}

static void
test_huge_declared_count(void **state)
{
	/* array32 declaring 4 billion elements, then nothing. */
	static const uint8_t arr[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t map[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'v'};
	static const uint8_t str[] = {0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'};
	(void)state;
	expect_fail(arr, sizeof(arr), "more elements than bytes", 0);
	expect_fail(map, sizeof(map), "more elements than bytes", 0);
	expect_fail(str, sizeof(str), "truncated", 0);
}

static void
test_deep_nesting(void **state)
{
	uint8_t deep[64];
	(void)state;
	memset(deep, 0x91, sizeof(deep)); /* [[[[...]]]] */
	deep[sizeof(deep) - 1] = 0xc0;
	expect_fail(deep, sizeof(deep), "nested deeper", 0);
}

static void
test_ext_and_reserved_rejected(void **state)
{
	static const uint8_t ext[] = {0xd4, 0x01, 0x00};
	static const uint8_t c1[] = {0xc1};
	(void)state;
	expect_fail(ext, sizeof(ext), "unsupported msgpack byte 0xd4", 0);
	expect_fail(c1, sizeof(c1), "unsupported msgpack byte 0xc1", 0);
}

static void
test_unknown_type_keeps_id(void **state)
{
	struct pk k;
	(void)state;
	pk_env(&k, 1, 999, 77, 0);
	pk_fail(&k, "unknown message type 999", 77);
}

static void
test_wrong_version(void **state)
{
	struct pk k;
	(void)state;
	pk_env(&k, 2, BC_MSG_PING, 5, 0);
	pk_fail(&k, "version 2 not supported", 5);
}

static void
test_unknown_field(void **state)
{
	struct pk k;
	(void)state;
	pk_env(&k, 1, BC_MSG_PING, 5, 1);
	pk_str(&k, "color");
	pk_str(&k, "red");
	pk_fail(&k, "unknown field 'color'", 5);
}

static void
test_wrong_kind(void **state)
{
	struct pk k;
	(void)state;
	/* pid as a string, then as a negative integer: both wrong for a u64 */
	for (int variant = 0; variant < 2; variant++) {
		pk_env(&k, 1, BC_MSG_PONG, 5, 3);
		pk_str(&k, "daemon");
		pk_str(&k, "x");
		pk_str(&k, "pid");
		if (variant == 0)
			pk_str(&k, "12");
		else
			msgpack_pack_int64(&k.p, -1);
		pk_str(&k, "uptime_ms");
		msgpack_pack_uint64(&k.p, 1);
		pk_fail(&k, "'pid' has the wrong kind", 5);
	}
}

static void
test_duplicate_field_no_leak(void **state)
{
	struct pk k;
	(void)state;
	pk_env(&k, 1, BC_MSG_PONG, 5, 2);
	pk_str(&k, "daemon");
	pk_str(&k, "x"); /* allocated, then the duplicate must free it */
	pk_str(&k, "daemon");
	pk_str(&k, "y");
	pk_fail(&k, "'daemon' appears twice", 5);
}

static void
test_missing_required(void **state)
{
	struct pk k;
	(void)state;
	pk_env(&k, 1, BC_MSG_PONG, 5, 1);
	pk_str(&k, "daemon");
	pk_str(&k, "x");
	pk_fail(&k, "required field 'pid' is missing", 5);
}

static void
test_string_bounds_and_nul(void **state)
{
	struct pk k;
	char big[100];
	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pk_env(&k, 1, BC_MSG_PING, 5, 1);
	pk_str(&k, "from");
	pk_str(&k, big); /* from is bounded at 64 */
	pk_fail(&k, "longer than 64", 5);

	pk_env(&k, 1, BC_MSG_PING, 5, 1);
	pk_str(&k, "from");
	msgpack_pack_str(&k.p, 3);
	msgpack_pack_str_body(&k.p, "a\0b", 3);
	pk_fail(&k, "NUL", 5);
}

static void
test_envelope_shape(void **state)
{
	struct pk k;
	(void)state;
	pk_init(&k);
	msgpack_pack_array(&k.p, 0);
	pk_fail(&k, "not a map", 0);

	pk_init(&k);
	msgpack_pack_map(&k.p, 1);
	pk_str(&k, "id");
	msgpack_pack_uint64(&k.p, 8);
	pk_fail(&k, "lacks one of", 8);

	pk_env(&k, 1, BC_MSG_PING, 5, 0);
	/* replace the body map with an integer: rebuild by hand */
	msgpack_sbuffer_destroy(&k.sb);
	pk_init(&k);
	msgpack_pack_map(&k.p, 4);
	pk_str(&k, "v");
	msgpack_pack_uint64(&k.p, 1);
	pk_str(&k, "t");
	msgpack_pack_uint64(&k.p, BC_MSG_PING);
	pk_str(&k, "id");
	msgpack_pack_uint64(&k.p, 6);
	pk_str(&k, "b");
	msgpack_pack_uint64(&k.p, 0);
	pk_fail(&k, "body is not a map", 6);
}

static void
test_size_limit(void **state)
{
	static char big[BC_PROTO_MAX_MSG + 1];
	(void)state;
	expect_fail(big, sizeof(big), "exceeds", 0);
	expect_fail(big, 0, "truncated", 0);
}

static void
test_type_names(void **state)
{
	(void)state;
	assert_string_equal(bc_msgtype_name(BC_MSG_PING), "PING");
	assert_string_equal(bc_msgtype_name((enum bc_msgtype)12345), "?");
}

/* Typed lists: strings and records, nested, both ways. */
static void
test_roundtrip_lists(void **state)
{
	bc_msg in = {.type = BC_MSG_LOCK_INFO, .id = 3}, out;
	bc_lease_rec lease = {.lease = 77, .app_id = 5, .expires_in_ms = 900};
	bc_lock_rec locks[2] = {{.app_id = 5, .service = "web", .holder = BC_HOLDER_APP},
				{.app_id = 5, .service = "db", .holder = BC_HOLDER_NOBODY}};
	bc_msg jin = {.type = BC_MSG_FETCH_JOBS, .id = 4}, jout;
	bc_fetch_job_rec job = {.job = 9, .image = "reg/a:1", .state = BC_FETCH_FAILED,
				.percent = 40, .attempts = 3, .error = "404"};
	(void)state;
	bc_strs_add(&lease.services, "web");
	bc_strs_add(&lease.services, "db");
	in.body.lock_info.leases = (bc_lease_list){&lease, 1};
	in.body.lock_info.locks = (bc_lock_list){locks, 2};
	roundtrip(&in, &out);
	assert_int_equal(out.body.lock_info.leases.n, 1);
	assert_int_equal(out.body.lock_info.leases.v[0].lease, 77);
	assert_int_equal(out.body.lock_info.leases.v[0].services.n, 2);
	assert_string_equal(out.body.lock_info.leases.v[0].services.v[1], "db");
	assert_int_equal(out.body.lock_info.locks.n, 2);
	assert_string_equal(out.body.lock_info.locks.v[0].service, "web");
	assert_int_equal(out.body.lock_info.locks.v[0].holder, BC_HOLDER_APP);
	assert_int_equal(out.body.lock_info.locks.v[1].holder, BC_HOLDER_NOBODY);
	bc_msg_clear(&out);
	bc_strs_free(&lease.services);

	jin.body.fetch_jobs.instance = 1;
	jin.body.fetch_jobs.jobs = (bc_fetch_job_list){&job, 1};
	roundtrip(&jin, &jout);
	assert_int_equal(jout.body.fetch_jobs.jobs.v[0].state, BC_FETCH_FAILED);
	assert_string_equal(jout.body.fetch_jobs.jobs.v[0].error, "404");
	bc_msg_clear(&jout);

	/* an empty list is a list */
	jin.body.fetch_jobs.jobs = (bc_fetch_job_list){NULL, 0};
	roundtrip(&jin, &jout);
	assert_int_equal(jout.body.fetch_jobs.jobs.n, 0);
	bc_msg_clear(&jout);
}

static void
test_lists_strict(void **state)
{
	struct pk k;
	bc_msg in = {.type = BC_MSG_LOCK_EVENT, .id = 1};
	bc_buf b = {0};
	bc_err err = {0};
	(void)state;

	/* an enum out of range is refused both ways */
	in.body.lock_event.app_id = 1;
	in.body.lock_event.service = "s";
	in.body.lock_event.holder = 3;
	assert_int_equal(bc_msg_encode(&in, &b, &err), -1);
	pk_env(&k, 1, BC_MSG_LOCK_EVENT, 8, 3);
	pk_str(&k, "app_id");
	msgpack_pack_int64(&k.p, 1);
	pk_str(&k, "service");
	pk_str(&k, "s");
	pk_str(&k, "holder");
	msgpack_pack_uint64(&k.p, 7);
	pk_fail(&k, "'holder' is out of range", 8);

	/* a string list with a non-string, and one with a string too long */
	pk_env(&k, 1, BC_MSG_CLEANUP, 9, 1);
	pk_str(&k, "keep");
	msgpack_pack_array(&k.p, 2);
	pk_str(&k, "a");
	msgpack_pack_uint64(&k.p, 1);
	pk_fail(&k, "'keep' has the wrong kind", 9);
	{
		char big[600];
		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		pk_env(&k, 1, BC_MSG_CLEANUP, 10, 1);
		pk_str(&k, "keep");
		msgpack_pack_array(&k.p, 1);
		pk_str(&k, big);
		pk_fail(&k, "'keep' longer than 512 bytes", 10);
	}
	/* more items than the field allows */
	pk_env(&k, 1, BC_MSG_LOCK_TAKE, 11, 2);
	pk_str(&k, "app_id");
	msgpack_pack_int64(&k.p, 1);
	pk_str(&k, "services");
	msgpack_pack_array(&k.p, BC_LOCK_MAX_SERVICES + 1);
	for (int i = 0; i < BC_LOCK_MAX_SERVICES + 1; i++)
		pk_str(&k, "s");
	pk_fail(&k, "'services' has more than 1024 items", 11);

	/* a record with an unknown field, after a good one (freed, no leak) */
	pk_env(&k, 1, BC_MSG_FETCH_JOBS, 12, 2);
	pk_str(&k, "instance");
	msgpack_pack_uint64(&k.p, 1);
	pk_str(&k, "jobs");
	msgpack_pack_array(&k.p, 2);
	msgpack_pack_map(&k.p, 7);
	pk_str(&k, "job");
	msgpack_pack_uint64(&k.p, 1);
	pk_str(&k, "image");
	pk_str(&k, "i");
	pk_str(&k, "state");
	msgpack_pack_uint64(&k.p, 0);
	pk_str(&k, "percent");
	msgpack_pack_uint64(&k.p, 0);
	pk_str(&k, "current");
	msgpack_pack_uint64(&k.p, 0);
	pk_str(&k, "total");
	msgpack_pack_uint64(&k.p, 0);
	pk_str(&k, "attempts");
	msgpack_pack_uint64(&k.p, 0);
	msgpack_pack_map(&k.p, 1);
	pk_str(&k, "bogus");
	msgpack_pack_uint64(&k.p, 0);
	pk_fail(&k, "unknown field 'bogus'", 12);

	/* a record that is not a map */
	pk_env(&k, 1, BC_MSG_FETCH_JOBS, 13, 2);
	pk_str(&k, "instance");
	msgpack_pack_uint64(&k.p, 1);
	pk_str(&k, "jobs");
	msgpack_pack_array(&k.p, 1);
	pk_str(&k, "job");
	pk_fail(&k, "a record is not a map", 13);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_lists),
	    cmocka_unit_test(test_lists_strict),
	    cmocka_unit_test(test_roundtrip_pong),
	    cmocka_unit_test(test_roundtrip_log_batch),
	    cmocka_unit_test(test_roundtrip_ping_optional_absent),
	    cmocka_unit_test(test_roundtrip_error_negative_code),
	    cmocka_unit_test(test_roundtrip_state_and_step),
	    cmocka_unit_test(test_encode_missing_required),
	    cmocka_unit_test(test_trailing_bytes),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_huge_declared_count),
	    cmocka_unit_test(test_deep_nesting),
	    cmocka_unit_test(test_ext_and_reserved_rejected),
	    cmocka_unit_test(test_unknown_type_keeps_id),
	    cmocka_unit_test(test_wrong_version),
	    cmocka_unit_test(test_unknown_field),
	    cmocka_unit_test(test_wrong_kind),
	    cmocka_unit_test(test_duplicate_field_no_leak),
	    cmocka_unit_test(test_missing_required),
	    cmocka_unit_test(test_string_bounds_and_nul),
	    cmocka_unit_test(test_envelope_shape),
	    cmocka_unit_test(test_size_limit),
	    cmocka_unit_test(test_type_names),
	};
	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
