/* lib/dstream: the Docker stream decoders, fed in every possible split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/docker/dstream.h"

struct frames {
	char text[4][64];
	int stream[4];
	int n;
	int stop_after; /* 0 = never */
};

static int
on_frame(void *ud, int stream, const char *data, size_t len)
{
	struct frames *f = ud;
	assert_true(f->n < 4);
	assert_true(len < sizeof(f->text[0]));
	memcpy(f->text[f->n], data, len);
	f->text[f->n][len] = '\0';
	f->stream[f->n++] = stream;
	return f->stop_after && f->n == f->stop_after;
}

static size_t
frame(uint8_t *out, int stream, const char *s)
{
	size_t n = strlen(s);
	out[0] = (uint8_t)stream;
	out[1] = out[2] = out[3] = 0;
	out[4] = (uint8_t)(n >> 24);
	out[5] = (uint8_t)(n >> 16);
	out[6] = (uint8_t)(n >> 8);
	out[7] = (uint8_t)n;
	memcpy(out + 8, s, n);
	return 8 + n;
}

static void
test_demux_every_split(void **state)
{
	uint8_t buf[128];
	size_t len = 0;
	(void)state;
	len += frame(buf + len, 1, "hello out\n");
	len += frame(buf + len, 2, "oops err\n");
	len += frame(buf + len, 1, "");
	for (size_t cut = 0; cut <= len; cut++) {
		struct frames f = {0};
		bc_demux dm = {0};
		bc_err err = {0};
		assert_int_equal(bc_demux_feed(&dm, (char *)buf, cut, on_frame, &f, &err), 0);
		assert_int_equal(
		    bc_demux_feed(&dm, (char *)buf + cut, len - cut, on_frame, &f, &err), 0);
		assert_int_equal(bc_demux_finish(&dm, &err), 0);
		assert_int_equal(f.n, 3);
		assert_string_equal(f.text[0], "hello out\n");
		assert_int_equal(f.stream[0], 1);
		assert_string_equal(f.text[1], "oops err\n");
		assert_int_equal(f.stream[1], 2);
		assert_string_equal(f.text[2], "");
		bc_demux_free(&dm);
	}
}

static void
test_demux_byte_at_a_time(void **state)
{
	uint8_t buf[64];
	size_t len = frame(buf, 2, "abc");
	struct frames f = {0};
	bc_demux dm = {0};
	(void)state;
	for (size_t i = 0; i < len; i++)
		assert_int_equal(bc_demux_feed(&dm, (char *)buf + i, 1, on_frame, &f, NULL), 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.text[0], "abc");
	bc_demux_free(&dm);
}

static void
test_demux_bad_header(void **state)
{
	static const char bad_stream[] = {5, 0, 0, 0, 0, 0, 0, 1, 'x'};
	static const char bad_pad[] = {1, 0, 9, 0, 0, 0, 0, 1, 'x'};
	struct frames f = {0};
	bc_demux dm = {0};
	bc_err err = {0};
	(void)state;
	assert_int_equal(bc_demux_feed(&dm, bad_stream, sizeof(bad_stream), on_frame, &f, &err),
			 -1);
	assert_non_null(strstr(err.msg, "bad frame header"));
	bc_demux_free(&dm);
	assert_int_equal(bc_demux_feed(&dm, bad_pad, sizeof(bad_pad), on_frame, &f, &err), -1);
	bc_demux_free(&dm);
	assert_int_equal(f.n, 0);
}

static void
test_demux_oversize_and_truncated(void **state)
{
	static const char huge[] = {1, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff};
	static const char cut[] = {1, 0, 0};
	struct frames f = {0};
	bc_demux dm = {0};
	bc_err err = {0};
	(void)state;
	assert_int_equal(bc_demux_feed(&dm, huge, sizeof(huge), on_frame, &f, &err), -1);
	assert_int_equal(err.code, BC_ETOOBIG);
	bc_demux_free(&dm);
	assert_int_equal(bc_demux_feed(&dm, cut, sizeof(cut), on_frame, &f, &err), 0);
	assert_int_equal(bc_demux_finish(&dm, &err), -1);
	bc_demux_free(&dm);
}

