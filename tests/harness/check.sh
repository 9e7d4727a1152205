# The shell suites' checks: source it, call check/expect, end with finish
# (which prints the closing "N passed, N failed" line and sets the status).
pass=0 fail=0 skipped=0
ok() { pass=$((pass + 1)); echo "ok   - $*"; }
# skip "description" "why": a check this machine cannot make (said, counted)
skip() { skipped=$((skipped + 1)); echo "skip - $1: $2"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
# check "description" command...: the command's success is the check
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
# expect RC WANT_RC MSG PATTERN...: the exit code, and every pattern in MSG
expect() {
	local rc=$1 want=$2 msg=$3 pat
	shift 3
	[ "$rc" -eq "$want" ] || return 1
	for pat; do [[ "$msg" == *"$pat"* ]] || return 1; done
}
# abort WHY: a failure that ends the suite here (counted, with the summary)
abort() {
	bad "$*"
	finish
	exit 1
}
# After a failure, the tail of each daemon's log (when a suite ran one):
# what CI prints is all there is to read. cat -v: a log line is text from
# apps and the cloud, on its way to a terminal.
finish_logs() {
	local f
	[ "$fail" -gt 0 ] && [ -n "${BC_LOGDIR:-}" ] && [ -d "$BC_LOGDIR" ] || return 0
	for f in "$BC_LOGDIR"/*/current; do
		[ -f "$f" ] || continue
		echo "-- the last lines of $f:"
		tail -n 25 "$f" | cut -c1-400 | cat -v
	done
}
finish() {
	finish_logs
	if [ "$skipped" -gt 0 ]; then
		echo "$pass passed, $fail failed, $skipped skipped"
	else
		echo "$pass passed, $fail failed"
	fi
	[ "$fail" -eq 0 ]
}
# kill9 PID: kill -9 one process, never a group or every process (a pid
# read from s6-svstat is -1 while the daemon is down: kill -9 -1 would
# kill everything we may signal)
kill9() {
	[[ ${1:-} =~ ^[0-9]+$ ]] && [ "$1" -gt 1 ] || { echo "kill9: not a pid: '${1:-}'" >&2; return 1; }
	kill -9 "$1"
}
