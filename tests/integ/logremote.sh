#!/bin/bash
# The remote tail on real Docker: the logger with BC_LOG_REMOTE answers
# `logs --remote` over TLS for a client whose certificate it lets in, and
# refuses one signed by another CA, or none; -f follows through a kill -9 of
# the logger; bad settings stop the logger naming the setting. Prints
# "N passed, N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-logremote.XXXXXX)
APP=$((994000 + $$ % 900))
PORT=$((42000 + $$ % 2000))
export BC_STATEDIR=$T/state BC_LOCKDIR=$T/locks BC_SCOPE_APPS=$APP BC_CONFIG=$T/none.json
bc() { "$BIN/balena-compose" "$@"; }
follow_pid=
cleanup() {
	[ -z "$follow_pid" ] || kill "$follow_pid" 2>/dev/null
	bc down -v -p "lr$APP" --timeout 30 >/dev/null 2>&1
	suite_stop
	docker rm -f $(docker ps -aq --filter "label=io.balena.app-id=$APP") >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

# a CA for the logger and the client let in; another CA for a stranger
pki() { # NAME CN [CA]: NAME.pem (certificate then key), signed by CA (self if none)
	local sign=()
	[ -n "${3:-}" ] && sign=(-CA "$T/$3.crt" -CAkey "$T/$3.key" -CAcreateserial)
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$T/$1.key" -subj "/CN=$2" -out "$T/$1.csr" 2>/dev/null || return 1
	if [ -n "${3:-}" ]; then
		openssl x509 -req -in "$T/$1.csr" -days 2 "${sign[@]}" -out "$T/$1.crt" 2>/dev/null
	else
		printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n' >"$T/$1.ext"
		openssl x509 -req -in "$T/$1.csr" -days 2 -signkey "$T/$1.key" \
			-extfile "$T/$1.ext" -out "$T/$1.crt" 2>/dev/null
	fi || return 1
	cat "$T/$1.crt" "$T/$1.key" >"$T/$1.pem"
}
pki ca "bctest CA" && pki other "bctest other CA" && pki logger 127.0.0.1 ca &&
	pki client "bctest client" ca && pki stranger "bctest stranger" other ||
	abort "could not make test certificates"

cat >"$T/target.json" <<EOT
{"bctestdev": {"name": "dev", "apps": {"bctest$APP": {"id": $APP, "name": "lr$APP",
 "releases": {"r1": {"id": 1, "services": {
  "talk": {"id": 21, "image_id": 1, "image": "$BCTEST_IMAGE", "labels": {"io.balena-compose.test": "1"},
   "composition": {"command": ["sh", "-c", "i=1; while [ \$i -le 20 ]; do echo line \$i; i=\$((i+1)); done; trap exit TERM; while [ ! -e /tmp/more ]; do sleep 0.2; done; echo more 1; echo more 2; while :; do if [ -e /tmp/flood ]; then echo during the flood; rm -f /tmp/flood; fi; sleep 0.2; done"]}}},
 "networks": {"default": {"labels": {"io.balena-compose.test": "1"}}}}}}}}}
EOT

# bad settings: the logger refuses to start, naming what is wrong (exit 100)
refused() { # EXPECTED-TEXT VAR=VALUE...: bc-logger exits 100 saying EXPECTED-TEXT
	local want=$1 out rc
	shift
	out=$(env BC_RUNDIR="$T/badrun" "$@" "$BIN/bc-logger" 2>&1)
	rc=$?
	[ "$rc" -eq 100 ] && echo "$out" | grep -qF -- "$want"
}
mkdir -p "$T/badrun" && chmod 700 "$T/badrun"
check "BC_LOG_REMOTE without a port: refused, named" \
	refused "BC_LOG_REMOTE='tls+tcp://127.0.0.1'" BC_LOG_REMOTE=tls+tcp://127.0.0.1 \
	BC_LOG_REMOTE_CERT="$T/logger.pem" BC_LOG_REMOTE_CLIENTS="$T/ca.crt"
check "BC_LOG_REMOTE without its certificates: refused, named" \
	refused "BC_LOG_REMOTE_CERT" BC_LOG_REMOTE=tls+tcp://127.0.0.1:$PORT
check "BC_LOG_REMOTE_CERT that holds no key: refused, named" \
	refused "BC_LOG_REMOTE_CERT='$T/ca.crt'" BC_LOG_REMOTE=tls+tcp://127.0.0.1:$PORT \
	BC_LOG_REMOTE_CERT="$T/ca.crt" BC_LOG_REMOTE_CLIENTS="$T/ca.crt"
check "BC_LOG_BUFFER out of range: refused, named" refused "BC_LOG_BUFFER='1K'" BC_LOG_BUFFER=1K

# as the review that found the flood ran it: 1024 descriptors (soft: the
# flood below raises its own)
ulimit -Sn 1024
export BC_LOG_REMOTE=tls+tcp://127.0.0.1:$PORT BC_LOG_REMOTE_CERT=$T/logger.pem \
	BC_LOG_REMOTE_CLIENTS=$T/ca.crt
suite_start "$BUILD" "$T" || abort "the suite did not start"
check "the logger listens for remote tails" \
	grep -q "remote tail: listening on tls+tcp://127.0.0.1:$PORT" "$BC_LOGDIR/logger/current"
bc up -t "$T/target.json" --timeout 60 >/dev/null 2>&1
check "the app runs" bash -c "[ -n \"\$(docker ps -q --filter label=io.balena.app-id=$APP)\" ]"
for _ in $(seq 50); do bc logs -p "lr$APP" 2>/dev/null | grep -q 'line 20$' && break; sleep 0.1; done

remote=(--remote "127.0.0.1:$PORT" --ca "$T/ca.crt")
bc logs "${remote[@]}" --cert "$T/client.pem" -p "$APP" >"$T/remote.out" 2>"$T/remote.err"
rc=$?
check "logs --remote with a client certificate it lets in: exit 0" test "$rc" -eq 0
check "and lines 1..20, each once, in order" \
	bash -c "grep -o 'line [0-9]*\$' '$T/remote.out' | awk '{print \$2}' | cmp -s - <(seq 20)"
check "the logger saw the client come" grep -q "remote tail: a client connected (127.0.0.1:" \
	"$BC_LOGDIR/logger/current"

before=$(grep -c "remote tail: a client connected" "$BC_LOGDIR/logger/current")
bc logs "${remote[@]}" --cert "$T/stranger.pem" >"$T/stranger.out" 2>"$T/stranger.err"
rc=$?
check "a client certificate of another CA: exit 1, the TLS handshake failed ($(head -c 160 "$T/stranger.err"))" \
	bash -c "[ $rc -eq 1 ] && grep -q 'the TLS handshake failed' '$T/stranger.err'"
check "it printed no line" test ! -s "$T/stranger.out"
check "and the logger never let it in" \
	test "$(grep -c "remote tail: a client connected" "$BC_LOGDIR/logger/current")" -eq "$before"
# no certificate at all: TLS, then the SP header of a REQ socket, as our
# client would send it (a pipe is added, and logged, only after both)
(printf '\000SP\000\000\060\000\000'; sleep 1) |
	timeout 5 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$T/ca.crt" -quiet >/dev/null 2>&1
sleep 0.3
check "a client with no certificate: the logger never let it in" \
	test "$(grep -c "remote tail: a client connected" "$BC_LOGDIR/logger/current")" -eq "$before"
bc logs --remote "127.0.0.1:$PORT" --ca "$T/other.crt" --cert "$T/client.pem" >/dev/null 2>"$T/wrongca.err"
rc=$?
check "a logger whose certificate --ca did not sign: refused by the client, exit 1, the handshake failed" \
	bash -c "[ $rc -eq 1 ] && grep -q 'the TLS handshake failed' '$T/wrongca.err'"
# the refusals above were the certificates', not a logger away: the good
# client is let in still
bc logs "${remote[@]}" --cert "$T/client.pem" >"$T/again.out" 2>&1
rc=$?
check "and meanwhile the good client was let in as ever (exit $rc)" \
	bash -c "[ $rc -eq 0 ] && [ \"\$(grep -c 'remote tail: a client connected' '$BC_LOGDIR/logger/current')\" -gt $before ]"
# The remote tail answers LOG_QUERY and nothing else (a PING, as our own
# client never sends, gets an error); and a client that asks and never
# reads its answers blocks no one: the logger's loop goes on for others
raw() { python3 "$here/../harness/rawtls.py" 127.0.0.1 "$PORT" "$T/ca.crt" "$T/client.pem" "$@"; }
out=$(raw ping 2>&1)
check "a PING over the remote tail: an error, LOG_QUERY only ($out)" \
	expect 0 0 "$out" "REPLY the remote tail answers LOG_QUERY only"
raw hog 2000 20 >"$T/hog.out" 2>&1 &
hog=$!
for _ in $(seq 100); do grep -q '^sent' "$T/hog.out" && break; sleep 0.1; done
t0=$(date +%s%N)
bc logs "${remote[@]}" --cert "$T/client.pem" -p "$APP" >"$T/beside.out" 2>&1
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "a client that sent 2000 queries and reads nothing ($(cat "$T/hog.out")): another is answered in ${ms} ms (exit $rc)" \
	bash -c "grep -q '^sent 2000' '$T/hog.out' && [ $rc -eq 0 ] && [ $ms -lt 3000 ] && grep -q 'line 20\$' '$T/beside.out'"
check "and the local tail too" bash -c "'$BIN/balena-compose' ping logger | grep -q ' UP '"
kill "$hog" 2>/dev/null
wait "$hog" 2>/dev/null

# says RC TEXT CMD...: CMD exits RC and its stderr holds TEXT
says() {
	local want=$1 text=$2 out rc
	shift 2
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -eq "$want" ] && [[ "$out" == *"$text"* ]]
}
check "-p with a name and --remote: exit 100, saying an id is needed" \
	says 100 "an app id" bc logs "${remote[@]}" --cert "$T/client.pem" -p "lr$APP"

