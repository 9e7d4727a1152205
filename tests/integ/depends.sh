#!/bin/bash
# depends_on's conditions (issue #22) on real Docker, seen in the engine's
# own events: a service that waits for a one-shot to complete successfully
# (service_completed_successfully) and for a database to be healthy
# (service_healthy) starts after both, not before. Prints "N passed, N
# failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-depends.XXXXXX)
mkdir -p "$T/proj"
cat >"$T/proj/docker-compose.yml" <<EOT
services:
  init:
    image: $BCTEST_IMAGE
    command: sh -c 'sleep 2; exit 0'
    restart: "no"
    labels: {io.balena-compose.test: "1"}
  db:
    image: $BCTEST_IMAGE
    command: sh -c 'trap exit TERM; sleep 3; touch /tmp/ready; while :; do sleep 1; done'
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      timeout: 1s
      retries: 30
    labels: {io.balena-compose.test: "1"}
  web:
    image: $BCTEST_IMAGE
    command: sh -c 'trap exit TERM; while :; do sleep 1; done'
    depends_on:
      init: {condition: service_completed_successfully}
      db: {condition: service_healthy, restart: true}
    labels: {io.balena-compose.test: "1"}
networks:
  default: {labels: {io.balena-compose.test: "1"}}
EOT
# the same with db changed (its environment): db is recreated, and web,
# whose rule on it says restart: true, is restarted once db is healthy
sed 's/^  db:$/  db:\n    environment: {V: "2"}/' "$T/proj/docker-compose.yml" >"$T/proj/v2.yml"
PROJ=dep$$
APP=$("$BIN/balena-compose" config -f "$T/proj/docker-compose.yml" -p "$PROJ" 2>/dev/null |
	grep -m1 -o '"id": [0-9]*' | grep -o '[0-9]*')
export BC_STATEDIR=$T/state BC_LOCKDIR=$T/locks BC_SCOPE_APPS=${APP:-1}
bc() { "$BIN/balena-compose" "$@"; }
evpid=
cleanup() {
	[ -n "$evpid" ] && kill "$evpid" 2>/dev/null
	bc down -v -p "$PROJ" --timeout 30 >/dev/null 2>&1
	suite_stop
	docker rm -f $(docker ps -aq --filter "label=io.balena.app-id=$APP") >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
[ -n "$APP" ] || abort "config: no app id"

suite_start "$BUILD" "$T" || abort "the suite did not start"
# up_watched FILE EVENTS: up -f FILE (out, rc) while the engine's events of
# the app go to EVENTS, one a line: "NANOS ACTION... SERVICE CONTAINER-ID"
up_watched() {
	docker events --filter "label=io.balena.app-id=$APP" --filter type=container \
		--format '{{.TimeNano}} {{.Action}} {{index .Actor.Attributes "io.balena.service-name"}} {{.Actor.ID}}' >"$2" 2>&1 &
	evpid=$!
	sleep 0.5
	out=$(bc up -f "$1" -p "$PROJ" --timeout 90 2>&1)
	rc=$?
	sleep 1
	kill "$evpid" 2>/dev/null
	evpid=
}
up_watched "$T/proj/docker-compose.yml" "$T/events"
check "up exits 0 ($(echo "$out" | tail -1))" test "$rc" -eq 0
# when SERVICE's first ACTION came (ns), or nothing
at() { awk -v a="$2" -v s="$1" '$(NF - 1) == s && index($0, " " a " ") { print $1; exit }' "$T/events"; }
init_die=$(at init die)
db_healthy=$(awk '$(NF - 1) == "db" && /health_status: healthy/ { print $1; exit }' "$T/events")
web_create=$(at web create)
web_start=$(at web start)
check "the events were seen: init died, db healthy, web started ($init_die $db_healthy $web_start)" \
	test -n "$init_die" -a -n "$db_healthy" -a -n "$web_start"
check "web was created after init completed (service_completed_successfully)" \
	test "${web_create:-0}" -gt "${init_die:-9999999999999999999}"
check "web was created after db was healthy (service_healthy)" \
	test "${web_create:-0}" -gt "${db_healthy:-9999999999999999999}"
check "init exited 0 and stays exited (a one-shot, left to its restart policy)" \
	bash -c "[ \"\$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' \$(docker ps -aq --filter label=io.balena.app-id=$APP --filter label=io.balena.service-name=init))\" = 'exited 0' ]"
check "web runs" test -n "$(docker ps -q --filter "label=io.balena.app-id=$APP" --filter label=io.balena.service-name=web)"

# restart: true
web1=$(docker ps -q --no-trunc --filter "label=io.balena.app-id=$APP" --filter label=io.balena.service-name=web)
up_watched "$T/proj/v2.yml" "$T/events2"
check "v2 (db changed): up exits 0 ($(echo "$out" | tail -1))" test "$rc" -eq 0
db_create=$(awk '$3 == "db" && $2 == "create" { print $1; exit }' "$T/events2")
db_healthy=$(awk '$(NF - 1) == "db" && /health_status: healthy/ { print $1; exit }' "$T/events2")
web_restart=$(awk -v id="$web1" '$2 == "restart" && $NF == id { print $1; exit }' "$T/events2")
check "db was recreated, web restarted (the same container) ($db_create $web_restart)" \
	test -n "$db_create" -a -n "$web_restart"
check "web restarted after the new db was healthy (restart: true, service_healthy) ($db_healthy)" \
	test "${web_restart:-0}" -gt "${db_healthy:-9999999999999999999}"
check "web is the same container, not recreated" \
	test "$(docker ps -q --no-trunc --filter "label=io.balena.app-id=$APP" --filter label=io.balena.service-name=web)" = "$web1"
check "the device's log says why" \
	bash -c "'$BIN/balena-compose' logs -p '$PROJ' 2>/dev/null | grep -q \"Restarted service 'web'\""
finish
