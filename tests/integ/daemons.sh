#!/bin/bash
# The five daemons under a real s6-svscan, from the scan directory generated
# out of s6-rc.d/: readiness, ping, socket modes, bad input, crash isolation,
# clean stop. Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
RAWREQ=$(cd "$BUILD/tests" && pwd)/rawreq
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
DAEMONS=$SUITE_DAEMONS
T=$(mktemp -d /tmp/bc-daemons.XXXXXX)
pid_of() { suite_pid "$1"; }
trap 'suite_stop; rm -rf "$T"' EXIT

# readiness: s6-svwait -U waits for "up and ready" (the daemon's newline)
all_ready=true
suite_start "$BUILD" "$T" || all_ready=false
check "all five daemons signal readiness to s6" $all_ready
check "s6-svstat says up and ready" test "$(s6-svstat -o up,ready "$SUITE_SCAN/locker")" = "true true"

out=$("$BIN/balena-compose" ping)
rc=$?
echo "$out" | sed 's/^/  /'
check "balena-compose ping: exit 0" test $rc -eq 0
check "balena-compose ping: five daemons UP" test "$(echo "$out" | grep -c ' UP ')" -eq 5

check "run directory is mode 700" test "$(stat -c %a "$BC_RUNDIR")" = 700
modes=$(stat -c %a "$BC_RUNDIR"/*.rep "$BC_RUNDIR"/*.pub | sort -u | tr '\n' ' ')
check "every socket is mode 600 ($modes)" test "$modes" = "600 "

# an untrusted client speaking garbage gets an error reply, never a crash
before=$(pid_of fetcher)
r=$("$RAWREQ" fetcher c1)
check "garbage byte -> ERROR reply ($r)" bash -c "[[ '$r' == ERROR*unsupported* ]]"
# v=1 t=999 id=5 b={}
r=$("$RAWREQ" fetcher 84a17601a174cd03e7a2696405a16280)
check "unknown type -> ERROR echoing id 5 ($r)" bash -c "[[ '$r' == 'ERROR id=5 unknown message type 999' ]]"
# a valid message no daemon handles yet: PONG sent as a request
r=$("$RAWREQ" locker 84a17601a17402a2696406a16284a66461656d6f6ea178a370696401a975707469\
6d655f6d7301a8696e7374616e636501)
check "unhandled type -> ERROR naming it ($r)" bash -c "[[ '$r' == 'ERROR id=6 locker does not handle PONG messages' ]]"
# 4 billion declared elements in 5 bytes
r=$("$RAWREQ" fetcher ddffffffff)
check "huge declared count -> ERROR ($r)" bash -c "[[ '$r' == ERROR*elements* ]]"
check "fetcher survived all of it (same pid)" test "$(pid_of fetcher)" = "$before"

# crash isolation: kill -9 one daemon; s6 restarts it, the others never notice
declare -A pids
for d in $DAEMONS; do pids[$d]=$(pid_of "$d"); done
kill9 "${pids[reconciler]}"
check "killed reconciler restarted by s6 with a new pid ($(pid_of reconciler))" \
	suite_restarted reconciler "${pids[reconciler]}"
check "restarted reconciler answers (stale socket replaced)" "$BIN/balena-compose" ping reconciler
same=true
for d in gateway fetcher locker logger; do [ "$(pid_of "$d")" = "${pids[$d]}" ] || same=false; done
check "the other four kept their pids" $same

# SIGTERM: s6-svc -d sends TERM; the daemon exits 0 promptly
start=$(date +%s%N)
s6-svc -d "$SUITE_SCAN/gateway"
timeout 10 s6-svwait -D "$SUITE_SCAN/gateway"
ms=$((($(date +%s%N) - start) / 1000000))
st=$(s6-svstat "$SUITE_SCAN/gateway")
check "gateway stops on SIGTERM in ${ms} ms (< 2000)" test $ms -lt 2000
check "gateway exit code 0 ($st)" bash -c "echo '$st' | grep -q 'exitcode 0'"
out=$("$BIN/balena-compose" ping gateway)
check "ping of a stopped daemon fails with DOWN" bash -c "! '$BIN/balena-compose' ping gateway >/dev/null && [[ '$out' == *DOWN* ]]"
s6-svc -u "$SUITE_SCAN/gateway"
suite_wait_ready gateway
check "gateway comes back up" "$BIN/balena-compose" ping gateway

check "daemon logs reach s6-log" grep -q "ready (pid" "$BC_LOGDIR/fetcher/current"

# a bad setting: exit 100 naming it, and s6 does not restart the daemon
# (its finish script turns 100 into 125); a good one restarts as usual
msg=$(BC_WORKERS=lots "$BIN/bc-reconciler" 2>&1)
rc=$?
check "BC_WORKERS=lots -> exit 100 naming it and what is allowed ($msg)" \
	expect $rc 100 "$msg" "BC_WORKERS='lots'" "1..8"
cp -R "$SUITE_SCAN/logger" "$T/badlogger"
rm -rf "$T/badlogger/supervise" "$T/badlogger/log" "$T/badlogger/event"
sed -i 's|^exec \(.*bc-logger\)|BC_LOCK_TTL_MS=5 exec \1|' "$T/badlogger/run"
grep -q BC_LOCK_TTL_MS=5 "$T/badlogger/run" || bad "could not write the bad run script"
mv "$T/badlogger" "$SUITE_SCAN/badlogger"
s6-svscanctl -a "$SUITE_SCAN"
for _ in $(seq 50); do
	[ "$(s6-svstat -o exitcode "$SUITE_SCAN/badlogger" 2>/dev/null)" = 100 ] && break
	sleep 0.1
done
sleep 2 # s6 would have restarted it by now (it waits 1 s between starts)
st=$(s6-svstat -o up,wantedup,exitcode "$SUITE_SCAN/badlogger" 2>&1)
check "under s6: a bad setting leaves the daemon down, not restarted ($st)" \
	test "$st" = "false false 100"
s6-svc -dx "$SUITE_SCAN/badlogger" 2>/dev/null
rm -rf "$SUITE_SCAN/badlogger"
s6-svscanctl -an "$SUITE_SCAN"

out=$("$BIN/balena-compose" status 2>&1)
check "status without a config.json: local mode ($(echo "$out" | head -1))" bash -c "echo '$out' | grep -q '^mode: *local$'"
out=$("$BIN/balena-compose" update 2>&1)
rc=$?
check "update in local mode: exit 1 saying why ($out)" expect $rc 1 "$out" "local mode"

# a second instance refuses to start, and the first keeps its sockets
pid1=$(suite_pid locker)
msg=$("$BIN/bc-locker" 2>&1)
rc=$?
check "second locker -> exit 111 naming the first's pid ($msg)" \
	bash -c "[ $rc -eq 111 ] && [[ '$msg' == *'pid $pid1'* ]]"
check "the first locker still answers on its socket" "$BIN/balena-compose" ping locker
check "and is the same process" test "$(suite_pid locker)" = "$pid1"

# another uid cannot subscribe to our events nor ask, even where someone
# loosened the modes of the run directory and the sockets (before: the
# PUB socket served anyone who could reach it)
chmod 711 "$T" "$BC_RUNDIR"
chmod 666 "$BC_RUNDIR/locker.pub" "$BC_RUNDIR/locker.rep"
# the programs where nobody can run them (the checkout may be in a
# directory only root can enter), and a place nobody can write its output
mkdir -m 0755 "$T/nobody"
cp "$BUILD/tests/sub" "$BIN/balena-compose" "$T/nobody/"
chmod 0755 "$T/nobody/sub" "$T/nobody/balena-compose"
touch "$T/nobody.events"
chown nobody "$T/nobody.events"
SUBBIN=$(cd "$BUILD/tests" && pwd)/sub
"$SUBBIN" locker 5 3000 >"$T/root.events" 2>&1 &
p1=$!
runuser -u nobody -- sh -c "exec '$T/nobody/sub' locker 5 3000 >'$T/nobody.events' 2>&1" &
p2=$!
sleep 0.5
lease=$("$BIN/balena-compose" lock take --app 990999 web | awk '{print $2}')
"$BIN/balena-compose" lock release "$lease" >/dev/null
wait $p1 $p2
check "our own uid's subscriber gets the locker's events" grep -q "LOCK_EVENT 990999 web" "$T/root.events"
check "another uid's subscriber ran, and reached the socket ($(tr '\n' ' ' <"$T/nobody.events"))" \
	grep -qx subscribed "$T/nobody.events"
check "but gets none of the events" bash -c "! grep -q LOCK_EVENT '$T/nobody.events'"
out=$(runuser -u nobody -- timeout 10 "$T/nobody/balena-compose" ping locker 2>&1)
check "another uid's request gets no answer, as if no locker ran ($out)" \
	bash -c "echo '$out' | grep -q '^locker .*DOWN' && ! echo '$out' | grep -q ' UP '"
chmod 700 "$BC_RUNDIR"
chmod 600 "$BC_RUNDIR/locker.pub" "$BC_RUNDIR/locker.rep"

# usage and refusals, outside s6
"$BIN/bc-locker" -x 2>/dev/null
check "bad option -> exit 100" test $? -eq 100
mkdir -m 0755 "$T/looserun"
msg=$(BC_RUNDIR=$T/looserun "$BIN/bc-locker" 2>&1)
rc=$?
check "loose run directory -> exit 100 naming BC_RUNDIR, a setting to fix ($msg)" \
	expect $rc 100 "$msg" "BC_RUNDIR=" "mode 0700"

# A local unprivileged user cannot redirect the lock root or the state
# directory: in a sticky world-writable place (as /tmp), 'nobody' makes the
# lock root's parent a symlink to a root-only directory before we start.
# The daemons refuse (exit 100, naming the setting and the symlink) and
# write nothing where it leads; before the fix the locker made its
# directories there and the reconciler its lock dirs.
chmod 711 "$T"
mkdir -m 1777 "$T/pub" && mkdir -m 0700 "$T/rootonly"
runuser -u nobody -- ln -s "$T/rootonly" "$T/pub/balena-supervisor"
mkdir -m 0700 "$T/run2"
for d in locker reconciler; do
	msg=$(BC_RUNDIR=$T/run2 BC_LOCKDIR=$T/pub/balena-supervisor/services timeout 10 "$BIN/bc-$d" 2>&1)
	rc=$?
	check "$d: lock root through another user's symlink -> exit 100 ($msg)" \
		bash -c "[ $rc -eq 100 ] && [[ '$msg' == *BC_LOCKDIR=*'symlink of uid 65534'* ]]"
done
# the run directory too: nobody's symlink to a root-only directory (two
# loggers were both "ready" through two such links, their sockets and
# flocks where the user chose)
runuser -u nobody -- ln -s "$T/rootonly" "$T/pub/rd"
msg=$(BC_RUNDIR=$T/pub/rd timeout 10 "$BIN/bc-logger" 2>&1)
rc=$?
check "a run directory through another user's symlink -> exit 100 ($msg)" \
	expect $rc 100 "$msg" "BC_RUNDIR=" "symlink of uid 65534"
check "nothing was made where the symlinks led" test -z "$(ls -A "$T/rootonly")"
# the log spool: nobody's files, open to all, where the spool would be (the
# root logger wrote the device's records into them, readable and
# rewritable before they went to the cloud)
runuser -u nobody -- sh -c "touch '$T/pub/bcspool.0' '$T/pub/bcspool.1' && chmod 666 '$T/pub/bcspool.0' '$T/pub/bcspool.1'"
msg=$(BC_RUNDIR=$T/run2 BC_LOG_SPOOL=$T/pub/bcspool timeout 10 "$BIN/bc-logger" 2>&1)
rc=$?
check "a spool where others can write -> exit 100 naming BC_LOG_SPOOL ($msg)" \
	expect $rc 100 "$msg" "BC_LOG_SPOOL=" "writable"
check "and nobody's files got nothing" test ! -s "$T/pub/bcspool.0" -a ! -s "$T/pub/bcspool.1"
runuser -u nobody -- mkdir "$T/pub/state"
msg=$(BC_RUNDIR=$T/run2 BC_STATEDIR=$T/pub/state/x timeout 10 "$BIN/bc-fetcher" 2>&1)
rc=$?
check "a state directory in another user's directory -> exit 100 ($msg)" \
	bash -c "[ $rc -eq 100 ] && [[ '$msg' == *BC_STATEDIR=*'owned by uid 65534'* ]]"
check "and nothing made in it" test ! -e "$T/pub/state/x"
# The daemons that hold the device's key (gateway, logger, fetcher) are
# not dumpable (PR_SET_DUMPABLE 0): no core file, and their /proc files are
# root's even when they run as another user, whose other processes then
# cannot read their memory or environment or ptrace them. Run as nobody
# here (run as root, the owner is root either way); the locker, which
# holds no key, is the control: its files stay nobody's.
cp "$BIN/bc-gateway" "$BIN/bc-logger" "$BIN/bc-fetcher" "$BIN/bc-locker" "$T/nobody/"
runuser -u nobody -- mkdir -m 0700 "$T/pub/nrun" "$T/pub/nstate"
dumpable_owner() { # DAEMON: the owner of its /proc/PID/environ once it is ready
	local p owner=""
	setpriv --reuid=nobody --regid=nogroup --clear-groups env BC_RUNDIR="$T/pub/nrun" \
		BC_STATEDIR="$T/pub/nstate" BC_LOCKDIR="$T/pub/nlocks" BC_CONFIG="$T/none.json" \
		"$T/nobody/bc-$1" >"$T/dump-$1.out" 2>&1 &
	p=$!
	for _ in $(seq 50); do grep -q "ready (pid" "$T/dump-$1.out" && break; sleep 0.1; done
	grep -q "ready (pid" "$T/dump-$1.out" && owner=$(stat -c %U "/proc/$p/environ" 2>/dev/null)
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	echo "${owner:-none: $(head -c 200 "$T/dump-$1.out")}"
}
for d in gateway logger fetcher; do
	owner=$(dumpable_owner $d)
	check "$d, run as nobody, is not dumpable: its /proc files are root's ($owner)" test "$owner" = root
done
owner=$(dumpable_owner locker)
check "the locker (no key), run as nobody: its /proc files are nobody's ($owner)" test "$owner" = nobody

"$BIN/balena-compose" ping nosuchdaemon 2>/dev/null
check "ping of an unknown daemon name -> exit 100" test $? -eq 100
"$BIN/balena-compose" frobnicate 2>/dev/null
check "unknown command -> exit 100" test $? -eq 100

finish
