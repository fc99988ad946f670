#!/bin/sh
# The privacy guard that every integration test runs at its end (lib.sh's
# privacy_scan) must be able to fail: each kind of secret or personal
# datum, planted in a log, a capture or an output file of a scratch
# directory, is found, named, and not repeated in the guard's own words.
. "$top_srcdir/tests/lib.sh"

G=$T/guard
mkdir -p "$G/pki" "$G/elsewhere"
sh "$top_srcdir/tests/pki.sh" "$G/pki" >/dev/null || { echo "pki.sh failed"; exit 99; }
openssl rand -hex 16 >"$G/elsewhere/zwave-net"
printf 'zwave {\n\tnetwork-key-file "elsewhere/zwave-net"\n}\n' >"$G/zwgate.conf"
echo "hunter2-correct-horse" >"$G/mqtt.pass"
"$ZWGATECTL" keys generate "$G/zwavejs-keys.json" >/dev/null ||
	{ echo "zwgatectl keys generate failed"; exit 99; }
zkey() { jq -r ".securityKeys$1" "$G/zwavejs-keys.json"; }
echo "notice: connected to broker.test" >"$G/daemon.log"
echo "zwgate/gw/status online" >"$G/capture.log"

check "a clean directory passes" privacy_scan "$G"

# plant WHAT FILE LINE: LINE added to FILE must fail the guard, naming
# WHAT, without printing LINE itself.
plant() {
	cp "$G/$2" "$G/$2.clean"
	echo "$3" >>"$G/$2"
	out=$(privacy_scan "$G")
	st=$?
	check "$1 in $2 is found" [ "$st" -ne 0 ]
	check "... and named" contains "$out" "$2"
	case $out in
	*"$3"*) not_ok "... but the guard printed the secret" ;;
	*) ok "... without printing it" ;;
	esac
	mv "$G/$2.clean" "$G/$2"
}

plant "a line of the client key" daemon.log "key $(sed -n 2p "$G/pki/client.key")"
plant "a PEM private key" capture.log "-----BEGIN PRIVATE KEY-----"
plant "the network key (named by the config, kept elsewhere)" capture.log \
	"$(cat "$G/elsewhere/zwave-net")"
plant "a Z-Wave JS network key" daemon.log "key=$(zkey .S2_AccessControl)"
plant "a Z-Wave JS network key in capitals" capture.log \
	"$(zkey .S0_Legacy | tr a-f A-F)"
plant "a password file's contents" daemon.log "login hunter2-correct-horse"
plant "the planted Wi-Fi name" capture.log "{\"ssid\":\"$WIFI_SSID\"}"
plant "the planted e-mail address" daemon.log "user $EMAIL"
echo "x $(sed -n 3p "$G/pki/server.key")" >"$G/verify.out"
fails_scan() { ! privacy_scan "$1" >/dev/null; }
check "an .out file is scanned too" fails_scan "$G"
rm -f "$G/verify.out"
cat "$G/pki/ca.crt" "$G/pki/client.crt" >>"$G/capture.log"
check "public certificates are no secret" privacy_scan "$G"
rm -rf "$G"
finish
