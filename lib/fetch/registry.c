/* The size of an image from its registry manifest (lib/fetch/fetch.h), so the
 * disk guard can refuse a pull before any byte of it arrives. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "lib/base/buf.h"
#include "lib/docker/docker.h"
#include "lib/fetch/fetch.h"

#define ACCEPT                                                                                     \
	"Accept: application/vnd.docker.distribution.manifest.v2+json, "                           \
	"application/vnd.docker.distribution.manifest.list.v2+json, "                              \
	"application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"

/* an answer of the registry (a manifest, a token) is at most this: past
 * it the transfer is cut and the request fails */
#define REGISTRY_MAX_BODY ((size_t)4 << 20)

struct http {
	CURL *curl;
	bc_buf body;	     /* an answer: at most REGISTRY_MAX_BODY bytes */
	char www_auth[1024]; /* the WWW-Authenticate of a 401, "" when longer (www_auth_long) */
	bool www_auth_long;
	const char *user, *password;
	char bearer[4096]; /* a token once we have one (a secret) */
	long timeout_s;
};

static size_t
on_body(char *p, size_t sz, size_t n, void *u)
{
	struct http *h = u;
	return bc_buf_add(&h->body, p, sz * n, NULL) < 0 ? 0 : sz * n;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *u)
{
	struct http *h = u;
	size_t len = sz * n;

	if (len > 18 && strncasecmp(p, "WWW-Authenticate:", 17) == 0) {
		/* never cut: a challenge cut could lose its realm or scope */
		h->www_auth_long = len - 17 >= sizeof(h->www_auth);
		if (h->www_auth_long)
			h->www_auth[0] = '\0';
		else
			snprintf(h->www_auth, sizeof(h->www_auth), "%.*s", (int)(len - 17), p + 17);
	}
	return len;
}

/* GET url; *status gets the HTTP status. basic: send user/password. */
static int
get(struct http *h, const char *url, bool basic, long *status, bc_err *err)
{
	struct curl_slist *hdr;
	char authz[4200];
	CURLcode cc;
	bool plain;

	if (bc_registry_url_check(url, &plain, err) < 0)
		return -1;
	hdr = curl_slist_append(NULL, ACCEPT);
	bc_buf_reset(&h->body);
	h->www_auth[0] = '\0';
	h->www_auth_long = false;
	curl_easy_reset(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	/* curl speaks only the scheme checked above, and follows no redirect */
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, plain ? "http" : "https");
	curl_easy_setopt(h->curl, CURLOPT_REDIR_PROTOCOLS_STR, plain ? "http" : "https");
	curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, h->timeout_s);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
	if (h->bearer[0]) {
		snprintf(authz, sizeof(authz), "Authorization: Bearer %s", h->bearer);
		hdr = curl_slist_append(hdr, authz);
		explicit_bzero(authz, sizeof(authz));
	} else if (basic && h->user && h->password) {
		curl_easy_setopt(h->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(h->curl, CURLOPT_USERNAME, h->user);
		curl_easy_setopt(h->curl, CURLOPT_PASSWORD, h->password);
	}
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdr);
	cc = curl_easy_perform(h->curl);
	curl_slist_free_all(hdr);
	if (cc != CURLE_OK)
		return bc_err_set(err, BC_ESYS, "registry %s: %s", url, curl_easy_strerror(cc));
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

/* A Bearer challenge: get a token from its realm. */
static int
fetch_token(struct http *h, bc_err *err)
{
	char realm[512], service[256] = "", scope[512] = "", url[1400];
	char *es, *sc;
	long status;
	json_t *j;
	const char *tok;

	if (h->www_auth_long)
		return bc_err_set(err, BC_EHTTP,
				  "registry: a Bearer challenge longer than %zu bytes",
				  sizeof(h->www_auth) - 1);
	if (!bc_auth_param(h->www_auth, "realm", realm, sizeof(realm)))
		return bc_err_set(err, BC_EHTTP, "registry: unreadable Bearer challenge");
	if (bc_registry_url_check(realm, &(bool){false}, err) < 0)
		return bc_err_wrap(err, "registry token realm");
	/* absent is "", there and too long is an error (never asked without) */
	if ((strstr(h->www_auth, "service=\"") != NULL &&
	     !bc_auth_param(h->www_auth, "service", service, sizeof(service))) ||
	    (strstr(h->www_auth, "scope=\"") != NULL &&
	     !bc_auth_param(h->www_auth, "scope", scope, sizeof(scope))))
		return bc_err_set(
		    err, BC_EHTTP,
		    "registry: a Bearer challenge whose service or scope is unreadable "
		    "(at most %zu and %zu bytes)",
		    sizeof(service) - 1, sizeof(scope) - 1);
	es = curl_easy_escape(h->curl, service, 0);
	sc = curl_easy_escape(h->curl, scope, 0);
	snprintf(url, sizeof(url), "%s?service=%s&scope=%s", realm, es ? es : "", sc ? sc : "");
	curl_free(es);
	curl_free(sc);
	if (get(h, url, true, &status, err) < 0)
		return -1;
	if (status != 200)
		return bc_err_set(err, BC_EHTTP, "registry token from %s: %ld", realm, status);
	j = json_loadb(bc_buf_cstr(&h->body), h->body.len, 0, NULL);
	tok = json_string_value(json_object_get(j, "token"));
	if (tok == NULL)
		tok = json_string_value(json_object_get(j, "access_token"));
	if (tok == NULL || strlen(tok) >= sizeof(h->bearer)) {
		json_decref(j);
		return bc_err_set(err, BC_EHTTP, "registry token from %s: none in the answer",
				  realm);
	}
	snprintf(h->bearer, sizeof(h->bearer), "%s", tok);
	json_decref(j);
	explicit_bzero(h->body.data, h->body.len); /* the token's answer */
	return 0;
}

