/* The locker's lease table: which of our leases are live, on which app's
 * services, until when. Pure: no I/O, no clock (now comes in), no lock (the
 * caller holds its own); ending a lease's files is the caller's. */
#ifndef BC_LEASES_H
#define BC_LEASES_H

#include <stdint.h>

#include "lib/model/model.h"

#define BC_LEASES_MAX 64

typedef struct bc_lease {
	uint64_t id; /* 0: a free slot */
	int64_t app_id;
	bc_strv services; /* owned by the slot */
	uint64_t expires; /* monotonic ms */
} bc_lease;

typedef struct bc_leases {
	bc_lease slot[BC_LEASES_MAX];
} bc_leases;

/* The live lease id (of app_id, unless app_id is 0), or NULL. Borrowed. */
bc_lease *bc_leases_get(bc_leases *t, uint64_t id, int64_t app_id);

/* A free slot, or NULL when BC_LEASES_MAX leases are live. */
bc_lease *bc_leases_slot(bc_leases *t);

/* Make ls live: id, app, services (moved in: *services is emptied), until
 * expires. A slot that was live already keeps its id and app and gets the
 * new services. */
void bc_leases_set(bc_lease *ls, uint64_t id, int64_t app_id, bc_strv *services,
		   uint64_t expires);

/* Free the slot (and its services). */
void bc_leases_clear(bc_lease *ls);

/* One lease whose time is up at now, or NULL; *next (if not NULL) gets the
 * earliest expiry among the leases still live after it (UINT64_MAX: none).
 * Call again after clearing it to find the next. */
bc_lease *bc_leases_expired(bc_leases *t, uint64_t now, uint64_t *next);

/* A lease id from a random number: non-zero, fits an int64. */
uint64_t bc_lease_id(uint64_t random);

#endif
