#!/bin/sh
# Install (as root, from Debian) whatever of the build, test and run
# dependencies is missing. Quiet when everything is there.
set -eu
PKGS="gcc make pkg-config clang libclang-rt-14-dev
libnng-dev libmsgpack-dev libcurl4-openssl-dev libjansson-dev libyaml-dev
libzstd-dev zlib1g-dev libcmocka-dev libarchive-dev
s6 docker.io docker-registry busybox-static curl ca-certificates openssl iproute2 procps apache2-utils python3"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
