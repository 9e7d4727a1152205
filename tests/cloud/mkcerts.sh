#!/bin/sh
# mkcerts.sh DIR: a test CA (DIR/ca.pem) and a certificate it signed for
# 127.0.0.1 and localhost (DIR/server.pem, DIR/server.key), for the double.
set -eu
d=$1
mkdir -p "$d"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=balena-compose test CA" \
	-keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
	-keyout "$d/server.key" -out "$d/server.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:127.0.0.1\n' >"$d/ext"
openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
	-days 2 -extfile "$d/ext" -out "$d/server.pem" >/dev/null 2>&1
