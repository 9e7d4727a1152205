/* balena-compose logs: the logger's buffer, then (-f) what comes, filtered
 * by app, service and time. A follow survives the logger's restart: the new
 * run's buffer is read again and what was printed already (a record's
 * identity is its container and stream, its time and its place at that
 * time) is not printed twice; records the PUB socket dropped for a slow reader are fetched from
 * the buffer. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

#include "cli.h"
#include "lib/base/clock.h"
#include "lib/ipc/settings.h"
#include "lib/logs/record.h"
#include "proto/ipc.h"

#define MAX_CONTAINERS 2048 /* container streams */
#define MAX_SERVICES 64

struct seen_c {
	char id[16];
	bool is_stderr; /* each stream of a container is in order on its own */
	bc_logcursor cur;
};

struct tail {
	/* filters */
	int64_t app_id; /* 0: every app */
	const char **services;
	size_t n_services;
	int64_t since_ns;
	bool json, colour;
	/* a remote logger (--remote): a REQ socket over TLS; else the local one */
	bool remote;
	nng_socket rsock;
	char rname[200];
	/* where we are */
	uint64_t instance, last_seq;
	struct seen_c seen[MAX_CONTAINERS];
	size_t n_seen;
	char names[MAX_SERVICES][64]; /* services in the order first seen: their colour */
	size_t n_names;
	int width;
};

static int query(struct tail *t, bc_msg *req, bc_msg *rep, bc_err *err);

static const char *const palette[] = {"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"};

static bool
wanted(const struct tail *t, const bc_log_rec *r)
{
	if (t->app_id != 0 && r->app_id != t->app_id)
		return false;
	if (r->ts_ns < t->since_ns)
		return false;
	if (t->n_services > 0) {
		if (r->service == NULL)
			return false;
		for (size_t i = 0; i < t->n_services; i++)
			if (strcmp(t->services[i], r->service) == 0)
				return true;
		return false;
	}
	return true;
}

/* Not printed before (in this or an earlier run of the logger)? */
static bool
fresh(struct tail *t, const bc_log_rec *r)
{
	struct seen_c *s = NULL;

	if (r->container == NULL)
		return true; /* a system message: once per logger run, by seq */
	for (size_t i = 0; i < t->n_seen; i++)
		if (strcmp(t->seen[i].id, r->container) == 0 &&
		    t->seen[i].is_stderr == r->is_stderr)
			s = &t->seen[i];
	if (s == NULL) {
		if (t->n_seen == MAX_CONTAINERS)
			return true;
		s = &t->seen[t->n_seen++];
		memset(s, 0, sizeof(*s));
		snprintf(s->id, sizeof(s->id), "%s", r->container);
		s->is_stderr = r->is_stderr;
		bc_logcursor_advance(&s->cur, r->ts_ns, (uint32_t)r->nth);
		return true;
	}
	if (!bc_logcursor_is_new(&s->cur, r->ts_ns, (uint32_t)r->nth))
		return false;
	bc_logcursor_advance(&s->cur, r->ts_ns, (uint32_t)r->nth);
	return true;
}

static const char *
colour_of(struct tail *t, const char *name)
{
	size_t i;
	for (i = 0; i < t->n_names; i++)
		if (strcmp(t->names[i], name) == 0)
			break;
	if (i == t->n_names && t->n_names < MAX_SERVICES)
		snprintf(t->names[t->n_names++], sizeof(t->names[0]), "%s", name);
	return palette[i % (sizeof(palette) / sizeof(palette[0]))];
}

static int
print(struct tail *t, const bc_log_rec *r)
{
	const char *name = r->is_system ? "system" : r->service ? r->service : "?";

	if (t->json) {
		bc_logrec lr = {.ts_ns = r->ts_ns,
				.nth = (uint32_t)r->nth,
				.app_id = r->app_id,
				.service_id = r->service_id,
				.service = r->service,
				.is_stderr = r->is_stderr,
				.is_system = r->is_system,
				.message = r->message};
		bc_buf b = {0};
		if (bc_logrec_json(&lr, true, &b, NULL) == 0)
			fwrite(b.data, 1, b.len, stdout);
		bc_buf_free(&b);
	} else {
		int w = (int)strlen(name);
		if (w > t->width)
			t->width = w < 32 ? w : 32;
		if (t->colour) {
			char on[16];
			snprintf(on, sizeof(on), "\033[%sm", colour_of(t, name));
			cli_raw(stdout, on);
			printf("%-*s |", t->width, name);
			cli_raw(stdout, "\033[0m");
			printf(" %s\n", r->message);
		}
		else
			printf("%-*s | %s\n", t->width, name, r->message);
	}
	return ferror(stdout) ? -1 : 0;
}

