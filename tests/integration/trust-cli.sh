#!/bin/sh
# The offline tools of `zwgatectl trust`, end to end: keys, bundles made,
# signed and verified with the rules zwgated applies, and the errors an
# operator meets.  No daemon: these commands must never need one.
. "$top_srcdir/tests/lib.sh"

P="$T/pki"
sh "$top_srcdir/tests/pki.sh" "$P" || { echo "pki.sh failed" >&2; exit 1; }
cd "$T" || exit 1
# The offline tools must not touch the socket: a daemon is nowhere.
NOSOCK="$T/no/such/control.sock"
tc() { "$ZWGATECTL" -s "$NOSOCK" trust "$@"; }
# run COMMAND...: its output (both streams) in OUT, its status in ST.
run() { OUT=$("$@" 2>&1); ST=$?; }
status_is() { [ "$ST" -eq "$1" ] || { echo "  exit $ST, wanted $1: $OUT" >&2; return 1; }; }
mode_of() { stat -c %a "$1"; }

# The pin of a certificate, as the openssl CLI computes it.
openssl_pin() {
	openssl x509 -in "$1" -noout -pubkey |
		openssl pkey -pubin -outform DER |
		openssl dgst -sha256 -binary | base64
}

# --- keygen ------------------------------------------------------------
run tc keygen --out k1
check "keygen succeeds" status_is 0
check "keygen: private key 0600" [ "$(mode_of k1)" = 600 ]
check "keygen: public key 0644" [ "$(mode_of k1.pub)" = 644 ]
K1=$(printf '%s\n' "$OUT" | sed -n 's/^public key //p')
# The raw key is the last 32 bytes of the DER SubjectPublicKeyInfo.
check "keygen prints the public key" [ "$K1" = \
	"$(openssl pkey -pubin -in k1.pub -outform DER | tail -c 32 | base64)" ]
check "keygen: an Ed25519 key openssl reads" \
	contains "$(openssl pkey -in k1 -noout -text 2>&1)" "ED25519"
cp k1 k1.before
run tc keygen --out k1
check "keygen refuses to overwrite" status_is 1
check "... and says why" contains "$OUT" "exists"
check "... and the key is unchanged" cmp -s k1 k1.before
for k in k2 k3 k4; do tc keygen --out $k >/dev/null; done
check "keygen makes different keys" [ "$(cat k1.pub)" != "$(cat k2.pub)" ]
run tc keygen
check "keygen without --out: usage" status_is 2

# --- make --------------------------------------------------------------
# make_b1 [EXTRA...]: version 1, trusted by k1 and k2, both needed.
make_b1() {
	tc make --version 1 --expires 2099-01-01 --host broker.test \
		--host other.test --anchor "$P/ca.crt" --recovery "$P/bad-ca.crt" \
		--pin-from "$P/ca.crt" --pin "$(openssl_pin "$P/bad-ca.crt")" \
		--signer k1.pub k2.pub --threshold 2 --out b1.json "$@"
}
run make_b1
check "make with every option" status_is 0
check "make says it is unsigned" contains "$OUT" "unsigned"
check "make: the version" [ "$(jq -r .version b1.json)" = 1 ]
check "make: the expiry at 00:00:00Z" \
	[ "$(jq -r .expires b1.json)" = 2099-01-01T00:00:00Z ]
check "make: repeated --host gives both" \
	[ "$(jq -c .hosts b1.json)" = '["broker.test","other.test"]' ]
check "make: the anchor" [ "$(jq '.anchors | length' b1.json)" = 1 ]
check "make: the recovery root" [ "$(jq '.recovery | length' b1.json)" = 1 ]
check "make: several values after --signer" \
	[ "$(jq '.signers | length' b1.json)" = 2 ]
check "make: the threshold" [ "$(jq .threshold b1.json)" = 2 ]
check "make: no signatures yet" [ "$(jq '.signatures // [] | length' b1.json)" = 0 ]
# --pin values come first, then those of --pin-from.
check "--pin-from equals the openssl CLI's pin" \
	[ "$(jq -r '.pins[1]' b1.json)" = "$(openssl_pin "$P/ca.crt")" ]
