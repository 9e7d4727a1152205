#include "lib/ipc/client.h"
#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/plan/statedoc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/ipc.h"

#include <nng/protocol/pubsub0/sub.h>

#define CALL_MS 10000
/* how long a wait outlasts a reconciler that does not answer */
#define UNREACHABLE_MS 30000

int
bc_client_call(const char *rundir, const char *daemon, bc_msg *req, bc_msg *rep,
	       enum bc_msgtype want, bc_err *err)
{
	if (bc_call_in(rundir, daemon, req, rep, CALL_MS, err) < 0)
		return -1;
	return bc_client_reply(daemon, rep, want, err);
}

int
bc_client_reply(const char *peer, bc_msg *rep, enum bc_msgtype want, bc_err *err)
{
	if (rep->type == BC_MSG_ERROR) {
		bc_err_set(err, (enum bc_errcode)rep->body.error.code, "%s",
			   rep->body.error.message);
		bc_msg_clear(rep);
		return -1;
	}
	if (want != BC_MSG_NONE && rep->type != want) {
		bc_err_set(err, BC_EPROTO, "%s answered %s", peer, bc_msgtype_name(rep->type));
		bc_msg_clear(rep);
		return -1;
	}
	return 0;
}

int
bc_client_poll(const char *rundir, bc_ack *ack, bc_err *err)
{
	bc_msg req = {.type = BC_MSG_POLL}, rep;

	/* answered when the poll has ended: up to the cloud's request timeout */
	if (bc_call_in(rundir, "gateway", &req, &rep, 70000, err) < 0 ||
	    bc_client_reply("gateway", &rep, BC_MSG_ACK, err) < 0)
		return -1;
	*ack = (bc_ack){rep.body.ack.generation, rep.body.ack.instance};
	bc_msg_clear(&rep);
	return 0;
}

int
bc_client_apply(const char *rundir, const char *doc, bool force, bc_ack *ack, bc_err *err)
{
	bc_msg req = {.type = BC_MSG_APPLY}, rep;

	req.body.apply.target = (char *)doc;
	req.body.apply.force = force;
	if (bc_client_call(rundir, "reconciler", &req, &rep, BC_MSG_ACK, err) < 0)
		return -1;
	*ack = (bc_ack){rep.body.ack.generation, rep.body.ack.instance};
	bc_msg_clear(&rep);
	return 0;
}

int
bc_client_down(const char *rundir, const char *app, bool volumes, bc_ack *ack, bc_err *err)
{
	bc_msg req = {.type = BC_MSG_DOWN}, rep;

	req.body.down.app = (char *)app;
	req.body.down.volumes = volumes;
	if (bc_client_call(rundir, "reconciler", &req, &rep, BC_MSG_ACK, err) < 0)
		return -1;
	*ack = (bc_ack){rep.body.ack.generation, rep.body.ack.instance};
	bc_msg_clear(&rep);
	return 0;
}

int
bc_client_state_of(const char *rundir, uint64_t *gen, uint64_t *instance, bool *settled,
		   json_t **doc, bc_err *err)
{
	bc_msg req = {.type = BC_MSG_GET_STATE}, rep;

	if (bc_client_call(rundir, "reconciler", &req, &rep, BC_MSG_STATE, err) < 0)
		return -1;
	*gen = rep.body.state.generation;
	if (instance != NULL)
		*instance = rep.body.state.instance;
	*settled = rep.body.state.settled;
	*doc = bc_statedoc_from_msg(&rep.body.state);
	bc_msg_clear(&rep);
	if (*doc == NULL)
		return bc_err_sys(err, "state document");
	return 0;
}

int
bc_client_state(const char *rundir, uint64_t *gen, bool *settled, json_t **doc, bc_err *err)
{
	return bc_client_state_of(rundir, gen, NULL, settled, doc, err);
}

static long
elapsed_ms(uint64_t start)
{
	return (long)(bc_mono_ms() - start);
}

