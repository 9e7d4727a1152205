/* Which containers to read, and reading them. Docker's event stream wakes a
 * scan (on the pool: list and inspect the supervised containers); the scan
 * attaches every container that runs, or that stopped with lines we have
 * not read, resuming each from its cursor. Each log stream is an fd of one
 * epoll set that the loop watches. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/clock.h"
#include "lib/base/fsutil.h"
#include "lib/base/log.h"
#include "logger.h"

#define SCAN_DELAY_MS 50 /* events come in bursts: one scan for a burst */

/* --- one container's stream ------------------------------------------- */

static int
on_line(void *ud, const char *p, size_t n, bool cut)
{
	struct follower *f = ud;
	struct lg *g = f->g;
	int64_t ts;
	size_t off = 0;
	uint32_t nth;
	int k = f->stream == 2;
	bc_logrec r;

	if (bc_parse_rfc3339(p, n, &ts, &off, NULL) < 0) {
		/* not what timestamps=1 gives: keep the line, stamped now */
		ts = (int64_t)bc_wall_ms() * 1000000;
		off = 0;
	}
	f->failures = 0; /* it reads */
	nth = bc_lognth_next(&f->nth[k], ts);
	if (!bc_logcursor_is_new(&f->read[k], ts, nth))
		return 0; /* delivered before this stream began */
	bc_logcursor_advance(&f->read[k], ts, nth);
	if (lg_line_record(f, k, ts, nth, p + off, n - off, cut, &r) < 0) {
		g->dropped_lines++;
		return 0;
	}
	g->lines++;
	lg_push(g, &r);
	return 0;
}

static int
on_frame(void *ud, int stream, const char *data, size_t len)
{
	struct follower *f = ud;

	if (stream != 1 && stream != 2)
		return 0; /* stdin, or the engine's own error stream */
	f->stream = stream;
	return bc_logsplit_feed(&f->split[stream - 1], data, len, on_line, f);
}

/* A stream that could not be read: again after 1 s, 2 s, ... 60 s (a
 * container whose logs cannot be read is not asked for them every second) */
static void
broke(struct follower *f)
{
	f->retry_at = bc_mono_ms() + bc_doubling_ms(f->failures++, LG_RETRY_MS, 60000);
}

static void
detach(struct lg *g, struct follower *f)
{
	if (f->s == NULL)
		return;
	epoll_ctl(g->epfd, EPOLL_CTL_DEL, bc_docker_stream_fd(f->s), NULL);
	bc_docker_stream_free(f->s);
	f->s = NULL;
	bc_logsplit_free(&f->split[0]);
	bc_logsplit_free(&f->split[1]);
}

/* A first run: what the container printed before is not the cloud's
 * (the buffer's refill shows it locally). */
static void
from_now(struct lg *g, struct follower *f)
{
	f->read[0].ts_ns = (int64_t)bc_wall_ms() * 1000000;
	f->read[0].n = 0;
	f->read[1] = f->read[0];
	memcpy(f->done, f->read, sizeof(f->read));
	g->dirty = true;
	log_info("%s: a first run: its lines from now on go to the cloud", f->short_id);
}

static void
attach(struct lg *g, struct follower *f)
{
	char query[160], since[32];
	bc_err err = {0};
	struct epoll_event ev = {.events = EPOLLIN};

	memset(f->nth, 0, sizeof(f->nth));
	snprintf(query, sizeof(query), "follow=1&stdout=1&stderr=1&timestamps=1");
	if (f->read[0].ts_ns > 0 || f->read[1].ts_ns > 0) {
		/* from the stream that is behind (inclusive: each stream then
		 * drops what it had), but not more than LG_SKEW_NS behind the
		 * other: a quiet stream has nothing unread that far back */
		bc_logcursor from = f->read[f->read[1].ts_ns < f->read[0].ts_ns];
		int64_t ahead = f->read[f->read[1].ts_ns >= f->read[0].ts_ns].ts_ns;
		if (from.ts_ns < ahead - LG_SKEW_NS)
			from = (bc_logcursor){ahead - LG_SKEW_NS, 0};
		bc_logcursor_since(&from, since, sizeof(since));
		snprintf(query + strlen(query), sizeof(query) - strlen(query), "&since=%s", since);
	}
	f->s = bc_docker_logs_open(NULL, f->id, query, f->tty, on_frame, f, &err);
	if (f->s == NULL) {
		log_warnx("%s: %s", f->short_id, err.msg);
		broke(f);
		return;
	}
	ev.data.ptr = f;
	if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, bc_docker_stream_fd(f->s), &ev) < 0) {
		log_warn("epoll");
		detach(g, f);
		f->retry_at = bc_mono_ms() + LG_RETRY_MS;
		return;
	}
	bc_docker_stream_budget(f->s, 4); /* 64 KiB, then the others and the cloud */
	f->retry_at = 0;
	log_info("following %s (app %" PRId64 ", service %s)", f->short_id, f->app_id, f->service);
}

