#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "current.h"

#define SUPERVISED "io.balena.supervised"

struct bc_engine {
	bc_docker *handles[BC_ENGINE_MAX_WORKERS];
	size_t n;
	bc_exec_env env;
};

bc_engine *
bc_engine_new(size_t nworkers, const bc_exec_env *env, bc_err *err)
{
	bc_engine *e;

	if (nworkers < 1 || nworkers > BC_ENGINE_MAX_WORKERS) {
		bc_err_set(err, BC_EINVAL, "engine: %zu workers (1..%d)", nworkers,
			   BC_ENGINE_MAX_WORKERS);
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		bc_err_sys(err, "engine");
		return NULL;
	}
	e->env = *env;
	for (e->n = 0; e->n < nworkers; e->n++)
		if ((e->handles[e->n] = bc_docker_new(NULL, err)) == NULL) {
			bc_engine_free(e);
			return NULL;
		}
	return e;
}

void
bc_engine_free(bc_engine *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n; i++)
		bc_docker_free(e->handles[i]);
	free(e);
}

bc_docker *
bc_engine_docker(bc_engine *e)
{
	return e->handles[0];
}

static int
observe(bc_engine *e, bc_state *cur, json_t **images, bc_err *err)
{
	bc_docker *d = e->handles[0];
	json_t *c = NULL, *v = NULL, *n = NULL;
	int rc = -1;

	memset(cur, 0, sizeof(*cur));
	if ((c = bc_docker_container_list(d, SUPERVISED, true, err)) == NULL ||
	    (v = bc_docker_volume_list(d, SUPERVISED, err)) == NULL ||
	    (n = bc_docker_network_list(d, SUPERVISED, err)) == NULL ||
	    (images != NULL && (*images = bc_docker_image_list(d, NULL, err)) == NULL))
		goto out;
	rc = bc_current_from_docker(c, v, n, cur, err);
out:
	json_decref(c);
	json_decref(v);
	json_decref(n);
	return rc;
}

int
bc_engine_observe(bc_engine *e, bc_state *current, bc_err *err)
{
	return observe(e, current, NULL, err);
}

/* Drop the apps outside the scope from a current state. */
static void
apply_scope(bc_state *cur, const int64_t *scope, size_t n)
{
	size_t keep = 0;

	if (scope == NULL)
		return;
	for (size_t i = 0; i < cur->n_apps; i++) {
		bool in = false;
		for (size_t k = 0; k < n && !in; k++)
			in = scope[k] == cur->apps[i].app_id;
		if (in) {
			cur->apps[keep++] = cur->apps[i];
		} else {
			bc_state one = {.apps = &cur->apps[i], .n_apps = 1};
			bc_state_free_apps(&one);
		}
	}
	cur->n_apps = keep;
}

int
bc_engine_converge(bc_engine *e, const bc_state *target, bc_converge *c, bc_err *err)
{
	int max = c->max_rounds > 0 ? c->max_rounds : 32;

	c->rounds = 0;
	c->steps_done = 0;
	c->settled = false;
	c->waiting[0] = '\0';
	for (int round = 0; round < max; round++) {
		bc_state cur;
		json_t *images = NULL;
		bc_image_have *have = NULL;
		size_t nhave = 0, todo;
		bc_plan plan;
		bc_plan_ctx ctx;
		int failed;

		if (observe(e, &cur, &images, err) < 0)
			return -1;
		apply_scope(&cur, c->scope, c->n_scope);
		if (bc_images_have(images, &have, &nhave, err) < 0) {
			bc_state_free(&cur);
			json_decref(images);
			return -1;
		}
		ctx = (bc_plan_ctx){.images = have,
				    .n_images = nhave,
				    .now_ms = c->now_ms,
				    .remove_volumes = c->remove_volumes,
				    .handover_complete = c->handover_complete,
				    .lock_held = c->lock_held,
				    .app_lock = c->app_lock,
				    .ud = c->ud};
		if (bc_plan_build(&cur, target, &ctx, &plan, err) < 0) {
			free(have);
			json_decref(images);
			bc_state_free(&cur);
			return -1;
		}
		todo = bc_plan_actionable(&plan);
		if (todo == 0) {
			c->settled = plan.n == 0;
			for (size_t i = 0; i < plan.n; i++) {
				char one[200];
				size_t used = strlen(c->waiting);
				bc_step_describe(&plan.steps[i], one, sizeof(one));
				snprintf(c->waiting + used, sizeof(c->waiting) - used, "%s%s: %s",
					 used ? "; " : "", one, plan.steps[i].reason);
			}
		} else {
			failed = bc_exec_round(e->handles, e->n, &plan, &cur, &e->env, err);
			c->rounds++;
			c->steps_done += todo;
			if (failed > 0 && err != NULL && err->code == BC_ELOCKED) {
				/* an app said "not now" as we asked: wait, it is no failure */
				snprintf(c->waiting, sizeof(c->waiting), "%s", err->msg);
				bc_err_clear(err);
				todo = 0;
			} else if (failed > 0) {
				todo = (size_t)-1;
			}
		}
		bc_plan_free(&plan);
		free(have);
		json_decref(images);
		bc_state_free(&cur);
		if (todo == 0)
			return 0;
		if (todo == (size_t)-1)
			return -1;
	}
	return bc_err_set(err, BC_ETIMEOUT, "did not converge in %d rounds", max);
}
