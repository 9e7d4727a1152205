/* The gateway's decisions, apart from its loop: when the target is polled
 * (the interval and its jitter, the backoff, a client's ask, a poll given
 * up for a new one), what a poll's answer means, and when the state is
 * reported (at once on a status change, else at most every 10 s; the
 * backoff and Retry-After). Pure: no I/O, no clock (now comes in), no
 * randomness (the jitter comes in); services/gateway carries it out. */
#ifndef BC_CORE_GATEWAY_H
#define BC_CORE_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BC_GW_JITTER_MS 60000 /* a poll comes up to 60 s late: spreads devices */
/* a client asks while a poll has had no answer this long: that one is
 * given up and a new one sent (a cloud that hung need not cost a client
 * the whole request timeout once it answers again) */
#define BC_GW_POLL_STALE_MS 2000
#define BC_GW_MAX_WAITERS 16 /* clients waiting on one poll */

/* --- the target poll ------------------------------------------------ */

typedef struct bc_gw_poll {
	uint64_t interval_ms; /* appUpdatePollInterval */
	uint64_t next;	      /* monotonic ms: the next poll (UINT64_MAX: none) */
	unsigned errors;      /* polls failed in a row */
	bool busy;	      /* a poll is out, or its target is being handed over */
	bool out;	      /* its request is out, not answered yet */
	bool again;	      /* asked for while one was out: once more after it */
	bool restart;	      /* the one out was given up for a new one */
	uint64_t started;     /* monotonic ms: when the one out was sent */
	size_t n_waiters;     /* clients waiting (the caller keeps who, in order) */
	size_t n_asked;	      /* the first n_asked of them: the poll out is theirs */
} bc_gw_poll;

/* A start: the first poll at once. */
void bc_gw_poll_init(bc_gw_poll *p, uint64_t interval_ms, uint64_t now);

/* When the next poll is due (active: a registered device that follows the
 * cloud; else none). */
uint64_t bc_gw_poll_due(const bc_gw_poll *p, bool active);

/* A poll is sent: it is for the clients waiting now. */
void bc_gw_poll_sent(bc_gw_poll *p, uint64_t now);

/* A client asks for a poll (balena-compose update): -1 when
 * BC_GW_MAX_WAITERS wait already (refused), 1 when the poll out is to be
 * given up (no answer for BC_GW_POLL_STALE_MS: cancel it, everyone waits
 * on a new one), else 0. The client waits (the caller keeps it last). */
int bc_gw_poll_ask(bc_gw_poll *p, uint64_t now);

/* The poll's request came back (an answer, an error, a cancel): busy
 * still, until bc_gw_poll_ended or _given_up (a target is handed over). */
void bc_gw_poll_answered(bc_gw_poll *p);

/* Poll now (SIGUSR1 and the like): at once, or right after the one out. */
void bc_gw_poll_now(bc_gw_poll *p, uint64_t now);

/* The poll out was given up (after bc_gw_poll_ask said 1): the next at
 * once, for every waiting client. */
void bc_gw_poll_given_up(bc_gw_poll *p, uint64_t now);

/* A poll ended (ok: the cloud answered as it should; its target, if new,
 * was taken or refused): the next after the interval and jitter, or the
 * backoff; at once if asked meanwhile. Returns how many of the first
 * waiters are answered now (the caller answers and drops them). */
size_t bc_gw_poll_ended(bc_gw_poll *p, bool ok, uint64_t now, uint64_t jitter);

/* What a poll's answer means. */
enum bc_gw_poll_verdict {
	BC_GW_POLL_GIVEN_UP,	  /* cancelled for a new one */
	BC_GW_POLL_TOO_LARGE,	  /* the body was more than we take */
	BC_GW_POLL_UNREACHABLE,	  /* no answer (connect, TLS, timeout, bad answer) */
	BC_GW_POLL_STILL_REFUSED, /* 304 to the ETag of the target we refused */
	BC_GW_POLL_UNCHANGED,	  /* 304 to the target we run */
	BC_GW_POLL_UNKNOWN,	  /* 304 with no target kept: the cloud does not know us? */
	BC_GW_POLL_NEW,		  /* 200: a target to check and hand over */
	BC_GW_POLL_FAILED,	  /* another status */
};

typedef struct bc_gw_answer {
	bool cancelled;	   /* the request was cancelled */
	bool too_large;	   /* refused: its body was larger than allowed */
	bool answered;	   /* an HTTP answer was read */
	long status;	   /* with answered */
	bool etag_refused; /* the ETag sent is that of the target refused */
	bool have_target;  /* a cloud target is kept */
} bc_gw_answer;

enum bc_gw_poll_verdict bc_gw_poll_verdict(const bc_gw_poll *p, const bc_gw_answer *a);

/* Does that verdict end the poll well (the interval, not the backoff), and
 * is it an error for the clients that wait? (NEW is decided later: by
 * whether the reconciler took it.) */
bool bc_gw_poll_verdict_ok(enum bc_gw_poll_verdict v);
bool bc_gw_poll_verdict_error(enum bc_gw_poll_verdict v);

/* --- the state report ----------------------------------------------- */

typedef struct bc_gw_report {
	uint64_t cap_ms;    /* the longest backoff: the poll interval */
	uint64_t next;	    /* monotonic ms: the next report (UINT64_MAX: none) */
	uint64_t last_sent; /* monotonic ms: the last one the cloud accepted */
	unsigned errors;    /* reports failed in a row */
	bool busy;	    /* one is out */
} bc_gw_report;

void bc_gw_report_init(bc_gw_report *r, uint64_t cap_ms);

/* When the next report is due (active: a registered device that follows
 * the cloud and has a state to report). */
uint64_t bc_gw_report_due(const bc_gw_report *r, bool active);

/* Something changed: a report at `at` (bc_report_when's: at once for a
 * status change, else 10 s after the last), unless one is due sooner or a
 * backoff runs (it sends what is new then). */
void bc_gw_report_soon(bc_gw_report *r, uint64_t at);

/* A report is sent / could not be made or sent (again in `retry_ms`) /
 * there was nothing to send. */
void bc_gw_report_sent(bc_gw_report *r);
void bc_gw_report_not_sent(bc_gw_report *r, uint64_t now, uint64_t retry_ms);
void bc_gw_report_nothing(bc_gw_report *r);

/* The cloud accepted it (the caller then asks bc_gw_report_soon for what
 * changed meanwhile). */
void bc_gw_report_accepted(bc_gw_report *r, uint64_t now);

/* It failed (retry_after_s: the cloud's Retry-After, 0: none): the wait
 * before the next, which is then due. */
uint64_t bc_gw_report_failed(bc_gw_report *r, uint64_t now, long retry_after_s);

/* --- provisioning -------------------------------------------------- */

/* What comes after an answer to a registration or to the lookup of our
 * uuid (registered: an HTTP answer came; id: the device id its body
 * names, 0: none). */
enum bc_gw_prov_next {
	BC_GW_PROV_REGISTERED,	 /* id is ours: write it, the key of the fleet goes */
	BC_GW_PROV_LOOKUP,	 /* 409: registered before? look our uuid up */
	BC_GW_PROV_NEW_IDENTITY, /* the uuid is someone else's: a new one, then again */
	BC_GW_PROV_RETRY,	 /* an error: again after the backoff */
};

/* POST /device/register answered (or not). */
enum bc_gw_prov_next bc_gw_prov_after_register(bool answered, long status, int64_t id);

/* GET /v6/device?$filter=uuid eq ... answered (or not). */
enum bc_gw_prov_next bc_gw_prov_after_lookup(bool answered, long status, int64_t id);

#endif
