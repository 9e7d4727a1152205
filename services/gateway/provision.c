/* Provisioning, as the supervisor does it: a config.json with the fleet's
 * provisioning key (apiKey) and no registered device gets a uuid and a
 * deviceApiKey of its own, written to config.json *before* the device is
 * registered (POST {apiEndpoint}/device/register, Bearer apiKey). A restart
 * mid-way then registers the same uuid again: 409, and a lookup with our
 * own key (GET /v6/device?$filter=uuid eq '...') says it is ours. Once
 * registered, deviceId and registered_at are written and apiKey removed.
 * Errors are retried, backing off. Nothing here is ever logged with a key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "gateway.h"

static void rq_register(struct gw *g);

static int
random_hex(char *out, size_t nbytes)
{
	unsigned char b[32];

	if (nbytes > sizeof(b) || getrandom(b, nbytes, 0) != (ssize_t)nbytes)
		return -1;
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	explicit_bzero(b, sizeof(b));
	return 0;
}

static int
reload(struct gw *g, bc_err *err)
{
	bc_config_free(&g->cfg);
	return bc_config_load(g->d->settings.config, &g->cfg, err);
}

/* A uuid and a key of our own, in config.json before anything is sent. */
/* config.json changed (bc_config_update): it is 0600 now; say so when
 * others could read it before */
static int
update_config(struct gw *g, const json_t *ch, bc_err *err)
{
	int was = 0600;

	if (bc_config_update(g->d->settings.config, ch, &was, err) < 0)
		return -1;
	if ((was & 077) != 0)
		log_warnx("%s was readable by others (mode %04o): it holds the device's key, "
			  "written 0600 now",
			  g->d->settings.config, was);
	return 0;
}

static int
identity(struct gw *g, bool fresh, bc_err *err)
{
	char uuid[33], key[33];
	json_t *ch = json_object();
	int rc = 0;

	if (fresh || g->cfg.uuid == NULL) {
		if (random_hex(uuid, 16) < 0)
			rc = bc_err_sys(err, "random uuid");
		json_object_set_new(ch, "uuid", json_string(uuid));
	}
	if (rc == 0 && (fresh || g->cfg.device_api_key == NULL)) {
		if (random_hex(key, 16) < 0)
			rc = bc_err_sys(err, "random key");
		json_object_set_new(ch, "deviceApiKey", json_string(key));
		explicit_bzero(key, sizeof(key));
	}
	if (rc == 0 && json_object_size(ch) > 0 &&
	    (update_config(g, ch, err) < 0 || reload(g, err) < 0))
		rc = -1;
	json_decref(ch);
	return rc;
}

static void
retry(struct gw *g, const char *why)
{
	uint64_t wait =
	    bc_cloud_backoff_ms(g->prov_errors++, 0, g->cfg.app_update_poll_interval_ms);

	log_warnx("provisioning: %s; again in %llu ms", why, (unsigned long long)wait);
	g->prov_at = bc_mono_ms() + wait;
}

static void
registered(struct gw *g, int64_t id)
{
	json_t *ch = json_pack("{s:I, s:I, s:n}", "deviceId", (json_int_t)id, "registered_at",
			       (json_int_t)time(NULL) * 1000, "apiKey");
	bc_err err = {0};

	if (update_config(g, ch, &err) < 0 || reload(g, &err) < 0) {
		json_decref(ch);
		retry(g, err.msg);
		return;
	}
	json_decref(ch);
	log_info("registered as device %lld (%s); the provisioning key is gone from %s",
		 (long long)id, g->cfg.uuid, g->d->settings.config);
	g->provisioned = true;
	g->prov_at = 0;
	gw_poll_now(g);
}

