#include "lib/logs/spool.h"

#include "lib/base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A record on disk: this head (little-endian as the machine is: the file
 * is of this run on this machine), then the container id, the service's
 * name and the message, without NULs. */
#define HEAD 48
#define MAX_SERVICE 1024
#define MAX_MESSAGE (1u << 20)

struct head {
	uint32_t len; /* the whole record */
	uint64_t seq;
	int64_t ts_ns;
	uint32_t nth;
	int64_t app_id, service_id;
	uint8_t flags; /* 1: stderr, 2: system */
	uint8_t clen;
	uint16_t slen;
	uint32_t mlen;
};

static void
put(unsigned char **p, const void *v, size_t n)
{
	memcpy(*p, v, n);
	*p += n;
}

static void
get(const unsigned char **p, void *v, size_t n)
{
	memcpy(v, *p, n);
	*p += n;
}

static void
head_encode(const struct head *h, unsigned char *b)
{
	unsigned char *p = b;
	put(&p, &h->len, 4);
	put(&p, &h->seq, 8);
	put(&p, &h->ts_ns, 8);
	put(&p, &h->nth, 4);
	put(&p, &h->app_id, 8);
	put(&p, &h->service_id, 8);
	put(&p, &h->flags, 1);
	put(&p, &h->clen, 1);
	put(&p, &h->slen, 2);
	put(&p, &h->mlen, 4);
}

/* Read the head at off of segment seg, checked against what the segment
 * holds. */
static int
head_at(bc_logspool *s, int seg, uint64_t off, struct head *h, bc_err *err)
{
	unsigned char b[HEAD];
	const unsigned char *p = b;
	ssize_t n = pread(s->fd[seg], b, HEAD, (off_t)off);

	if (n != HEAD)
		return n < 0 ? bc_err_sys(err, "read spool '%s'", s->path[seg])
			     : bc_err_set(err, BC_EPROTO, "spool '%s': cut short", s->path[seg]);
	get(&p, &h->len, 4);
	get(&p, &h->seq, 8);
	get(&p, &h->ts_ns, 8);
	get(&p, &h->nth, 4);
	get(&p, &h->app_id, 8);
	get(&p, &h->service_id, 8);
	get(&p, &h->flags, 1);
	get(&p, &h->clen, 1);
	get(&p, &h->slen, 2);
	get(&p, &h->mlen, 4);
	if (h->clen > 15 || h->slen > MAX_SERVICE || h->mlen > MAX_MESSAGE ||
	    h->len != (uint64_t)HEAD + h->clen + h->slen + h->mlen || off + h->len > s->size[seg])
		return bc_err_set(err, BC_EPROTO, "spool '%s': a record that is not ours at %llu",
				  s->path[seg], (unsigned long long)off);
	return 0;
}

static void
empty_seg(bc_logspool *s, int seg)
{
	/* if the truncate fails, the old bytes past size[seg] are never read
	 * and are written over */
	(void)!ftruncate(s->fd[seg], 0);
	s->size[seg] = s->n[seg] = s->last_seq[seg] = 0;
}

/* The older segment, read and acknowledged to its end, is emptied. */
static void
free_older(bc_logspool *s)
{
	int o = 1 - s->w;

	if (s->n[o] > 0 && s->rs != o && s->acked >= s->last_seq[o])
		empty_seg(s, o);
}

