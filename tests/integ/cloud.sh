#!/bin/bash
# The gateway against a local double of the balena cloud (tests/cloud/double.py,
# HTTPS with a test CA), the suite under s6 on real Docker: the cloud's
# target converges and is reported, a bad target is rejected with nothing
# touched, the cloud away and back, a restart with the cloud away applies
# the kept target, the key in no log. Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-cloud.XXXXXX)
APP=$((996000 + $$ % 900))
UUID=$(printf 'c10d%028x' $$)
APPUUID=$(printf 'a99%029x' $$)
KEY=cloud-key-$$-$RANDOM
API=127.0.0.1:5543
CTL=127.0.0.1:5544
bc() { "$BIN/balena-compose" "$@"; }
cid() { docker ps -q --filter "label=io.balena.app-id=$APP" --filter "label=io.balena.service-name=$1"; }
# still CID: s runs, and as the very container CID (nothing moved)
still() { [ -n "$1" ] && [ "$(cid s)" = "$1" ]; }
# shellcheck source=../cloud/double.sh
. "$here/../cloud/double.sh"
cleanup() {
	bc down -v -p "cl$APP" --timeout 30 >/dev/null 2>&1
	suite_stop
	double_stop
	docker rm -f $(docker ps -aq --filter "label=io.balena.app-id=$APP") >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

# target COMMIT GREETING -> the cloud's v3 document for this device
target() {
	cat <<EOT
{"$UUID": {"name": "dev", "config": {}, "apps": {"$APPUUID": {"id": $APP, "name": "cl$APP", "class": "fleet",
 "releases": {"$1": {"id": ${3:-1}, "services": {
  "s": {"id": 1, "image_id": 1, "image": "$BCTEST_IMAGE", "labels": {"io.balena-compose.test": "1"},
   "environment": {"GREETING": "$2"},
   "composition": {"command": ["sh", "-c", "trap exit TERM; while :; do sleep 1; done"]}}},
 "networks": {"default": {"labels": {"io.balena-compose.test": "1"}}}}}}}}}
EOT
}
# reported COMMIT STATUS: the double got a report saying s runs at COMMIT with STATUS
reported() {
	ctl GET "/reports/$UUID" | python3 -c 'import json, sys
want_commit, want_status, app = sys.argv[1], sys.argv[2], sys.argv[3]
seen = {}
for r in json.load(sys.stdin):   # fold the diffs the way the cloud does
    seen.update(r)
a = seen.get("apps", {}).get(app, {})
rel = a.get("releases", {}).get(want_commit, {})
ok = a.get("release_uuid") == want_commit and rel.get("update_status") == "done" and \
     rel.get("services", {}).get("s", {}).get("status") == want_status
sys.exit(0 if ok else 1)' "$1" "$2" "$APPUUID"
}
wait_reported() {
	for _ in $(seq 150); do reported "$1" "$2" && return 0; sleep 0.2; done
	ctl GET "/reports/$UUID" >&2; echo >&2; tail -8 "$BC_LOGDIR/gateway/current" >&2
	echo "the double's last requests:" >&2; ctl GET /timeline | tail -c 1200 >&2; echo >&2
	return 1
}

"$here/../cloud/mkcerts.sh" "$T/certs"
double_start || abort "the cloud double did not start"
ctl POST "/device/$UUID?key=$KEY" >/dev/null

# the double's other endpoints, which the logger and deltas reuse, keep the
# contract: a gzip ndjson log stream, chunked, answered 201 at its end (415
# without the ndjson type, 401 for another key); delta tokens for the
# device's basic auth; deltas for that token only
api() { curl -s --cacert "$T/certs/ca.pem" -o "$T/api.out" -w '%{http_code}' "$@"; }
printf '{"message":"one","timestamp":1,"serviceId":1}\n{"message":"two","timestamp":2,"isStdErr":true,"serviceId":1}\n{"message":"up","timestamp":3,"isSystem":true}\n' | gzip >"$T/logs.gz"
code=$(api -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/x-ndjson' \
	-H 'Content-Encoding: gzip' -H 'Transfer-Encoding: chunked' --data-binary "@$T/logs.gz" \
	"https://$API/device/v2/$UUID/log-stream")
check "the double's log stream: gzip ndjson, chunked -> 201 ($code), three lines in order" \
	bash -c "[ '$code' = 201 ] && [ \"\$(curl -sf http://$CTL/logs/$UUID | python3 -c 'import json, sys; print(\" \".join(r[\"message\"] for r in json.load(sys.stdin)))')\" = 'one two up' ]"
c415=$(api -X POST -H "Authorization: Bearer $KEY" --data-binary x "https://$API/device/v2/$UUID/log-stream")
c401=$(api -X POST -H "Authorization: Bearer nope" -H 'Content-Type: application/x-ndjson' --data-binary x "https://$API/device/v2/$UUID/log-stream")
check "the double's log stream: 415 without the ndjson type ($c415), 401 for another key ($c401)" \
	test "$c415 $c401" = "415 401"
ctl POST /delta <(echo '{"src": "r/a:1", "dest": "r/a:2", "status": 200, "body": {"name": "r/delta-x"}}') >/dev/null
code=$(api -u "d_$UUID:$KEY" "https://$API/auth/v1/token?service=r&scope=repository:a:pull")
tok=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["token"])' "$T/api.out" 2>/dev/null)
cbad=$(api -u "d_$UUID:nope" "https://$API/auth/v1/token?service=r")
dcode=$(api -H "Authorization: Bearer $tok" "https://$API/api/v3/delta?src=r/a:1&dest=r/a:2")
dname=$(cat "$T/api.out")
dnone=$(api "https://$API/api/v3/delta?src=r/a:1&dest=r/a:2")
check "the double's delta token ($code, $cbad) and delta ($dcode $dname, no token $dnone)" \
	bash -c "[ '$code $cbad $dcode $dnone' = '200 401 200 401' ] && [ '$dname' = '{\"name\": \"r/delta-x\"}' ]"

target c1 one 1 >"$T/t1.json"
ctl PUT "/target/$UUID" "$T/t1.json" >/dev/null
echo "{\"uuid\": \"$UUID\", \"deviceApiKey\": \"$KEY\", \"apiEndpoint\": \"https://$API\", \"appUpdatePollInterval\": 2000}" >"$T/config.json"
# the logger's own stream to the cloud is logcloud.sh's: off here, so every
# fault injected below is met by the gateway's requests
export BC_CONFIG=$T/config.json BC_CA_FILE=$T/certs/ca.pem BC_STATEDIR=$T/state BC_LOCKDIR=$T/locks BC_SCOPE_APPS=$APP \
	BC_CLOUD_LOGS=off
streams() { ctl GET /requests | python3 -c 'import json, sys; print(sum("/log-stream" in r for r in json.load(sys.stdin)))'; }
suite_start "$BUILD" "$T" || abort "the suite did not start"

# the cloud's target: polled at start, converged, reported Running at c1
for _ in $(seq 150); do [ -n "$(cid s)" ] && break; sleep 0.2; done
check "the cloud's target runs (s at c1)" bash -c "docker ps --filter label=io.balena.app-id=$APP --format '{{.Names}}' | grep -q '_c1$'"
check "the double got a report: s Running at c1, update done" wait_reported c1 Running
check "the poll carried the key as a Bearer (auth=yes), over TLS to the test CA" \
	bash -c "curl -sf http://$CTL/requests | grep -q 'GET /device/v3/$UUID/state auth=yes 200'"

# a new release: `update` polls now; converged and reported
target c2 two 2 >"$T/t2.json"
ctl PUT "/target/$UUID" "$T/t2.json" >/dev/null
out=$(bc update 2>&1)
check "balena-compose update: exit 0 ($out)" test $? -eq 0
check "then c2 is reported Running" wait_reported c2 Running
check "and runs with its env" bash -c "docker inspect -f '{{range .Config.Env}}{{.}} {{end}}' \$(docker ps -q --filter label=io.balena.app-id=$APP) | grep -q GREETING=two"
s2=$(cid s)
bc update >/dev/null
for _ in $(seq 50); do curl -sf "http://$CTL/requests" | grep -q 'state auth=yes 304' && break; sleep 0.1; done
check "an unchanged target is a 304 (its ETag sent back in If-None-Match)" \
	bash -c "curl -sf http://$CTL/requests | grep -q 'state auth=yes 304'"
check "and nothing moved" still "$s2"

out=$(bc status 2>&1)
echo "$out" | sed 's/^/  status: /'
check "status: cloud mode, reachable, the last poll and report, the app at c2 of c2" bash -c "echo '$out' | grep -q '^mode: *cloud (https://$API, device $UUID)' && echo '$out' | grep -q '^cloud: *reachable' && echo '$out' | grep -q '^last poll: .*Z' && echo '$out' | grep -q '^last report: .*accepted' && echo '$out' | grep -qE '^cl$APP +Idle +c2 +c2'"

# up -a: poll now and wait for that app of the cloud's target, by name or uuid
out=$(bc up -a "cl$APP" --timeout 60 2>&1)
rc=$?
check "up -a by name: exit 0, the app's service running ($(echo "$out" | tail -1))" \
	bash -c "[ $rc -eq 0 ] && echo '$out' | grep -qE '^cl$APP +s .* running'"
out=$(bc up -a "$APPUUID" --timeout 60 2>&1)
check "up -a by uuid: exit 0" test $? -eq 0
out=$(bc up -a nosuchapp --timeout 10 2>&1)
rc=$?
check "up -a of an app the cloud does not give: exit 1 naming it ($out)" expect $rc 1 "$out" "no app 'nosuchapp'"
# a device that follows the cloud refuses local targets, saying how to switch
out=$(bc up -t "$T/t1.json" --timeout 10 2>&1)
rc=$?
check "up -t in cloud mode: refused, exit 1, saying how to switch ($out)" \
	expect $rc 1 "$out" "follows the cloud" "localMode"
check "and nothing moved" still "$s2"

# bad targets: rejected whole, the reason logged, nothing running touched
printf '{"%s": {"apps": {"%s": ' "$UUID" "$APPUUID" >"$T/bad1.json" # cut short
ctl PUT "/target/$UUID" "$T/bad1.json" >/dev/null
bc update >/dev/null
for _ in $(seq 50); do grep -q "Could not move to new release: target:" "$BC_LOGDIR/gateway/current" && break; sleep 0.1; done
check "malformed JSON: rejected, the reason logged" grep -q "Could not move to new release: target:1:" "$BC_LOGDIR/gateway/current"
target c3 three 3 | sed 's/"image_id": 1/"image_id": "one"/' >"$T/bad2.json"
ctl PUT "/target/$UUID" "$T/bad2.json" >/dev/null
bc update >/dev/null
# released_as STATUS COMMIT: the reports, folded, say COMMIT's update_status is STATUS
released_as() {
	ctl GET "/reports/$UUID" | python3 -c 'import json, sys
seen = {}
for r in json.load(sys.stdin):
    seen.update(r)
rel = seen.get("apps", {}).get(sys.argv[1], {}).get("releases", {}).get(sys.argv[2], {})
sys.exit(0 if rel.get("update_status") == sys.argv[3] else 1)' "$APPUUID" "$2" "$1"
}
rejected() { released_as rejected "${1:-c3}"; }
for _ in $(seq 100); do rejected && break; sleep 0.2; done
check "wrong-typed target: reported rejected (release c3)" rejected
check "with its reason in the log" grep -q "Could not move to new release: .*image_id" "$BC_LOGDIR/gateway/current"
check "nothing running was touched" still "$s2"
# a target this device does not meet (a service's contract): valid, handed
# over, refused by the reconciler, which judges it against the device; the
# cloud is told the release was rejected, and why is logged
target c3c three 3 | python3 -c 'import json, sys
d = json.load(sys.stdin); app = list(list(d.values())[0]["apps"].values())[0]
list(app["releases"].values())[0]["services"]["s"]["contract"] = {"requires": [{"type": "sw.supervisor", "version": ">=99"}]}
json.dump(d, sys.stdout)' >"$T/bad3.json"
ctl PUT "/target/$UUID" "$T/bad3.json" >/dev/null
bc update >/dev/null
for _ in $(seq 100); do rejected c3c && break; sleep 0.2; done
check "a contract the device does not meet: reported rejected (release c3c)" rejected c3c
check "with the reason in the log" grep -q "Could not move to new release: target rejected: app .* release 'c3c': services with unmet requirements: s (requires sw.supervisor >=99" "$BC_LOGDIR/gateway/current"
check "nothing running was touched" still "$s2"

# a release that crash loops (issue #22): rolled back to c2 after its
# round, the cloud told it was aborted, not tried again at the next polls
target c3r three 3 | python3 -c 'import json, sys
d = json.load(sys.stdin); app = list(list(d.values())[0]["apps"].values())[0]
svc = list(app["releases"].values())[0]["services"]["s"]
svc["composition"]["command"] = ["sh", "-c", "exit 1"]
svc["labels"]["io.balena-compose.update.settle-period"] = "2s"
json.dump(d, sys.stdout)' >"$T/crash.json"
ctl PUT "/target/$UUID" "$T/crash.json" >/dev/null
bc update >/dev/null
aborted() { released_as aborted "$1"; }
for _ in $(seq 150); do aborted c3r && break; sleep 0.2; done
check "a crash looping release: reported aborted (release c3r)" aborted c3r
check "and c2 runs again, reported done" wait_reported c2 Running
check "c2's service, with its env" bash -c "docker inspect -f '{{range .Config.Env}}{{.}} {{end}}' \$(docker ps -q --filter label=io.balena.app-id=$APP) | grep -q GREETING=two"
check "why is in the reconciler's log" grep -q "release c3r failed its trial: service 's' restarted" "$BC_LOGDIR/reconciler/current"
s2=$(cid s)
bc update >/dev/null
sleep 3 # a poll or two more (2 s apart)
check "the same release is not tried again: c2's container stays" still "$s2"
check "state says Rolled back from c3r" bash -c "'$BIN/balena-compose' state | grep -q 'Rolled back: release c3r: service .s. restarted'"

# an oversized target (2 MiB) is refused before it is parsed; a 401 (a key
# the cloud no longer knows) is an error said to the caller; neither moves
# anything
python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); app = list(list(d.values())[0]["apps"].values())[0]
list(app["releases"].values())[0]["services"]["s"]["environment"]["BIG"] = "x" * (2 << 20)
json.dump(d, open(sys.argv[2], "w"))' "$T/t1.json" "$T/big.json"
ctl PUT "/target/$UUID" "$T/big.json" >/dev/null
out=$(bc update 2>&1)
rc=$?
check "a 2 MiB target: update exits 1, too large ($(echo "$out" | cut -c1-120))" expect $rc 1 "$out" "too large"
ctl POST "/fault?kind=401&count=1&method=GET" >/dev/null
out=$(bc update 2>&1)
rc=$?
check "a 401: update exits 1 saying so ($out)" expect $rc 1 "$out" "HTTP 401"
check "nothing running was touched by either" still "$s2"

