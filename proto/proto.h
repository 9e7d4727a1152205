/* Every message of the suite, defined once.
 *
 * Wire form: a msgpack map {"v": version, "t": type, "id": correlation id,
 * "b": body map}. A reply echoes the request's id. Decoding is strict: the
 * whole buffer must be one object of at most BC_PROTO_MAX_MSG bytes, every
 * key known and of the right kind, no duplicates, no trailing bytes.
 *
 * To add a message: add a line to BC_MSG_TYPES, a body struct below and its
 * field table in proto.c. Nothing beyond proto/ sees a msgpack_object. */
#ifndef BC_PROTO_H
#define BC_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/buf.h"
#include "lib/base/err.h"

#define BC_PROTO_VERSION 1
#define BC_PROTO_MAX_MSG ((size_t)1 << 20)

/* the agent's version (the CLI's --version, the cloud's supervisor_version) */
#define BC_VERSION "0.1.0"
#define BC_PROTO_MAX_DEPTH 8

/* X(NAME, wire number, body field in bc_msg) */
#define BC_MSG_TYPES(X)                                                                            \
	X(PING, 1, ping)                                                                           \
	X(PONG, 2, pong)                                                                           \
	X(ERROR, 3, error)                                                                         \
	X(APPLY, 4, apply)                                                                         \
	X(DOWN, 5, down)                                                                           \
	X(ACK, 6, ack)                                                                             \
	X(GET_STATE, 7, get_state)                                                                 \
	X(STATE, 8, state)                                                                         \
	X(FETCH, 9, fetch)                                                                         \
	X(FETCHED, 10, fetched)                                                                    \
	X(STEP, 11, step)                                                                          \
	X(FETCH_ACCEPTED, 12, fetch_accepted)                                                      \
	X(FETCH_PROGRESS, 13, fetch_progress)                                                      \
	X(FETCH_DONE, 14, fetch_done)                                                              \
	X(FETCH_CANCEL, 15, fetch_cancel)                                                          \
	X(FETCH_STATUS, 16, fetch_status)                                                          \
	X(FETCH_JOBS, 17, fetch_jobs)                                                              \
	X(CLEANUP, 18, cleanup)                                                                    \
	X(CLEANUP_DONE, 19, cleanup_done)                                                          \
	X(LOCK_TAKE, 20, lock_take)                                                                \
	X(LOCK_GRANTED, 21, lock_granted)                                                          \
	X(LOCK_HELD, 22, lock_held)                                                                \
	X(LOCK_RELEASE, 23, lock_release)                                                          \
	X(LOCK_STATUS, 24, lock_status)                                                            \
	X(LOCK_INFO, 25, lock_info)                                                                \
	X(LOCK_EVENT, 26, lock_event)                                                              \
	X(LOCK_RELEASED, 27, lock_released)                                                        \
	X(FETCH_CANCELLED, 28, fetch_cancelled)                                                    \
	X(POLL, 29, poll)                                                                          \
	X(GW_STATUS, 30, gw_status)                                                                \
	X(GW_INFO, 31, gw_info)                                                                    \
	X(LOG_QUERY, 32, log_query)                                                                \
	X(LOG_BATCH, 33, log_batch)                                                                \
	X(SYSLOG, 34, syslog)

enum bc_msgtype {
	BC_MSG_NONE = 0,
#define X(name, num, field) BC_MSG_##name = num,
	BC_MSG_TYPES(X)
#undef X
};

/* Bodies. Strings are NUL-terminated copies owned by the bc_msg; so are
 * string lists and record lists (and what their records hold). A sender
 * may point them at its own memory: bc_send never frees (proto/ipc.h). */

/* A list of strings. */
typedef struct bc_strs {
	char **v;
	size_t n;
} bc_strs;

/* Who holds a service's update lock. */
enum bc_lock_holder { BC_HOLDER_NOBODY = 0, BC_HOLDER_APP = 1, BC_HOLDER_US = 2 };

