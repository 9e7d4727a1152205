#!/bin/bash
# The reconciler daemon and the CLI end to end, under s6 on real Docker:
# up / re-up / env change / bad input / self-healing / crash recovery /
# down. Scoped to this test's app id (BC_SCOPE_APPS). Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-rec.XXXXXX)
APP=$((991000 + $$ % 900))
APP2=$((APP + 1000)) # the Composer API example
APP4=$((APP + 2000)) # eight services, killed mid-update
APP5=$((APP + 3000)) # an app whose image does not exist
mkdir -p "$T/proj"
cat >"$T/proj/docker-compose.yml" <<EOT
services:
  app:
    image: $BCTEST_IMAGE
    command: sh -c 'trap exit TERM; while :; do sleep 1; done'
    environment: ["GREETING=\${GREETING:-hi}", "ONLY_APP=1", "BLANK=\${BCTEST_UNSET_VAR}", "AGAIN=\$BCTEST_UNSET_VAR"]
    labels: {io.balena-compose.test: "1"}
  peek:
    image: $BCTEST_IMAGE
    command: sh -c 'trap exit TERM; while :; do sleep 1; done'
    pid: "service:app"
    logging: {driver: local, options: {max-size: 2m}}
    volumes: [keep:/keep]
    labels: {io.balena-compose.test: "1"}
networks:
  default: {labels: {io.balena-compose.test: "1"}}
volumes:
  keep: {labels: {io.balena-compose.test: "1"}}
EOT
unset BCTEST_UNSET_VAR
APP3=$("$BIN/balena-compose" config -f "$T/proj/docker-compose.yml" -p "proj$APP" 2>"$T/config.err" |
	grep -m1 -o '"id": [0-9]*' | grep -o '[0-9]*')