# the cloud away for a while (500s, then resets): the device keeps running,
# then catches up with the release that came meanwhile
# (c4's service asks for the device's API key: io.balena.features.balena-api)
target c4 four 4 | python3 -c 'import json, sys
d = json.load(sys.stdin); app = list(list(d.values())[0]["apps"].values())[0]
list(app["releases"].values())[0]["services"]["s"]["labels"]["io.balena.features.balena-api"] = "1"
json.dump(d, sys.stdout)' >"$T/t4.json"
ctl POST "/fault?kind=500&count=3&method=GET" >/dev/null
ctl POST "/fault?kind=reset&count=2&method=GET" >/dev/null
ctl PUT "/target/$UUID" "$T/t4.json" >/dev/null
out=$(bc update 2>&1)
rc=$?
check "update while the cloud fails: exit 1 with the reason ($out)" expect $rc 1 "$out" "HTTP 500"
sleep 1
check "the cloud failing: what runs keeps running" still "$s2"
check "then c4 is reported Running (the poll tried again, at most the 2 s interval apart)" \
	wait_reported c4 Running
check "the gateway logged the failures" grep -q "target: HTTP 500" "$BC_LOGDIR/gateway/current"
check "c4's service has the device's API key and the cloud's address (balena-api)" \
	bash -c "docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' \$(docker ps -q --filter label=io.balena.app-id=$APP) | grep -qx 'BALENA_API_KEY=$KEY' && docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' \$(docker ps -q --filter label=io.balena.app-id=$APP) | grep -qx 'BALENA_API_URL=https://$API'"

