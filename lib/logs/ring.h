/* The logger's buffer: the newest records, bounded in bytes (default 256
 * KiB). It is the local tail's history and the cloud stream's queue (a
 * record marked local, history read again at start, is the tail's only). When a
 * record does not fit, the oldest go; those the cloud had not yet taken are
 * counted, and once the queue has room again (below half) the count is
 * handed out once, for a "Suppressed N message(s)" notice. Pure, no I/O;
 * owned by one thread. */
#ifndef BC_LOG_RING_H
#define BC_LOG_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/logs/record.h"

#define BC_LOGRING_DEFAULT (256u << 10)

typedef struct bc_logring {
	bc_logrec *v; /* owned: a circular array of cap records */
	size_t cap, head, count;
	size_t bytes, max_bytes;
	uint64_t next_seq; /* the seq the next record gets (from 1) */
	bool cloud;	   /* the cloud takes records (else nothing is unsent) */
	uint64_t cloud_seq;  /* the first record the cloud has not taken */
	uint64_t suppressed; /* records gone before the cloud took them */
	size_t unsent;	     /* bytes (bc_logrec_cost) the cloud has still to take */
	/* told of each record that leaves the ring (unsent: the cloud never
	 * got it), before it is freed; may be NULL. Returns true when it kept
	 * an unsent one for the cloud (the spool): then it is not suppressed */
	bool (*gone)(void *ud, const bc_logrec *r, bool unsent);
	void *ud;
} bc_logring;

/* What a record costs in the ring's bound. */
size_t bc_logrec_cost(const bc_logrec *r);

void bc_logring_init(bc_logring *g, size_t max_bytes, bool cloud);
void bc_logring_free(bc_logring *g);

/* Take r (its strings become the ring's; *r is zeroed) and give it the
 * next seq, which is returned; the oldest records go while the ring is over
 * its bound. Returns 0 when out of memory (r is freed). */
uint64_t bc_logring_push(bc_logring *g, bc_logrec *r);

/* The record with seq, or NULL when it is gone or not yet there. Borrowed:
 * valid until the next push. */
const bc_logrec *bc_logring_get(const bc_logring *g, uint64_t seq);
/* The oldest seq held (next_seq when empty). */
uint64_t bc_logring_first(const bc_logring *g);

/* The cloud's queue: the next record it has not taken (NULL: none), and
 * "taken up to and with seq". */
const bc_logrec *bc_logring_cloud_next(const bc_logring *g);
void bc_logring_cloud_took(bc_logring *g, uint64_t seq);
/* The cloud did not get what it took from seq on (a write that failed):
 * it takes them again. */
void bc_logring_cloud_rewind(bc_logring *g, uint64_t seq);
/* Every record out of the ring, oldest first, into *out (a new array the
 * caller frees, with each record: bc_logrec_free); the ring is left empty.
 * Returns how many (0 also when out of memory: then they stay). */
size_t bc_logring_take_all(bc_logring *g, bc_logrec **out);

/* The count of records suppressed, once the queue is below half its bound
 * again (then zeroed), else 0. */
uint64_t bc_logring_take_suppressed(bc_logring *g);

#endif