int
bc_client_sub(const char *rundir, const char *daemon, bool wait, nng_socket *s, bc_err *err)
{
	char addr[160];

	if (bc_addr_in(addr, sizeof(addr), rundir, daemon, BC_SOCK_PUB, err) < 0)
		return -1;
	if (nng_sub0_open(s) != 0)
		return bc_err_set(err, BC_ESYS, "subscribe to %s", daemon);
	if (nng_socket_set(*s, NNG_OPT_SUB_SUBSCRIBE, "", 0) != 0 ||
	    nng_socket_set_size(*s, NNG_OPT_RECVMAXSZ, BC_PROTO_MAX_MSG) != 0 ||
	    nng_dial(*s, addr, NULL, wait ? NNG_FLAG_NONBLOCK : 0) != 0) {
		bc_sock_close(*s);
		return bc_err_set(err, BC_ESYS, "subscribe to %s at %s", daemon, addr);
	}
	return 0;
}

int
bc_client_sub_drain(nng_socket sub, const char *what, void (*fn)(void *ud, bc_msg *m), void *ud)
{
	nng_msg *nm;
	int rv;

	while ((rv = nng_recvmsg(sub, &nm, NNG_FLAG_NONBLOCK)) == 0) {
		bc_msg m;
		bc_err err = {0};
		if (bc_msg_decode(nng_msg_body(nm), nng_msg_len(nm), &m, &err) < 0) {
			log_warnx("%s: %s", what, err.msg);
		} else {
			fn(ud, &m);
			bc_msg_clear(&m);
		}
		nng_msg_free(nm);
	}
	return rv;
}

/* Append "app 'name': error" of a failed app to failed (n bytes). */
static void
add_failure(char *failed, size_t n, const json_t *a, int64_t id, const char *ae)
{
	const char *name = json_string_value(json_object_get(a, "name"));
	size_t len = strlen(failed);

	if (name != NULL)
		snprintf(failed + len, n - len, "%sapp '%s': %s", len ? "; " : "", name,
			 ae ? ae : "failed");
	else
		snprintf(failed + len, n - len, "%sapp %lld: %s", len ? "; " : "", (long long)id,
			 ae ? ae : "failed");
}

/* Is a (an app's document) gone as far as until asks? */
static bool
gone_enough(const json_t *a, enum bc_wait_until until)
{
	const char *st = json_string_value(json_object_get(a, "status"));

	if (a == NULL)
		return true;
	/* a down without -v: what stays is its volumes, on purpose */
	return until == BC_UNTIL_GONE_BUT_VOLUMES && json_is_true(json_object_get(a, "removed")) &&
	       st != NULL && strcmp(st, "Idle") == 0 &&
	       json_object_size(json_object_get(a, "services")) == 0 &&
	       json_object_size(json_object_get(a, "networks")) == 0;
}

/* How the change stands in doc (a state at or past its generation): 1 done,
 * 0 not yet (*waiting: on what, if known), -1 failed (err). An app that
 * failed is done too: the wait goes on until every app is Idle or Failed,
 * so one app's failure neither ends the wait for the others nor hides
 * theirs; failed gets each failed app's error (failed: n bytes). */
