#!/bin/bash
# Service contracts (issue #22) on real Docker, in local mode (up -t of a v3
# target, up -f of a compose file): the device is this machine, with the OS of a test os-release
# (BC_OS_RELEASE) and a device type from config.json. An unmet contract
# refuses the target with the reason and leaves the running release as it
# was; an optional service with an unmet contract is left out, said in a
# system message, the others run; a met contract runs. And the feature
# labels that need the device (extra-firmware, host-os.board-rev,
# supervisor-api). Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-contract.XXXXXX)
APP=$((993000 + $$ % 900))
mkdir -p "$T/proj/web"
cat >"$T/proj/docker-compose.yml" <<EOT
services:
  web:
    image: $BCTEST_IMAGE
    build: ./web
    command: sh -c 'trap exit TERM; while :; do sleep 1; done'
    labels: {io.balena-compose.test: "1"}
networks:
  default: {labels: {io.balena-compose.test: "1"}}
EOT
printf 'type: sw.container\nslug: web\nrequires:\n  - type: hw.device-type\n    slug: raspberrypi4-64\n' >"$T/proj/web/contract.yml"
APPC=$("$BIN/balena-compose" config -f "$T/proj/docker-compose.yml" -p "ctc$APP" 2>/dev/null |
	grep -m1 -o '"id": [0-9]*' | grep -o '[0-9]*')
export BC_STATEDIR=$T/state BC_LOCKDIR=$T/locks BC_SCOPE_APPS=$APP,${APPC:-1} \
	BC_CONFIG=$T/config.json BC_OS_RELEASE=$T/os-release
bc() { "$BIN/balena-compose" "$@"; }
cid() { docker ps -q --filter "label=io.balena.app-id=$APP" --filter "label=io.balena.service-name=$1"; }
fw_before=x
cleanup() {
	bc down -v -p "$APP" --timeout 30 >/dev/null 2>&1
	suite_stop
	docker rm -f $(docker ps -aq --filter "label=io.balena.app-id=$APP") >/dev/null 2>&1
	[ -z "$fw_before" ] && docker volume rm extra-firmware >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

printf 'NAME="balenaOS"\nID="balena-os"\nVERSION="2.88.4+rev1"\nVERSION_ID="2.88.4"\nBALENA_BOARD_REV="1.4"\n' >"$T/os-release"
echo '{"deviceType": "intel-nuc"}' >"$T/config.json" # no apiEndpoint: local mode
case $(uname -m) in x86_64) ARCH=amd64 ;; aarch64) ARCH=aarch64 ;; *) ARCH=$(uname -m) ;; esac

# target COMMIT SERVICES_JSON -> a v3 document of one app
target() {
	cat <<EOT
{"bctestdev": {"name": "dev", "apps": {"bctestapp$APP": {"id": $APP, "name": "ct$APP",
 "releases": {"$1": {"id": 1, "services": {$2},
 "networks": {"default": {"labels": {"io.balena-compose.test": "1"}}}}}}}}}
EOT
}
# svc NAME ID [CONTRACT [LABELS]] -> one service
svc() {
	echo "\"$1\": {\"id\": $2, \"image_id\": $2, \"image\": \"$BCTEST_IMAGE\",
	 \"labels\": {\"io.balena-compose.test\": \"1\"${4:+, $4}}${3:+, \"contract\": $3},
	 \"composition\": {\"command\": [\"sh\", \"-c\", \"trap exit TERM; while :; do sleep 1; done\"]}}"
}

suite_start "$BUILD" "$T" || abort "the suite did not start"
check "the reconciler read the device: intel-nuc, $ARCH, balena-os 2.88.4+rev1" \
	grep -q "device type intel-nuc, arch $ARCH, os balena-os 2.88.4+rev1" "$BC_LOGDIR/reconciler/current"

