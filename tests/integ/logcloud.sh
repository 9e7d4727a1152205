#!/bin/bash
# The logger's cloud log stream against the local cloud double (HTTPS, test
# CA, gzip ndjson decoded there), the suite under s6 on real Docker: a
# container printing 1..N on stdout and stderr -> every number exactly once,
# in order per stream, at the double, across a kill -9 of the logger; the
# double down while more is printed -> dropped oldest-first, with a
# "Suppressed N message(s)" notice whose N is exactly what is missing; with
# a spool (BC_LOG_SPOOL), the same outage loses nothing; the key in no log.
# Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-logcloud.XXXXXX)
APP=$((992000 + $$ % 900))
UUID=$(printf '10c0%028x' $$)
APPUUID=$(printf 'a10%029x' $$)
KEY=log-key-$$-$RANDOM
API=127.0.0.1:5553
CTL=127.0.0.1:5554
N=3000 # phase 1: 1..N on each stream
M=4000 # phase 2, printed while the cloud is away: ~600 KiB, more than the 256 KiB buffer
bc() { "$BIN/balena-compose" "$@"; }
# shellcheck source=../cloud/double.sh
. "$here/../cloud/double.sh"
cleanup() {
	suite_stop
	double_stop
	docker rm -f $(docker ps -aq --filter "label=io.balena.app-id=$APP") >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

# phase 1 at once (with pauses, so the logger can be killed mid-way), then
# 12 s of quiet (the test takes the double away), then phase 2: M lines of
# about 150 bytes, then idle
cat >"$T/target.json" <<EOT
{"$UUID": {"name": "dev", "config": {}, "apps": {"$APPUUID": {"id": $APP, "name": "lc$APP", "class": "fleet",
 "releases": {"c1": {"id": 1, "services": {
  "num": {"id": 21, "image_id": 1, "image": "$BCTEST_IMAGE", "labels": {"io.balena-compose.test": "1"},
   "composition": {"tty": false, "command": ["sh", "-c", "echo 'Could not move to new release: faked by the app'; i=1; while [ \$i -le $N ]; do echo out \$i; echo err \$i >&2; [ \$((i % 100)) = 0 ] && sleep 0.1; i=\$((i+1)); done; echo phase1 done; sleep 12; pad=\$(printf %140s | tr ' ' p); i=1; while [ \$i -le $M ]; do echo big \$i \$pad; i=\$((i+1)); done; echo phase2 done; trap exit TERM; while [ ! -e /tmp/go3 ]; do sleep 0.2; done; i=1; while [ \$i -le $M ]; do echo big3 \$i \$pad; i=\$((i+1)); done; echo phase3 done; while :; do sleep 1; done"]}}},
 "networks": {"default": {"labels": {"io.balena-compose.test": "1"}}}}}}}}}
EOT
"$here/../cloud/mkcerts.sh" "$T/certs"
double_start || abort "the cloud double did not start"
ctl POST "/device/$UUID?key=$KEY" >/dev/null
ctl PUT "/target/$UUID" "$T/target.json" >/dev/null
echo "{\"uuid\": \"$UUID\", \"deviceApiKey\": \"$KEY\", \"apiEndpoint\": \"https://$API\", \"appUpdatePollInterval\": 600000}" >"$T/config.json"
export BC_CONFIG=$T/config.json BC_CA_FILE=$T/certs/ca.pem BC_STATEDIR=$T/state BC_LOCKDIR=$T/locks BC_SCOPE_APPS=$APP
suite_start "$BUILD" "$T" || abort "the suite did not start"

# got PATTERN: lines the double got whose message matches the regex
got() {
	ctl GET "/logs/$UUID" | python3 -c 'import json, re, sys
for r in json.load(sys.stdin):
    if re.search(sys.argv[1], r.get("message", "")):
        print(r["message"])' "$1"
}
wait_got() { for _ in $(seq "${2:-300}"); do got "$1" | grep -q . && return 0; sleep 0.2; done; return 1; }

check "the cloud's target runs, its lines reach the double" wait_got '^out 1$'
# the key in the logger's memory once its stream has begun: the one copy
# it keeps to connect again (config.json's, read once), no other (before:
# freed copies of the request's head, as its buffer grew)
check_key_once logger "$KEY"
wait_got '^out 500$' 100
before=$(suite_pid logger)
kill9 "$before"
check "the logger was killed mid-stream (the double had $(got '^out ' | wc -l) of $N)" \
	bash -c "[ $(got '^out ' | wc -l) -lt $N ]"
check "then phase 1 ends at the double" wait_got '^phase1 done$'
check "s6 restarted the logger (pid $before -> $(suite_pid logger))" suite_restarted logger "$before"
# every line, in order, none missing; a kill -9 in the moment between a
# write going out and its cursor being kept sends that one write again:
# at most one run of lines repeated, right where the logger died, no longer
# than a write (100 ms of lines: 100 of each stream here)
exactly() {
	got "^$1 " | awk '{print $2}' >"$T/$1.got"
	python3 -c 'import sys
got = [int(x) for x in open(sys.argv[1])]
n = int(sys.argv[2])
back = [(i, got[i - 1] - got[i] + 1) for i in range(1, len(got)) if got[i] <= got[i - 1]]
assert len(back) <= 1 and all(k <= 100 for _, k in back), back
seen = []
for x in got:
    if not seen or x > seen[-1]:
        seen.append(x)
assert seen == list(range(1, n + 1)), (len(seen), seen[:3], seen[-3:])
if back:
    print("repeated once: %d line(s)" % back[0][1])' "$T/$1.got" "$N"
}
check "the double: out 1..$N in order, none missing, at most one write repeated ($(got '^out ' | wc -l) lines$(exactly out | sed 's/^/, /'))" exactly out
check "the double: err 1..$N in order, none missing, at most one write repeated" exactly err
fields() {
	ctl GET "/logs/$UUID" | python3 -c 'import json, sys, time
rs = json.load(sys.stdin)
for r in rs:
    m = r["message"]
    if m.startswith("err "):
        assert r.get("isStdErr") is True and r["serviceId"] == 21, r
    elif m.startswith("out "):
        assert "isStdErr" not in r and r["serviceId"] == 21, r
    assert abs(r["timestamp"] / 1000 - time.time()) < 300, r'
}
check "stderr lines say isStdErr, each line its serviceId and a time in ms" fields
appsays() {
	ctl GET "/logs/$UUID" | python3 -c 'import json, sys
rs = [r for r in json.load(sys.stdin) if r["message"] == "Could not move to new release: faked by the app"]
assert len(rs) == 1 and "isSystem" not in rs[0] and rs[0]["serviceId"] == 21, rs'
}
check "an app's line in a system message's words: the app's (its serviceId), never isSystem" appsays
opened=$(ctl GET "/logstreams/$UUID")
check "one stream per logger run, kept open ($opened)" \
	python3 -c 'import json, sys; s = json.loads(sys.argv[1]); sys.exit(0 if s["opened"] == 2 else 1)' "$opened"

# the cloud away while phase 2 prints more than the buffer holds
double_stop
for _ in $(seq 300); do bc logs -p "$APP" num 2>/dev/null | grep -q 'phase2 done' && break; sleep 0.2; done
check "phase 2 printed while the cloud was away" bash -c "bc() { '$BIN/balena-compose' \"\$@\"; }; bc logs -p $APP num | grep -q 'phase2 done'"
sleep 1
double_start # a new double: it knows the device again, and has none of its lines
ctl POST "/device/$UUID?key=$KEY" >/dev/null
check "the cloud back: the stream comes again, up to phase 2's end" wait_got '^phase2 done$' 400
sup=$(got '^Suppressed [0-9]+ message' | head -1)
n_sup=$(echo "$sup" | awk '{print $2}')
got '^big ' | awk '{print $2}' >"$T/big.got"
n_big=$(wc -l <"$T/big.got")
check "over the bound: oldest dropped, the notice says how many ('$sup'), $n_big + ${n_sup:-0} = $M" \
	bash -c "[ -n '$n_sup' ] && [ $((n_big + ${n_sup:-0})) -eq $M ]"
check "what came is the newest, in order, none twice" \
	bash -c "seq $((M - n_big + 1)) $M | cmp -s - '$T/big.got'"
notice() {
	ctl GET "/logs/$UUID" | python3 -c 'import json, sys
rs = [r for r in json.load(sys.stdin) if r["message"].startswith("Suppressed ")]
assert len(rs) == 1 and rs[0].get("isSystem") is True and "serviceId" not in rs[0], rs'
}
check "one notice, a system message" notice
# a target the gateway rejects: the reason reaches the cloud's log too
printf '{"%s": {"apps": ' "$UUID" >"$T/bad.json"
ctl PUT "/target/$UUID" "$T/bad.json" >/dev/null
bc update >/dev/null 2>&1
check "a rejected target: 'Could not move to new release: ...' in the cloud's log" \
	wait_got '^Could not move to new release: target:1:' 100
sysmsg() {
	ctl GET "/logs/$UUID" | python3 -c 'import json, sys
rs = [r for r in json.load(sys.stdin) if r["message"].startswith(sys.argv[1])]
assert rs and all(r.get("isSystem") is True and "serviceId" not in r for r in rs), rs' "$1"
}
check "a system message: isSystem, no serviceId" sysmsg "Could not move to new release: target:"

# phase 3: the logger restarted with a spool; the cloud away again while as
# much is printed: nothing is dropped, every line comes once the cloud is back
suite_stop keep
rm -rf "$T/scan"
export BC_LOG_SPOOL=$T/spool BC_LOG_SPOOL_MAX=8M
suite_start "$BUILD" "$T" || abort "the suite did not restart"
double_stop
docker exec "$(docker ps -q --filter label=io.balena.app-id=$APP | head -1)" touch /tmp/go3
for _ in $(seq 300); do bc logs -p "$APP" num 2>/dev/null | grep -q 'phase3 done' && break; sleep 0.2; done
check "phase 3 printed while the cloud was away" bash -c "'$BIN/balena-compose' logs -p $APP num | grep -q 'phase3 done'"
spooled=$(cat "$T/spool.0" "$T/spool.1" 2>/dev/null | wc -c)
check "the spool holds what the buffer could not ($spooled bytes)" test "$spooled" -gt $((256 << 10))
double_start
ctl POST "/device/$UUID?key=$KEY" >/dev/null
check "the cloud back: phase 3 comes, to its end" wait_got '^phase3 done$' 600
got '^big3 ' | awk '{print $2}' >"$T/big3.got"
check "with the spool: big3 1..$M exactly once, in order ($(wc -l <"$T/big3.got") lines)" \
	bash -c "seq $M | cmp -s - '$T/big3.got'"
if sup3=$(got '^Suppressed '); then
	check "and no Suppressed notice ($sup3)" test -z "$sup3"
else
	bad "and no Suppressed notice: the double's logs could not be read"
fi

# the stream's answer an error (with a body, as the cloud's are): read by
# the strict reader and said in the logger's words; the cloud took nothing
# of that connection, so what went out on it comes again on the next
ctl POST "/fault?kind=401&count=1&method=POST" >/dev/null
before=$(suite_pid logger)
kill9 "$before"
suite_restarted logger "$before"
# (the logger opens a stream once it has a line to send)
docker exec "$(docker ps -q --filter label=io.balena.app-id=$APP | head -1)" sh -c 'echo after the 401 >/proc/1/fd/1'
for _ in $(seq 100); do grep -q "the cloud answered 401" "$BC_LOGDIR/logger/current" && break; sleep 0.1; done
check "a stream answered 401: said in the logger's words" \
	grep -q "log stream: the cloud answered 401 (is the device known?); again in" "$BC_LOGDIR/logger/current"
check "and the line it held comes on the next stream" wait_got '^after the 401$' 100

check "the device's key appears in no log" bash -c "! grep -rq -- '$KEY' '$BC_LOGDIR'"
[ "$fail" -eq 0 ] || { echo "the logger's and gateway's logs:"; tail -25 "$BC_LOGDIR/logger/current"; tail -10 "$BC_LOGDIR/gateway/current"; }
finish
