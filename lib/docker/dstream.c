#include "lib/docker/dstream.h"

#include <string.h>

int
bc_demux_feed(bc_demux *dm, const char *data, size_t len, bc_frame_fn fn, void *ud, bc_err *err)
{
	size_t take;

	dm->payload.max = BC_DEMUX_MAX_FRAME;
	while (len > 0) {
		if (dm->hdr_have < 8) {
			take = 8 - dm->hdr_have;
			if (take > len)
				take = len;
			memcpy(dm->hdr + dm->hdr_have, data, take);
			dm->hdr_have += take;
			data += take;
			len -= take;
			if (dm->hdr_have < 8)
				return 0;
			if (dm->hdr[0] > 3 || dm->hdr[1] || dm->hdr[2] || dm->hdr[3])
				return bc_err_set(
				    err, BC_EPROTO,
				    "log stream: bad frame header %02x %02x %02x %02x", dm->hdr[0],
				    dm->hdr[1], dm->hdr[2], dm->hdr[3]);
			dm->stream = dm->hdr[0];
			dm->want = (size_t)dm->hdr[4] << 24 | (size_t)dm->hdr[5] << 16 |
				   (size_t)dm->hdr[6] << 8 | dm->hdr[7];
			if (dm->want > BC_DEMUX_MAX_FRAME)
				return bc_err_set(err, BC_ETOOBIG,
						  "log stream: frame of %zu bytes exceeds %zu",
						  dm->want, BC_DEMUX_MAX_FRAME);
			bc_buf_reset(&dm->payload);
		}
		take = dm->want < len ? dm->want : len;
		if (take && bc_buf_add(&dm->payload, data, take, err) < 0)
			return -1;
		data += take;
		len -= take;
		dm->want -= take;
		if (dm->want == 0) {
			dm->hdr_have = 0;
			if (fn(ud, dm->stream, bc_buf_cstr(&dm->payload), dm->payload.len) != 0)
				return 1;
		}
	}
	return 0;
}

int
bc_demux_finish(const bc_demux *dm, bc_err *err)
{
	if (dm->hdr_have != 0)
		return bc_err_set(err, BC_EPROTO, "log stream ended inside a frame");
	return 0;
}

void
bc_demux_free(bc_demux *dm)
{
	bc_buf_free(&dm->payload);
	memset(dm, 0, sizeof(*dm));
}

static int
one_line(const char *s, size_t n, bc_json_fn fn, void *ud, bc_err *err)
{
	json_error_t je;
	json_t *obj;
	int rc;

	while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0)
		return 0;
	obj = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
	if (obj == NULL)
		return bc_err_set(err, BC_EPROTO, "JSON stream: %s at column %d", je.text,
				  je.column);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return bc_err_set(err, BC_EPROTO, "JSON stream: a line is not an object");
	}
	rc = fn(ud, obj);
	json_decref(obj);
	return rc != 0 ? 1 : 0;
}

int
bc_jsonl_feed(bc_jsonl *jl, const char *data, size_t len, bc_json_fn fn, void *ud, bc_err *err)
{
	const char *nl;
	size_t n;
	int rc;

	jl->line.max = BC_JSONL_MAX_LINE;
	while (len > 0) {
		nl = memchr(data, '\n', len);
		n = nl ? (size_t)(nl - data) : len;
		if (bc_buf_add(&jl->line, data, n, err) < 0)
			return bc_err_wrap(err, "JSON stream line");
		data += n;
		len -= n;
		if (nl == NULL)
			return 0;
		data++;
		len--;
		rc = one_line(jl->line.data, jl->line.len, fn, ud, err);
		bc_buf_reset(&jl->line);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
bc_jsonl_finish(bc_jsonl *jl, bc_json_fn fn, void *ud, bc_err *err)
{
	int rc = 0;

	if (jl->line.len > 0)
		rc = one_line(jl->line.data, jl->line.len, fn, ud, err);
	bc_buf_reset(&jl->line);
	return rc;
}

void
bc_jsonl_free(bc_jsonl *jl)
{
	bc_buf_free(&jl->line);
}