static int
judge(const json_t *doc, bool settled, const int64_t *apps, size_t n, enum bc_wait_until until,
      bool restarted, const char **waiting, char *failed, size_t nfailed, bc_err *err)
{
	const char *e = json_string_value(json_object_get(doc, "error"));
	int done = 1;

	*waiting = NULL;
	failed[0] = '\0';
	if (n == 0) {
		*waiting = json_string_value(json_object_get(doc, "waiting"));
		if (settled)
			return 1;
		if (e != NULL)
			return bc_err_set(err, BC_EINVAL, "%s", e);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *a = bc_statedoc_find(doc, apps[i]);
		const char *st = json_string_value(json_object_get(a, "status"));
		const char *ae = json_string_value(json_object_get(a, "error"));
		const char *w = json_string_value(json_object_get(a, "waiting"));
		if (until != BC_UNTIL_IDLE && gone_enough(a, until))
			continue;
		if (a == NULL) {
			/* every app of the target is in the document */
			return bc_err_set(err, BC_ENOTFOUND,
					  restarted ? "app %lld is not in the target of the "
						      "restarted reconciler (it could not be kept)"
						    : "app %lld left the target (another change "
						      "removed it)",
					  (long long)apps[i]);
		}
		/* a release rolled back has ended too: in failure */
		if (st != NULL && strcmp(st, "Rolled back") == 0) {
			char why[512];
			snprintf(why, sizeof(why), "rolled back: %s", ae ? ae : "its update failed");
			add_failure(failed, nfailed, a, apps[i], why);
			continue;
		}
		if (st != NULL && strcmp(st, "Failed") == 0) {
			add_failure(failed, nfailed, a, apps[i], ae);
			continue;
		}
		if (until != BC_UNTIL_IDLE || st == NULL || strcmp(st, "Idle") != 0) {
			done = 0;
			if (*waiting == NULL && w != NULL && *w)
				*waiting = w;
		}
	}
	if (done && failed[0])
		return bc_err_set(err, BC_EINVAL, "%s", failed);
	return done;
}

int
bc_client_wait(const char *rundir, const bc_ack *ack, const int64_t *apps, size_t n_apps,
	       enum bc_wait_until until, int timeout_ms,
	       void (*progress)(void *ud, const char *waiting), void *ud, bc_err *err)
{
	return bc_client_wait_on(rundir, NULL, ack, apps, n_apps, until, timeout_ms, progress, ud,
				 err);
}

int
bc_client_wait_on(const char *rundir, const nng_socket *held, const bc_ack *ack,
		  const int64_t *apps, size_t n_apps, enum bc_wait_until until, int timeout_ms,
		  void (*progress)(void *ud, const char *waiting), void *ud, bc_err *err)
{
	uint64_t start = bc_mono_ms();
	char last[512] = "", failed[400] = "";
	bc_ack want = *ack;
	bool restarted = false;
	long unreachable_since = -1;
	nng_socket sub;
	int have_sub, rc = -1;

	/* subscribe first, then ask: a round that ends in between is not lost */
	if (held != NULL) {
		sub = *held;
		have_sub = 1;
	} else {
		have_sub =
		    bc_client_sub(rundir, "reconciler", false, &sub, NULL) == 0; /* else: poll */
	}
	for (;;) {
		uint64_t g, inst;
		bool settled;
		json_t *doc;
		const char *w = NULL;
		long left;
		bc_err cerr = {0};
		int st = 0;

		if (bc_client_state_of(rundir, &g, &inst, &settled, &doc, &cerr) < 0) {
			/* a reconciler restarting: its socket comes back within
			 * seconds (s6); anything else, or a long silence, ends
			 * the wait (the change itself is kept and goes on) */
			if (cerr.code != BC_ESYS && cerr.code != BC_ETIMEOUT) {
				*err = cerr;
				goto out;
			}
			if (unreachable_since >= 0 &&
			    elapsed_ms(start) - unreachable_since > UNREACHABLE_MS) {
				*err = cerr;
				bc_err_wrap(err, "the reconciler is not answering (the change "
						 "is kept and goes on when it is back)");
				goto out;
			}
			if (unreachable_since < 0)
				unreachable_since = elapsed_ms(start);
			doc = NULL;
		} else if (inst != want.instance) {
			/* a new run of the reconciler: it resumed the target kept
			 * on disk (ours included) from generation 1 */
			want = (bc_ack){.generation = 1, .instance = inst};
			restarted = true;
			unreachable_since = -1;
			snprintf(last, sizeof(last),
				 "the reconciler restarted; following its new run");
			if (progress != NULL)
				progress(ud, last);
		} else {
			unreachable_since = -1;
		}
		if (doc != NULL && g >= want.generation) {
			st = judge(doc, settled, apps, n_apps, until, restarted, &w, failed,
				   sizeof(failed), err);
			if (st != 0) {
				json_decref(doc);
				rc = st > 0 ? 0 : -1;
				goto out;
			}
			if (w && *w && strcmp(w, last) != 0) {
				snprintf(last, sizeof(last), "%s", w);
				if (progress != NULL)
					progress(ud, last);
			}
		}
		json_decref(doc);
		left = timeout_ms - elapsed_ms(start);
		if (left <= 0) {
			bc_err_set(err, BC_ETIMEOUT, "not settled after %d s%s%s%s%s",
				   timeout_ms / 1000, last[0] ? "; still " : "", last,
				   failed[0] ? "; failed: " : "", failed);
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
			usleep(100 * 1000);
		}
	}
out:
	if (have_sub && held == NULL)
		bc_sock_close(sub);
	return rc;
}

