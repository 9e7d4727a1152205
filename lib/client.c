#include "client.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../proto/ipc.h"

#include <nng/protocol/pubsub0/sub.h>

#define CALL_MS 10000

int
bc_client_call(const char *rundir, const char *daemon, bc_msg *req, bc_msg *rep,
	       enum bc_msgtype want, bc_err *err)
{
	if (bc_call_in(rundir, daemon, req, rep, CALL_MS, err) < 0)
		return -1;
	if (rep->type == BC_MSG_ERROR) {
		bc_err_set(err, (enum bc_errcode)rep->body.error.code, "%s",
			   rep->body.error.message);
		bc_msg_clear(rep);
		return -1;
	}
	if (want != BC_MSG_NONE && rep->type != want) {
		bc_err_set(err, BC_EPROTO, "%s answered %s", daemon, bc_msgtype_name(rep->type));
		bc_msg_clear(rep);
		return -1;
	}
	return 0;
}

int
bc_client_apply(const char *rundir, const char *doc, bool force, uint64_t *gen, bc_err *err)
{
	bc_msg req = {.type = BC_MSG_APPLY}, rep;

	req.body.apply.target = (char *)doc;
	req.body.apply.force = force;
	if (bc_client_call(rundir, "reconciler", &req, &rep, BC_MSG_ACK, err) < 0)
		return -1;
	*gen = rep.body.ack.generation;
	bc_msg_clear(&rep);
	return 0;
}

int
bc_client_down(const char *rundir, const char *app, bool volumes, uint64_t *gen, bc_err *err)
{
	bc_msg req = {.type = BC_MSG_DOWN}, rep;

	req.body.down.app = (char *)app;
	req.body.down.volumes = volumes;
	if (bc_client_call(rundir, "reconciler", &req, &rep, BC_MSG_ACK, err) < 0)
		return -1;
	*gen = rep.body.ack.generation;
	bc_msg_clear(&rep);
	return 0;
}

int
bc_client_state(const char *rundir, uint64_t *gen, bool *settled, json_t **doc, bc_err *err)
{
	bc_msg req = {.type = BC_MSG_GET_STATE}, rep;
	json_error_t je;

	if (bc_client_call(rundir, "reconciler", &req, &rep, BC_MSG_STATE, err) < 0)
		return -1;
	*gen = rep.body.state.generation;
	*settled = rep.body.state.settled;
	*doc = json_loads(rep.body.state.json, 0, &je);
	bc_msg_clear(&rep);
	if (*doc == NULL)
		return bc_err_set(err, BC_EPROTO, "bad state document: %s", je.text);
	return 0;
}

static long
elapsed_ms(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* A SUB socket on a daemon's PUB, subscribed to everything. */
static int
open_sub(const char *rundir, const char *daemon, nng_socket *s, bc_err *err)
{
	char addr[160];

	if (bc_addr_in(addr, sizeof(addr), rundir, daemon, BC_SOCK_PUB, err) < 0)
		return -1;
	if (nng_sub0_open(s) != 0)
		return bc_err_set(err, BC_ESYS, "subscribe to %s", daemon);
	if (nng_socket_set(*s, NNG_OPT_SUB_SUBSCRIBE, "", 0) != 0 ||
	    nng_socket_set_size(*s, NNG_OPT_RECVMAXSZ, BC_PROTO_MAX_MSG) != 0 ||
	    nng_dial(*s, addr, NULL, 0) != 0) {
		nng_close(*s);
		return bc_err_set(err, BC_ESYS, "subscribe to %s at %s", daemon, addr);
	}
	return 0;
}

int
bc_client_wait(const char *rundir, uint64_t gen, int timeout_ms,
	       void (*progress)(void *ud, const char *waiting), void *ud, bc_err *err)
{
	struct timespec start;
	char last[512] = "";
	nng_socket sub;
	int have_sub, rc = -1;

	clock_gettime(CLOCK_MONOTONIC, &start);
	/* subscribe first, then ask: a round that ends in between is not lost */
	have_sub = open_sub(rundir, "reconciler", &sub, NULL) == 0; /* else: poll */
	for (;;) {
		uint64_t g;
		bool settled;
		json_t *doc;
		const char *e, *w;
		long left;

		if (bc_client_state(rundir, &g, &settled, &doc, err) < 0)
			goto out;
		e = json_string_value(json_object_get(doc, "error"));
		w = json_string_value(json_object_get(doc, "waiting"));
		if (g >= gen && settled) {
			json_decref(doc);
			rc = 0;
			goto out;
		}
		if (g >= gen && e != NULL) {
			bc_err_set(err, BC_EINVAL, "%s", e);
			json_decref(doc);
			goto out;
		}
		if (g >= gen && w && *w && strcmp(w, last) != 0) {
			snprintf(last, sizeof(last), "%s", w);
			if (progress != NULL)
				progress(ud, last);
		}
		json_decref(doc);
		left = timeout_ms - elapsed_ms(&start);
		if (left <= 0) {
			bc_err_set(err, BC_ETIMEOUT, "not settled after %d s%s%s",
				   timeout_ms / 1000, last[0] ? "; still " : "", last);
			goto out;
		}
		if (have_sub) {
			/* the next round's end, or at most a second (a lost message
			 * only costs that) */
			nng_msg *m;
			nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, left < 1000 ? (int)left : 1000);
			if (nng_recvmsg(sub, &m, 0) == 0)
				nng_msg_free(m);
		} else {
			usleep(50 * 1000);
		}
	}
out:
	if (have_sub)
		nng_close(sub);
	return rc;
}

