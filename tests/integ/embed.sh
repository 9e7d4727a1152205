#!/bin/bash
# The Composer API as an embedder meets it: examples/composer.c built with
# `pkg-config --cflags --libs balena-compose` (the build tree's .pc, then
# the one make install writes), against the shared library (its soname,
# only the API exported), run on real Docker under the suite; in cloud mode
# its update is refused, saying why. Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
ABUILD=$(cd "$BUILD" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-embed.XXXXXX)
APP=$((998000 + $$ % 900))
cleanup() {
	suite_stop
	docker rm -f $(docker ps -aq --filter "label=io.balena.app-id=$APP") >/dev/null 2>&1
	docker network rm $(docker network ls -q --filter "label=io.balena.app-id=$APP") >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
cd "$top" || exit 1

# the build tree's pkg-config file, with the README's commands as written
# (from the top of the tree; what they make goes with the test)
rm -f composer
out=$(bash -c 'export PKG_CONFIG_PATH=build/pkgconfig
cc -o composer examples/composer.c $(pkg-config --cflags --libs balena-compose)' 2>&1)
rc=$?
check "the README's cc examples/composer.c \$(pkg-config --cflags --libs balena-compose): exit 0 ($out)" \
	test $rc -eq 0 -a -x composer
mv composer "$T/composer" 2>/dev/null
export PKG_CONFIG_PATH=$ABUILD/pkgconfig
flags=$(pkg-config --cflags --libs balena-compose 2>&1)
check "pkg-config knows balena-compose ($flags)" expect $? 0 "$flags" "-lbalena-compose"
soname=$(readelf -d "$ABUILD/libbalena-compose.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
check "the shared library has a versioned soname ($soname)" test "$soname" = libbalena-compose.so.0
exported=$(nm -D --defined-only "$ABUILD/libbalena-compose.so" | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort | tr '\n' ' ')
check "it exports the Composer API and nothing else ($exported)" \
	test "$exported" = "bc_composer_free bc_composer_new bc_composer_state bc_composer_update "
check "the program links it by soname" bash -c "readelf -d '$T/composer' | grep -q 'NEEDED.*\[libbalena-compose.so.0\]'"

# the program, run: one app, two releases (numbered), then removed
export BC_STATEDIR=$T/state BC_LOCKDIR=$T/locks BC_SCOPE_APPS=$APP BC_CONFIG=$T/none.json
suite_start "$BUILD" "$T" || abort "the suite did not start"
out=$(LD_LIBRARY_PATH=build "$T/composer" "$APP" "$BCTEST_IMAGE" 2>&1)
rc=$?
echo "$out" | sed 's/^/  /' | cut -c1-160
check "the program built so: exit 0, release1 ran, release2 (numbered 2), removed" \
	expect $rc 0 "$out" 'release1: {"id":'"$APP" '"release":1,' '"release":2,' \
	'removed: {"status":"Idle","services":{},"networks":{},"volumes":{}}'
check "nothing of its app is left" test -z "$(docker ps -aq --filter "label=io.balena.app-id=$APP")"

# in cloud mode the cloud's target rules: update is refused, saying so
suite_stop keep
printf '{"uuid": "e1bed", "deviceApiKey": "k", "apiEndpoint": "https://127.0.0.1:5583"}' >"$T/cloud.json"
export BC_CONFIG=$T/cloud.json
suite_start "$BUILD" "$T" || abort "the suite did not start in cloud mode"
out=$(LD_LIBRARY_PATH=$ABUILD "$T/composer" "$APP" "$BCTEST_IMAGE" 2>&1)
rc=$?
check "cloud mode: the Composer's update is refused, exit 1, naming why ($out)" \
	expect $rc 1 "$out" "follows the cloud"
check "and nothing ran" test -z "$(docker ps -aq --filter "label=io.balena.app-id=$APP")"

# make install: the library, its links, the header and a .pc for PREFIX
out=$(make install DESTDIR="$T/root" PREFIX=/usr/local 2>&1)
rc=$?
check "make install DESTDIR=... PREFIX=/usr/local: exit 0" test $rc -eq 0
check "it installs the library by its soname, the archive and the .pc" \
	bash -c "[ -L '$T/root/usr/local/lib/libbalena-compose.so.0' ] && [ -f '$T/root/usr/local/lib/libbalena-compose.a' ] && grep -q '^libdir=/usr/local/lib$' '$T/root/usr/local/lib/pkgconfig/balena-compose.pc'"
out=$(PKG_CONFIG_PATH=$T/root/usr/local/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$T/root \
	bash -c 'cc -o "$0/composer2" examples/composer.c $(pkg-config --cflags --libs balena-compose)' "$T" 2>&1)
rc=$?
check "and the program builds against what it installed ($out)" test $rc -eq 0
finish
