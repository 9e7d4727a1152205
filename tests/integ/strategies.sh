#!/bin/bash
# Update strategies through the daemons (reconciler + fetcher + locker under
# s6, real Docker, real registry): kill-then-download and
# delete-then-download stop the old release before the new image comes;
# hand-over keeps the old one until the new says it is ready or the
# hand-over timeout passes (measured). Prints "N passed, N failed".
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../harness/suite.sh
. "$here/../harness/suite.sh"
# shellcheck source=../harness/check.sh
. "$here/../harness/check.sh"
T=$(mktemp -d /tmp/bc-strat.XXXXXX)
APP=$((994000 + $$ % 900))
V1=$BCTEST_REGISTRY/bctest/busybox:v1
V2=$BCTEST_REGISTRY/bctest/busybox:v2
export BC_STATEDIR=$T/state BC_LOCKDIR=$T/locks BC_SCOPE_APPS=$APP
bc() { "$BIN/balena-compose" "$@"; }
trap 'bc down -v -p $APP --timeout 30 >/dev/null 2>&1; suite_stop; rm -rf "$T"' EXIT

# target RELEASE IMAGE STRATEGY [HANDOVER_TIMEOUT_MS [COMMAND]]
target() {
	local cmd=${5:-trap exit TERM; while :; do sleep 1; done}
	cat <<EOT
{"bctestdev": {"name": "dev", "apps": {"bctest$APP": {"id": $APP, "name": "st$APP",
 "releases": {"r$1": {"id": $1, "services": {
  "s": {"id": 1, "image_id": $((10 + $1)), "image": "$2",
   "labels": {"io.balena-compose.test": "1", "io.balena.update.strategy": "$3"${4:+, \"io.balena.update.handover-timeout\": \"$4\"}},
   "composition": {"command": ["sh", "-c", "$cmd"]}}},
 "networks": {"default": {"labels": {"io.balena-compose.test": "1"}}}}}}}}}
EOT
}
# events: since $since, in order, one "<ms> <type> <action> <id> <name>" a
# line: the containers of this app, and the images of this test (V1, V2, by
# reference, as a pull names them, or by id, as an untag or delete does):
# nothing of anything else that runs on the engine meanwhile
ID1=$(docker image inspect -f '{{.Id}}' "$BCTEST_IMAGE")
ID2=$(docker image inspect -f '{{.Id}}' "${BCTEST_REMOTE_IMAGE#*/}")
events() {
	docker events --since "$since" --until "$(date +%s.%N)" \
		--format '{{.TimeNano}} {{.Type}} {{.Action}} {{.Actor.ID}} {{index .Actor.Attributes "name"}} {{index .Actor.Attributes "io.balena.app-id"}}' |
		awk -v app="$APP" -v imgs=" $V1 $V2 $ID1 $ID2 " \
			'($2 == "container" && $6 == app) || ($2 == "image" && (index(imgs, " " $4 " ") || index(imgs, " " $5 " "))) {
				printf "%.0f %s %s %s %s\n", $1 / 1000000, $2, $3, $4, $5 }' >"$T/ev"
}
# line number of the first event matching a pattern (0: none)
first() { grep -n -m1 -E "$1" "$T/ev" | cut -d: -f1 | grep . || echo 0; }

suite_start "$BUILD" "$T" || abort "the suite did not start"

for strat in kill-then-download delete-then-download; do
	bc down -v -p $APP --timeout 30 >/dev/null 2>&1
	docker rmi -f "$V1" "$V2" >/dev/null 2>&1
	target 1 "$V1" $strat >"$T/t1.json"
	target 2 "$V2" $strat >"$T/t2.json"
	bc up -t "$T/t1.json" --timeout 60 >/dev/null
	check "$strat: release 1 runs" test -n "$(docker ps -q --filter label=io.balena.app-id=$APP)"
	since=$(date +%s.%N)
	bc up -t "$T/t2.json" --timeout 60 >/dev/null
	check "$strat: up to release 2 exits 0" test $? -eq 0
	events
	die=$(first " container (die|destroy) ")
	pull=$(first " image pull .*busybox:v2")
	start=$(first " container start .*_2_r2")
	check "$strat: the old container goes (event $die) before the new image comes ($pull)" \
		test "$die" -gt 0 -a "$pull" -gt 0 -a "$die" -lt "$pull"
	check "$strat: then the new one starts ($start)" test "$start" -gt "$pull"
	if [ $strat = delete-then-download ]; then
		del=$(first " image (delete|untag) ")
		check "$strat: the old image is deleted ($del) before the pull ($pull)" \
			test "$del" -gt 0 -a "$del" -lt "$pull"
	else
		del=$(first " image (delete|untag) ")
		check "$strat: no image deleted before the pull" test "$del" -eq 0 -o "$del" -gt "$pull"
	fi
done

# hand-over: the new release starts beside the old; the old goes when the
# hand-over timeout passes (the new never says it is ready)
bc down -v -p $APP --timeout 30 >/dev/null 2>&1
target 1 "$V1" hand-over 2000 >"$T/h1.json"
target 2 "$V2" hand-over 2000 >"$T/h2.json"
bc up -t "$T/h1.json" --timeout 60 >/dev/null
# handover TARGET_FILE NEW_NAME: up to it; gap = ms from the new container's
# start (the hand-over's clock starts when the new one runs) to the old
# one's stop (both from Docker's events), rc = up's status
handover() {
	local old t_new t_old
	old=$(docker ps -q --filter label=io.balena.app-id=$APP)
	since=$(date +%s.%N)
	bc up -t "$1" --timeout 60 >/dev/null
	rc=$?
	events
	t_new=$(grep -m1 -E " container start [0-9a-f]+ $2" "$T/ev" | cut -d' ' -f1)
	t_old=$(grep -m1 -E " container (kill|die) ${old}" "$T/ev" | cut -d' ' -f1)
	gap=-1
	[ -n "$t_new" ] && [ -n "$t_old" ] && gap=$((t_old - t_new))
}
handover "$T/h2.json" s_12_2_r2
check "hand-over (timeout 2000 ms): up exits 0" test $rc -eq 0
check "hand-over: old and new ran side by side until the timeout (${gap} ms, 2000 asked)" \
	test "$gap" -ge 2000
# Docker dates a container to the second (so the timeout may start up to
# 1 s late: it is a minimum), and the reconciler looks again every second
# while it waits: the old is stopped within 2000 + 1000 + 1000 (+ slack)
check "hand-over: and the old was stopped soon after it (${gap} ms <= 4500)" test "$gap" -le 4500

# the new release says it is ready (it touches BALENA_SERVICE_HANDOVER_COMPLETE_PATH,
# as the supervisor sets it): the old goes then,
# long before a 60 s timeout
target 3 "$V1" hand-over 60000 \
	"touch \$BALENA_SERVICE_HANDOVER_COMPLETE_PATH; trap exit TERM; while :; do sleep 1; done" >"$T/h3.json"
handover "$T/h3.json" s_13_3_r3
check "hand-over with handover-complete: up exits 0" test $rc -eq 0
check "hand-over with handover-complete: the old went ${gap} ms after the new started (timeout 60000)" \
	test "$gap" -ge 0 -a "$gap" -lt 10000

finish
