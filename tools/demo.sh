#!/bin/bash
# make demo: start Docker if needed, run the five daemons under s6-svscan
# from the generated scan directory, and show them answering.
# usage: tools/demo.sh BUILD_DIR
set -euo pipefail
BUILD=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/harness/env.sh
HARNESS_TMP=$(mktemp -d /tmp/bc-demo.XXXXXX)
. "$here/tests/harness/env.sh"
ensure_dockerd # a dockerd started here is left running for you
echo "Docker engine: API $(curl -s --unix-socket $DOCKER_SOCK http://localhost/version |
	sed -n 's/.*"ApiVersion":"\([^"]*\)".*/\1/p')"

export BC_RUNDIR=$HARNESS_TMP/run BC_LOGDIR=$HARNESS_TMP/log
cp -R "$BUILD/scandir" "$HARNESS_TMP/scan"
setsid s6-svscan "$HARNESS_TMP/scan" >/dev/null 2>&1 &
svscan=$!
trap 's6-svscanctl -t "$HARNESS_TMP/scan" 2>/dev/null; wait $svscan 2>/dev/null; rm -rf "$HARNESS_TMP"' EXIT
for d in gateway reconciler fetcher locker logger; do
	for _ in $(seq 50); do [ -p "$HARNESS_TMP/scan/$d/supervise/control" ] && break; sleep 0.1; done
	timeout 10 s6-svwait -U "$HARNESS_TMP/scan/$d"
done
echo
echo "\$ balena-compose ping"
"$BUILD/bin/balena-compose" ping
echo
echo "Idle memory (PSS):"
total=0
for d in gateway reconciler fetcher locker logger; do
	pid=$(s6-svstat -p "$HARNESS_TMP/scan/$d")
	kb=$(awk '/^Pss:/{print $2}' "/proc/$pid/smaps_rollup")
	total=$((total + kb))
	printf '  %-11s %6d KiB\n' "$d" "$kb"
done
printf '  %-11s %6d KiB\n' total "$total"
echo
echo "The fetcher's log, as s6-log keeps it:"
sed 's/^/  /' "$BC_LOGDIR/fetcher/current"
echo
echo "Deploying an example app (local mode) comes with the reconciler (issue #3);"
echo "until then the daemons answer only PING. Stopping the suite."
