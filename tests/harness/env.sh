# Test harness for integration tests: a real Docker engine, a real registry,
# locally built images. Source it, call harness_up, and trap harness_down.
# Everything a test creates carries the label io.balena-compose.test=1 and is
# removed by that label; nothing else is touched. Stops only what it started.

BCTEST_LABEL=io.balena-compose.test
BCTEST_REGISTRY=127.0.0.1:5000
HARNESS_TMP=${HARNESS_TMP:-$(mktemp -d /tmp/bc-harness.XXXXXX)}
DOCKER_SOCK=/var/run/docker.sock
STARTED_DOCKERD=
STARTED_REGISTRY=

say() { echo "harness: $*" >&2; }
die() { say "FATAL: $*"; exit 1; }

# wait_for WHAT PID LOG TRIES CHECK...: poll CHECK every 0.5 s while PID lives.
wait_for() {
	local what=$1 pid=$2 log=$3 tries=$4 i=0
	shift 4
	until "$@"; do
		i=$((i + 1))
		kill -0 "$pid" 2>/dev/null || {
			tail -n 20 "$log" >&2
			die "$what exited"
		}
		[ $i -lt "$tries" ] || die "$what did not answer within $((tries / 2)) s"
		sleep 0.5
	done
}

docker_answers() {
	curl -sf --max-time 2 --unix-socket "$DOCKER_SOCK" http://localhost/_ping >/dev/null 2>&1
}

ensure_dockerd() {
	if docker_answers; then
		say "using the running Docker engine"
		return 0
	fi
	command -v dockerd >/dev/null || die "dockerd not installed (run 'make deps')"
	say "starting dockerd (log: $HARNESS_TMP/dockerd.log)"
	setsid dockerd --host "unix://$DOCKER_SOCK" --pidfile "$HARNESS_TMP/dockerd.pid" \
		>"$HARNESS_TMP/dockerd.log" 2>&1 &
	STARTED_DOCKERD=$!
	wait_for dockerd "$STARTED_DOCKERD" "$HARNESS_TMP/dockerd.log" 120 docker_answers
}

registry_answers() {
	curl -sf --max-time 2 "http://$BCTEST_REGISTRY/v2/" >/dev/null 2>&1
}

ensure_registry() {
	if registry_answers; then
		say "using the registry already on $BCTEST_REGISTRY"
		return 0
	fi
	command -v docker-registry >/dev/null || die "docker-registry not installed (run 'make deps')"
	mkdir -p "$HARNESS_TMP/registry"
	cat >"$HARNESS_TMP/registry.yml" <<-EOC
	version: 0.1
	log:
	  level: warn
	storage:
	  filesystem:
	    rootdirectory: $HARNESS_TMP/registry
	  delete:
	    enabled: true
	http:
	  addr: $BCTEST_REGISTRY
	EOC
	setsid docker-registry serve "$HARNESS_TMP/registry.yml" >"$HARNESS_TMP/registry.log" 2>&1 &
	STARTED_REGISTRY=$!
	wait_for docker-registry "$STARTED_REGISTRY" "$HARNESS_TMP/registry.log" 40 registry_answers
	say "registry on $BCTEST_REGISTRY (storage $HARNESS_TMP/registry)"
}

# make_image TAG VERSION: a busybox-static rootfs whose /etc/bctest-release
# says VERSION, imported as bctest/busybox:TAG and pushed to the registry.
# The default command exits on SIGTERM.
make_image() {
	tag=$1 version=$2
	root="$HARNESS_TMP/rootfs-$tag"
	bb=$(command -v busybox) || die "busybox-static not installed (run 'make deps')"
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/data"
	cp "$bb" "$root/bin/busybox"
	for applet in $("$bb" --list); do
		[ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
	done
	echo "$version" >"$root/etc/bctest-release"
	tar -C "$root" -c . | docker import \
		-c "LABEL $BCTEST_LABEL=1" \
		-c 'CMD ["/bin/sh","-c","trap exit TERM; while :; do sleep 1; done"]' \
		- "bctest/busybox:$tag" >/dev/null || die "docker import $tag failed"
	docker tag "bctest/busybox:$tag" "$BCTEST_REGISTRY/bctest/busybox:$tag"
	docker push -q "$BCTEST_REGISTRY/bctest/busybox:$tag" >/dev/null ||
		die "docker push $tag failed"
}

cleanup_labelled() {
	ids=$(docker ps -aq --filter "label=$BCTEST_LABEL")
	[ -z "$ids" ] || docker rm -fv $ids >/dev/null 2>&1
	ids=$(docker network ls -q --filter "label=$BCTEST_LABEL")
	[ -z "$ids" ] || docker network rm $ids >/dev/null 2>&1
	ids=$(docker volume ls -q --filter "label=$BCTEST_LABEL")
	[ -z "$ids" ] || docker volume rm -f $ids >/dev/null 2>&1
	ids=$(docker images -q --filter "label=$BCTEST_LABEL" | sort -u)
	[ -z "$ids" ] || docker rmi -f $ids >/dev/null 2>&1
	return 0
}

harness_up() {
	ensure_dockerd
	ensure_registry
	cleanup_labelled
	make_image v1 "release-1"
	make_image v2 "release-2"
	export BCTEST_LABEL BCTEST_REGISTRY
	export BCTEST_IMAGE=bctest/busybox:v1
	export BCTEST_REMOTE_IMAGE=$BCTEST_REGISTRY/bctest/busybox:v2
	say "images bctest/busybox:v1, :v2 built and pushed"
}

harness_down() {
	docker_answers && cleanup_labelled
	if [ -n "$STARTED_REGISTRY" ]; then
		kill "$STARTED_REGISTRY" 2>/dev/null
		wait "$STARTED_REGISTRY" 2>/dev/null
	fi
	if [ -n "$STARTED_DOCKERD" ]; then
		say "stopping the dockerd we started"
		kill "$STARTED_DOCKERD" 2>/dev/null
		i=0
		while kill -0 "$STARTED_DOCKERD" 2>/dev/null && [ $i -lt 60 ]; do
			sleep 0.5
			i=$((i + 1))
		done
	fi
	rm -rf "$HARNESS_TMP"
}