export BC_STATEDIR=$T/state BC_LOCKDIR=$T/locks BC_SCOPE_APPS=$APP,$APP2,$APP3,$APP4,$APP5
bc() { "$BIN/balena-compose" "$@"; }
cid() { docker ps -aq --filter "label=io.balena.app-id=$APP" --filter "label=io.balena.service-name=$1"; }
cleanup() {
	for a in $APP $APP3 $APP4 $APP5; do bc down -v -p $a --timeout 30 >/dev/null 2>&1; done
	suite_stop
	docker rm -f $(docker ps -aq --filter label=io.balena-compose.test=1 \
		--filter "label=io.balena.app-id=$APP4") >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

# target(ENV_A, IMAGE_WEB) -> a v3 document on stdout
target() {
	cat <<EOT
{"bctestdev": {"name": "dev", "apps": {"bctestapp$APP": {"id": $APP, "name": "rec$APP",
 "releases": {"c1": {"id": 1, "services": {
  "db": {"id": 1, "image_id": 11, "image": "$BCTEST_IMAGE", "labels": {"io.balena-compose.test": "1"},
   "composition": {"command": ["sh", "-c", "trap exit TERM; while :; do sleep 1; done"],
                   "volumes": ["data:/data"]}},
  "web": {"id": 2, "image_id": 12, "image": "$2", "labels": {"io.balena-compose.test": "1"},
   "environment": {"A": "$1"},
   "composition": {"command": ["sh", "-c", "trap exit TERM; while :; do sleep 1; done"],
                   "depends_on": ["db"]}}},
 "volumes": {"data": {"labels": {"io.balena-compose.test": "1"}}},
 "networks": {"default": {"labels": {"io.balena-compose.test": "1"}}}}}}}}}
EOT
}

suite_start "$BUILD" "$T" || abort "the suite did not start"
target 1 "$BCTEST_REMOTE_IMAGE" >"$T/t1.json"
target 2 "$BCTEST_REMOTE_IMAGE" >"$T/t2.json"
docker rmi -f "$BCTEST_REMOTE_IMAGE" >/dev/null 2>&1

"$BUILD/tests/sub" reconciler 400 20000 >"$T/events" & # SYSLOG events come too
subpid=$!
for _ in $(seq 50); do grep -q subscribed "$T/events" 2>/dev/null && break; sleep 0.1; done
# lock dirs of 300 services of old releases, gone from target and Docker:
# before, the locker's cap (256 services per take) kept the app from ever
# updating; now they count no more and are pruned after the round
for i in $(seq 300); do mkdir -p "$BC_LOCKDIR/$APP/gone$i"; done
echo "left by the app" >"$BC_LOCKDIR/$APP/gone7/updates.lock"
out=$(bc up -t "$T/t1.json" 2>&1)
check "up: exit 0 (pulls web's image through the fetcher)" test $? -eq 0
left=$(find "$BC_LOCKDIR/$APP" -mindepth 1 -maxdepth 1 -name 'gone*' | wc -l)
check "300 gone services' lock dirs did not block the update, and were pruned ($left left)" \
	test "$left" -eq 0
check "the lock dirs of db and web stay" test -d "$BC_LOCKDIR/$APP/db" -a -d "$BC_LOCKDIR/$APP/web"
check "the reconciler said so" grep -q "removed 300 lock directories" "$BC_LOGDIR/reconciler/current"
sleep 0.2
kill $subpid 2>/dev/null
check "PUB: a STEP event per step (FETCH, CREATE db, CREATE web)" bash -c \
	"grep -q 'STEP FETCH web ok' '$T/events' && grep -q 'STEP CREATE db ok' '$T/events' && grep -q 'STEP CREATE web ok' '$T/events'"
check "PUB: a settled STATE snapshot" grep -qE '^STATE [0-9]+ settled$' "$T/events"
check "up: both services running" test "$(echo "$out" | grep -c ' running ')" -eq 2
check "fetcher pulled the image" grep -q "pulled $BCTEST_REMOTE_IMAGE" "$BC_LOGDIR/fetcher/current"
web1=$(cid web) db1=$(cid db)

since=$(date +%s.%N)
bc up -t "$T/t1.json" >/dev/null
check "re-up: exit 0" test $? -eq 0
n=$(docker events --since "$since" --until "$(date +%s.%N)" --filter "label=io.balena.app-id=$APP" | wc -l)
check "re-up: no container event at all ($n)" test "$n" -eq 0

bc up -t "$T/t2.json" >/dev/null
check "env change: exit 0" test $? -eq 0
check "env change: web recreated" test "$(cid web)" != "$web1"
check "env change: db untouched" test "$(cid db)" = "$db1"
web2=$(cid web)

echo '{"bctestdev": {"apps": {"x": {"id": 1, "name": "x", "releases": {"c": {"id": 1, "services": {"s": {"id": 1, "image_id": 1, "image": "i", "composition": {"volumes": ["/etc:/etc"]}}}}}}}}}' >"$T/bad.json"
msg=$(bc up -t "$T/bad.json" 2>&1)
rc=$?
check "bad target: exit 1 naming file, service and field ($msg)" \
	expect $rc 1 "$msg" bad.json "service 's'" "'volumes'" refused
check "bad target: nothing running was touched" test "$(cid web)" = "$web2"
msg=$(bc up -t "$T/nope.json" 2>&1)
check "missing file: exit 1 naming it" expect $? 1 "$msg" nope.json

# targets that would reach beyond their app without the bind-mount label:
# a named volume that binds a host path, and pid/ipc joining a container
# of another app (before: both were created as asked)
bad_app() { # bad_app COMPOSITION [VOLUMES]
	local vols=${2:-'{}'}
	printf '{"bctestdev": {"apps": {"x": {"id": %s, "name": "x", "releases": {"c": {"id": 1, "services": {"s": {"id": 1, "image_id": 1, "image": "%s", "labels": {"io.balena-compose.test": "1"}, "composition": %s}}, "volumes": %s}}}}}}\n' \
		"$APP5" "$BCTEST_IMAGE" "$1" "$vols"
}
bad_app '{"volumes": ["hostroot:/mnt"]}' \
	'{"hostroot": {"labels": {"io.balena-compose.test": "1"}, "driver_opts": {"type": "none", "o": "bind", "device": "/"}}}' >"$T/bad2.json"
msg=$(bc up -t "$T/bad2.json" 2>&1)
rc=$?
check "volume with bind-style driver_opts: exit 1 naming it and the label ($msg)" \
	expect $rc 1 "$msg" bad2.json "volume 'hostroot' mounts the host's device '/'" bind-mounts=1
check "and no such volume was made" test -z "$(docker volume ls -q --filter name=${APP5}_hostroot)"
for k in pid ipc; do
	bad_app "{\"$k\": \"container:$(cid web)\"}" >"$T/bad3.json"
	msg=$(bc up -t "$T/bad3.json" 2>&1)
	rc=$?
	check "$k: container:<another app's container>: exit 1 naming '$k' ($msg)" \
		expect $rc 1 "$msg" "'$k'" "container:"
done
check "nothing of that app was created" test -z "$(docker ps -aq --filter label=io.balena.app-id=$APP5)"
check "and nothing running was touched" test "$(cid web)" = "$web2"

# self-healing: a container removed behind our back comes back (events)
docker rm -f "$(cid db)" >/dev/null
for _ in $(seq 50); do [ -n "$(cid db)" ] && docker inspect -f '{{.State.Running}}' "$(cid db)" 2>/dev/null | grep -q true && break; sleep 0.1; done
check "removed by hand: recreated by the reconciler on Docker's event" test -n "$(cid db)"

# crash recovery: kill -9 the reconciler, change Docker meanwhile; the
# restarted one resumes the kept target and repairs
old=$(suite_pid reconciler)
kill9 "$old"
docker rm -f "$(cid web)" >/dev/null
suite_restarted reconciler "$old"
for _ in $(seq 50); do [ -n "$(cid web)" ] && break; sleep 0.1; done
check "after kill -9: the kept target is resumed and web repaired" test -n "$(cid web)"
check "state says settled" bash -c "'$BIN/balena-compose' state | grep -q '^generation [0-9]*, settled$'"

# target8 RELEASE: eight services of app APP4, env E=RELEASE
target8() {
	local svcs="" i
	for i in 1 2 3 4 5 6 7 8; do
		svcs="$svcs${svcs:+,} \"s$i\": {\"id\": $i, \"image_id\": $((40 + i)), \"image\": \"$BCTEST_IMAGE\",
   \"labels\": {\"io.balena-compose.test\": \"1\"}, \"environment\": {\"E\": \"$1\"},
   \"composition\": {\"command\": [\"sh\", \"-c\", \"trap exit TERM; while :; do sleep 1; done\"]}}"
	done
	cat <<EOT
{"bctestdev": {"name": "dev", "apps": {"bctest8app$APP4": {"id": $APP4, "name": "eight$APP4",
 "releases": {"r$1": {"id": $1, "services": {$svcs},
 "networks": {"default": {"labels": {"io.balena-compose.test": "1"}}}}}}}}}
EOT
}
# how many of APP4's containers run with E=$1
running_with() {
	local c n=0
	for c in $(docker ps -q --filter "label=io.balena.app-id=$APP4"); do
		docker inspect -f '{{.Config.Env}}' "$c" | grep -q "E=$1" && n=$((n + 1))
	done
	echo $n
}
app_status() { # APP_ID -> its status in the state document
	bc state --json -p "$1" 2>/dev/null | python3 -c '
import json, sys
apps = json.load(sys.stdin)["apps"]
print(apps[0]["status"] if apps else "absent")'
}

target8 1 >"$T/t8a.json"
target8 2 >"$T/t8b.json"
out=$(bc up -t "$T/t8a.json" 2>&1)
check "8 services: up exit 0" test $? -eq 0
rows=$(echo "$out" | grep -c "^eight$APP4 ")
others=$(echo "$out" | grep -c "^rec$APP ")
check "up prints only its own app: 8 rows, none of rec$APP ($rows, $others)" \
	test "$rows" -eq 8 -a "$others" -eq 0
cat >"$T/ps8.py" <<'EOT'
import json, sys
apps = json.load(sys.stdin)
assert len(apps) == 1 and apps[0]["id"] == int(sys.argv[1]), apps
assert apps[0]["status"] == "Idle", apps[0]["status"]
assert sorted(apps[0]["services"]) == ["s%d" % i for i in range(1, 9)], apps[0]["services"]
assert all(s["status"] == "running" for s in apps[0]["services"].values())
EOT
bc ps --json -p "eight$APP4" >"$T/ps8.json"
check "ps --json -p: that app's document, its eight services running" \
	python3 "$T/ps8.py" "$APP4" <"$T/ps8.json"

# the reconciler killed mid-update: up follows its new run to the end
bc up -t "$T/t8b.json" --timeout 100 >"$T/up8" 2>&1 &
upid=$!
st=""
for _ in $(seq 100); do
	st=$(app_status $APP4)
	[ "$st" = Updating ] && break
	sleep 0.05
done
moved=$(running_with 2)
old=$(suite_pid reconciler)
kill9 "$old"
check "state during the update: the app is Updating ($st)" test "$st" = Updating
check "killed mid-update ($moved of 8 had moved)" test "$moved" -lt 8
wait $upid
rc=$?
sed 's/^/  up: /' "$T/up8" | head -5
check "up across the kill: exit 0" test $rc -eq 0
check "up said it followed the restarted reconciler" grep -q "reconciler restarted" "$T/up8"
check "the new run renewed the locks the old one held (no wait on them)" \
	bash -c "! grep -q 'locked by' '$T/up8'"
check "the reconciler did restart" test "$(suite_pid reconciler)" != "$old"
check "all eight run the new env" test "$(running_with 2)" -eq 8

# one app that cannot be fetched holds no other app back
sed "s|$BCTEST_IMAGE|127.0.0.1:5000/bctest/nosuch:1|; s/bctest8app$APP4/bctestbad$APP5/; s/\"id\": $APP4/\"id\": $APP5/; s/eight$APP4/bad$APP5/" \
	"$T/t8a.json" >"$T/bad5.json"
msg=$(bc up -t "$T/bad5.json" --timeout 60 2>&1)
check "up of an app whose image is missing: exit 1 naming the image" \
	expect $? 1 "$msg" "bctest/nosuch:1"
check "state: that app is Failed" test "$(app_status $APP5)" = Failed
# one up of both apps: the failing one does not end the wait for the other,
# and up reports each (before: it returned at the first failure, showing
# nothing of the app that was fine)
python3 -c 'import json,sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
a["bctestdev"]["apps"].update(b["bctestdev"]["apps"]); json.dump(a, sys.stdout)' \
	"$T/t2.json" "$T/bad5.json" >"$T/both.json"
out=$(bc up -t "$T/both.json" --timeout 60 2>&1)
rc=$?
echo "$out" | sed 's/^/  up: /' | head -6
check "up of a good and a failing app: exit 1 naming the failing app and its image" \
	expect $rc 1 "$out" "app 'bad$APP5'" "bctest/nosuch:1"
check "and it shows the good app's services running" \
	bash -c "echo '$out' | grep -E '^rec$APP +web .* running' >/dev/null && echo '$out' | grep -qE '^rec$APP +db .* running'"
msg=$(bc down -p "eight$APP4" --timeout 60 2>&1)
check "down -p of another app meanwhile: exit 0 ($msg)" test $? -eq 0
# its services never take updates.lock: our own lockfiles are not the app's
check "down -p of an app that takes no lock: never 'locked by the app'" \
	test "${msg#*locked by the app}" = "$msg"
check "down -p: its containers are gone" test -z "$(docker ps -aq --filter label=io.balena.app-id=$APP4)"
check "down -p: its network is gone" test -z "$(docker network ls -q --filter label=io.balena.app-id=$APP4)"
check "down -p: its lock directories are gone" test ! -e "$BC_LOCKDIR/$APP4"
st=$(app_status $APP5)
check "the failing app is still there, not removed with the other ($st)" test "$st" != absent
mkdir -p "$BC_LOCKDIR/$APP5/s" # as a lock take of it would have
bc down -p "bad$APP5" --timeout 60 >/dev/null 2>&1
check "down of the failing app itself: exit 0" test $? -eq 0
check "a removed app's lock directory goes with it" test ! -e "$BC_LOCKDIR/$APP5"
check "state of a removed app: absent" test "$(app_status $APP5)" = absent

# config -t: a v3 target checked offline and printed normalised; a bad one
# refused naming the field, exit 1; -f with -t is a usage error
top=$(cd "$here/../.." && pwd)
out=$(bc config -t "$top/tests/fixtures/target-v3-example.json" 2>&1)
rc=$?
check "config -t TARGET.json: exit 0, the same document, keys sorted" \
	bash -c "[ $rc -eq 0 ] && python3 -c 'import json, sys; a = json.load(open(sys.argv[1])); b = json.loads(sys.argv[2]); sys.exit(0 if a == b and sys.argv[2] == json.dumps(b, indent=2, sort_keys=True) else 1)' '$top/tests/fixtures/target-v3-example.json' '$out'"
out=$(sed 's/"image_id": 4001/"image_id": "one"/' "$top/tests/fixtures/target-v3-example.json" | bc config -t - 2>&1)
rc=$?
check "config -t - (a bad one on standard input): exit 1 naming it ($out)" \
	expect $rc 1 "$out" "image_id"
bc config -t x.json -f y.yml >/dev/null 2>&1
check "config -t with -f: usage, exit 100" test $? -eq 100

# local mode: a compose file
unset_warning='warning: The "BCTEST_UNSET_VAR" variable is not set. Defaulting to a blank string.'
check "config: an unset variable is warned of on stderr, once" \
	test "$(grep -cF "balena-compose config: $unset_warning" "$T/config.err")" = 1
out=$(GREETING=hello bc up -f "$T/proj/docker-compose.yml" -p "proj$APP" 2>&1)
check "up -f compose.yml: exit 0 ($APP3)" test $? -eq 0
check "up -f: an unset variable is warned of, once" \
	test "$(echo "$out" | grep -cF "balena-compose up: $unset_warning")" = 1
check "up -f: the service runs with the interpolated env" bash -c \
	"docker inspect -f '{{.Config.Env}}' \$(docker ps -q --filter label=io.balena.app-id=$APP3 --filter label=io.balena.service-name=app) | grep -q GREETING=hello"
peek=$(docker ps -q --filter label=io.balena.app-id=$APP3 --filter label=io.balena.service-name=peek)
appc=$(docker ps -q --filter label=io.balena.app-id=$APP3 --filter label=io.balena.service-name=app)
lc=$(docker inspect -f '{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config "max-size"}} {{index .HostConfig.LogConfig.Config "max-file"}}' "$appc")
check "a service's logs are bounded by default ($lc)" test "$lc" = "json-file 10m 3"
lc=$(docker inspect -f '{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config "max-size"}}' "$peek")
check "logging in the composition replaces that ($lc)" test "$lc" = "local 2m"
check "pid: service:app joins that service's processes (peek sees app's PID 1 environment)" \
	bash -c "docker exec $peek cat /proc/1/environ | tr '\\0' '\\n' | grep -qx ONLY_APP=1"
msg=$(bc up -f "$T/proj/docker-compose.yml" -p "proj$APP" -t x 2>&1)
check "up with both -f and -t: usage, exit 100" test $? -eq 100
msg=$(bc down -p "proj$APP" --timeout 60 2>&1)
check "down -p <compose project> with a named volume: exit 0, ends ($msg)" test $? -eq 0
check "down -p: its containers are gone" test -z "$(docker ps -aq --filter label=io.balena.app-id=$APP3)"
check "down -p: says which volume stays and how it would go" \
	expect 0 0 "$msg" "kept: the volume(s) keep of app proj$APP" "down -p proj$APP -v"
check "down -p: its volume stays" test -n "$(docker volume ls -q --filter label=io.balena.app-id=$APP3)"
out=$(bc state -p "proj$APP")
check "state names the removed app and says why it is listed" \
	expect 0 0 "$out" "app proj$APP ($APP3): Idle (not in the target; its volume(s) keep kept"
out=$(bc ps -p "proj$APP")
check "ps of it: the header only, no service ($out)" test "$(echo "$out" | wc -l)" = 1
msg=$(bc down -p "proj$APP" --timeout 60 2>&1)
check "down -p of it again: exit 0 at once, the volume stays ($msg)" \
	test $? -eq 0 -a -n "$(docker volume ls -q --filter label=io.balena.app-id=$APP3)"

# the Composer C API, through the example program
out=$("$BUILD/examples/composer-example" "$APP2" "$BCTEST_IMAGE" 2>&1)
rc=$?
echo "$out" | sed 's/^/  /'
check "composer example: exit 0" test $rc -eq 0
check "composer example: release1 ran, release2 renamed it, then it was removed" expect 0 0 "$out" \
	'release1: {"id":'"$APP2"',' '"status":"Idle","services":{"hello":{"status":"running"' \
	'"container":"hello_' '_release1"' '_release2"' \
	'removed: {"status":"Idle","services":{},"networks":{},"volumes":{}}'
echo "$out" >"$T/comp1"
check "composer example: its releases numbered, 1 then 2" \
	bash -c "grep -q '^release1: .*\"release\":1,' '$T/comp1' && grep -q '^release2: .*\"release\":2,' '$T/comp1'"
check "composer example: nothing of its app is left" \
	test -z "$(docker ps -aq --filter label=io.balena.app-id=$APP2)"

# the Composer API across a kill -9 of the reconciler while it waits
docker rmi -f "$BCTEST_REMOTE_IMAGE" >/dev/null 2>&1
"$BUILD/examples/composer-example" "$APP2" "$BCTEST_REMOTE_IMAGE" >"$T/comp2" 2>&1 &
comp=$!
st=Idle
for _ in $(seq 200); do
	st=$(app_status $APP2)
	[ "$st" = Downloading ] || [ "$st" = Updating ] && break
	sleep 0.02
done
old=$(suite_pid reconciler)
kill9 "$old"
wait $comp
rc=$?
check "composer example across a kill -9 while its app was $st: exit 0 ($(tail -1 "$T/comp2"))" \
	test $rc -eq 0 -a "$st" != Idle
check "composer example: again nothing of its app is left" \
	test -z "$(docker ps -aq --filter label=io.balena.app-id=$APP2)"

bc down -v -p "rec$APP" >/dev/null
check "down -v: exit 0" test $? -eq 0
check "down -v: no container left" test -z "$(docker ps -aq --filter label=io.balena.app-id=$APP)"
check "down -v: volume gone" test -z "$(docker volume ls -q --filter label=io.balena.app-id=$APP)"
check "down -v: networks gone" test -z "$(docker network ls -q --filter label=io.balena.app-id=$APP)"
# down -v of one app never takes another app's kept volumes with it
check "down -v of another app: the removed app's kept volume stays" \
	test -n "$(docker volume ls -q --filter label=io.balena.app-id=$APP3)"
bc down -v -p "proj$APP" --timeout 60 >/dev/null
check "down -v of an app removed earlier (its volumes kept): exit 0" test $? -eq 0
check "down -v: its kept volume is gone now" \
	test -z "$(docker volume ls -q --filter label=io.balena.app-id=$APP3)"
check "state: the app is gone from it" test "$(app_status $APP3)" = absent
bc down -p nosuchapp >/dev/null 2>&1
check "down of an unknown app: exit 1" test $? -eq 1

finish
