#!/bin/bash
# The locker under s6: leases, an app's lock (a real container creating its
# lockfile through the bind mount), inotify events, no orphans after kill -9,
# never stealing an app's lock, leases that run out. Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
SUB=$(cd "$BUILD/tests" && pwd)/sub
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-lock.XXXXXX)
APP=$((994000 + $$ % 900))
export BC_LOCKDIR=$T/locks BC_STATEDIR=$T/state BC_SCOPE_APPS=$APP
bc() { "$BIN/balena-compose" "$@"; }
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
trap 'docker rm -f "bctest-$$-app" >/dev/null 2>&1; suite_stop; rm -rf "$T"' EXIT
suite_start "$BUILD" "$T" || abort "the suite did not start"
D=$BC_LOCKDIR/$APP

out=$(bc lock take --app $APP web db)
check "take: granted ($out)" bash -c "[[ '$out' == lease* ]]"
lease=$(echo "$out" | awk '{print $2}')
check "take: both lockfiles of both services exist" test -f "$D/web/updates.lock" -a -f "$D/web/resin-updates.lock" -a -f "$D/db/updates.lock"
check "take: the files say who holds them" grep -q '"owner":"balena-compose"' "$D/web/updates.lock"
check "status: locked by us" bash -c "bc() { '$BIN/balena-compose' \"\$@\"; }; bc lock status | grep -E '^$APP +web +us'"
check "release: exit 0" bc lock release "$lease"
check "release: the files are gone" test ! -e "$D/web/updates.lock" -a ! -e "$D/db/updates.lock"

# an app takes its lock from inside its container, through the bind mount
mkdir -p "$D/web"
docker run -d --name "bctest-$$-app" --label io.balena-compose.test=1 \
	-v "$D/web:/tmp/balena" "$BCTEST_IMAGE" sh -c 'trap exit TERM; while :; do sleep 1; done' >/dev/null
"$SUB" locker 20 20000 >"$T/events" &
subpid=$!
for _ in $(seq 50); do grep -q subscribed "$T/events" 2>/dev/null && break; sleep 0.1; done
docker exec "bctest-$$-app" touch /tmp/balena/updates.lock
msg=$(bc lock take --app $APP web db 2>&1)
rc=$?
check "the app holds web: take refused, exit 1 ($msg)" expect $rc 1 "$msg" "service 'web'"
check "refused take is all or nothing: db not locked" test ! -e "$D/db/updates.lock"
t0=$(date +%s%N)
docker exec "bctest-$$-app" rm /tmp/balena/updates.lock
for _ in $(seq 200); do grep -q "LOCK_EVENT $APP web nobody" "$T/events" && break; sleep 0.005; done
lat=$(ms "$t0")
check "inotify: LOCK_EVENT 'nobody' when the app lets go (${lat} ms after docker exec rm)" grep -q "LOCK_EVENT $APP web nobody" "$T/events"
check "and an 'app' event when it took it" grep -q "LOCK_EVENT $APP web app" "$T/events"
kill $subpid 2>/dev/null
out=$(bc lock take --app $APP web)
check "after the app let go: granted" bash -c "[[ '$out' == lease* ]]"
lease=$(echo "$out" | awk '{print $2}')
msg=$(docker exec "bctest-$$-app" sh -c 'set -C; echo x > /tmp/balena/updates.lock' 2>&1)
check "while we hold it, the app cannot take it (O_EXCL in the container fails)" test $? -ne 0
bc lock release "$lease" >/dev/null

# --force removes the app's own lock
docker exec "bctest-$$-app" touch /tmp/balena/updates.lock
out=$(bc lock take --app $APP --force web)
check "--force: granted over the app's lock" bash -c "[[ '$out' == lease* ]]"
bc lock release "$(echo "$out" | awk '{print $2}')" >/dev/null

# what an app may leave at its lock's name, from inside its container: a
# FIFO (with a writer that would tell if we ever opened it), a device node,
# symlinks (to a host secret, dangling) and a directory. None is opened or
# followed, each counts as the app's lock, --force removes it.
app() { docker exec "bctest-$$-app" sh -c "$1"; }
for kind in fifo device symlink dangling directory; do
	app 'rm -rf /tmp/balena/updates.lock /tmp/balena/opened'
	case $kind in
	fifo) app 'mkfifo /tmp/balena/updates.lock; (echo x >/tmp/balena/updates.lock && touch /tmp/balena/opened) >/dev/null 2>&1 &' ;;
	device) app 'mknod /tmp/balena/updates.lock c 1 3' ;;
	symlink) app 'ln -s /etc/shadow /tmp/balena/updates.lock' ;;
	dangling) app 'ln -s /nonexistent/lock /tmp/balena/updates.lock' ;;
	directory) app 'mkdir -p /tmp/balena/updates.lock/sub && ln -s / /tmp/balena/updates.lock/sub/root && mkfifo /tmp/balena/updates.lock/f' ;;
	esac
	out=$(timeout 5 "$BIN/balena-compose" lock status 2>&1)
	check "$kind as the lock: status answers, the app holds it" bash -c "echo '$out' | grep -qE '^$APP +web +app'"
	msg=$(timeout 5 "$BIN/balena-compose" lock take --app $APP web 2>&1)
	check "$kind as the lock: take refused, exit 1" expect $? 1 "$msg" "service 'web'"
	out=$(timeout 5 "$BIN/balena-compose" lock take --app $APP --force web 2>&1)
	check "$kind as the lock: --force removes it and takes the lock ($out)" \
		bash -c "[[ '$out' == lease* ]] && grep -q '\"owner\":\"balena-compose\"' '$D/web/updates.lock'"
	bc lock release "$(echo "$out" | awk '{print $2}')" >/dev/null 2>&1
	[ $kind = fifo ] && check "the FIFO was never opened" test ! -e "$D/web/opened"
