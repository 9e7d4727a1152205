#!/bin/bash
# make demo: start Docker if needed, run the five daemons under s6-svscan
# from the generated scan directory, and show them answering.
# usage: tools/demo.sh BUILD_DIR
set -euo pipefail
BUILD=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
HARNESS_TMP=$(mktemp -d /tmp/bc-demo.XXXXXX)
# shellcheck source=../tests/harness/env.sh
. "$here/tests/harness/env.sh"
# shellcheck source=../tests/harness/suite.sh
. "$here/tests/harness/suite.sh"
ensure_dockerd # a dockerd started here is left running for you
echo "Docker engine: API $(curl -s --unix-socket $DOCKER_SOCK http://localhost/version |
	sed -n 's/.*"ApiVersion":"\([^"]*\)".*/\1/p')"

trap 'suite_stop; rm -rf "$HARNESS_TMP"' EXIT
suite_start "$BUILD" "$HARNESS_TMP"
echo
echo "\$ balena-compose ping"
"$BUILD/bin/balena-compose" ping
echo
echo "Idle memory (PSS):"
total=0
for d in $SUITE_DAEMONS; do
	kb=$(awk '/^Pss:/{print $2}' "/proc/$(suite_pid "$d")/smaps_rollup")
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
