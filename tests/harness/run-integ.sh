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

# A suite that hangs must fail, not stall CI: each gets SUITE_LIMIT seconds
# (default 900; the longest takes about 120 here), then it and everything
# it started (setsid ones too: found by parentage) get SIGTERM, its cleanup
# 20 s, and SIGKILL.
SUITE_LIMIT=${SUITE_LIMIT:-900}
descendants() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}
run_limited() {
	local pid waited=0 all
	"$@" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$waited" -ge "$SUITE_LIMIT" ]; then
			echo "SUITE FAILED - $* did not finish within $SUITE_LIMIT s; what it was running:"
			all=$(descendants "$pid")
			ps -o pid,ppid,etimes,args -p "$(echo "$pid" $all | tr ' ' ',')" 2>/dev/null |
				sed 's/^/#   /'
			kill -TERM "$pid" $all 2>/dev/null
			for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
			all="$all $(descendants "$pid")"
			kill -KILL "$pid" $all 2>/dev/null
			wait "$pid" 2>/dev/null
			return 1
		fi
		sleep 1
		waited=$((waited + 1))
	done
	wait "$pid"
}

# run_suite NAME CMD...: run it (limited), and say so when it failed with no
# failing check to show for it (it died, or ended early): tally.py counts
# that "SUITE FAILED" line as a failure
run_suite() {
	local name=$1 out src
	shift
	out=$(mktemp /tmp/bc-suite.XXXXXX)
	# a pipe, not a process substitution: a bare wait for that would wait
	# for the registry this script started, for ever
	run_limited "$@" 2>&1 | tee "$out"
	src=${PIPESTATUS[0]}
	if [ "$src" -ne 0 ] && ! grep -qE '([1-9][0-9]* failed|\[  FAILED  \] [1-9])' "$out"; then
		echo "SUITE FAILED - $name exited $src with no failing check counted"
	fi
	rm -f "$out"
	return "$src"
}

rc=0
# every cmocka suite in tests/integ (test_*.c), then every shell suite
for src in "$here"/../integ/test_*.c; do
	t="$BUILD/tests/$(basename "$src" .c)"
	if [ ! -x "$t" ]; then
		echo "SUITE FAILED - missing $t (build it first)"
		rc=1
		continue
	fi
	echo "== $t"
	run_suite "$t" "$t" || rc=1
done
for s in "$here"/../integ/*.sh; do
	echo "== $s"
	BUILD="$BUILD" run_suite "$s" bash "$s" || rc=1
done
exit $rc
