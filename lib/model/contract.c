/* Service contracts (contract.h): the supervisor's check of a contract's
 * shape, then contrato's matching of each requirement against the
 * device's facts. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/text.h"
#include "lib/model/contract.h"
#include "lib/model/semver.h"

static const char *const TYPES[] = {"sw.supervisor", "sw.l4t", "hw.device-type",
				    "arch.sw",	     "sw.os",  "sw.kernel"};

static bool
opt_string(const json_t *j)
{
	return j == NULL || json_is_null(j) || json_is_string(j);
}

static int
invalid(bc_err *err, const char *service, const char *what)
{
	return bc_err_set(err, BC_EINVAL,
			  "The contract for service %s failed validation, with error: %s", service,
			  what);
}

static int
check_req(const json_t *r, const char *service, bc_err *err)
{
	const json_t *type = json_object_get(r, "type");
	char msg[200];

	if (!json_is_object(r) || !json_is_string(type))
		return invalid(err, service, "Expecting string at requires.type");
	if (!opt_string(json_object_get(r, "slug")) || !opt_string(json_object_get(r, "version")))
		return invalid(err, service, "Expecting string at requires.slug/version");
	for (size_t i = 0; i < sizeof(TYPES) / sizeof(TYPES[0]); i++)
		if (strcmp(json_string_value(type), TYPES[i]) == 0)
			return 0;
	snprintf(msg, sizeof(msg), "%.100s is not a valid contract requirement type",
		 json_string_value(type));
	return invalid(err, service, msg);
}

int
bc_contract_check(const json_t *c, const char *service, bc_err *err)
{
	const json_t *req, *r;
	size_t i;

	if (!json_is_object(c))
		return invalid(err, service, "contract is not an object");
	if (!opt_string(json_object_get(c, "type")))
		return invalid(err, service, "Expecting string at type");
	if (!opt_string(json_object_get(c, "slug")))
		return invalid(err, service, "Expecting string at slug");
	req = json_object_get(c, "requires");
	if (req == NULL || json_is_null(req))
		return 0;
	if (!json_is_array(req))
		return invalid(err, service, "Expecting array at requires");
	json_array_foreach(req, i, r)
	{
		const json_t * or = json_object_get(r, "or"), *d;
		size_t k;
		if (json_is_object(r) && json_is_array(or)) {
			json_array_foreach(or, k, d)
			{
				if (check_req(d, service, err) < 0)
					return -1;
			}
		} else if (check_req(r, service, err) < 0)
			return -1;
	}
	return 0;
}

/* The device's fact of a type: its slug and version ("" when it has
 * none); false when the device has no fact of that type. */
static bool
fact(const bc_device_facts *f, const char *type, const char **slug, const char **version)
{
	*slug = *version = "";
	if (strcmp(type, "sw.supervisor") == 0)
		*version = f->supervisor;
	else if (strcmp(type, "hw.device-type") == 0)
		*slug = f->device_type;
	else if (strcmp(type, "arch.sw") == 0)
		*slug = f->arch;
	else if (strcmp(type, "sw.l4t") == 0)
		*version = f->l4t;
	else if (strcmp(type, "sw.os") == 0 && f->os_version[0] && f->os_slug[0])
		*slug = f->os_slug, *version = f->os_version;
	else if (strcmp(type, "sw.kernel") == 0 && f->kernel_version[0] && f->kernel_slug[0])
		*slug = f->kernel_slug, *version = f->kernel_version;
	else
		return false;
	return (*slug)[0] != '\0' || (*version)[0] != '\0';
}

static bool
req_met(const json_t *r, const bc_device_facts *f)
{
	const char *type = json_string_value(json_object_get(r, "type"));
	const char *want_slug = json_string_value(json_object_get(r, "slug"));
	const char *want_version = json_string_value(json_object_get(r, "version"));
	const json_t *data = json_object_get(r, "data");
	const char *slug, *version;
	bc_semver v;

	if (type == NULL || !fact(f, type, &slug, &version))
		return false;
	if (want_slug != NULL && *want_slug && strcmp(want_slug, slug) != 0)
		return false;
	/* data is matched against the fact's own, and no fact has any */
	if (data != NULL)
		return false;
	if (want_version == NULL || !*want_version)
		return true;
	if (!*version)
		return false;
	if (bc_semver_parse(version, &v) && bc_semver_range_valid(want_version))
		return bc_semver_satisfies(&v, want_version);
	return strcmp(version, want_version) == 0;
}

/* "type[ slug][ version]" of a requirement, into out. */
static void
say_req(const json_t *r, char *out, size_t n)
{
	const char *slug = json_string_value(json_object_get(r, "slug"));
	const char *version = json_string_value(json_object_get(r, "version"));

	snprintf(out, n, "%.40s%s%.60s%s%.60s", json_string_value(json_object_get(r, "type")),
		 slug && *slug ? " " : "", slug && *slug ? slug : "",
		 version && *version ? " " : "", version && *version ? version : "");
}

