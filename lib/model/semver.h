/* Semantic versions and ranges as node's semver package (7.x) reads them
 * with its default options (not loose, prereleases only where a
 * comparator of the same major.minor.patch names one): the versions and
 * ranges of service contracts, which the balena Supervisor checks with
 * that package (through @balena/contrato). Pure, no allocation. */
#ifndef BC_SEMVER_H
#define BC_SEMVER_H

#include <stdbool.h>
#include <stdint.h>

#define BC_SEMVER_MAX 256	 /* the longest version (semver's MAX_LENGTH) */
#define BC_SEMVER_RANGE_MAX 1024 /* the longest range we read */

typedef struct bc_semver {
	uint64_t major, minor, patch; /* at most 2^53 - 1 each */
	char pre[BC_SEMVER_MAX];      /* the prerelease, "" when none; build metadata dropped */
} bc_semver;

/* A version, strictly: [v]MAJOR.MINOR.PATCH[-pre][+build], no leading
 * zeros, surrounding white space allowed (semver's valid()). */
bool bc_semver_parse(const char *s, bc_semver *v);

/* <0, 0, >0 by precedence (build metadata is not part of it). */
int bc_semver_cmp(const bc_semver *a, const bc_semver *b);

/* Is range one semver reads (validRange)? */
bool bc_semver_range_valid(const char *range);

/* Does v satisfy range? false when range is not valid. */
bool bc_semver_satisfies(const bc_semver *v, const char *range);

#endif
