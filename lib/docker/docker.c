#include "lib/docker/docker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/buf.h"
#include "lib/base/text.h"
#include "lib/docker/http1.h"

#define REQUEST_TIMEOUT_S 120L

struct bc_docker {
	bc_http1_conn conn; /* kept alive across requests */
	char sock[108];
	char ver[16];
};

enum xmode { X_BUFFER, X_JSONL, X_DEMUX, X_RAW };

struct xfer {
	enum xmode mode;
	long status; /* 0 until the response's status is known */
	bc_buf body; /* X_BUFFER, or the error body of any mode */
	bc_jsonl jl;
	bc_demux dm;
	bc_json_fn jfn;
	bc_frame_fn ffn;
	void *ud;
	bc_err *err;
	int cb_rc; /* 1: the callback stopped us; -1: err is filled */
	/* a body that is not JSON (a tar): its type, bytes and length */
	const char *raw_type;
	const void *raw;
	size_t raw_len;
};

/* --- small pure helpers --------------------------------------------------- */

char *
bc_docker_label_filter(const char *label, bc_err *err)
{
	json_t *f = json_pack("{s:[s]}", "label", label);
	char *out;

	if (f == NULL) {
		bc_err_set(err, BC_EINVAL, "label filter: label is not valid UTF-8");
		return NULL;
	}
	out = bc_docker_filters(f, err);
	json_decref(f);
	return out;
}

char *
bc_docker_filters(const json_t *filters, bc_err *err)
{
	char *js, *enc, *out = NULL;

	js = json_dumps(filters, JSON_COMPACT);
	enc = js ? bc_pct_encode(js) : NULL;
	free(js);
	if (enc == NULL || asprintf(&out, "filters=%s", enc) < 0) {
		bc_err_sys(err, "label filter");
		out = NULL;
	}
	free(enc);
	return out;
}

/* Names and ids go into URL paths unescaped, as the Docker CLI does; so
 * accept only the characters they use. Container, network and volume names
 * and ids never hold a '/'; image references may, but never a ".." that
 * could climb to another endpoint. */
static int
check_chars(const char *what, const char *s, const char *allowed, bc_err *err)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 512)
		return bc_err_set(err, BC_EINVAL, "docker: %s must be 1..512 characters", what);
	if (strspn(s, allowed) != n || s[0] == '.' || s[0] == '/' || strstr(s, "..") != NULL)
		return bc_err_set(err, BC_EINVAL, "docker: %s '%.80s' has characters not allowed",
				  what, s);
	return 0;
}

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

static int
check_ident(const char *what, const char *s, bc_err *err)
{
	return check_chars(what, s, ALNUM "_.-", err);
}

static int
check_ref(const char *what, const char *s, bc_err *err)
{
	return check_chars(what, s, ALNUM "_.-:/@", err);
}

int
bc_image_ref_split(const char *ref, char *name, size_t namelen, char *tag, size_t taglen,
		   bc_err *err)
{
	const char *at, *slash, *colon, *sep = NULL;
	size_t n;

	if (check_ref("image reference", ref, err) < 0)
		return -1;
	at = strchr(ref, '@');
	slash = strrchr(ref, '/');
	colon = strrchr(ref, ':');
	if (at != NULL)
		sep = at; /* a digest wins over a tag */
	else if (colon != NULL && (slash == NULL || colon > slash))
		sep = colon; /* a colon before the last slash is a registry port */
	n = sep ? (size_t)(sep - ref) : strlen(ref);
	if (n == 0 || n >= namelen || (sep && sep[1] == '\0'))
		return bc_err_set(err, BC_EINVAL, "image reference '%.80s' is malformed", ref);
	memcpy(name, ref, n);
	name[n] = '\0';
	if (snprintf(tag, taglen, "%s", sep ? sep + 1 : "latest") >= (int)taglen)
		return bc_err_set(err, BC_EINVAL, "image reference '%.80s': tag too long", ref);
	return 0;
}

/* --- transfer ------------------------------------------------------------- */

static void
on_status(void *u, long status)
{
	struct xfer *x = u;
	x->status = status;
}