# every daemon restarted with the cloud away: the kept target is applied
suite_stop keep
double_stop
docker rm -f $(docker ps -aq --filter "label=io.balena.app-id=$APP") >/dev/null 2>&1
rm -f "$BC_STATEDIR/target.json" # the reconciler's own copy: only the gateway's is left
suite_start "$BUILD" "$T" || abort "the suite did not restart"
for _ in $(seq 150); do [ -n "$(cid s)" ] && break; sleep 0.2; done
check "restarted with the cloud away: the kept target runs again (c4)" \
	bash -c "docker ps --filter label=io.balena.app-id=$APP --format '{{.Names}}' | grep -q '_c4$'"
check "the gateway said where it came from" grep -q "applied the kept cloud target" "$BC_LOGDIR/gateway/current"

check "the device's key appears in no log" bash -c "! grep -rq -- '$KEY' '$BC_LOGDIR'"

# provisioning: a config.json with the fleet's key (apiKey) and no device.
# The first register's answer is lost (the cloud made the device, we never
# heard): the retry gets 409, and the lookup with our own key, written to
# config.json before the first try, says the device is ours. Registered
# exactly once; then the device follows its target.
suite_stop keep
double_start || abort "the cloud double did not start"
PROV=prov-key-$$-$RANDOM
ctl POST "/provisioning?key=$PROV" >/dev/null
ctl POST "/fault?kind=lost&count=1" >/dev/null
echo "{\"apiEndpoint\": \"https://$API\", \"apiKey\": \"$PROV\", \"applicationId\": $APP, \"deviceType\": \"generic-amd64\", \"appUpdatePollInterval\": 2000, \"osKeyOfTheOS\": 7}" >"$T/config.json"
export BC_STATEDIR=$T/state2
suite_start "$BUILD" "$T" || abort "the suite did not restart"
for _ in $(seq 100); do grep -q deviceId "$T/config.json" && break; sleep 0.2; done
conf() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$T/config.json" "$1"; }
NEWUUID=$(conf uuid)
check "provisioned: config.json has a uuid ($NEWUUID), a deviceApiKey, deviceId $(conf deviceId), registered_at" \
	bash -c "[[ '$NEWUUID' =~ ^[0-9a-f]{32}$ ]] && [ -n '$(conf deviceApiKey)' ] && [ -n '$(conf deviceId)' ] && [ -n '$(conf registered_at)' ]"
