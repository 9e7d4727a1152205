/* The logger's spool: records that left the in-memory buffer before the
 * cloud took them wait here, on disk, for the cloud, oldest first. Two
 * segment files (PATH.0, PATH.1) of at most max_bytes / 2 each: records are
 * appended to one; when it is full and the other still holds records, that
 * other one (the oldest half) is dropped whole and counted, and the full one
 * becomes the older. The cloud reads from the oldest record on, takes,
 * gives back (a write that failed) and acknowledges by seq, as with the
 * buffer. A spool is of one run of the logger: it starts empty (what it
 * held is read again from the engine from the cursors, which never moved
 * past a spooled record). Owned by one thread; files of mode 0600. */
#ifndef BC_LOG_SPOOL_H
#define BC_LOG_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/buf.h"
#include "lib/base/err.h"
#include "lib/logs/record.h"

/* two halves, each holding the largest record (a 10,000-character
 * message, up to 3 bytes a character) many times over */
#define BC_LOGSPOOL_MIN (1u << 20)

typedef struct bc_logspool {
	char path[2][300];
	int fd[2];
	uint64_t size[2], n[2]; /* bytes and records in each segment */
	uint64_t last_seq[2];	/* the newest record's seq in each (0: empty) */
	int w;			/* the segment appended to; 1 - w is the older */
	uint64_t max_bytes;	/* both segments together */
	int rs;			/* the segment read from */
	uint64_t roff, rcount;	/* there: the next record's offset, records taken */
	uint64_t acked;		/* records up to this seq have gone out */
	bc_logrec rec;		/* the last record read (owned) */
	uint64_t rlen;		/* its length on disk */
	/* taken, not yet seen to go out, and gone with a dropped half: lost
	 * if that write fails (rewind tells), delivered once acked up to upto */
	uint64_t lost_inflight, lost_upto;
	bc_buf io; /* owned */
} bc_logspool;

/* Create (or empty) PATH.0 and PATH.1. Returns 0, or -1 with err naming
 * the file. max_bytes >= BC_LOGSPOOL_MIN. */
int bc_logspool_open(bc_logspool *s, const char *path, uint64_t max_bytes, bc_err *err);
/* Close the files and remove them. */
void bc_logspool_close(bc_logspool *s);

/* Append r (copied; r stays the caller's). *dropped is set to the records
 * the cloud had not taken that went to make room (0 mostly). Returns 0, or
 * -1 with err (a write that failed: r is not kept). A record larger than a
 * segment is refused (-1, BC_EINVAL). A record at or below the last
 * acknowledged seq (one that left the buffer while its write was out, and
 * that write went well) is skipped when read. */
int bc_logspool_add(bc_logspool *s, const bc_logrec *r, uint64_t *dropped, bc_err *err);

/* The oldest record the cloud has not taken, or NULL (none, or a read that
 * failed: err says so). Borrowed: valid until the next call on s. */
const bc_logrec *bc_logspool_next(bc_logspool *s, bc_err *err);
/* The record bc_logspool_next returned is taken. */
void bc_logspool_took(bc_logspool *s);
/* Give back what was taken from seq on (it is read again), acknowledged
 * or not: what is still held of it. Returns the records of it that went
 * with a dropped half meanwhile, never out (to count). */
uint64_t bc_logspool_rewind(bc_logspool *s, uint64_t seq);
/* Empty it (a read that failed: what it held cannot be trusted). Returns
 * the records dropped that had not gone out (to count). */
uint64_t bc_logspool_reset(bc_logspool *s);
/* Everything up to and with seq has gone out: its space may be reused. */
void bc_logspool_acked(bc_logspool *s, uint64_t seq);
/* Records not yet taken? */
bool bc_logspool_pending(const bc_logspool *s);
/* The newest seq held (0: empty). */
uint64_t bc_logspool_last(const bc_logspool *s);

#endif
