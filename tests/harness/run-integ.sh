#!/bin/bash
# Integration tests against a real Docker engine and registry.
# usage: tests/harness/run-integ.sh BUILD_DIR
# Fails (never skips) when dockerd or the registry cannot be started.
set -u
BUILD=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=env.sh
. "$here/env.sh"
trap harness_down EXIT
trap 'exit 130' INT TERM
harness_up

rc=0
# every cmocka suite in tests/integ (test_*.c), then every shell suite
for src in "$here"/../integ/test_*.c; do
	t="$BUILD/tests/$(basename "$src" .c)"
	if [ ! -x "$t" ]; then
		echo "missing $t (build it first)"
		rc=1
		continue
	fi
	echo "== $t"
	"$t" || rc=1
done
for s in "$here"/../integ/*.sh; do
	echo "== $s"
	BUILD="$BUILD" bash "$s" || rc=1
done
exit $rc