/* How a fetch job stands. */
enum bc_fetch_state {
	BC_FETCH_QUEUED = 0,
	BC_FETCH_PULLING = 1,
	BC_FETCH_DONE = 2,
	BC_FETCH_FAILED = 3,
	BC_FETCH_CANCELLED = 4,
};

/* One fetch job, in FETCH_JOBS. */
typedef struct bc_fetch_job_rec {
	uint64_t job;	    /* required */
	char *image;	    /* required */
	int state;	    /* required: an enum bc_fetch_state */
	uint64_t percent;   /* required */
	uint64_t current;   /* required */
	uint64_t total;	    /* required */
	uint64_t attempts;  /* required */
	char *error;	    /* optional */
} bc_fetch_job_rec;
typedef struct bc_fetch_job_list {
	bc_fetch_job_rec *v;
	size_t n;
} bc_fetch_job_list;

/* One live lease of the locker, in LOCK_INFO. */
typedef struct bc_lease_rec {
	uint64_t lease;		/* required */
	int64_t app_id;		/* required */
	bc_strs services;	/* required */
	uint64_t expires_in_ms; /* required */
} bc_lease_rec;
typedef struct bc_lease_list {
	bc_lease_rec *v;
	size_t n;
} bc_lease_list;

/* One service's lock directory, in LOCK_INFO. */
typedef struct bc_lock_rec {
	int64_t app_id; /* required */
	char *service;	/* required */
	int holder;	/* required: an enum bc_lock_holder */
} bc_lock_rec;
typedef struct bc_lock_list {
	bc_lock_rec *v;
	size_t n;
} bc_lock_list;
typedef struct bc_body_ping {
	char *from; /* optional: who is asking, for the daemon's log */
} bc_body_ping;

typedef struct bc_body_pong {
	char *daemon;	    /* required: the answering daemon's name */
	uint64_t pid;	    /* required */
	uint64_t uptime_ms; /* required */
	uint64_t instance;  /* required: this run of the daemon (random at start) */
} bc_body_pong;

typedef struct bc_body_error {
	int64_t code;  /* required: an enum bc_errcode */
	char *message; /* required */
} bc_body_error;

/* Largest string a message may carry (a whole target or state document). */
#define BC_PROTO_MAX_DOC ((uint32_t)(BC_PROTO_MAX_MSG - 4096))

/* reconciler: merge these apps into the target (a v3 document) */
typedef struct bc_body_apply {
	char *target; /* required: v3 JSON text */
	bool force;   /* override the apps' update locks until it settles */
	bool replace; /* the whole target (the cloud's): apps not in it go */
} bc_body_apply;

/* reconciler: remove an app from the target */
typedef struct bc_body_down {
	char *app;    /* required: uuid, name or numeric id */
	bool volumes; /* its volumes go too */
} bc_body_down;

/* Generations count from 1 in each run of the reconciler: a client that
 * waits on one compares the instance too. A target is kept on disk before
 * it is acknowledged, so a new instance converges it (from generation 1). */
typedef struct bc_body_ack {
	uint64_t generation; /* required: the target generation this made */
	uint64_t instance;   /* required: the reconciler run that made it */
} bc_body_ack;

typedef struct bc_body_get_state {
	char *from; /* optional */
} bc_body_get_state;

/* gateway: ask the cloud for the target now (ACK: generation 0, the
 * gateway's instance) */
typedef struct bc_body_poll {
	char *from; /* optional */
} bc_body_poll;

/* gateway: how the device stands with the cloud (GW_INFO) */
typedef struct bc_body_gw_status {
	char *from; /* optional */
} bc_body_gw_status;

typedef struct bc_body_gw_info {
	char *mode;	   /* required: "cloud", "local", "provisioning" */
	char *endpoint;	   /* optional: the apiEndpoint */
	char *uuid;	   /* optional: the device's */
	char *last_poll;   /* optional: "<UTC time> <how it went>" */
	char *last_report; /* optional: the same for the state report */
	char *rejected;	   /* optional: the cloud's target is one we refused: why */
	bool reachable;	   /* the last request to the cloud got an answer, not a 5xx */
} bc_body_gw_info;