check "--pin keeps the pin given" \
	[ "$(jq -r '.pins[0]' b1.json)" = "$(openssl_pin "$P/bad-ca.crt")" ]
check "make: two pins" [ "$(jq '.pins | length' b1.json)" = 2 ]
check "make: the signer is k1's public key" \
	[ "$(jq -r '.signers[0]' b1.json)" = "$K1" ]
run make_b1
check "make overwrites its --out" status_is 0
check "... leaving no temporary file" [ -z "$(find . -maxdepth 1 -name '*tmp*')" ]

run make_b1 --version
check "make: an option without a value" status_is 2
run tc make --expires 2099-01-01 --host broker.test --anchor "$P/ca.crt" \
	--pin-from "$P/ca.crt" "$P/bad-ca.crt" --signer k1.pub --threshold 1 \
	--out x.json
check "make without --version: usage" status_is 2
check "... naming it" contains "$OUT" "--version is required"
check "... and writing nothing" [ ! -e x.json ]
run tc make --version 1 --expires 2099-02-30 --host broker.test \
	--anchor "$P/ca.crt" --pin-from "$P/ca.crt" "$P/bad-ca.crt" \
	--signer k1.pub --threshold 1 --out x.json
check "make: a day that does not exist" status_is 2
check "... named" contains "$OUT" "2099-02-30"
run tc make --version 1 --expires 2000-01-01 --host broker.test \
	--anchor "$P/ca.crt" --pin-from "$P/ca.crt" "$P/bad-ca.crt" \
	--signer k1.pub --threshold 1 --out x.json
check "make: an expiry in the past" status_is 1
run tc make --version 1 --expires 2099-01-01 --host broker.test \
	--anchor "$P/ca.crt" --pin-from "$P/ca.crt" --signer k1.pub \
	--threshold 1 --out x.json
check "make: one pin is refused" status_is 1
check "... because a backup pin is needed" contains "$OUT" "pin"
check "... and nothing is written" [ ! -e x.json ]
run make_b1 --colour blue
check "make: an unknown option" status_is 2
check "... named" contains "$OUT" "unknown option '--colour'"
run tc make --version 1 --expires 2099-01-01 --host broker.test \
	--anchor "$T/nonexistent.pem" --pin-from "$P/ca.crt" "$P/bad-ca.crt" \
	--signer k1.pub --threshold 1 --out x.json
check "make: a missing PEM file" status_is 1
check "... named" contains "$OUT" "nonexistent.pem"
run tc make --version 1 --expires 2099-01-01 --host broker.test \
	--anchor "$P/server.crt" --pin-from "$P/ca.crt" "$P/bad-ca.crt" \
	--signer k1.pub --threshold 1 --out x.json
check "make: a server certificate is no anchor" status_is 1
run tc make --version 1 --expires 2099-01-01 --host broker.test \
	--anchor "$P/ca.crt" --pin "not-a-pin" --pin-from "$P/ca.crt" \
	--signer k1.pub --threshold 1 --out x.json
check "make: a malformed pin" status_is 2
run tc make --version 1 --expires 2099-01-01 --host broker.test \
	--anchor "$P/ca.crt" --pin-from "$P/ca.crt" "$P/bad-ca.crt" \
	--signer k1.pub --threshold 2 --out x.json
check "make: a threshold above the signers" status_is 1

# --- sign and verify ---------------------------------------------------
check "make writes mode 0644" [ "$(mode_of b1.json)" = 644 ]
chmod 640 b1.json
run tc sign --key k1 b1.json
check "sign" status_is 0
check "sign keeps the file's mode" [ "$(mode_of b1.json)" = 640 ]
check "sign names the file and the key" \
	contains "$OUT" "signed b1.json with key $(jq -r '.signers[0]' b1.json) (1 signature)"
tc sign --key k2 b1.json >/dev/null
run tc sign --key k2 b1.json
check "signing again with a key replaces its signature" \
	contains "$OUT" "(2 signatures)"
run tc sign --key k1.pub b1.json
check "sign with a public key fails" status_is 1