done
check "the host's /etc/shadow and / are untouched" test -s /etc/shadow -a -d /etc
check "the locker answered throughout, the same process" "$BIN/balena-compose" ping locker

# the lock root is a small filesystem of its own: an app filling its lock
# directory fills 8 MiB, not the host's disk, and cannot leave a device or
# a setuid program usable there
opts=$(findmnt -no FSTYPE,OPTIONS --mountpoint "$BC_LOCKDIR")
if [ -z "$opts" ] && grep -qs "lock root $BC_LOCKDIR: not a mount of its own: mounting one is not allowed here" \
	"$BC_LOGDIR/locker/current" "$BC_LOGDIR/reconciler/current"; then
	skip "the lock root is a small tmpfs of its own" "mounting is not allowed here (the daemons said so)"
else
	check "the lock root is a tmpfs, nodev,nosuid,noexec ($opts)" \
		bash -c "[[ '$opts' == tmpfs*nosuid*nodev*noexec* ]]"
	check "the daemon that came first says so in its log" \
		grep -q "lock root $BC_LOCKDIR: a tmpfs mounted" "$BC_LOGDIR/locker/current" "$BC_LOGDIR/reconciler/current"
	msg=$(app 'dd if=/dev/zero of=/tmp/balena/fill bs=1M count=64 2>&1')
	rc=$?
	sz=$(stat -c %s "$D/web/fill")
	check "an app writing 64 MiB into its lock dir fails at 8 MiB ($sz bytes: $msg)" \
		bash -c "[ $rc -ne 0 ] && [ $sz -le $((8 << 20)) ] && [[ '$msg' == *'No space left'* ]]"
	app 'rm -f /tmp/balena/fill'
	out=$(bc lock take --app $APP web)
	check "space freed: the lock is taken again" bash -c "[[ '$out' == lease* ]]"
	bc lock release "$(echo "$out" | awk '{print $2}')" >/dev/null
fi

# kill -9 mid-update: our lock must not outlive us; the app's must stay
bc lock take --app $APP db >/dev/null
mkdir -p "$D/api"
echo "held by the app" >"$D/api/updates.lock"
old=$(suite_pid locker)
kill9 "$old"
# s6 reports the old pid for a moment: wait for a new one, then readiness
for _ in $(seq 100); do
	p=$(suite_pid locker)
	[ "$p" != "$old" ] && [ "$p" != -1 ] && break
	sleep 0.05
done
suite_wait_ready locker
check "after kill -9 and restart: no orphaned lock of ours" test ! -e "$D/db/updates.lock"
check "after the restart: the app's lock is still there" test -f "$D/api/updates.lock"
check "the restart said so in its log" grep -q "removed 2 orphaned lockfile" "$BC_LOGDIR/locker/current"
rm "$D/api/updates.lock"

# a lease that is not renewed runs out (a locker with a short TTL)
s6-svc -d "$SUITE_SCAN/locker"
s6-svwait -D "$SUITE_SCAN/locker"
BC_LOCK_TTL_MS=300 setsid "$BIN/bc-locker" >"$T/short.log" 2>&1 &
short=$!
for _ in $(seq 50); do bc ping locker >/dev/null 2>&1 && break; sleep 0.1; done
bc lock take --app $APP web >/dev/null
check "short lease: taken" test -f "$D/web/updates.lock"
sleep 1
check "short lease: not renewed, gone after its TTL" test ! -e "$D/web/updates.lock"
kill $short
wait $short 2>/dev/null
s6-svc -u "$SUITE_SCAN/locker"
suite_wait_ready locker

bc lock take --app 0 web >/dev/null 2>&1
check "bad app id: usage, exit 100" test $? -eq 100
bc lock take --app $APP ../etc >/dev/null 2>&1
check "a path as a service name: refused, exit 1" test $? -eq 1

# The lock root's own tmpfs full (what an app could do through its lock
# directory): a take is refused, saying why, and leaves nothing behind; it
# is granted again once there is room
if mountpoint -q "$BC_LOCKDIR"; then
	dd if=/dev/zero of="$BC_LOCKDIR/fill" bs=1M count=16 >/dev/null 2>&1
	msg=$(bc lock take --app $APP web db 2>&1)
	rc=$?
	check "lock root full: take refused, exit 1, saying so ($msg)" \
		expect $rc 1 "$msg" "No space left on device"
	check "and all or nothing: no lockfile of ours left" \
		bash -c "! grep -rqs balena-compose '$D'"
	rm -f "$BC_LOCKDIR/fill"
	out=$(bc lock take --app $APP web db 2>&1)
	check "room again: granted ($out)" bash -c "[[ '$out' == lease* ]]"
	bc lock release "$(echo "$out" | awk '{print $2}')" >/dev/null 2>&1
else
	skip "lock root full: take refused" "no tmpfs could be mounted on the lock root here"
fi

finish