/* Print the records of b that are new; false when stdout is gone. */
static bool
show(struct tail *t, const bc_body_log_batch *b)
{
	for (size_t i = 0; i < b->records.n; i++) {
		const bc_log_rec *r = &b->records.v[i];
		if (r->seq <= t->last_seq)
			continue;
		t->last_seq = r->seq;
		if (!fresh(t, r) || !wanted(t, r))
			continue;
		if (print(t, r) < 0)
			return false;
	}
	return fflush(stdout) == 0;
}

/* Everything the logger holds after t->last_seq (of its run t->instance,
 * or all of a new run). tail > 0: print only the last tail wanted records.
 * Returns 0, 1 when stdout is gone, -1 with err. */
static int
history(struct tail *t, size_t tail, bc_err *err)
{
	bc_msg *batches = NULL;
	size_t n_batches = 0;
	int rc = 0;

	for (;;) {
		bc_msg req = {.type = BC_MSG_LOG_QUERY}, rep;
		req.body.log_query.after_seq = t->last_seq;
		if (query(t, &req, &rep, err) < 0) {
			rc = -1;
			break;
		}
		if (rep.body.log_batch.instance != t->instance) {
			/* another run of the logger: its seqs start anew */
			t->instance = rep.body.log_batch.instance;
			if (t->last_seq != 0) {
				t->last_seq = 0;
				bc_msg_clear(&rep);
				continue;
			}
		}
		if (tail == 0) {
			bool more = rep.body.log_batch.more;
			bool ok = show(t, &rep.body.log_batch);
			bc_msg_clear(&rep);
			if (!ok)
				return 1;
			if (!more)
				break;
			continue;
		}
		/* --tail: keep the batches, print the last ones at the end */
		{
			bc_msg *nb = realloc(batches, (n_batches + 1) * sizeof(*nb));
			bool more = rep.body.log_batch.more;
			if (nb == NULL) {
				bc_msg_clear(&rep);
				rc = bc_err_set(err, BC_ESYS, "out of memory");
				break;
			}
			batches = nb;
			batches[n_batches++] = rep;
			if (rep.body.log_batch.records.n > 0)
				t->last_seq =
				    rep.body.log_batch.records.v[rep.body.log_batch.records.n - 1]
					.seq;
			if (!more)
				break;
		}
	}
	if (tail > 0 && rc == 0) {
		size_t total = 0, skip;
		for (size_t b = 0; b < n_batches; b++)
			for (size_t i = 0; i < batches[b].body.log_batch.records.n; i++)
				total += wanted(t, &batches[b].body.log_batch.records.v[i]);
		skip = total > tail ? total - tail : 0;
		for (size_t b = 0; b < n_batches && rc == 0; b++)
			for (size_t i = 0; i < batches[b].body.log_batch.records.n; i++) {
				bc_log_rec *r = &batches[b].body.log_batch.records.v[i];
				if (!wanted(t, r) || !fresh(t, r))
					continue;
				if (skip > 0) {
					skip--;
					continue;
				}
				if (print(t, r) < 0) {
					rc = 1;
					break;
				}
			}
		fflush(stdout);
	}
	for (size_t b = 0; b < n_batches; b++)
		bc_msg_clear(&batches[b]);
	free(batches);
	return rc;
}

#define REMOTE_PORT 48484u
#define REMOTE_CALL_MS 10000

