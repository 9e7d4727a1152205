#include "proto/proto.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/* --- field tables: the one definition of each body, used both ways ----- */

enum fkind { F_STR, F_U64, F_I64, F_BOOL, F_ENUM, F_STRS, F_RECS };

struct field {
	const char *name;
	enum fkind kind;
	size_t off;
	uint32_t max; /* F_STR: bytes; F_ENUM: the largest value; F_STRS, F_RECS: items */
	bool required;
	uint32_t item_max;	   /* F_STRS: bytes of each string */
	const struct field *sub;   /* F_RECS: the record's fields */
	size_t nsub;		   /* F_RECS */
	size_t recsize;		   /* F_RECS: sizeof the record */
};

/* Every list in a body is laid out as { T *v; size_t n; }. */
struct anylist {
	void *v;
	size_t n;
};

#define FSTR(T, f, mx, req) {.name = #f, .kind = F_STR, .off = offsetof(T, f), .max = mx, .required = req}
#define FU64(T, f, req) {.name = #f, .kind = F_U64, .off = offsetof(T, f), .required = req}
#define FI64(T, f, req) {.name = #f, .kind = F_I64, .off = offsetof(T, f), .required = req}
#define FENUM(T, f, maxv, req)                                                                     \
	{.name = #f, .kind = F_ENUM, .off = offsetof(T, f), .max = maxv, .required = req}
#define FSTRS(T, f, items, bytes, req)                                                             \
	{.name = #f,                                                                               \
	 .kind = F_STRS,                                                                           \
	 .off = offsetof(T, f),                                                                    \
	 .max = items,                                                                             \
	 .required = req,                                                                          \
	 .item_max = bytes}
#define FRECS(T, f, items, R, req)                                                                 \
	{.name = #f,                                                                               \
	 .kind = F_RECS,                                                                           \
	 .off = offsetof(T, f),                                                                    \
	 .max = items,                                                                             \
	 .required = req,                                                                          \
	 .sub = R##_fields,                                                                        \
	 .nsub = sizeof(R##_fields) / sizeof(R##_fields[0]),                                       \
	 .recsize = sizeof(R)}

static const struct field ping_fields[] = {
    FSTR(bc_body_ping, from, 64, false),
};
static const struct field pong_fields[] = {
    FSTR(bc_body_pong, daemon, 64, true),
    FU64(bc_body_pong, pid, true),
    FU64(bc_body_pong, uptime_ms, true),
    FU64(bc_body_pong, instance, true),
};
static const struct field error_fields[] = {
    FI64(bc_body_error, code, true),
    FSTR(bc_body_error, message, 4096, true),
};

#define FBOOL(T, f, req) {.name = #f, .kind = F_BOOL, .off = offsetof(T, f), .required = req}

static const struct field apply_fields[] = {
    FSTR(bc_body_apply, target, BC_PROTO_MAX_DOC, true),
    FBOOL(bc_body_apply, force, false),
    FBOOL(bc_body_apply, replace, false),
};
static const struct field down_fields[] = {
    FSTR(bc_body_down, app, 128, true),
    FBOOL(bc_body_down, volumes, false),
};
static const struct field ack_fields[] = {
    FU64(bc_body_ack, generation, true),
    FU64(bc_body_ack, instance, true),
};
static const struct field poll_fields[] = {
    FSTR(bc_body_poll, from, 64, false),
};
static const struct field gw_status_fields[] = {
    FSTR(bc_body_gw_status, from, 64, false),
};
static const struct field gw_info_fields[] = {
    FSTR(bc_body_gw_info, mode, 32, true),	      FSTR(bc_body_gw_info, endpoint, 2048, false),
    FSTR(bc_body_gw_info, uuid, 64, false),	      FSTR(bc_body_gw_info, last_poll, 512, false),
    FSTR(bc_body_gw_info, last_report, 512, false), FSTR(bc_body_gw_info, rejected, 512, false),
    FBOOL(bc_body_gw_info, reachable, false),
};
static const struct field get_state_fields[] = {
    FSTR(bc_body_get_state, from, 64, false),
};
static const struct field bc_svc_rec_fields[] = {
    FSTR(bc_svc_rec, name, 128, true),	      FSTR(bc_svc_rec, status, 32, true),
    FSTR(bc_svc_rec, image, 512, false),      FI64(bc_svc_rec, release, true),
    FSTR(bc_svc_rec, commit, 128, false),     FSTR(bc_svc_rec, container, 512, false),
    FSTR(bc_svc_rec, id, 64, false),	      FSTR(bc_svc_rec, dl_image, 512, false),
    FU64(bc_svc_rec, dl_percent, false),      FU64(bc_svc_rec, dl_current, false),
    FU64(bc_svc_rec, dl_total, false),	      FU64(bc_svc_rec, health_restarts, false),
};
static const struct field bc_named_rec_fields[] = {
    FSTR(bc_named_rec, name, 256, true),
    FSTR(bc_named_rec, status, 32, true),
};
static const struct field bc_app_rec_fields[] = {
    FI64(bc_app_rec, id, true),
    FSTR(bc_app_rec, uuid, 128, false),
    FSTR(bc_app_rec, name, 256, false),
    FSTR(bc_app_rec, commit, 128, false),
    FENUM(bc_app_rec, status, BC_APP_ROLLED_BACK, true),
    FSTR(bc_app_rec, error, 1024, false),
    FSTR(bc_app_rec, waiting, 1024, false),
    FBOOL(bc_app_rec, removed, false),
    FSTR(bc_app_rec, rolled_back, 128, false),
    FSTRS(bc_app_rec, skipped, BC_STATE_MAX_SERVICES, 128, false),
    FSTRS(bc_app_rec, ignored, BC_STATE_MAX_SERVICES, 256, false),
    FRECS(bc_app_rec, services, BC_STATE_MAX_SERVICES, bc_svc_rec, true),
    FRECS(bc_app_rec, networks, BC_STATE_MAX_NAMED, bc_named_rec, true),
    FRECS(bc_app_rec, volumes, BC_STATE_MAX_NAMED, bc_named_rec, true),
};
static const struct field state_fields[] = {
    FU64(bc_body_state, generation, true), FU64(bc_body_state, instance, true),
    FBOOL(bc_body_state, settled, true),   FSTR(bc_body_state, error, 1024, false),
    FSTR(bc_body_state, waiting, 1024, false), FU64(bc_body_state, rounds, true),
    FU64(bc_body_state, steps, true),	       FU64(bc_body_state, converge_ms, true),
    FRECS(bc_body_state, apps, BC_STATE_MAX_APPS, bc_app_rec, true),
};
static const struct field fetch_fields[] = {
    FSTR(bc_body_fetch, image, 512, true),
    FSTR(bc_body_fetch, auth, 8192, false),
};
static const struct field fetched_fields[] = {
    FSTR(bc_body_fetched, image, 512, true),
    FSTR(bc_body_fetched, id, 128, true),
};

static const struct field step_fields[] = {
    FU64(bc_body_step, generation, true), FSTR(bc_body_step, action, 32, true),
    FI64(bc_body_step, app_id, true),	  FSTR(bc_body_step, service, 128, false),
    FBOOL(bc_body_step, ok, true),	  FSTR(bc_body_step, error, 512, false),
};

static const struct field fetch_accepted_fields[] = {
    FU64(bc_body_fetch_accepted, job, true),
    FU64(bc_body_fetch_accepted, instance, true),
    FSTR(bc_body_fetch_accepted, image, 512, true),
};
static const struct field fetch_progress_fields[] = {
    FU64(bc_body_fetch_progress, job, true),	 FU64(bc_body_fetch_progress, instance, true),	 FSTR(bc_body_fetch_progress, image, 512, true),
    FU64(bc_body_fetch_progress, percent, true), FU64(bc_body_fetch_progress, current, true),
    FU64(bc_body_fetch_progress, total, true),
};
static const struct field fetch_done_fields[] = {
    FU64(bc_body_fetch_done, job, true),	  FU64(bc_body_fetch_done, instance, true),	  FSTR(bc_body_fetch_done, image, 512, true),
    FBOOL(bc_body_fetch_done, ok, true),	  FSTR(bc_body_fetch_done, id, 128, false),
    FSTR(bc_body_fetch_done, error, 1024, false),
};
static const struct field fetch_cancel_fields[] = {
    FU64(bc_body_fetch_cancel, job, true),
};
static const struct field fetch_status_fields[] = {
    FSTR(bc_body_fetch_status, from, 64, false),
};
static const struct field bc_fetch_job_rec_fields[] = {
    FU64(bc_fetch_job_rec, job, true),
    FSTR(bc_fetch_job_rec, image, 512, true),
    FENUM(bc_fetch_job_rec, state, BC_FETCH_CANCELLED, true),
    FU64(bc_fetch_job_rec, percent, true),
    FU64(bc_fetch_job_rec, current, true),
    FU64(bc_fetch_job_rec, total, true),
    FU64(bc_fetch_job_rec, attempts, true),
    FSTR(bc_fetch_job_rec, error, 1024, false),
};
static const struct field fetch_jobs_fields[] = {
    FU64(bc_body_fetch_jobs, instance, true),
    FRECS(bc_body_fetch_jobs, jobs, 128, bc_fetch_job_rec, true),
};
static const struct field fetch_cancelled_fields[] = {
    FU64(bc_body_fetch_cancelled, job, true),
};

static const struct field cleanup_fields[] = {
    FSTRS(bc_body_cleanup, keep, 4096, 512, true),
};
static const struct field cleanup_done_fields[] = {
    FSTRS(bc_body_cleanup_done, removed, 4096, 512, true),
};

static const struct field lock_take_fields[] = {
    FI64(bc_body_lock_take, app_id, true),
    FSTRS(bc_body_lock_take, services, BC_LOCK_MAX_SERVICES, 63, true),
    FBOOL(bc_body_lock_take, force, false),
    FU64(bc_body_lock_take, lease, false),
};
static const struct field lock_granted_fields[] = {
    FU64(bc_body_lock_granted, lease, true),
    FU64(bc_body_lock_granted, expires_ms, true),
};
static const struct field lock_held_fields[] = {
    FI64(bc_body_lock_held, app_id, true),
    FSTR(bc_body_lock_held, service, 128, true),
};
static const struct field lock_release_fields[] = {
    FU64(bc_body_lock_release, lease, true),
};
static const struct field lock_status_fields[] = {
    FSTR(bc_body_lock_status, from, 64, false),
};
static const struct field bc_lease_rec_fields[] = {
    FU64(bc_lease_rec, lease, true),
    FI64(bc_lease_rec, app_id, true),
    FSTRS(bc_lease_rec, services, BC_LOCK_MAX_SERVICES, 63, true),
    FU64(bc_lease_rec, expires_in_ms, true),
};
static const struct field bc_lock_rec_fields[] = {
    FI64(bc_lock_rec, app_id, true),
    FSTR(bc_lock_rec, service, 128, true),
    FENUM(bc_lock_rec, holder, BC_HOLDER_US, true),
};
static const struct field lock_info_fields[] = {
    FRECS(bc_body_lock_info, leases, 64, bc_lease_rec, true),
    FRECS(bc_body_lock_info, locks, 8192, bc_lock_rec, true),
};
static const struct field lock_released_fields[] = {
    FU64(bc_body_lock_released, lease, true),
};
static const struct field lock_event_fields[] = {
    FI64(bc_body_lock_event, app_id, true),
    FSTR(bc_body_lock_event, service, 128, true),
    FENUM(bc_body_lock_event, holder, BC_HOLDER_US, true),
};

static const struct field bc_log_rec_fields[] = {
    FU64(bc_log_rec, seq, true),
    FI64(bc_log_rec, ts_ns, true),
    FU64(bc_log_rec, nth, true),
    FI64(bc_log_rec, app_id, true),
    FI64(bc_log_rec, service_id, true),
    FSTR(bc_log_rec, service, 128, false),
    FSTR(bc_log_rec, container, 16, false),
    FBOOL(bc_log_rec, is_stderr, false),
    FBOOL(bc_log_rec, is_system, false),
    FSTR(bc_log_rec, message, 4 * 10000 + 64, true),
};
static const struct field log_query_fields[] = {
    FU64(bc_body_log_query, after_seq, false),
};
static const struct field log_batch_fields[] = {
    FU64(bc_body_log_batch, instance, true),
    FU64(bc_body_log_batch, first, true),
    FBOOL(bc_body_log_batch, more, false),
    FRECS(bc_body_log_batch, records, BC_LOG_BATCH_MAX, bc_log_rec, true),
};

static const struct field syslog_fields[] = {
    FI64(bc_body_syslog, app_id, true),
    FSTR(bc_body_syslog, service, 128, false),
    FSTR(bc_body_syslog, message, 4096, true),
};

struct msgdesc {
	enum bc_msgtype type;
	const char *name;
	const struct field *fields;
	size_t nfields;
	size_t body_off;
};

static const struct msgdesc descs[] = {
#define X(nm, num, fld)                                                                            \
	{BC_MSG_##nm, #nm, fld##_fields, sizeof(fld##_fields) / sizeof(fld##_fields[0]),           \
	 offsetof(bc_msg, body.fld)},
    BC_MSG_TYPES(X)
#undef X
};

static const struct msgdesc *
desc_of(uint64_t type)
{
	for (size_t i = 0; i < sizeof(descs) / sizeof(descs[0]); i++)
		if ((uint64_t)descs[i].type == type)
			return &descs[i];
	return NULL;
}

const char *
bc_msgtype_name(enum bc_msgtype t)
{
	const struct msgdesc *d = desc_of((uint64_t)t);
	return d ? d->name : "?";
}

/* --- encoding ----------------------------------------------------------- */

static int
sbuf_write(void *data, const char *buf, size_t len)
{
	return msgpack_sbuffer_write(data, buf, len);
}

static void
pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

/* Check a field table's values before any byte is packed; *present gets
 * how many fields will be in the map. */
static int
check_fields(const char *what, const struct field *fs, size_t nf, const char *base,
	     size_t *present, bc_err *err)
{
	*present = 0;
	for (size_t i = 0; i < nf; i++) {
		const struct field *f = &fs[i];
		const char *p = base + f->off;
		if (f->kind == F_STR) {
			const char *str = *(char *const *)p;
			if (str == NULL) {
				if (f->required)
					return bc_err_set(err, BC_EINVAL,
							  "encode %s: field '%s' is required",
							  what, f->name);
				continue;
			}
			if (strlen(str) > f->max)
				return bc_err_set(err, BC_ETOOBIG,
						  "encode %s: field '%s' longer than %u bytes",
						  what, f->name, f->max);
		} else if (f->kind == F_ENUM) {
			int v = *(const int *)p;
			if (v < 0 || (uint32_t)v > f->max)
				return bc_err_set(err, BC_EINVAL,
						  "encode %s: field '%s' is out of range", what,
						  f->name);
		} else if (f->kind == F_STRS || f->kind == F_RECS) {
			struct anylist l;
			memcpy(&l, p, sizeof(l));
			if (l.n > f->max)
				return bc_err_set(err, BC_ETOOBIG,
						  "encode %s: field '%s' has more than %u items",
						  what, f->name, f->max);
			for (size_t k = 0; k < l.n; k++) {
				size_t sub;
				if (f->kind == F_STRS) {
					const char *str = ((char *const *)l.v)[k];
					if (str == NULL || strlen(str) > f->item_max)
						return bc_err_set(
						    err, BC_EINVAL,
						    "encode %s: field '%s': item %zu missing or "
						    "longer than %u bytes",
						    what, f->name, k, f->item_max);
				} else if (check_fields(what, f->sub, f->nsub,
							(const char *)l.v + k * f->recsize, &sub,
							err) < 0) {
					return -1;
				}
			}
		}
		(*present)++;
	}
	return 0;
}

static void
pack_fields(msgpack_packer *pk, const struct field *fs, size_t nf, const char *base,
	    size_t present)
{
	msgpack_pack_map(pk, present);
	for (size_t i = 0; i < nf; i++) {
		const struct field *f = &fs[i];
		const char *p = base + f->off;
		struct anylist l;
		size_t sub;
		if (f->kind == F_STR && *(char *const *)p == NULL)
			continue;
		pack_str(pk, f->name);
		switch (f->kind) {
		case F_STR:
			pack_str(pk, *(char *const *)p);
			break;
		case F_U64:
			msgpack_pack_uint64(pk, *(const uint64_t *)p);
			break;
		case F_I64:
			msgpack_pack_int64(pk, *(const int64_t *)p);
			break;
		case F_BOOL:
			if (*(const bool *)p)
				msgpack_pack_true(pk);
			else
				msgpack_pack_false(pk);
			break;
		case F_ENUM:
			msgpack_pack_uint64(pk, (uint64_t) * (const int *)p);
			break;
		case F_STRS:
			memcpy(&l, p, sizeof(l));
			msgpack_pack_array(pk, l.n);
			for (size_t k = 0; k < l.n; k++)
				pack_str(pk, ((char *const *)l.v)[k]);
			break;
		case F_RECS:
			memcpy(&l, p, sizeof(l));
			msgpack_pack_array(pk, l.n);
			for (size_t k = 0; k < l.n; k++) {
				const char *rec = (const char *)l.v + k * f->recsize;
				check_fields("", f->sub, f->nsub, rec, &sub, NULL);
				pack_fields(pk, f->sub, f->nsub, rec, sub);
			}
			break;
		}
	}
}

int
bc_msg_encode(const bc_msg *m, bc_buf *out, bc_err *err)
{
	const struct msgdesc *d = desc_of((uint64_t)m->type);
	const char *body;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t present = 0;
	int rc;

	if (d == NULL)
		return bc_err_set(err, BC_EINVAL, "encode: unknown message type %d", (int)m->type);
	body = (const char *)m + d->body_off;
	if (check_fields(d->name, d->fields, d->nfields, body, &present, err) < 0)
		return -1;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, sbuf_write);
	msgpack_pack_map(&pk, 4);
	pack_str(&pk, "v");
	msgpack_pack_uint64(&pk, BC_PROTO_VERSION);
	pack_str(&pk, "t");
	msgpack_pack_uint64(&pk, (uint64_t)m->type);
	pack_str(&pk, "id");
	msgpack_pack_uint64(&pk, m->id);
	pack_str(&pk, "b");
	pack_fields(&pk, d->fields, d->nfields, body, present);
	if (sb.size > BC_PROTO_MAX_MSG)
		rc = bc_err_set(err, BC_ETOOBIG, "encode %s: %zu bytes exceeds the %zu byte limit",
				d->name, sb.size, BC_PROTO_MAX_MSG);
	else
		rc = bc_buf_add(out, sb.data, sb.size, err);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

/* --- bounded pre-scan ----------------------------------------------------
 * msgpack-c allocates count*sizeof(msgpack_object) for a declared array or
 * map count before reading any element, so 5 bytes could ask for gigabytes.
 * This walk checks every declared count against the bytes that remain (an
 * element takes at least one byte), bounds nesting, rejects ext types and
 * the reserved 0xc1, and finds where the first object ends. */

static int
need(size_t len, size_t pos, uint64_t n)
{
	return pos <= len && n <= len - pos;
}

static uint64_t
be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static int
scan(const uint8_t *p, size_t len, size_t *pos, int depth, bc_err *err)
{
	uint8_t c;
	uint64_t n = 0, elems = 0;
	int lenbytes = 0;

	if (depth > BC_PROTO_MAX_DEPTH)
		return bc_err_set(err, BC_EPROTO, "message nested deeper than %d",
				  BC_PROTO_MAX_DEPTH);
	if (!need(len, *pos, 1))
		return bc_err_set(err, BC_EPROTO, "message truncated at byte %zu", *pos);
	c = p[(*pos)++];
	if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
		return 0;
	if (c >= 0x80 && c <= 0x8f) {
		elems = 2 * (uint64_t)(c & 0x0f);
		goto container;
	}
	if (c >= 0x90 && c <= 0x9f) {
		elems = c & 0x0f;
		goto container;
	}
	if (c >= 0xa0 && c <= 0xbf) {
		n = c & 0x1f;
		goto skip;
	}
	switch (c) {
	case 0xcc:
	case 0xd0:
		n = 1;
		goto skip;
	case 0xcd:
	case 0xd1:
		n = 2;
		goto skip;
	case 0xca:
	case 0xce:
	case 0xd2:
		n = 4;
		goto skip;
	case 0xcb:
	case 0xcf:
	case 0xd3:
		n = 8;
		goto skip;
	case 0xc4:
	case 0xd9:
		lenbytes = 1;
		break;
	case 0xc5:
	case 0xda:
		lenbytes = 2;
		break;
	case 0xc6:
	case 0xdb:
		lenbytes = 4;
		break;
	case 0xdc:
	case 0xdd:
	case 0xde:
	case 0xdf: {
		int lb = (c == 0xdc || c == 0xde) ? 2 : 4;
		if (!need(len, *pos, (uint64_t)lb))
			return bc_err_set(err, BC_EPROTO, "message truncated at byte %zu", *pos);
		elems = be(p + *pos, lb);
		*pos += (size_t)lb;
		if (c >= 0xde)
			elems *= 2;
		goto container;
	}
	default:
		return bc_err_set(err, BC_EPROTO, "unsupported msgpack byte 0x%02x at %zu", c,
				  *pos - 1);
	}
	if (!need(len, *pos, (uint64_t)lenbytes))
		return bc_err_set(err, BC_EPROTO, "message truncated at byte %zu", *pos);
	n = be(p + *pos, lenbytes);
	*pos += (size_t)lenbytes;
skip:
	if (!need(len, *pos, n))
		return bc_err_set(err, BC_EPROTO, "message truncated at byte %zu", *pos);
	*pos += (size_t)n;
	return 0;
container:
	if (!need(len, *pos, elems))
		return bc_err_set(err, BC_EPROTO,
				  "container at byte %zu declares more elements than bytes remain",
				  *pos);
	for (uint64_t i = 0; i < elems; i++)
		if (scan(p, len, pos, depth + 1, err) < 0)
			return -1;
	return 0;
}

/* --- decoding ----------------------------------------------------------- */

static bool
key_is(const msgpack_object *k, const char *s)
{
	size_t n = strlen(s);
	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
	       memcmp(k->via.str.ptr, s, n) == 0;
}

static int
get_u64(const msgpack_object *o, uint64_t *v)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	*v = o->via.u64;
	return 0;
}

static int
get_i64(const msgpack_object *o, int64_t *v)
{
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*v = o->via.i64;
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
		*v = (int64_t)o->via.u64;
		return 0;
	}
	return -1;
}

