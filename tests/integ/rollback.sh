#!/bin/bash
# Health-gated updates (issue #22) on real Docker: a release is committed
# only once every service of it has run its settle period; one that crash
# loops, turns unhealthy or cannot start is rolled back to the release
# before it, `up` says why and exits 1, `state` says "Rolled back", and the
# same release is not tried again until it changes. A kill -9 of the
# reconciler during the settle period still ends in one release. Prints
# "N passed, N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-rollback.XXXXXX)
mkdir -p "$T/p"
PROJ=rb$$
# release V: service main (CMD: what it runs), settle period SETTLE (a
# label; "" leaves the setting's), HEALTH: a healthcheck test or ""
release() {
	local v=$1 cmd=$2 settle=$3 health=$4 after=${5:-}
	{
		echo "name: $PROJ"
		echo "services:"
		echo "  main:"
		echo "    image: $BCTEST_IMAGE"
		echo "    command: [\"sh\", \"-c\", \"$cmd\"]"
		echo "    environment: {V: \"$v\"}"
		echo "    labels:"
		echo "      io.balena-compose.test: \"1\""
		[ -n "$settle" ] && echo "      io.balena-compose.update.settle-period: \"$settle\""
		[ -n "$after" ] && echo "      io.balena-compose.health.restart-after: \"$after\""
		if [ -n "$health" ]; then
			echo "    healthcheck:"
			echo "      test: [\"CMD-SHELL\", \"$health\"]"
			echo "      interval: 1s"
			echo "      timeout: 1s"
			echo "      retries: 2"
		fi
		echo "networks:"
		echo "  default: {labels: {io.balena-compose.test: \"1\"}}"
	} >"$T/p/v$v.yml"
}
LOOP='trap exit TERM; while :; do sleep 1; done'
release 1 "$LOOP" 2s ""
release 2 "echo crashing; exit 1" 2s ""
release 3 "trap exit TERM; while :; do sleep 1; done" 30s "test -f /nonexistent"
release 4 "$LOOP" 6s ""
release 5 "$LOOP" "" ""
release 6 "exec /no/such/program" 2s ""
# takes its update lock 2 s after it starts (once the update's own lock
# is gone) and is unhealthy while it holds it
release 8 "trap exit TERM; sleep 2; touch /tmp/balena/updates.lock; while :; do sleep 1; done" 30s "test ! -f /tmp/balena/updates.lock"
# healthy for 5 s after each start, then unhealthy (the file outlives a
# restart: the start removes it)
release 7 "trap exit TERM; rm -f /tmp/sick; for i in 1 2 3 4 5; do sleep 1; done; touch /tmp/sick; while :; do sleep 1; done" 1s "test ! -f /tmp/sick" 2s
APP=$("$BIN/balena-compose" config -f "$T/p/v1.yml" 2>/dev/null |
	grep -m1 -o '"id": [0-9]*' | grep -o '[0-9]*')
