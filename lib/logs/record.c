#include "lib/logs/record.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
bc_logrec_free(bc_logrec *r)
{
	if (r == NULL)
		return;
	free(r->service);
	free(r->message);
	r->service = r->message = NULL;
}

int
bc_logsplit_feed(bc_logsplit *ls, const char *data, size_t len, bc_logline_fn fn, void *ud)
{
	ls->line.max = BC_LOG_MAX_LINE + 1;
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;
		size_t room = BC_LOG_MAX_LINE - ls->line.len;
		int rc = 0;

		if (take > room) {
			ls->cut = true;
		}
		if ((take < room ? take : room) > 0 &&
		    bc_buf_add(&ls->line, data, take < room ? take : room, NULL) < 0)
			ls->cut = true; /* out of memory: what fits goes */
		if (nl == NULL)
			return 0;
		rc = fn(ud, ls->line.len ? ls->line.data : "", ls->line.len, ls->cut);
		ls->line.len = 0;
		ls->cut = false;
		data = nl + 1;
		len -= take + 1;
		if (rc != 0)
			return rc;
	}
	return 0;
}

void
bc_logsplit_free(bc_logsplit *ls)
{
	bc_buf_free(&ls->line);
	ls->cut = false;
}


/* The length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f))
			return 0; /* overlong, or a surrogate */
		return 3;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

char *
bc_log_message(const char *text, size_t n, bool cut)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t chars = 0, o = 0;
	char *out;

	if (n > 0 && text[n - 1] == '\r')
		n--;
	/* at most 3 bytes out for each byte in (U+FFFD), and the marker */
	if ((out = malloc(3 * (n < 4 * BC_LOG_MAX_CHARS ? n : 4 * BC_LOG_MAX_CHARS) +
			  sizeof(BC_LOG_CUT_MARKER))) == NULL)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(p + i, n - i);
		if (chars == BC_LOG_MAX_CHARS) {
			cut = true;
			break;
		}
		if (l == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			i++;
		} else {
			memcpy(out + o, p + i, l);
			o += l;
			i += l;
		}
		chars++;
	}
	if (cut) {
		memcpy(out + o, BC_LOG_CUT_MARKER, sizeof(BC_LOG_CUT_MARKER) - 1);
		o += sizeof(BC_LOG_CUT_MARKER) - 1;
	}
	out[o] = '\0';
	return out;
}

uint32_t
bc_lognth_next(bc_lognth *st, int64_t ts_ns)
{
	if (st->n > 0 && st->ts_ns == ts_ns)
		return st->n++;
	st->ts_ns = ts_ns;
	st->n = 1;
	return 0;
}

bool
bc_logcursor_is_new(const bc_logcursor *c, int64_t ts_ns, uint32_t nth)
{
	return ts_ns > c->ts_ns || (ts_ns == c->ts_ns && nth >= c->n);
}

void
bc_logcursor_advance(bc_logcursor *c, int64_t ts_ns, uint32_t nth)
{
	if (!bc_logcursor_is_new(c, ts_ns, nth))
		return;
	c->ts_ns = ts_ns;
	c->n = nth + 1;
}

void
bc_logcursor_since(const bc_logcursor *c, char *out, size_t n)
{
	snprintf(out, n, "%" PRId64 ".%09" PRId64, c->ts_ns / 1000000000, c->ts_ns % 1000000000);
}

/* s as a JSON string (s is valid UTF-8) */
static int
json_str(bc_buf *out, const char *s, bc_err *err)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	if (bc_buf_add(out, "\"", 1, err) < 0)
		return -1;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6];
		size_t en = 2;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (bc_buf_add(out, run, (size_t)(s - run), err) < 0)
			return -1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\t': esc[1] = 't'; break;
		case '\r': esc[1] = 'r'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			en = 6;
		}
		if (bc_buf_add(out, esc, en, err) < 0)
			return -1;
		run = s + 1;
	}
	if (bc_buf_add(out, run, (size_t)(s - run), err) < 0)
		return -1;
	return bc_buf_add(out, "\"", 1, err);
}

int
bc_logrec_json(const bc_logrec *r, bool with_names, bc_buf *out, bc_err *err)
{
	char num[160];
	size_t start = out->len;
	int n;

	if (bc_buf_add(out, "{\"message\":", 11, err) < 0 ||
	    json_str(out, r->message ? r->message : "", err) < 0)
		goto fail;
	n = snprintf(num, sizeof(num), ",\"timestamp\":%" PRId64, r->ts_ns / 1000000);
	if (r->is_system)
		n += snprintf(num + n, sizeof(num) - (size_t)n, ",\"isSystem\":true");
	else
		n += snprintf(num + n, sizeof(num) - (size_t)n, "%s,\"serviceId\":%" PRId64,
			      r->is_stderr ? ",\"isStdErr\":true" : "", r->service_id);
	if (with_names)
		n += snprintf(num + n, sizeof(num) - (size_t)n,
			      ",\"appId\":%" PRId64 ",\"nanos\":%" PRId64, r->app_id, r->ts_ns);
	if (bc_buf_add(out, num, (size_t)n, err) < 0)
		goto fail;
	if (with_names && r->service != NULL &&
	    (bc_buf_add(out, ",\"serviceName\":", 15, err) < 0 || json_str(out, r->service, err) < 0))
		goto fail;
	if (bc_buf_add(out, "}\n", 2, err) < 0)
		goto fail;
	return 0;
fail:
	out->len = start;
	return -1;
}

int
bc_logcursor_entry(const char *id, const json_t *v, bc_logcursor c[2])
{
	if (id == NULL || strlen(id) != 64 || strspn(id, "0123456789abcdef") != 64 ||
	    !json_is_object(v))
		return -1;
	for (int k = 0; k < 2; k++) {
		json_t *o = json_object_get(v, k ? "err" : "out");
		const char *ts = json_string_value(json_object_get(o, "ts"));
		json_t *n = json_object_get(o, "n");
		if (ts == NULL || *ts == '\0' || strspn(ts, "0123456789") != strlen(ts) ||
		    strlen(ts) > 19 || !json_is_integer(n) || json_integer_value(n) < 0 ||
		    json_integer_value(n) > UINT32_MAX)
			return -1;
		c[k] = (bc_logcursor){strtoll(ts, NULL, 10), (uint32_t)json_integer_value(n)};
	}
	return 0;
}
