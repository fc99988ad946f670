#!/bin/sh
# The trust model end to end (docs/DESIGN.md, "Trust model"): zwgated
# against a real mosquitto broker whose server chain changes from row to
# row, with a PKI made at test time (tests/trustpki.sh) and trust bundles
# made, signed and imported with zwgatectl.  The rows:
#
#   1  leaf renewed, same key and new key          connects
#   2  new intermediate under A                    connects
#   3  moved to B cross-signed by A                connects
#   4  moved to backup-pinned B, no cross-sign     connects
#   5  whole chain RSA -> ECDSA                    connects
#   6  TLS 1.3 only, then TLS 1.2 only             connects
#   7  moved to unknown root C                     refused; a signed bundle
#                                                  adding C is imported:
#                                                  connects, committed
#   8  a bundle whose pins miss the server         tried 3 times, dropped
#   R  chain under the recovery root R             connects (recovery)
#   9  clock at 1970, clock a year behind          pinned chain connects
#      (zwgated under faketime)                    (clock-unknown); an
#                                                  unpinned chain and a leaf
#                                                  expired before the floor
#                                                  are refused
#   10 impostors: self-signed, anchored but not    all refused
#      pinned, wrong SAN, expired leaf
#   11 bad bundles (signatures, threshold, floor,  all rejected by trust
#      expiry, rotation, truncated, garbage)       import, nothing changed
#   M  bundles over MQTT, P/trust, the fleet's     accepted, reported;
#      retained bundle                             replays ignored
#   H  two brokers in cloud { host }               bundles must cover both
#   12 SIGKILL while bundles are written, a torn   the next start uses a
#      slot file, a leftover temp file             whole bundle
#
# The factory bundle: anchors A (RSA) and B (ECDSA), recovery root R, pins
# A and B (the backup), two operator keys, threshold 2.  Only the broker
# restarts between rows; the gateway reconnects by itself.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"
BROKER_OWNER=$$

need_faketime

# ---- the broker (tests/trust-broker.sh) ------------------------------

. "$top_srcdir/tests/trust-broker.sh"
trust_broker_start leafA1

# served NAME ROOT [s_client options]: openssl s_client sees NAME's leaf,
# verified up to ROOT with the host name broker.test.
served() {
	n=$1 root=$2
	shift 2
	out=$(echo | openssl s_client -connect "127.0.0.1:$BROKER_PORT" \
		-servername broker.test -verify_hostname broker.test \
		-CAfile "$PKI/$root.crt" -verify_return_error \
		-cert "$PKI/client.crt" -key "$PKI/client.key" "$@" 2>&1 |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null)
	[ -n "$out" ] &&
		[ "$out" = "$(openssl x509 -in "$PKI/$n.crt" -noout -fingerprint -sha256)" ]
}

# ---- 0: the PKI and the broker configs themselves --------------------

ok=0
for r in leafA1:A leafA1-renewed:A leafA1-newkey:A leafA2:A leafB2-cross:A \
	leafB2:B leafB1:B leafC:C leafR:R; do
	serve "${r%:*}"
	if served "${r%:*}" "${r#*:}"; then
		ok=$((ok + 1))
	else
		echo "  ${r%:*} is not served as expected"
	fi
done
check "the broker serves every row's chain, verified by openssl ($ok/9)" [ $ok -eq 9 ]
serve leafB2-cross
check "... the cross-signed chain verifies with root A only" served leafB2-cross A
serve leafA1 tlsv1.3
check "tlsv1.3 broker: TLS 1.3 works" served leafA1 A -tls1_3
check "... TLS 1.2 does not" eval '! served leafA1 A -tls1_2'
serve leafA1 tlsv1.2
check "tlsv1.2 broker: TLS 1.2 works" served leafA1 A -tls1_2
check "... TLS 1.3 does not" eval '! served leafA1 A -tls1_3'
serve wrongsan
check "openssl refuses the wrong SAN" eval '! served wrongsan A'
serve expired
check "openssl refuses the expired leaf" eval '! served expired A'
pub() { openssl x509 -in "$PKI/$1.crt" -noout -pubkey; }
check "the expired leaf ended 2024-02-01" \
	[ "$(openssl x509 -in "$PKI/expired.crt" -noout -enddate)" = \
	"notAfter=Feb  1 00:00:00 2024 GMT" ]
