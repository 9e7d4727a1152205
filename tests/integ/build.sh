#!/bin/bash
# build: in a compose file (issue #23), on real Docker: up -f builds a
# service's image from its context with the engine's builder (args,
# labels, .dockerignore honoured, the output shown) and runs it; up again
# does not build again; up --build does, and the container is replaced;
# build -f builds; a failing build names the service and touches nothing
# running; a build whose context is not here uses the image: given, with a
# warning; pull_policy always pulls at up, never refuses an image that is
# not here; platform makes the container for it, pulling the image for it
# when the one here is another's. Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-build.XXXXXX)
PROJ=bt$$
mkdir -p "$T/p/app"
cat >"$T/p/app/Dockerfile" <<EOT
FROM $BCTEST_IMAGE
ARG GREETING=hi
COPY . /ctx
RUN echo "\$GREETING" >/greeting
CMD ["sh", "-c", "trap exit TERM; while :; do sleep 1; done"]
EOT
echo "release one" >"$T/p/app/msg.txt"
echo "noise" >"$T/p/app/debug.log"
printf '*.log\n' >"$T/p/app/.dockerignore"
cat >"$T/p/docker-compose.yml" <<EOT
services:
  web:
    build:
      context: ./app
      args: {GREETING: howdy}
      labels: {io.balena-compose.test: "1"}
    labels: {io.balena-compose.test: "1"}
  pinned:
    image: $BCTEST_IMAGE
    build: ./not-here
    command: sh -c 'trap exit TERM; while :; do sleep 1; done'
    labels: {io.balena-compose.test: "1"}
networks:
  default: {labels: {io.balena-compose.test: "1"}}
EOT
APP=$("$BIN/balena-compose" config -f "$T/p/docker-compose.yml" -p "$PROJ" 2>/dev/null |
	grep -m1 -o '"id": [0-9]*' | grep -o '[0-9]*')
export BC_STATEDIR=$T/state BC_LOCKDIR=$T/locks BC_SCOPE_APPS=${APP:-1}
bc() { "$BIN/balena-compose" "$@"; }
cleanup() {
	bc down -v -p "$PROJ" --timeout 30 >/dev/null 2>&1
	suite_stop
	docker rm -f $(docker ps -aq --filter "label=io.balena.app-id=$APP") >/dev/null 2>&1
	docker rmi -f "$PROJ-web" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
[ -n "$APP" ] || abort "config: no app id"
suite_start "$BUILD" "$T" || abort "the suite did not start"
web() { docker ps -q --filter "label=io.balena.app-id=$APP" --filter label=io.balena.service-name=web; }

out=$(bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --timeout 60 2>&1)
rc=$?
check "up -f builds and runs ($(echo "$out" | tail -1))" test "$rc" -eq 0 -a -n "$(web)"
check "the build's output is shown" grep -q "^web | building $PROJ-web from $T/p/app" <<<"$out"
check "and its steps" grep -q "^web | Step 2/6 : ARG GREETING=hi" <<<"$out"
check "the image is named as docker compose names it ($PROJ-web)" \
	docker image inspect "$PROJ-web:latest"
w=$(web)
check "the context was sent (/ctx/msg.txt)" \
	test "$(docker exec "$w" cat /ctx/msg.txt 2>&1)" = "release one"
check "a build arg was used (/greeting)" test "$(docker exec "$w" cat /greeting 2>&1)" = howdy
check ".dockerignore was honoured (no /ctx/debug.log)" \
	bash -c "! docker exec '$w' test -e /ctx/debug.log"
check "the build's labels are the image's" \
	test "$(docker image inspect -f '{{index .Config.Labels "io.balena-compose.test"}}' "$PROJ-web")" = 1
check "and it runs" test -n "$(docker ps -q --filter "label=io.balena.app-id=$APP" --filter label=io.balena.service-name=pinned)"

out=$(bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --timeout 60 2>&1)
check "up again: no build (the image is there)" bash -c "! grep -q building <<<'$(echo "$out" | tr -d "'")'"
check "the same container" test "$(web)" = "$w"

echo "release two" >"$T/p/app/msg.txt"
out=$(bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --build --timeout 60 2>&1)
rc=$?
check "up --build: builds again, exit 0" test "$rc" -eq 0
check "the container is replaced (a new image under the same name)" test -n "$(web)" -a "$(web)" != "$w"
case $out in *"service 'pinned': build context '$T/p/not-here' is not here: the image '$BCTEST_IMAGE' is used as it is"*) warned=1 ;; *) warned=0 ;; esac
check "--build, a context not here, image: given: warned, the image used" test "$warned" = 1
check "it has the new context" test "$(docker exec "$(web)" cat /ctx/msg.txt 2>&1)" = "release two"