check "the provisioning key is gone from config.json, the OS's keys stay" \
	bash -c "[ -z '$(conf apiKey)' ] && [ '$(conf osKeyOfTheOS)' = 7 ]"
regs=$(curl -sf "http://$CTL/requests" | python3 -c 'import json, sys; print(" ".join(r.split()[-1] for r in json.load(sys.stdin) if "/device/register" in r))')
check "registered exactly once: the lost 201, then a 409 and the lookup ($regs)" test "$regs" = "201 409"
check "both tries with the same uuid" bash -c "curl -sf http://$CTL/registered | python3 -c 'import json, sys; r = json.load(sys.stdin); sys.exit(0 if len(r) == 2 and r[0][\"uuid\"] == r[1][\"uuid\"] == \"$NEWUUID\" else 1)'"
UUID=$NEWUUID
target c5 five 5 >"$T/t5.json"
ctl PUT "/target/$UUID" "$T/t5.json" >/dev/null
bc update >/dev/null
check "the new device follows its target (c5 reported Running)" wait_reported c5 Running
check "neither key appears in any log" bash -c "! grep -rqe '$PROV' -e '$(conf deviceApiKey)' '$BC_LOGDIR'"

# SIGUSR1 polls now, as `update` does; a cloud that hangs, or sends its
# answer a byte a second, costs one request timeout (config.json apiTimeout,
# here 3 s), and what runs is not touched. The poll interval is 10 min now,
# so only the signal or `update` can bring a release.
suite_stop keep
python3 -c 'import json, sys
c = json.load(open(sys.argv[1])); c.update(appUpdatePollInterval=600000, apiTimeout=3000)
json.dump(c, open(sys.argv[1], "w"))' "$T/config.json"
suite_start "$BUILD" "$T" || abort "the suite did not restart"
# the first poll, at start, has ended well (the next is 10 min away)
for _ in $(seq 200); do bc status 2>/dev/null | grep -qE '^last poll: .*(unchanged|applied)' && break; sleep 0.2; done
target c6 six 6 >"$T/t6.json"
ctl PUT "/target/$UUID" "$T/t6.json" >/dev/null
gwpid=$(suite_pid gateway)
[[ $gwpid =~ ^[0-9]+$ ]] && [ "$gwpid" -gt 1 ] && kill -USR1 "$gwpid"
check "SIGUSR1: the gateway polls now, c6 is reported Running" wait_reported c6 Running
s6=$(cid s)
# elapsed CMD...: run CMD (its output into $out, its status into $rc), its wall ms into $ms
elapsed() {
	local t0
	t0=$(date +%s%N)
	out=$("$@" 2>&1)
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
}
ctl POST "/fault?kind=hang&count=1&method=GET" >/dev/null
elapsed bc update
check "a cloud that hangs: update exits 1 in the 3 s apiTimeout, not later (${ms} ms: $out)" \
	bash -c "[ $rc -eq 1 ] && [ $ms -ge 2500 ] && [ $ms -lt 8000 ] && [[ '$out' == *'unreachable: Timed out'* ]]"
