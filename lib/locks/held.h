/* The leases the reconciler holds on apps' update locks (one per app, from
 * the locker), and which of them ran out while a round used them. No lock:
 * every field is atomic, so a round's workers (each app's steps on one
 * worker at a time) take, read and drop leases while the loop marks one
 * lost. A slot, once an app's, stays that app's for the table's life (a
 * round's table lives one round; the loop's is the daemon's). Pure: no
 * I/O; the file of them is the caller's. */
#ifndef BC_LOCKS_HELD_H
#define BC_LOCKS_HELD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/proto.h"

#define BC_HELD_MAX BC_STATE_MAX_APPS

typedef struct bc_held_slot {
	_Atomic int state; /* 0 free, 1 being claimed, 2 app_id is set */
	_Atomic int64_t app_id;
	_Atomic uint64_t lease; /* 0: none now */
	_Atomic uint64_t lost;	/* the lease that ran out, 0: none */
} bc_held_slot;

/* Zeroed: empty. */
typedef struct bc_held {
	bc_held_slot slot[BC_HELD_MAX];
} bc_held;

/* Our lease of app_id now (0: none). */
uint64_t bc_held_get(const bc_held *t, int64_t app_id);

/* Our lease of app_id is lease (0: none); clears a lost mark. -1 when the
 * table has no room for another app (BC_HELD_MAX). */
int bc_held_set(bc_held *t, int64_t app_id, uint64_t lease);

/* lease (of app_id) ran out: marked, if it is still the one held. */
void bc_held_mark_lost(bc_held *t, int64_t app_id, uint64_t lease);

/* Did the lease held of app_id run out (marked lost, not taken anew)? */
bool bc_held_is_lost(const bc_held *t, int64_t app_id);

/* How many apps have a lease now. */
size_t bc_held_count(const bc_held *t);

/* The i-th slot with a lease (i from 0; the order is the slots'): its app
 * and lease into *app_id and *lease; false past the last. Walk with
 * `for (i = 0; bc_held_next(t, &i, &a, &l); )`: *i moves on. */
bool bc_held_next(const bc_held *t, size_t *i, int64_t *app_id, uint64_t *lease);

/* A copy of from (the leases; no lost marks) into to. */
void bc_held_copy(bc_held *to, const bc_held *from);

#endif
