#!/bin/bash
# make demo: start Docker if needed, build the demo image locally, run the
# five daemons under s6-svscan, say which mode they run in; in local mode
# deploy examples/hello and show it running (a device that follows the
# cloud runs the cloud's target, not the example). The suite and the app
# stay up; `make demo-stop` ends both.
# make start (--start): Docker and the five daemons only, whatever the
# mode; make stop (--stop-agent): the daemons only, the apps run on.
# usage: tools/demo.sh BUILD_DIR [--start | --stop | --stop-agent]
set -euo pipefail
BUILD=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
BIN=$here/$BUILD/bin
WORK=/run/balena-compose-demo
HARNESS_TMP=$(mktemp -d /tmp/bc-demo.XXXXXX)
# shellcheck source=../tests/harness/env.sh
. "$here/tests/harness/env.sh"
# shellcheck source=../tests/harness/suite.sh
. "$here/tests/harness/suite.sh"
trap 'rm -rf "$HARNESS_TMP"' EXIT
export BC_RUNDIR=/run/balena-compose BC_LOGDIR=/var/log/balena-compose

if [ "${2:-}" = --stop ] || [ "${2:-}" = --stop-agent ]; then
	[ "${2:-}" = --stop-agent ] || "$BIN/balena-compose" down -p hello -v 2>/dev/null || true
	[ -d "$WORK/scan" ] && s6-svscanctl -t "$WORK/scan" 2>/dev/null || true
	for _ in $(seq 60); do pgrep -f "s6-svscan $WORK/scan" >/dev/null || break; sleep 0.5; done
	# the lock root's small tmpfs, which the daemons mounted: kept while
	# containers of other apps run on (their update locks live there)
	lock_root_unmount "${BC_LOCKDIR:-/run/balena-compose/locks}" || true
	if [ "${2:-}" = --stop-agent ]; then
		echo "the agent stopped (the apps run on; make start starts it again)"
	else
		echo "demo stopped"
	fi
	exit 0
fi

ensure_dockerd # a dockerd started here is left running for you
if [ "${2:-}" != --start ] && ! docker image inspect hello/busybox:1 >/dev/null 2>&1; then
	echo "building the demo image hello/busybox:1 (busybox-static, docker import)"
	root=$HARNESS_TMP/rootfs
	mkdir -p "$root/bin" "$root/site" "$root/tmp"
	cp "$(command -v busybox)" "$root/bin/busybox"
	for a in $(busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"; done
	tar -C "$root" -c . | docker import -c 'CMD ["/bin/sh"]' - hello/busybox:1 >/dev/null
fi

if "$BIN/balena-compose" ping >/dev/null 2>&1; then
	echo "the suite is already running (with the settings it started with: make demo-stop to change them)"
else
	echo "starting the five daemons under s6-svscan ($WORK/scan)"
	rm -rf "$WORK"
	mkdir -p "$WORK"
	cp -R "$BUILD/scandir" "$WORK/scan"
	SUITE_SCAN=$WORK/scan
	setsid s6-svscan "$WORK/scan" >/dev/null 2>&1 </dev/null &
	for d in $SUITE_DAEMONS; do
		suite_wait_ready "$d" 2>/dev/null && continue
		echo "the $d daemon did not start; the end of $BC_LOGDIR/$d/current:" >&2
		tail -3 "$BC_LOGDIR/$d/current" 2>/dev/null | sed 's/^/  /' >&2
		echo "(make demo-stop stops what did start)" >&2
		exit 1
	done
fi
"$BIN/balena-compose" ping
# which mode: local (no apiEndpoint in config.json), cloud or provisioning
mode=$("$BIN/balena-compose" status 2>/dev/null | sed -n 's/^mode: *//p' | head -1)
echo "mode: ${mode:-unknown} (config.json: ${BC_CONFIG:-/mnt/boot/config.json})"
if [ "${2:-}" = --start ]; then
	echo "the agent runs; $BUILD/bin/balena-compose status says how it stands, make stop stops it"
	exit 0
fi
case $mode in
local*) ;;
*)
	cat <<EOT

This device follows the cloud: it runs the cloud's target, not the example
app (a local compose file would be replaced at the next poll; to run
examples/hello, set "localMode": true in config.json). 'balena-compose up
-a APP' waits for an app of the cloud's target. Try:
  $BUILD/bin/balena-compose status
  $BUILD/bin/balena-compose update
  $BUILD/bin/balena-compose ps
  make demo-stop                                 (the daemons)
Daemon logs: $BC_LOGDIR/<daemon>/current
EOT
	exit 0
	;;
esac
echo
echo "\$ balena-compose up -f examples/hello/docker-compose.yml"
"$BIN/balena-compose" up -f "$here/examples/hello/docker-compose.yml"
echo
for _ in $(seq 20); do curl -sf http://127.0.0.1:8080/ >/dev/null && break; sleep 0.5; done
echo "\$ curl http://127.0.0.1:8080/"
curl -s http://127.0.0.1:8080/ || echo "(web is not answering yet)"
cat <<EOT

The app runs. Try:
  $BUILD/bin/balena-compose ps
  $BUILD/bin/balena-compose state
  HELLO_TAG=1 $BUILD/bin/balena-compose up -f examples/hello/docker-compose.yml   (a no-op)
  $BUILD/bin/balena-compose down -p hello        (volumes stay; -v removes them)
  make demo-stop                                 (the app, its volume, the daemons)
Daemon logs: $BC_LOGDIR/<daemon>/current
EOT
