#!/bin/bash
# The compose corpus (issue #23): real compose files in the shapes people
# write (tests/fixtures/compose/), each accepted or refused by
# `balena-compose config -f` as its header says ("# expect: ok", or
# "# expect: error TEXT", TEXT in the error), each "# check: EXPR" true of
# the services of the target it becomes (python, `services` the release's
# services), and where NAME.out is, the whole output equal to it; and where Debian's docker-compose is installed, its verdict
# ("# compose-v1: ok|error", and why where it differs) too. No daemon, no engine. Prints "N passed,
# N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-corpus.XXXXXX)
trap 'rm -rf "$T"' EXIT
have_v1=
command -v docker-compose >/dev/null 2>&1 && have_v1=1
[ -n "$have_v1" ] || skip "Debian's docker-compose's verdicts" "docker-compose is not installed here"
# verdict NAME WANT RC OUT: config's exit RC (its stderr in $T/err, its
# output OUT) is what WANT says ("ok", or "error TEXT"); each check in
# $T/checks holds of the services of the target OUT
verdict() {
	local name=$1 want=$2 rc=$3 out=$4 err expr
	err=$(cat "$T/err")
	if [ "$want" != ok ]; then
		check "$name: refused, exit 1, saying '${want#error }' ($err)" \
			expect "$rc" 1 "$err" "${want#error }"
		return
	fi
	check "$name: accepted ($(head -c 160 "$T/err"))" test "$rc" -eq 0
	while IFS= read -r expr; do
		check "$name: $expr" python3 -c 'import json, sys
doc = json.loads(sys.argv[1])
dev = list(doc.values())[0]
app = list(dev["apps"].values())[0]
services = list(app["releases"].values())[0]["services"]
assert eval(sys.argv[2]), sys.argv[2]' "$out" "$expr"
	done <"$T/checks"
}

for f in "$here"/../fixtures/compose/*.yml; do
	name=$(basename "$f")
	want=$(sed -n 's/^# expect: //p' "$f" | head -1)
	v1=$(sed -n 's/^# compose-v1: \([a-z]*\).*/\1/p' "$f" | head -1)
	# a copy of its own, with the directories it names ("# dirs: a b":
	# build contexts)
	cp "$f" "$T/$name"
	for d in $(sed -n 's/^# dirs: //p' "$f"); do mkdir -p "$T/$d"; done
	# and the files it reads ("# with: a.yml sub/b.env": include, extends,
	# secrets), from tests/fixtures/compose/parts/
	for w in $(sed -n 's/^# with: //p' "$f"); do
		mkdir -p "$(dirname "$T/$w")"
		cp "$here/../fixtures/compose/parts/$w" "$T/$w"
	done
	out=$(cd "$T" && env -u DB_PASSWORD -u API_TOKEN "$BIN/balena-compose" config -f "$name" -p corpus 2>"$T/err")
	rc=$?
	sed -n 's/^# check: //p' "$f" >"$T/checks"
	verdict "$name" "$want" "$rc" "$out"
	# and where there is NAME.out, the whole of what config prints (the
	# scratch directory written <dir>)
	if [ -f "$f.out" ]; then
		printf '%s\n' "$out" | sed "s|$T|<dir>|g" >"$T/got"
		check "$name: config prints $(basename "$f").out" diff -u "$f.out" "$T/got"
	fi
	if [ -n "$have_v1" ] && [ -n "$v1" ]; then
		(cd "$T" && env -u DB_PASSWORD -u API_TOKEN docker-compose -f "$name" config -q >/dev/null 2>&1)
		v1rc=$?
		got=ok
		[ "$v1rc" -ne 0 ] && got=error
		check "$name: Debian's docker-compose $(docker-compose version --short 2>/dev/null) says $v1 too ($got)" \
			test "$got" = "$v1"
	fi
done

# v3 targets with the supervisor's keys in both spellings (and what it
# drops): the expectations in NAME.json.expect ("ok" or "error TEXT", then
# "check: EXPR" lines); config -t checks each offline
for f in "$here"/../fixtures/compose/*.json; do
	name=$(basename "$f")
	want=$(head -1 "$f.expect")
	out=$("$BIN/balena-compose" config -t "$f" 2>"$T/err")
	rc=$?
	sed -n 's/^check: //p' "$f.expect" >"$T/checks"
	verdict "$name" "$want" "$rc" "$out"
done
finish