# b2: version 2 for the same hosts and keys.
make_b2() {
	tc make --version 2 --expires 2099-01-01 --host broker.test \
		--anchor "$P/ca.crt" --pin-from "$P/ca.crt" "$P/bad-ca.crt" \
		--signer k1.pub k2.pub --threshold 2 --out b2.json >/dev/null
}
make_b2
tc sign --key k1 b2.json >/dev/null
run tc verify --trusted b1.json b2.json
check "signed by one key of two: refused" status_is 1
check "... counting distinct keys" contains "$OUT" "distinct"
check "... in the verify form" contains "$OUT" "b2.json: would be refused: "
tc sign --key k1 b2.json >/dev/null
run tc verify --trusted b1.json b2.json
check "the same key twice still counts once" contains "$OUT" "refused"
tc sign --key k2 b2.json >/dev/null
run tc verify --trusted b1.json b2.json
check "signed by both keys: accepted" status_is 0
check "... with threshold 2" contains "$OUT" \
	"b2.json: would be accepted: version 2, signed by 2 of the 2 trusted keys"
run tc verify --trusted b1.json --host broker.test b2.json
check "verify --host: covered" status_is 0
run tc verify --trusted b1.json --host broker.test --host other.test b2.json
check "verify --host: not covered" status_is 1
check "... named" contains "$OUT" "does not cover host other.test"
run tc verify --trusted b2.json b1.json
check "an older version is refused" status_is 1
check "... for its version" contains "$OUT" "floor"
sed 's/"version": 2,/"version": 3,/' b2.json > b3.json
check "the tampered copy differs" [ "$(jq .version b3.json)" = 3 ]
run tc verify --trusted b1.json b3.json
check "a tampered bundle is refused" status_is 1
check "... for its signatures" contains "$OUT" "signed by 0"
echo 'this is not a bundle' > garbage.json
run tc verify --trusted b1.json garbage.json
check "garbage is refused" status_is 1
check "... with the parse reason" contains "$OUT" "not JSON"
run tc verify --trusted garbage.json b2.json
check "a trusted bundle that does not parse is an error" status_is 1
run tc verify b2.json
check "verify without --trusted: usage" status_is 2

# Key rotation: new keys k3, k4 need k1+k2 and k3+k4.
tc make --version 3 --expires 2099-01-01 --host broker.test \
	--anchor "$P/ca.crt" --pin-from "$P/ca.crt" "$P/bad-ca.crt" \
	--signer k3.pub k4.pub --threshold 2 --out rot.json >/dev/null
tc sign --key k1 rot.json >/dev/null
tc sign --key k2 rot.json >/dev/null
run tc verify --trusted b2.json rot.json
check "new signer keys without their signatures: refused" status_is 1
check "... saying so" contains "$OUT" "new keys"
tc sign --key k3 rot.json >/dev/null
tc sign --key k4 rot.json >/dev/null
run tc verify --trusted b2.json rot.json
check "new signer keys with both thresholds: accepted" status_is 0

# --- import's own checks, before any socket ----------------------------
head -c 40000 /dev/zero | tr '\0' ' ' > big.json
run tc import big.json
check "import: a file over 32 KiB" status_is 1
check "... says so" contains "$OUT" "32 KiB"
printf '{"format": 1, "x": "\377"}\n' > latin1.json
run tc import latin1.json
check "import: not UTF-8" status_is 1
check "... says so" contains "$OUT" "not UTF-8"
printf '{"format": 1}\000\n' > nul.json
run tc import nul.json
check "import: a NUL byte" status_is 1
check "... says so" contains "$OUT" "NUL"
run tc import b2.json
check "import with no daemon: not running" status_is 3

# --- help and usage ----------------------------------------------------
run "$ZWGATECTL" help trust
check "help trust" contains "$OUT" "trust verify --trusted BUNDLE"
run tc --help
check "trust --help" contains "$OUT" "trust keygen --out KEY"
run tc sign --help
check "trust sign --help" contains "$OUT" "usage: zwgatectl trust sign"
run tc frobnicate
check "an unknown subcommand: usage" status_is 2
run tc
check "no subcommand: usage" status_is 2
run tc status --colour
check "status: an unknown option" status_is 2
finish
