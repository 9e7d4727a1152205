#!/bin/bash
# Update locks through the reconciler, on real containers: an app's lock
# holds an update back (the old release runs, the state says so), letting
# go resumes it at once, --force overrides, kill -9 of the locker leaves no
# orphan, a locker restart never steals the app's lock.
# Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
SUB=$(cd "$BUILD/tests" && pwd)/sub
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-locks.XXXXXX)
APP=$((995000 + $$ % 900))
export BC_STATEDIR=$T/state BC_LOCKDIR=$T/locks BC_SCOPE_APPS=$APP
bc() { "$BIN/balena-compose" "$@"; }
cid() { docker ps -q --filter "label=io.balena.app-id=$APP" --filter "label=io.balena.service-name=s"; }
trap 'bc down -v -p lk$APP >/dev/null 2>&1; suite_stop; rm -rf "$T"' EXIT
# wait_new OLD TENTHS: wait up to TENTHS x 0.1 s for a running s other than
# OLD, one look at a time (two looks, "there is one" then "it is not OLD",
# see OLD and then nothing between the kill of the old and the new one)
wait_new() {
	local now
	for _ in $(seq "$2"); do
		now=$(cid)
		[ -n "$now" ] && [ "$now" != "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# target GREETING [STRATEGY] -> a v3 document
target() {
	cat <<EOT
{"bctestdev": {"apps": {"lk$APP": {"id": $APP, "name": "lk$APP", "releases": {"c1": {"id": 1, "services": {
 "s": {"id": 1, "image_id": 1, "image": "$BCTEST_IMAGE",
  "labels": {"io.balena-compose.test": "1", "io.balena.update.strategy": "${2:-download-then-kill}",
             "io.balena.update.handover-timeout": "4000"},
  "environment": {"GREETING": "$1"},
  "composition": {"command": ["sh", "-c", "trap exit TERM; while :; do sleep 1; done"]}}},
 "networks": {"default": {"labels": {"io.balena-compose.test": "1"}}}}}}}}}
EOT
}
suite_start "$BUILD" "$T" || abort "the suite did not start"
for g in 1 2 3 4; do target $g >"$T/t$g.json"; done

bc up -t "$T/t1.json" >/dev/null
check "release 1 runs" test -n "$(cid)"
old=$(cid)
check "the lock directory is mounted at /tmp/balena" docker exec "$old" test -d /tmp/balena

# the app takes its lock: the update waits, the old release keeps running
docker exec "$old" touch /tmp/balena/updates.lock
bc up -t "$T/t2.json" --detach >/dev/null
st=""
for _ in $(seq 50); do
	st=$(bc state)
	[[ "$st" == *"locked by the app (service 's')"* ]] && break
	sleep 0.1
done
check "state says the app holds the lock" bash -c "echo \"\$0\" | grep -q \"locked by the app (service 's')\"" "$st"
sleep 1
check "the old release keeps running" test "$(cid)" = "$old"

# letting go resumes the update at once (inotify -> LOCK_EVENT -> wake)
"$SUB" reconciler 50 20000 >"$T/events" &
subpid=$!
for _ in $(seq 50); do grep -q subscribed "$T/events" 2>/dev/null && break; sleep 0.1; done
# While it waits, the reconciler looks again every second anyway; so the
# lock goes right after one of those looks (its unsettled STATE), when the
# next is a full second away: a resume well before that is the wake's.
# (The lockfile goes from the host side of the bind mount: docker exec
# would add its own start-up time to the measure.)
n0=$(grep -c '^STATE' "$T/events")
for _ in $(seq 400); do [ "$(grep -c '^STATE' "$T/events")" -gt "$n0" ] && break; sleep 0.005; done
t0=$(date +%s%N)
rm "$BC_LOCKDIR/$APP/s/updates.lock"
for _ in $(seq 1000); do grep -q "STEP TAKE_LOCK" "$T/events" && break; sleep 0.002; done
lat=$((($(date +%s%N) - t0) / 1000000))
for _ in $(seq 500); do grep -q "STEP KILL s ok" "$T/events" && break; sleep 0.01; done
kill $subpid 2>/dev/null
check "resumed when the lock went: our TAKE_LOCK" grep -q "STEP TAKE_LOCK .* ok" "$T/events"
check "by the wake: ${lat} ms after the lockfile went, the next look was ~1000 ms away" \
	test "$lat" -lt 500
check "then the old release is killed" grep -q "STEP KILL s ok" "$T/events"
wait_new "$old" 100
check "release 2 runs" test -n "$(cid)" -a "$(cid)" != "$old"
check "our lock is released once settled" bash -c "! grep -qs balena-compose '$BC_LOCKDIR/$APP/s/updates.lock'"

# --force overrides the app's lock
old=$(cid)
docker exec "$old" touch /tmp/balena/updates.lock
check "up --force goes through the app's lock" bc up -t "$T/t3.json" --force --timeout 30
check "release 3 runs" test -n "$(cid)" -a "$(cid)" != "$old"

# kill -9 of the locker mid-update: a hand-over to a new release holds our
# lock while old and new run side by side (4 s)
sed 's/"c1": {"id": 1/"c2": {"id": 2/; s/download-then-kill/hand-over/' "$T/t3.json" >"$T/t5.json"
bc up -t "$T/t5.json" --timeout 60 >"$T/up5" 2>&1 &
up5=$!
for _ in $(seq 100); do grep -qs '"owner":"balena-compose"' "$BC_LOCKDIR/$APP/s/updates.lock" && break; sleep 0.05; done
check "mid-update: our lockfile is there" grep -qs '"owner":"balena-compose"' "$BC_LOCKDIR/$APP/s/updates.lock"
for _ in $(seq 60); do [ "$(cid | wc -l)" -eq 2 ] && break; sleep 0.05; done
check "mid-update: old and new run side by side" test "$(cid | wc -l)" -eq 2
check "mid-update: our lockfile is still there" grep -qs '"owner":"balena-compose"' "$BC_LOCKDIR/$APP/s/updates.lock"
oldpid=$(suite_pid locker)
kill9 "$oldpid"
for _ in $(seq 100); do p=$(suite_pid locker); [ "$p" != "$oldpid" ] && [ "$p" != -1 ] && break; sleep 0.05; done
suite_wait_ready locker
check "after kill -9 and restart: no orphaned lock of ours" bash -c "! grep -qs balena-compose '$BC_LOCKDIR/$APP/s/updates.lock'"
wait $up5
rc=$?
check "and the update still finishes (up exits 0: $(tail -1 "$T/up5"))" test $rc -eq 0
check "one container of the new release" bash -c "[ \"\$(docker ps --filter label=io.balena.app-id=$APP --format '{{.Names}}')\" = s_1_2_c2 ]"

# a locker restart never steals the app's lock
docker exec "$(cid)" touch /tmp/balena/updates.lock
s6-svc -r "$SUITE_SCAN/locker"
sleep 0.5
suite_wait_ready locker
check "locker restarted: the app's lockfile is still there" docker exec "$(cid)" test -f /tmp/balena/updates.lock
docker exec "$(cid)" rm /tmp/balena/updates.lock

# A lease outlives a step longer than its TTL: renewed on the loop's timer,
# not once a round. TTL 1.5 s; the old container takes 4 s to stop.
suite_stop keep
export BC_LOCK_TTL_MS=1500
suite_start "$BUILD" "$T" || abort "the suite did not restart"
slow() {
	target "$1" | sed 's/"c1": {"id": 1/"c9": {"id": 9/; s/"trap exit TERM;/"trap \\"sleep 4; exit 0\\" TERM;/'
}
slow 1 >"$T/slow1.json"
slow 2 >"$T/slow2.json"
bc up -t "$T/slow1.json" --timeout 60 >/dev/null
old=$(cid)
check "slow-stopping release runs" test -n "$old"
bc up -t "$T/slow2.json" --timeout 60 >"$T/upslow" 2>&1 &
upslow=$!
seen=0 gap=0
for _ in $(seq 150); do
	docker inspect "$old" >/dev/null 2>&1 || break
	if grep -qs '"owner":"balena-compose"' "$BC_LOCKDIR/$APP/s/updates.lock"; then
		seen=$((seen + 1))
	elif [ $seen -gt 0 ]; then
		gap=$((gap + 1))
	fi
	sleep 0.1
done
wait $upslow
check "a 4 s stop under a 1.5 s TTL: our lockfile stayed (seen $seen samples, missing $gap)" \
	test $seen -ge 20 -a $gap -eq 0
check "and the update finished" bash -c "docker inspect -f '{{range .Config.Env}}{{.}} {{end}}' \$(docker ps -q --filter label=io.balena.app-id=$APP) | grep -q GREETING=2"
check "no lease of ours ran out (reconciler log)" bash -c "! grep -q 'lease ran out' '$BC_LOGDIR/reconciler/current'"

# A lease lost mid-update (the locker killed and restarted while the old
# container takes 4 s to stop: the new locker knows no lease and removes
# our lockfiles) stops the round before its next destructive step, and an
# app that took its lock in the gap is respected: the new container of s
# is not created while the app's other service w holds the lock (before:
# the round went on with our lease gone and created it).
guard() { # guard GREETING: slow s, and w that never changes
	slow "$1" | python3 -c 'import json, sys, copy
d = json.load(sys.stdin); app = list(d["bctestdev"]["apps"].values())[0]
svcs = list(app["releases"].values())[0]["services"]
w = copy.deepcopy(svcs["s"]); w["id"] = 2; w["environment"] = {}
w["composition"] = {"command": ["sh", "-c", "trap exit TERM; while :; do sleep 1; done"]}
svcs["w"] = w; json.dump(d, sys.stdout)'
}
wid() { docker ps -q --filter "label=io.balena.app-id=$APP" --filter "label=io.balena.service-name=w"; }
guard 3 >"$T/guard3.json"
guard 4 >"$T/guard4.json"
bc up -t "$T/guard3.json" --timeout 60 >/dev/null
old=$(cid)
check "s (4 s to stop) and w run" test -n "$old" -a -n "$(wid)"
bc up -t "$T/guard4.json" --timeout 90 >"$T/upguard" 2>&1 &
upguard=$!
# our lock taken for the update: s has its SIGTERM now, and 4 s to go
for _ in $(seq 100); do
	grep -qs '"owner":"balena-compose"' "$BC_LOCKDIR/$APP/w/updates.lock" && break
	sleep 0.05
done
sleep 0.5
kill9 "$(suite_pid locker)"
for _ in $(seq 100); do
	grep -qs '"owner":"balena-compose"' "$BC_LOCKDIR/$APP/w/updates.lock" || break
	sleep 0.05
done
docker exec "$(wid)" sh -c 'set -C; echo app >/tmp/balena/updates.lock'
check "the app took its lock in the gap (w's updates.lock)" docker exec "$(wid)" grep -q app /tmp/balena/updates.lock
for _ in $(seq 100); do docker inspect "$old" >/dev/null 2>&1 || break; sleep 0.1; done
sleep 2
check "the round stopped before its next step: no new s while the app holds the lock" \
	test -z "$(cid)"
check "the reconciler said why" grep -q "lease ran out mid-update; stopping before this step" \
	"$BC_LOGDIR/reconciler/current"
check "w was left running" test -n "$(wid)"
docker exec "$(wid)" rm /tmp/balena/updates.lock
wait $upguard
rc=$?
sed 's/^/  up: /' "$T/upguard" | head -4
s_env=$(docker inspect -f '{{range .Config.Env}}{{.}} {{end}}' "$(cid)" 2>/dev/null)
check "once the app let go, the update finished (up exit $rc)" bash -c \
	"[ $rc -eq 0 ] && [[ '$s_env' == *GREETING=4* ]]"

# The lock root outlives a stop and a start of the agent while containers
# use it: make demo-stop's unmount (lock_root_unmount) keeps its tmpfs
# mounted, and the app's lock taken before is still seen after.
unset BC_LOCK_TTL_MS
for g in 6 7 8; do target $g >"$T/t$g.json"; done
bc up -t "$T/t6.json" --timeout 60 >/dev/null
old=$(cid)
mounted=false
mountpoint -q "$BC_LOCKDIR" && mounted=true
docker exec "$old" touch /tmp/balena/updates.lock
suite_stop keep
lock_root_unmount "$BC_LOCKDIR"
if $mounted; then
	check "a stop while the app's container runs leaves the lock root mounted" \
		mountpoint -q "$BC_LOCKDIR"
else
	skip "a stop leaves the lock root mounted" "no tmpfs could be mounted here"
fi
suite_start "$BUILD" "$T" || abort "the suite did not restart"
out=$(bc lock status)
check "after the agent's stop and start, lock status shows the app's lock ($out)" \
	bash -c "echo \"\$0\" | grep -qE '^$APP +s +app\$'" "$out"
bc up -t "$T/t7.json" --detach >/dev/null
st=""
for _ in $(seq 50); do
	st=$(bc state -p "lk$APP")
	[[ "$st" == *"locked by the app (service 's')"* ]] && break
	sleep 0.1
done
check "and the next release waits on it" expect 0 0 "$st" "locked by the app (service 's')"
sleep 4
check "4 s on, the app's container still runs" test "$(cid)" = "$old"
docker exec "$old" rm /tmp/balena/updates.lock
# (CI once saw this fail at 1 s: its wait looked twice, saw the old one,
# then none, and took that for the new one)
t0=$(date +%s)
wait_new "$old" 900
check "let go: release 7 runs ($(($(date +%s) - t0)) s after the app let go)" test -n "$(cid)" -a "$(cid)" != "$old"
[ "$fail" -eq 0 ] || {
	echo "old: $old; now: $(cid | tr '\n' ' ')"
	docker ps -a --filter "label=io.balena.app-id=$APP" --format '{{.ID}} {{.Names}} {{.Status}} {{.CreatedAt}}'
	bc state
	tail -20 "$BC_LOGDIR/reconciler/current"
	tail -8 "$BC_LOGDIR/locker/current"
	echo "lock status:"; bc lock status
	echo "the lock root:"; find "$BC_LOCKDIR" -ls | sed 's/^/  /'
	echo "the old container's mounts:"; docker inspect -f '{{json .Mounts}}' "$old"
	docker exec "$old" ls -la /tmp/balena
}

# The lock root unmounted under running containers (what make demo-stop
# did): a new start never covers it with a fresh tmpfs, and an app whose
# container holds the old one counts as locked, never as unlocked.
if $mounted; then
	for _ in $(seq 100); do bc state -p "lk$APP" | grep -q "^generation [0-9]*, settled$" && break; sleep 0.1; done
	old=$(cid)
	suite_stop keep
	umount -l "$BC_LOCKDIR"
	suite_start "$BUILD" "$T" || abort "the suite did not restart"
	check "restarted with the lock root unmounted under a running container: not covered" \
		bash -c "! mountpoint -q '$BC_LOCKDIR'"
	check "the daemons said why" grep -q "running containers bind-mount directories of it" \
		"$BC_LOGDIR/reconciler/current" "$BC_LOGDIR/locker/current"
	bc up -t "$T/t8.json" --detach >/dev/null
	st=""
	for _ in $(seq 100); do
		st=$(bc state -p "lk$APP")
		[[ "$st" == *"not on the lock root the agent sees"* ]] && break
		sleep 0.1
	done
	check "the app counts as locked, and state says why" \
		expect 0 0 "$st" "Waiting for update lock" "service 's'" "not on the lock root the agent sees"
	sleep 3
	check "3 s on, its container still runs" test "$(cid)" = "$old"
	check "up --force updates it anyway" bc up -t "$T/t8.json" --force --timeout 60
	check "release 8 runs" test -n "$(cid)" -a "$(cid)" != "$old"
else
	skip "the lock root unmounted under a running container" "no tmpfs could be mounted here"
fi

finish