ctl POST "/fault?kind=slow&count=1&method=GET" >/dev/null
elapsed bc update
check "an answer a byte a second: timed out all the same, in the apiTimeout (${ms} ms: $out)" \
	bash -c "[ $rc -eq 1 ] && [ $ms -ge 2500 ] && [ $ms -lt 8000 ] && [[ '$out' == *'unreachable: Timed out'* ]]"
out=$(bc update 2>&1)
check "then the cloud answers again: update exits 0 ($out)" test $? -eq 0
check "nothing running was touched" still "$s6"

# when REGEX: the times (s) of the API requests whose line matches, one a line
when() {
	ctl GET /timeline | python3 -c 'import json, re, sys
for t, line in json.load(sys.stdin):
    if re.search(sys.argv[1], line):
        print("%.3f" % t)' "$1"
}
# gap_in MIN MAX A B: B came MIN..MAX s after A
gap_in() { awk -v lo="$1" -v hi="$2" -v a="$3" -v b="$4" 'BEGIN { d = b - a; exit !(a > 0 && d >= lo && d <= hi) }'; }

# a report the cloud refuses with 429 and Retry-After: 4 goes again 4 s
# later, not after the 15 s backoff
ctl POST "/fault?kind=429%2B4&count=1&method=PATCH" >/dev/null
target c7 seven 7 >"$T/t7.json"
ctl PUT "/target/$UUID" "$T/t7.json" >/dev/null
bc update >/dev/null 2>&1
check "c7 is reported Running after a 429 with Retry-After: 4" wait_reported c7 Running
r429=$(when '^PATCH .* 429$' | tail -1)
rnext=$(when '^PATCH .* 200$' | awk -v a="${r429:-0}" '$1 > a' | head -1)
check "the next report came 4 s after the 429 ($r429 -> $rnext), not after 15 s" \
	gap_in 3.5 8 "${r429:-0}" "${rnext:-0}"
