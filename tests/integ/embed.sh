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

# a release that crash loops, through the API (python's ctypes on the
# shared library): update() returns -1 saying it was rolled back, state()
# says "Rolled back" and release 1 runs again
cat >"$T/rb.py" <<'EOT'
import ctypes, json, sys
lib = ctypes.CDLL(sys.argv[1])
lib.bc_composer_new.restype = ctypes.c_void_p
lib.bc_composer_new.argtypes = [ctypes.c_int64, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
lib.bc_composer_update.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                   ctypes.c_char_p, ctypes.c_size_t]
lib.bc_composer_state.restype = ctypes.c_void_p
lib.bc_composer_state.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
lib.bc_composer_free.argtypes = [ctypes.c_void_p]
libc = ctypes.CDLL(None)
libc.free.argtypes = [ctypes.c_void_p]
err = ctypes.create_string_buffer(1024)
c = lib.bc_composer_new(int(sys.argv[2]), None, err, 1024)
def release(cmd):
    return json.dumps({"name": "rb", "services": {"main": {
        "image": sys.argv[3], "command": ["sh", "-c", cmd],
        "labels": {"io.balena-compose.test": "1", "io.balena-compose.update.settle-period": "2s"}}},
        "networks": {"default": {"labels": {"io.balena-compose.test": "1"}}}}).encode()
rc1 = lib.bc_composer_update(c, b"one", release("trap exit TERM; while :; do sleep 1; done"), err, 1024)
print("update one:", rc1, err.value.decode() if rc1 else "")
rc2 = lib.bc_composer_update(c, b"two", release("exit 3"), err, 1024)
print("update two:", rc2, err.value.decode())
p = lib.bc_composer_state(c, err, 1024)
st = json.loads(ctypes.string_at(p).decode())
libc.free(p)
print("state:", st["status"], st.get("error"), st["commit"], st.get("rolled_back"))
lib.bc_composer_update(c, b"gone", json.dumps({"name": "rb", "services": {}}).encode(), err, 1024)
lib.bc_composer_free(c)
EOT
out=$(python3 "$T/rb.py" "$ABUILD/libbalena-compose.so" "$APP" "$BCTEST_IMAGE" 2>&1)
echo "$out" | sed 's/^/  /' | cut -c1-200
check "the Composer API: update() of a crash loop returns -1, rolled back, why" \
	expect 0 0 "$out" "update one: 0" "update two: -1 " "app 'rb': rolled back: release two: service 'main' restarted" "(exit code 3); back to release one"
check "and state() says Rolled back, release one running, two the failed one" \
	expect 0 0 "$out" "state: Rolled back release two: service 'main'" " one two"
docker rm -f $(docker ps -aq --filter "label=io.balena.app-id=$APP") >/dev/null 2>&1

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
