/* libFuzzer: a container's log stream as the logger reads it: Docker frames
 * -> lines -> timestamp -> message -> the cloud's JSON line. Every line that
 * has a timestamp must give one JSON object that parses back to the same
 * message, valid UTF-8 and within the cut. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/docker/dstream.h"
#include "lib/logs/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
on_line(void *ud, const char *p, size_t n, bool cut)
{
	int64_t ts;
	size_t off;
	bc_logrec r = {.service_id = 1};
	bc_buf out = {0};
	json_t *j;

	(void)ud;
	if (n > BC_LOG_MAX_LINE)
		abort();
	if (bc_parse_rfc3339(p, n, &ts, &off, NULL) < 0)
		return 0;
	if (ts < 0 || off > n)
		abort();
	r.ts_ns = ts;
	r.message = bc_log_message(p + off, n - off, cut);
	if (r.message == NULL)
		return 0;
	if (bc_logrec_json(&r, true, &out, NULL) < 0 || out.data[out.len - 1] != '\n')
		abort();
	j = json_loadb(out.data, out.len, 0, NULL);
	if (j == NULL || strcmp(json_string_value(json_object_get(j, "message")), r.message) != 0)
		abort();
	json_decref(j);
	bc_buf_free(&out);
	bc_logrec_free(&r);
	return 0;
}

static int
on_frame(void *ud, int stream, const char *d, size_t len)
{
	bc_logsplit *ls = ud;
	return bc_logsplit_feed(&ls[stream == 2], d, len, on_line, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bc_demux dm = {0};
	bc_logsplit ls[2] = {{{0}}};

	if (size > 0 && data[0] & 1) /* a TTY container: raw bytes */
		bc_logsplit_feed(&ls[0], (const char *)data + 1, size - 1, on_line, NULL);
	else if (size > 0)
		bc_demux_feed(&dm, (const char *)data + 1, size - 1, on_frame, ls, NULL);
	bc_demux_free(&dm);
	bc_logsplit_free(&ls[0]);
	bc_logsplit_free(&ls[1]);
	return 0;
}
