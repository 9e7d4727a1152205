#!/bin/bash
# make check: every stage (the build, the unit tests, the same under
# ASan+UBSan, the fuzz smoke, the reference packages' tables, the
# integration suites), each run even when
# one before failed, then one last line adding up every unit program, fuzz
# target and suite: "P passed, F failed, S skipped".
# usage: tests/harness/check-all.sh [MAKE]
set -u
MAKE=${1:-make}
here=$(cd "$(dirname "$0")" && pwd)
# the demo's reconciler (make demo) owns every supervised container it
# sees: the suites' apps would be removed under them
if [ -x build/bin/balena-compose ] &&
	BC_RUNDIR=/run/balena-compose build/bin/balena-compose ping reconciler >/dev/null 2>&1; then
	echo "check: the demo is running (its reconciler would remove the tests' containers): make demo-stop first" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
log=$(mktemp /tmp/bc-check.XXXXXX)
trap 'rm -f "$log"' EXIT
rc=0
stage() {
	echo "== make $*" | tee -a "$log"
	$MAKE --no-print-directory "$@" 2>&1 | tee -a "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || {
		rc=1
		echo "STAGE FAILED - make $*" | tee -a "$log"
	}
}
stage all
stage unit
stage unit-asan
stage fuzz-smoke
stage oracles
stage integ
python3 "$here/tally.py" "$log"
# a stage that failed with no failing check to show for it (a build error,
# a crash) still fails the run: tally.py counts it as a failure
[ "$rc" -eq 0 ]
