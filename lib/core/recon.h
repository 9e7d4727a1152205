/* The reconciler's decisions, apart from its loop: when a converge round
 * goes out, what its end means (settled, retried, backed off, --force
 * over), which generation a client waits on, which apps lose their
 * volumes with them (down -v), and when "Updates are locked" is said. Pure:
 * no I/O, no clock (now comes in), no thread; services/reconciler carries
 * out what it decides (sends the round, keeps the files, publishes). */
#ifndef BC_CORE_RECON_H
#define BC_CORE_RECON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define BC_RECON_RETRY_MS 1000	      /* a round that left something to wait on */
#define BC_RECON_BACKOFF_MAX_MS 60000 /* rounds that failed: 1 s doubling to this */
#define BC_RECON_MAX_SAID 64	      /* apps whose lock wait was said, at most */

typedef struct bc_recon {
	bool has_target;     /* a target is held (none until the first APPLY) */
	uint64_t generation; /* bumped by every APPLY and DOWN */
	uint64_t done_gen;   /* the generation the last round was for */
	bool settled;	     /* the last round left nothing to do */
	bool wake;	     /* Docker or a lock changed under us: look again */
	bool force;	     /* APPLY --force: override app locks until settled */
	bool running;	     /* a round is out */
	bool stopping;	     /* the daemon stops: no round goes out */
	uint64_t retry_at;   /* monotonic ms: not settled, look again then */
	unsigned failures;   /* rounds failed in a row */
	/* apps whose volumes go with them (down -v), until they are gone */
	int64_t purge[BC_STATE_MAX_APPS];
	size_t n_purge;
	/* apps whose "Updates are locked" was said, until their lock is taken */
	int64_t said[BC_RECON_MAX_SAID];
	size_t n_said;
} bc_recon;

/* A start: with a target kept from before (generation 1, not yet
 * converged), or none (settled at generation 1: a client that follows a
 * restart sees at once that its target was not kept). */
void bc_recon_init(bc_recon *c, bool has_target);

/* When the next round is due (monotonic ms; 0: now; UINT64_MAX: none). */
uint64_t bc_recon_due(const bc_recon *c);

/* A round goes out now (for c->generation). */
void bc_recon_sent(bc_recon *c);

/* A round could not go out (out of memory, the pool full): again in a
 * second. */
void bc_recon_not_sent(bc_recon *c, uint64_t now);

/* The round for gen ended: rc (0, or -1: it failed), whether it left
 * nothing to do. A failure backs off (1 s doubling to a minute), a round
 * with waiting left looks again in BC_RECON_RETRY_MS, --force ends when
 * its generation settles. Returns whether it settled. */
bool bc_recon_ended(bc_recon *c, uint64_t gen, int rc, bool settled, uint64_t now);

/* The round is gone from the pool (after bc_recon_ended, or unrun). */
void bc_recon_gone(bc_recon *c);

/* A new target was accepted (force: APPLY --force): its generation. */
uint64_t bc_recon_applied(bc_recon *c, bool force);

/* An app left the target by DOWN: the new generation. */
uint64_t bc_recon_downed(bc_recon *c);

/* app's volumes go with it (down -v). False when nothing changed (it was
 * there already, or BC_STATE_MAX_APPS are). */
bool bc_recon_purge_add(bc_recon *c, int64_t app);

/* Keep in the purge list only the apps keep(ud, app) says to (an app back
 * in the target keeps its volumes; one gone from Docker is done). Returns
 * whether any left. */
bool bc_recon_purge_prune(bc_recon *c, bool (*keep)(void *ud, int64_t app), void *ud);

/* A step of app ended (ok), or the plan waits on app's own lock (locked):
 * whether "Updates are locked" is to be said now (once a wait; a step of
 * the app that works ends the wait). */
bool bc_recon_say_locked(bc_recon *c, int64_t app, bool ok, bool locked);

#endif
