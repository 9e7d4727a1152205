#!/bin/bash
# Volumes and networks outside the app (issue #23), on real Docker: an
# external volume and an external network made beforehand are used as
# they are (the data is the device's), never created or removed; a volume
# with a name of its own is made under that name and goes with down -v; a
# missing external volume stops the service with a clear error; a name
# that is someone else's volume is refused, not taken; container_name is
# the service's network alias; volumes_from and links reach another
# service's container. Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-ext.XXXXXX)
PROJ=ex$$
EXTV=bc-test-extvol-$$
EXTN=bc-test-extnet-$$
OWNV=bc-test-ownvol-$$
BACKN=bc-test-backnet-$$
mkdir -p "$T/p"
cat >"$T/p/docker-compose.yml" <<EOT
services:
  app:
    image: $BCTEST_IMAGE
    command: sh -c 'trap exit TERM; while :; do sleep 1; done'
    volumes: ["shared:/shared", "own:/own"]
    networks: [proxy, default]
    labels: {io.balena-compose.test: "1"}
  db:
    image: $BCTEST_IMAGE
    container_name: bc-db-$PROJ
    command: sh -c 'trap exit TERM; while :; do sleep 3; done'
    networks: [default, back]
    labels: {io.balena-compose.test: "1"}
  web:
    image: $BCTEST_IMAGE
    command: sh -c 'trap exit TERM; while :; do sleep 1; done'
    volumes_from: ["app:ro"]
    links: ["db:database"]
    labels: {io.balena-compose.test: "1"}
volumes:
  shared: {external: true, name: $EXTV}
  own: {name: $OWNV, labels: {io.balena-compose.test: "1"}}
networks:
  proxy: {external: true, name: $EXTN}
  default: {labels: {io.balena-compose.test: "1"}}
  back: {name: $BACKN, labels: {io.balena-compose.test: "1"}}
EOT
APP=$("$BIN/balena-compose" config -f "$T/p/docker-compose.yml" -p "$PROJ" 2>/dev/null |
	grep -m1 -o '"id": [0-9]*' | grep -o '[0-9]*')
