#!/bin/bash
# The tables the unit tests hold us to (tests/fixtures/semver.tsv and
# contracts.json) are what node's semver and @balena/contrato answer: made
# again here with those packages (from the npm registry, pinned), and
# compared line by line. Prints "N passed, N failed[, N skipped]".
# usage: tests/contracts/check.sh [BUILD_DIR]
set -u
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-build}
dir=$(mkdir -p "$BUILD/oracle" && cd "$BUILD/oracle" && pwd)
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
# the versions the tables were made with: @balena/contrato as the
# supervisor pins it (^0.13.0), and the semver it resolves to
CONTRATO=@balena/contrato@0.13.0
SEMVER=semver@7.8.6
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
	skip "the semver table is node's semver's" "node and npm are not installed"
	skip "the contract table is contrato's" "node and npm are not installed"
	finish
	exit $?
fi
if [ ! -f "$dir/node_modules/@balena/contrato/package.json" ] ||
	[ "$(node -p 'require(process.argv[1]).version' "$dir/node_modules/semver/package.json" 2>/dev/null)" != "${SEMVER#semver@}" ]; then
	(cd "$dir" && npm install --no-save --no-audit --no-fund --loglevel=error "$CONTRATO" "$SEMVER") >"$dir/npm.log" 2>&1 ||
		{ tail -5 "$dir/npm.log"; abort "npm install $CONTRATO $SEMVER failed"; }
fi
export NODE_PATH=$dir/node_modules
node "$here/semver-table.js" >"$dir/semver.tsv" 2>"$dir/semver.err"
check "the semver table is node's semver's (tests/fixtures/semver.tsv, $(wc -l <"$dir/semver.tsv") lines)" \
	cmp -s "$dir/semver.tsv" "$here/../fixtures/semver.tsv"
node "$here/contracts-table.js" >"$dir/contracts.json" 2>"$dir/contracts.err"
check "the contract table is contrato's (tests/fixtures/contracts.json)" \
	cmp -s "$dir/contracts.json" "$here/../fixtures/contracts.json"
finish