/* Ask the fetcher how a job stands: 1 still going (or the fetcher cannot
 * be asked now), 0 ended (ok/error set), -1 the fetcher does not know it,
 * -2 another run of the fetcher answered (*inst: which). */
static int
job_status(const char *rundir, uint64_t job, uint64_t *inst, bool *ok, char *error, size_t errlen)
{
	bc_msg req = {.type = BC_MSG_FETCH_STATUS}, rep;
	int rc = -1;

	if (bc_call_in(rundir, "fetcher", &req, &rep, CALL_MS, NULL) < 0)
		return 1; /* cannot tell: keep waiting (a restart takes seconds) */
	if (rep.type != BC_MSG_FETCH_JOBS) {
		bc_msg_clear(&rep);
		return 1;
	}
	if (rep.body.fetch_jobs.instance != *inst) {
		*inst = rep.body.fetch_jobs.instance;
		bc_msg_clear(&rep);
		return -2;
	}
	for (size_t i = 0; i < rep.body.fetch_jobs.jobs.n; i++) {
		const bc_fetch_job_rec *e = &rep.body.fetch_jobs.jobs.v[i];
		if (e->job != job)
			continue;
		if (e->state == BC_FETCH_QUEUED || e->state == BC_FETCH_PULLING) {
			rc = 1;
		} else {
			*ok = e->state == BC_FETCH_DONE;
			snprintf(error, errlen, "%s", e->error ? e->error : "");
			rc = 0;
		}
	}
	bc_msg_clear(&rep);
	return rc;
}

struct fetchset {
	const char *rundir;
	const char *const *images;
	size_t n, left;
	const char *auth;
	uint64_t *jobs;
	uint64_t *insts; /* the fetcher run that holds each job (0: not asked yet) */
	bool *ended;
	int failed;
	void (*done)(void *ud, size_t i, bool ok, const char *error);
	void *ud;
};

static void
end_one(struct fetchset *f, size_t i, bool ok, const char *error)
{
	if (f->done != NULL)
		f->done(f->ud, i, ok, error);
	f->failed += !ok;
	f->ended[i] = true;
	f->left--;
}

/* Ask the fetcher for every image not ended yet (again, after a restart). */
/* Ask the fetcher for every image not ended whose job is not held by the
 * run `now` (all of them at first: now 0). */
static int
submit(struct fetchset *f, uint64_t now, bc_err *err)
{
	for (size_t i = 0; i < f->n; i++) {
		bc_msg req = {.type = BC_MSG_FETCH}, rep;
		if (f->ended[i] || (now != 0 && f->insts[i] == now))
			continue;
		req.body.fetch.image = (char *)f->images[i];
		req.body.fetch.auth = (char *)f->auth;
		if (bc_call_in(f->rundir, "fetcher", &req, &rep, CALL_MS, err) < 0)
			return -1;
		if (rep.type == BC_MSG_ERROR) {
			end_one(f, i, false, rep.body.error.message);
		} else if (rep.type == BC_MSG_FETCH_ACCEPTED) {
			f->jobs[i] = rep.body.fetch_accepted.job;
			f->insts[i] = rep.body.fetch_accepted.instance;
		} else {
			bc_err_set(err, BC_EPROTO, "fetcher answered %s",
				   bc_msgtype_name(rep.type));
			bc_msg_clear(&rep);
			return -1;
		}
		bc_msg_clear(&rep);
	}
	return 0;
}