check "renewed leaf: same key" [ "$(pub leafA1)" = "$(pub leafA1-renewed)" ]
check "new-key leaf: another key" [ "$(pub leafA1)" != "$(pub leafA1-newkey)" ]

# ---- bundles ---------------------------------------------------------

trust_keys k1 k2 k3 k4

# bundle OUT VERSION "ANCHORS" "PINS" "SIGNERS" "SIGNED BY" [MAKE OPTIONS]:
# a bundle with recovery root R and threshold 2.
bundle() {
	out=$1 v=$2 an=$3 pins=$4 signers=$5 by=$6
	shift 6
	trust_bundle "$out" "$v" "$an" "$pins" "$signers" "$by" \
		--recovery "$PKI/R.crt" --threshold 2 "$@"
}

bundle factory 1 "A B" "A B" "k1 k2" "k1 k2"
bundle factory-a1 1 "A B" "A1 B" "k1 k2" "k1 k2"  # A itself is not pinned
bundle add-c 2 "A B C" "A B C" "k1 k2" "k1 k2"
bundle miss-c 3 "A B C" "A B" "k1 k2" "k1 k2"

check "trust verify: bundle 2 holds on top of the factory bundle" \
	"$ZWGATECTL" trust verify --trusted "$B/factory.bundle" "$B/add-c.bundle"

# ---- gateways --------------------------------------------------------

# use_gw, gateway, start_gateway, ts, cloud_state and wait_connected are
# in tests/trust-broker.sh.

# wait_refused REASON-REGEX: at least 3 handshakes since serve (within
# 30 s; 2-3 s unless the machine is very busy), none got as far as
# CONNECT, the gateway is not connected, and trust status says why.
wait_refused() {
	wait_handshakes 3
	tries=$(handshakes)
	st=$(ts)
	# what the bundle said, not what the recovery roots said after it
	reason=$(echo "$st" | jqr .last.reason | sed 's/; recovery roots: .*//')
	if [ "$tries" -ge 3 ] && ! since_serve | grep -q "New client connected" &&
		[ "$(cloud_state)" != connected ] &&
		[ "$(echo "$st" | jqr .last.ok)" = false ] &&
		echo "$reason" | grep -Eqi -- "$1"; then
		echo "  ($tries tries refused: $reason)"
		return 0
	fi
	# which of the four conditions failed, for a failure seen only once
	echo "  tries $tries; connected since serve:" \
		"$(since_serve | grep -c 'New client connected'); state" \
		"$(cloud_state); last: $(echo "$st" | jq -c .last)" >&2
	echo "  wanted a reason matching: $1" >&2
	since_serve | grep -E "New client|New connection" | tail -3 |
		sed 's/^/  broker: /' >&2
	tail -3 "$T/daemon.log" | cut -c1-200 | sed 's/^/  log: /' >&2
	return 1
}

# last FILTER: a jq test on trust status's last handshake.
last() {
	[ "$(ts | jq ".last | ($1)")" = true ] && return 0
	echo "  last: $(ts | jq -c .last)" >&2
	return 1
}

# ---- the table -------------------------------------------------------

row() {
	ROW_N=$1 ROW_T=$2 ROW_F=$FAILED
	echo "# row $1: $2"
}
verdict() {
	v=PASS
	[ "$FAILED" -eq "$ROW_F" ] || v=FAIL
	# sorted by row number at the end; the recovery row comes after 8
	k=$ROW_N
	[ "$k" != R ] || k=8.5
	[ "$k" != M ] || k=11.5
	[ "$k" != H ] || k=11.7
	printf '%s\t# row %-3s %s ... %s: %s\n' "$k" "$ROW_N" "$ROW_T" "$1" \
		"$v" >>"$T/table"
}

# ---- rows 1-6: the server moves, the gateway follows -----------------

PIN_A=$(cat "$PKI/A.pin") PIN_B=$(cat "$PKI/B.pin")
PIN_C=$(cat "$PKI/C.pin") PIN_R=$(cat "$PKI/R.pin")
serve leafA1
gateway gw1 factory
# The factory bundle is held to the rules of config files where it is
# read, as ca-file is: a bundle others may write is refused, whatever it
# says (trust_link_open).
chmod 646 "$G/trust/factory.bundle"
mkdir -p "$STATE" "$RUN"
out=$(timeout 30 "$ZWGATED" -c "$CONF" --state-dir "$STATE" \
	--runtime-dir "$RUN" 2>&1)
