#!/bin/sh
# mkcerts.sh DIR: a test CA (DIR/ca.pem) and a certificate it signed for
# 127.0.0.1 and localhost (DIR/server.pem, DIR/server.key), for the double.
# mkcerts.sh DIR NAME HOST: another certificate of DIR's CA, for HOST only
# (DIR/NAME.pem, DIR/NAME.key): a cloud that is not the one we asked for.
set -eu
d=$1
mkdir -p "$d"
if [ $# -eq 3 ]; then
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$3" \
		-keyout "$d/$2.key" -out "$d/$2.csr" >/dev/null 2>&1
	printf 'subjectAltName=DNS:%s\n' "$3" >"$d/$2.ext"
	openssl x509 -req -in "$d/$2.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/$2.ext" -out "$d/$2.pem" >/dev/null 2>&1
	exit 0
fi
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=balena-compose test CA" \
	-keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
	-keyout "$d/server.key" -out "$d/server.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:127.0.0.1\n' >"$d/ext"
openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
	-days 2 -extfile "$d/ext" -out "$d/server.pem" >/dev/null 2>&1