static int decode_fields(const char *what, const char *kind, const struct field *fs, size_t nf,
			 const msgpack_object *b, char *base, bc_err *err);

static char *
copy_str(const char *what, const struct field *f, const msgpack_object *v, uint32_t max,
	 bc_err *err)
{
	char *s;

	if (v->type != MSGPACK_OBJECT_STR) {
		bc_err_set(err, BC_EPROTO, "%s: field '%s' has the wrong kind", what, f->name);
		return NULL;
	}
	if (v->via.str.size > max) {
		bc_err_set(err, BC_ETOOBIG, "%s: field '%s' longer than %u bytes", what, f->name,
			   max);
		return NULL;
	}
	if (memchr(v->via.str.ptr, '\0', v->via.str.size) != NULL) {
		bc_err_set(err, BC_EPROTO, "%s: field '%s' contains a NUL byte", what, f->name);
		return NULL;
	}
	if ((s = malloc(v->via.str.size + 1)) == NULL) {
		bc_err_sys(err, "%s: field '%s'", what, f->name);
		return NULL;
	}
	memcpy(s, v->via.str.ptr, v->via.str.size);
	s[v->via.str.size] = '\0';
	return s;
}

/* A list: its array is allocated and counted first (zeroed), then filled,
 * so that a failure half-way leaves nothing that clearing cannot free. */
