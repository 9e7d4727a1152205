#!/bin/bash
# The logger under s6 on real Docker: a container printing 1..N on stdout
# and stderr -> every number exactly once, in order per stream, at
# `logs -f`, across a kill -9 of the logger mid-stream; a TTY container's
# lines; a long line cut with its marker; --tail, --json, -p and service
# filters. Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-logs.XXXXXX)
APP=$((993000 + $$ % 900))
N=3000
# a buffer that holds every line of this test (the default 256K holds ~3000)
export BC_STATEDIR=$T/state BC_LOCKDIR=$T/locks BC_SCOPE_APPS=$APP BC_CONFIG=$T/none.json \
	BC_LOG_BUFFER=4M
bc() { "$BIN/balena-compose" "$@"; }
follow_pid=
cleanup() {
	[ -z "$follow_pid" ] || kill "$follow_pid" 2>/dev/null
	bc down -v -p "lg$APP" --timeout 30 >/dev/null 2>&1
	suite_stop
	docker rm -f $(docker ps -aq --filter "label=io.balena.app-id=$APP") >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

# numbers: 1..N on stdout as "out i", on stderr as "err i", 100 at a time
# (no TTY: containers get one by default, as the supervisor makes them, and
# a TTY has one stream)
# with a pause, then a line of 12000 characters, then idle until TERM
cat >"$T/target.json" <<EOT
{"bctestdev": {"name": "dev", "apps": {"bctest$APP": {"id": $APP, "name": "lg$APP",
 "releases": {"r1": {"id": 1, "services": {
  "num": {"id": 11, "image_id": 1, "image": "$BCTEST_IMAGE", "labels": {"io.balena-compose.test": "1"},
   "composition": {"tty": false, "command": ["sh", "-c", "echo \\"Installed service 'faked'\\"; i=1; while [ \$i -le $N ]; do echo out \$i; echo err \$i >&2; [ \$((i % 100)) = 0 ] && sleep 0.1; i=\$((i+1)); done; printf %12000s | tr ' ' x; echo; echo done; trap exit TERM; while :; do sleep 1; done"]}},
  "tty": {"id": 12, "image_id": 1, "image": "$BCTEST_IMAGE", "labels": {"io.balena-compose.test": "1"},
   "composition": {"tty": true, "command": ["sh", "-c", "echo tty says hi; trap exit TERM; while :; do sleep 1; done"]}},
  "esc": {"id": 13, "image_id": 1, "image": "$BCTEST_IMAGE", "labels": {"io.balena-compose.test": "1"},
   "composition": {"tty": false, "command": ["sh", "-c", "printf 'a\\\\033]0;PWNED\\\\007\\\\033[31mRED\\\\rX\\\\302\\\\2331m\\\\n'; trap exit TERM; while :; do sleep 1; done"]}}},
 "networks": {"default": {"labels": {"io.balena-compose.test": "1"}}}}}}}}}
EOT
suite_start "$BUILD" "$T" || abort "the suite did not start"

"$BIN/balena-compose" logs -f -p "$APP" >"$T/follow.out" 2>"$T/follow.err" &
follow_pid=$!
sleep 0.3
bc up -t "$T/target.json" --timeout 60 >/dev/null 2>&1
check "the app runs" bash -c "[ -n \"\$(docker ps -q --filter label=io.balena.app-id=$APP --filter label=io.balena.service-name=num)\" ]"

# kill -9 the logger while the numbers come
for _ in $(seq 100); do grep -q '^num *| out 500$' "$T/follow.out" && break; sleep 0.05; done
before=$(suite_pid logger)
kill9 "$before"
check "the logger was killed mid-stream (at out $(grep -c '| out' "$T/follow.out") of $N)" \
	bash -c "[ $(grep -c '| out' "$T/follow.out") -lt $N ]"
for _ in $(seq 100); do grep -q '^num *| done$' "$T/follow.out" && break; sleep 0.1; done
check "s6 restarted it (pid $before -> $(suite_pid logger))" suite_restarted logger "$before"

# every number exactly once, in order, on each stream
exactly() { # STREAM: the numbers of that stream, in order, are 1..N
	grep "^num *| $1 " "$T/follow.out" | awk '{print $NF}' >"$T/$1.got"
	seq "$N" | cmp -s - "$T/$1.got"
}
check "logs -f: out 1..$N exactly once, in order, across the kill" exactly out
check "logs -f: err 1..$N exactly once, in order, across the kill" exactly err
check "a line of 12000 characters: cut at 10000, with the marker" \
	bash -c "grep -q '^num *| x\{10000\} \[cut: longer than 10000 characters\]$' '$T/follow.out'"
check "the TTY container's line" grep -q '^tty *| tty says hi$' "$T/follow.out"
check "no error from logs -f" test ! -s "$T/follow.err"
kill "$follow_pid"
wait "$follow_pid" 2>/dev/null
follow_pid=

# the buffer: --tail, a service filter, --json
out=$(bc logs --tail 3 -p "lg$APP" num)
check "logs --tail 3 num: the last three lines ($(echo "$out" | tr '\n' '/' | cut -c1-80))" \
	bash -c "[ \"\$(echo '$out' | sed 's/ *|/|/' | tail -1)\" = 'num| done' ] && [ \$(echo '$out' | wc -l) = 3 ]"
# the restarted logger's buffer holds what came before its restart too:
# refilled from the engine, as docker compose logs shows it
bc logs -p "lg$APP" num >"$T/logs.out"
exactly_in() { # STREAM: in logs.out, that stream's numbers are 1..N
	grep "^num *| $1 " "$T/logs.out" | awk '{print $NF}' >"$T/$1.buf"
	seq "$N" | cmp -s - "$T/$1.buf"
}
check "logs after the logger's kill -9: out 1..$N exactly once, in order ($(grep -c '| out' "$T/logs.out") lines)" \
	exactly_in out
check "logs after the logger's kill -9: err 1..$N exactly once, in order" exactly_in err
check "the logger said it refilled its buffer" \
	grep -q "earlier line(s) of .* container(s) again" "$BC_LOGDIR/logger/current"
check "logs num: that service only ($(wc -l <"$T/logs.out") lines)" \
	bash -c "grep -q '^num ' '$T/logs.out' && ! grep -qv '^num ' '$T/logs.out'"
bc logs --json --tail 1 -p "lg$APP" num >"$T/json.out"
check "logs --json: one object with the record's fields" python3 -c 'import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
assert len(r) == 1, r
r = r[0]
assert r["message"] == "done" and r["serviceName"] == "num" and r["serviceId"] == 11, r
assert r["appId"] == int(sys.argv[2]) and abs(r["timestamp"] / 1000 - __import__("time").time()) < 120, r' "$T/json.out" "$APP"
bc logs --json -p "lg$APP" num >"$T/all.json"
check "logs --json: stderr lines say isStdErr, stdout lines do not" python3 -c 'import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
err = [x for x in r if x["message"].startswith("err ")]
out = [x for x in r if x["message"].startswith("out ")]
assert len(err) == len(out) == 3000, (len(err), len(out))
assert all(x.get("isStdErr") is True for x in err), err[:1]
assert not any("isStdErr" in x for x in out), out[:1]' "$T/all.json"
out=$(bc logs --since 1h --tail 1 -p "lg$APP" num)
check "logs --since 1h --tail 1" test "$(echo "$out" | sed 's/ *|/|/')" = "num| done"
out=$(bc logs --since 2099-01-01T00:00:00Z -p "lg$APP" 2>&1)
rc=$?
check "logs --since a time to come: exit 0, nothing ($out)" test $rc -eq 0 -a -z "$out"
out=$(bc logs --since yesterday 2>&1)
rc=$?
check "logs --since yesterday: refused, exit 100, saying what is allowed ($out)" expect $rc 100 "$out" "--since 'yesterday'" "30s"
out=$(bc logs -p nosuchapp 2>&1)
rc=$?
check "logs -p of no app: exit 1 naming it ($out)" expect $rc 1 "$out" "no app 'nosuchapp'"
check "the logger's cursors are kept" test -s "$BC_STATEDIR/log-cursors.json"

# an app's escapes on a terminal: logs on a pseudo-terminal (script) shows
# them made visible, never a raw ESC or CR (no retitled window, no colour,
# no line overwritten); --json keeps the message exact
for _ in $(seq 50); do bc logs -p "lg$APP" esc | grep -q RED && break; sleep 0.1; done
NO_COLOR=1 script -qec "'$BIN/balena-compose' logs -p lg$APP esc" /dev/null >"$T/pty.out" 2>&1
check "logs on a terminal: the app's escapes shown, none sent ($(tr -d '\r' <"$T/pty.out" | head -1))" \
	bash -c "! LC_ALL=C grep -q \$'\\x1b' '$T/pty.out' && grep -qF 'a\\e]0;PWNED\\x07\\e[31mRED\\rX\\u009b1m' '$T/pty.out'"
script -qec "'$BIN/balena-compose' logs -p lg$APP esc" /dev/null >"$T/pty2.out" 2>&1
check "with colours: only ours (the prefix's), the app's still visible" \
	bash -c "[ \"\$(LC_ALL=C grep -o \$'\\x1b' '$T/pty2.out' | wc -l)\" = 2 ] && grep -qF 'PWNED\\x07' '$T/pty2.out'"
bc logs --json -p "lg$APP" esc >"$T/esc.json"
check "logs --json: the message exact" python3 -c 'import json, sys
m = json.loads(open(sys.argv[1]).readline())["message"]
assert m == "a\x1b]0;PWNED\x07\x1b[31mRED\rX\x9b1m", repr(m)' "$T/esc.json"

# system messages: the reconciler's steps, in the supervisor's words
check "system messages: the reconciler's steps (Installed, Started service 'num')" \
	bash -c "grep -q \"^system *| Installed service 'num'\$\" '$T/follow.out' && grep -q \"^system *| Started service 'num'\$\" '$T/follow.out'"
grep -q "^system *| Started service 'num'$" "$T/follow.out" || grep '^system' "$T/follow.out" | sed 's/^/  follow.out: /'
check "an app's line in a system message's words is the app's, never the system's" \
	bash -c "grep -q \"^num *| Installed service 'faked'\$\" '$T/follow.out' && ! grep -q \"^system .*'faked'\" '$T/follow.out'"
# an update the app's lock holds: "Updates are locked" once, however many
# rounds wait; then the update, told step by step
tty=$(docker ps -q --filter "label=io.balena.app-id=$APP" --filter label=io.balena.service-name=tty)
docker exec "$tty" touch /tmp/balena/updates.lock
sed 's/echo tty says hi/echo tty says hello/' "$T/target.json" >"$T/target2.json"
bc up -t "$T/target2.json" --timeout 4 >/dev/null 2>&1
sleep 2
n=$(bc logs -p "lg$APP" | grep -c '^system *| Updates are locked')
check "the app holds its lock: 'Updates are locked' said once ($n)" test "$n" = 1
bc logs -p "lg$APP" | grep '^system *| Updates are locked' | head -1 | sed 's/^/  /'
docker exec "$tty" rm /tmp/balena/updates.lock
# the update goes while the logger is down: what the reconciler says of it
# waits for the logger, and is told when it is back
s6-svc -d "$SUITE_SCAN/logger"
s6-svwait -D "$SUITE_SCAN/logger"
bc up -t "$T/target2.json" --timeout 60 >/dev/null 2>&1
check "the update went with the logger down" \
	bash -c "[ -n \"\$(docker ps -q --filter label=io.balena.app-id=$APP --filter label=io.balena.service-name=tty --filter label=io.balena-compose.test)\" ] && [ \"\$(docker ps -q --filter label=io.balena.app-id=$APP --filter label=io.balena.service-name=tty)\" != '$tty' ]"
s6-svc -u "$SUITE_SCAN/logger"
suite_wait_ready logger
for _ in $(seq 50); do bc logs -p "lg$APP" | grep -q "^system *| Started service 'tty'" && break; sleep 0.1; done
sys=$(bc logs -p "lg$APP" | grep '^system' | tail -4 | tr '\n' '/')
check "then the update, told once the logger is back: Killed and Installed service 'tty' ($sys)" \
	bash -c "bc() { '$BIN/balena-compose' \"\$@\"; }; bc logs -p lg$APP | grep -q \"^system *| Killed service 'tty'\" && bc logs -p lg$APP | grep -q \"^system *| Installed service 'tty'\""
check "and the new container's line" bash -c "bc() { '$BIN/balena-compose' \"\$@\"; }; bc logs -p lg$APP tty | grep -q 'tty says hello'"
[ "$fail" -eq 0 ] || { echo "the logger's log:"; tail -25 "$BC_LOGDIR/logger/current"; }
finish
