/* One HTTP/1.1 exchange with the cloud: the client every daemon that talks
 * to the cloud uses (the gateway's requests, the logger's log stream, and
 * later the delta download).
 *
 * nng's HTTP client and TLS connect (https verified against the url's host;
 * plain http to a loopback address only, for tests: bc_registry_url_check);
 * the caller writes its bytes (a request whole, or a stream, a write at a
 * time); the answer is read from the moment the connection is made, beside
 * the writes, through the strict, bounded reader (answer.h), so a server
 * that answers early (an error, or a close) is seen whenever it does.
 *
 * Every end (connected, a write done, the exchange over) reaches the
 * caller's fn on the loop's thread, through the pool's one hand-off
 * (bc_pool_post): nng's threads never touch the caller's state. The order
 * is CONNECTED, then any number of WRITTEN, then ENDED, the last; a
 * connect that fails gives ENDED alone. Nothing comes after
 * bc_cloud_conn_close.
 *
 * Deadlines: the connect (connect_ms); each write (its own timeout); the
 * whole exchange (deadline: the answer must be whole by then, every step
 * bounded by it; 0 for none, a stream the caller ends itself). */
#ifndef BC_CLOUD_CONN_H
#define BC_CLOUD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "lib/base/err.h"
#include "lib/base/pool.h"
#include "lib/cloud/answer.h"

typedef struct bc_cloud_conn bc_cloud_conn;

typedef enum {
	BC_CC_CONNECTED, /* rv 0: the caller writes now */
	BC_CC_WRITTEN,	 /* a write ended: rv 0, or nng's error */
	BC_CC_ENDED,	 /* the exchange is over: rv 0 and the answer whole, or why not */
} bc_cc_event;

/* On the loop's thread. c stays the caller's (close it, here or later). */
typedef void (*bc_cc_fn)(void *ud, bc_cloud_conn *c, bc_cc_event ev, int rv);

typedef struct bc_cc_opts {
	const char *url;     /* http(s)://host[:port]/path (bc_registry_url_check) */
	nng_tls_config *tls; /* for https: borrowed, must outlive the conn */
	bc_pool *pool;	     /* the loop's hand-off: borrowed, must outlive the conn */
	size_t max;	     /* the largest answer body kept (answer.h) */
	bool head;	     /* a HEAD request: the answer has no body */
	uint64_t connect_ms; /* the connect's time (0: the deadline's) */
	uint64_t deadline;   /* monotonic ms (bc_mono_ms) the answer is due by; 0: none */
	bc_cc_fn fn;
	void *ud;
} bc_cc_opts;

/* Starts connecting. *c is the caller's: bc_cloud_conn_close frees it,
 * whatever happened. Returns 0, or -1 with err (nothing started, *c NULL,
 * fn never called): a url refused (BC_EINVAL, named), or out of memory. */
int bc_cloud_conn_open(bc_cloud_conn **c, const bc_cc_opts *o, bc_err *err);

/* The parsed url, for the request's head (u_requri, u_host): owned by c. */
const nng_url *bc_cloud_conn_url(const bc_cloud_conn *c);

/* Write n bytes of p (borrowed until its WRITTEN), after CONNECTED and
 * one write at a time; the time it may take is timeout_ms, within the
 * deadline. Returns 0, or -1 when a write is out already, the connection
 * is not made or is over (no event then). */
int bc_cloud_conn_write(bc_cloud_conn *c, const void *p, size_t n, uint64_t timeout_ms);

/* The answer, whole once ENDED came with rv 0 (its status, headers and
 * body: answer.h). Owned by c. */
const bc_cloud_answer *bc_cloud_conn_answer(const bc_cloud_conn *c);

/* Why the exchange ended with rv (terminal-safe text, owned by c or
 * static): the answer's fault when the reader refused it, else nng's. */
const char *bc_cloud_conn_error(const bc_cloud_conn *c, int rv);

/* Give up (from the loop): ENDED comes with NNG_ECANCELED, unless the
 * exchange ended already. */
void bc_cloud_conn_cancel(bc_cloud_conn *c);

/* From the loop: stops what runs (waits for nng's callbacks to return),
 * and no event comes after, not even one already handed to the loop.
 * NULL is a no-op. The memory goes once the hand-off holds none of it. */
void bc_cloud_conn_close(bc_cloud_conn *c);

#endif