export BC_STATEDIR=$T/state BC_LOCKDIR=$T/locks BC_SCOPE_APPS=${APP:-1}
bc() { "$BIN/balena-compose" "$@"; }
cleanup() {
	bc down -v -p "$PROJ" --timeout 30 >/dev/null 2>&1
	suite_stop
	docker rm -f $(docker ps -aq --filter "label=io.balena.app-id=$APP") >/dev/null 2>&1
	docker volume rm -f "$EXTV" "$OWNV" >/dev/null 2>&1
	docker network rm "$EXTN" "$BACKN" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
[ -n "$APP" ] || abort "config: no app id"
suite_start "$BUILD" "$T" || abort "the suite did not start"
svc() { docker ps -q --filter "label=io.balena.app-id=$APP" --filter "label=io.balena.service-name=$1"; }

# a missing external volume: said, the service does not start
out=$(bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --timeout 20 2>&1)
rc=$?
check "the external volume missing: up fails ($(echo "$out" | grep -m1 -i "external volume"))" \
	test "$rc" -ne 0
check "and names it" grep -q "external volume '$EXTV'" <<<"$out"
check "nothing was made under its name" bash -c "! docker volume inspect '$EXTV' >/dev/null 2>&1"
bc down -p "$PROJ" --timeout 30 >/dev/null 2>&1

docker volume create --label io.balena-compose.test=1 "$EXTV" >/dev/null
docker run --rm -v "$EXTV:/v" "$BCTEST_IMAGE" sh -c 'echo device data >/v/keep' >/dev/null
docker network create --label io.balena-compose.test=1 "$EXTN" >/dev/null
out=$(bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --timeout 60 2>&1)
rc=$?
check "with them made: up exits 0 ($(echo "$out" | tail -1))" test "$rc" -eq 0
a=$(svc app)
check "the external volume's data is there" \
	test "$(docker exec "$a" cat /shared/keep 2>&1)" = "device data"
check "the named volume was made under its name" \
	test "$(docker volume inspect -f '{{index .Labels "io.balena.app-id"}}' "$OWNV" 2>&1)" = "$APP"
check "the container is on the external network" \
	bash -c "docker inspect -f '{{range \$k, \$v := .NetworkSettings.Networks}}{{\$k}} {{end}}' '$a' | grep -qw '$EXTN'"
dbc=$(svc db)
check "container_name: db's container has that name" \
	test "$(docker inspect -f '{{.Name}}' "$dbc" 2>&1)" = "/bc-db-$PROJ"
check "the other service reaches db by that name" docker exec "$a" ping -c1 -W2 "bc-db-$PROJ"
w=$(svc web)
check "volumes_from app:ro: web sees app's volumes" \
	test "$(docker exec "$w" cat /shared/keep 2>&1)" = "device data"
check "read-only there" bash -c "! docker exec '$w' sh -c 'echo x >/own/x' 2>/dev/null"
check "links db:database: web reaches db as 'database'" docker exec "$w" ping -c1 -W2 database
out=$(bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --timeout 60 2>&1)
check "up again: a no-op, the same containers" test "$(svc app) $(svc web) $(svc db)" = "$a $w $dbc"
# a change to db: made again under its name (the old one goes first)
sed -i 's/sleep 3; done/sleep 4; done/' "$T/p/docker-compose.yml"
out=$(bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --timeout 60 2>&1)
rc=$?
check "db changed: up exits 0 ($(echo "$out" | tail -1))" test "$rc" -eq 0
check "a new db container, under the same name" \
	bash -c "[ -n '$(svc db)' ] && [ '$(svc db)' != '$dbc' ] && [ \"\$(docker inspect -f '{{.Name}}' '$(svc db)')\" = '/bc-db-$PROJ' ]"
a=$(svc app)
w=$(svc web)
# a network named by the app, changed while db is on it: db leaves it,
# it is made again, db joins the new one
net1=$(docker network inspect -f '{{.Id}}' "$BACKN" 2>&1)
sed -i 's/back: {name: \(.*\), labels: {io.balena-compose.test: "1"}}/back: {name: \1, labels: {io.balena-compose.test: "1", v: "2"}}/' "$T/p/docker-compose.yml"
out=$(bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --timeout 60 2>&1)
rc=$?
net2=$(docker network inspect -f '{{.Id}}' "$BACKN" 2>&1)
check "the named network changed: up exits 0 ($(echo "$out" | tail -1))" test "$rc" -eq 0
check "it was made again" test -n "$net2" -a "$net1" != "$net2"
check "and db is on the new one" \
	bash -c "docker inspect -f '{{range \$k, \$v := .NetworkSettings.Networks}}{{\$v.NetworkID}} {{end}}' '$(svc db)' | grep -q '$net2'"

out=$(bc down -v -p "$PROJ" --timeout 30 2>&1)
rc=$?
check "down -v exits 0" test "$rc" -eq 0
check "the named volume went with it" bash -c "! docker volume inspect '$OWNV' >/dev/null 2>&1"
check "and the named network" bash -c "! docker network inspect '$BACKN' >/dev/null 2>&1"
check "the external volume stays, with its data" \
	bash -c "docker run --rm -v '$EXTV:/v' '$BCTEST_IMAGE' cat /v/keep | grep -q 'device data'"
check "the external network stays" docker network inspect "$EXTN"

# a name that is someone else's volume is not taken
docker volume create --label io.balena-compose.test=1 "$OWNV" >/dev/null
out=$(bc up -f "$T/p/docker-compose.yml" -p "$PROJ" --timeout 20 2>&1)
rc=$?
check "a name: that is another's volume: refused ($(echo "$out" | grep -m1 "is not this app"))" \
	bash -c "[ $rc -ne 0 ] && grep -q \"volume '$OWNV' is there already and is not this app's: give it external: true\" <<<\"\$0\"" "$out"
finish
