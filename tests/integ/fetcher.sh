#!/bin/bash
# The fetcher under s6 on real Docker and real registries: progress events,
# coalescing, registry auth (htpasswd), a registry killed mid-pull, the disk
# guard. Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
SUB=$(cd "$BUILD/tests" && pwd)/sub
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-fetch.XXXXXX)
APP=$((993000 + $$ % 900))
UUID=0123456789abcdef0123456789abcdef
KEY=dev-key-$$-$RANDOM
AUTHREG=127.0.0.1:5001
FLAKYREG=127.0.0.1:5002 # a slow proxy (32 MiB/s) in front of the registry at FLAKYUP (registry)
FLAKYUP=127.0.0.1:5022
BIG=$FLAKYREG/bctest/big:1 # 64 MiB of random bytes
bc() { "$BIN/balena-compose" "$@"; }
regs=()
# registry NAME ADDR [htpasswd]: start a docker-registry with its own storage
registry() {
	mkdir -p "$T/$1"
	{
		echo "version: 0.1"
		echo "log: {level: error}"
		echo "storage: {filesystem: {rootdirectory: $T/$1/data}, delete: {enabled: true}}"
		echo "http: {addr: $2}"
		[ -n "${3:-}" ] && echo "auth: {htpasswd: {realm: bctest, path: $3}}"
	} >"$T/$1/config.yml"
	setsid docker-registry serve "$T/$1/config.yml" >"$T/$1/log" 2>&1 &
	echo $! >"$T/$1/pid"
	for _ in $(seq 40); do curl -s -o /dev/null "http://$2/v2/" && break; sleep 0.25; done
	curl -s -o /dev/null "http://$2/v2/" || { echo "registry $1 did not start" >&2; return 1; }
	[ "$1" = flaky ] || return 0
	# pulls from loopback are over in a blink: at 32 MiB/s one of the big
	# image takes 2 s, so the tests see it underway and act on it midway;
	# the proxy lives and dies with the registry (down: refused, as it is)
	setsid python3 "$here/../harness/slowproxy.py" "${FLAKYREG##*:}" "${FLAKYUP##*:}" $((32 << 20)) >/dev/null 2>&1 &
	echo $! >"$T/$1/proxypid"
	for _ in $(seq 40); do curl -s -o /dev/null "http://$FLAKYREG/v2/" && return 0; sleep 0.1; done
	echo "the proxy in front of registry $1 did not start" >&2
	return 1
}
# conf KEY [REGISTRY]: config.json with the device's key for its registry
conf() {
	echo "{\"uuid\": \"$UUID\", \"deviceApiKey\": \"$1\", \"registryEndpoint\": \"${2:-$AUTHREG}\"}" >"$T/config.json"
}
fakes=()
# fake NAME PORT MODE [REALM [SCOPE-BYTES]]: tests/harness/fakereg.py, logging to $T/NAME.log
fake() {
	: >"$T/$1.log"
	setsid python3 "$here/../harness/fakereg.py" "$2" "$T/$1.log" "$3" ${4:+"$4"} ${5:+"$5"} >/dev/null 2>&1 &
	fakes+=($!)
	for _ in $(seq 40); do (: </dev/tcp/127.0.0.1/"$2") 2>/dev/null && return 0; sleep 0.1; done
	echo "fake $1 did not start" >&2
	return 1
}
stop_registry() {
	local p
	for p in pid proxypid; do
		[ -f "$T/$1/$p" ] || continue
		kill -9 "$(cat "$T/$1/$p")" 2>/dev/null
		wait "$(cat "$T/$1/$p")" 2>/dev/null
	done
}
cleanup() {
	bc down -v -p "fx$APP" >/dev/null 2>&1
	suite_stop
	for r in auth flaky; do stop_registry $r; done
	[ ${#fakes[@]} -eq 0 ] || kill "${fakes[@]}" 2>/dev/null
	docker rmi -f "$AUTHREG/bctest/secret:1" "$BIG" bctest/big:1 >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

# a 64 MiB image of random bytes (so no layer compresses away)
mkdir -p "$T/big/bin"
cp "$(command -v busybox)" "$T/big/bin/busybox"
ln -s busybox "$T/big/bin/sh"
head -c $((64 << 20)) /dev/urandom >"$T/big/blob"
tar -C "$T/big" -c . | docker import -c "LABEL io.balena-compose.test=1" - bctest/big:1 >/dev/null
rm -rf "$T/big"

# an authenticated registry: the device's own credentials, as balena uses them
htpasswd -Bbc "$T/htpasswd" "d_$UUID" "$KEY" >/dev/null 2>&1
registry auth $AUTHREG "$T/htpasswd" || exit 1
export DOCKER_CONFIG=$T/dockercfg # docker login of this test only
echo "$KEY" | docker login -u "d_$UUID" --password-stdin $AUTHREG >/dev/null 2>&1
docker tag "$BCTEST_IMAGE" $AUTHREG/bctest/secret:1
docker push -q $AUTHREG/bctest/secret:1 >/dev/null || bad "push to the auth registry"
docker logout $AUTHREG >/dev/null 2>&1
docker rmi $AUTHREG/bctest/secret:1 >/dev/null
registry flaky $FLAKYUP || exit 1
docker tag bctest/big:1 $BIG
docker push -q $BIG >/dev/null || bad "push the big image"
# the registry keeps the only copy: every pull below really moves 64 MiB
docker rmi $BIG bctest/big:1 >/dev/null

conf "$KEY"
export BC_CONFIG=$T/config.json BC_STATEDIR=$T/state BC_LOCKDIR=$T/locks BC_SCOPE_APPS=$APP
suite_start "$BUILD" "$T" || abort "the suite did not start"

# progress events on PUB, and the CLI's lines, on a real 64 MiB download
"$SUB" fetcher 400 60000 >"$T/events" &
subpid=$!
for _ in $(seq 50); do grep -q subscribed "$T/events" 2>/dev/null && break; sleep 0.1; done
out=$(bc pull "$BIG" 2>&1)
check "pull: exit 0" test $? -eq 0
check "pull: says done ($out)" bash -c "echo '$out' | grep -q ': done'"
sleep 0.2
kill $subpid 2>/dev/null
check "PUB: FETCH_PROGRESS events ($(grep -c FETCH_PROGRESS "$T/events"))" grep -q "FETCH_PROGRESS .* $BIG" "$T/events"
check "PUB: FETCH_DONE ok" grep -q "FETCH_DONE .* $BIG ok" "$T/events"
check "the image is there" docker image inspect "$BIG" -f ok

# the device's credentials open the auth registry; never logged
out=$(bc pull $AUTHREG/bctest/secret:1 2>&1)
check "auth registry with d_<uuid>/deviceApiKey: pulled ($out)" test $? -eq 0
check "the key appears in no log" bash -c "! grep -rq -- '$KEY' '$BC_LOGDIR'"
# nor in the fetcher's memory once the pull is done (every copy wiped:
# config.json's buffer, jansson's, the auth header; before, several were
# freed as they were)
fpid=$(suite_pid fetcher)
n=$(python3 "$here/../harness/memscan.py" "$fpid" "$KEY")
if [[ "$n" == unreadable* ]]; then
	skip "the key is nowhere in the fetcher's memory after the pull" \
		"its memory is $n here (not dumpable, and no CAP_SYS_PTRACE)"
else
	check "the key is nowhere in the fetcher's memory after the pull ($n copies)" test "$n" = 0
	n=$(python3 "$here/../harness/memscan.py" "$fpid" "$BC_STATEDIR")
	check "(the scan does see the fetcher's memory: its state directory's name, $n times)" \
		test "$n" -ge 1
fi

# the device's key goes to its own registry only (config.json's
# registryEndpoint): an image of another registry that asks for
# credentials gets none, neither through Docker nor through our manifest
# client (before: both sent d_<uuid>/deviceApiKey to it)
fake other 5011 basic || exit 1
msg=$(bc pull 127.0.0.1:5011/bctest/x:1 2>&1)
check "another registry's image: pull refused by it ($msg)" test $? -ne 0
check "it was asked ($(wc -l <"$T/other.log") requests)" test -s "$T/other.log"
check "and never got an Authorization header" bash -c "! grep -v 'auth=none' '$T/other.log'"
check "the key appears nowhere it could have gone" bash -c "! grep -rq -- '$KEY' '$T/other.log' '$BC_LOGDIR'"
# a token realm the device's own registry names is held to https (plain
# http to loopback only): an ftp:// realm is refused before any connection
fake ftp 5013 listen || exit 1
sleep 0.2 && : >"$T/ftp.log" # fake's own probe of the port
fake tokreg 5012 bearer "ftp://127.0.0.1:5013/token" || exit 1
msg=$(printf 'd_%s\n%s\n' "$UUID" "$KEY" | "$BIN/bc-regsize" 127.0.0.1:5012/bctest/x:1 5 2>&1)
rc=$?
check "ftp:// token realm: refused, exit 1 ($msg)" bash -c "[ $rc -eq 1 ] && [[ '$msg' == *'token realm'*'https only'* ]]"
check "nothing connected to the ftp realm" test ! -s "$T/ftp.log"
fake tokreg2 5014 bearer "http://localhost.evil.test:5013/token" || exit 1
msg=$(printf 'd_%s\n%s\n' "$UUID" "$KEY" | "$BIN/bc-regsize" 127.0.0.1:5014/bctest/x:1 5 2>&1)
check "plain-http token realm on a name that is not loopback: refused ($msg)" \
	bash -c "[[ '$msg' == *'token realm'*'plain http only to a loopback'* ]]"
# a challenge past what is kept of it is refused, never cut: a scope cut
# to nothing, or a challenge cut before its scope, asked a token for no
# scope at all from the realm
fake realm 5015 listen || exit 1
sleep 0.2 && : >"$T/realm.log"
fake longscope 5016 bearer "http://127.0.0.1:5015/token" 600 || exit 1
msg=$(printf 'd_%s\n%s\n' "$UUID" "$KEY" | "$BIN/bc-regsize" 127.0.0.1:5016/bctest/x:1 5 2>&1)
check "a Bearer challenge's scope of 600 bytes: refused ($msg)" \
	bash -c "[[ '$msg' == *'service or scope is unreadable'* ]]"
fake longauth 5017 bearer "http://127.0.0.1:5015/token" 1200 || exit 1
msg=$(printf 'd_%s\n%s\n' "$UUID" "$KEY" | "$BIN/bc-regsize" 127.0.0.1:5017/bctest/x:1 5 2>&1)
check "a Bearer challenge of 1,200 bytes: refused ($msg)" \
	bash -c "[[ '$msg' == *'Bearer challenge longer than 1023 bytes'* ]]"
check "and no token was asked of the realm for either" test ! -s "$T/realm.log"

# a wrong key: a clear error, and the running release stays
docker rmi $AUTHREG/bctest/secret:1 >/dev/null
cat >"$T/t1.json" <<EOT
{"bctestdev": {"apps": {"fx$APP": {"id": $APP, "name": "fx$APP", "releases": {"r1": {"id": 1, "services": {
 "s": {"id": 1, "image_id": 1, "image": "$BCTEST_IMAGE", "labels": {"io.balena-compose.test": "1"},
  "composition": {"command": ["sh", "-c", "trap exit TERM; while :; do sleep 1; done"]}}},
 "networks": {"default": {"labels": {"io.balena-compose.test": "1"}}}}}}}}}
EOT
sed "s|\"image\": \"$BCTEST_IMAGE\"|\"image\": \"$AUTHREG/bctest/secret:1\"|; s/\"r1\"/\"r2\"/; s/\"id\": 1, \"services\"/\"id\": 2, \"services\"/" "$T/t1.json" >"$T/t2.json"
bc up -t "$T/t1.json" >/dev/null
check "release 1 runs" test -n "$(docker ps -q --filter label=io.balena.app-id=$APP)"
old=$(docker ps -q --filter label=io.balena.app-id=$APP)
conf "wrong-$KEY"
msg=$(bc pull $AUTHREG/bctest/secret:1 2>&1)
rc=$?
check "wrong key: pull exits 1 naming the refusal ($msg)" bash -c \
	"[ $rc -eq 1 ] && echo '$msg' | grep -qiE 'unauthorized|authentication required|no basic auth'"
msg=$(bc up -t "$T/t2.json" --timeout 20 2>&1)
rc=$?
check "wrong key: up fails with the fetch error ($msg)" bash -c "[ $rc -eq 1 ] && echo '$msg' | grep -q fetch"
check "wrong key: the old release keeps running" test "$(docker ps -q --filter label=io.balena.app-id=$APP)" = "$old"
conf "$KEY"
check "right key again: the update goes through" bc up -t "$T/t2.json" --timeout 60
# same content as release 1: a rename, as it should be
check "and release 2 runs" bash -c "docker ps --filter label=io.balena.app-id=$APP --format '{{.Names}}' | grep -q '_r2$'"

# two pulls of one image at once share one job
docker rmi -f $BIG >/dev/null 2>&1
before=$(grep -c "pulling $BIG" "$BC_LOGDIR/fetcher/current")
bc pull $BIG >"$T/p1" 2>&1 &
p1=$!
bc pull $BIG >"$T/p2" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
check "coalesced pulls: both exit 0" test $r1 -eq 0 -a $r2 -eq 0
n=$(($(grep -c "pulling $BIG" "$BC_LOGDIR/fetcher/current") - before))
check "coalesced pulls: one pull in the fetcher ($n)" test "$n" -eq 1

# pull_underway NAME: start `bc pull $BIG` (output in $T/NAME, pid in
# $pulling) and return once its progress shows; running=yes when the pull
# was then still going, pct its last percent
pull_underway() {
	docker rmi -f $BIG >/dev/null 2>&1
	"$SUB" fetcher 400 60000 >"$T/$1.events" &
	subpid=$!
	for _ in $(seq 50); do grep -q subscribed "$T/$1.events" 2>/dev/null && break; sleep 0.1; done
	bc pull $BIG >"$T/$1" 2>&1 &
	pulling=$!
	for _ in $(seq 500); do grep -q "FETCH_PROGRESS .*big" "$T/$1.events" && break; sleep 0.01; done
	running=no
	kill -0 $pulling 2>/dev/null && ! grep -q "FETCH_DONE" "$T/$1.events" && running=yes
	pct=$(grep "FETCH_PROGRESS .*big" "$T/$1.events" | tail -1 | grep -o '[0-9]*%$' | tr -d %)
}

# the registry dies mid-pull and comes back: the pull still succeeds
pull_underway p3
p3=$pulling
stop_registry flaky
check "registry killed while the pull ran (running=$running, at ${pct:-?}%)" \
	test "$running" = yes -a "${pct:-100}" -lt 100
sleep 2
registry flaky $FLAKYUP
wait $p3
rc=$?
check "registry restarted: the pull exits 0 ($(tail -1 "$T/p3"))" test $rc -eq 0
kill $subpid 2>/dev/null
check "registry killed mid-pull: the image is there" docker image inspect $BIG -f ok

# the fetcher killed mid-pull: s6 restarts it, and the pull carries on with
# the new run (it is asked again), exit 0
pull_underway p7
p7=$pulling
oldf=$(suite_pid fetcher)
kill9 "$oldf"
check "fetcher killed while the pull ran (running=$running)" test "$running" = yes
wait $p7
rc=$?
check "pull across the fetcher's restart: exit 0 ($(tail -1 "$T/p7"))" test $rc -eq 0
check "the fetcher did restart" test "$(suite_pid fetcher)" != "$oldf"
check "and the image is there" docker image inspect $BIG -f ok
kill $subpid 2>/dev/null

# the registry is down when the pull starts (the manifest request fails,
# which Docker does not retry): our backoff carries it once it is back
docker rmi -f $BIG >/dev/null 2>&1
stop_registry flaky
bc pull $BIG >"$T/p4" 2>&1 &
p4=$!
sleep 1.5
registry flaky $FLAKYUP
wait $p4
check "registry down at the start, back 1.5 s later: pull exits 0" test $? -eq 0
check "the fetcher retried with backoff" grep -q "pull '$BIG' (attempt 1).*retrying in" "$BC_LOGDIR/fetcher/current"

# the disk guard: a reserve no pull can keep is refused before any byte
root=$(docker info -f '{{.DockerRootDir}}')
if [ -d "$root" ]; then
	s6-svc -d "$SUITE_SCAN/fetcher"
	s6-svwait -D "$SUITE_SCAN/fetcher"
	BC_DISK_RESERVE=100% setsid "$BIN/bc-fetcher" >"$T/fetcher-guard.log" 2>&1 &
	guard=$!
	for _ in $(seq 50); do bc ping fetcher >/dev/null 2>&1 && break; sleep 0.1; done
	docker rmi -f $BIG >/dev/null 2>&1
	since=$(date +%s.%N)
	msg=$(bc pull $BIG 2>&1)
	rc=$?
	pulls=$(docker events --since "$since" --until "$(date +%s.%N)" --filter type=image --filter event=pull | wc -l)
	bytes=$(grep -o "'$BIG': [0-9]* bytes by the registry manifest" "$T/fetcher-guard.log" | tail -1 | awk '{print $2}')
	check "disk reserve: refused, exit 1, naming the disk ($msg)" bash -c "[ $rc -eq 1 ] && echo '$msg' | grep -q 'disk'"
	check "disk reserve: the manifest's size was asked (${bytes:-none} bytes, about 64 MiB)" \
		test "${bytes:-0}" -gt $((60 << 20)) -a "${bytes:-0}" -lt $((70 << 20))
	check "disk reserve: refused by the pre-check with that size, not mid-pull" \
		bash -c "echo '$msg' | grep -q 'the image needs $((${bytes:-0} >> 20)) MiB'"
	check "disk reserve: refused before any byte (no pull event: $pulls)" test "$pulls" -eq 0
	check "disk reserve: no image left behind" bash -c "! docker image inspect $BIG >/dev/null 2>&1"
	kill $guard
	wait $guard 2>/dev/null
	s6-svc -u "$SUITE_SCAN/fetcher"
	suite_wait_ready fetcher
else
	for c in "refused, exit 1" "the manifest's size was asked" "refused by the pre-check" \
		"refused before any byte" "no image left behind"; do
		skip "disk reserve: $c" "the engine's data root $root is not visible here"
	done
fi

# the engine's data root cannot be seen from the fetcher (it runs beside the
# engine, as in a container): pulls go on, the guard says once it is off.
# Here the root is hidden in a mount namespace of the fetcher's own; where it
# is not visible anyway (fresh-machine), the fetcher runs as it is.
s6-svc -d "$SUITE_SCAN/fetcher"
s6-svwait -D "$SUITE_SCAN/fetcher"
if [ -d "$root" ]; then
	BC_DISK_RESERVE=100% setsid unshare -m --propagation private sh -c \
		'mount -t tmpfs tmpfs "$(dirname "$0")" && exec "$1"' "$root" "$BIN/bc-fetcher" \
		>"$T/fetcher-blind.log" 2>&1 &
else
	BC_DISK_RESERVE=100% setsid "$BIN/bc-fetcher" >"$T/fetcher-blind.log" 2>&1 &
fi
blind=$!
for _ in $(seq 50); do bc ping fetcher >/dev/null 2>&1 && break; sleep 0.1; done
docker rmi -f $BIG "$AUTHREG/bctest/secret:1" >/dev/null 2>&1
out=$(bc pull $BIG "$AUTHREG/bctest/secret:1" 2>&1)
rc=$?
check "data root not visible (a reserve of 100%): pulls exit 0 ($(echo "$out" | tail -1))" test $rc -eq 0
n=$(grep -c "disk guard off" "$T/fetcher-blind.log")
check "data root not visible: one warning for two pulls ($n)" test "$n" -eq 1
kill $blind
wait $blind 2>/dev/null
s6-svc -u "$SUITE_SCAN/fetcher"
suite_wait_ready fetcher

# the bound and cancel: with one worker, a pull stuck in its retries (the
# registry is down) holds the other back; cancelling it lets that through
s6-svc -d "$SUITE_SCAN/fetcher"
s6-svwait -D "$SUITE_SCAN/fetcher"
BC_FETCH_CONCURRENCY=1 setsid "$BIN/bc-fetcher" >"$T/fetcher-one.log" 2>&1 &
one=$!
for _ in $(seq 50); do bc ping fetcher >/dev/null 2>&1 && break; sleep 0.1; done
docker rmi -f $BIG "$AUTHREG/bctest/secret:1" >/dev/null 2>&1
stop_registry flaky
bc pull $BIG >"$T/p5" 2>&1 &
p5=$!
sleep 0.5
bc pull "$AUTHREG/bctest/secret:1" >"$T/p6" 2>&1 &
p6=$!
sleep 0.5
st=$(bc pull --status)
echo "$st" | sed 's/^/  /'
check "one worker: the second image is queued behind the first" bash -c \
	"echo '$st' | grep secret | grep -q queued && echo '$st' | grep big | grep -q pulling"
job=$(echo "$st" | grep big | awk '{print $1}')
check "pull --cancel JOB: exit 0" bc pull --cancel "$job"
wait $p5
rc=$?
check "the cancelled pull ends, exit 1, saying so ($(tail -1 "$T/p5"))" bash -c "[ $rc -eq 1 ] && grep -q cancelled '$T/p5'"
wait $p6
check "then the queued one is pulled" test $? -eq 0
kill $one
wait $one 2>/dev/null
registry flaky $FLAKYUP
s6-svc -u "$SUITE_SCAN/fetcher"
suite_wait_ready fetcher

# cleanup after an update: exactly the images the fetcher pulled that
# nothing wants; never one a container uses, never one it did not pull
bc pull "$BIG" >/dev/null # the cancel above left it absent
docker run -d --label io.balena-compose.test=1 --name "bctest-$$-user" "$BIG" sh -c 'trap exit TERM; while :; do sleep 1; done' >/dev/null
bc pull "$BCTEST_REMOTE_IMAGE" >/dev/null
# release 3 runs a settle period of 3 s (issue #22): release 2 is the way
# back until it is committed, so its image is kept until then, not after
sed "s|\"image\": \"$AUTHREG/bctest/secret:1\"|\"image\": \"$BCTEST_REMOTE_IMAGE\"|; s/\"r2\"/\"r3\"/; s/\"id\": 2, \"services\"/\"id\": 3, \"services\"/" "$T/t2.json" >"$T/t3.json"
sed -i 's/"labels": {"io.balena-compose.test": "1"},/"labels": {"io.balena-compose.test": "1", "io.balena-compose.update.settle-period": "3s"},/' "$T/t3.json"
ncleanup=$(grep -c "image cleanup: " "$BC_LOGDIR/reconciler/current")
check "release 3 (another image) goes through" bc up -d -t "$T/t3.json"
for _ in $(seq 100); do [ "$(grep -c "image cleanup: " "$BC_LOGDIR/reconciler/current")" -gt "$ncleanup" ] && break; sleep 0.1; done
check "cleanup ran after release 3's round, on trial ($(grep "image cleanup: " "$BC_LOGDIR/reconciler/current" | tail -1 | cut -c1-160))" \
	bash -c "[ \$(grep -c 'image cleanup: .* and of the one before it' '$BC_LOGDIR/reconciler/current') -gt 0 ]"
check "cleanup: the image release 2 used is kept while 3 is on trial (the way back)" \
	docker image inspect "$AUTHREG/bctest/secret:1" -f ok
check "release 3 is committed after its settle period" bc up -t "$T/t3.json" --timeout 60
for _ in $(seq 100); do docker image inspect "$AUTHREG/bctest/secret:1" >/dev/null 2>&1 || break; sleep 0.1; done
check "cleanup: once release 3 is committed, release 2's image goes" \
	bash -c "! docker image inspect '$AUTHREG/bctest/secret:1' >/dev/null 2>&1"
check "the release history is kept on disk: release 3 settled" grep -q '"r3"' "$BC_STATEDIR/settled.json"
check "cleanup: an image a container uses is kept" docker image inspect "$BIG" -f ok
check "cleanup: the running release's image is kept" docker image inspect "$BCTEST_REMOTE_IMAGE" -f ok
check "cleanup: an image it never pulled is kept" docker image inspect "$BCTEST_IMAGE" -f ok
docker rm -f "bctest-$$-user" >/dev/null

# while an update downloads, the reconciler's state shows the service's progress
docker rmi -f $BIG >/dev/null 2>&1
sed "s|\"image\": \"$BCTEST_REMOTE_IMAGE\"|\"image\": \"$BIG\"|; s/\"r3\"/\"r4\"/; s/\"id\": 3, \"services\"/\"id\": 4, \"services\"/" "$T/t3.json" >"$T/t4.json"
bc up -t "$T/t4.json" --timeout 60 >/dev/null 2>&1 &
up=$!
seen=""
for _ in $(seq 300); do
	if bc state --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
a = [a for a in d["apps"] if a["id"] == int(sys.argv[1])][0]
dl = a["services"]["s"].get("download") or {}
sys.exit(0 if a["status"] == "Downloading" and dl.get("image") == sys.argv[2]
         and 0 <= dl.get("percent", -1) <= 100 else 1)' "$APP" "$BIG"; then
		seen=1
		break
	fi
	sleep 0.01
done
wait $up
check "state: the app is Downloading, its service shows the image and percent" test -n "$seen"
check "and the update then runs" bash -c "docker ps --filter label=io.balena.app-id=$APP --format '{{.Names}}' | grep -q '_r4$'"
for _ in $(seq 100); do grep -q "cleanup: removed $AUTHREG" "$BC_LOGDIR/fetcher/current" && break; sleep 0.1; done
check "cleanup: the image release 2 used is removed once two releases came after it" \
	bash -c "! docker image inspect $AUTHREG/bctest/secret:1 >/dev/null 2>&1"

# on a terminal, pull draws a bar per image
docker rmi -f $BIG >/dev/null 2>&1
script -qec "'$BIN/balena-compose' pull $BIG" /dev/null >"$T/tty" 2>&1
check "pull on a TTY: exit 0" test $? -eq 0
check "pull on a TTY: a redrawn progress bar" bash -c "grep -q \$'\\033\\[' '$T/tty' && grep -q '####################] 100%' '$T/tty'"

finish