export BC_STATEDIR=$T/state BC_LOCKDIR=$T/locks BC_SCOPE_APPS=${APP:-1} BC_SETTLE_PERIOD=3s
bc() { "$BIN/balena-compose" "$@"; }
cleanup() {
	bc down -v -p "$PROJ" --timeout 30 >/dev/null 2>&1
	suite_stop
	docker rm -f $(docker ps -aq --filter "label=io.balena.app-id=$APP") >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
[ -n "$APP" ] || abort "config: no app id"
# the V of the container that runs main ("" when none runs)
running_v() {
	local c
	c=$(docker ps -q --filter "label=io.balena.app-id=$APP" --filter label=io.balena.service-name=main)
	[ -n "$c" ] && docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' $c | sed -n 's/^V=//p'
}
app_json() { bc state --json | python3 -c "
import json,sys
d=json.load(sys.stdin)
a=[x for x in d['apps'] if x['id']==$APP]
print(json.dumps(a[0] if a else {}))"; }
# is release V the committed one (settled.json: the way back)?
committed() { grep -Eq "\"V\": ?\"$1\"" "$T/state/settled.json"; }
both() { [ "$(running_v)" = "$1" ] && committed "$1"; }
field() { app_json | python3 -c "import json,sys; print(json.load(sys.stdin).get('$1',''))"; }

suite_start "$BUILD" "$T" || abort "the suite did not start"

# 1. a healthy release commits after its settle period (2 s), not before
t0=$(date +%s%N)
out=$(bc up -f "$T/p/v1.yml" --timeout 60 2>&1)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "v1: up exits 0 ($(echo "$out" | tail -1))" test "$rc" -eq 0
check "v1: up waited for the settle period (${ms} ms >= 2000)" test "$ms" -ge 2000
check "v1 runs, state Idle" test "$(running_v)" = 1 -a "$(field status)" = Idle
check "v1 is the committed release (settled.json)" committed 1

# 2. a crash loop is rolled back: up says why and exits 1
out=$(bc up -f "$T/p/v2.yml" --timeout 60 2>&1)
rc=$?
check "v2 (exits 1 in a loop): up exits 1" test "$rc" -eq 1
check "v2: up says it was rolled back and why ($(echo "$out" | tail -1))" \
	expect 0 0 "$out" "rolled back" "service 'main'" "exit code 1"
st="$(field status): $(field error)"
check "v2: state says Rolled back with the reason ($st)" \
	expect 0 0 "$st" "Rolled back: service 'main'" "the release before it runs again"
check "v2: v1 runs again" test "$(running_v)" = 1
check "v2: v1 stays the committed release" committed 1
check "v2: the device's log says it (a system message)" \
	bash -c "'$BIN/balena-compose' logs -p '$PROJ' 2>/dev/null | grep -q 'Rolled back the update: service .main. restarted'"

# 3. the same release again is not tried (keyed on its content)
n_before=$(docker ps -aq --filter "label=io.balena.app-id=$APP" | wc -l)
t0=$(date +%s%N)
out=$(bc up -f "$T/p/v2.yml" --timeout 60 2>&1)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "v2 again: up exits 1 at once (${ms} ms), saying it was rolled back" \
	expect "$rc" 1 "$out" "rolled back"
check "v2 again: no container was made for it" \
	test "$(docker ps -aq --filter "label=io.balena.app-id=$APP" | wc -l)" -eq "$n_before" -a "$(running_v)" = 1

# 4. a release whose healthcheck fails is rolled back (its period is 30 s:
# unhealthy ends it long before)
t0=$(date +%s%N)
out=$(bc up -f "$T/p/v3.yml" --timeout 60 2>&1)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "v3 (unhealthy): up exits 1, saying unhealthy ($(echo "$out" | tail -1))" \
	expect "$rc" 1 "$out" "rolled back" "is unhealthy"
check "v3: rolled back before its 30 s period ended (${ms} ms)" test "$ms" -lt 30000
check "v3: v1 runs again" test "$(running_v)" = 1

# 5. a release that cannot start is rolled back
out=$(bc up -f "$T/p/v6.yml" --timeout 60 2>&1)
rc=$?
check "v6 (no such program): up exits 1, rolled back ($(echo "$out" | tail -1))" \
	expect "$rc" 1 "$out" "rolled back"
check "v6: v1 runs again" test "$(running_v)" = 1

# 6. the setting's period (BC_SETTLE_PERIOD=3s) where no label says; state
# says Settling meanwhile; then committed
bc up -d -f "$T/p/v5.yml" >/dev/null 2>&1
st=
for _ in $(seq 40); do
	st=$(field status)
	[ "$st" = Settling ] && break
	sleep 0.1
done
check "v5: state says Settling during its period ($st: $(field waiting))" test "$st" = Settling
t0=$(date +%s%N)
for _ in $(seq 100); do [ "$(field status)" = Idle ] && break; sleep 0.1; done
check "v5: committed after the setting's 3 s" committed 5

# 7. kill -9 of the reconciler during the settle period (6 s): the restarted
# one goes on with the trial and commits the new release
bc up -d -f "$T/p/v4.yml" >/dev/null 2>&1
for _ in $(seq 50); do [ "$(field status)" = Settling ] && break; sleep 0.1; done
old=$(suite_pid reconciler)
kill9 "$old"
# a new one, up and ready (s6 may still say the killed one is, for a moment)
suite_restarted reconciler "$old"
out=$(bc up -f "$T/p/v4.yml" --timeout 60 2>&1)
rc=$?
check "v4 after a kill -9 in its settle period: up exits 0 ($(echo "$out" | tail -1))" test "$rc" -eq 0
check "v4: runs, committed" both 4

# 8. kill -9 during the trial of a crash loop: it still ends rolled back
bc up -d -f "$T/p/v2.yml" --force >/dev/null 2>&1
sleep 0.3
old=$(suite_pid reconciler)
kill9 "$old"
suite_restarted reconciler "$old"
for _ in $(seq 200); do [ "$(field status)" = "Rolled back" ] && break; sleep 0.1; done
check "v2 forced, kill -9 meanwhile: rolled back to v4 ($(field status))" \
	test "$(field status)" = "Rolled back" -a "$(running_v)" = 4
check "no container of v2 is left" \
	test -z "$(docker ps -aq --filter "label=io.balena.app-id=$APP" --filter "status=restarting")"

# 9. a roll back respects the app's update lock: it waits for it
bc up -d -f "$T/p/v8.yml" >/dev/null 2>&1
st=
for _ in $(seq 200); do
	st=$(field status)
	[ "$st" = "Waiting for update lock" ] && break
	sleep 0.1
done
sleep 2
check "v8 (unhealthy, holding its lock): the roll back waits for the lock ($(field status): $(field waiting))" \
	test "$(field status)" = "Waiting for update lock" -a "$(running_v)" = 8
rm -f "$BC_LOCKDIR/$APP/main/updates.lock"
for _ in $(seq 200); do [ "$(field status)" = "Rolled back" ] && break; sleep 0.1; done
check "v8: once the lock is gone, rolled back to v4 ($(field status): $(field error))" \
	test "$(field status)" = "Rolled back" -a "$(running_v)" = 4

# 10. an unhealthy container is restarted (once its release is committed),
# counted in the state and said in the device's log
out=$(bc up -f "$T/p/v7.yml" --timeout 60 2>&1)
rc=$?
check "v7: up exits 0 (healthy for its 1 s settle period) ($(echo "$out" | tail -1))" test "$rc" -eq 0
cid7=$(docker ps -q --filter "label=io.balena.app-id=$APP" --filter label=io.balena.service-name=main)
started=$(docker inspect -f '{{.State.StartedAt}}' "$cid7")
n=
for _ in $(seq 300); do
	n=$(app_json | python3 -c "import json,sys; print(json.load(sys.stdin)['services']['main'].get('health_restarts', 0))")
	[ "${n:-0}" -ge 1 ] && break
	sleep 0.1
done
check "v7: restarted for being unhealthy; the state counts it ($n)" test "${n:-0}" -ge 1
check "v7: the same container, started again" \
	test "$(docker inspect -f '{{.State.StartedAt}}' "$cid7")" != "$started"
check "v7: the device's log says it" \
	bash -c "'$BIN/balena-compose' logs -p '$PROJ' 2>/dev/null | grep -q \"Restarted service 'main': unhealthy for 2 s\""
check "v7: not rolled back (its release was committed)" test "$(running_v)" = 7 -a "$(field status)" = Idle
finish