/* Body bytes: 0 go on, 1 the caller's callback stopped us, -1 err filled. */
static int
on_body(void *u, const char *p, size_t len)
{
	struct xfer *x = u;
	int rc = 0;

	if (x->mode == X_BUFFER || x->status >= 300) {
		x->body.max = BC_DOCKER_MAX_RESPONSE;
		rc = bc_buf_add(&x->body, p, len, x->err);
	} else if (x->mode == X_JSONL) {
		rc = bc_jsonl_feed(&x->jl, p, len, x->jfn, x->ud, x->err);
	} else if (x->mode == X_DEMUX) {
		rc = bc_demux_feed(&x->dm, p, len, x->ffn, x->ud, x->err);
	} else {
		rc = x->ffn(x->ud, 1, p, len) != 0 ? 1 : 0;
	}
	if (rc != 0)
		x->cb_rc = rc < 0 ? -1 : 1;
	return x->cb_rc;
}

static int
http_error(struct xfer *x, const char *method, const char *path)
{
	json_t *j = json_loadb(bc_buf_cstr(&x->body), x->body.len, 0, NULL);
	const char *m = j ? json_string_value(json_object_get(j, "message")) : NULL;

	bc_err_set(x->err, x->status == 404 ? BC_ENOTFOUND : BC_EHTTP, "docker %s %.200s: %ld %s",
		   method, path, x->status, m ? m : bc_buf_cstr(&x->body));
	if (x->err)
		x->err->status = x->status;
	json_decref(j);
	return -1;
}

/* Run one request. path is relative to the versioned root (/v1.43/...),
 * or to / before the version is negotiated (GET /version). */
static int
perform(bc_docker *d, const char *method, const char *path, const json_t *body, const char *auth,
	long timeout_s, struct xfer *x)
{
	char full[2048], *js = NULL, *hdrs = NULL;
	bc_http1_req rq = {.method = method,
			   .path = full,
			   .timeout_ms = (int)(timeout_s * 1000),
			   .connect_timeout_ms = 10000,
			   .on_status = on_status,
			   .on_body = on_body,
			   .ud = x};
	int r, rc = -1;

	if ((size_t)snprintf(full, sizeof(full), "%s%s%s", d->ver[0] ? "/v" : "", d->ver, path) >=
	    sizeof(full))
		return bc_err_set(x->err, BC_ETOOBIG, "docker %s: path too long", method);
	if (body != NULL && (js = json_dumps(body, JSON_COMPACT)) == NULL)
		return bc_err_set(x->err, BC_EINVAL, "docker %s %s: body not encodable", method,
				  path);
	/* auth is a secret: it lives only in hdrs (and the request buffer,
	 * which http1 wipes), wiped and freed below */
	{
		const char *ct = js ? "application/json" : x->raw_type;
		if (asprintf(&hdrs, "%s%s%s%s%s%s", ct ? "Content-Type: " : "", ct ? ct : "",
			     ct ? "\r\n" : "", auth ? "X-Registry-Auth: " : "", auth ? auth : "",
			     auth ? "\r\n" : "") < 0) {
			free(js);
			return bc_err_sys(x->err, "docker %s", method);
		}
	}
	rq.headers = hdrs;
	rq.body = js ? js : x->raw;
	rq.body_len = js ? strlen(js) : x->raw ? x->raw_len : 0;
	r = bc_http1_request(&d->conn, &rq, x->err);
	if (r == 1 && x->cb_rc == 1) {
		rc = 0; /* the caller's callback asked to stop */
	} else if (x->cb_rc < 0) {
		bc_err_wrap(x->err, "docker %s %.200s", method, path);
	} else if (r < 0) {
		bc_err_wrap(x->err, "docker %s %.200s (engine socket %s)", method, path, d->sock);
	} else if (x->status >= 300) {
		http_error(x, method, path);
	} else {
		rc = 0;
	}
	explicit_bzero(hdrs, strlen(hdrs));
	free(hdrs);
	free(js);
	return rc;
}

static void
xfer_free(struct xfer *x)
{
	bc_buf_free(&x->body);
	bc_jsonl_free(&x->jl);
	bc_demux_free(&x->dm);
}

static int
request_t(bc_docker *d, const char *method, const char *path, const json_t *body, json_t **out,
	  long timeout_s, bc_err *err)
{
	struct xfer x = {.mode = X_BUFFER, .err = err};
	json_error_t je;
	int rc;

	if (out != NULL)
		*out = NULL;
	rc = perform(d, method, path, body, NULL, timeout_s, &x);
	if (rc == 0 && out != NULL && x.body.len > 0) {
		*out = json_loadb(x.body.data, x.body.len, JSON_REJECT_DUPLICATES, &je);
		if (*out == NULL)
			rc = bc_err_set(err, BC_EPROTO, "docker %s %.200s: bad JSON reply: %s",
					method, path, je.text);
	}
	xfer_free(&x);
	return rc;
}

