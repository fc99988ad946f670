#!/bin/sh
# pki.sh DIR: a throw-away PKI for the MQTT tests, made at test time with
# the openssl CLI (EC P-256 keys: fast).  In DIR:
#   ca.crt                      the trusted root
#   server.crt/.key             broker.test, localhost, 127.0.0.1 (by ca)
#   client.crt/.key             CN=test-gw, for mutual TLS (by ca)
#   wrong.crt/.key              wrong.test only (by ca): hostname mismatch
#   bad-ca.crt                  a second root nobody trusts
#   bad-server.crt/.key         the server names again, by bad-ca
# Keys are mode 0600.  Nothing here is a secret: it lives for one test run.
set -eu
[ $# -eq 1 ] || { echo "usage: pki.sh DIR" >&2; exit 2; }
D=$1
mkdir -p "$D"
umask 077
cd "$D"

ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$1.key" 2>/dev/null; }

# root NAME CN: a self-signed CA, for ten years: a root that expires
# within 60 days is a warning in "zwgatectl trust status".
root() {
	ec "$1"
	openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 3650 \
		-subj "/O=zwgate tests/CN=$2" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# leaf NAME CA CN EXTENSIONS: a certificate signed by CA.
leaf() {
	ec "$1"
	openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$3" 2>/dev/null
	printf 'basicConstraints=critical,CA:FALSE\n%s\n' "$4" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" \
		-set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
		-days 30 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

SERVER='extendedKeyUsage=serverAuth
subjectAltName=DNS:broker.test,DNS:localhost,IP:127.0.0.1'

root ca "zwgate test root"
root bad-ca "zwgate untrusted root"
leaf server ca broker.test "$SERVER"
leaf client ca test-gw 'extendedKeyUsage=clientAuth'
leaf wrong ca wrong.test 'extendedKeyUsage=serverAuth
subjectAltName=DNS:wrong.test'
leaf bad-server bad-ca broker.test "$SERVER"
chmod 600 ./*.key
chmod 644 ./*.crt
