/* Service contracts: what a service requires of the device (the balena
 * Supervisor's src/lib/contracts.ts, verdicts as @balena/contrato gives
 * them). A contract is {type, slug, requires: [...]}, a requirement
 * {type, slug?, version?} or {or: [requirements]}; the types a contract
 * may require are sw.supervisor, sw.os, sw.l4t, sw.kernel,
 * hw.device-type and arch.sw. A requirement is met when the device has a
 * fact of its type, of its slug when it names one, whose version
 * satisfies its range (node's semver, lib/model/semver.h) when both are
 * versions, or equals it as text when not. Pure: the facts are given. */
#ifndef BC_CONTRACT_H
#define BC_CONTRACT_H

#include <jansson.h>
#include <stddef.h>

#include "lib/base/err.h"

/* The supervisor version we claim for sw.supervisor: the oldest one that
 * checks every requirement type we check (sw.os and sw.kernel came in
 * 17.4.2). Our own version (BC_VERSION) would fail every real range. */
#define BC_SUPERVISOR_CLAIM "17.4.2"

/* What the device is. "" for a fact not known: the device then has no
 * fact of that type (a requirement of it is not met). */
typedef struct bc_device_facts {
	char supervisor[32];	 /* BC_SUPERVISOR_CLAIM */
	char device_type[128];	 /* hw.device-type: config.json's deviceType */
	char arch[32];		 /* arch.sw: amd64, aarch64, armv7hf, i386, rpi */
	char os_slug[64];	 /* sw.os: os-release ID ... */
	char os_version[128];	 /* ... and VERSION, as written (balenaOS: 2.88.4+rev1) */
	char kernel_slug[32];	 /* sw.kernel: uname -s, lower case ... */
	char kernel_version[32]; /* ... and the x.y.z that uname -r begins with */
	char l4t[32];		 /* sw.l4t: "-l4t-rX.Y[.Z]" in uname -r (Jetson) */
	/* not a contract's: os-release's BALENA_BOARD_REV, for the label
	 * io.balena.features.host-os.board-rev */
	char board_rev[64];
	/* not a contract's either: os-release's PRETTY_NAME ("balenaOS
	 * 2.88.4+rev1"), for BALENA_HOST_OS_VERSION */
	char os_pretty[128];
} bc_device_facts;

/* A contract as the supervisor takes it: an object; type and slug strings
 * (or absent); requires an array of requirements, each with a string type
 * of the six above, slug and version strings (or absent), or an "or" list
 * of such. Other fields of a requirement are ignored. Returns 0, or -1
 * with err (BC_EINVAL) naming the service and what is wrong. */
int bc_contract_check(const json_t *contract, const char *service, bc_err *err);

/* Does the device meet the contract (checked first)? 1 yes; 0 no, and why
 * says which requirement, terminal-safe, in n bytes; -1 invalid (err). */
int bc_contract_met(const json_t *contract, const char *service, const bc_device_facts *f,
		    char *why, size_t n, bc_err *err);

/* The device's facts from these texts (the reconciler reads them):
 * os_release an os-release file's contents or NULL (no sw.os),
 * device_type config.json's deviceType or NULL; sysname, release and
 * machine as uname gives them. */
void bc_device_facts_from(bc_device_facts *f, const char *os_release, const char *device_type,
			  const char *sysname, const char *release, const char *machine);

#endif
