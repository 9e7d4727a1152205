/* The gateway: the one process that speaks to the cloud API for the
 * device's target and state (../shared/CLOUD-API.md). One loop: HTTPS
 * requests (lib/cloud/conn.h, http.c) end on the loop; the target is
 * polled (poll.c) and handed to the reconciler whole; the reconciler's
 * state, as it publishes it, is reported (report.c). Everything here
 * belongs to the loop's thread. */
#ifndef BC_GATEWAY_H
#define BC_GATEWAY_H

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/base/buf.h"
#include "lib/cloud/answer.h"
#include "lib/cloud/conn.h"
#include "lib/cloud/report.h"
#include "lib/core/gateway.h"
#include "lib/ipc/daemon.h"
#include "lib/ipc/peer.h"
#include "lib/model/config.h"
#include "lib/plan/statedoc.h"

#define GW_REQUEST_TIMEOUT_MS 59000 /* the supervisor's apiRequestTimeout */
/* The largest body the cloud may answer: a target fits one message to
 * the reconciler (BC_PROTO_MAX_DOC, about 1 MiB); the answers to a state
 * report, a device lookup and a registration are small JSON, read (when
 * at all) for an id */
#define GW_MAX_TARGET BC_PROTO_MAX_DOC
#define GW_MAX_ANSWER ((size_t)64 << 10)
/* a call to the reconciler: it answers at once unless it is away */
#define GW_CALL_MS 10000

struct gw;

/* One request to the cloud: its bytes, and the exchange that carries them
 * (lib/cloud/conn.h: connect, write, the answer through the strict,
 * bounded reader; a body larger than max is refused as its head says so,
 * not after it was read). */
struct gw_req {
	struct gw *g;
	bc_cloud_conn *cc;
	char *head; /* the request as sent (ours: it holds the key, wiped
		       once written and when freed), head_len bytes */
	size_t head_len;
	char *send;	      /* the body sent (ours), or NULL */
	size_t max;	      /* the largest body accepted */
	struct gw_req *inext; /* on the in-flight list */
	void (*done)(struct gw *g, struct gw_req *rq);
	const char *bearer; /* another key than the device's (provisioning) */
	/* ended: */
	int rv;			    /* 0, or nng's error (gw_req_error) */
	long status;		    /* HTTP status when rv is 0 */
	const bc_cloud_answer *ans; /* when rv is 0: borrowed from cc (ETag, Retry-After) */
	const char *body;	    /* borrowed from ans, len bytes, or NULL when empty */
	size_t len;
};

struct gw {
	struct bc_daemon *d;
	bc_config cfg;	  /* holds the device's key: wiped at stop */
	bc_peer *recon;	  /* the reconciler, called without waiting (cloud mode) */
	bool cloud;	  /* an apiEndpoint: the cloud's target is followed */
	bool provisioned; /* a registered device: poll and report */
	uint64_t prov_at; /* the next provisioning step: when (0: none) */
	unsigned prov_errors;
	char ca_file[256];
	char statefile[512]; /* the last accepted cloud target and its ETag */
	nng_tls_config *tls;
	uint64_t timeout_ms;	 /* of one request: min(config.json apiTimeout, 59 s) */
	atomic_int stopping;	 /* the loop is over: calls' ends are dropped */
	struct gw_req *inflight; /* the loop's own list */

	/* the target */
	/* when to poll, the backoff, the clients waiting (lib/core/gateway.h) */
	bc_gw_poll poll;
	char etag[256]; /* of the last target we got (accepted or not) */
	/* the last accepted cloud target, as handed to the reconciler (and
	 * kept in statefile), or NULL */
	char *target;
	/* the refused releases, per app: the last rejection only, this
	 * device's apps (releases_of) */
	bc_rejections rejected;
	/* the cloud's target was refused: its ETag (while the cloud answers
	 * 304 to it, it is still the cloud's target) and why, terminal-safe */
	char rejected_etag[256];
	char rejected_why[400];
	char last_poll[512]; /* when and how the last poll went, for status */
	char last_report[512];
	bool reachable; /* the last request to the cloud got an answer, not a 5xx */
	bc_pending *waiters[BC_GW_MAX_WAITERS]; /* POLL requests, as many as poll.n_waiters */
	bc_body_ack applied;			/* the reconciler's generation of our last APPLY */
	struct gw_req *poll_rq;			/* the poll's request while it is out, or NULL */
	uint64_t kept_at;			/* the kept target is still to be applied: when */
	unsigned kept_tries;
	bool kept_busy; /* it is being handed over (on the pool) */

	/* the report */
	nng_socket rsub;
	int rsub_fd;
	bc_body_state state; /* the reconciler's last state (have_state: one came) */
	bool have_state;
	uint64_t state_ask_at; /* no STATE event yet: ask the reconciler then */
	bool state_asking;     /* asked (on the pool), no answer yet */
	bool sub_live;	       /* a STATE event came: the subscription works */
	bc_reporter reported;  /* what the cloud last accepted (lib/cloud/report.h) */
	/* when to report, the backoff (lib/core/gateway.h) */
	bc_gw_report rep;
};

/* http.c */
int gw_http_start(struct gw *g, bc_err *err);
void gw_http_stop(struct gw *g);
/* Send method url (body: JSON or NULL, taken over) with the device's key;
 * rq->done is called on the loop when it ends (rq is freed on error here).
 * Returns 0 or -1 with err. */
int gw_http_send(struct gw *g, struct gw_req *rq, const char *method, const char *url,
		 const char *etag, char *body, bc_err *err);
void gw_req_free(struct gw_req *rq);
/* Give the request up (from the loop): it ends with NNG_ECANCELED. */
void gw_req_cancel(struct gw_req *rq);
/* Why rq failed (rv != 0), for logs and status lines. */
const char *gw_req_error(const struct gw_req *rq);

/* poll.c */
int gw_poll_start(struct gw *g, bc_err *err);
/* Poll now (`balena-compose update`, SIGUSR1); while a poll runs, once
 * more as soon as it ends (it was sent before the ask). */
void gw_poll_now(struct gw *g);
/* A POLL from a client: answered when this poll ends (ACK: the
 * reconciler's generation that holds the cloud's target), or an error. */
int gw_poll_wait(struct gw *g, bc_err *err);

/* provision.c */
bool gw_provision_needed(const bc_config *c);
int gw_provision_start(struct gw *g, bc_err *err);

/* report.c */
int gw_report_start(struct gw *g, bc_err *err);
void gw_report_stop(struct gw *g);
void gw_report_soon(struct gw *g);

#endif