# a met contract runs: this arch, an OS range the +rev version meets, a
# supervisor range the version we claim meets
target c1 "$(svc main 1 "{\"requires\": [{\"type\": \"arch.sw\", \"slug\": \"$ARCH\"},
 {\"type\": \"sw.os\", \"slug\": \"balena-os\", \"version\": \">=2.88.4 <3\"},
 {\"or\": [{\"type\": \"sw.l4t\", \"version\": \"32.x\"}, {\"type\": \"sw.supervisor\", \"version\": \"^17.0.0\"}]}]}")" >"$T/t1.json"
out=$(bc up -t "$T/t1.json" --timeout 60 2>&1)
rc=$?
check "a met contract: up exits 0 ($(echo "$out" | tail -1))" test "$rc" -eq 0
c1=$(cid main)
check "and its service runs" test -n "$c1"

# unmet: refused with the reason, what runs untouched
target c2 "$(svc main 1 '{"requires": [{"type": "hw.device-type", "slug": "raspberrypi4-64"}]}')" >"$T/t2.json"
out=$(bc up -t "$T/t2.json" --timeout 60 2>&1)
rc=$?
check "an unmet contract: up exits 1, naming the service and its need ($out)" \
	expect $rc 1 "$out" "target rejected: app 'ct$APP' release 'c2': services with unmet requirements" \
	"main (requires hw.device-type raspberrypi4-64 (the device has intel-nuc))"
sleep 1
check "the running release is untouched (the same container)" test "$(cid main)" = "$c1"
check "and it is still release c1" bash -c "docker inspect -f '{{index .Config.Labels \"io.balena.app-id\"}} {{.Name}}' $c1 | grep -q '_c1$'"
out=$(bc status 2>&1)
check "status: the app is still at c1 ($(echo "$out" | grep "ct$APP"))" \
	bash -c "echo '$out' | grep -qE '^ct$APP +[A-Za-z]+ +c1 +c1'"

# a contract of the wrong shape: refused, named, nothing touched
target c3 "$(svc main 1 '{"requires": [{"type": "sw.blah", "version": "1"}]}')" >"$T/t3.json"
out=$(bc up -t "$T/t3.json" --timeout 60 2>&1)
rc=$?
check "a contract of the wrong shape: up exits 1 naming it ($out)" \
	expect $rc 1 "$out" "sw.blah is not a valid contract requirement type" "t3.json"
check "still the same container" test "$(cid main)" = "$c1"

# optional and unmet: left out, said once as the supervisor says it; the
# other service runs (and waits on it no more)
target c4 "$(svc main 1 '' ''), $(svc extra 2 '{"requires": [{"type": "sw.supervisor", "version": ">=99"}]}' '"io.balena.features.optional": "true"')" >"$T/t4.json"
out=$(bc up -t "$T/t4.json" --timeout 60 2>&1)
rc=$?
check "an optional service with an unmet contract: up exits 0 ($(echo "$out" | tail -1))" test "$rc" -eq 0
check "main runs at c4" bash -c "docker inspect -f '{{.Name}}' \$(docker ps -q --filter label=io.balena.app-id=$APP --filter label=io.balena.service-name=main) | grep -q '_c4$'"
check "extra does not run" test -z "$(docker ps -aq --filter "label=io.balena.app-id=$APP" --filter label=io.balena.service-name=extra)"
for _ in $(seq 30); do bc logs -p "ct$APP" 2>/dev/null | grep -q "contract violations" && break; sleep 0.2; done
bc logs -p "ct$APP" >"$T/logs" 2>&1
check "a system message says so: 'Not running containers because of contract violations: extra'" \
	grep -q '^system *| Not running containers because of contract violations: extra' "$T/logs"
check "the state reports it skipped (\"skipped\": [\"extra\"]; state: $(bc state | grep "^app ct$APP" | cut -c1-100))" \
	bash -c "'$BIN/balena-compose' state --json | python3 -c 'import json, sys; d = json.load(sys.stdin); sys.exit(0 if any(a.get(\"skipped\") == [\"extra\"] for a in d[\"apps\"]) else 1)' && '$BIN/balena-compose' state | grep -q 'left out, their contracts unmet: extra'"
# feature labels the supervisor knows, on this device: extra-firmware
# mounts the device's volume of extra firmware (one for the device, made
# when first used: removed after only if this test made it); the board's
# revision comes from the host's os-release; supervisor-api is refused
fw_before=$(docker volume ls -q --filter name=^extra-firmware$)
target c5 "$(svc main 1 '' '"io.balena.features.extra-firmware": "1", "io.balena.features.host-os.board-rev": "1"')" >"$T/t5.json"
out=$(bc up -t "$T/t5.json" --timeout 60 2>&1)
rc=$?
check "feature labels: up exits 0 ($(echo "$out" | tail -1))" test "$rc" -eq 0
c5=$(cid main)
check "extra-firmware: the device's volume at /extra-firmware, writable" \
	bash -c "docker inspect -f '{{range .Mounts}}{{.Name}}:{{.Destination}}:{{.RW}} {{end}}' $c5 | grep -q 'extra-firmware:/extra-firmware:true'"
check "host-os.board-rev: BALENA_HOST_OS_BOARD_REV=1.4, and BALENA_DEVICE_TYPE=intel-nuc" \
	bash -c "docker inspect -f '{{range .Config.Env}}{{.}} {{end}}' $c5 | grep -q 'BALENA_HOST_OS_BOARD_REV=1.4 ' && docker inspect -f '{{range .Config.Env}}{{.}} {{end}}' $c5 | grep -q 'BALENA_DEVICE_TYPE=intel-nuc '"
target c6 "$(svc main 1 '' '"io.balena.features.supervisor-api": "1"')" >"$T/t6.json"
out=$(bc up -t "$T/t6.json" --timeout 60 2>&1)
rc=$?
check "supervisor-api: refused, saying why ($out)" \
	expect $rc 1 "$out" "the supervisor API is not provided by balena-compose"
check "and what runs stays" test "$(cid main)" = "$c5"

# a compose file: the service's contract is the contract.yml at the root
# of its build context; unmet, the file is refused and nothing of it runs
# (the file: made before the start, its app id in the scope)
out=$(bc up -f "$T/proj/docker-compose.yml" -p "ctc$APP" --timeout 60 2>&1)
rc=$?
check "compose: web/contract.yml unmet: up exits 1 naming it ($out)" \
	expect $rc 1 "$out" "web (requires hw.device-type raspberrypi4-64 (the device has intel-nuc))"
check "and nothing of it runs" test -z "$(docker ps -aq --filter "label=io.balena.service-name=web" --filter label=io.balena-compose.test=1)"
finish