/* One LOG_QUERY to the logger, local or remote; *rep is a LOG_BATCH. */
static int
query(struct tail *t, bc_msg *req, bc_msg *rep, bc_err *err)
{
	if (!t->remote)
		return bc_client_call(NULL, "logger", req, rep, BC_MSG_LOG_BATCH, err);
	if (bc_call_on(t->rsock, t->rname, req, rep, err) < 0)
		return -1;
	return bc_client_reply(t->rname, rep, BC_MSG_LOG_BATCH, err);
}

/* Connect to a remote tail: bc_hostport's forms (port REMOTE_PORT if none) over
 * TLS, our certificate and key from cert, the logger's checked against ca
 * and against HOST. */
static int
remote_dial(struct tail *t, const char *where, const char *cert, const char *ca, bc_err *err)
{
	char url[300], host[256];
	unsigned port;
	nng_tls_config *tls = NULL;
	nng_dialer dl;
	int rv;

	if (bc_hostport(where, host, sizeof(host), &port) < 0)
		return bc_err_set(err, BC_EINVAL,
				  "--remote '%s': give HOST, HOST:PORT or [IPv6]:PORT (a port is "
				  "1..65535)",
				  where);
	if (access(cert, R_OK) < 0)
		return bc_err_set(err, BC_EINVAL, "--cert '%s': %s", cert, strerror(errno));
	if (access(ca, R_OK) < 0)
		return bc_err_set(err, BC_EINVAL, "--ca '%s': %s", ca, strerror(errno));
	snprintf(url, sizeof(url), "tls+tcp://%s%s%s:%u", *where == '[' ? "[" : "", host,
		 *where == '[' ? "]" : "", port != 0 ? port : REMOTE_PORT);
	snprintf(t->rname, sizeof(t->rname), "remote logger %s", where);
	if ((rv = nng_req0_open(&t->rsock)) != 0)
		return bc_err_set(err, BC_ESYS, "%s: %s", t->rname, nng_strerror(rv));
	if ((rv = nng_tls_config_alloc(&tls, NNG_TLS_MODE_CLIENT)) != 0)
		goto fail;
	if ((rv = nng_tls_config_cert_key_file(tls, cert, NULL)) != 0) {
		bc_err_set(err, BC_EINVAL,
			   "--cert '%s': no certificate and key read from it (%s; both go in one "
			   "PEM file)",
			   cert, nng_strerror(rv));
		goto out;
	}
	if ((rv = nng_tls_config_ca_file(tls, ca)) != 0) {
		bc_err_set(err, BC_EINVAL, "--ca '%s': no certificates read from it (%s)", ca,
			   nng_strerror(rv));
		goto out;
	}
	if ((rv = nng_tls_config_auth_mode(tls, NNG_TLS_AUTH_MODE_REQUIRED)) != 0 ||
	    (rv = nng_tls_config_server_name(tls, host)) != 0 ||
	    (rv = nng_socket_set_ms(t->rsock, NNG_OPT_RECVTIMEO, REMOTE_CALL_MS)) != 0 ||
	    (rv = nng_socket_set_ms(t->rsock, NNG_OPT_SENDTIMEO, REMOTE_CALL_MS)) != 0 ||
	    (rv = nng_socket_set_ms(t->rsock, NNG_OPT_REQ_RESENDTIME, REMOTE_CALL_MS)) != 0 ||
	    (rv = nng_socket_set_size(t->rsock, NNG_OPT_RECVMAXSZ, BC_PROTO_MAX_MSG)) != 0 ||
	    (rv = nng_dialer_create(&dl, t->rsock, url)) != 0 ||
	    (rv = nng_dialer_set_ptr(dl, NNG_OPT_TLS_CONFIG, tls)) != 0)
		goto fail;
	/* the first connection now, so a refusal is told; later ones by nng */
	if ((rv = nng_dialer_start(dl, 0)) != 0) {
		bc_err_set(err, BC_ESYS, "%s: %s%s", t->rname, nng_strerror(rv),
			   rv == NNG_ECONNREFUSED || rv == NNG_ETIMEDOUT || rv == NNG_EADDRINVAL
			       ? ""
			       : " (the TLS handshake failed: either the logger does not let "
				 "our certificate in, or its own certificate is not signed by "
				 "--ca, or does not name the host we asked for)");
		goto out;
	}
	nng_tls_config_free(tls); /* the dialer holds its own reference */
	t->remote = true;
	return 0;
fail:
	bc_err_set(err, BC_ESYS, "%s: %s", t->rname, nng_strerror(rv));
out:
	if (tls != NULL)
		nng_tls_config_free(tls);
	bc_sock_close(t->rsock);
	return -1;
}