static void
streams_ready(void *ud, short revents)
{
	struct lg *g = ud;
	struct epoll_event ev[32];
	int n = epoll_wait(g->epfd, ev, 32, 0);

	(void)revents;
	for (int i = 0; i < n; i++) {
		struct follower *f = ev[i].data.ptr;
		bc_err err = {0};
		int rc;
		if (lg_hold(g)) {
			/* the cloud catches up first (level-triggered: the rest
			 * are seen again when reading resumes) */
			if (!g->paused) {
				bc_daemon_unwatch_fd(g->d, g->epfd);
				g->paused = true;
			}
			return;
		}
		if (f->s == NULL)
			continue;
		rc = bc_docker_stream_read(f->s, &err);
		if (rc == 0)
			continue;
		if (rc < 0) {
			if (f->failures < 3 || f->failures % 20 == 0)
				log_warnx("%s: %s; reading it again", f->short_id, err.msg);
			broke(f);
		}
		/* ended: the container stopped, and all it printed was read (a
		 * scan looks whether it stopped or only its stream ended) */
		detach(g, f);
		if (rc > 0) {
			f->drained = true;
			g->scan_at = bc_mono_ms() + SCAN_DELAY_MS;
		}
	}
}

void
lg_follow_resume(struct lg *g)
{
	bc_err err = {0};

	if (!g->paused || lg_hold(g))
		return;
	if (bc_daemon_watch_fd(g->d, g->epfd, POLLIN, streams_ready, g, &err) < 0) {
		log_warnx("containers: %s", err.msg);
		return;
	}
	g->paused = false;
}

static uint64_t
pause_due(void *ud)
{
	struct lg *g = ud;
	return g->paused ? lg_hold_until(g) : UINT64_MAX;
}

static void
pause_fire(void *ud)
{
	lg_follow_resume(ud);
}

/* --- the scan: which containers there are ------------------------------ */

struct seen {
	char id[65];
	bool tty, running;
	int64_t app_id, service_id;
	char service[128];
};
struct scan {
	struct lg *g;
	struct seen *v;
	size_t n;
	bool ok;
	bc_err err;
};

static int64_t
label_num(json_t *labels, const char *balena, const char *resin)
{
	const char *v = json_string_value(json_object_get(labels, balena));
	if (v == NULL)
		v = json_string_value(json_object_get(labels, resin));
	return v != NULL && strspn(v, "0123456789") == strlen(v) && strlen(v) < 19
		   ? strtoll(v, NULL, 10)
		   : 0;
}

static void
scan_work(void *ud)
{
	struct scan *sc = ud;
	bc_docker *d = bc_docker_new(NULL, &sc->err);
	json_t *list =
	    d ? bc_docker_container_list(d, "io.balena.supervised", true, &sc->err) : NULL;
	size_t i;
	json_t *c;

	if (list == NULL)
		goto out;
	sc->v = calloc(json_array_size(list) + 1, sizeof(*sc->v));
	if (sc->v == NULL)
		goto out;
	json_array_foreach(list, i, c)
	{
		const char *id = json_string_value(json_object_get(c, "Id"));
		json_t *labels = json_object_get(c, "Labels"), *in;
		struct seen *s = &sc->v[sc->n];
		bc_err ierr = {0};
		if (id == NULL || strlen(id) != 64)
			continue;
		s->app_id = label_num(labels, "io.balena.app-id", "io.resin.app-id");
		s->service_id = label_num(labels, "io.balena.service-id", "io.resin.service-id");
		snprintf(s->service, sizeof(s->service), "%s",
			 json_string_value(json_object_get(labels, "io.balena.service-name"))
			     ?: json_string_value(json_object_get(labels, "io.resin.service-name"))
			     ?: "");
		snprintf(s->id, sizeof(s->id), "%s", id);
		s->running = json_is_string(json_object_get(c, "State")) &&
			     strcmp(json_string_value(json_object_get(c, "State")), "running") == 0;
		/* the list does not say whether it has a TTY */
		if ((in = bc_docker_container_inspect(d, id, &ierr)) == NULL) {
			if (ierr.code == BC_ENOTFOUND)
				continue; /* gone meanwhile */
			sc->err = ierr;	  /* not known: the scan fails, nothing is forgotten */
			goto out;
		}
		s->tty = json_is_true(json_object_get(json_object_get(in, "Config"), "Tty"));
		json_decref(in);
		sc->n++;
	}
	sc->ok = true;
out:
	json_decref(list);
	bc_docker_free(d);
}