check "--remote with a port out of range: exit 100, saying so" \
	says 100 "a port is 1..65535" bc logs --remote 127.0.0.1:70000 --cert "$T/client.pem" --ca "$T/ca.crt"
check "--cert that is not there: exit 100, naming it" \
	says 100 "--cert '$T/nothere.pem': No such file" bc logs "${remote[@]}" --cert "$T/nothere.pem"

# follow, through a kill -9 of the logger
"$BIN/balena-compose" logs -f "${remote[@]}" --cert "$T/client.pem" -p "$APP" >"$T/follow.out" 2>"$T/follow.err" &
follow_pid=$!
for _ in $(seq 50); do grep -q 'line 20$' "$T/follow.out" && break; sleep 0.1; done
before=$(suite_pid logger)
kill9 "$before"
for _ in $(seq 100); do [ "$(suite_pid logger)" != "$before" ] && [ "$(suite_pid logger)" != -1 ] && break; sleep 0.1; done
docker exec "$(docker ps -q --filter label=io.balena.app-id=$APP | head -1)" touch /tmp/more
for _ in $(seq 100); do grep -q 'more 2$' "$T/follow.out" && break; sleep 0.1; done
check "logs -f --remote: the lines after a kill -9 of the logger come" grep -q 'more 2$' "$T/follow.out"
check "and no line twice" bash -c "[ -z \"\$(grep -o '\\(line\\|more\\) [0-9]*\$' '$T/follow.out' | sort | uniq -d)\" ]"
check "no error from logs -f --remote" test ! -s "$T/follow.err"
kill "$follow_pid"
wait "$follow_pid" 2>/dev/null
follow_pid=