static int
decode_list(const char *what, const struct field *f, const msgpack_object *v, char *p,
	    bc_err *err)
{
	struct anylist l = {0};
	size_t item = f->kind == F_STRS ? sizeof(char *) : f->recsize;

	if (v->type != MSGPACK_OBJECT_ARRAY)
		return bc_err_set(err, BC_EPROTO, "%s: field '%s' has the wrong kind", what,
				  f->name);
	if (v->via.array.size > f->max)
		return bc_err_set(err, BC_ETOOBIG, "%s: field '%s' has more than %u items", what,
				  f->name, f->max);
	if (v->via.array.size > 0 && (l.v = calloc(v->via.array.size, item)) == NULL)
		return bc_err_sys(err, "%s: field '%s'", what, f->name);
	l.n = v->via.array.size;
	memcpy(p, &l, sizeof(l));
	for (uint32_t k = 0; k < v->via.array.size; k++) {
		const msgpack_object *e = &v->via.array.ptr[k];
		if (f->kind == F_STRS) {
			char *str = copy_str(what, f, e, f->item_max, err);
			if (str == NULL)
				return -1;
			((char **)l.v)[k] = str;
		} else if (decode_fields(what, "a record", f->sub, f->nsub, e,
					 (char *)l.v + k * item, err) < 0) {
			return -1;
		}
	}
	return 0;
}