int
bc_docker_request(bc_docker *d, const char *method, const char *path, const json_t *body,
		  json_t **out, bc_err *err)
{
	return request_t(d, method, path, body, out, REQUEST_TIMEOUT_S, err);
}

/* Build "fmt" into a fresh path; NULL on failure with err set. */
static char *pathf(bc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *
pathf(bc_err *err, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0) {
		p = NULL;
		bc_err_sys(err, "docker path");
	}
	va_end(ap);
	return p;
}

/* Request whose path is built by pathf; frees it. */
static int
req_path(bc_docker *d, const char *method, char *path, const json_t *body, json_t **out,
	 long timeout_s, bc_err *err)
{
	int rc;

	if (path == NULL)
		return -1;
	rc = request_t(d, method, path, body, out, timeout_s, err);
	free(path);
	return rc;
}

/* --- version negotiation -------------------------------------------------- */

static long
ver_num(const char *v)
{
	unsigned maj, min;
	if (v == NULL || sscanf(v, "%u.%u", &maj, &min) != 2 || maj > 99 || min > 999)
		return -1;
	return (long)maj * 1000 + min;
}

/* The engine's socket: sock, else $DOCKER_HOST (unix:// only), else the
 * default. NULL with err for another scheme. */
static const char *
engine_sock(const char *sock, bc_err *err)
{
	const char *host = getenv("DOCKER_HOST");

	if (sock != NULL)
		return sock;
	if (host == NULL || *host == '\0')
		return BC_DOCKER_SOCK_DEFAULT;
	if (strncmp(host, "unix://", 7) != 0) {
		bc_err_set(err, BC_EINVAL, "DOCKER_HOST '%.100s': only unix:// is supported", host);
		return NULL;
	}
	return host + 7;
}

bc_docker *
bc_docker_new(const char *sock, bc_err *err)
{
	bc_docker *d;
	json_t *v = NULL;
	const char *sv;
	long have;

	if ((sock = engine_sock(sock, err)) == NULL)
		return NULL;
	if (strlen(sock) >= sizeof(d->sock)) {
		bc_err_set(err, BC_EINVAL, "docker socket path '%.100s' too long", sock);
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		bc_err_sys(err, "docker client");
		return NULL;
	}
	strcpy(d->sock, sock);
	bc_http1_conn_init(&d->conn, sock, NULL);
	if (bc_docker_request(d, "GET", "/version", NULL, &v, err) < 0)
		goto fail;
	sv = json_string_value(json_object_get(v, "ApiVersion"));
	have = ver_num(sv);
	if (have < 0) {
		bc_err_set(err, BC_EPROTO, "docker /version: no ApiVersion in the reply");
		goto fail;
	}
	if (have < ver_num(BC_DOCKER_API_MIN)) {
		bc_err_set(err, BC_EINVAL, "Docker engine API %s is older than the %s we need", sv,
			   BC_DOCKER_API_MIN);
		goto fail;
	}
	snprintf(d->ver, sizeof(d->ver), "%s",
		 have < ver_num(BC_DOCKER_API_MAX) ? sv : BC_DOCKER_API_MAX);
	json_decref(v);
	return d;
fail:
	json_decref(v);
	bc_docker_free(d);
	return NULL;
}

void
bc_docker_free(bc_docker *d)
{
	if (d == NULL)
		return;
	bc_http1_conn_close(&d->conn);
	free(d);
}

const char *
bc_docker_api_version(const bc_docker *d)
{
	return d->ver;
}

/* --- lists ------------------------------------------------------------------ */

static json_t *
list(bc_docker *d, const char *base, const char *sep, const char *label, bc_err *err)
{
	char *filter = NULL, *path;
	json_t *out = NULL;

	if (label != NULL && (filter = bc_docker_label_filter(label, err)) == NULL)
		return NULL;
	path = pathf(err, "%s%s%s", base, filter ? sep : "", filter ? filter : "");
	free(filter);
	if (req_path(d, "GET", path, NULL, &out, REQUEST_TIMEOUT_S, err) < 0)
		return NULL;
	if (!json_is_array(out) && !json_is_object(out)) {
		json_decref(out);
		bc_err_set(err, BC_EPROTO, "docker GET %s: reply is not a list", base);
		return NULL;
	}
	return out;
}