check "the gateway said so" grep -q "state report: HTTP 429; again in 4000 ms" "$BC_LOGDIR/gateway/current"

# the poll backs off on errors, min(15 s x 2^n, the 10 min interval): two
# polls that fail, then one that is answered, 15 s and 30 s apart
ctl POST "/fault?kind=500&count=2&method=GET" >/dev/null
bc update >/dev/null 2>&1
answered() { # a poll answered after the last failed one
	local last
	last=$(when '^GET .* 500$' | tail -1)
	when '^GET /device/v3/.* (200|304)$' | awk -v a="${last:-0}" '$1 > a' | head -1
}
for _ in $(seq 500); do [ -n "$(answered)" ] && break; sleep 0.1; done
p1=$(when '^GET .* 500$' | tail -2 | head -1)
p2=$(when '^GET .* 500$' | tail -1)
p3=$(answered)
check "a failed poll: the next 15 s later ($p1 -> $p2)" gap_in 14.5 17 "${p1:-0}" "${p2:-0}"
check "failed again: the next 30 s later ($p2 -> $p3)" gap_in 29.5 32 "${p2:-0}" "${p3:-0}"
# (this double, started for provisioning, saw only the agent: it told the
# logger's system messages of c5 and c6 to no log stream)
check "BC_CLOUD_LOGS=off: the logger opened no log stream to the cloud ($(streams))" \
	test "$(streams)" = 0

