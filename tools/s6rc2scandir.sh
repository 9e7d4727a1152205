#!/bin/sh
# Turn an s6-rc source directory into a plain s6-svscan scan directory, for
# systems with s6 but no s6-rc (Debian 12). Each longrun becomes a service
# directory; a longrun that is producer-for a logger gets that logger's run
# script as its log/ service. Bundles and oneshots are not representable in
# a scan directory and are skipped (we have none of the latter).
# usage: s6rc2scandir.sh SRC DST LIBEXECDIR
set -eu
[ $# -eq 3 ] || { echo "usage: $0 SRC DST LIBEXECDIR" >&2; exit 100; }
src=$1 dst=$2 libexec=$3
mkdir -p "$dst"
subst() { sed "s|@LIBEXECDIR@|$libexec|g" "$1" > "$2"; chmod 0755 "$2"; }
for d in "$src"/*/; do
	name=$(basename "$d")
	[ "$(cat "$d/type")" = longrun ] || continue
	[ -f "$d/consumer-for" ] && continue # placed under its producer
	out="$dst/$name"
	mkdir -p "$out"
	subst "$d/run" "$out/run"
	[ -f "$d/finish" ] && subst "$d/finish" "$out/finish"
	[ -f "$d/notification-fd" ] && cp "$d/notification-fd" "$out/"
	# a daemon that has not ended this long after SIGTERM gets SIGKILL
	[ -f "$d/timeout-kill" ] && cp "$d/timeout-kill" "$out/"
	if [ -f "$d/producer-for" ]; then
		log="$src/$(cat "$d/producer-for")"
		[ -f "$log/run" ] || { echo "$0: $name: no logger $log" >&2; exit 1; }
		mkdir -p "$out/log"
		subst "$log/run" "$out/log/run"
		[ -f "$log/notification-fd" ] && cp "$log/notification-fd" "$out/log/"
	fi
done
exit 0