static int
decode_fields(const char *what, const char *kind, const struct field *fs, size_t nf,
	      const msgpack_object *b, char *base, bc_err *err)
{
	uint32_t seen = 0;

	if (b->type != MSGPACK_OBJECT_MAP)
		return bc_err_set(err, BC_EPROTO, "%s: %s is not a map", what, kind);
	for (uint32_t i = 0; i < b->via.map.size; i++) {
		const msgpack_object *k = &b->via.map.ptr[i].key;
		const msgpack_object *v = &b->via.map.ptr[i].val;
		const struct field *f = NULL;
		size_t fi;
		char *p;
		uint64_t u;

		for (fi = 0; fi < nf; fi++)
			if (key_is(k, fs[fi].name)) {
				f = &fs[fi];
				break;
			}
		if (f == NULL) {
			if (k->type == MSGPACK_OBJECT_STR && k->via.str.size <= 64)
				return bc_err_set(err, BC_EPROTO, "%s: unknown field '%.*s'", what,
						  (int)k->via.str.size, k->via.str.ptr);
			return bc_err_set(err, BC_EPROTO, "%s: unknown or non-string key", what);
		}
		if (seen & (1u << fi))
			return bc_err_set(err, BC_EPROTO, "%s: field '%s' appears twice", what,
					  f->name);
		seen |= 1u << fi;
		p = base + f->off;
		switch (f->kind) {
		case F_STR:
			if ((*(char **)p = copy_str(what, f, v, f->max, err)) == NULL)
				return -1;
			break;
		case F_U64:
			if (get_u64(v, (uint64_t *)p) < 0)
				goto kind;
			break;
		case F_I64:
			if (get_i64(v, (int64_t *)p) < 0)
				goto kind;
			break;
		case F_BOOL:
			if (v->type != MSGPACK_OBJECT_BOOLEAN)
				goto kind;
			*(bool *)p = v->via.boolean;
			break;
		case F_ENUM:
			if (get_u64(v, &u) < 0)
				goto kind;
			if (u > f->max)
				return bc_err_set(err, BC_EPROTO, "%s: field '%s' is out of range",
						  what, f->name);
			*(int *)p = (int)u;
			break;
		case F_STRS:
		case F_RECS:
			if (decode_list(what, f, v, p, err) < 0)
				return -1;
			break;
		}
		continue;
	kind:
		return bc_err_set(err, BC_EPROTO, "%s: field '%s' has the wrong kind", what,
				  f->name);
	}
	for (size_t fi = 0; fi < nf; fi++)
		if (fs[fi].required && !(seen & (1u << fi)))
			return bc_err_set(err, BC_EPROTO, "%s: required field '%s' is missing",
					  what, fs[fi].name);
	return 0;
}