w=$(web)
out=$(bc build -f "$T/p/docker-compose.yml" -p "$PROJ" web 2>&1)
rc=$?
check "build -f web: exit 0, built ($(echo "$out" | tail -1))" \
	bash -c "[ $rc -eq 0 ] && grep -q '^web | built $PROJ-web' <<<'$(echo "$out" | tr -d "'")'"

# pull_policy: always pulls at up (through the fetcher, progress shown);
# never refuses an image that is not here
cat >"$T/p/policy.yml" <<EOT
services:
  fresh:
    image: $BCTEST_REMOTE_IMAGE
    pull_policy: always
    command: sh -c 'trap exit TERM; while :; do sleep 1; done'
    labels: {io.balena-compose.test: "1"}
networks:
  default: {labels: {io.balena-compose.test: "1"}}
EOT
out=$(bc up -f "$T/p/policy.yml" -p "$PROJ" --timeout 60 2>&1)
rc=$?
check "pull_policy always: up pulls it first ($(echo "$out" | grep -m1 "$BCTEST_REMOTE_IMAGE: "))" \
	bash -c "[ $rc -eq 0 ] && grep -q '^$BCTEST_REMOTE_IMAGE: done' <<<\"\$0\"" "$out"
sed -e 's/pull_policy: always/pull_policy: never/' -e "s|$BCTEST_REMOTE_IMAGE|127.0.0.1:5000/bctest/never-here:1|" \
	"$T/p/policy.yml" >"$T/p/never.yml"
out=$(bc up -f "$T/p/never.yml" -p "$PROJ" --timeout 60 2>&1)
rc=$?
check "pull_policy never, the image not here: refused, said" \
	bash -c "[ $rc -eq 1 ] && grep -q \"service 'fresh': pull_policy never, and the image '127.0.0.1:5000/bctest/never-here:1' is not here\" <<<\"\$0\"" "$out"
out=$(bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --timeout 60 2>&1)
w=$(web) # the file again (the policy's file replaced the app)
# platform: the container is made for it; an image not of it is pulled for
# it (the local registry has none for arm64: the pull says so)
cat >"$T/p/platform.yml" <<EOT
services:
  amd:
    image: $BCTEST_IMAGE
    platform: linux/amd64
    command: sh -c 'trap exit TERM; while :; do sleep 1; done'
    labels: {io.balena-compose.test: "1"}
networks:
  default: {labels: {io.balena-compose.test: "1"}}
EOT
out=$(bc up -f "$T/p/platform.yml" -p "$PROJ" --timeout 60 2>&1)
rc=$?
amd=$(docker ps -q --filter "label=io.balena.app-id=$APP" --filter label=io.balena.service-name=amd)
check "platform linux/amd64: runs ($(echo "$out" | tail -1))" test "$rc" -eq 0 -a -n "$amd"
check "made for it (its label)" \
	test "$(docker inspect -f '{{index .Config.Labels "io.balena-compose.platform"}}' "$amd")" = linux/amd64
sed -e 's|linux/amd64|linux/arm64|' -e "s|image: $BCTEST_IMAGE|image: $BCTEST_REMOTE_IMAGE|" \
	"$T/p/platform.yml" >"$T/p/arm.yml"
out=$(bc up -f "$T/p/arm.yml" -p "$PROJ" --timeout 60 2>&1)
rc=$?
check "platform linux/arm64, the registry has amd64 only: refused before the target goes ($(echo "$out" | grep -m1 "is not for"))" \
	bash -c "[ $rc -eq 1 ] && grep -q \"service 'amd': the image '$BCTEST_REMOTE_IMAGE' is not for linux/arm64 (its registry has it for linux/amd64 only)\" <<<\"\$0\"" "$out"
out=$(bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --timeout 60 2>&1)
w=$(web)
printf 'services:\n  web:\n    build: ./app\n' >"$T/p/only-build.yml"
out=$(bc pull -f "$T/p/only-build.yml" -p "$PROJ" 2>&1)
rc=$?
check "pull -f: a service built here is skipped, said; exit 0 ($out)" \
	test "$rc" -eq 0 -a "$out" = "web: skipped, its image is built here (balena-compose build -f)"
printf 'FROM %s\nRUN echo failing on purpose; exit 3\n' "$BCTEST_IMAGE" >"$T/p/app/Dockerfile"
out=$(bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --build --timeout 60 2>&1)
rc=$?
case $out in *"service 'web': build:"*"returned a non-zero code: 3"*) named=1 ;; *) named=0 ;; esac
check "a failing build: up exits 1, the service and the step's code named" \
	test "$rc" -eq 1 -a "$named" = 1
check "and what runs is untouched" test "$(web)" = "$w"
check "bad build: keys are errors naming the line" \
	bash -c "printf 'services:\n  x:\n    build: {context: ., dockerfil: D}\n' >'$T/bad.yml'; \
	  '$BIN/balena-compose' config -f '$T/bad.yml' 2>&1 | grep -q \"bad.yml:3: service 'x': key 'build.dockerfil' is not supported\""
finish