json_t *
bc_docker_container_list(bc_docker *d, const char *label, bool all, bc_err *err)
{
	return list(d, all ? "/containers/json?all=1" : "/containers/json", all ? "&" : "?", label,
		    err);
}

json_t *
bc_docker_network_list(bc_docker *d, const char *label, bc_err *err)
{
	return list(d, "/networks", "?", label, err);
}

json_t *
bc_docker_image_list(bc_docker *d, const char *label, bc_err *err)
{
	return list(d, "/images/json", "?", label, err);
}

json_t *
bc_docker_volume_list(bc_docker *d, const char *label, bc_err *err)
{
	json_t *o = list(d, "/volumes", "?", label, err), *vols;

	if (o == NULL)
		return NULL;
	vols = json_object_get(o, "Volumes");
	if (json_is_null(vols) || vols == NULL)
		vols = json_array(); /* the engine sends null for none */
	else
		json_incref(vols);
	json_decref(o);
	return vols;
}

/* --- containers ------------------------------------------------------------ */

json_t *
bc_docker_container_inspect(bc_docker *d, const char *id, bc_err *err)
{
	json_t *out = NULL;

	if (check_ident("container id", id, err) < 0 ||
	    req_path(d, "GET", pathf(err, "/containers/%s/json", id), NULL, &out, REQUEST_TIMEOUT_S,
		     err) < 0)
		return NULL;
	return out;
}

static int
take_id(json_t *reply, char id[65], const char *what, bc_err *err)
{
	const char *s = json_string_value(json_object_get(reply, "Id"));
	int rc = 0;

	if (s == NULL || strlen(s) > 64 || *s == '\0')
		rc = bc_err_set(err, BC_EPROTO, "docker %s: reply has no valid Id", what);
	else
		strcpy(id, s);
	json_decref(reply);
	return rc;
}

int
bc_docker_container_create(bc_docker *d, const char *name, const json_t *config, char id[65],
			   bc_err *err)
{
	return bc_docker_container_create_for(d, name, NULL, config, id, err);
}

int
bc_docker_container_create_for(bc_docker *d, const char *name, const char *platform,
			       const json_t *config, char id[65], bc_err *err)
{
	json_t *out = NULL;
	char *enc, *ep = NULL;
	int rc;

	if (check_ident("container name", name, err) < 0)
		return -1;
	if ((enc = bc_pct_encode(name)) == NULL ||
	    (platform != NULL && (ep = bc_pct_encode(platform)) == NULL)) {
		free(enc);
		return bc_err_sys(err, "container create");
	}
	rc = req_path(d, "POST",
		      pathf(err, "/containers/create?name=%s%s%s", enc, ep ? "&platform=" : "",
			    ep ? ep : ""),
		      config, &out, REQUEST_TIMEOUT_S, err);
	free(enc);
	free(ep);
	if (rc < 0)
		return -1;
	return take_id(out, id, "container create", err);
}

/* 304 Not Modified means "already in that state": success. */
static int
idempotent(int rc, bc_err *err)
{
	if (rc < 0 && err != NULL && err->status == 304) {
		bc_err_clear(err);
		return 0;
	}
	return rc;
}

int
bc_docker_container_start(bc_docker *d, const char *id, bc_err *err)
{
	if (check_ident("container id", id, err) < 0)
		return -1;
	return idempotent(req_path(d, "POST", pathf(err, "/containers/%s/start", id), NULL, NULL,
				   REQUEST_TIMEOUT_S, err),
			  err);
}

int
bc_docker_container_stop(bc_docker *d, const char *id, int timeout_s, bc_err *err)
{
	if (check_ident("container id", id, err) < 0)
		return -1;
	/* timeout_s < 0: the container's own StopTimeout (stop_grace_period) */
	if (timeout_s < 0)
		return idempotent(req_path(d, "POST", pathf(err, "/containers/%s/stop", id), NULL,
					   NULL, REQUEST_TIMEOUT_S + 3600, err),
				  err);
	return idempotent(req_path(d, "POST", pathf(err, "/containers/%s/stop?t=%d", id, timeout_s),
				   NULL, NULL, REQUEST_TIMEOUT_S + timeout_s, err),
			  err);
}