/* What the device has of r's type, for the reason. */
static void
say_fact(const json_t *r, const bc_device_facts *f, char *out, size_t n)
{
	const char *slug, *version;

	if (!fact(f, json_string_value(json_object_get(r, "type")), &slug, &version))
		snprintf(out, n, "the device has none");
	else
		snprintf(out, n, "the device has %s%s%s", slug, *slug && *version ? " " : "",
			 version);
}

int
bc_contract_met(const json_t *c, const char *service, const bc_device_facts *f, char *why, size_t n,
		bc_err *err)
{
	const json_t *req, *r;
	size_t i;

	if (bc_contract_check(c, service, err) < 0)
		return -1;
	req = json_object_get(c, "requires");
	json_array_foreach(req, i, r)
	{
		const json_t * or = json_object_get(r, "or"), *d;
		char a[200], b[100];
		size_t k;
		bool met;
		if (json_is_object(r) && json_is_array(or)) {
			met = json_array_size(or) == 0;
			json_array_foreach(or, k, d)
			{
				met |= req_met(d, f);
			}
			if (!met) {
				size_t o = (size_t)snprintf(why, n, "requires one of:");
				json_array_foreach(or, k, d)
				{
					if (o >= n)
						break;
					say_req(d, a, sizeof(a));
					say_fact(d, f, b, sizeof(b));
					o += (size_t)snprintf(why + o, n - o, "%s %s (%s)",
							      k ? ";" : "", a, b);
				}
			}
		} else if (!(met = req_met(r, f))) {
			say_req(r, a, sizeof(a));
			say_fact(r, f, b, sizeof(b));
			snprintf(why, n, "requires %s (%s)", a, b);
		}
		if (!met) {
			bc_visible_in_place(why, n, false);
			return 0;
		}
	}
	return 1;
}

/* One os-release value (quotes taken off), or "". */
static void
os_value(const char *text, const char *key, char *out, size_t n)
{
	size_t kl = strlen(key);

	out[0] = '\0';
	for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		size_t len = strcspn(p, "\n");
		if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			const char *v = p + kl + 1;
			size_t vl = len - kl - 1;
			if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0])
				v++, vl -= 2;
			snprintf(out, n, "%.*s", (int)vl, v);
			bc_visible_in_place(out, n, false);
			return;
		}
	}
}

void
bc_device_facts_from(bc_device_facts *f, const char *os_release, const char *device_type,
		     const char *sysname, const char *release, const char *machine)
{
	static const struct {
		const char *machine, *arch;
	} arches[] = {{"x86_64", "amd64"},   {"aarch64", "aarch64"}, {"arm64", "aarch64"},
		      {"armv7l", "armv7hf"}, {"armv6l", "rpi"},	     {"i686", "i386"},
		      {"i386", "i386"}};
	const char *l4t;
	size_t i;

	memset(f, 0, sizeof(*f));
	snprintf(f->supervisor, sizeof(f->supervisor), "%s", BC_SUPERVISOR_CLAIM);
	if (device_type != NULL) {
		snprintf(f->device_type, sizeof(f->device_type), "%s", device_type);
		bc_visible_in_place(f->device_type, sizeof(f->device_type), false);
	}
	for (i = 0; i < sizeof(arches) / sizeof(arches[0]); i++)
		if (strcmp(machine, arches[i].machine) == 0)
			snprintf(f->arch, sizeof(f->arch), "%s", arches[i].arch);
	if (os_release != NULL) {
		os_value(os_release, "ID", f->os_slug, sizeof(f->os_slug));
		os_value(os_release, "VERSION", f->os_version, sizeof(f->os_version));
		os_value(os_release, "BALENA_BOARD_REV", f->board_rev, sizeof(f->board_rev));
		os_value(os_release, "PRETTY_NAME", f->os_pretty, sizeof(f->os_pretty));
	}
	for (i = 0; sysname[i] && i + 1 < sizeof(f->kernel_slug); i++)
		f->kernel_slug[i] = (char)tolower((unsigned char)sysname[i]);
	/* the x.y.z uname -r begins with */
	{
		int dots = 0;
		size_t k = 0;
		for (const char *p = release; *p && k + 1 < sizeof(f->kernel_version); p++) {
			if (*p == '.' && dots < 2 && k > 0 && isdigit((unsigned char)p[1]))
				dots++;
			else if (!isdigit((unsigned char)*p))
				break;
			f->kernel_version[k++] = *p;
		}
		f->kernel_version[k] = '\0';
		if (dots < 2)
			f->kernel_version[0] = '\0';
	}
	/* "-l4t-r32.4.3" (a Jetson's kernel): 32.4.3; "-l4t-r32.2": 32.2.0 */
	if ((l4t = strstr(release, "-l4t-r")) != NULL) {
		const char *p = l4t + 6;
		size_t k = 0;
		int dots = 0;
		while ((isdigit((unsigned char)*p) || (*p == '.' && dots < 2 && k > 0)) &&
		       k + 3 < sizeof(f->l4t)) {
			dots += *p == '.';
			f->l4t[k++] = *p++;
		}
		if (k > 0 && f->l4t[k - 1] == '.')
			k--, dots--;
		f->l4t[k] = '\0';
		if (dots == 1)
			snprintf(f->l4t + k, sizeof(f->l4t) - k, ".0");
		else if (dots == 0)
			f->l4t[0] = '\0';
	}
}
