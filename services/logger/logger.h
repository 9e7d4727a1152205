/* The logger: every line of every supervised container, into one bounded
 * buffer (lib/logs/ring.h) that is the local tail's history and the cloud
 * stream's queue. One loop: Docker's event stream says which containers
 * start and stop; each running one's log stream is read as it comes (one
 * epoll set for all of them: one watch of the daemon's loop); records are
 * published to the tails (PUB: LOG_BATCH) and answered from the buffer
 * (LOG_QUERY). Where each container's delivered records end (its cursor)
 * is kept in $BC_STATEDIR/log-cursors.json, so a restart resumes with no
 * gap and no duplicate. Everything here belongs to the loop's thread. */
#ifndef BC_LOGGER_H
#define BC_LOGGER_H

#include <jansson.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <zlib.h>

#include "lib/cloud/conn.h"
#include "lib/core/logstream.h"
#include "lib/docker/docker.h"
#include "lib/ipc/daemon.h"
#include "lib/logs/record.h"
#include "lib/logs/ring.h"
#include "lib/logs/spool.h"
#include "lib/model/config.h"

#define LG_MAX_FOLLOW 512    /* containers followed at once */
#define LG_SAVE_EVERY_MS 100 /* cursors written at most this often */
#define LG_RETRY_MS 1000     /* a stream that broke, the event stream: again after */
/* how far apart the times of a container's stdout and stderr lines can be
 * in the order Docker writes them (they are stamped as each is read) */
#define LG_SKEW_NS (10ll * 1000000000)

/* One supervised container the logger knows. */
struct follower {
	struct lg *g;
	bool used;
	int stream; /* the frame being split: 1 stdout, 2 stderr */
	char id[65];
	char short_id[13];
	bool tty;
	bool running;
	bool seen;    /* in the last scan */
	bool drained; /* stopped, and its stream ended: all it printed was read */
	int64_t app_id, service_id;
	char service[128];
	bc_docker_stream *s;  /* NULL: not read now */
	bc_logsplit split[2]; /* stdout, stderr */
	/* Per stream (0 stdout, 1 stderr; a TTY has only 0): Docker stamps each
	 * stream's lines in order, but the two interleave in its log file with
	 * times a little out of order, so one cursor for both would drop lines. */
	bc_lognth nth[2];     /* of the stream being read */
	bc_logcursor read[2]; /* what went into the buffer (a reattach resumes here) */
	bc_logcursor done[2]; /* what was delivered (kept on disk) */
	uint64_t retry_at;    /* a stream that broke while the container ran */
	unsigned failures;    /* in a row: the retry backs off */
};

#define LG_ADV_MAX 128 /* container streams in one write to the cloud */

/* The cloud's log stream (cloud.c). */
/* the body of the cloud's answer to the log stream kept, at most (its words
 * on an error; past it the answer is refused as not one) */
#define LGC_MAX_ANSWER 4096

struct lgc {
	/* the connection's state, timers and backoff (lib/core/logstream.h) */
	bc_logstream s;
	bool on;	   /* started */
	bc_pool *pool;	   /* nng's threads -> the loop (lib/cloud/conn.h) */
	bc_cloud_conn *cc; /* the connection, or NULL */
	nng_tls_config *tls;
	char url[2300]; /* {apiEndpoint}/device/v2/{uuid}/log-stream */
	z_stream z;
	bool z_init;
	bc_buf out; /* the bytes being written (the first write holds the key: wiped) */
	uint64_t inflight_first; /* the first record of the write in flight */
	uint64_t inflight_last;	 /* and its last */
	/* the first record written on this connection (0: none yet): a
	 * connection the cloud answers with an error (it did not take the
	 * stream) sends everything from it again, as far as it is held */
	uint64_t conn_first;
	bool refused;
	/* BC_LOG_SPOOL: what left the buffer before the cloud took it */
	bc_logspool spool;
	bool spool_on;
	uint64_t spooled; /* records that went to the spool (since start) */
	bool spool_warned;
	uint64_t inflight_sup; /* the suppressed count its notice says */
	struct {
		char id[16];
		bool is_stderr;
		int64_t ts_ns;
		uint32_t nth;
	} adv[LG_ADV_MAX]; /* cursors that move when the write is out */
	size_t n_adv;
	char status[200];
	uint64_t lines, bytes;
};

