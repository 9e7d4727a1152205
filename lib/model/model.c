#include "lib/model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
service_free(bc_service *s)
{
	free(s->name);
	free(s->commit);
	free(s->image);
	free(s->config_hash);
	bc_strv_free(&s->depends_on);
	for (size_t i = 0; i < s->n_dep_rules; i++)
		free(s->dep_rules[i].name);
	free(s->dep_rules);
	bc_strv_free(&s->volumes);
	bc_strv_free(&s->ignored);
	bc_strv_free(&s->networks);
	json_decref(s->spec);
	json_decref(s->connect);
	json_decref(s->files);
	free(s->container_name);
	json_decref(s->hooks);
	free(s->container_id);
	free(s->status);
	free(s->image_ref_id);
}

static void
app_free(bc_app *a)
{
	for (size_t i = 0; i < a->n_services; i++)
		service_free(&a->services[i]);
	for (size_t i = 0; i < a->n_volumes; i++) {
		free(a->volumes[i].name);
		free(a->volumes[i].docker_name);
		free(a->volumes[i].config_hash);
		json_decref(a->volumes[i].spec);
	}
	for (size_t i = 0; i < a->n_networks; i++) {
		free(a->networks[i].name);
		free(a->networks[i].docker_name);
		free(a->networks[i].config_hash);
		json_decref(a->networks[i].spec);
	}
	free(a->services);
	free(a->volumes);
	free(a->networks);
	free(a->uuid);
	free(a->name);
	free(a->commit);
	bc_strv_free(&a->skipped);
}

const bc_dep_rule *
bc_service_dep_rule(const bc_service *svc, const char *dep)
{
	for (size_t i = 0; i < svc->n_dep_rules; i++)
		if (strcmp(svc->dep_rules[i].name, dep) == 0)
			return &svc->dep_rules[i];
	return NULL;
}

void
bc_app_remove_service(bc_app *a, size_t i)
{
	if (i >= a->n_services)
		return;
	service_free(&a->services[i]);
	memmove(&a->services[i], &a->services[i + 1],
		(a->n_services - i - 1) * sizeof(a->services[0]));
	a->n_services--;
}

void
bc_state_free_apps(bc_state *s)
{
	for (size_t i = 0; i < s->n_apps; i++)
		app_free(&s->apps[i]);
}

void
bc_state_free(bc_state *s)
{
	bc_state_free_apps(s);
	free(s->apps);
	s->apps = NULL;
	s->n_apps = 0;
}

/* Grow *arr of *n elements of size sz by one zeroed element. */
static void *
grow(void **arr, size_t *n, size_t sz)
{
	char *na = realloc(*arr, (*n + 1) * sz);

	if (na == NULL)
		return NULL;
	*arr = na;
	memset(na + *n * sz, 0, sz);
	return na + (*n)++ * sz;
}

bc_app *
bc_state_add_app(bc_state *s)
{
	return grow((void **)&s->apps, &s->n_apps, sizeof(bc_app));
}

bc_service *
bc_app_add_service(bc_app *a)
{
	return grow((void **)&a->services, &a->n_services, sizeof(bc_service));
}

bc_volume *
bc_app_add_volume(bc_app *a)
{
	return grow((void **)&a->volumes, &a->n_volumes, sizeof(bc_volume));
}

bc_network *
bc_app_add_network(bc_app *a)
{
	return grow((void **)&a->networks, &a->n_networks, sizeof(bc_network));
}

bc_app *
bc_state_app(const bc_state *s, int64_t app_id)
{
	for (size_t i = 0; i < s->n_apps; i++)
		if (s->apps[i].app_id == app_id)
			return &s->apps[i];
	return NULL;
}

bc_service *
bc_app_service(const bc_app *a, const char *name)
{
	for (size_t i = 0; i < a->n_services; i++)
		if (strcmp(a->services[i].name, name) == 0)
			return &a->services[i];
	return NULL;
}

bc_volume *
bc_app_volume(const bc_app *a, const char *name)
{
	for (size_t i = 0; i < a->n_volumes; i++)
		if (strcmp(a->volumes[i].name, name) == 0)
			return &a->volumes[i];
	return NULL;
}

bc_network *
bc_app_network(const bc_app *a, const char *name)
{
	for (size_t i = 0; i < a->n_networks; i++)
		if (strcmp(a->networks[i].name, name) == 0)
			return &a->networks[i];
	return NULL;
}

static int
fits(int n, size_t cap)
{
	return (n >= 0 && (size_t)n < cap) ? 0 : -1;
}

int
bc_container_name(char *out, size_t n, const bc_service *svc)
{
	if (svc->container_name != NULL)
		return fits(snprintf(out, n, "%s", svc->container_name), n);
	return fits(snprintf(out, n, "%s_%lld_%lld_%s", svc->name, (long long)svc->image_id,
			     (long long)svc->release_id, svc->commit ? svc->commit : "none"),
		    n);
}

int
bc_volume_docker_name(char *out, size_t n, int64_t app_id, const char *name)
{
	return fits(snprintf(out, n, "%lld_%s", (long long)app_id, name), n);
}

int
bc_network_docker_name(char *out, size_t n, const char *app_uuid, const char *name)
{
	return fits(snprintf(out, n, "%s_%s", app_uuid, name), n);
}

const char *
bc_strategy_name(enum bc_strategy s)
{
	switch (s) {
	case BC_STRAT_DOWNLOAD_THEN_KILL:
		return "download-then-kill";
	case BC_STRAT_KILL_THEN_DOWNLOAD:
		return "kill-then-download";
	case BC_STRAT_DELETE_THEN_DOWNLOAD:
		return "delete-then-download";
	case BC_STRAT_HAND_OVER:
		return "hand-over";
	}
	return "?";
}

int
bc_volume_dname(char *out, size_t n, int64_t app_id, const bc_volume *v)
{
	if (v->docker_name != NULL)
		return fits(snprintf(out, n, "%s", v->docker_name), n);
	return bc_volume_docker_name(out, n, app_id, v->name);
}

int
bc_network_dname(char *out, size_t n, const char *app_uuid, const bc_network *net)
{
	if (net->docker_name != NULL)
		return fits(snprintf(out, n, "%s", net->docker_name), n);
	return bc_network_docker_name(out, n, app_uuid, net->name);
}