# A flood of strangers: 1,100 TCP connections that never start TLS, each
# one nng drops after 10 s made again. They cost the remote tail's own
# process (at most 64 descriptors), never the logger: lines are still read,
# local logs answers, its descriptors and memory stay as they were.
lpid=$(suite_pid logger)
rpid=$(pgrep -P "$lpid" -f -- --remote-tail)
check "the remote tail runs as the logger's child (pid ${rpid:-none})" test -n "$rpid"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
rss0=$(rss "$lpid")
fds0=$(ls "/proc/$lpid/fd" | wc -l)
python3 "$here/../harness/flood.py" "$PORT" 1100 "$T/flood.n" 2>"$T/flood.err" &
flood=$!
for _ in $(seq 50); do [ -s "$T/flood.n" ] && break; sleep 0.1; done
check "1,100 connections begun ($(cat "$T/flood.err"))" test -s "$T/flood.n"
sleep 3
docker exec "$(docker ps -q --filter label=io.balena.app-id=$APP | head -1)" touch /tmp/flood
got=1
for _ in $(seq 50); do
	bc logs -p "lr$APP" 2>/dev/null | grep -q 'during the flood$' && { got=0; break; }
	sleep 0.1
done
fds1=$(ls "/proc/$lpid/fd" | wc -l)
rss1=$(rss "$lpid")
rfds=$(ls "/proc/$rpid/fd" 2>/dev/null | wc -l)
check "during the flood: a container's new line is read, local logs shows it" test "$got" -eq 0
check "the logger's descriptors stay as they were ($fds0, then $fds1)" test "$fds1" -le $((fds0 + 8))
check "its memory too (${rss0} KiB, then ${rss1} KiB)" test "$rss1" -le $((rss0 + 4096))
check "the remote tail's process holds at most 64 descriptors ($rfds)" \
	bash -c "[ '$rfds' -gt 0 ] && [ '$rfds' -le 64 ]"
check "the logger never ran out of descriptors" \
	bash -c "! grep -q 'Too many open files' '$BC_LOGDIR/logger/current'"
kill "$flood"
wait "$flood" 2>/dev/null
# remote_answers PAUSE: a good client gets the lines (30 tries, PAUSE apart)
remote_answers() {
	for _ in $(seq 30); do
		timeout 5 "$BIN/balena-compose" logs "${remote[@]}" --cert "$T/client.pem" -p "$APP" 2>/dev/null |
			grep -q 'during the flood$' && return 0
		sleep "$1"
	done
	return 1
}
check "once the flood ends, a client is let in again" remote_answers 0.5

# the child killed: the logger says so and starts another at once
kill9 "$rpid"
for _ in $(seq 50); do
	rpid2=$(pgrep -P "$lpid" -f -- --remote-tail)
	[ -n "$rpid2" ] && [ "$rpid2" != "$rpid" ] && break
	sleep 0.1
done
check "kill -9 of the remote tail's process: the logger starts another (${rpid2:-none})" \
	bash -c "[ -n '$rpid2' ] && [ '$rpid2' != '$rpid' ] && grep -q 'remote tail: its process ended (killed by signal 9)' '$BC_LOGDIR/logger/current'"
check "and it answers" remote_answers 0.2
check "the logger itself ran on (pid $lpid)" test "$(suite_pid logger)" = "$lpid"

finish
