/* A client of the reconciler: apply a target, read the state, wait until a
 * target generation has settled. Used by the CLI and the Composer API. */
#ifndef BC_CLIENT_H
#define BC_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

#include "proto/proto.h"
#include "lib/base/err.h"

/* rundir: the daemons' socket directory, NULL for the default. */

/* A SUB socket on a daemon's PUB, subscribed to everything (the caller's to
 * close). wait: dial in the background, so that a daemon not up yet is
 * reached when it comes (otherwise it must be there now). */
int bc_client_sub(const char *rundir, const char *daemon, bool wait, nng_socket *s, bc_err *err);
/* Take every message waiting on sub, without blocking: each that decodes
 * goes to fn (m is cleared once fn returns; fn may take its strings and
 * NULL them), one that does not is logged as "<what>: <why>" and skipped.
 * Returns nng's result of the last receive: NNG_EAGAIN when all were
 * taken, anything else when the socket no longer works. */
int bc_client_sub_drain(nng_socket sub, const char *what, void (*fn)(void *ud, bc_msg *m),
			void *ud);

/* One request to a daemon: an ERROR reply becomes err (with its code), and
 * a reply of another type than want (BC_MSG_NONE: any) is a protocol error.
 * On success *rep is the caller's (bc_msg_clear). */
int bc_client_call(const char *rundir, const char *daemon, bc_msg *req, bc_msg *rep,
		   enum bc_msgtype want, bc_err *err);
/* The same judgement of a reply already received from peer (on a socket the
 * caller holds): 0, or -1 with err and *rep cleared. */
int bc_client_reply(const char *peer, bc_msg *rep, enum bc_msgtype want, bc_err *err);

/* What the reconciler answered a change with: the target generation it
 * made, in which run of the reconciler (generations restart at 1 in each). */
typedef struct bc_ack {
	uint64_t generation;
	uint64_t instance;
} bc_ack;

/* Merge the apps of a v3 document (text) into the target; force overrides
 * the apps' update locks until it settles. */
int bc_client_apply(const char *rundir, const char *doc, bool force, bc_ack *ack, bc_err *err);

/* Remove an app (uuid, name or id) from the target. */
int bc_client_down(const char *rundir, const char *app, bool volumes, bc_ack *ack, bc_err *err);

/* Ask the gateway to poll the cloud now; once the poll has ended, *ack is
 * the reconciler's generation that holds the cloud's target (wait on it
 * with bc_client_wait). -1 with err: local mode, the cloud could not be
 * asked (err says why), or the gateway did not answer. */
int bc_client_poll(const char *rundir, bc_ack *ack, bc_err *err);

/* The reconciler's state document (lib/plan/statedoc.h; *doc is the caller's).
 * instance may be NULL. */
int bc_client_state(const char *rundir, uint64_t *gen, bool *settled, json_t **doc, bc_err *err);
int bc_client_state_of(const char *rundir, uint64_t *gen, uint64_t *instance, bool *settled,
		       json_t **doc, bc_err *err);

/* What a wait waits for, for each app it names. */
enum bc_wait_until {
	BC_UNTIL_IDLE,	       /* Idle: it runs as its target says (up) */
	BC_UNTIL_GONE,	       /* nothing of it is left (down -v) */
	BC_UNTIL_GONE_BUT_VOLUMES, /* nothing but its volumes, which stay (down) */
};

/* Wait until the change ack made has taken effect: for apps (n_apps ids),
 * until each is as until says, or, with n_apps 0, until the whole target
 * has settled. An app that failed has ended too: the
 * wait goes on for the others, and then returns -1 with err naming each
 * failed app and its error ("app 'a': ...; app 'b': ..."). Another app's
 * failure (not waited on) does not matter. Returns 0, or -1 with err when
 * an app failed, timeout_ms passed (err says what is still awaited and
 * which apps failed meanwhile), or the reconciler cannot be reached.
 *
 * A reconciler that restarts meanwhile is followed: a target is kept on
 * disk before it is acknowledged, so the new run converges it, and the wait
 * goes on against the new run (progress is told so). progress, if not
 * NULL, is told each new thing the wait waits on. */
int bc_client_wait(const char *rundir, const bc_ack *ack, const int64_t *apps, size_t n_apps,
		   enum bc_wait_until until, int timeout_ms,
		   void (*progress)(void *ud, const char *waiting), void *ud, bc_err *err);
/* The same on a subscription to the reconciler the caller holds (from
 * bc_client_sub; NULL: one of its own, opened and closed here). A program
 * that waits many times keeps one: every close of a subscriber whose
 * publisher is busy risks nng 1.5.2's close hang (bc_sock_close). */
int bc_client_wait_on(const char *rundir, const nng_socket *sub, const bc_ack *ack,
		      const int64_t *apps, size_t n_apps, enum bc_wait_until until,
		      int timeout_ms,
		      void (*progress)(void *ud, const char *waiting), void *ud, bc_err *err);

/* Fetch images through the fetcher and wait until each is there or has
 * failed (or timeout_ms passes). progress(ud, i, percent, current, total)
 * and done(ud, i, ok, error) may be NULL; i indexes images. auth is an
 * X-Registry-Auth value for all of them, or NULL (the fetcher then uses
 * the device's own credentials). Returns the number that failed, or -1
 * when the fetcher could not be asked at all. A fetcher that restarts
 * meanwhile (a new instance) is asked again for what it has not finished. */
int bc_client_fetch(const char *rundir, const char *const *images, size_t n, const char *auth,
		    void (*progress)(void *ud, size_t i, unsigned percent, uint64_t current,
				     uint64_t total),
		    void (*done)(void *ud, size_t i, bool ok, const char *error), void *ud,
		    int timeout_ms, bc_err *err);

#endif
