/* The buffer: records in (lg_push, and lg_line_record that makes one of a
 * container's line), batches out (lg_batch). Calls only cursors.c. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/log.h"
#include "logger.h"

/* A batch of the records after seq `after` (the oldest held when it is
 * gone), at most BC_LOG_BATCH_BYTES of messages; recs is the caller's
 * array of BC_LOG_BATCH_MAX. Returns the last seq put in (after: none). */
uint64_t
lg_batch(struct lg *g, uint64_t after, bc_log_rec *recs, bc_body_log_batch *b)
{
	uint64_t seq = after + 1, first = bc_logring_first(&g->ring);
	size_t bytes = 0;
	const bc_logrec *r;

	if (seq < first)
		seq = first;
	memset(b, 0, sizeof(*b));
	b->instance = g->d->instance;
	b->first = first;
	b->records.v = recs;
	for (; (r = bc_logring_get(&g->ring, seq)) != NULL; seq++) {
		size_t cost = strlen(r->message) + 128;
		if (b->records.n == BC_LOG_BATCH_MAX ||
		    (b->records.n > 0 && bytes + cost > BC_LOG_BATCH_BYTES)) {
			b->more = true;
			break;
		}
		bytes += cost;
		recs[b->records.n++] =
		    (bc_log_rec){.seq = r->seq,
				 .ts_ns = r->ts_ns,
				 .nth = r->nth,
				 .app_id = r->app_id,
				 .service_id = r->service_id,
				 .service = r->service,
				 .container = r->container[0] ? (char *)r->container : NULL,
				 .is_stderr = r->is_stderr,
				 .is_system = r->is_system,
				 .message = r->message};
	}
	return b->records.n ? recs[b->records.n - 1].seq : after;
}

void
lg_push(struct lg *g, bc_logrec *r)
{
	int64_t ts = r->ts_ns;
	uint32_t nth = r->nth;
	bool err = r->is_stderr;
	char container[16];

	memcpy(container, r->container, sizeof(container));
	if (bc_logring_push(&g->ring, r) == 0) {
		g->dropped_lines++;
		return;
	}
	if (!g->ring.cloud && container[0]) {
		/* no cloud: in the buffer is delivered */
		struct follower *f = lg_follower(g, container);
		if (f != NULL)
			lg_cursor_done(g, f, err, ts, nth);
	}
}

int
lg_line_record(const struct follower *f, int k, int64_t ts, uint32_t nth, const char *text,
	       size_t n, bool cut, bc_logrec *r)
{
	*r = (bc_logrec){.ts_ns = ts,
			 .nth = nth,
			 .app_id = f->app_id,
			 .service_id = f->service_id,
			 .service = f->service[0] ? strdup(f->service) : NULL,
			 .is_stderr = k == 1,
			 .message = bc_log_message(text, n, cut)};
	memcpy(r->container, f->short_id, sizeof(f->short_id));
	if (r->message == NULL || (f->service[0] && r->service == NULL)) {
		bc_logrec_free(r);
		return -1;
	}
	return 0;
}