int
bc_docker_container_restart(bc_docker *d, const char *id, int timeout_s, bc_err *err)
{
	if (check_ident("container id", id, err) < 0)
		return -1;
	if (timeout_s < 0)
		return req_path(d, "POST", pathf(err, "/containers/%s/restart", id), NULL, NULL,
				REQUEST_TIMEOUT_S + 3600, err);
	return req_path(d, "POST", pathf(err, "/containers/%s/restart?t=%d", id, timeout_s), NULL,
			NULL, REQUEST_TIMEOUT_S + timeout_s, err);
}

int
bc_docker_container_kill(bc_docker *d, const char *id, const char *signal, bc_err *err)
{
	if (check_ident("container id", id, err) < 0 || check_ident("signal", signal, err) < 0)
		return -1;
	return req_path(d, "POST", pathf(err, "/containers/%s/kill?signal=%s", id, signal), NULL,
			NULL, REQUEST_TIMEOUT_S, err);
}

int
bc_docker_container_remove(bc_docker *d, const char *id, bool force, bool volumes, bc_err *err)
{
	if (check_ident("container id", id, err) < 0)
		return -1;
	return req_path(d, "DELETE", pathf(err, "/containers/%s?force=%d&v=%d", id, force, volumes),
			NULL, NULL, REQUEST_TIMEOUT_S, err);
}

int
bc_docker_container_rename(bc_docker *d, const char *id, const char *name, bc_err *err)
{
	if (check_ident("container id", id, err) < 0 ||
	    check_ident("container name", name, err) < 0)
		return -1;
	return req_path(d, "POST", pathf(err, "/containers/%s/rename?name=%s", id, name), NULL,
			NULL, REQUEST_TIMEOUT_S, err);
}

/* --- networks and volumes ---------------------------------------------------- */

int
bc_docker_network_create(bc_docker *d, const json_t *config, char id[65], bc_err *err)
{
	json_t *out = NULL;

	if (bc_docker_request(d, "POST", "/networks/create", config, &out, err) < 0)
		return -1;
	return take_id(out, id, "network create", err);
}

int
bc_docker_network_remove(bc_docker *d, const char *id, bc_err *err)
{
	if (check_ident("network id", id, err) < 0)
		return -1;
	return req_path(d, "DELETE", pathf(err, "/networks/%s", id), NULL, NULL, REQUEST_TIMEOUT_S,
			err);
}

int
bc_docker_network_connect(bc_docker *d, const char *net, const char *container,
			  const json_t *endpoint, bc_err *err)
{
	json_t *body;
	int rc;

	if (check_ident("network id", net, err) < 0 ||
	    check_ident("container id", container, err) < 0)
		return -1;
	body = json_pack("{s:s}", "Container", container);
	if (body == NULL)
		return bc_err_set(err, BC_EINVAL, "network connect: bad container id");
	if (endpoint != NULL)
		json_object_set(body, "EndpointConfig", (json_t *)endpoint);
	rc = req_path(d, "POST", pathf(err, "/networks/%s/connect", net), body, NULL,
		      REQUEST_TIMEOUT_S, err);
	json_decref(body);
	return rc;
}

int
bc_docker_volume_create(bc_docker *d, const json_t *config, bc_err *err)
{
	return bc_docker_request(d, "POST", "/volumes/create", config, NULL, err);
}

int
bc_docker_volume_remove(bc_docker *d, const char *name, bool force, bc_err *err)
{
	if (check_ident("volume name", name, err) < 0)
		return -1;
	return req_path(d, "DELETE", pathf(err, "/volumes/%s?force=%d", name, force), NULL, NULL,
			REQUEST_TIMEOUT_S, err);
}

/* --- images ------------------------------------------------------------------- */

json_t *
bc_docker_image_inspect(bc_docker *d, const char *ref, bc_err *err)
{
	json_t *out = NULL;

	if (check_ref("image reference", ref, err) < 0 ||
	    req_path(d, "GET", pathf(err, "/images/%s/json", ref), NULL, &out, REQUEST_TIMEOUT_S,
		     err) < 0)
		return NULL;
	return out;
}

