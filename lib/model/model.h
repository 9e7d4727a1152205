/* One model for target and current state: apps, their services, volumes and
 * networks. Target state comes from a v3 target (lib/model/target.c) or a compose
 * file (lib/model/compose.c, via the same v3 shape); current state is read from
 * Docker's lists (lib/plan/current.c) every time, never kept as truth.
 *
 * Ownership: a bc_state owns everything below it; bc_state_free frees it
 * all. Strings are NUL-terminated heap copies; json_t members are owned
 * references. */
#ifndef BC_MODEL_H
#define BC_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

enum bc_strategy {
	BC_STRAT_DOWNLOAD_THEN_KILL = 0, /* the default */
	BC_STRAT_KILL_THEN_DOWNLOAD,
	BC_STRAT_DELETE_THEN_DOWNLOAD,
	BC_STRAT_HAND_OVER,
};

/* A list of owned strings: the same list as the wire's (proto/proto.h). */
typedef bc_strs bc_strv;

/* What a service waits for of a dependency before it starts (depends_on's
 * long form, compose's conditions). */
enum bc_dep_cond {
	BC_DEP_STARTED = 0, /* service_started: running (the short form) */
	BC_DEP_HEALTHY,	    /* service_healthy: running and healthy */
	BC_DEP_COMPLETED,   /* service_completed_successfully: exited 0 */
};

typedef struct bc_dep_rule {
	char *name;    /* the dependency */
	uint8_t cond;  /* enum bc_dep_cond */
	bool optional; /* required: false: it may be absent from the release */
	bool restart;  /* restart: true */
} bc_dep_rule;

/* A container's health as Docker reports it (current only). */
enum bc_health { BC_HEALTH_NONE = 0, BC_HEALTH_STARTING, BC_HEALTH_HEALTHY, BC_HEALTH_UNHEALTHY };

typedef struct bc_service {
	char *name;	    /* service name in the compose sense */
	int64_t service_id; /* balena serviceId (0 in pure local mode) */
	int64_t image_id;   /* balena imageId: names the container */
	int64_t release_id; /* names the container */
	char *commit;	    /* release commit: names the container */
	char *image;	    /* image reference */
	/* the container's name a release gives it (the label
	 * io.balena-compose.container-name: compose's container_name), or
	 * NULL for <service>_<imageId>_<releaseId>_<commit>; current: the
	 * name of a container named so */
	char *container_name;
	bool running;	    /* target: wanted running; current: is running */
	char *config_hash;  /* effective config, see lib/model/spec.h */
	bc_strv depends_on; /* service names */
	/* depends_on's long form: the rule of each dependency that has one
	 * (one without: started, required) */
	bc_dep_rule *dep_rules;
	size_t n_dep_rules;
	bc_strv ignored;  /* target only: composition keys left out (unknown, or
			     not run here), as the supervisor drops them */
	bc_strv volumes;  /* app-level names of the named volumes it mounts */
	bc_strv networks; /* app-level names of the networks it joins */
	enum bc_strategy strategy;
	uint64_t handover_timeout_ms;
	/* how long it must run (healthy, where it has a healthcheck) before
	 * its update is committed: the label
	 * io.balena-compose.update.settle-period; -1: not set (BC_SETTLE_PERIOD) */
	int64_t settle_ms;
	/* how long it may stay unhealthy before it is restarted: the label
	 * io.balena-compose.health.restart-after (0: never); -1: not set
	 * (BC_UNHEALTHY_RESTART) */
	int64_t unhealthy_ms;
	/* target only */
	json_t *spec;	 /* Docker create body without Image (lib/model/spec.h) */
	json_t *connect; /* network name -> EndpointConfig, joined after create */
	/* target only: files made in the container after create, before it
	 * starts ([{target, content, mode, uid, gid}], the composition's
	 * "files"), or NULL */
	json_t *files;
	/* post_start and pre_stop: {"post_start": [exec body], "pre_stop":
	 * [...]}, or NULL; a current container's pre_stop from its label */
	json_t *hooks;
	/* current only */
	char *container_id;
	char *status;	    /* Docker's State: created, running, exited, dead, ... */
	char *image_ref_id; /* ImageID (sha256:...) the container runs */
	int64_t created;    /* unix seconds */
	int64_t started_ms; /* when it last started (ms since the epoch), where the
			       engine looked (a hand-over's new container); 0:
			       not known */
	int64_t created_ms; /* when it was created (ms since the epoch), where the
			       engine looked (a dependency of a restart: true
			       rule); 0: not known */
	uint8_t health;	    /* enum bc_health */
	int exit_code;	    /* of an exited container; -1: not known */
} bc_service;

