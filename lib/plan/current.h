/* Current state, read from Docker's own lists every time (never cached as
 * truth): containers, volumes and networks carrying io.balena.supervised.
 * Pure: the caller fetches the lists. */
#ifndef BC_CURRENT_H
#define BC_CURRENT_H

#include <jansson.h>

#include "lib/base/err.h"
#include "lib/model/model.h"
#include "lib/plan/planner.h"

/* containers: GET /containers/json?all=1; volumes: the Volumes array;
 * networks: GET /networks. Objects without our labels are skipped. On
 * success *out is the caller's (bc_state_free). */
int bc_current_from_docker(const json_t *containers, const json_t *volumes, const json_t *networks,
			   bc_state *out, bc_err *err);

/* The images present, from GET /images/json: one entry per tag and digest
 * (target references carry an explicit tag, see lib/model/target.c). Strings borrow from images,
 * which must outlive the table; *out is the caller's to free(). */
int bc_images_have(const json_t *images, bc_image_have **out, size_t *n, bc_err *err);

#endif