int
bc_docker_image_tag(bc_docker *d, const char *ref, const char *repo, const char *tag, bc_err *err)
{
	if (check_ref("image reference", ref, err) < 0 || check_ref("repository", repo, err) < 0 ||
	    check_ident("tag", tag, err) < 0)
		return -1;
	return req_path(d, "POST", pathf(err, "/images/%s/tag?repo=%s&tag=%s", ref, repo, tag),
			NULL, NULL, REQUEST_TIMEOUT_S, err);
}

int
bc_docker_image_remove(bc_docker *d, const char *ref, bool force, bc_err *err)
{
	json_t *out = NULL;
	int rc;

	if (check_ref("image reference", ref, err) < 0)
		return -1;
	rc = req_path(d, "DELETE", pathf(err, "/images/%s?force=%d", ref, force), NULL, &out,
		      REQUEST_TIMEOUT_S, err);
	json_decref(out);
	return rc;
}

struct pullctx {
	bc_json_fn fn;
	void *ud;
	bc_err *err;
	int failed; /* the stream carried an error object */
};

static int
on_pull(void *u, json_t *obj)
{
	struct pullctx *pc = u;
	json_t *e = json_object_get(obj, "error");

	if (e != NULL) {
		bc_err_set(pc->err, BC_EHTTP, "%.400s",
			   json_is_string(e) ? json_string_value(e) : "(no message)");
		pc->failed = 1;
		return 1;
	}
	return pc->fn ? pc->fn(pc->ud, obj) : 0;
}

/* Streams: run perform in a non-buffering mode, then check the tail. */
static int
stream(bc_docker *d, const char *method, const char *path, const char *auth, struct xfer *x)
{
	int rc = perform(d, method, path, NULL, auth, 0L, x);
	if (rc == 0 && x->cb_rc == 0) {
		if (x->mode == X_JSONL)
			rc = bc_jsonl_finish(&x->jl, x->jfn, x->ud, x->err) < 0 ? -1 : 0;
		else if (x->mode == X_DEMUX)
			rc = bc_demux_finish(&x->dm, x->err);
	}
	xfer_free(x);
	return rc;
}

int
bc_docker_image_pull(bc_docker *d, const char *ref, const char *registry_auth,
		     bc_json_fn on_progress, void *ud, bc_err *err)
{
	return bc_docker_image_pull_for(d, ref, NULL, registry_auth, on_progress, ud, err);
}

int
bc_docker_image_pull_for(bc_docker *d, const char *ref, const char *platform,
			 const char *registry_auth, bc_json_fn on_progress, void *ud, bc_err *err)
{
	char name[512], tag[256], *en, *et, *ep, *path = NULL;
	struct pullctx pc = {on_progress, ud, err, 0};
	struct xfer x = {.mode = X_JSONL, .jfn = on_pull, .ud = &pc, .err = err};
	int rc = -1;

	if (bc_image_ref_split(ref, name, sizeof(name), tag, sizeof(tag), err) < 0)
		return -1;
	en = bc_pct_encode(name);
	et = bc_pct_encode(tag);
	ep = platform ? bc_pct_encode(platform) : NULL;
	if (en && et && (platform == NULL || ep != NULL))
		path = pathf(err, "/images/create?fromImage=%s&tag=%s%s%s", en, et,
			     ep ? "&platform=" : "", ep ? ep : "");
	else
		bc_err_sys(err, "pull");
	if (path != NULL) {
		rc = stream(d, "POST", path, registry_auth, &x);
		if (pc.failed)
			rc = -1;
	}
	if (rc < 0)
		bc_err_wrap(err, "pull '%.200s'%s%s", ref, platform ? " for " : "",
			    platform ? platform : "");
	free(path);
	free(en);
	free(et);
	free(ep);
	return rc;
}

