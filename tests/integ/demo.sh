#!/bin/bash
# The demo as a newcomer meets it: tools/demo.sh (what `make demo` runs once
# it has built), then every command the demo suggests, as it prints them,
# each in bounded time, the last being `make demo-stop`. The daemons are
# scoped to the demo's app (BC_SCOPE_APPS), so nothing else on the engine
# is touched. Skipped where a demo already runs. Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
cd "$top" || exit 1
BIN=$BUILD/bin
T=$(mktemp -d /tmp/bc-demo-test.XXXXXX)
cleanup() {
	BC_RUNDIR=/run/balena-compose "$BIN/balena-compose" ping reconciler >/dev/null 2>&1 &&
		tools/demo.sh "$BUILD" --stop >/dev/null 2>&1
	declare -F double_stop >/dev/null && double_stop
	rm -rf "$T"
}
if BC_RUNDIR=/run/balena-compose "$BIN/balena-compose" ping reconciler >/dev/null 2>&1; then
	skip "the demo and what it suggests" "a demo already runs here (make demo-stop)"
	finish
	exit
fi
trap cleanup EXIT
HELLO=$("$BIN/balena-compose" config -f examples/hello/docker-compose.yml |
	grep -m1 -o '"id": [0-9]*' | grep -o '[0-9]*')
export BC_SCOPE_APPS=$HELLO

timeout 300 tools/demo.sh "$BUILD" >"$T/demo.out" 2>&1
rc=$?
sed 's/^/  demo: /' "$T/demo.out" | tail -20
check "make demo's run: exit 0, the page served" \
	expect "$rc" 0 "$(cat "$T/demo.out")" "hello from balena-compose ("

# the commands it suggests, as printed: "  COMMAND   (what it does)"
sed -n '/^The app runs. Try:$/,/^Daemon logs:/p' "$T/demo.out" | sed '1d;$d' |
	sed 's/^ *//; s/  *(.*)$//' >"$T/suggested"
check "it suggests commands ($(wc -l <"$T/suggested"))" test "$(wc -l <"$T/suggested")" -ge 4
while IFS= read -r cmd; do
	[ -n "$cmd" ] || continue
	t0=$(date +%s)
	out=$(timeout 120 bash -c "$cmd" 2>&1)
	rc=$?
	s=$(($(date +%s) - t0))
	echo "$out" | sed 's/^/    /' | head -8
	check "as the demo says: '$cmd': exit 0, in ${s} s" test "$rc" -eq 0
	case $cmd in
	*"down -p hello")
		check "  and it says the volume stays, and how it would go" \
			expect 0 0 "$out" "kept: the volume(s) site of app hello" "down -p hello -v"
		check "  and the app's containers are gone" \
			test -z "$(docker ps -aq --filter "label=io.balena.app-id=$HELLO")"
		;;
	"make demo-stop")
		check "  and the daemons are stopped" \
			bash -c "! BC_RUNDIR=/run/balena-compose '$BIN/balena-compose' ping reconciler >/dev/null 2>&1"
		check "  and nothing of the app is left, its volume neither" \
			bash -c "[ -z \"\$(docker ps -aq --filter label=io.balena.app-id=$HELLO)\" ] && [ -z \"\$(docker volume ls -q --filter label=io.balena.app-id=$HELLO)\" ]"
		;;
	esac
done <"$T/suggested"
check "the last suggestion was make demo-stop" test "$(tail -1 "$T/suggested")" = "make demo-stop"

# make start / make stop (the README's): the agent alone, whatever the
# mode; a stop leaves the apps running, a start finds them again
rundir_ping() { BC_RUNDIR=/run/balena-compose "$BIN/balena-compose" ping reconciler >/dev/null 2>&1; }
out=$(timeout 300 make start 2>&1)
rc=$?
check "make start: exit 0, saying the mode ($(echo "$out" | grep '^mode:'))" \
	expect "$rc" 0 "$out" "mode: local"
check "  and the daemons answer" rundir_ping
BC_RUNDIR=/run/balena-compose timeout 120 "$BIN/balena-compose" up -f examples/hello/docker-compose.yml >/dev/null 2>&1
web=$(docker ps -q --filter "label=io.balena.app-id=$HELLO" --filter label=io.balena.service-name=web)
out=$(timeout 120 make stop 2>&1)
rc=$?
check "make stop: exit 0 ($(echo "$out" | tail -1))" test "$rc" -eq 0
check "  and the daemons are stopped" bash -c "! BC_RUNDIR=/run/balena-compose '$BIN/balena-compose' ping reconciler >/dev/null 2>&1"
check "  and the app runs on, the very container ($web)" \
	bash -c "[ -n '$web' ] && [ \"\$(docker ps -q --filter label=io.balena.app-id=$HELLO --filter label=io.balena.service-name=web)\" = '$web' ]"
timeout 300 make start >/dev/null 2>&1
sleep 2
check "make start again: the app as it was, nothing recreated" \
	bash -c "[ \"\$(docker ps -q --filter label=io.balena.app-id=$HELLO --filter label=io.balena.service-name=web)\" = '$web' ]"
timeout 300 make demo-stop >/dev/null 2>&1

# make demo on a device that follows the cloud (a config.json with an
# apiEndpoint, here the local double): it says so, runs the cloud's target
# (no app), not the example, and what it suggests works as printed
API=127.0.0.1:5573
CTL=127.0.0.1:5574
# shellcheck source=../cloud/double.sh
. "$here/../cloud/double.sh"
"$here/../cloud/mkcerts.sh" "$T/certs" >/dev/null 2>&1
double_start || abort "the cloud double did not start"
UUID=$(printf 'de30%028x' $$)
KEY=demo-key-$$-$RANDOM
ctl POST "/device/$UUID?key=$KEY" >/dev/null
printf '{"%s": {"name": "dev", "config": {}, "apps": {}}}' "$UUID" >"$T/target.json"
ctl PUT "/target/$UUID" "$T/target.json" >/dev/null
printf '{"uuid": "%s", "deviceApiKey": "%s", "apiEndpoint": "https://%s"}' "$UUID" "$KEY" "$API" >"$T/config.json"
export BC_CONFIG=$T/config.json BC_CA_FILE=$T/certs/ca.pem BC_STATEDIR=$T/state
timeout 300 tools/demo.sh "$BUILD" >"$T/cloud.out" 2>&1
rc=$?
sed 's/^/  demo: /' "$T/cloud.out" | tail -14
check "make demo in cloud mode: exit 0, saying the mode and that it runs the cloud's target" \
	expect "$rc" 0 "$(cat "$T/cloud.out")" "mode: cloud (https://$API" "follows the cloud"
check "  and the example app is not run" test -z "$(docker ps -aq --filter "label=io.balena.app-id=$HELLO")"
sed -n '/Try:$/,/^Daemon logs:/p' "$T/cloud.out" | sed '1d;$d' | sed 's/^ *//; s/  *(.*)$//' >"$T/suggested"
check "it suggests commands ($(wc -l <"$T/suggested"))" test "$(wc -l <"$T/suggested")" -ge 3
while IFS= read -r cmd; do
	[ -n "$cmd" ] || continue
	out=$(timeout 120 bash -c "$cmd" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/    /' | head -6
	check "as the cloud-mode demo says: '$cmd': exit 0" test "$rc" -eq 0
done <"$T/suggested"
check "  and the daemons are stopped" bash -c "! BC_RUNDIR=/run/balena-compose '$BIN/balena-compose' ping reconciler >/dev/null 2>&1"
double_stop
finish