st=$?
check "a factory bundle others may write stops the start (exit $st)" \
	[ "$st" -eq 1 ]
check "... and says why" contains "$out" \
	"is writable by others (mode 0646); refusing it"
chmod 644 "$G/trust/factory.bundle"
start_gateway

row 1 "leaf renewed, same key and new key"
check "leafA1: connects" wait_connected
check "... pinned by A, full mode" \
	last ".ok and .pin == \"$PIN_A\" and .mode == \"full\" and (.recovery | not)"
# last_good: trust/last-good's time, written off the loop after a
# verified connection (within 5 s); empty if none.
last_good() {
	n=0
	while [ ! -s "$STATE/trust/last-good" ] && [ $n -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	jqr '."last-good"' <"$STATE/trust/last-good" 2>/dev/null
}
lg=$(last_good)
check "... trust/last-good holds the time of that connection ($lg)" \
	sh -c '[ "$1" -ge $(($(date +%s) - 120)) ] && [ "$1" -le "$(date +%s)" ]' \
	sh "${lg:-0}"
check "... the clock's floor is that time" \
	[ "$(ts | jqr .clock.floor)" = "$(date -u -d "@${lg:-0}" +%Y-%m-%dT%H:%M:%SZ)" ]
check "... the status says factory bundle 1" \
	[ "$(ts | jq -c '[.active.version, .active.from, .pending]')" = '[1,"factory",null]' ]
serve leafA1-renewed
check "renewed leaf, same key: connects" wait_connected
check "... chain starts with the renewed leaf" \
	last '.chain[0] | test("leafA1-renewed")'
serve leafA1-newkey
check "renewed leaf, new key: connects" wait_connected
check "... chain starts with the new-key leaf" \
	last '.chain[0] | test("leafA1-newkey")'
verdict connects

row 2 "new intermediate under A"
serve leafA2
check "leafA2 under A2: connects" wait_connected
check "... through A2, pinned by A" \
	last "(.chain[1] | test(\"intermediate A2\")) and .pin == \"$PIN_A\""
verdict connects

row 3 "moved to B cross-signed by A"
serve leafB2-cross
check "leafB2 + B2 + B-by-A: connects" wait_connected
check "... through B2, pinned by A or B" \
	last "(.chain[1] | test(\"intermediate B2\")) and
		(.pin == \"$PIN_A\" or .pin == \"$PIN_B\")"
verdict connects

row 4 "moved to backup-pinned B, no cross-sign"
serve leafB2
check "leafB2 + B2: connects" wait_connected
check "... on the backup pin B" last ".pin == \"$PIN_B\""
verdict connects

row 5 "whole chain RSA -> ECDSA"
serve leafB1
check "leafB1 (P-256) + B1 (P-384) + B (P-384): connects" wait_connected
check "... through B1, pinned by B" \
	last ".pin == \"$PIN_B\" and (.chain[1] | test(\"intermediate B1\"))"
verdict connects

row 6 "TLS 1.3 only, then TLS 1.2 only"
serve leafA1 tlsv1.3
check "TLS 1.3 only: connects" wait_connected
serve leafA1 tlsv1.2
check "TLS 1.2 only: connects" wait_connected
verdict connects

# ---- 7, 8, R: bundles by file ----------------------------------------

row 7 "moved to unknown root C"
serve leafC
check "leafC: refused" wait_refused "issuer|unknown|untrusted|anchor"
out=$(ctl trust import --json "$B/add-c.bundle" 2>&1)
check "a bundle adding C is accepted, pending" \
	[ "$(echo "$out" | jq -c '[.version, .pending]')" = '[2,true]' ]
check "... connects" wait_connected
check "... with bundle 2, pinned by C" \
	last ".version == 2 and .pin == \"$PIN_C\""
n=0
while [ "$(ts | jq .pending)" != null ] && [ $n -lt 50 ]; do
	sleep 0.1
	n=$((n + 1))
done
st=$(ts | jq -c '[.active.version, (.active.from | test("^slot [ab]$")),
	.floor, .pending]')
check "... committed: active 2 from a slot, floor 2, nothing pending" \
	[ "$st" = '[2,true,2,null]' ]
check "... the slot file is there" sh -c "ls '$STATE'/trust/slot-?.bundle >/dev/null"
verdict "refused, then connects after import"

row 8 "a signed bundle whose pins miss the server"
out=$(ctl trust import --json "$B/miss-c.bundle" 2>&1)
check "bundle 3 is accepted as pending" \
	[ "$(echo "$out" | jq -c '[.version, .pending]')" = '[3,true]' ]
n=0
while [ "$(ts | jq -c '[.pending, (.dropped != null)]')" != '[null,true]' ] &&
	[ $n -lt 200 ]; do
	sleep 0.1
	n=$((n + 1))
done
st=$(ts)
echo "  dropped: $(echo "$st" | jqr .dropped)"
check "... dropped, pending null, the reason given (no pin)" \
	[ "$(echo "$st" | jq -c '[.pending, (.dropped | test("pin"))]')" = '[null,true]' ]
check "... the active bundle is still 2, floor 2" \
	[ "$(echo "$st" | jq -c '[.active.version, .floor]')" = '[2,2]' ]
check "... tried 3 times (3 refused handshakes with bundle 3)" \
	[ "$(grep -c 'pending bundle version 3 refuses' "$T/daemon.log")" -eq 3 ]
n=0
while [ "$(cloud_state)" != connected ] && [ $n -lt 50 ]; do
	sleep 0.1
	n=$((n + 1))
done
check "... still connected, on bundle 2" last '.ok and .version == 2'
out=$(ctl trust import "$B/miss-c.bundle" 2>&1)
check "bundle 3 again: refused (no flapping link), saying it was dropped" \
	contains "$out" "was dropped after 3 failed tries"
check "... nothing pending" [ "$(ts | jq .pending)" = null ]
verdict "tried, reverted after 3 tries"

row R "chain under the recovery root R"
serve leafR
check "leafR: connects" wait_connected
check "... through recovery" \
	last ".ok and .recovery and .pin == \"$PIN_R\""
verdict "connects (recovery)"

# ---- 11: bundles that must be rejected -------------------------------

row 11 "bad bundles"
serve leafA1
wait_connected >/dev/null 2>&1
bundle b-badsig 4 "A B C" "A B C" "k1 k2" "k1 k2"
# one base64 character of each signature changed
jq '.signatures |= map(.sig |=
	(.[0:8] + (if .[8:9] == "A" then "B" else "A" end) + .[9:]))' \
	"$B/b-badsig.bundle" >"$B/tmp" && mv "$B/tmp" "$B/b-badsig.bundle"
bundle b-under 4 "A B C" "A B C" "k1 k2" "k1"
bundle b-twice 4 "A B C" "A B C" "k1 k2" "k1"
jq '.signatures += .signatures' "$B/b-twice.bundle" >"$B/tmp" &&
	mv "$B/tmp" "$B/b-twice.bundle"
bundle b-floor 2 "A B C" "A B C" "k1 k2" "k1 k2"
rm -f "$B/b-expired.bundle"
# Made in 2024 (trust make stamps issued-at with the clock).
fake_clock "@2024-06-01 00:00:00" "$ZWGATECTL" trust make --version 5 \
	--expires 2025-01-01 --host broker.test \
	--anchor "$PKI/A.crt" --anchor "$PKI/B.crt" \
	--pin-from "$PKI/A.crt" --pin-from "$PKI/B.crt" \
	--signer "$B/k1.key.pub" --signer "$B/k2.key.pub" --threshold 2 \
	--out "$B/b-expired.bundle" >/dev/null
for k in k1 k2; do
	"$ZWGATECTL" trust sign --key "$B/$k.key" "$B/b-expired.bundle" >/dev/null
done
bundle b-rotate 6 "A B C" "A B C" "k3 k4" "k1 k2"
bundle good-7 7 "A B C" "A B C" "k1 k2" "k1 k2"
head -c $(($(wc -c <"$B/good-7.bundle") / 2)) "$B/good-7.bundle" >"$B/b-truncated.bundle"
head -c 1048576 /dev/urandom >"$B/b-garbage.bundle"

before=$(ts | jq -S 'del(.clock)')
# raw_import FILE: the reply of zwgated itself to trust-import (the
# control.h codes), bypassing zwgatectl's own checks.
raw_import() {
	jq -Rsc '{id: 1, cmd: "trust-import", bundle: .}' "$1" |
		socat -t 5 - UNIX-CONNECT:"$SOCK"
}
trust_files() { (cd "$STATE/trust" && ls -a && cat ./* | cksum); }
files=$(trust_files)
# FILE:CODE:WORDS: zwgatectl says WORDS, zwgated's reply has CODE.
for t in "b-badsig:EPERM:signature|distinct" "b-under:EPERM:distinct" \
	"b-twice:EPERM:distinct|twice|duplicate|same key" \
	"b-floor:ESTALE:floor" "b-expired:ETIME:expired" \
	"b-rotate:EPERM:new keys" "b-truncated:EINVAL:JSON|truncated|end of" \
	"b-garbage:E2BIG:bytes"; do
	f=${t%%:*} code=${t#*:} re=${code#*:} code=${code%%:*}
	out=$(ctl trust import "$B/$f.bundle" 2>&1)
	rc=$?
	echo "  $f: $(echo "$out" | head -1)"
	check "$f: rejected by zwgatectl trust import" [ $rc -ne 0 ]
	check "... saying why ($re)" \
		sh -c 'echo "$1" | grep -Eq -- "$2"' sh "$out" "$re"
	got=$(raw_import "$B/$f.bundle" | jqr .code)
	check "... zwgated's code is $code ($got)" [ "$got" = "$code" ]
	check "... nothing changed" [ "$(ts | jq -S 'del(.clock)')" = "$before" ]
	check "... nor on disk" [ "$(trust_files)" = "$files" ]
done
# Over the bundle limit but within a request: zwgated's own limit.
head -c 40000 /dev/zero | tr '\0' x >"$B/b-40k.bundle"
out=$(raw_import "$B/b-40k.bundle")
echo "  40000 bytes to zwgated: $(echo "$out" | jqr .error)"
check "40000 bytes sent to zwgated directly: EFBIG" \
	[ "$(echo "$out" | jqr .code)" = EFBIG ]
check "... saying why (bytes)" contains "$(echo "$out" | jqr .error)" bytes
check "... nothing changed" [ "$(ts | jq -S 'del(.clock)')" = "$before" ]
check "the daemon is still connected" [ "$(cloud_state)" = connected ]
out=$(ctl trust import --json "$B/good-7.bundle" 2>&1)
check "control: the whole bundle 7 is accepted" \
	[ "$(echo "$out" | jq -c '[.version, .pending]')" = '[7,true]' ]
n=0
while [ "$(ts | jq -c '[.active.version, .pending]')" != '[7,null]' ] && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
check "... and committed" [ "$(ts | jq -c '[.active.version, .floor, .pending]')" = '[7,7,null]' ]
verdict "all rejected, nothing changed"

# ---- M: the same over MQTT, and the health topic ---------------------

row M "a bundle over MQTT (P/trust/bundle/set)"
P=zwgate/test-gw
mq() {
	"$@" -h 127.0.0.1 -p "$BROKER_PORT" --cafile "$PKI/A.crt" --insecure \
		--cert "$PKI/client.crt" --key "$PKI/client.key"
}
# The capture exists before the subscriber does (the shell makes it in
# the child, later than this shell may first count its lines).
: >"$T/mqtt.log"
mq mosquitto_sub -v -t "$P/trust/bundle" -t "$P/health" -t "$P/trust" \
	>>"$T/mqtt.log" 2>&1 &
SUBPID=$!
# trust_said PAIR...: P/trust said each [active, pending] version pair,
# in this order (others between them, and repeats, allowed), within 10 s.
trust_said() {
	want=$(echo "$@" | tr -d ' ')
	n=0
	while [ $n -lt 100 ]; do
		got=$(grep "^$P/trust " "$T/mqtt.log" | cut -d' ' -f2- |
			jq -c '[.active.version, .pending.version]' | uniq |
			grep -x -F "$(printf '%s\n' "$@")" | uniq | tr -d '\n')
		case $got in *"$want"*) return 0 ;; esac
		sleep 0.1
		n=$((n + 1))
	done
	echo "  P/trust said: $got"
	return 1
}
# seen TOPIC N: the N-th message on TOPIC, within 10 s
seen_msg() {
	n=0
	while [ "$(grep -c "^$1 " "$T/mqtt.log")" -lt "$2" ] && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	grep "^$1 " "$T/mqtt.log" | sed -n "${2}p" | cut -d' ' -f2-
}
h=$(seen_msg "$P/health" 1)
echo "  $P/health: $h"
check "P/health is retained: trust ok, full mode, version 7" \
	[ "$(echo "$h" | jq -c '[.trust, .mode, .version, .alarms]')" = '["ok","full",7,[]]' ]
r=$(seen_msg "$P/trust" 1)
echo "  $P/trust: $(echo "$r" | cut -c1-200)..."
pin_of() { jq -r --arg n "$1" '.anchors[] | select(.subject | test("CN=" + $n + "\\b")) | .pin'; }
check "P/trust is retained: ok, version 7, no pending, floor 7, no alarm" \
	[ "$(echo "$r" | jq -c '[.trust, .active.version, .pending, .floor, .alarms]')" = '["ok",7,null,7,[]]' ]
check "... the active bundle's anchors with their pins and expiry, as trust status has them" \
	[ "$(echo "$r" | jq -cS '.active.anchors')" = "$(ts | jq -cS '[.active.anchors[] | {subject, pin, not_after}]')" ]
check "... its pins and hosts" \
	[ "$(echo "$r" | jq -c '[.active.pins == ($s | fromjson | .active.pins), .active.hosts]' --arg s "$(ts)")" = '[true,["broker.test"]]' ]
check "... when and by which software" \
	[ "$(echo "$r" | jq -c '[.software, (.ts / 1000 | . > now - 600 and . < now + 60)]')" = "[\"$("$ZWGATED" --version | cut -d' ' -f2)\",true]" ]
check "... and nothing of the gateway's own: no slot, path or signer key" \
	eval '! echo "$r" | grep -E -q "slot|/tmp|signers|$T"'
bundle good-8 8 "A B C" "A B C" "k1 k2" "k1 k2"
mq mosquitto_pub -q 1 -t "$P/trust/bundle/set" -f "$B/good-8.bundle"
r=$(seen_msg "$P/trust/bundle" 1)
echo "  $P/trust/bundle: $r"
check "bundle 8 on P/trust/bundle/set: accepted, pending" \
	[ "$(echo "$r" | jq -c '[.ok, .result.version, .result.pending]')" = '[true,8,true]' ]
n=0
while [ "$(ts | jq -c '[.active.version, .pending]')" != '[8,null]' ] && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
check "... and committed" [ "$(ts | jq -c '[.active.version, .floor]')" = '[8,8]' ]
before=$(ts | jq -S 'del(.clock, .last)')
mq mosquitto_pub -q 1 -t "$P/trust/bundle/set" -f "$B/b-under.bundle"
r=$(seen_msg "$P/trust/bundle" 2)
echo "  $P/trust/bundle: $r"
check "a bundle under threshold on MQTT: refused, EPERM, saying why" \
	[ "$(echo "$r" | jq -c '[.ok, .code, (.error | test("distinct"))]')" = '[false,"EPERM",true]' ]
check "... nothing changed" [ "$(ts | jq -S 'del(.clock, .last)')" = "$before" ]
check "P/trust said bundle 8 pending, then active" \
	trust_said '[7,8]' '[8,null]'
# The fleet's bundle: one retained publish for every gateway.
bundle good-9 9 "A B C" "A B C" "k1 k2" "k1 k2"
mq mosquitto_pub -q 1 -r -t zwgate/_fleet/trust/bundle -f "$B/good-9.bundle"
r=$(seen_msg "$P/trust/bundle" 3)
echo "  $P/trust/bundle: $r"
check "bundle 9 retained on zwgate/_fleet/trust/bundle: accepted, pending, said so" \
	[ "$(echo "$r" | jq -c '[.ok, .result.version, .topic]')" = '[true,9,"zwgate/_fleet/trust/bundle"]' ]
check "... committed: P/trust says version 9 pending, then active" \
	trust_said '[8,9]' '[9,null]'

# It comes back at every connect, and again: no answer, no warning.
reports=$(grep -c "^$P/trust " "$T/mqtt.log")
refused=$(grep -c 'bundle refused' "$T/daemon.log")
stop_daemon TERM
DAEMON_ARGS=-d start_gateway
check "the gateway is back after a restart" wait_connected
r=$(seen_msg "$P/trust" $((reports + 1)))
check "... P/trust is published again" \
	[ "$(echo "$r" | jq -c '.active.version')" = 9 ]
mq mosquitto_pub -q 1 -t zwgate/_fleet/trust/bundle -f "$B/good-9.bundle"
sleep 1
check "... the fleet's bundle (retained, and once more) is no news: no answer, no warning" \
	[ "$(grep -c "^$P/trust/bundle " "$T/mqtt.log"):$(grep -c 'bundle refused' "$T/daemon.log")" = "3:$refused" ]
check "... it was seen twice, and ignored" \
	[ "$(grep -c 'bundle ignored: .*version 9 is not above the floor 9' "$T/daemon.log")" -eq 2 ]
mq mosquitto_pub -q 1 -r -n -t zwgate/_fleet/trust/bundle
kill "$SUBPID" 2>/dev/null
wait "$SUBPID" 2>/dev/null
verdict "accepted and committed; a bad one refused"

# ---- H: several brokers ----------------------------------------------

row H "several brokers: every bundle must cover every one"
stop_daemon TERM
bundle two-hosts 1 "A B" "A B" "k1 k2" "k1 k2" --host other.test
# two_hosts: the gateway's cloud block names broker.test and other.test.
two_hosts() {
	sed -i 's/^\thost "broker.test"$/\thost "broker.test" "other.test"/
		s/^\tconnect-to "127.0.0.1"$/\tconnect-to 127.0.0.1 127.0.0.1/' "$CONF"
	grep -q '"other.test"' "$CONF"
}
gateway gw3 two-hosts
check "a gateway with two brokers" two_hosts
start_gateway
check "... and a factory bundle for both: connects" wait_connected
out=$(ctl trust import "$B/good-7.bundle" 2>&1)
check "a bundle for broker.test alone is refused, naming the other" \
	contains "$out" "does not cover host other.test"
stop_daemon TERM
gateway gw4 factory
two_hosts
out=$(timeout 20 "$ZWGATED" -c "$CONF" --state-dir "$STATE" --runtime-dir "$RUN" 2>&1)
check "a factory bundle for broker.test alone: zwgated does not start, saying why" \
	contains "$out" "does not cover the broker host other.test"
use_gw gw3
start_gateway
verdict "each broker covered, or refused"

# ---- 9: the clock cannot be trusted ----------------------------------

row 9 "clock at 1970 and clock stale by a year"
stop_daemon TERM
for clock in "@1970-01-02 00:00:00" "-365d"; do
	use_gw gw1
	serve leafA1
	start_gateway "$clock"
	check "clock $clock: pinned chain connects" wait_connected
	check "... in clock-unknown mode" last '.ok and .mode == "clock-unknown"'
	st=$(ts | jq -c '[.mode, .clock.synced, .clock.now < .clock.floor]')
	check "... status says so, the clock synchronised but below the floor" \
		[ "$st" = '["clock-unknown",true,true]' ]
	case $clock in
	@1970*) year=1970 ;;
	*) year=$(($(date -u +%Y) - 1)) ;;
	esac
	check "... the gateway's clock is in $year" \
		[ "$(ts | jqr .clock.now | cut -c1-4)" = "$year" ]
	serve expired
	check "... a leaf expired before the floor is refused" wait_refused "floor|expired"
	stop_daemon TERM
done
gateway gw2 factory-a1
for clock in "@1970-01-02 00:00:00" "-365d"; do
	serve leafA2
	start_gateway "$clock"
	check "clock $clock: an unpinned chain is refused" wait_refused "pin"
	check "... in clock-unknown mode" last '.mode == "clock-unknown"'
	stop_daemon TERM
done
# The clock becomes synchronised: the link is verified again, in full.
use_gw gw1
serve leafA1
rm -f "$G/synced"
start_gateway
check "clock not synchronised: the pinned chain connects" wait_connected
check "... in clock-unknown mode" last '.ok and .mode == "clock-unknown"'
: >"$G/synced"
n=0
while [ "$(ts | jqr .last.mode)" != full ] && [ $n -lt 150 ]; do
	sleep 0.1
	n=$((n + 1))
done
check "once synchronised: verified again, in full mode" last '.ok and .mode == "full"'
check "... the log says why the link was made again" \
	grep -q "the clock is trusted now" "$T/daemon.log"
stop_daemon TERM
use_gw gw2 # A1 pinned, not A: for the impostors
verdict "pinned connects, unpinned and expired refused"

# ---- 10: impostors ---------------------------------------------------

row 10 "impostors"
serve leafA1
start_gateway
check "control: leafA1 (A1 pinned) connects" wait_connected
serve selfsigned
check "self-signed: refused" wait_refused "self.signed|issuer"
serve leafA2
check "anchored by A, no pin in the chain: refused" wait_refused "pin"
serve wrongsan
check "wrong SAN: refused" wait_refused "host|name|mismatch"
serve expired
check "expired leaf, clock synchronised: refused" wait_refused "expired"
stop_daemon TERM
verdict "all refused"

# ---- 12: SIGKILL while a bundle is written ---------------------------

row 12 "SIGKILL while writing bundles"
use_gw gw1
serve leafA1
seen="1 2 3 7 8 9"
# whole VERSION: one of the bundles this test made (or none: 0).
whole() { case " $seen 0 " in *" $1 "*) return 0 ;; esac; return 1; }
for v in $(seq 10 34); do
	bundle "k-$v" "$v" "A B C" "A B C" "k1 k2" "k1 k2"
done
good=0
for i in 0 1 2 3 4 5 6 7; do
	v=$((10 + 3 * i))
	start_gateway
	(for w in $v $((v + 1)) $((v + 2)); do
		ctl trust import "$B/k-$w.bundle" >/dev/null 2>&1
	done) &
	imp=$!
	sleep "0.0$(od -An -N2 -tu2 /dev/urandom | tr -d ' ' | cut -c1-2)"
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	wait "$imp" 2>/dev/null
	DAEMON_PID=
	seen="$seen $v $((v + 1)) $((v + 2))"
	start_gateway
	st=$(ts)
	a=$(echo "$st" | jq '.active.version')
	p=$(echo "$st" | jq '.pending.version // 0')
	whole "$a" && whole "$p" && good=$((good + 1))
	echo "  killed during imports of $v-$((v + 2)): active $a, pending $p"
	stop_daemon KILL
done
check "after each kill: status parses, versions are whole bundles ($good/8)" [ $good -eq 8 ]

# A pending bundle (the broker refuses every chain, so it stays pending)
# torn on disk, and a temp file left by a kill.
td=$T/gw1/state/trust
seen="$seen 34"
serve selfsigned
start_gateway
before=$(ts | jq .active.version)
slot=$(ctl trust import --json "$B/k-34.bundle" | jqr .slot)
out=$(raw_import "$B/k-34.bundle")
check "the same bundle again: EALREADY, the link is not made again" \
	[ "$(echo "$out" | jqr .code)" = EALREADY ]
stop_daemon KILL
check "bundle 34 is pending in slot $slot" [ "$(jqr .pending <"$td/state")" = "$slot" ]
head -c 700 "$td/slot-$slot.bundle" >"$td/tmp" && mv "$td/tmp" "$td/slot-$slot.bundle"
echo '{"format": 1, "vers' >"$td/.slot-$slot.bundle.tmp.99999"
serve leafA1
start_gateway
st=$(ts)
echo "  the pending slot torn: $(echo "$st" | jq -c '[.active.version, .active.from, .pending]')"
check "the pending slot torn: status parses, nothing pending" \
	[ "$(echo "$st" | jq .pending)" = null ]
check "... the active bundle is the whole one it was ($before)" \
	[ "$(echo "$st" | jq .active.version)" = "$before" ]
check "... the leftover temp file is removed" [ ! -e "$td/.slot-$slot.bundle.tmp.99999" ]
check "... connects" wait_connected
stop_daemon KILL

act=$(jqr .active <"$td/state")
check "the active bundle is in a slot ($act)" eval '[ "$act" = a ] || [ "$act" = b ]'
head -c 500 "$td/slot-$act.bundle" >"$td/tmp" && mv "$td/tmp" "$td/slot-$act.bundle"
serve leafA1
start_gateway
st=$(ts)
a=$(echo "$st" | jq '.active.version')
echo "  the active slot torn: active $a from $(echo "$st" | jqr .active.from)"
check "the active slot torn: a whole bundle is used ($a)" whole "$a"
check "... connects" wait_connected
stop_daemon TERM
verdict "a whole bundle every time"

# Nothing secret reached the log or MQTT: not the client key, not the
# operator's signing keys (which a gateway never even holds).
leaks=0
for k in "$PKI/client.key" "$B"/k?.key; do
	grep -v -- '-----' "$k" >"$T/key.lines"
	for f in "$T/daemon.log" "$T/mqtt.log"; do
		if grep -qF -f "$T/key.lines" "$f"; then
			echo "  $(basename "$k") found in $(basename "$f")"
			leaks=$((leaks + 1))
		fi
	done
done
check "no private key in the daemon log or on MQTT" [ $leaks -eq 0 ]

echo "#"
sort -n -k1,1 "$T/table" | cut -f2-
finish