/* "2026-11-29T14:40:57Z", "1795963257[.5]", or a time ago: "30s", "5m", "2h", "1d" */
static int
parse_since(const char *s, int64_t *ns)
{
	size_t off, len = strlen(s);
	char *end;

	if (bc_parse_rfc3339(s, len, ns, &off, NULL) == 0 && off == len)
		return 0;
	if (len > 1 && strchr("smhd", s[len - 1]) != NULL && strspn(s, "0123456789") == len - 1) {
		int64_t v = strtoll(s, NULL, 10), unit = s[len - 1] == 's'   ? 1
							 : s[len - 1] == 'm' ? 60
							 : s[len - 1] == 'h' ? 3600
									     : 86400;
		*ns = ((int64_t)time(NULL) - v * unit) * 1000000000;
		return 0;
	}
	errno = 0;
	double d = strtod(s, &end);
	if (errno == 0 && end != s && *end == '\0' && d >= 0 && d < 1e11) {
		*ns = (int64_t)(d * 1e9);
		return 0;
	}
	return -1;
}

static int64_t
resolve_app(const char *app)
{
	uint64_t gen;
	bool settled;
	json_t *doc, *a;
	size_t i;
	int64_t id = 0;

	if (cli_state("logs", &gen, &settled, &doc) < 0)
		return strspn(app, "0123456789") == strlen(app) ? strtoll(app, NULL, 10) : -1;
	json_array_foreach(json_object_get(doc, "apps"), i, a)
	{
		if (cli_app_matches(a, &app, 1))
			id = json_integer_value(json_object_get(a, "id"));
	}
	json_decref(doc);
	if (id == 0 && strspn(app, "0123456789") == strlen(app))
		id = strtoll(app, NULL, 10);
	return id > 0 ? id : -1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: balena-compose logs [-f] [--since T] [--tail N] [--json] [-p APP] "
		   "[SERVICE...]\n\n"
		   "What the apps' containers printed, from the logger's buffer (its newest\n"
		   "256 KiB, or BC_LOG_BUFFER), then with -f what comes, until interrupted.\n"
		   "System messages are shown as 'system'.\n\n"
		   "  -f, --follow    go on with what comes (a restart of the logger is\n"
		   "                  followed through, nothing printed twice)\n"
		   "  --since T       from T: 2026-11-29T14:40:57Z, unix seconds, or a time\n"
		   "                  ago (30s, 5m, 2h, 1d)\n"
		   "  --tail N        only the last N lines of the buffer\n"
		   "  --json          one JSON object a line (message, timestamp in ms, nanos,\n"
		   "                  appId, serviceId, serviceName, isStdErr, isSystem; a field\n"
		   "                  that is false or does not apply is left out)\n"
		   "  -p, --app APP   one app (name, uuid or id; an id with --remote)\n"
		   "  --remote HOST[:PORT], --remote [IPv6][:PORT]\n"
		   "                  another device's logger (its BC_LOG_REMOTE, port 48484\n"
		   "                  by default), over TLS; needs --cert and --ca\n"
		   "  --cert FILE     our certificate and key (PEM), one the logger lets in\n"
		   "  --ca FILE       the certificate(s) the logger's is checked against\n");
}

