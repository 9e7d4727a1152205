/* lib/http1: the response parser, byte by byte and in one piece. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cloud/answer.h"
#include "lib/docker/http1.h"

struct got {
	char body[4096];
	size_t n;
	size_t stop_after; /* 0: never stop */
};

static int
collect(void *ud, const char *p, size_t n)
{
	struct got *g = ud;
	assert_true(g->n + n < sizeof(g->body));
	memcpy(g->body + g->n, p, n);
	g->n += n;
	g->body[g->n] = '\0';
	return g->stop_after && g->n >= g->stop_after ? 1 : 0;
}

/* Parse text whole and one byte at a time: both must agree. Returns the
 * result of the last feed (or of eof when eof is true). */
static int
parse(const char *text, bool eof, struct got *g, long *status, size_t *used_total, bc_err *err)
{
	int r = -9;
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		bc_http1_parser p;
		size_t len = strlen(text), used, total = 0;
		struct got one = {.stop_after = g->stop_after};
		bc_http1_parser_init(&p, false);
		r = 0;
		if (bytewise) {
			for (size_t i = 0; i < len && r == 0; i++) {
				r = bc_http1_feed(&p, text + i, 1, &used, collect, &one, err);
				total += used;
			}
		} else {
			r = bc_http1_feed(&p, text, len, &used, collect, &one, err);
			total = used;
		}
		if (r == 0 && eof)
			r = bc_http1_eof(&p, err);
		if (bytewise && g->stop_after == 0) {
			assert_int_equal(one.n, g->n); /* same body either way */
			assert_memory_equal(one.body, g->body, g->n);
			assert_int_equal(total, *used_total);
		} else if (!bytewise) {
			*g = one;
			*status = p.status;
			*used_total = total;
		}
	}
	return r;
}

static void
test_content_length_and_keepalive(void **state)
{
	struct got g = {0};
	long st;
	size_t used;
	bc_err err = {0};
	const char *t = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
			"5\r\n\r\nhello"
			"HTTP/1.1 200 OK\r\n"; /* the next response's bytes are not ours */
	(void)state;
	assert_int_equal(parse(t, false, &g, &st, &used, &err), 1);
	assert_int_equal(st, 200);
	assert_string_equal(g.body, "hello");
	assert_int_equal(used, strlen(t) - strlen("HTTP/1.1 200 OK\r\n"));
}

static void
test_chunked_with_extensions_and_trailer(void **state)
{
	struct got g = {0};
	long st;
	size_t used;
	bc_err err = {0};
	const char *t = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			"4\r\n{\"a\"\r\n"
			"B;ext=1\r\n:1}\n{\"b\":2}\r\n"
			"0\r\nX-Trailer: y\r\n\r\n";
	(void)state;
	assert_int_equal(parse(t, false, &g, &st, &used, &err), 1);
	assert_string_equal(g.body, "{\"a\":1}\n{\"b\":2}");
	assert_int_equal(used, strlen(t));
}

static void
test_continue_then_final_and_no_body(void **state)
{
	struct got g = {0};
	long st;
	size_t used;
	bc_err err = {0};
	(void)state;
	assert_int_equal(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
			       false, &g, &st, &used, &err),
			 1);
	assert_int_equal(st, 204);
	assert_int_equal(g.n, 0);
}

static void
test_close_delimited_needs_eof(void **state)
{
	struct got g = {0};
	long st;
	size_t used;
	bc_err err = {0};
	(void)state;
	assert_int_equal(parse("HTTP/1.0 404 Not Found\r\n\r\n{\"message\":\"no\"}", false, &g, &st,
			       &used, &err),
			 0);
	assert_int_equal(
	    parse("HTTP/1.0 404 Not Found\r\n\r\n{\"message\":\"no\"}", true, &g, &st, &used, &err),
	    1);
	assert_int_equal(st, 404);
	assert_string_equal(g.body, "{\"message\":\"no\"}");
	/* a length-delimited body cut short is an error at eof */
	assert_int_equal(
	    parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", true, &g, &st, &used, &err),
	    -1);
	assert_non_null(strstr(err.msg, "middle of the response"));
}

static void
test_callback_stops(void **state)
{
	struct got g = {.stop_after = 3};
	long st;
	size_t used;
	bc_err err = {0};
	(void)state;
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			       "5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n",
			       false, &g, &st, &used, &err),
			 2);
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
	    "HTTP/2 200 OK\r\n\r\n",
	    "HTTP/1.1 2000 OK\r\n\r\n",
	    "HTTP/1.1 099 Low\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: notchunked\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nX: a\nContent-Length: 99\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nX: a\rY: b\r\n\r\n",
	    "HTTP/1.1 200 OK\r\n folded: header\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
	    "HTTP/1.1 101 Switching\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1234567890abcdef\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
	    NULL};
	(void)state;
	for (int i = 0; bad[i]; i++) {
		bc_http1_parser p;
		size_t used;
		bc_err err = {0};
		bc_http1_parser_init(&p, false);
		if (bc_http1_feed(&p, bad[i], strlen(bad[i]), &used, NULL, NULL, &err) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(err.code, BC_EPROTO);
	}
}