/* One log record (lib/logs/record.h gives its meaning). */
typedef struct bc_log_rec {
	uint64_t seq;	    /* required: the logger's order in its run */
	int64_t ts_ns;	    /* required */
	uint64_t nth;	    /* required: with ts_ns and container, the record's identity */
	int64_t app_id;	    /* required: 0 for the device */
	int64_t service_id; /* required: 0 for none */
	char *service;	    /* optional: the service's name */
	char *container;    /* optional: 12 hex digits; none for a system message */
	bool is_stderr;
	bool is_system;
	char *message; /* required: valid UTF-8, at most 10,000 characters and a marker */
} bc_log_rec;
typedef struct bc_log_list {
	bc_log_rec *v;
	size_t n;
} bc_log_list;

/* logger: the records it holds after after_seq (a LOG_BATCH of at most
 * BC_LOG_BATCH_BYTES of messages: ask again from its last seq while
 * more is true) */
typedef struct bc_body_log_query {
	uint64_t after_seq; /* 0: from the oldest held */
} bc_body_log_query;

#define BC_LOG_BATCH_BYTES (768u << 10)
#define BC_LOG_BATCH_MAX 8192
/* logger: records, as an answer or (PUB) as they come */
typedef struct bc_body_log_batch {
	uint64_t instance; /* required: the logger's run (seq counts from 1 in each) */
	uint64_t first;	   /* required: the oldest seq the logger still holds */
	bool more;	   /* an answer cut short: ask again */
	bc_log_list records; /* required: in seq order */
} bc_body_log_batch;

/* Pushed by any daemon to the logger's PULL socket (bc_daemon_syslog): a
 * system message for the device's log, in words
 * ("Killed service 'web'", "Downloading image 'x'"); the logger makes it
 * a record with isSystem */
typedef struct bc_body_syslog {
	int64_t app_id; /* required: 0 for the device */
	char *service;	/* optional: the service it is about */
	char *message;	/* required */
} bc_body_syslog;

/* The state document (lib/plan/statedoc.h gives its JSON form, for people and
 * the Composer API), typed. Bounds: a state beyond them is cut to them. */
#define BC_STATE_MAX_APPS 256
#define BC_STATE_MAX_SERVICES 256 /* per app */
#define BC_STATE_MAX_NAMED 256	  /* networks, volumes per app */
/* services in one lock request: a target's and those on their way out
 * (lock directories of services gone from target and Docker are pruned) */
#define BC_LOCK_MAX_SERVICES (4 * BC_STATE_MAX_SERVICES)
enum bc_app_status {
	BC_APP_IDLE = 0,
	BC_APP_DOWNLOADING = 1,
	BC_APP_UPDATING = 2,
	BC_APP_WAITING_ON = 3, /* "Waiting" */
	BC_APP_LOCK_WAIT = 4,  /* "Waiting for update lock" */
	BC_APP_FAILING = 5,    /* "Failed" */
	BC_APP_SETTLING = 6,   /* "Settling": its new release proves itself
				  (the settle period of a health-gated update) */
	BC_APP_ROLLED_BACK = 7, /* "Rolled back": its new release failed its
				   settle period; the one before it runs */
};

typedef struct bc_svc_rec {
	char *name;	      /* required */
	char *status;	      /* required: Docker's state, or downloading / pending */
	char *image;	      /* optional */
	int64_t release;      /* required */
	char *commit;	      /* optional */
	char *container;      /* optional */
	char *id;	      /* optional: 12 hex digits */
	char *dl_image;	      /* optional: the image coming, while it comes */
	uint64_t dl_percent;  /* with dl_image */
	uint64_t dl_current;  /* with dl_image */
	uint64_t dl_total;    /* with dl_image */
	uint64_t health_restarts; /* optional: restarted for being unhealthy
				     (since the reconciler started) */
} bc_svc_rec;
typedef struct bc_svc_list {
	bc_svc_rec *v;
	size_t n;
} bc_svc_list;