typedef struct bc_volume {
	char *name; /* app-level name; Docker name is <appId>_<name> */
	char *config_hash;
	json_t *spec; /* target only: Docker create body */
	/* target only: the Docker name a release gives it (compose's name:),
	 * or NULL for <appId>_<name> */
	char *docker_name;
	/* target only: made outside the app (compose's external: true): used
	 * as it is, never created or removed; docker_name is set */
	bool external;
} bc_volume;

typedef struct bc_network {
	char *name; /* app-level name; Docker name is <appUuid>_<name> */
	char *config_hash;
	json_t *spec; /* target only */
	char *docker_name; /* as bc_volume's */
	bool external;
} bc_network;

typedef struct bc_app {
	int64_t app_id;
	char *uuid;
	char *name;   /* target only */
	char *commit; /* target release commit */
	int64_t release_id;
	bc_service *services;
	size_t n_services;
	bc_volume *volumes;
	size_t n_volumes;
	bc_network *networks;
	size_t n_networks;
	/* target only: services of the release not run, their contracts
	 * unmet and they optional (lib/model/contract.h) */
	bc_strv skipped;
} bc_app;

typedef struct bc_state {
	bc_app *apps;
	size_t n_apps;
} bc_state;

void bc_state_free(bc_state *s);
/* Free what each app of s owns, but not the apps array itself. */
void bc_state_free_apps(bc_state *s);

/* Lookups; NULL when absent. Returned pointers borrow from the state. */
bc_app *bc_state_app(const bc_state *s, int64_t app_id);
bc_service *bc_app_service(const bc_app *a, const char *name);
bc_volume *bc_app_volume(const bc_app *a, const char *name);
bc_network *bc_app_network(const bc_app *a, const char *name);

/* Append helpers: return a zeroed new element, or NULL on allocation
 * failure. The pointer is valid until the next append to the same array. */
bc_app *bc_state_add_app(bc_state *s);
bc_service *bc_app_add_service(bc_app *a);
bc_volume *bc_app_add_volume(bc_app *a);
bc_network *bc_app_add_network(bc_app *a);

/* The rule svc has for its dependency dep (NULL: started, required). */
const bc_dep_rule *bc_service_dep_rule(const bc_service *svc, const char *dep);

/* Free the service at index i and close the gap (i out of range: a no-op). */
void bc_app_remove_service(bc_app *a, size_t i);

static inline int
bc_strv_add(bc_strv *v, const char *s)
{
	return bc_strs_add(v, s);
}
static inline bool
bc_strv_has(const bc_strv *v, const char *s)
{
	return bc_strs_has(v, s);
}
static inline void
bc_strv_free(bc_strv *v)
{
	bc_strs_free(v);
}

/* Docker object names, into out. Return -1 if they do not fit. */
int bc_container_name(char *out, size_t n, const bc_service *svc);
/* A volume's or a network's Docker name: its docker_name, else the
 * derived one (bc_volume_docker_name, bc_network_docker_name). 0, or -1
 * when it does not fit in out (n bytes). */
int bc_volume_dname(char *out, size_t n, int64_t app_id, const bc_volume *v);
int bc_network_dname(char *out, size_t n, const char *app_uuid, const bc_network *net);
int bc_volume_docker_name(char *out, size_t n, int64_t app_id, const char *name);
int bc_network_docker_name(char *out, size_t n, const char *app_uuid, const char *name);

const char *bc_strategy_name(enum bc_strategy s);

#endif
