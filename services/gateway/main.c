/* gateway daemon: follows the cloud's target for this device and reports
 * its state (gateway.h). Without an apiEndpoint in config.json (unmanaged)
 * it answers PING and POLL and does nothing else: local mode. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/log.h"
#include "gateway.h"

static char *
dup_or_null(const char *s)
{
	return s != NULL && *s ? strdup(s) : NULL;
}

static int
status(struct gw *g, bc_msg *rep)
{
	bc_body_gw_info *i = &rep->body.gw_info;

	rep->type = BC_MSG_GW_INFO;
	i->mode = strdup(!g->cloud ? "local" : g->provisioned ? "cloud" : "provisioning");
	i->endpoint = dup_or_null(g->cfg.api_endpoint);
	i->uuid = dup_or_null(g->cfg.uuid);
	i->last_poll = dup_or_null(g->last_poll);
	i->last_report = dup_or_null(g->last_report);
	i->rejected = g->rejected_why[0] ? strdup(g->rejected_why) : NULL;
	i->reachable = g->reachable;
	return BC_HANDLED;
}

static int
dispatch(struct bc_daemon *d, const bc_msg *req, bc_msg *rep, bc_err *err)
{
	struct gw *g = d->ops->ctx;

	if (req->type == BC_MSG_GW_STATUS)
		return status(g, rep);
	if (req->type != BC_MSG_POLL)
		return BC_NOT_MINE;
	if (!g->cloud)
		return bc_err_set(err, BC_EINVAL,
				  "local mode: config.json (%s) has no apiEndpoint, there is no "
				  "cloud to ask",
				  d->settings.config);
	(void)rep;
	return gw_poll_wait(g, err);
}

static int
start(struct bc_daemon *d, bc_err *err)
{
	struct gw *g = d->ops->ctx;
	bc_err cerr = {0};
	char why[600];

	g->d = d;
	snprintf(g->ca_file, sizeof(g->ca_file), "%s", d->settings.ca_file);
	snprintf(g->statefile, sizeof(g->statefile), "%s/cloud-target.json", d->settings.statedir);
	switch (bc_config_mode(d->settings.config, &g->cfg, why, sizeof(why), &cerr)) {
	case BC_MODE_LOCAL:
		log_info("local mode (%s)", why);
		return 0;
	case BC_MODE_CLOUD:
		break;
	default:
		/* a broken one is not a reason to leave the cloud silently */
		*err = cerr;
		err->code = BC_EINVAL;
		return -1;
	}
	g->cloud = true;
	g->timeout_ms = g->cfg.api_timeout_ms < GW_REQUEST_TIMEOUT_MS ? g->cfg.api_timeout_ms
								      : GW_REQUEST_TIMEOUT_MS;
	g->provisioned = !gw_provision_needed(&g->cfg);
	if (g->provisioned && (g->cfg.uuid == NULL || g->cfg.device_api_key == NULL))
		return bc_err_set(
		    err, BC_EINVAL,
		    "%s: a managed device needs uuid and deviceApiKey (or apiKey, the "
		    "fleet's provisioning key, to register)",
		    d->settings.config);
	/* the pool: the hand-off of nng's threads (HTTP, the reconciler's
	 * answers) to the loop, which never waits on either */
	if (bc_daemon_start_pool(d, 1, 8, err) < 0 ||
	    (g->recon = bc_peer_open(d->pool, NULL, "reconciler", err)) == NULL ||
	    gw_http_start(g, err) < 0 || (!g->provisioned && gw_provision_start(g, err) < 0) ||
	    gw_poll_start(g, err) < 0 || gw_report_start(g, err) < 0)
		return -1;
	log_info("following %s for device %s", g->cfg.api_endpoint, g->cfg.uuid);
	if (strncmp(g->cfg.api_endpoint, "http://", 7) == 0)
		log_warnx("the cloud over plain http (%s): for tests only; a local user listening "
			  "first on that port gets the device's key",
			  g->cfg.api_endpoint);
	return 0;
}

/* SIGUSR1: poll now, as the supervisor does */
static void
usr1(struct bc_daemon *d)
{
	struct gw *g = d->ops->ctx;

	if (!g->cloud || !g->provisioned) {
		log_info("SIGUSR1: %s",
			 g->cloud ? "not registered yet" : "local mode, no cloud to poll");
		return;
	}
	log_info("SIGUSR1: polling the cloud now");
	gw_poll_now(g);
}

static void
stop(struct bc_daemon *d)
{
	struct gw *g = d->ops->ctx;

	/* what the pool still ends after this (its done()) touches nothing
	 * of ours: gw->stopping */
	atomic_store(&g->stopping, 1);
	if (g->cloud) {
		gw_report_stop(g);
		gw_http_stop(g);
		bc_peer_free(g->recon);
		g->recon = NULL;
	}
	free(g->target);
	g->target = NULL;
	bc_statebody_free(&g->state);
	g->have_state = false;
	bc_reporter_free(&g->reported);
	bc_config_free(&g->cfg); /* wipes the key */
}

int
main(int argc, char **argv)
{
	static struct gw g;
	static const struct bc_daemon_ops ops = {.name = "gateway",
						 .dispatch = dispatch,
						 .ctx = &g,
						 .start = start,
						 .stop = stop,
						 .usr1 = usr1,
						 .secrets = true};
	return bc_daemon_main(argc, argv, &ops);
}