static void
lookup_done(struct gw *g, struct gw_req *rq)
{
	json_t *doc = rq->rv == 0 && rq->status == 200 && rq->body
			  ? json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, NULL)
			  : NULL;
	json_t *d0 = json_array_get(json_object_get(doc, "d"), 0);
	json_int_t id = json_integer_value(json_object_get(d0, "id"));
	bc_err err = {0};
	char why[96];

	switch (bc_gw_prov_after_lookup(rq->rv == 0, rq->status, id)) {
	case BC_GW_PROV_REGISTERED: /* our own earlier registration (a restart mid-way) */
		registered(g, id);
		break;
	case BC_GW_PROV_NEW_IDENTITY:
		if (identity(g, true, &err) < 0)
			retry(g, err.msg);
		else
			retry(g, "the uuid was taken; registering with a new one");
		break;
	default:
		snprintf(why, sizeof(why), "device lookup: %s",
			 rq->rv ? gw_req_error(rq) : "an HTTP error");
		retry(g, why);
		break;
	}
	json_decref(doc);
	gw_req_free(rq);
}

static void
lookup(struct gw *g)
{
	struct gw_req *rq = calloc(1, sizeof(*rq));
	char url[1400];
	bc_err err = {0};

	if (rq == NULL)
		return retry(g, "out of memory");
	rq->max = GW_MAX_ANSWER;
	rq->done = lookup_done;
	snprintf(url, sizeof(url), "%s/v6/device?$filter=uuid%%20eq%%20'%s'&$select=id",
		 g->cfg.api_endpoint, g->cfg.uuid);
	if (gw_http_send(g, rq, "GET", url, NULL, NULL, &err) < 0)
		retry(g, err.msg);
}

static void
register_done(struct gw *g, struct gw_req *rq)
{
	json_t *doc = rq->rv == 0 && rq->status == 201 && rq->body
			  ? json_loadb(rq->body, rq->len, 0, NULL)
			  : NULL;
	json_int_t id = json_integer_value(json_object_get(doc, "id"));
	char why[96];

	json_decref(doc);
	switch (bc_gw_prov_after_register(rq->rv == 0, rq->status, id)) {
	case BC_GW_PROV_REGISTERED:
		registered(g, id);
		break;
	case BC_GW_PROV_LOOKUP:
		lookup(g); /* registered before? */
		break;
	default:
		if (rq->rv != 0)
			snprintf(why, sizeof(why), "register: %s", gw_req_error(rq));
		else if (rq->status == 201)
			snprintf(why, sizeof(why), "register: 201 without a device id");
		else
			snprintf(why, sizeof(why), "register: HTTP %ld", rq->status);
		retry(g, why);
		break;
	}
	gw_req_free(rq);
}

static void
rq_register(struct gw *g)
{
	struct gw_req *rq = calloc(1, sizeof(*rq));
	char url[1200], *body;
	json_t *b;
	bc_err err = {0};

	if (rq == NULL)
		return retry(g, "out of memory");
	b = json_pack("{s:s, s:s, s:s, s:s}", "uuid", g->cfg.uuid, "device_type",
		      g->cfg.device_type ? g->cfg.device_type : "generic", "api_key",
		      g->cfg.device_api_key, "supervisor_version", "balena-compose " BC_VERSION);
	if (g->cfg.application_id > 0)
		json_object_set_new(b, "application", json_integer(g->cfg.application_id));
	body = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	rq->max = GW_MAX_ANSWER;
	rq->done = register_done;
	rq->bearer = g->cfg.api_key;
	snprintf(url, sizeof(url), "%s/device/register", g->cfg.api_endpoint);
	if (gw_http_send(g, rq, "POST", url, NULL, body, &err) < 0)
		retry(g, err.msg);
}

static uint64_t
prov_due(void *ud)
{
	struct gw *g = ud;
	return g->prov_at != 0 ? g->prov_at : UINT64_MAX;
}

static void
prov_fire(void *ud)
{
	struct gw *g = ud;

	g->prov_at = 0;
	rq_register(g);
}

bool
gw_provision_needed(const bc_config *c)
{
	return c->api_key != NULL && (c->device_api_key == NULL || c->device_id == 0);
}

int
gw_provision_start(struct gw *g, bc_err *err)
{
	if (identity(g, false, err) < 0)
		return -1;
	log_info("provisioning device %s with the fleet's key", g->cfg.uuid);
	g->prov_at = bc_mono_ms();
	return bc_daemon_timer(g->d, prov_due, prov_fire, g, err);
}
