#!/bin/sh
# trustpki.sh DIR: the throw-away PKI of the trust tests (tests/integration/
# trust.sh), made at test time with the openssl CLI.  Every server
# certificate names broker.test (DNS SAN) unless said otherwise.
#
#   A.crt   root A, RSA 2048            A1, A2   RSA intermediates under A
#   B.crt   root B, EC P-384            B1 (P-384), B2 (RSA) under B
#   C.crt   root C, EC P-256, in no bundle (the "unknown root")
#   R.crt   recovery root R, EC P-256
#   xB.crt  B cross-signed by A: B's subject and key, issued by A
#
#   leaves (NAME.crt, NAME.key, NAME.chain = what the broker sends:
#   the leaf, then the intermediates [, then the cross certificate]):
#   leafA1          RSA, by A1
#   leafA1-renewed  a new certificate for leafA1's key
#   leafA1-newkey   a new certificate with a new RSA key
#   leafA2          RSA, by A2
#   leafB1          EC P-256, by B1 (the whole chain ECDSA)
#   leafB2          RSA, by B2
#   leafB2-cross    leafB2 again, its chain ending with xB
#   leafC           by C
#   leafR           by R
#   selfsigned      a self-signed broker.test, no CA at all
#   wrongsan        by A1, for wrong.test only
#   expired         by A1, valid 2024-01-01 .. 2024-02-01 (made then,
#                   under faketime)
#
#   client-ca.crt, client.crt/.key   the gateway's identity (CN=test-gw)
#   X.pin    base64 SHA-256 of the DER SPKI of X, for every CA above
#
# Keys are mode 0600.  Nothing here is a secret: it lives for one test run.
set -eu
[ $# -eq 1 ] || { echo "usage: trustpki.sh DIR" >&2; exit 2; }
D=$1
mkdir -p "$D"
umask 077
cd "$D"

# key NAME rsa|p256|p384
key() {
	case $2 in
	rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$1.key" 2>/dev/null ;;
	p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$1.key" 2>/dev/null ;;
	p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 \
		-out "$1.key" 2>/dev/null ;;
	esac
}

serial() { echo "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"; }

CA_EXT='basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always'

SERVER_EXT='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always'

# Every key first, in parallel (RSA generation is the slow part).
for k in A:rsa B:p384 C:p256 R:p256 A1:rsa A2:rsa B1:p384 B2:rsa \
	leafA1:rsa leafA1-newkey:rsa leafA2:rsa leafB1:p256 leafB2:rsa \
	leafC:p256 leafR:p256 wrongsan:p256 selfsigned:p256 expired:p256 \
	client-ca:p256 client:p256; do
	key "${k%:*}" "${k#*:}" &
done
wait

# root NAME
root() {
	openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 3650 \
		-subj "/O=zwgate trust tests/CN=root $1" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# issue NAME ISSUER DAYS SUBJECT EXTENSIONS [X509 OPTIONS...]: a
# certificate for NAME.key, signed by ISSUER.
issue() {
	n=$1 ca=$2 days=$3 subj=$4 ext=$5
	shift 5
	openssl req -new -key "$n.key" -out "$n.csr" -subj "$subj" 2>/dev/null
	printf '%s\n' "$ext" >"$n.ext"
	openssl x509 -req -in "$n.csr" -CA "$ca.crt" -CAkey "$ca.key" \
		-set_serial "$(serial)" -days "$days" -extfile "$n.ext" \
		-out "$n.crt" "$@" 2>/dev/null
	rm -f "$n.csr" "$n.ext"
}

# inter NAME ISSUER
inter() {
	issue "$1" "$2" 1825 "/O=zwgate trust tests/CN=intermediate $1" \
		"$CA_EXT"
}

# leaf NAME KEY ISSUER [DNS NAME]: KEY is NAME or another leaf's.
leaf() {
	[ "$2" = "$1" ] || cp "$2.key" "$1.key"
	issue "$1" "$3" 90 "/O=zwgate trust tests/OU=$1/CN=${4:-broker.test}" \
		"$SERVER_EXT
subjectAltName=DNS:${4:-broker.test}"
}

# chain NAME [CERT...]: what the broker sends for NAME.
chain() {
	n=$1
	shift
	cat "$n.crt" >"$n.chain"
	for c in "$@"; do cat "$c.crt" >>"$n.chain"; done
}

pin() {
	openssl x509 -in "$1.crt" -pubkey -noout |
		openssl pkey -pubin -outform DER |
		openssl dgst -sha256 -binary | openssl base64 -A >"$1.pin"
	echo >>"$1.pin"
}

root A
root B
root C
root R
inter A1 A
inter A2 A
inter B1 B
inter B2 B

# B's own subject and key, vouched for by A: a server moving to B can
# send it so that clients knowing only A still build a chain.
openssl req -new -key B.key -out xB.csr -subj "/O=zwgate trust tests/CN=root B" \
	2>/dev/null
printf '%s\n' "$CA_EXT" >xB.ext
openssl x509 -req -in xB.csr -CA A.crt -CAkey A.key -set_serial "$(serial)" \
	-days 1825 -extfile xB.ext -out xB.crt 2>/dev/null
rm -f xB.csr xB.ext

leaf leafA1 leafA1 A1
leaf leafA1-renewed leafA1 A1
leaf leafA1-newkey leafA1-newkey A1
leaf leafA2 leafA2 A2
leaf leafB1 leafB1 B1
leaf leafB2 leafB2 B2
cp leafB2.key leafB2-cross.key
cp leafB2.crt leafB2-cross.crt
leaf leafC leafC C
leaf leafR leafR R
leaf wrongsan wrongsan A1 wrong.test

openssl req -x509 -new -key selfsigned.key -out selfsigned.crt -days 90 \
	-subj "/O=zwgate trust tests/OU=selfsigned/CN=broker.test" \
	-addext "basicConstraints=critical,CA:FALSE" \
	-addext "extendedKeyUsage=serverAuth" \
	-addext "subjectAltName=DNS:broker.test" 2>/dev/null

# Made in the past (the clock stopped there) so that its dates are real
# ones, not a backdated
# notBefore on a fresh certificate.
TZ=UTC FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f '2024-01-01 00:00:00' \
	sh -c 'openssl req -new -key expired.key -out expired.csr \
		-subj "/O=zwgate trust tests/OU=expired/CN=broker.test" &&
	printf "%s\nsubjectAltName=DNS:broker.test\n" "$1" >expired.ext &&
	openssl x509 -req -in expired.csr -CA A1.crt -CAkey A1.key \
		-set_serial "$2" -days 31 -extfile expired.ext \
		-out expired.crt' sh "$SERVER_EXT" "$(serial)" 2>/dev/null
rm -f expired.csr expired.ext
[ -s expired.crt ] || { echo "trustpki.sh: faketime is needed" >&2; exit 1; }

chain leafA1 A1
chain leafA1-renewed A1
chain leafA1-newkey A1
chain leafA2 A2
chain leafB1 B1
chain leafB2 B2
chain leafB2-cross B2 xB
chain leafC
chain leafR
chain selfsigned
chain wrongsan A1
chain expired A1

openssl req -x509 -new -key client-ca.key -out client-ca.crt -days 3650 \
	-subj "/O=zwgate trust tests/CN=client CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
issue client client-ca 90 "/O=zwgate trust tests/CN=test-gw" \
	'basicConstraints=critical,CA:FALSE
extendedKeyUsage=clientAuth'

for c in A B C R A1 A2 B1 B2 xB; do pin "$c"; done
chmod 600 ./*.key
chmod 644 ./*.crt ./*.chain ./*.pin