static void
test_bounded_head(void **state)
{
	char *big = malloc(BC_HTTP1_MAX_HEAD + 64);
	bc_http1_parser p;
	size_t used;
	bc_err err = {0};
	(void)state;
	strcpy(big, "HTTP/1.1 200 OK\r\nX: ");
	memset(big + strlen(big), 'a', BC_HTTP1_MAX_HEAD);
	big[BC_HTTP1_MAX_HEAD + 20] = '\0';
	bc_http1_parser_init(&p, false);
	assert_int_equal(bc_http1_feed(&p, big, strlen(big), &used, NULL, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "16 KiB"));
	free(big);
}

static void
saw(void *ud, const char *name, const char *value)
{
	char *out = ud;
	size_t n = strlen(out);
	snprintf(out + n, 256 - n, "[%s=%s]", name, value);
}

/* on_header sees the final response's headers, trimmed; not a 1xx's */
static void
test_header_callback(void **state)
{
	const char *r = "HTTP/1.1 100 Continue\r\nX-Early: no\r\n\r\n"
			"HTTP/1.1 200 OK\r\nETag:  W/\"7\" \r\nRetry-After: 30\r\n"
			"Content-Length: 0\r\n\r\n";
	char out[256] = "";
	bc_http1_parser p;
	size_t used;
	bc_err err = {0};
	(void)state;
	bc_http1_parser_init(&p, false);
	p.on_header = saw;
	p.hud = out;
	assert_int_equal(bc_http1_feed(&p, r, strlen(r), &used, NULL, NULL, &err), 1);
	assert_string_equal(out, "[ETag=W/\"7\"][Retry-After=30][Content-Length=0]");
}

/* The cloud's answers as the gateway reads them (lib/cloud/answer.h). */
static int
answer_of(const char *text, size_t max, bc_cloud_answer *a)
{
	bc_err err = {0};
	int r;

	bc_cloud_answer_init(a, max, false);
	r = bc_cloud_answer_feed(a, text, strlen(text), &err);
	if (r == 0)
		r = bc_cloud_answer_eof(a, &err);
	return r;
}

static void
test_cloud_answer(void **state)
{
	bc_cloud_answer a;
	char etag[400], text[600];

	(void)state;
	/* an error body within the limit: kept whole, with Retry-After */
	assert_int_equal(answer_of("HTTP/1.1 503 Busy\r\nRetry-After: 30\r\nContent-Length: 4\r\n"
				   "\r\nbusy",
				   16, &a),
			 1);
	assert_int_equal(a.parser.status, 503);
	assert_int_equal(a.retry_after_s, 30);
	assert_string_equal(a.body.data, "busy");
	bc_cloud_answer_free(&a);
	/* refused by its head: not a byte of the body kept */
	assert_int_equal(answer_of("HTTP/1.1 500 No\r\nContent-Length: 17\r\n\r\n", 16, &a), -1);
	assert_true(a.too_big);
	assert_int_equal(a.body.len, 0);
	bc_cloud_answer_free(&a);
	/* chunked past the limit: refused at the limit */
	assert_int_equal(answer_of("HTTP/1.1 502 No\r\nTransfer-Encoding: chunked\r\n\r\n"
				   "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n",
				   16, &a),
			 -1);
	assert_true(a.too_big);
	assert_true(a.body.len <= 16);
	bc_cloud_answer_free(&a);
	/* close-delimited past the limit too; none allowed at all (max 0) */
	assert_int_equal(
	    answer_of("HTTP/1.1 500 No\r\nConnection: close\r\n\r\n12345678901234567", 16, &a), -1);
	assert_true(a.too_big);
	bc_cloud_answer_free(&a);
	assert_int_equal(answer_of("HTTP/1.1 500 No\r\nConnection: close\r\n\r\nx", 0, &a), -1);
	bc_cloud_answer_free(&a);
	/* Retry-After that is not whole seconds of at most 6 digits: none */
	assert_int_equal(
	    answer_of("HTTP/1.1 429 Slow\r\nRetry-After: 1234567\r\nContent-Length: 0\r\n\r\n", 16,
		      &a),
	    1);
	assert_int_equal(a.retry_after_s, 0);
	bc_cloud_answer_free(&a);
	/* an ETag too long to send back whole is none, never cut */
	memset(etag, 'e', sizeof(etag) - 1);
	etag[sizeof(etag) - 1] = '\0';
	snprintf(text, sizeof(text), "HTTP/1.1 200 OK\r\nETag: %s\r\nContent-Length: 0\r\n\r\n",
		 etag);
	assert_int_equal(answer_of(text, 16, &a), 1);
	assert_string_equal(a.etag, "");
	bc_cloud_answer_free(&a);
	assert_int_equal(
	    answer_of("HTTP/1.1 200 OK\r\nETag: \"r7\"\r\nContent-Length: 0\r\n\r\n", 16, &a), 1);
	assert_string_equal(a.etag, "\"r7\"");
	bc_cloud_answer_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_content_length_and_keepalive),
	    cmocka_unit_test(test_chunked_with_extensions_and_trailer),
	    cmocka_unit_test(test_continue_then_final_and_no_body),
	    cmocka_unit_test(test_close_delimited_needs_eof),
	    cmocka_unit_test(test_callback_stops),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_bounded_head),
	    cmocka_unit_test(test_header_callback),
	    cmocka_unit_test(test_cloud_answer),
	};
	return cmocka_run_group_tests_name("http1", tests, NULL, NULL);
}