typedef struct bc_named_rec {
	char *name;   /* required */
	char *status; /* required: created / pending */
} bc_named_rec;
typedef struct bc_named_list {
	bc_named_rec *v;
	size_t n;
} bc_named_list;

typedef struct bc_app_rec {
	int64_t id;		/* required */
	char *uuid;		/* optional */
	char *name;		/* optional */
	char *commit;		/* optional */
	int status;		/* required: an enum bc_app_status */
	char *error;		/* optional: with BC_APP_FAILING, BC_APP_ROLLED_BACK */
	char *waiting;		/* optional */
	bool removed;		/* optional: not in the target; what is left of it
				   is on its way out, or its kept volumes */
	char *rolled_back;	/* optional: the commit of the release that
				   failed and was rolled back from (with
				   BC_APP_ROLLED_BACK) */
	bc_strs skipped;	/* optional: services of its release left out,
				   their contracts unmet (optional ones) */
	bc_strs ignored;	/* optional: "service: key" of composition keys
				   of its release left out (unknown here) */
	bc_svc_list services;	/* required */
	bc_named_list networks; /* required */
	bc_named_list volumes;	/* required */
} bc_app_rec;
typedef struct bc_app_list {
	bc_app_rec *v;
	size_t n;
} bc_app_list;

typedef struct bc_body_state {
	uint64_t generation;  /* required: target generation the state is for */
	uint64_t instance;    /* required: the reconciler run (see bc_body_ack) */
	bool settled;	      /* required */
	char *error;	      /* optional: the last converge failed: why */
	char *waiting;	      /* optional */
	uint64_t rounds;      /* required */
	uint64_t steps;	      /* required */
	uint64_t converge_ms; /* required */
	bc_app_list apps;     /* required: at most 256 */
} bc_body_state;

/* fetcher: get an image onto the device */
typedef struct bc_body_fetch {
	char *image; /* required */
	char *auth;  /* optional X-Registry-Auth value: a secret, never logged */
} bc_body_fetch;

typedef struct bc_body_fetched {
	char *image; /* required */
	char *id;    /* required: sha256 image id */
} bc_body_fetched;

/* reconciler PUB: one step of a round ended */
typedef struct bc_body_step {
	uint64_t generation; /* required */
	char *action;	     /* required: CREATE, KILL, ... */
	int64_t app_id;	     /* required */
	char *service;	     /* optional: the service, volume or network acted on */
	bool ok;	     /* required */
	char *error;	     /* optional: why it failed */
} bc_body_step;

/* fetcher: a FETCH is answered at once with its job; identical requests
 * share one job */
typedef struct bc_body_fetch_accepted {
	uint64_t job;	   /* required: numbered from 1 in each run of the fetcher */
	uint64_t instance; /* required: the fetcher run that holds the job */
	char *image;  /* required */
} bc_body_fetch_accepted;

/* fetcher PUB: how far a job is */
typedef struct bc_body_fetch_progress {
	uint64_t job;	  /* required */
	uint64_t instance; /* required */
	char *image;	  /* required */
	uint64_t percent; /* required: 0..100 */
	uint64_t current; /* required: bytes done */
	uint64_t total;	  /* required: bytes known so far */
} bc_body_fetch_progress;

/* fetcher PUB: a job ended */
typedef struct bc_body_fetch_done {
	uint64_t job;	   /* required */
	uint64_t instance; /* required */
	char *image;  /* required */
	bool ok;      /* required */
	char *id;     /* optional: the image id when ok */
	char *error;  /* optional: why not */
} bc_body_fetch_done;

typedef struct bc_body_fetch_cancel {
	uint64_t job; /* required */
} bc_body_fetch_cancel;

