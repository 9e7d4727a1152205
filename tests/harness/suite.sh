# Run the five daemons under a real s6-svscan, from a copy of the scan
# directory generated out of s6-rc.d/. Source it; then
#   suite_start BUILD_DIR WORK_DIR   (sets BC_RUNDIR, BC_LOGDIR, SUITE_SCAN)
#   suite_stop [keep]                (keep: the lock root's mount, for a restart)
# suite_start returns once every daemon is up and ready (s6-svwait -U).

SUITE_DAEMONS="gateway reconciler fetcher locker logger"
SUITE_SVSCAN=

suite_start() {
	local build=$1 work=$2 d
	export BC_RUNDIR=$work/run BC_LOGDIR=$work/log
	# never the host's own lock root and state (a suite may set its own)
	export BC_LOCKDIR=${BC_LOCKDIR:-$work/locks} BC_STATEDIR=${BC_STATEDIR:-$work/state}
	# an update is committed as soon as it runs (the trial is judged at
	# once); tests/integ/rollback.sh runs settle periods of its own
	export BC_SETTLE_PERIOD=${BC_SETTLE_PERIOD:-0}
	SUITE_SCAN=$work/scan
	# a fresh copy on every start: a restart's old supervise/ holds the
	# last run's status, which s6-svwait would take as this run's (and cp
	# into an existing directory would nest a second scan dir in it)
	rm -rf "$SUITE_SCAN"
	cp -R "$build/scandir" "$SUITE_SCAN"
	setsid s6-svscan "$SUITE_SCAN" >"$work/svscan.log" 2>&1 &
	SUITE_SVSCAN=$!
	for d in $SUITE_DAEMONS; do
		suite_wait_ready "$d" || return 1
	done
}

# Wait until s6 reports the daemon up and ready (or 10 s pass).
suite_wait_ready() {
	local i
	# s6-svscan may not have spawned the service's s6-supervise yet
	for i in $(seq 50); do
		# the control fifo comes before the status file: wait for both
		[ -p "$SUITE_SCAN/$1/supervise/control" ] && [ -f "$SUITE_SCAN/$1/supervise/status" ] &&
			break
		sleep 0.1
	done
	timeout 10 s6-svwait -U "$SUITE_SCAN/$1" || {
		echo "suite: $1 not ready" >&2
		return 1
	}
}

suite_pid() { s6-svstat -p "$SUITE_SCAN/$1"; }

# suite_restarted NAME OLD_PID: has s6 started daemon NAME again, a live
# process other than OLD_PID, up and ready? Waits up to 10 s. (A pid of -1
# is s6's "down": never taken for a restart.)
suite_restarted() {
	local p
	for _ in $(seq 100); do
		p=$(suite_pid "$1")
		if [[ $p =~ ^[0-9]+$ ]] && [ "$p" -gt 1 ] && [ "$p" != "$2" ] && kill -0 "$p" 2>/dev/null &&
			[ "$(s6-svstat -o up,ready "$SUITE_SCAN/$1")" = "true true" ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# Wait until no s6-supervise runs on any service of the scan dir (10 s).
suite_supervised_wait() {
	local d any
	for _ in $(seq 100); do
		any=
		for d in "$SUITE_SCAN"/*/ "$SUITE_SCAN"/*/log/; do
			[ -d "$d" ] && s6-svok "$d" 2>/dev/null && any=$d
		done
		[ -z "$any" ] && return 0
		sleep 0.1
	done
	echo "suite: a supervisor still runs on $any" >&2
	return 1
}

suite_stop() {
	[ -n "$SUITE_SVSCAN" ] || return 0
	s6-svscanctl -t "$SUITE_SCAN" 2>/dev/null
	wait "$SUITE_SVSCAN" 2>/dev/null
	SUITE_SVSCAN=
	# s6-svscan waits for the loggers, not for the daemons' supervisors: one
	# may still be reaping its daemon. A start now would find it holding its
	# service (the new supervisor exits, the daemon never comes) and its
	# status still "up": wait until each is gone (at most 10 s)
	suite_supervised_wait
	# the daemons mount a small tmpfs on the lock root where they may;
	# 'suite_stop keep' (a restart) leaves it. A test's lock root goes with
	# the test, its containers too (make demo-stop keeps one in use:
	# lock_root_unmount)
	[ "${1:-}" = keep ] && return 0
	if mountpoint -q "$BC_LOCKDIR" 2>/dev/null; then umount -l "$BC_LOCKDIR"; fi
}

# How many running containers bind-mount a directory under the lock root $1.
lock_root_users() {
	local ids
	ids=$(docker ps -q --filter label=io.balena.supervised 2>/dev/null)
	[ -n "$ids" ] || { echo 0; return; }
	# shellcheck disable=SC2086
	docker inspect -f '{{range .Mounts}} {{.Source}}{{end}}' $ids 2>/dev/null |
		grep -c " ${1%/}/"
}

# Unmount the lock root $1 (the daemons' tmpfs), unless running containers
# still use it: unmounted under them, they would keep the old one, and an
# app's update lock would be one the next run of the agent cannot see.
lock_root_unmount() {
	local n
	mountpoint -q "$1" 2>/dev/null || return 0
	n=$(lock_root_users "$1")
	if [ "$n" -gt 0 ]; then
		echo "the lock root $1 stays mounted: $n running container(s) use it" >&2
		return 0
	fi
	umount -l "$1"
}

# suite_copies DAEMON SECRET: "N SEEN": how many times SECRET is in the
# daemon's writable memory (tests/harness/memscan.py), and how many times
# its state directory's name is (the scan does see its memory); N is
# "unreadable: why" where this process may not read it.
suite_copies() {
	local pid n
	pid=$(suite_pid "$1")
	n=$(python3 "$(dirname "${BASH_SOURCE[0]}")/memscan.py" "$pid" "$2")
	case $n in
	unreadable*) echo "$n" ;;
	*) echo "$n $(python3 "$(dirname "${BASH_SOURCE[0]}")/memscan.py" "$pid" "$BC_STATEDIR")" ;;
	esac
}

# check_key_once DAEMON KEY: the check (check.sh) that KEY is in DAEMON's
# memory once, the copy it keeps (config.json's), none left behind; a skip
# where its memory cannot be read here.
check_key_once() {
	local n seen
	read -r n seen <<<"$(suite_copies "$1" "$2")"
	if [[ "$n" == unreadable* ]]; then
		skip "the key is in the $1's memory once" "its memory is $n $seen here (not dumpable, and no CAP_SYS_PTRACE)"
	else
		check "the key is in the $1's memory once, the copy it keeps ($n; the scan sees its state directory $seen times)" \
			bash -c "[ '$n' = 1 ] && [ '$seen' -ge 1 ]"
	fi
}
