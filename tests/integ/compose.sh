#!/bin/bash
# Compose files as docker compose reads them (issue #23), on real Docker:
# a port without a host port ("127.0.0.1::80", the long form without
# `published`) is published on a port the engine picks and answers there
# (only loopback is published); a service in a profile starts only when
# its profile is enabled (--profile, COMPOSE_PROFILES); a bind mount
# relative to the project directory works both ways; secrets and configs
# are where the specification puts them (a file source bound read-only,
# an environment or content source made as a file with its mode), and a
# new secret value replaces the container, the old one's pre_stop hook run
# first, the new one's post_start after it starts. Prints "N passed,
# N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-ports.XXXXXX)
mkdir -p "$T/p"
PROJ=pt$$
cat >"$T/p/docker-compose.yml" <<EOT
services:
  web:
    image: $BCTEST_IMAGE
    init: true
    command: sh -c 'mkdir -p /www && echo "hello on 80" >/www/index.html && httpd -p 81 -h /www && exec httpd -f -p 80 -h /www'
    ports:
      - "127.0.0.1::80"
      - {target: 81, host_ip: 127.0.0.1}
    labels: {io.balena-compose.test: "1"}
  debug:
    image: $BCTEST_IMAGE
    command: sh -c 'trap exit TERM; while :; do sleep 1; done'
    profiles: [debug]
    labels: {io.balena-compose.test: "1"}
  vault:
    image: $BCTEST_IMAGE
    command: sh -c 'trap exit TERM; while :; do sleep 1; done'
    volumes: ["./data:/data"]
    secrets: [pw, {source: tok, target: token, mode: 0400}]
    configs: [{source: motd, target: /etc/motd}]
    post_start: [{command: "sh -c 'echo started >/tmp/post'"}]
    pre_stop: [{command: "sh -c 'echo stopping >/data/pre_stop'"}]
    labels: {io.balena-compose.test: "1"}
networks:
  default: {labels: {io.balena-compose.test: "1"}}
secrets:
  pw: {file: ./pw.txt}
  tok: {environment: BC_TEST_TOKEN}
configs:
  motd: {content: "welcome to \${COMPOSE_PROJECT_NAME:-$PROJ}"}
EOT
echo "pw-from-a-file" >"$T/p/pw.txt"
export BC_TEST_TOKEN=tok-1
APP=$("$BIN/balena-compose" config -f "$T/p/docker-compose.yml" -p "$PROJ" 2>/dev/null |
	grep -m1 -o '"id": [0-9]*' | grep -o '[0-9]*')
