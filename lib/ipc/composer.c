/* The Composer API (include/balena-compose.h) on top of lib/client and
 * lib/compose. */
#include "include/balena-compose.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ipc/client.h"
#include "proto/ipc.h"
#include "lib/model/compose.h"
#include "lib/plan/statedoc.h"
#include "lib/model/target.h"

struct bc_composer {
	int64_t app_id;
	char *uuid;
	char *rundir;
	int timeout_ms;
	/* one subscription to the reconciler for the composer's life, opened
	 * at its first update: never a close per update (bc_client_wait_on) */
	nng_socket sub;
	bool have_sub;
};

static void say(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void
say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

bc_composer *
bc_composer_new(int64_t app_id, const bc_composer_options *opts, char *errbuf, size_t errlen)
{
	bc_composer *c;

	if (app_id <= 0) {
		say(errbuf, errlen, "composer: app id must be positive");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		say(errbuf, errlen, "composer: out of memory");
		return NULL;
	}
	c->app_id = app_id;
	c->uuid = strdup(opts && opts->uuid ? opts->uuid : "local");
	c->rundir = opts && opts->rundir ? strdup(opts->rundir) : NULL;
	c->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : 600000;
	if (c->uuid == NULL || (opts && opts->rundir && c->rundir == NULL)) {
		bc_composer_free(c);
		say(errbuf, errlen, "composer: out of memory");
		return NULL;
	}
	return c;
}

void
bc_composer_free(bc_composer *c)
{
	if (c == NULL)
		return;
	if (c->have_sub)
		bc_sock_close(c->sub);
	free(c->uuid);
	free(c->rundir);
	free(c);
}

char *
bc_composer_state(bc_composer *c, char *errbuf, size_t errlen)
{
	uint64_t gen;
	bool settled;
	json_t *doc, *mine;
	bc_err err = {0};
	char *out;

	if (bc_client_state(c->rundir, &gen, &settled, &doc, &err) < 0) {
		say(errbuf, errlen, "composer state: %s", err.msg);
		return NULL;
	}
	mine = bc_statedoc_app(doc, c->app_id);
	out = mine ? json_dumps(mine, JSON_COMPACT) : NULL;
	json_decref(mine);
	json_decref(doc);
	if (out == NULL)
		say(errbuf, errlen, "composer state: out of memory");
	return out;
}

/* The release number of commit for this app: the one it has when commit
 * is the app's release now, else one past the highest of its services (a
 * new release numbers on; 1 for the first, or when the state is not to be
 * had). */
static int64_t
release_of(bc_composer *c, const char *commit)
{
	uint64_t gen;
	bool settled;
	json_t *doc = NULL, *a, *s;
	const char *k, *have;
	int64_t top = 0;

	if (bc_client_state(c->rundir, &gen, &settled, &doc, NULL) < 0)
		return 1;
	if ((a = bc_statedoc_find(doc, c->app_id)) != NULL) {
		json_object_foreach(json_object_get(a, "services"), k, s)
		{
			json_int_t r = json_integer_value(json_object_get(s, "release"));
			if (r > top)
				top = r;
		}
		have = json_string_value(json_object_get(a, "commit"));
		if (have == NULL || strcmp(have, commit) != 0 || top == 0)
			top++;
	}
	json_decref(doc);
	return top > 0 ? top : 1;
}

int
bc_composer_update(bc_composer *c, const char *commit, const char *target, char *errbuf,
		   size_t errlen)
{
	bc_compose_opts o = {.device = c->uuid, .app_id = c->app_id, .commit = commit};
	json_t *compose, *doc = NULL;
	bc_state st;
	bc_err err = {0};
	bc_ack ack;
	enum bc_wait_until until = BC_UNTIL_IDLE;
	char *text = NULL;
	int rc = -1;

	if (commit == NULL || *commit == '\0' || target == NULL) {
		say(errbuf, errlen, "composer update: commit and target are required");
		return -1;
	}
	/* subscribe before asking (a round that ends in between is not lost);
	 * without it the wait polls */
	if (!c->have_sub)
		c->have_sub = bc_client_sub(c->rundir, "reconciler", false, &c->sub, NULL) == 0;
	if ((compose = bc_target_load(target, strlen(target), "target", &err)) == NULL) {
		say(errbuf, errlen, "composer update: %s", err.msg);
		return -1;
	}
	if (json_is_object(compose) &&
	    json_object_size(json_object_get(compose, "services")) == 0) {
		/* nothing to run: the app goes */
		char id[32];
		snprintf(id, sizeof(id), "%lld", (long long)c->app_id);
		json_decref(compose);
		until = BC_UNTIL_GONE_BUT_VOLUMES;
		if (bc_client_down(c->rundir, id, false, &ack, &err) < 0) {
			if (err.code == BC_ENOTFOUND)
				return 0; /* it was not there: done */
			say(errbuf, errlen, "composer update: %s", err.msg);
			return -1;
		}
		goto wait;
	}
	o.release_id = release_of(c, commit);
	doc = bc_compose_to_target(compose, "target", &o, &err);
	json_decref(compose);
	if (doc == NULL || bc_target_parse(doc, NULL, &st, &err) < 0) {
		say(errbuf, errlen, "composer update: %s", err.msg);
		json_decref(doc);
		return -1;
	}
	bc_state_free(&st);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (text == NULL || bc_client_apply(c->rundir, text, false, &ack, &err) < 0) {
		say(errbuf, errlen, "composer update: %s", text ? err.msg : "out of memory");
		free(text);
		return -1;
	}
	free(text);
wait:
	/* this app only: another app's trouble is not this update's */
	if (bc_client_wait_on(c->rundir, c->have_sub ? &c->sub : NULL, &ack, &c->app_id, 1, until,
			      c->timeout_ms, NULL, NULL, &err) < 0)
		say(errbuf, errlen, "composer update: %s", err.msg);
	else
		rc = 0;
	return rc;
}