struct lg {
	struct bc_daemon *d;
	nng_socket sys; /* PULL: the other daemons' SYSLOG (bc_daemon_syslog) */
	int sys_fd;	/* -1: not listening */
	bc_config cfg;	/* holds the device's key: wiped at stop */
	struct lgc cloud;
	bc_logring ring;
	uint64_t published; /* records up to this seq went to the tails */
	int epfd;	    /* the followers' streams */
	bool paused;	    /* epfd is not watched: the cloud catches up */
	struct follower f[LG_MAX_FOLLOW];
	bool had_cursors; /* the cursor file was there at start: not a first run */
	bool first_scan_done;
	bool refilling; /* the buffer is refilled from the engine (refill.c) */
	char cursor_file[512];
	bool dirty; /* cursors changed since they were written */
	uint64_t saved_at;
	/* containers */
	bc_docker_stream *events;
	uint64_t events_retry_at;
	uint64_t scan_at; /* 0: none due */
	bool scanning;
	bool stopping;
	uint64_t lines, dropped_lines;
	/* the remote tail (remote.c): served by a child process */
	bool remote_on;
	pid_t remote_pid; /* 0: none running */
	int remote_fd;	  /* the child's report (EOF: it ended); -1: none */
	char remote_line[256];
	size_t remote_len;
	uint64_t remote_since; /* when it was started */
	unsigned remote_fails; /* ended soon after a start, in a row */
	uint64_t remote_retry; /* when to start it again */
	/* the cloud holds the reading back while its stream is behind (set by
	 * cloud.c at its start; NULL: nothing holds it): lg_hold */
	bool (*hold)(const struct lg *g);
	uint64_t (*hold_until)(const struct lg *g);
};

/* The files of the logger, each calling only those listed after it:
 * main.c (the daemon, the tails), remote.c, system.c, cloud.c, follow.c,
 * refill.c, buffer.c, cursors.c. What a lower file needs of a higher one
 * comes as a hook in struct lg (hold: the cloud holds the reading back). */

/* remote.c: the remote tail, when BC_LOG_REMOTE is set: its process is
 * started, watched, started again (lg_remote_start fails, naming the
 * setting, when it refuses its settings at start) and stopped */
int lg_remote_start(struct lg *g, bc_err *err);
void lg_remote_stop(struct lg *g);
/* the remote tail's process: `bc-logger --remote-tail LOGGER-PID URL CERT
 * CLIENTS`, as lg_remote_start runs it; never returns but on a failure
 * (its exit code) */
int lg_remote_main(int argc, char **argv);

/* system.c */
int lg_system_start(struct lg *g, bc_err *err);
void lg_system_stop(struct lg *g);

/* cloud.c: the stream to the cloud; while it is behind it holds the
 * reading back (g->hold) */
int lg_cloud_start(struct lg *g, bc_err *err);
void lg_cloud_stop(struct lg *g);
/* (re)read config.json: is there a cloud to stream to */
void lg_cloud_config(struct lg *g);

/* follow.c */
int lg_follow_start(struct lg *g, bc_err *err);
void lg_follow_stop(struct lg *g);
/* read the containers again, if the reading was held back (lg_hold) */
void lg_follow_resume(struct lg *g);

/* refill.c: after the first scan, the buffer is refilled from the engine
 * with the newest lines each container printed up to its cursor (what the
 * cloud had, or what came before a first run: the local view's only, never
 * sent again), then a scan attaches every container. */
void lg_refill_start(struct lg *g);

/* buffer.c: a record is in (its strings are taken) */
void lg_push(struct lg *g, bc_logrec *r);
/* the records after seq `after` in one LOG_BATCH (pointing into the
 * buffer: send it before the buffer changes); recs: the caller's array of
 * BC_LOG_BATCH_MAX. Returns the last seq put in. */
uint64_t lg_batch(struct lg *g, uint64_t after, bc_log_rec *recs, bc_body_log_batch *b);
/* r: a record of one line of f's stream k (0 stdout, 1 stderr) at (ts,
 * nth), its message made safe and cut; -1 when out of memory. */
int lg_line_record(const struct follower *f, int k, int64_t ts, uint32_t nth, const char *text,
		   size_t n, bool cut, bc_logrec *r);

/* cursors.c: the follower of a record's container (12 hex digits), or
 * NULL; by its whole id; a free one for id (NULL: the table is full) */
struct follower *lg_follower(struct lg *g, const char *short_id);
struct follower *lg_follower_by_id(struct lg *g, const char *id);
struct follower *lg_follower_add(struct lg *g, const char *id);
void lg_cursor_done(struct lg *g, struct follower *f, bool is_stderr, int64_t ts_ns, uint32_t nth);
/* write the cursors now (atomic against a kill, not fsynced: see
 * bc_write_json_replace); otherwise within LG_SAVE_EVERY_MS of a change */
void lg_save_cursors(struct lg *g);
/* read the cursor file at start: a follower for each good entry */
void lg_load_cursors(struct lg *g);

/* Does the cloud hold the reading back now (its stream takes everything
 * but is behind), and until when at most (then it is slow, and the buffer
 * drops for it)? No hook set: never. */
static inline bool
lg_hold(const struct lg *g)
{
	return g->hold != NULL && g->hold(g);
}

static inline uint64_t
lg_hold_until(const struct lg *g)
{
	return g->hold_until != NULL ? g->hold_until(g) : UINT64_MAX;
}

#endif