static void
test_demux_stop(void **state)
{
	uint8_t buf[64];
	size_t len = frame(buf, 1, "a");
	struct frames f = {.stop_after = 1};
	bc_demux dm = {0};
	(void)state;
	len += frame(buf + len, 1, "b");
	assert_int_equal(bc_demux_feed(&dm, (char *)buf, len, on_frame, &f, NULL), 1);
	assert_int_equal(f.n, 1);
	bc_demux_free(&dm);
}

struct objs {
	int n;
	long ids[8];
	int stop_after;
};

static int
on_obj(void *ud, json_t *o)
{
	struct objs *s = ud;
	s->ids[s->n++] = (long)json_integer_value(json_object_get(o, "id"));
	return s->stop_after && s->n == s->stop_after;
}

static void
test_jsonl_every_split(void **state)
{
	static const char in[] = "{\"id\":1}\r\n\n  \n{\"id\":2,\"s\":\"a\\nb\"}\n{\"id\":3}";
	size_t len = sizeof(in) - 1;
	(void)state;
	for (size_t cut = 0; cut <= len; cut++) {
		struct objs s = {0};
		bc_jsonl jl = {0};
		bc_err err = {0};
		assert_int_equal(bc_jsonl_feed(&jl, in, cut, on_obj, &s, &err), 0);
		assert_int_equal(bc_jsonl_feed(&jl, in + cut, len - cut, on_obj, &s, &err), 0);
		assert_int_equal(bc_jsonl_finish(&jl, on_obj, &s, &err), 0);
		assert_int_equal(s.n, 3);
		assert_int_equal(s.ids[0], 1);
		assert_int_equal(s.ids[1], 2);
		assert_int_equal(s.ids[2], 3);
		bc_jsonl_free(&jl);
	}
}

static void
test_jsonl_rejects(void **state)
{
	struct objs s = {0};
	bc_jsonl jl = {0};
	bc_err err = {0};
	(void)state;
	assert_int_equal(bc_jsonl_feed(&jl, "[1,2]\n", 6, on_obj, &s, &err), -1);
	assert_non_null(strstr(err.msg, "not an object"));
	bc_jsonl_free(&jl);
	assert_int_equal(bc_jsonl_feed(&jl, "{\"a\":\n", 6, on_obj, &s, &err), -1);
	bc_jsonl_free(&jl);
	assert_int_equal(bc_jsonl_feed(&jl, "{\"a\":1,\"a\":2}\n", 14, on_obj, &s, &err), -1);
	bc_jsonl_free(&jl);
	assert_int_equal(s.n, 0);
}

static void
test_jsonl_line_bound(void **state)
{
	static char big[BC_JSONL_MAX_LINE + 16];
	struct objs s = {0};
	bc_jsonl jl = {0};
	bc_err err = {0};
	(void)state;
	memset(big, ' ', sizeof(big));
	assert_int_equal(bc_jsonl_feed(&jl, big, sizeof(big), on_obj, &s, &err), -1);
	assert_int_equal(err.code, BC_ETOOBIG);
	bc_jsonl_free(&jl);
}

static void
test_jsonl_stop(void **state)
{
	struct objs s = {.stop_after = 1};
	bc_jsonl jl = {0};
	(void)state;
	assert_int_equal(bc_jsonl_feed(&jl, "{\"id\":1}\n{\"id\":2}\n", 18, on_obj, &s, NULL), 1);
	assert_int_equal(s.n, 1);
	bc_jsonl_free(&jl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_demux_every_split),
	    cmocka_unit_test(test_demux_byte_at_a_time),
	    cmocka_unit_test(test_demux_bad_header),
	    cmocka_unit_test(test_demux_oversize_and_truncated),
	    cmocka_unit_test(test_demux_stop),
	    cmocka_unit_test(test_jsonl_every_split),
	    cmocka_unit_test(test_jsonl_rejects),
	    cmocka_unit_test(test_jsonl_line_bound),
	    cmocka_unit_test(test_jsonl_stop),
	};
	return cmocka_run_group_tests_name("dstream", tests, NULL, NULL);
}