static int
decode_env(const msgpack_object *o, bc_msg *m, bc_err *err)
{
	const msgpack_object *body = NULL;
	const struct msgdesc *d = NULL;
	uint64_t v = 0, t = 0, id = 0;
	int have_v = 0, have_t = 0, have_id = 0;

	if (o->type != MSGPACK_OBJECT_MAP)
		return bc_err_set(err, BC_EPROTO, "message is not a map");
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key;
		const msgpack_object *val = &o->via.map.ptr[i].val;
		int *have;
		uint64_t *dst;

		if (key_is(k, "b")) {
			if (body != NULL)
				return bc_err_set(err, BC_EPROTO, "envelope key 'b' appears twice");
			body = val;
			continue;
		}
		if (key_is(k, "v")) {
			have = &have_v;
			dst = &v;
		} else if (key_is(k, "t")) {
			have = &have_t;
			dst = &t;
		} else if (key_is(k, "id")) {
			have = &have_id;
			dst = &id;
		} else {
			return bc_err_set(err, BC_EPROTO, "unknown envelope key");
		}
		if (*have)
			return bc_err_set(err, BC_EPROTO, "envelope key appears twice");
		if (get_u64(val, dst) < 0)
			return bc_err_set(err, BC_EPROTO,
					  "envelope field is not an unsigned integer");
		*have = 1;
		if (dst == &id)
			m->id = id;
	}
	if (!have_v || !have_t || !have_id || body == NULL)
		return bc_err_set(err, BC_EPROTO, "envelope lacks one of 'v', 't', 'id', 'b'");
	if (v != BC_PROTO_VERSION)
		return bc_err_set(err, BC_EPROTO, "protocol version %llu not supported (want %d)",
				  (unsigned long long)v, BC_PROTO_VERSION);
	d = desc_of(t);
	if (d == NULL)
		return bc_err_set(err, BC_EPROTO, "unknown message type %llu",
				  (unsigned long long)t);
	m->type = d->type;
	return decode_fields(d->name, "body", d->fields, d->nfields, body, (char *)m + d->body_off,
			     err);
}

