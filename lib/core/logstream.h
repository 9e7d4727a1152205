/* The logger's stream to the cloud, its decisions apart from its loop:
 * which state the connection is in, when the next write goes (a full one
 * at once, else a few lines wait for company, never past the flush
 * contract), when an idle stream is ended and its answer waited for, the
 * backoff after a failure, and when the stream holds the reading back
 * (it takes everything, only not yet) rather than let the buffer drop.
 * Pure: no I/O, no clock (now comes in); services/logger carries it out
 * (connects, deflates, writes, reads the answer, rewinds what was not
 * taken). */
#ifndef BC_CORE_LOGSTREAM_H
#define BC_CORE_LOGSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#define BC_LS_FLUSH_MS 100   /* a line waits at most this long (the contract) */
#define BC_LS_COALESCE_MS 20 /* after a write, a few lines wait for company */
#define BC_LS_PACE_MS 1000   /* a write longer than this: the cloud is slow */
#define BC_LS_IDLE_CLOSE_MS 60000
#define BC_LS_ANSWER_MS 10000 /* the 201 after the body ended */
#define BC_LS_BACKOFF_MIN_MS 5000
#define BC_LS_BACKOFF_MAX_MS 300000
#define BC_LS_CONFIG_AGAIN_MS 10000 /* not registered yet: config.json again */

enum bc_ls_state {
	BC_LS_OFF,	  /* no cloud (yet): config.json is read again at config_at */
	BC_LS_IDLE,	  /* no connection: one opens when there is something to send */
	BC_LS_CONNECTING, /* connecting */
	BC_LS_STREAMING,  /* the body is open: records go as they come */
	BC_LS_CLOSING,	  /* idle for a minute: the body ended, the answer awaited */
};

typedef struct bc_logstream {
	enum bc_ls_state state;
	bool writing;		 /* a write is out */
	uint64_t write_started;	 /* monotonic ms, of the write out */
	uint64_t last_write;	 /* when the last write went out */
	uint64_t connected_at;	 /* when this connection was made */
	uint64_t retry_at;	 /* IDLE after a failure: not before (0: at once) */
	uint64_t config_at;	 /* OFF: config.json again then (0: never) */
	uint64_t close_deadline; /* CLOSING: the answer by then */
	unsigned failures;	 /* connections failed in a row */
} bc_logstream;

/* What the loop knows of the records for the cloud. */
typedef struct bc_ls_queue {
	bool unsent; /* some are waiting (the buffer's, the spool's, a notice) */
	bool full;   /* a whole write's worth, or the spool has some: no waiting */
	bool behind; /* half the buffer is unsent, or the spool has some */
} bc_ls_queue;

/* What to do when the stream's time comes. */
enum bc_ls_action {
	BC_LS_NOTHING,
	BC_LS_READ_CONFIG, /* read config.json again (bc_ls_config) */
	BC_LS_OPEN,	   /* connect (bc_ls_connecting, then _connected or _hung_up) */
	BC_LS_WRITE,	   /* write what waits (bc_ls_write_started) */
	BC_LS_END_BODY,	   /* end the body and write that (now CLOSING) */
	BC_LS_GIVE_UP,	   /* no answer to the body's end: hang up (a failure) */
};

/* When the stream's time comes next (0: now; UINT64_MAX: never). */
uint64_t bc_ls_due(const bc_logstream *s, const bc_ls_queue *q);

/* Its time came: what to do (the state moves with it). */
enum bc_ls_action bc_ls_fire(bc_logstream *s, const bc_ls_queue *q);

/* config.json read: a device of the cloud (IDLE), one not registered yet
 * (OFF, read again in BC_LS_CONFIG_AGAIN_MS), or none (OFF for good). */
void bc_ls_config(bc_logstream *s, bool cloud, bool registered, uint64_t now);

void bc_ls_connecting(bc_logstream *s);
void bc_ls_connected(bc_logstream *s, uint64_t now);
void bc_ls_write_started(bc_logstream *s, uint64_t now);

/* A write went out: a connection up longer than BC_LS_IDLE_CLOSE_MS ends
 * the backoff (the cloud takes what we send); after the body's end, the
 * answer is due within BC_LS_ANSWER_MS. */
void bc_ls_write_done(bc_logstream *s, uint64_t now);

/* The cloud answered status: does that end the stream well (the body had
 * ended and it said 200 or 201)? Then the backoff is over too. */
bool bc_ls_answered_well(bc_logstream *s, long status);

/* The connection is over (failed: not well): IDLE; a failure waits
 * BC_LS_BACKOFF_MIN_MS doubling to BC_LS_BACKOFF_MAX_MS. Returns that wait
 * (0: none), and *say whether to log it (the first, then every tenth). */
uint64_t bc_ls_hung_up(bc_logstream *s, bool failed, uint64_t now, bool *say);

/* Does the stream hold the reading back now (it takes everything, only
 * not yet: the engine keeps the lines) and until when at most (then it
 * is slow, and the buffer drops for it instead)? */
bool bc_ls_holds(const bc_logstream *s, const bc_ls_queue *q, uint64_t now);
uint64_t bc_ls_hold_until(const bc_logstream *s, uint64_t now);

#endif