int
bc_client_fetch(const char *rundir, const char *const *images, size_t n, const char *auth,
		void (*progress)(void *ud, size_t i, unsigned percent, uint64_t current,
				 uint64_t total),
		void (*done)(void *ud, size_t i, bool ok, const char *error), void *ud,
		int timeout_ms, bc_err *err)
{
	struct fetchset f = {.rundir = rundir,
			     .images = images,
			     .n = n,
			     .left = n,
			     .auth = auth,
			     .jobs = calloc(n + 1, sizeof(uint64_t)),
			     .insts = calloc(n + 1, sizeof(uint64_t)),
			     .ended = calloc(n + 1, sizeof(bool)),
			     .done = done,
			     .ud = ud};
	uint64_t start = bc_mono_ms();
	long last_check = 0;
	nng_socket sub;
	int rc = -1;

	if (f.jobs == NULL || f.insts == NULL || f.ended == NULL) {
		free(f.jobs);
		free(f.insts);
		free(f.ended);
		return bc_err_sys(err, "fetch");
	}
	/* subscribe before asking, so no end goes unseen */
	if (bc_client_sub(rundir, "fetcher", false, &sub, err) < 0) {
		free(f.jobs);
		free(f.insts);
		free(f.ended);
		return -1;
	}
	if (submit(&f, 0, err) < 0)
		goto out;
	nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 1000);
	while (f.left > 0) {
		bc_msg m;
		bool quiet;
		if (elapsed_ms(start) >= timeout_ms) {
			bc_err_set(err, BC_ETIMEOUT, "fetch: %zu image(s) not there after %d s",
				   f.left, timeout_ms / 1000);
			goto out;
		}
		quiet = bc_recv(sub, &m, NULL, NULL) < 0;
		/* every second, or when all is quiet: do our jobs still exist, in
		 * the run that took them? (other jobs' progress must not hide a
		 * restart) */
		if (quiet || elapsed_ms(start) - last_check >= 1000) {
			last_check = elapsed_ms(start);
			for (size_t i = 0; i < n; i++) {
				bool ok = false;
				char e[512] = "";
				uint64_t inst = f.insts[i];
				int st;
				if (f.ended[i])
					continue;
				st = job_status(rundir, f.jobs[i], &inst, &ok, e, sizeof(e));
				if (st == -2) {
					/* a new run of the fetcher: the jobs of the
					 * old one went with it; ask again (layers
					 * already there are not fetched twice) */
					if (submit(&f, inst, err) < 0) {
						if (!quiet)
							bc_msg_clear(&m);
						goto out;
					}
					break;
				}
				if (st == 1)
					continue;
				if (st < 0)
					snprintf(e, sizeof(e), "the fetcher lost job %llu",
						 (unsigned long long)f.jobs[i]);
				end_one(&f, i, ok, e);
			}
		}
		if (quiet)
			continue;
		for (size_t i = 0; i < n; i++) {
			uint64_t job = m.type == BC_MSG_FETCH_PROGRESS ? m.body.fetch_progress.job
				       : m.type == BC_MSG_FETCH_DONE   ? m.body.fetch_done.job
								       : 0;
			uint64_t inst = m.type == BC_MSG_FETCH_PROGRESS
					    ? m.body.fetch_progress.instance
					    : m.body.fetch_done.instance;
			if (f.ended[i] || job == 0 || job != f.jobs[i] || inst != f.insts[i])
				continue;
			if (m.type == BC_MSG_FETCH_PROGRESS && progress != NULL)
				progress(ud, i, (unsigned)m.body.fetch_progress.percent,
					 m.body.fetch_progress.current,
					 m.body.fetch_progress.total);
			if (m.type == BC_MSG_FETCH_DONE)
				end_one(&f, i, m.body.fetch_done.ok, m.body.fetch_done.error);
		}
		bc_msg_clear(&m);
	}
	rc = f.failed;
out:
	bc_sock_close(sub);
	free(f.jobs);
	free(f.insts);
	free(f.ended);
	return rc;
}
