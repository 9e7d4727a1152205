#!/bin/sh
# Run each libFuzzer target for SECONDS. New inputs go to a scratch corpus
# under build/ (the checked-in seeds in tests/fuzz/corpus/ stay as they are).
# Fails on the first crash, printing the fuzzer's report.
# usage: tools/fuzz.sh SECONDS FUZZER...
set -u
secs=$1
shift
rc=0
for f in "$@"; do
	name=$(basename "$f")
	work="build/fuzz/corpus/$name"
	mkdir -p "$work"
	log="build/fuzz/$name.log"
	if "$f" -max_total_time="$secs" -max_len=65536 -artifact_prefix="build/fuzz/$name-" \
		"$work" "tests/fuzz/corpus/$name" >"$log" 2>&1; then
		echo "fuzz $name: ${secs}s, $(grep -o 'Done [0-9]* runs' "$log" | tail -n 1), no crash"
	else
		echo "fuzz $name: FAILED" >&2
		tail -n 40 "$log" >&2
		rc=1
	fi
done
exit $rc