static void
scan_done(void *ud, bool ran)
{
	struct scan *sc = ud;
	struct lg *g = sc->g;

	g->scanning = false;
	if (!ran || g->stopping)
		goto out;
	if (!sc->ok) {
		log_warnx("containers: %s; looking again", sc->err.msg);
		g->scan_at = bc_mono_ms() + LG_RETRY_MS;
		goto out;
	}
	for (size_t i = 0; i < LG_MAX_FOLLOW; i++)
		g->f[i].seen = false;
	for (size_t i = 0; i < sc->n; i++) {
		struct seen *s = &sc->v[i];
		struct follower *f;
		bool fresh = false;
		if (!bc_settings_in_scope(&g->d->settings, s->app_id))
			continue;
		if ((f = lg_follower_by_id(g, s->id)) == NULL) {
			if ((f = lg_follower_add(g, s->id)) == NULL) {
				log_warnx("following %d containers already: %.12s is not read",
					  LG_MAX_FOLLOW, s->id);
				continue;
			}
			f->g = g;
			fresh = true;
		}
		f->g = g;
		f->seen = true;
		f->tty = s->tty;
		f->app_id = s->app_id;
		f->service_id = s->service_id;
		snprintf(f->service, sizeof(f->service), "%s", s->service);
		f->running = s->running;
		if (f->running)
			f->drained = false;
		if (fresh && !g->had_cursors && !g->first_scan_done)
			from_now(g, f);
		/* read it when it runs, or when it stopped before we read all
		 * (a stopped container's stream gives what is left, then ends);
		 * after the first scan only: that one refills the buffer first */
		if (f->s == NULL && (f->running || !f->drained) && g->first_scan_done)
			attach(g, f);
	}
	/* containers gone: their cursors go */
	for (size_t i = 0; i < LG_MAX_FOLLOW; i++)
		if (g->f[i].used && !g->f[i].seen) {
			detach(g, &g->f[i]);
			g->f[i].used = false;
			g->dirty = true;
		}
	if (!g->first_scan_done) {
		g->first_scan_done = true;
		lg_refill_start(g); /* then a scan attaches them */
	}
out:
	free(sc->v);
	free(sc);
}

static uint64_t
scan_due(void *ud)
{
	struct lg *g = ud;
	uint64_t due = g->scanning || g->scan_at == 0 ? UINT64_MAX : g->scan_at;

	/* a scan's end looks at every container anyway; a refill's starts one */
	if (g->scanning || g->refilling)
		return UINT64_MAX;
	for (size_t i = 0; i < LG_MAX_FOLLOW; i++)
		if (g->f[i].used && g->f[i].retry_at != 0 && g->f[i].retry_at < due)
			due = g->f[i].retry_at;
	return due;
}

static void
scan_fire(void *ud)
{
	struct lg *g = ud;
	struct scan *sc;
	bc_err err = {0};

	if (g->scanning || g->stopping)
		return;
	for (size_t i = 0; i < LG_MAX_FOLLOW; i++)
		if (g->f[i].retry_at != 0 && g->f[i].retry_at <= bc_mono_ms())
			g->f[i].retry_at = 0; /* the scan below looks at them */
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return;
	sc->g = g;
	g->scan_at = 0;
	if (bc_pool_submit(g->d->pool, scan_work, scan_done, sc, &err) < 0) {
		free(sc);
		g->scan_at = bc_mono_ms() + LG_RETRY_MS;
		return;
	}
	g->scanning = true;
}

