#!/bin/bash
# A device that follows the cloud, as a user meets it, against the local
# double of the balena cloud (tests/cloud/double.py) and real Docker: the
# report names the release that runs while an update waits on a lock,
# after a failed pull and beside a rejection; a rejected target stays
# rejected while the cloud's target is the one refused; local commands
# that would fight the cloud are refused; what the CLI says while it waits.
# Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-cloudmode.XXXXXX)
APP=$((997000 + $$ % 900))
UUID=$(printf 'c20d%028x' $$)
APPUUID=$(printf 'a98%029x' $$)
KEY=cloudmode-key-$$-$RANDOM
API=127.0.0.1:5553
CTL=127.0.0.1:5554
NAME=cm$APP
bc() { "$BIN/balena-compose" "$@"; }
cid() { docker ps -q --filter "label=io.balena.app-id=$APP" --filter "label=io.balena.service-name=main"; }
# shellcheck source=../cloud/double.sh
. "$here/../cloud/double.sh"
cleanup() {
	suite_stop
	double_stop
	docker rm -f $(docker ps -aq --filter "label=io.balena.app-id=$APP") >/dev/null 2>&1
	docker network rm $(docker network ls -q --filter "label=io.balena.app-id=$APP") >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

# target COMMIT GREETING [IMAGE] [EXTRA COMPOSITION JSON] -> the cloud's v3
# document for this device (release id: a number from the commit)
target() {
	cat <<EOT
{"$UUID": {"name": "dev", "config": {}, "apps": {"$APPUUID": {"id": $APP, "name": "$NAME", "class": "fleet",
 "releases": {"$1": {"id": $((16#${1#c} + 1)), "services": {
  "main": {"id": 1, "image_id": 1, "image": "${3:-$BCTEST_IMAGE}", "labels": {"io.balena-compose.test": "1"},
   "environment": {"GREETING": "$2"},
   "composition": {${4:-}"command": ["sh", "-c", "trap exit TERM; while :; do sleep 1; done"]}}},
 "networks": {"default": {"labels": {"io.balena-compose.test": "1"}}}}}}}}}
EOT
}
put_target() { target "$@" >"$T/target.json" && ctl PUT "/target/$UUID" "$T/target.json" >/dev/null; }

# app_report EXPR: the cloud's view of the app (every report folded as the
# cloud does, the app's part as a), EXPR printed (python)
app_report() {
	ctl GET "/reports/$UUID" | python3 -c 'import json, sys
seen = {}
for r in json.load(sys.stdin):
    seen.update(r)
a = seen.get("apps", {}).get(sys.argv[1], {})
rels = a.get("releases", {})
def svc(commit):
    return rels.get(commit, {}).get("services", {}).get("main", {}).get("status")
def upd(commit):
    return rels.get(commit, {}).get("update_status")
print(eval(sys.argv[2]))' "$APPUUID" "$1"
}
# until_report EXPR: wait (15 s) until app_report EXPR prints True
until_report() {
	for _ in $(seq 75); do [ "$(app_report "$1")" = True ] && return 0; sleep 0.2; done
	app_report 'json.dumps(a)' >&2
	return 1
}
# until_state TEXT: wait (30 s) until `state` shows TEXT
until_state() {
	for _ in $(seq 150); do bc state 2>/dev/null | grep -qF -- "$1" && return 0; sleep 0.2; done
	bc state >&2
	return 1
}

"$here/../cloud/mkcerts.sh" "$T/certs"
double_start || abort "the cloud double did not start"
ctl POST "/device/$UUID?key=$KEY" >/dev/null
cat >"$T/config.json" <<EOT
{"uuid": "$UUID", "deviceApiKey": "$KEY", "apiEndpoint": "https://$API",
 "appUpdatePollInterval": 600000, "deviceType": "generic-amd64"}
EOT
export BC_CONFIG=$T/config.json BC_CA_FILE=$T/certs/ca.pem BC_STATEDIR=$T/state \
	BC_LOCKDIR=$T/locks BC_SCOPE_APPS=$APP BC_CLOUD_LOGS=off
put_target c1 one
suite_start "$BUILD" "$T" || abort "the suite did not start"
out=$(bc up -a "$NAME" --timeout 60 2>&1)
rc=$?
check "up -a: release c1 runs ($(echo "$out" | tail -1))" test $rc -eq 0
check "the report: c1 runs, done" until_report 'a.get("release_uuid") == "c1" and upd("c1") == "done" and svc("c1") == "Running"'

# 1. an update that waits on the app's lock: the report names c1, the
# release that runs, with its service; c2 applying changes, nothing of it
old=$(cid)
docker exec "$old" sh -c 'mkdir -p /tmp/balena && touch /tmp/balena/updates.lock'
put_target c2 two
out=$(bc update 2>&1)
rc=$?
check "update: exit 0, saying how the poll went and which release of the app the target is ($out)" \
	expect $rc 0 "$out" "the cloud: " "applied a new target" "app $NAME: release c2"
check "an update waits on the app's lock" until_state "Waiting for update lock"
bc state >"$T/state.out" 2>&1
check "state says so in words, no step names ($(grep "^app $NAME" "$T/state.out"))" \
	bash -c "grep -q \"^app $NAME ($APP): Waiting for update lock: locked by the app (service 'main')\$\" '$T/state.out' && ! grep -q NOOP '$T/state.out'"
check "the report while it waits: release_uuid c1, c1's service Running, c2 applying changes with no service of c1's" \
	until_report 'a.get("release_uuid") == "c1" and svc("c1") == "Running" and upd("c2") == "applying changes" and svc("c2") is None'
check "nothing moved" test "$(cid)" = "$old"
docker exec "$old" rm /tmp/balena/updates.lock
check "the lock let go: the report says c2 runs, done" \
	until_report 'a.get("release_uuid") == "c2" and upd("c2") == "done" and svc("c2") == "Running" and "c1" not in rels'

# 1. a pull that fails: c3 aborted, c2 still the release that runs
c2=$(cid)
put_target c3 three 127.0.0.1:5000/bc-no-such-image:never
bc update >/dev/null 2>&1
bc status >"$T/status.out" 2>&1
check "status at once after update: the new release is the TARGET ($(grep "^$NAME " "$T/status.out"))" \
	grep -qE "^$NAME +[A-Za-z]+ +c2 +c3$" "$T/status.out"
check "a pull that fails: the app fails" until_state "Failed"
check "the report after it: release_uuid c2, c2's service Running, c3 aborted" \
	until_report 'a.get("release_uuid") == "c2" and svc("c2") == "Running" and upd("c3") == "aborted"'
check "nothing moved" test "$(cid)" = "$c2"
# 4. the missing image is tried again later and later (2 s, 4 s, 8 s ...),
# whatever else wakes the reconciler meanwhile; state says when
bc state >"$T/state.out" 2>&1
check "state says when the pull is tried next ($(grep "^app $NAME" "$T/state.out" | grep -o 'next try.*'))" \
	grep -q "^app $NAME .*; next try at 20.*Z (in [0-9]* s)" "$T/state.out"
lockdir=$(ls -d "$BC_LOCKDIR"/*"$APP"*/main 2>/dev/null | head -1)
for i in $(seq 14); do # the app's lock taken and let go: each a wake
	[ -n "$lockdir" ] && touch "$lockdir/updates.lock" && sleep 0.5 && rm -f "$lockdir/updates.lock"
	sleep 0.5
done
tries() {
	bc logs --json | python3 -c 'import json, sys
t = [json.loads(l)["timestamp"] / 1000 for l in sys.stdin
     if "Failed to download image" in l and "bc-no-such-image" in l]
print(" ".join("%.1f" % (b - a) for a, b in zip(t, t[1:])))'
}
gaps=$(tries)
check "the pull's tries came at least 2 s, then 4 s, then 8 s apart, doubling (gaps: $gaps)" python3 -c 'import sys
g = [float(x) for x in sys.argv[1].split()]
assert len(g) >= 2, g
assert all(x >= 0.9 * 2 ** (k + 1) for k, x in enumerate(g)), g' "$gaps"

# 2. a rejected target stays rejected while it is the cloud's target
# (a known key with a value the device refuses: an unknown key is left out
# with a warning, as the supervisor does)
put_target c4 four "$BCTEST_IMAGE" '"restart": "frobnicate", '
out=$(bc up -a "$NAME" --timeout 20 2>&1)
rc=$?
check "up -a of a target the device refuses: exit 1, saying why ($out)" expect $rc 1 "$out" "frobnicate"
out=$(bc update 2>&1)
rc=$?
check "update again, the cloud answers 304: still rejected, exit 1 ($out)" \
	expect $rc 1 "$out" "rejected" "304" "frobnicate"
# (the double logs a request once its answer is sent)
last_poll() {
	ctl GET /requests | python3 -c 'import json, sys
print([r for r in json.load(sys.stdin) if r.startswith("GET /device/v3/")][-1])'
}
for _ in $(seq 20); do last_poll | grep -q ' 304$' && break; sleep 0.1; done
poll=$(last_poll)
check "the poll was a 304 ($poll)" test "${poll##* }" = 304
out=$(bc up -a "$NAME" --timeout 20 2>&1)
rc=$?
check "up -a after the 304: exit 1, rejected ($out)" expect $rc 1 "$out" "rejected" "frobnicate"
bc status >"$T/status.out" 2>&1
check "status says the cloud's target is rejected ($(grep '^target:' "$T/status.out"))" \
	grep -q '^target: *rejected.*frobnicate' "$T/status.out"
bc state >"$T/state.out" 2>&1
check "state says so too" grep -q "the cloud's target: rejected.*frobnicate" "$T/state.out"
bc state --json >"$T/state.json" 2>&1
check "and state --json" python3 -c 'import json, sys
assert "frobnicate" in json.load(open(sys.argv[1]))["rejected"]' "$T/state.json"
check "the report: c4 rejected, release_uuid c2, c2's service Running" \
	until_report 'upd("c4") == "rejected" and a.get("release_uuid") == "c2" and svc("c2") == "Running"'
check "nothing moved" test "$(cid)" = "$c2"

# a target whose words hold escapes and a forged line: every place they are
# told (update's error, the gateway's log, the device's log) shows them
# made visible, one line, no raw ESC or CR
put_target c6 six "$BCTEST_IMAGE" '"restart": "\u001b]0;PWNED\u0007\u001b[31mRED\r\nfake: line", '
out=$(bc update 2>&1)
rc=$?
printf '%s\n' "$out" >"$T/esc.out"
only_with() { # FILE: "fake: line" only on lines that also hold PWNED (none forged)
	! grep "fake: line" "$1" | grep -qv PWNED
}
check "update: exit 1, the key made visible, no raw escape, no forged line ($(head -c 160 "$T/esc.out"))" \
	bash -c "[ $rc -eq 1 ] && grep -qF '\\e]0;PWNED\\x07\\e[31mRED\\r\\nfake: line' '$T/esc.out' && ! LC_ALL=C grep -q \$'[\\x1b\\r]' '$T/esc.out' && ! grep -q '^fake: line' '$T/esc.out'"
check "the gateway's log: the same, no raw escape, no forged line" \
	bash -c "! LC_ALL=C grep -q \$'[\\x1b\\r]' '$BC_LOGDIR/gateway/current' && $(declare -f only_with); only_with '$BC_LOGDIR/gateway/current'"
for _ in $(seq 30); do bc logs | grep -q PWNED && break; sleep 0.1; done
bc logs >"$T/syslog.out" 2>&1
check "the device's log: one system line, visible ($(grep PWNED "$T/syslog.out" | head -1 | cut -c1-120))" \
	bash -c "grep -q '^system .*Could not move to new release: .*PWNED' '$T/syslog.out' && ! LC_ALL=C grep -q \$'[\\x1b\\r]' '$T/syslog.out' && $(declare -f only_with); only_with '$T/syslog.out'"
# a good target again: the rejection is over. Its composition has a key
# the device does not know and one in camelCase: the first is left out with
# the supervisor's warning, the second taken as its snake_case
put_target c5 five "$BCTEST_IMAGE" '"frobnicate": true, "workingDir": "/tmp", '
out=$(bc up -a "$NAME" --timeout 60 2>&1)
rc=$?
check "then a good target: up -a exits 0 ($(echo "$out" | tail -1))" test $rc -eq 0
check "workingDir (camelCase) is the container's working dir" \
	test "$(docker inspect -f '{{.Config.WorkingDir}}' "$(cid)")" = /tmp
for _ in $(seq 30); do bc logs | grep -q "Ignoring unsupported" && break; sleep 0.1; done
check "the unknown key: the device's log says it was ignored" \
	bash -c "'$BIN/balena-compose' logs | grep -q '^system .*Ignoring unsupported or unknown compose fields: frobnicate'"
check "and state shows it" \
	bash -c "'$BIN/balena-compose' state | grep -q 'left out of its composition: main: frobnicate'"
bc status >"$T/status.out" 2>&1
check "and status no longer says rejected" bash -c "! grep -q rejected '$T/status.out'"
check "the report: c5 runs, done" until_report 'a.get("release_uuid") == "c5" and upd("c5") == "done"'

# 3. local commands that would fight the cloud are refused, saying how to
# switch; nothing moves, and up -a still finds the app
c5=$(cid)
out=$(bc down -p "$NAME" --timeout 20 2>&1)
rc=$?
check "down -p of an app of the cloud's target: refused, exit 1, saying how to switch ($out)" \
	expect $rc 1 "$out" "follows the cloud" "localMode"
out=$(bc down -v -p "$NAME" --timeout 20 2>&1)
rc=$?
check "down -v too" expect $rc 1 "$out" "follows the cloud"
sleep 1
check "nothing moved" test "$(cid)" = "$c5"
out=$(bc up -a "$NAME" --timeout 30 2>&1)
rc=$?
check "up -a still finds the app in the cloud's target ($(echo "$out" | tail -1))" test $rc -eq 0

# 6. a cloud that hangs: the client says what it waits on; once the cloud
# answers again, a new ask gives the stuck poll up instead of waiting out
# its 59 s, and both clients get the new poll's answer
ctl POST "/fault?kind=hang&count=1&method=GET" >/dev/null
(bc update >"$T/u1.out" 2>"$T/u1.err"; echo $? >"$T/u1.rc") &
u1=$!
sleep 3.5
t0=$(date +%s%N)
out=$(bc update 2>&1)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "then a second update: answered by a new poll, exit 0, in $ms ms (not the first's 59 s timeout)" \
	bash -c "[ $rc -eq 0 ] && [ $ms -lt 10000 ]"
for _ in $(seq 100); do [ -s "$T/u1.rc" ] && break; sleep 0.1; done
check "the first update ends with it, exit 0 ($(cat "$T/u1.rc" 2>/dev/null))" test "$(cat "$T/u1.rc" 2>/dev/null)" = 0
check "and while it waited it said on what ($(head -1 "$T/u1.err"))" \
	grep -q "^waiting: the cloud at https://$API has not answered the poll yet ([0-9]* s)" "$T/u1.err"
check "the gateway said it polled anew" grep -q "a client asked: polling anew" "$BC_LOGDIR/gateway/current"
wait "$u1" 2>/dev/null
# 5. a cloud that answers 500 is not "reachable" beside "failed: HTTP 500"
ctl POST "/fault?kind=500&count=1&method=GET" >/dev/null
out=$(bc update 2>&1)
rc=$?
check "update while the cloud answers 500: exit 1 ($out)" expect $rc 1 "$out" "HTTP 500"
bc status >"$T/status.out" 2>&1
check "status: the cloud not reachable, the last poll failed with HTTP 500 ($(grep -E '^(cloud|last poll):' "$T/status.out" | tr '\n' ' '))" \
	bash -c "grep -q '^cloud: *not reachable' '$T/status.out' && grep -q '^last poll: .*failed: HTTP 500' '$T/status.out'"
out=$(bc update 2>&1)
rc=$?
check "the cloud well again: update exits 0" test $rc -eq 0
bc status >"$T/status.out" 2>&1
check "and status says reachable" grep -q '^cloud: *reachable' "$T/status.out"

# 6. the gateway never waits on the reconciler on its loop: with the
# reconciler stopped (SIGSTOP) while a new target is handed to it, the
# gateway still answers at once; the update ends once the reconciler goes on
put_target c7 seven
rpid=$(suite_pid reconciler)
kill -STOP "$rpid"
bc update >/dev/null 2>&1 &
u7=$!
sleep 1.5
t0=$(date +%s%N)
out=$(timeout 20 "$BIN/balena-compose" ping gateway 2>&1)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
kill -CONT "$rpid"
wait "$u7"
u7rc=$?
check "the reconciler stopped while a target is handed to it: the gateway answers a ping in ${ms} ms (exit $rc)" \
	bash -c "[ $rc -eq 0 ] && [ $ms -lt 1000 ] && [[ '$out' == *' UP '* ]]"
check "and the update ends once the reconciler goes on (exit $u7rc)" test "$u7rc" -eq 0
check "c7 runs then" until_report 'a.get("release_uuid") == "c7" and upd("c7") == "done"'

# the key in the gateway's memory after all these polls and reports: the
# one copy it keeps (config.json's), none left by the requests
check_key_once gateway "$KEY"
finish