int
cmd_logs(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"follow", no_argument, NULL, 'f'},	    {"since", required_argument, NULL, 's'},
	    {"tail", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'j'},
	    {"app", required_argument, NULL, 'p'},  {"remote", required_argument, NULL, 'r'},
	    {"cert", required_argument, NULL, 'c'}, {"ca", required_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},	    {NULL, 0, NULL, 0}};
	static struct tail t; /* large: not on the stack */
	const char *app = NULL, *remote = NULL, *cert = NULL, *ca = NULL;
	bool follow = false;
	long tail = 0;
	nng_socket sub = NNG_SOCKET_INITIALIZER;
	bc_err err = {0};
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "fp:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			follow = true;
			break;
		case 's':
			if (parse_since(optarg, &t.since_ns) < 0) {
				fprintf(stderr,
					"balena-compose logs: --since '%s': give a time "
					"(2026-11-29T14:40:57Z), unix seconds or a time ago "
					"(30s, 5m, 2h, 1d)\n",
					optarg);
				return 100;
			}
			break;
		case 't': {
			char *end;
			tail = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || tail < 1 || tail > 1000000) {
				fprintf(stderr,
					"balena-compose logs: --tail '%s': a number 1..1000000\n",
					optarg);
				return 100;
			}
			break;
		}
		case 'j':
			t.json = true;
			break;
		case 'p':
			app = optarg;
			break;
		case 'r':
			remote = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'a':
			ca = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 100;
		}
	}
	t.services = (const char **)argv + optind;
	t.n_services = (size_t)(argc - optind);
	t.colour = !t.json && isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	signal(SIGPIPE, SIG_IGN);
	if (remote != NULL || cert != NULL || ca != NULL) {
		if (remote == NULL || cert == NULL || ca == NULL) {
			fprintf(stderr,
				"balena-compose logs: --remote, --cert and --ca go together\n");
			return 100;
		}
		if (app != NULL && (strspn(app, "0123456789") != strlen(app) ||
				    (t.app_id = strtoll(app, NULL, 10)) <= 0)) {
			fprintf(stderr, "balena-compose logs: -p '%s': with --remote, an app id\n",
				app);
			return 100;
		}
		if (remote_dial(&t, remote, cert, ca, &err) < 0) {
			fprintf(stderr, "balena-compose logs: %s\n", err.msg);
			return err.code == BC_EINVAL ? 100 : 1;
		}
		rc = history(&t, (size_t)tail, &err);
		/* follow: ask again every quarter second (only LOG_QUERY is served
		 * remotely); a logger away or restarting is waited for */
		while (rc <= 0 && follow) {
			if (rc < 0)
				usleep(750000);
			usleep(250000);
			rc = history(&t, 0, &err);
		}
		if (rc < 0)
			fprintf(stderr, "balena-compose logs: %s\n", err.msg);
		bc_sock_close(t.rsock);
		return rc < 0 ? 1 : 0;
	}
	if (app != NULL && (t.app_id = resolve_app(app)) < 0) {
		fprintf(stderr, "balena-compose logs: no app '%s' on the device\n", app);
		return 1;
	}
	/* subscribe before reading the buffer: nothing falls between */
	if (follow && bc_client_sub(NULL, "logger", true, &sub, &err) < 0) {
		fprintf(stderr, "balena-compose logs: %s\n", err.msg);
		return 1;
	}
	if ((rc = history(&t, (size_t)tail, &err)) != 0) {
		if (rc < 0)
			fprintf(stderr, "balena-compose logs: %s\n", err.msg);
		if (follow)
			bc_sock_close(sub);
		return rc < 0 ? 1 : 0;
	}
	if (!follow)
		return 0;
	nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 1000);
	for (;;) {
		bc_msg m;
		bool again = false;
		int r = bc_recv(sub, &m, NULL, &err);
		if (r < 0) {
			/* quiet, or the logger away: ask its buffer now and then
			 * (a restarted logger is found so) */
			again = true;
		} else if (m.type == BC_MSG_LOG_BATCH) {
			const bc_body_log_batch *b = &m.body.log_batch;
			if (b->instance != t.instance ||
			    (b->records.n > 0 && b->records.v[0].seq > t.last_seq + 1)) {
				again = true; /* a new run, or records the socket dropped */
			} else if (!show(&t, b)) {
				bc_msg_clear(&m);
				break;
			}
			bc_msg_clear(&m);
		} else {
			bc_msg_clear(&m);
		}
		if (again) {
			rc = history(&t, 0, &err);
			if (rc > 0)
				break;
			if (rc < 0)
				usleep(200000); /* the logger restarts: it comes back */
		}
	}
	bc_sock_close(sub);
	return 0;
}