int
bc_msg_decode(const void *data, size_t len, bc_msg *m, bc_err *err)
{
	msgpack_unpacked up;
	size_t pos = 0, off = 0;
	uint64_t id;
	int rc;

	memset(m, 0, sizeof(*m));
	if (len > BC_PROTO_MAX_MSG)
		return bc_err_set(err, BC_ETOOBIG,
				  "message of %zu bytes exceeds the %zu byte limit", len,
				  BC_PROTO_MAX_MSG);
	if (scan(data, len, &pos, 0, err) < 0)
		return -1;
	if (pos != len)
		return bc_err_set(err, BC_EPROTO, "%zu trailing bytes after the message",
				  len - pos);
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, data, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len) {
		msgpack_unpacked_destroy(&up);
		return bc_err_set(err, BC_EPROTO, "message is not valid msgpack");
	}
	rc = decode_env(&up.data, m, err);
	msgpack_unpacked_destroy(&up);
	if (rc < 0) {
		id = m->id;
		bc_msg_clear(m);
		m->id = id;
	}
	return rc;
}

static void
clear_fields(const struct field *fs, size_t nf, char *base)
{
	for (size_t i = 0; i < nf; i++) {
		const struct field *f = &fs[i];
		char *p = base + f->off;
		struct anylist l;
		if (f->kind == F_STR) {
			free(*(char **)p);
		} else if (f->kind == F_STRS || f->kind == F_RECS) {
			memcpy(&l, p, sizeof(l));
			for (size_t k = 0; l.v != NULL && k < l.n; k++) {
				if (f->kind == F_STRS)
					free(((char **)l.v)[k]);
				else
					clear_fields(f->sub, f->nsub, (char *)l.v + k * f->recsize);
			}
			free(l.v);
		}
	}
}

void
bc_msg_clear(bc_msg *m)
{
	const struct msgdesc *d = desc_of((uint64_t)m->type);

	if (d != NULL)
		clear_fields(d->fields, d->nfields, (char *)m + d->body_off);
	memset(m, 0, sizeof(*m));
}

int
bc_strs_add(bc_strs *l, const char *str)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v)), *c;

	if (v == NULL)
		return -1;
	l->v = v;
	if ((c = strdup(str)) == NULL)
		return -1;
	l->v[l->n++] = c;
	return 0; /* l->v may have grown by a slot that stays unused: harmless */
}

bool
bc_strs_has(const bc_strs *l, const char *str)
{
	for (size_t i = 0; str != NULL && i < l->n; i++)
		if (strcmp(l->v[i], str) == 0)
			return true;
	return false;
}

void
bc_strs_free(bc_strs *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
bc_msg_make_error(bc_msg *m, uint64_t id, int64_t code, const char *message, bc_err *err)
{
	memset(m, 0, sizeof(*m));
	m->type = BC_MSG_ERROR;
	m->id = id;
	m->body.error.code = code;
	m->body.error.message = strndup(message, 4096);
	if (m->body.error.message == NULL)
		return bc_err_sys(err, "error reply");
	return 0;
}