/* GET a manifest, answering one auth challenge. *out is the caller's. */
static int
manifest(struct http *h, const char *url, json_t **out, bc_err *err)
{
	long status;
	json_error_t je;

	if (get(h, url, false, &status, err) < 0)
		return -1;
	if (status == 401) {
		if (h->www_auth_long ||
		    strncasecmp(h->www_auth + strspn(h->www_auth, " "), "bearer", 6) == 0) {
			if (fetch_token(h, err) < 0 || get(h, url, false, &status, err) < 0)
				return -1;
		} else if (get(h, url, true, &status, err) < 0) {
			return -1;
		}
	}
	if (status != 200)
		return bc_err_set(err, status == 404 ? BC_ENOTFOUND : BC_EHTTP,
				  "registry %s: %ld%s", url, status,
				  status == 401 ? " (unauthorized)" : "");
	if ((*out = json_loadb(bc_buf_cstr(&h->body), h->body.len, 0, &je)) == NULL)
		return bc_err_set(err, BC_EPROTO, "registry %s: bad manifest: %s", url, je.text);
	return 0;
}

static const char *
host_arch(void)
{
	struct utsname u;
	static const struct {
		const char *k, *d;
	} map[] = {{"x86_64", "amd64"},
		   {"aarch64", "arm64"},
		   {"armv7l", "arm"},
		   {"armv6l", "arm"},
		   {"i686", "386"}};

	if (uname(&u) == 0)
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (strcmp(u.machine, map[i].k) == 0)
				return map[i].d;
	return "amd64";
}

int
bc_registry_image_size(const char *ref, const char *user, const char *password, long timeout_s,
		       uint64_t *bytes, bc_err *err)
{
	char reg[256], name[512], tag[256], url[1400];
	const char *repo, *scheme;
	struct http h = {.user = user,
			 .password = password,
			 .timeout_s = timeout_s,
			 .body = {.max = REGISTRY_MAX_BODY}};
	json_t *m = NULL, *e;
	size_t i;
	uint64_t sum = 0;
	int rc = -1;

	if (!bc_image_registry(ref, reg, sizeof(reg)))
		return bc_err_set(err, BC_EINVAL, "'%s' names no registry", ref);
	if (bc_image_ref_split(ref, name, sizeof(name), tag, sizeof(tag), err) < 0)
		return -1;
	repo = name + strlen(reg) + 1;
	scheme = bc_host_is_loopback(reg, strlen(reg)) ? "http" : "https";
	snprintf(url, sizeof(url), "%s://%s/v2/%s/manifests/%s", scheme, reg, repo, tag);
	if ((h.curl = curl_easy_init()) == NULL)
		return bc_err_set(err, BC_ESYS, "registry: curl_easy_init failed");
	if (manifest(&h, url, &m, err) < 0)
		goto out;
	if (json_is_array(json_object_get(m, "manifests"))) {
		/* a list: this machine's platform */
		const char *arch = host_arch(), *digest = NULL;
		json_array_foreach(json_object_get(m, "manifests"), i, e)
		{
			json_t *pl = json_object_get(e, "platform");
			const char *a = json_string_value(json_object_get(pl, "architecture"));
			const char *os = json_string_value(json_object_get(pl, "os"));
			if (a && os && strcmp(a, arch) == 0 && strcmp(os, "linux") == 0)
				digest = json_string_value(json_object_get(e, "digest"));
		}
		if (digest == NULL) {
			bc_err_set(err, BC_ENOTFOUND, "registry: '%s' has no linux/%s image", ref,
				   arch);
			goto out;
		}
		snprintf(url, sizeof(url), "%s://%s/v2/%s/manifests/%s", scheme, reg, repo, digest);
		json_decref(m);
		m = NULL;
		if (manifest(&h, url, &m, err) < 0)
			goto out;
	}
	sum = (uint64_t)json_integer_value(json_object_get(json_object_get(m, "config"), "size"));
	json_array_foreach(json_object_get(m, "layers"), i, e) sum +=
	    (uint64_t)json_integer_value(json_object_get(e, "size"));
	*bytes = sum;
	rc = 0;
out:
	json_decref(m);
	explicit_bzero(h.bearer, sizeof(h.bearer));
	bc_buf_free(&h.body);
	curl_easy_cleanup(h.curl);
	return rc;
}