int
bc_docker_exec(bc_docker *d, const char *id, const json_t *body, int timeout_ms, int *code,
	       bc_err *err)
{
	json_t *made = NULL, *st = NULL, *start = json_pack("{s:b}", "Detach", 1);
	const char *eid;
	char path[200];
	int rc = -1;

	*code = -1;
	if (check_ident("container id", id, err) < 0)
		goto out;
	snprintf(path, sizeof(path), "/containers/%s/exec", id);
	if (bc_docker_request(d, "POST", path, body, &made, err) < 0)
		goto out;
	if ((eid = json_string_value(json_object_get(made, "Id"))) == NULL ||
	    check_ident("exec id", eid, err) < 0) {
		if (eid == NULL)
			bc_err_set(err, BC_EPROTO, "%s", "exec: the engine named no exec");
		goto out;
	}
	snprintf(path, sizeof(path), "/exec/%s/start", eid);
	if (bc_docker_request(d, "POST", path, start, NULL, err) < 0)
		goto out;
	snprintf(path, sizeof(path), "/exec/%s/json", eid);
	for (int waited = 0;; waited += 100) {
		json_decref(st);
		st = NULL;
		if (bc_docker_request(d, "GET", path, NULL, &st, err) < 0)
			goto out;
		if (!json_is_true(json_object_get(st, "Running")))
			break;
		if (waited >= timeout_ms) {
			bc_err_set(err, BC_ETIMEOUT, "exec: still running after %d ms", timeout_ms);
			goto out;
		}
		usleep(100 * 1000);
	}
	*code = (int)json_integer_value(json_object_get(st, "ExitCode"));
	rc = 0;
out:
	json_decref(made);
	json_decref(st);
	json_decref(start);
	return rc;
}

int
bc_docker_container_put_archive(bc_docker *d, const char *id, const char *dir, const void *tar,
				size_t len, bc_err *err)
{
	struct xfer x = {.mode = X_BUFFER,
			 .err = err,
			 .raw_type = "application/x-tar",
			 .raw = tar,
			 .raw_len = len};
	char *ed = NULL, *path = NULL;
	int rc = -1;

	if (check_ident("container id", id, err) < 0)
		return -1;
	if ((ed = bc_pct_encode(dir)) == NULL || (path = pathf(err, "/containers/%s/archive?path=%s",
							    id, ed)) == NULL) {
		if (ed == NULL)
			bc_err_sys(err, "put archive");
		free(ed);
		return -1;
	}
	rc = perform(d, "PUT", path, NULL, NULL, REQUEST_TIMEOUT_S, &x);
	xfer_free(&x);
	free(path);
	free(ed);
	return rc;
}

/* A build's stream: {"stream": text} lines are the build's output, an
 * "error" ends it, {"aux": {"ID": ...}} names the image. */
struct buildctx {
	bc_json_fn fn;
	void *ud;
	bc_err *err;
	int failed;
	char id[80];
};

static int
on_build(void *u, json_t *obj)
{
	struct buildctx *bx = u;
	json_t *e = json_object_get(obj, "error");
	const char *id = json_string_value(json_object_get(json_object_get(obj, "aux"), "ID"));

	if (e != NULL) {
		bc_err_set(bx->err, BC_EHTTP, "%.400s",
			   json_is_string(e) ? json_string_value(e) : "(no message)");
		bx->failed = 1;
		return 1;
	}
	if (id != NULL)
		snprintf(bx->id, sizeof(bx->id), "%s", id);
	return bx->fn ? bx->fn(bx->ud, obj) : 0;
}

int
bc_docker_image_build(bc_docker *d, const char *query, const void *tar, size_t len,
		      bc_json_fn on_progress, void *ud, char id[80], bc_err *err)
{
	struct buildctx bx = {on_progress, ud, err, 0, ""};
	struct xfer x = {.mode = X_JSONL,
			 .jfn = on_build,
			 .ud = &bx,
			 .err = err,
			 .raw_type = "application/x-tar",
			 .raw = tar,
			 .raw_len = len};
	char *path = pathf(err, "/build%s%s", query && *query ? "?" : "", query ? query : "");
	int rc;

	if (path == NULL)
		return -1;
	rc = stream(d, "POST", path, NULL, &x);
	if (bx.failed)
		rc = -1;
	else if (rc == 0 && bx.id[0] == '\0')
		rc = bc_err_set(err, BC_EPROTO, "the engine's build named no image");
	if (rc == 0)
		snprintf(id, 80, "%s", bx.id);
	free(path);
	return rc;
}

int
bc_docker_events(bc_docker *d, const char *query, bc_json_fn fn, void *ud, bc_err *err)
{
	struct xfer x = {.mode = X_JSONL, .jfn = fn, .ud = ud, .err = err};
	char *path = pathf(err, "/events%s%s", query ? "?" : "", query ? query : "");
	int rc;

	if (path == NULL)
		return -1;
	rc = stream(d, "GET", path, NULL, &x);
	free(path);
	return rc;
}

struct bc_docker_stream {
	bc_http1_stream h;
	struct xfer x;
	bc_err err;	 /* the xfer's */
	char what[96]; /* "docker events", "docker logs <id>": errors say which */
};