/* --- Docker's events ------------------------------------------------------ */

static int
on_event(void *ud, json_t *ev)
{
	struct lg *g = ud;
	const char *action = json_string_value(json_object_get(ev, "Action"));

	if (action != NULL && (strcmp(action, "start") == 0 || strcmp(action, "die") == 0 ||
			       strcmp(action, "destroy") == 0)) {
		uint64_t at = bc_mono_ms() + SCAN_DELAY_MS;
		if (g->scan_at == 0 || g->scan_at > at)
			g->scan_at = at;
	}
	return 0;
}

static void events_open(struct lg *g);

static void
events_broke(struct lg *g, const char *why)
{
	if (g->events != NULL) {
		bc_daemon_unwatch_fd(g->d, bc_docker_stream_fd(g->events));
		bc_docker_stream_free(g->events);
		g->events = NULL;
	}
	log_warnx("docker events: %s; following them again in %d ms", why, LG_RETRY_MS);
	g->events_retry_at = bc_mono_ms() + LG_RETRY_MS;
}

static void
events_ready(void *ud, short revents)
{
	struct lg *g = ud;
	bc_err err = {0};
	int rc = bc_docker_stream_read(g->events, &err);

	(void)revents;
	if (rc < 0)
		events_broke(g, err.msg);
	else if (rc > 0)
		events_broke(g, "the engine ended the stream");
}

static void
events_open(struct lg *g)
{
	bc_err err = {0};
	json_t *flt =
	    json_pack("{s:[s], s:[s]}", "type", "container", "label", "io.balena.supervised");
	char *query = bc_docker_filters(flt, &err);

	json_decref(flt);
	g->events_retry_at = 0;
	if (query == NULL)
		return events_broke(g, err.msg);
	g->events = bc_docker_events_open(NULL, query, on_event, g, &err);
	free(query);
	if (g->events == NULL)
		return events_broke(g, err.msg);
	if (bc_daemon_watch_fd(g->d, bc_docker_stream_fd(g->events), POLLIN, events_ready, g,
			       &err) < 0)
		return events_broke(g, err.msg);
	/* what happened while we were not listening */
	g->scan_at = bc_mono_ms();
}

static uint64_t
events_due(void *ud)
{
	struct lg *g = ud;
	return g->events == NULL && g->events_retry_at != 0 ? g->events_retry_at : UINT64_MAX;
}

static void
events_fire(void *ud)
{
	events_open(ud);
}

static uint64_t
save_due(void *ud)
{
	struct lg *g = ud;
	return g->dirty ? g->saved_at + LG_SAVE_EVERY_MS : UINT64_MAX;
}

static void
save_fire(void *ud)
{
	lg_save_cursors(ud);
}

int
lg_follow_start(struct lg *g, bc_err *err)
{
	snprintf(g->cursor_file, sizeof(g->cursor_file), "%s/log-cursors.json",
		 g->d->settings.statedir);
	lg_load_cursors(g);
	for (size_t i = 0; i < LG_MAX_FOLLOW; i++)
		g->f[i].g = g;
	if ((g->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return bc_err_sys(err, "epoll");
	if (bc_daemon_watch_fd(g->d, g->epfd, POLLIN, streams_ready, g, err) < 0 ||
	    bc_daemon_timer(g->d, scan_due, scan_fire, g, err) < 0 ||
	    bc_daemon_timer(g->d, events_due, events_fire, g, err) < 0 ||
	    bc_daemon_timer(g->d, save_due, save_fire, g, err) < 0 ||
	    bc_daemon_timer(g->d, pause_due, pause_fire, g, err) < 0)
		return -1;
	events_open(g);
	return 0;
}

void
lg_follow_stop(struct lg *g)
{
	g->stopping = true;
	for (size_t i = 0; i < LG_MAX_FOLLOW; i++)
		if (g->f[i].used)
			detach(g, &g->f[i]);
	if (g->dirty)
		lg_save_cursors(g);
	if (g->events != NULL) {
		bc_daemon_unwatch_fd(g->d, bc_docker_stream_fd(g->events));
		bc_docker_stream_free(g->events);
		g->events = NULL;
	}
	if (g->epfd > 0) {
		if (!g->paused)
			bc_daemon_unwatch_fd(g->d, g->epfd);
		close(g->epfd);
	}
}
