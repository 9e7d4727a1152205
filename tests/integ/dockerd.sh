#!/bin/bash
# The agent when the Docker engine goes away and comes back (dockerd
# restarted): the daemons reach the real engine through a proxy on a socket
# of this test's own (DOCKER_HOST); killing the proxy is the engine gone
# (every connection and the event stream break, the socket refuses), its
# containers untouched; starting it again is the engine back. The agent
# must see the engine again within seconds of its return, not when the
# backoff of the rounds that failed meanwhile ends. Scoped to this test's
# app. Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-dockerd.XXXXXX)
NAME=eng$$
PROXY=
cat >"$T/docker-compose.yml" <<EOT
services:
  app:
    image: $BCTEST_IMAGE
    command: sh -c 'trap exit TERM; while :; do sleep 1; done'
    labels: {io.balena-compose.test: "1"}
networks:
  default: {labels: {io.balena-compose.test: "1"}}
EOT
bc() { "$BIN/balena-compose" "$@"; }
APP=$(bc config -f "$T/docker-compose.yml" -p $NAME | grep -m1 -o '"id": [0-9]*' | grep -o '[0-9]*')
export BC_STATEDIR=$T/state BC_LOCKDIR=$T/locks BC_SCOPE_APPS=$APP
export DOCKER_HOST=unix://$T/docker.sock

proxy_start() {
	setsid python3 "$here/../harness/slowproxy.py" "$T/docker.sock" /var/run/docker.sock 0 \
		>/dev/null 2>&1 &
	PROXY=$!
	for _ in $(seq 50); do [ -S "$T/docker.sock" ] && return 0; sleep 0.1; done
	return 1
}
proxy_stop() {
	[ -n "$PROXY" ] || return 0
	kill "$PROXY" 2>/dev/null
	wait "$PROXY" 2>/dev/null
	PROXY=
	rm -f "$T/docker.sock"
}
cleanup() {
	[ -n "$PROXY" ] || proxy_start
	bc down -v -p "$NAME" --timeout 30 >/dev/null 2>&1
	suite_stop
	proxy_stop
	unset DOCKER_HOST # the real engine, the proxy gone
	docker rm -f $(docker ps -aq --filter label=io.balena-compose.test=1 \
		--filter "label=io.balena.app-id=$APP") >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
failures() { grep -c 'round_work: converge:' "$BC_LOGDIR/reconciler/current" 2>/dev/null; }
settled_with_app() { # the state settled and ps lists the app's container running
	bc state -p "$NAME" 2>/dev/null | grep -q '^generation [0-9]*, settled$' &&
		bc ps -p "$NAME" 2>/dev/null | grep -qE "^$NAME +app +.* running "
}

proxy_start || abort "the proxy did not start"
suite_start "$BUILD" "$T" || abort "the suite did not start"
out=$(bc up -f "$T/docker-compose.yml" -p $NAME --timeout 60 2>&1)
check "up through the proxied engine: exit 0" test $? -eq 0
cid=$(docker ps -q --filter "label=io.balena.app-id=$APP")

# the engine goes away: the rounds fail and back off (1, 2, 4, 8 s ...)
proxy_stop
for _ in $(seq 400); do [ "$(failures)" -ge 5 ] && break; sleep 0.1; done
n=$(failures)
check "engine away: the reconciler's rounds fail and back off ($n failed)" test "$n" -ge 5
out=$(bc state -p "$NAME" 2>&1)
check "engine away: state says failing and why" \
	expect 0 0 "$out" "failing" "$T/docker.sock"

# the engine comes back just after a failure, with the next retry 16 s away
start=$(date +%s%N)
proxy_start
ok=false
for _ in $(seq 300); do settled_with_app && ok=true && break; sleep 0.1; done
ms=$((($(date +%s%N) - start) / 1000000))
check "engine back: state settled and ps shows the app within 6 s of it (${ms} ms)" \
	test $ok = true -a $ms -lt 6000
check "the reconciler followed Docker's events again" \
	grep -q "docker events: following them again" "$BC_LOGDIR/reconciler/current"
check "the app's container is the same one (nothing recreated)" \
	test -n "$cid" -a "$(docker ps -q --filter "label=io.balena.app-id=$APP")" = "$cid"

finish