int
bc_logspool_open(bc_logspool *s, const char *path, uint64_t max_bytes, bc_err *err)
{
	memset(s, 0, sizeof(*s));
	s->fd[0] = s->fd[1] = -1;
	if (max_bytes < BC_LOGSPOOL_MIN)
		return bc_err_set(err, BC_EINVAL, "spool: at least %u bytes", BC_LOGSPOOL_MIN);
	s->max_bytes = max_bytes;
	/* its directory: nobody but root (or us) can put or swap a file in
	 * it, nor redirect it (bc_dir_secure, as the state directory) */
	{
		char dir[sizeof(s->path[0])];
		const char *slash = strrchr(path, '/');
		if (slash == NULL || (size_t)(slash - path) >= sizeof(dir))
			return bc_err_set(err, BC_EINVAL, "spool '%s': not an absolute path", path);
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
		if (bc_dir_secure(dir, 0700, err) < 0)
			return -1;
	}
	for (int i = 0; i < 2; i++) {
		struct stat st;
		if ((size_t)snprintf(s->path[i], sizeof(s->path[i]), "%s.%d", path, i) >=
		    sizeof(s->path[i])) {
			bc_logspool_close(s);
			return bc_err_set(err, BC_EINVAL, "spool '%s': too long a path", path);
		}
		/* made new, ours alone: what was there (a run's leftover) goes */
		if (unlink(s->path[i]) < 0 && errno != ENOENT) {
			bc_err_sys(err, "spool '%s'", s->path[i]);
			bc_logspool_close(s);
			return -1;
		}
		s->fd[i] =
		    open(s->path[i], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (s->fd[i] < 0 || fstat(s->fd[i], &st) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_uid != geteuid() || st.st_nlink != 1 || (st.st_mode & 07777) != 0600) {
			if (s->fd[i] >= 0)
				bc_err_set(err, BC_EINVAL, "spool '%s': not a file of ours alone",
					   s->path[i]);
			else
				bc_err_sys(err, "spool '%s'", s->path[i]);
			bc_logspool_close(s);
			return -1;
		}
	}
	return 0;
}

void
bc_logspool_close(bc_logspool *s)
{
	for (int i = 0; i < 2; i++) {
		if (s->fd[i] >= 0) {
			close(s->fd[i]);
			unlink(s->path[i]);
		}
		s->fd[i] = -1;
	}
	bc_logrec_free(&s->rec);
	bc_buf_free(&s->io);
}

int
bc_logspool_add(bc_logspool *s, const bc_logrec *r, uint64_t *dropped, bc_err *err)
{
	struct head h = {0};
	uint64_t seg_cap = s->max_bytes / 2;
	unsigned char hb[HEAD];
	size_t mlen = r->message ? strlen(r->message) : 0;
	size_t slen = r->service ? strlen(r->service) : 0;
	size_t clen = strnlen(r->container, sizeof(r->container) - 1);

	*dropped = 0;
	if (slen > MAX_SERVICE || mlen > MAX_MESSAGE || HEAD + clen + slen + mlen > seg_cap)
		return bc_err_set(err, BC_EINVAL, "spool: a record too large for it");
	h = (struct head){.len = (uint32_t)(HEAD + clen + slen + mlen),
			  .seq = r->seq,
			  .ts_ns = r->ts_ns,
			  .nth = r->nth,
			  .app_id = r->app_id,
			  .service_id = r->service_id,
			  .flags = (uint8_t)((r->is_stderr ? 1 : 0) | (r->is_system ? 2 : 0)),
			  .clen = (uint8_t)clen,
			  .slen = (uint16_t)slen,
			  .mlen = (uint32_t)mlen};
	if (s->size[s->w] + h.len > seg_cap) {
		int o = 1 - s->w;
		if (s->n[o] > 0) {
			/* the oldest half goes: what of it the cloud had not taken
			 * is counted now; what it took and has not seen go out
			 * (a write in flight) is counted if that write fails */
			uint64_t taken = s->rs == o ? s->rcount : s->n[o], off = 0;
			struct head th;
			for (uint64_t i = 0; i < taken && head_at(s, o, off, &th, NULL) == 0;
			     i++, off += th.len)
				if (th.seq > s->acked) {
					s->lost_inflight++;
					s->lost_upto = th.seq;
				}
			if (s->rs == o) {
				*dropped = s->n[o] - s->rcount;
				s->rs = s->w;
				s->roff = s->rcount = 0;
			}
			empty_seg(s, o);
		}
		s->w = o;
	}
	head_encode(&h, hb);
	s->io.len = 0;
	if (bc_buf_add(&s->io, hb, HEAD, err) < 0 ||
	    bc_buf_add(&s->io, r->container, clen, err) < 0 ||
	    bc_buf_add(&s->io, r->service ? r->service : "", slen, err) < 0 ||
	    bc_buf_add(&s->io, r->message ? r->message : "", mlen, err) < 0)
		return -1;
	if (pwrite(s->fd[s->w], s->io.data, s->io.len, (off_t)s->size[s->w]) != (ssize_t)s->io.len)
		return bc_err_sys(err, "write spool '%s'", s->path[s->w]);
	s->size[s->w] += h.len;
	s->n[s->w]++;
	s->last_seq[s->w] = r->seq;
	return 0;
}

const bc_logrec *
bc_logspool_next(bc_logspool *s, bc_err *err)
{
	struct head h;
	char *p;

	for (;;) {
		if (s->roff < s->size[s->rs])
			break;
		if (s->rs == s->w)
			return NULL;
		/* the older one is read to its end: on to the newer */
		s->rs = s->w;
		s->roff = s->rcount = 0;
		free_older(s);
	}
	if (head_at(s, s->rs, s->roff, &h, err) < 0)
		return NULL;
	if (h.seq <= s->acked) {
		/* it left the buffer while its write was out, and that write
		 * went well: delivered */
		s->roff += h.len;
		s->rcount++;
		return bc_logspool_next(s, err);
	}
	bc_logrec_free(&s->rec);
	s->rlen = 0;
	if ((p = malloc(h.len - HEAD + 1)) == NULL) {
		bc_err_sys(err, "spool");
		return NULL;
	}
	if (pread(s->fd[s->rs], p, h.len - HEAD, (off_t)(s->roff + HEAD)) !=
	    (ssize_t)(h.len - HEAD)) {
		bc_err_sys(err, "read spool '%s'", s->path[s->rs]);
		free(p);
		return NULL;
	}
	s->rec = (bc_logrec){.seq = h.seq,
			     .ts_ns = h.ts_ns,
			     .nth = h.nth,
			     .app_id = h.app_id,
			     .service_id = h.service_id,
			     .is_stderr = (h.flags & 1) != 0,
			     .is_system = (h.flags & 2) != 0};
	memcpy(s->rec.container, p, h.clen);
	s->rec.container[h.clen] = '\0';
	if ((h.slen > 0 && (s->rec.service = strndup(p + h.clen, h.slen)) == NULL) ||
	    (s->rec.message = strndup(p + h.clen + h.slen, h.mlen)) == NULL) {
		free(p);
		bc_logrec_free(&s->rec);
		bc_err_sys(err, "spool");
		return NULL;
	}
	free(p);
	s->rlen = h.len; /* for took */
	return &s->rec;
}

void
bc_logspool_took(bc_logspool *s)
{
	s->roff += s->rlen;
	s->rcount++;
	s->rlen = 0;
}

uint64_t
bc_logspool_rewind(bc_logspool *s, uint64_t seq)
{
	int o = 1 - s->w;
	struct head h;
	uint64_t lost = 0;

	if (s->lost_inflight > 0 && seq <= s->lost_upto)
		lost = s->lost_inflight; /* gone with the older half, never out */
	s->lost_inflight = 0;
	/* records acknowledged since are read again too, as far as they are
	 * still held (a connection the cloud refused took none of them) */
	if (seq > 0 && seq <= s->acked)
		s->acked = seq - 1;

	s->rs = s->n[o] > 0 && s->last_seq[o] >= seq ? o : s->w;
	s->roff = s->rcount = 0;
	for (;;) {
		if (s->roff >= s->size[s->rs]) {
			if (s->rs == s->w)
				return lost;
			s->rs = s->w;
			s->roff = s->rcount = 0;
			continue;
		}
		if (head_at(s, s->rs, s->roff, &h, NULL) < 0 || h.seq >= seq)
			return lost;
		s->roff += h.len;
		s->rcount++;
	}
}

uint64_t
bc_logspool_reset(bc_logspool *s)
{
	uint64_t n = s->n[s->rs] - s->rcount + s->lost_inflight;

	if (s->rs != s->w)
		n += s->n[s->w];
	empty_seg(s, 0);
	empty_seg(s, 1);
	s->rs = s->w;
	s->roff = s->rcount = s->rlen = 0;
	s->lost_inflight = 0;
	return n;
}

void
bc_logspool_acked(bc_logspool *s, uint64_t seq)
{
	if (seq > s->acked)
		s->acked = seq;
	if (s->acked >= s->lost_upto)
		s->lost_inflight = 0; /* those went out after all */
	free_older(s);
}

bool
bc_logspool_pending(const bc_logspool *s)
{
	return s->roff < s->size[s->rs] || (s->rs != s->w && s->size[s->w] > 0);
}

uint64_t
bc_logspool_last(const bc_logspool *s)
{
	return s->size[s->w] > 0 ? s->last_seq[s->w] : s->last_seq[1 - s->w];
}