export BC_STATEDIR=$T/state BC_LOCKDIR=$T/locks BC_SCOPE_APPS=${APP:-1}
bc() { "$BIN/balena-compose" "$@"; }
cleanup() {
	bc down -v -p "$PROJ" --timeout 30 >/dev/null 2>&1
	suite_stop
	docker rm -f $(docker ps -aq --filter "label=io.balena.app-id=$APP") >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
[ -n "$APP" ] || abort "config: no app id"
suite_start "$BUILD" "$T" || abort "the suite did not start"

out=$(bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --timeout 60 2>&1)
rc=$?
check "up exits 0 ($(echo "$out" | tail -1))" test "$rc" -eq 0
c=$(docker ps -q --filter "label=io.balena.app-id=$APP" --filter label=io.balena.service-name=web)
p80=$(docker port "$c" 80/tcp 2>/dev/null | head -1)
p81=$(docker port "$c" 81/tcp 2>/dev/null | head -1)
check "127.0.0.1::80: published on loopback, a port the engine picked ($p80)" \
	bash -c "[[ '$p80' =~ ^127\.0\.0\.1:[0-9]+$ ]] && [ '${p80##*:}' != 80 ]"
check "the long form without published: the same ($p81)" \
	bash -c "[[ '$p81' =~ ^127\.0\.0\.1:[0-9]+$ ]]"
body=
for _ in $(seq 50); do
	body=$(curl -s --max-time 2 "http://$p80/" 2>/dev/null) && [ -n "$body" ] && break
	sleep 0.1
done
check "it answers there ($body)" test "$body" = "hello on 80"
body=$(curl -s --max-time 2 "http://$p81/" 2>/dev/null)
check "and on the other ($body)" test "$body" = "hello on 80"
# an unchanged file is a no-op: the engine's own bindings (a picked port)
# are not taken for a change
out=$(bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --timeout 60 2>&1)
check "up again: a no-op, the same container" \
	test "$(docker ps -q --filter "label=io.balena.app-id=$APP" --filter label=io.balena.service-name=web)" = "$c"

# profiles: debug is not run until its profile is enabled
dbg() { docker ps -q --filter "label=io.balena.app-id=$APP" --filter label=io.balena.service-name=debug; }
check "a service in a profile not enabled: not run" test -z "$(dbg)"
out=$(bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --profile debug --timeout 60 2>&1)
rc=$?
check "up --profile debug: exit 0, debug runs ($(echo "$out" | grep debug | head -1))" \
	test "$rc" -eq 0 -a -n "$(dbg)"
check "and web is untouched" \
	test "$(docker ps -q --filter "label=io.balena.app-id=$APP" --filter label=io.balena.service-name=web)" = "$c"
out=$(bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --timeout 60 2>&1)
check "up without it again: debug goes ($(dbg))" test -z "$(dbg)"
out=$(COMPOSE_PROFILES=debug bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --timeout 60 2>&1)
check "COMPOSE_PROFILES=debug: debug runs" test -n "$(dbg)"

# bind mounts, secrets and configs
vault() { docker ps -q --filter "label=io.balena.app-id=$APP" --filter label=io.balena.service-name=vault; }
v=$(vault)
check "vault runs" test -n "$v"
check "a file secret at /run/secrets/pw" \
	test "$(docker exec "$v" cat /run/secrets/pw 2>&1)" = "pw-from-a-file"
check "read-only there" bash -c "! docker exec '$v' sh -c 'echo x >/run/secrets/pw' 2>/dev/null"
check "an environment secret at /run/secrets/token: its value" \
	test "$(docker exec "$v" cat /run/secrets/token 2>&1)" = "tok-1"
check "with its mode 0400 ($(docker exec "$v" stat -c %a /run/secrets/token 2>&1))" \
	test "$(docker exec "$v" stat -c %a /run/secrets/token 2>&1)" = 400
check "a content config at /etc/motd ($(docker exec "$v" cat /etc/motd 2>&1))" \
	test "$(docker exec "$v" cat /etc/motd 2>&1)" = "welcome to $PROJ"
check "./data was made in the project directory" test -d "$T/p/data"
echo "from the host" >"$T/p/data/h.txt"
check "the container reads what the host wrote" \
	test "$(docker exec "$v" cat /data/h.txt 2>&1)" = "from the host"
docker exec "$v" sh -c 'echo from the container >/data/c.txt'
check "the host reads what the container wrote" \
	test "$(cat "$T/p/data/c.txt" 2>&1)" = "from the container"
check "post_start ran in it" test "$(docker exec "$v" cat /tmp/post 2>&1)" = started
check "pre_stop has not run yet" test ! -e "$T/p/data/pre_stop"
out=$(BC_TEST_TOKEN=tok-2 bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --timeout 60 2>&1)
rc=$?
check "a new secret value: up exits 0 ($(echo "$out" | tail -1))" test "$rc" -eq 0
check "the container is replaced" test -n "$(vault)" -a "$(vault)" != "$v"
check "and has the new value" \
	test "$(docker exec "$(vault)" cat /run/secrets/token 2>&1)" = "tok-2"
check "the old one's pre_stop ran before it stopped" \
	test "$(cat "$T/p/data/pre_stop" 2>&1)" = stopping
out=$(env -u BC_TEST_TOKEN "$BIN/balena-compose" up -f "$T/p/docker-compose.yml" -p "$PROJ" --timeout 60 2>&1)
rc=$?
named=0
case $out in *"secret 'tok': its environment variable 'BC_TEST_TOKEN' is not set"*) named=1 ;; esac
check "the secret's variable unset: refused, named ($out)" test "$rc" -ne 0 -a "$named" = 1
check "and nothing running is touched" test -n "$(vault)"
finish