/* Ask the fetcher how job i stands: 1 still going, 0 ended (ok/error set),
 * -1 the fetcher does not know it (it restarted). */
static int
job_status(const char *rundir, uint64_t job, bool *ok, char *error, size_t errlen)
{
	bc_msg req = {.type = BC_MSG_FETCH_STATUS}, rep;
	json_t *arr, *e;
	size_t i;
	int rc = -1;

	if (bc_call_in(rundir, "fetcher", &req, &rep, CALL_MS, NULL) < 0)
		return 1; /* cannot tell: keep waiting */
	if (rep.type != BC_MSG_FETCH_JOBS) {
		bc_msg_clear(&rep);
		return 1;
	}
	arr = json_loads(rep.body.fetch_jobs.json, 0, NULL);
	bc_msg_clear(&rep);
	json_array_foreach(arr, i, e)
	{
		const char *st = json_string_value(json_object_get(e, "state"));
		if ((uint64_t)json_integer_value(json_object_get(e, "job")) != job || st == NULL)
			continue;
		if (strcmp(st, "queued") == 0 || strcmp(st, "pulling") == 0) {
			rc = 1;
		} else {
			*ok = strcmp(st, "done") == 0;
			snprintf(error, errlen, "%s",
				 json_string_value(json_object_get(e, "error")) ?: "");
			rc = 0;
		}
	}
	json_decref(arr);
	return rc;
}

int
bc_client_fetch(const char *rundir, const char *const *images, size_t n, const char *auth,
		void (*progress)(void *ud, size_t i, unsigned percent, uint64_t current,
				 uint64_t total),
		void (*done)(void *ud, size_t i, bool ok, const char *error), void *ud,
		int timeout_ms, bc_err *err)
{
	uint64_t *jobs = calloc(n + 1, sizeof(*jobs));
	bool *ended = calloc(n + 1, sizeof(*ended));
	size_t left = n;
	int failed = 0;
	struct timespec start;
	nng_socket sub;

	if (jobs == NULL || ended == NULL) {
		free(jobs);
		free(ended);
		return bc_err_sys(err, "fetch");
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	/* subscribe before asking, so no end goes unseen */
	if (open_sub(rundir, "fetcher", &sub, err) < 0) {
		free(jobs);
		free(ended);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		bc_msg req = {.type = BC_MSG_FETCH}, rep;
		req.body.fetch.image = (char *)images[i];
		req.body.fetch.auth = (char *)auth;
		if (bc_call_in(rundir, "fetcher", &req, &rep, CALL_MS, err) < 0)
			goto fail;
		if (rep.type == BC_MSG_ERROR) {
			if (done != NULL)
				done(ud, i, false, rep.body.error.message);
			ended[i] = true;
			left--;
			failed++;
		} else if (rep.type == BC_MSG_FETCH_ACCEPTED) {
			jobs[i] = rep.body.fetch_accepted.job;
		} else {
			bc_err_set(err, BC_EPROTO, "fetcher answered %s",
				   bc_msgtype_name(rep.type));
			bc_msg_clear(&rep);
			goto fail;
		}
		bc_msg_clear(&rep);
	}
	nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 5000);
	while (left > 0) {
		bc_msg m;
		if (elapsed_ms(&start) >= timeout_ms) {
			bc_err_set(err, BC_ETIMEOUT, "fetch: %zu image(s) not there after %d s",
				   left, timeout_ms / 1000);
			goto fail;
		}
		if (bc_recv(sub, &m, NULL, NULL) < 0) {
			/* quiet for 5 s: make sure the jobs still exist */
			for (size_t i = 0; i < n; i++) {
				bool ok = false;
				char e[512] = "";
				int st;
				if (ended[i])
					continue;
				st = job_status(rundir, jobs[i], &ok, e, sizeof(e));
				if (st == 1)
					continue;
				if (st < 0)
					snprintf(e, sizeof(e),
						 "the fetcher lost job %llu (did it restart?)",
						 (unsigned long long)jobs[i]);
				if (done != NULL)
					done(ud, i, ok, e);
				failed += !ok;
				ended[i] = true;
				left--;
			}
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			if (ended[i])
				continue;
			if (m.type == BC_MSG_FETCH_PROGRESS &&
			    m.body.fetch_progress.job == jobs[i] && progress != NULL)
				progress(ud, i, (unsigned)m.body.fetch_progress.percent,
					 m.body.fetch_progress.current,
					 m.body.fetch_progress.total);
			if (m.type == BC_MSG_FETCH_DONE && m.body.fetch_done.job == jobs[i]) {
				if (done != NULL)
					done(ud, i, m.body.fetch_done.ok, m.body.fetch_done.error);
				failed += !m.body.fetch_done.ok;
				ended[i] = true;
				left--;
			}
		}
		bc_msg_clear(&m);
	}
	nng_close(sub);
	free(jobs);
	free(ended);
	return failed;
fail:
	nng_close(sub);
	free(jobs);
	free(ended);
	return -1;
}