# Trust: the gateway speaks to the cloud config.json names, verified, as it
# was told: a certificate our CA did not sign, or one of our CA for another
# host, fails the handshake before any request (so no byte of the key goes);
# plain http to an address that is not exactly loopback is refused before
# any connection; a redirect is not followed.
nreq() { ctl GET /requests | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'; }
restart_with() { # VAR=VALUE...: the suite again, with these settings
	suite_stop keep
	export "$@"
	suite_start "$BUILD" "$T" || abort "the suite did not restart"
}
"$here/../cloud/mkcerts.sh" "$T/certs-other"
restart_with BC_CA_FILE="$T/certs-other/ca.pem"
before=$(nreq)
out=$(bc update 2>&1)
rc=$?
check "a cloud whose certificate our CA did not sign: update exits 1, the TLS handshake failed ($out)" \
	bash -c "[ $rc -eq 1 ] && [[ '$out' == *'unreachable: '* ]] && [[ '$out' != *HTTP* ]]"
check "and the cloud got no request: nothing of the key went" test "$(nreq)" = "$before"
"$here/../cloud/mkcerts.sh" "$T/certs" wrong wrong.example
double_stop
double_start wrong || abort "the cloud double did not start again"
ctl POST "/device/$UUID?key=$(conf deviceApiKey)" >/dev/null
restart_with BC_CA_FILE="$T/certs/ca.pem"
out=$(bc update 2>&1)
rc=$?
check "a certificate of our CA for another host (wrong.example): update exits 1 ($out)" \
	bash -c "[ $rc -eq 1 ] && [[ '$out' == *'unreachable: '* ]] && [[ '$out' != *HTTP* ]]"
check "and the cloud got no request ($(ctl GET /requests))" test "$(nreq)" = 0
double_stop
double_start || abort "the cloud double did not start again"
ctl POST "/device/$UUID?key=$(conf deviceApiKey)" >/dev/null
ctl POST "/fault?kind=redirect&count=1&method=GET" >/dev/null
out=$(bc update 2>&1)
rc=$?
check "a 302 from the cloud: update exits 1 saying so ($out)" expect $rc 1 "$out" "HTTP 302"
check "and the redirect was not followed" bash -c "! curl -sf http://$CTL/requests | grep -q elsewhere"
cp "$T/config.json" "$T/config.https"
python3 -c 'import json, sys
c = json.load(open(sys.argv[1])); c["apiEndpoint"] = "http://[::ffff:127.0.0.1]:5544"
json.dump(c, open(sys.argv[1], "w"))' "$T/config.json"
restart_with BC_CA_FILE="$T/certs/ca.pem"
out=$(bc update 2>&1)
rc=$?
check "plain http to an address that is not exactly loopback: refused, named ($out)" \
	expect $rc 1 "$out" "http://[::ffff:127.0.0.1]:5544"
# plain http to exact loopback is for tests: said once at start, as a warning
python3 -c 'import json, sys
c = json.load(open(sys.argv[1])); c["apiEndpoint"] = "http://127.0.0.1:5544"
json.dump(c, open(sys.argv[1], "w"))' "$T/config.json"
restart_with BC_CA_FILE="$T/certs/ca.pem"
for _ in $(seq 20); do grep -q "plain http (http://127.0.0.1:5544)" "$BC_LOGDIR/gateway/current" && break; sleep 0.1; done
check "the cloud over plain http (loopback): the gateway warns at start, once" \
	test "$(grep -c "the cloud over plain http (http://127.0.0.1:5544): for tests only" "$BC_LOGDIR/gateway/current")" = 1
cp "$T/config.https" "$T/config.json"

# the kept cloud target, on a device that no longer meets it (its OS changed
# between runs): the reconciler refuses it at start; the gateway says so
# once and does not hand it over again every second; what runs stays
printf 'ID=balena-os\nVERSION="2.88.4+rev1"\n' >"$T/os-balena"
printf 'ID=other\nVERSION="1.0.0"\n' >"$T/os-other"
target c9 nine 9 | python3 -c 'import json, sys
d = json.load(sys.stdin); app = list(list(d.values())[0]["apps"].values())[0]
list(app["releases"].values())[0]["services"]["s"]["contract"] = {"requires": [{"type": "sw.os", "slug": "balena-os", "version": "^2.88"}]}
json.dump(d, sys.stdout)' >"$T/t9.json"
ctl PUT "/target/$UUID" "$T/t9.json" >/dev/null
restart_with BC_CA_FILE="$T/certs/ca.pem" BC_OS_RELEASE="$T/os-balena"
bc update >/dev/null 2>&1
check "a contract on the OS, met (balena-os 2.88.4+rev1): c9 is reported Running" wait_reported c9 Running
s9=$(cid s)
restart_with BC_OS_RELEASE="$T/os-other"
sleep 4
check "the OS changed: the kept target refused, said once ($(grep -c 'the kept cloud target was refused' "$BC_LOGDIR/gateway/current"))" \
	test "$(grep -c 'the kept cloud target was refused' "$BC_LOGDIR/gateway/current")" = 1
check "and what runs stays" still "$s9"
finish
