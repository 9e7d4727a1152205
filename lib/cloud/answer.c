/* The cloud's answer to one request: see answer.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/cloud/answer.h"

static void
on_header(void *ud, const char *name, const char *v)
{
	bc_cloud_answer *a = ud;
	size_t n = strlen(v);

	if (strcasecmp(name, "ETag") == 0) {
		/* one we could not send back whole is none (the next poll then
		 * gets the whole document, never a 304 for another's) */
		if (n < sizeof(a->etag))
			memcpy(a->etag, v, n + 1);
		else
			a->etag[0] = '\0';
	} else if (strcasecmp(name, "Retry-After") == 0 && n > 0 &&
		   n <= BC_ANSWER_RETRY_MAX_DIGITS && strspn(v, "0123456789") == n) {
		a->retry_after_s = strtol(v, NULL, 10);
	} else if (strcasecmp(name, "Content-Length") == 0 && strtoull(v, NULL, 10) > a->max) {
		a->too_big = true; /* the parser checked it is a number */
	}
}

static int
on_body(void *ud, const char *p, size_t n)
{
	bc_cloud_answer *a = ud;

	if (a->too_big || n > a->max - a->body.len || bc_buf_add(&a->body, p, n, NULL) < 0) {
		a->too_big = true;
		return -1;
	}
	return 0;
}

void
bc_cloud_answer_init(bc_cloud_answer *a, size_t max, bool head)
{
	memset(a, 0, sizeof(*a));
	bc_http1_parser_init(&a->parser, head);
	a->parser.on_header = on_header;
	a->parser.hud = a;
	a->max = max;
	a->body.max = max; /* on_body checks first: bc_buf's 0 is its default */
}

int
bc_cloud_answer_feed(bc_cloud_answer *a, const char *p, size_t n, bc_err *err)
{
	size_t used;
	int r = bc_http1_feed(&a->parser, p, n, &used, on_body, a, err);

	if (a->too_big)
		return bc_err_set(err, BC_EINVAL, "the answer is larger than %zu bytes", a->max);
	if (r < 0)
		return -1;
	return r > 0 ? 1 : 0;
}

int
bc_cloud_answer_eof(bc_cloud_answer *a, bc_err *err)
{
	return bc_http1_eof(&a->parser, err) == 1 ? 1 : -1;
}

void
bc_cloud_answer_free(bc_cloud_answer *a)
{
	bc_buf_free(&a->body);
}