/* Open a loop-driven stream of path (unversioned: the engine's own
 * version; the fields we read are in every version we support). */
static bc_docker_stream *
stream_open(const char *sock, const char *path, bc_docker_stream *s, bc_err *err)
{
	bc_http1_req rq = {.method = "GET", .connect_timeout_ms = 2000, .on_status = on_status,
			   .on_body = on_body, .path = path, .ud = &s->x};

	s->x.err = &s->err;
	if ((sock = engine_sock(sock, err)) == NULL ||
	    bc_http1_stream_open(&s->h, sock, &rq, err) < 0) {
		bc_err_wrap(err, "%s", s->what);
		xfer_free(&s->x);
		free(s);
		return NULL;
	}
	return s;
}

bc_docker_stream *
bc_docker_events_open(const char *sock, const char *query, bc_json_fn fn, void *ud, bc_err *err)
{
	bc_docker_stream *s = calloc(1, sizeof(*s));
	char *path;

	if (s == NULL) {
		bc_err_sys(err, "docker events");
		return NULL;
	}
	s->x = (struct xfer){.mode = X_JSONL, .jfn = fn, .ud = ud};
	snprintf(s->what, sizeof(s->what), "docker events");
	if ((path = pathf(err, "/events%s%s", query ? "?" : "", query ? query : "")) == NULL) {
		free(s);
		return NULL;
	}
	s = stream_open(sock, path, s, err);
	free(path);
	return s;
}

bc_docker_stream *
bc_docker_logs_open(const char *sock, const char *id, const char *query, bool tty, bc_frame_fn fn,
		    void *ud, bc_err *err)
{
	bc_docker_stream *s;
	char *path;

	if (check_ident("container id", id, err) < 0)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		bc_err_sys(err, "docker logs");
		return NULL;
	}
	s->x = (struct xfer){.mode = tty ? X_RAW : X_DEMUX, .ffn = fn, .ud = ud};
	snprintf(s->what, sizeof(s->what), "docker logs %.12s", id);
	path = pathf(err, "/containers/%s/logs%s%s", id, query ? "?" : "", query ? query : "");
	if (path == NULL) {
		free(s);
		return NULL;
	}
	s = stream_open(sock, path, s, err);
	free(path);
	return s;
}

void
bc_docker_stream_budget(bc_docker_stream *s, int n)
{
	s->h.budget = n;
}

int
bc_docker_stream_fd(const bc_docker_stream *s)
{
	return s->h.conn.fd;
}

int
bc_docker_stream_read(bc_docker_stream *s, bc_err *err)
{
	int r = bc_http1_stream_read(&s->h, &s->err);

	if (r == 2 && s->x.cb_rc == 1)
		return 1; /* the callback stopped it */
	if (s->x.cb_rc < 0 || r < 0) {
		if (err)
			*err = s->err;
		return bc_err_wrap(err, "%s", s->what);
	}
	if (r == 1 && s->x.status >= 300) {
		http_error(&s->x, "GET", s->what);
		if (err)
			*err = s->err;
		return -1;
	}
	if (r == 1 && s->x.mode == X_JSONL && bc_jsonl_finish(&s->x.jl, s->x.jfn, s->x.ud, err) < 0)
		return -1;
	if (r == 1 && s->x.mode == X_DEMUX && bc_demux_finish(&s->x.dm, err) < 0)
		return bc_err_wrap(err, "%s", s->what);
	return r == 1 ? 1 : 0;
}

void
bc_docker_stream_free(bc_docker_stream *s)
{
	if (s == NULL)
		return;
	bc_http1_stream_close(&s->h);
	xfer_free(&s->x);
	free(s);
}

int
bc_docker_logs(bc_docker *d, const char *id, const char *query, bool tty, bc_frame_fn fn, void *ud,
	       bc_err *err)
{
	struct xfer x = {.mode = tty ? X_RAW : X_DEMUX, .ffn = fn, .ud = ud, .err = err};
	char *path;
	int rc;

	if (check_ident("container id", id, err) < 0)
		return -1;
	path = pathf(err, "/containers/%s/logs%s%s", id, query ? "?" : "", query ? query : "");
	if (path == NULL)
		return -1;
	rc = stream(d, "GET", path, NULL, &x);
	free(path);
	return rc;
}