typedef struct bc_body_fetch_status {
	char *from; /* optional */
} bc_body_fetch_status;

typedef struct bc_body_fetch_jobs {
	uint64_t instance;	/* required */
	bc_fetch_job_list jobs; /* required: at most 128 */
} bc_body_fetch_jobs;

/* fetcher: the job was cancelled (a queued one ended, a pulling one stops) */
typedef struct bc_body_fetch_cancelled {
	uint64_t job; /* required */
} bc_body_fetch_cancelled;

/* fetcher: remove the images it pulled that are not in keep */
typedef struct bc_body_cleanup {
	bc_strs keep; /* required: image references still wanted (at most 4096) */
} bc_body_cleanup;

typedef struct bc_body_cleanup_done {
	bc_strs removed; /* required: the references removed */
} bc_body_cleanup_done;

/* locker: take the update locks of an app's services (all or nothing).
 * With a live lease, the same lease is renewed. */
typedef struct bc_body_lock_take {
	int64_t app_id;	 /* required */
	bc_strs services; /* required: service names (at most BC_LOCK_MAX_SERVICES; empty
			     in a renewal) */
	bool force;	 /* remove the app's own lockfiles first */
	uint64_t lease; /* optional: renew this lease */
} bc_body_lock_take;

typedef struct bc_body_lock_granted {
	uint64_t lease;	     /* required */
	uint64_t expires_ms; /* required: from now, unless renewed */
} bc_body_lock_granted;

typedef struct bc_body_lock_held {
	int64_t app_id; /* required */
	char *service;	/* required: the first service whose lock the app holds */
} bc_body_lock_held;

typedef struct bc_body_lock_release {
	uint64_t lease; /* required */
} bc_body_lock_release;

typedef struct bc_body_lock_status {
	char *from; /* optional */
} bc_body_lock_status;

typedef struct bc_body_lock_info {
	bc_lease_list leases; /* required: at most 64 */
	bc_lock_list locks;   /* required: every service's lock directory */
} bc_body_lock_info;

/* locker: the lease ended, its lockfiles are gone */
typedef struct bc_body_lock_released {
	uint64_t lease; /* required */
} bc_body_lock_released;

/* locker PUB: a service's lockfiles changed */
typedef struct bc_body_lock_event {
	int64_t app_id; /* required */
	char *service;	/* required */
	int holder;	/* required: an enum bc_lock_holder */
} bc_body_lock_event;

typedef struct bc_msg {
	enum bc_msgtype type;
	uint64_t id;
	union {
#define X(name, num, field) bc_body_##field field;
		BC_MSG_TYPES(X)
#undef X
	} body;
} bc_msg;

/* Append a copy of str to l (owned by l). 0, or -1 when out of memory. */
int bc_strs_add(bc_strs *l, const char *str);
/* Is str in l? */
bool bc_strs_has(const bc_strs *l, const char *str);
/* Free what l owns and zero it. */
void bc_strs_free(bc_strs *l);

/* Encode m into out (appended). Returns 0, or -1 with err filled. */
int bc_msg_encode(const bc_msg *m, bc_buf *out, bc_err *err);

/* Decode one message from data. On success m holds owned copies (free with
 * bc_msg_clear). On failure m is cleared except m->id, which is set when the
 * envelope's id could be read, so the caller can still address an error
 * reply; err says which field is wrong. */
int bc_msg_decode(const void *data, size_t len, bc_msg *m, bc_err *err);

/* Free what m owns and zero it. Safe on a zeroed or half-decoded msg. */
void bc_msg_clear(bc_msg *m);

/* "PING", "PONG", ...; "?" for an unknown number. */
const char *bc_msgtype_name(enum bc_msgtype t);

/* Build an error reply to request id; message is copied. */
int bc_msg_make_error(bc_msg *m, uint64_t id, int64_t code, const char *message, bc_err *err);

#endif
