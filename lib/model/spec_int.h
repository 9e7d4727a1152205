/* Internal to lib/spec*.c: the service being built and the key handlers.
 * Nothing outside lib/model/spec.c and lib/model/spec_keys.c includes this. */
#ifndef BC_SPEC_INT_H
#define BC_SPEC_INT_H

#include <stdbool.h>

#include "lib/model/spec.h"

/* The service being built. */
struct sb {
	const bc_spec_ctx *ctx;
	bc_service *svc;
	bc_err *err;
	json_t *body;	/* the create body */
	json_t *host;	/* body.HostConfig (borrowed) */
	json_t *env;	/* name -> value, merged */
	json_t *labels; /* name -> value */
	json_t *binds;	/* HostConfig.Binds (borrowed) */
	json_t *nets;	/* network name -> endpoint config, in order */
	const char *network_mode;
	char mode_buf[300];    /* network_mode as we write it ("service:x") */
	const char *first_net; /* the network of the highest priority (joined at
				  create), or NULL: the first given */
	int64_t first_prio;
	bool allow_binds;
};

struct key;
typedef int (*keyfn)(struct sb *b, const struct key *k, json_t *v);
struct key {
	const char *name;
	keyfn fn;
	bool host;	   /* field lives in HostConfig */
	const char *field; /* Docker field, for the generic kinds */
};

/* Every compose key we take for a service, "labels" first (feature labels
 * steer the rest). */
extern const struct key bc_spec_keys[];
extern const size_t bc_spec_nkeys;
extern const char *const bc_spec_volume_keys[];
extern const char *const bc_spec_network_keys[];

/* An error about key of the service being built ("<where> service 'x':
 * 'key': what"), and the wrapper for a value parser's error. */
int spec_fail(struct sb *b, const char *key, const char *fmt, const char *arg);
int spec_wrap(struct sb *b, const char *key);
/* "K=V" list or map of scalars into obj (sep '=' or ':'). */
int spec_pairs_into(struct sb *b, const char *key, json_t *v, json_t *obj, char sep);
/* Join the service to a network the release declares. */
int spec_add_network(struct sb *b, const char *name, json_t *cfg);

#endif
