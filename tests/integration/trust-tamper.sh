#!/bin/sh
# The trust state directory written by someone else while zwgated is
# stopped (issue 14, finding 2; zwgate-trust(7), "Slots"), against a real
# mosquitto broker with the PKI of tests/trustpki.sh:
#
#   1  an attacker's bundle (its own key, root C) in slot-a.bundle and a
#      state naming it active with floor 9: the gateway does not connect
#      to the broker with C's certificate, sets the slot aside and says
#      so (log, trust status, health); the floor is what the verified
#      bundles vouch for; the operator's bundles are still accepted,
#      with zwgatectl trust import and over MQTT
#   2  the attacker's bundle planted as the pending slot: never tried
#   2b the state file edited back to bundle 2 (in the other slot) with
#      floor 2: the kept bundle 3 verifies, so it is active again, the
#      floor 3, and bundle 2 is refused when offered
#   3  the state file removed with the slots there: zwgated refuses to
#      start and says what to do; factory-reset then starts afresh
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"
BROKER_OWNER=$$

PKI=$T/pki
sh "$top_srcdir/tests/trustpki.sh" "$PKI" >/dev/null ||
	{ echo "trustpki.sh failed"; exit 99; }
trap 'broker_stop_all; cleanup' EXIT

# ---- the broker (as in trust.sh) --------------------------------------

BD=$T/broker
mkdir -p "$BD"
: >"$BD/plain_port"
: >"$BD/mosquitto.log"
LOGMARK=0

broker_conf() {
	{
		broker_conf_common
		echo "listener $(cat "$BD/port") 127.0.0.1"
		echo "cafile $PKI/client-ca.crt"
		echo "certfile $PKI/$1.chain"
		echo "keyfile $PKI/$1.key"
		echo "require_certificate true"
	} >"$BD/mosquitto.conf"
}

# serve NAME: (re)start the broker presenting NAME.chain.
serve() {
	broker_conf "$1"
	LOGMARK=$(wc -l <"$BD/mosquitto.log")
	if [ -s "$BD/pid" ]; then
		broker_restart "$BD"
	else
		broker__run "$BD"
	fi || { echo "# the broker did not start"; tail -3 "$BD/mosquitto.log"; exit 99; }
}
since_serve() { tail -n "+$((LOGMARK + 1))" "$BD/mosquitto.log"; }

try=0
while :; do
	broker__random_port >"$BD/port"
	broker_conf leafA1
	broker__run "$BD" && break
	try=$((try + 1))
	[ $try -lt 10 ] || { echo "mosquitto does not start"; exit 99; }
done

# ---- bundles ------------------------------------------------------------

B=$T/bundles
mkdir -p "$B"
EXPIRES=$(date -u -d '+730 days' +%F)
for k in k1 k2 evil; do
	"$ZWGATECTL" trust keygen --out "$B/$k.key" >/dev/null ||
		{ echo "trust keygen failed"; exit 99; }
done

# bundle OUT VERSION "ANCHORS" "PINS" "SIGNERS" THRESHOLD "SIGNED BY"
bundle() {
	out=$1 v=$2 an=$3 pins=$4 signers=$5 th=$6 by=$7
	set -- trust make --version "$v" --expires "$EXPIRES" \
		--host broker.test --threshold "$th" --out "$B/$out.bundle"
	for c in $an; do set -- "$@" --anchor "$PKI/$c.crt"; done
	for c in $pins; do set -- "$@" --pin-from "$PKI/$c.crt"; done
	for k in $signers; do set -- "$@" --signer "$B/$k.key.pub"; done
	rm -f "$B/$out.bundle"
	"$ZWGATECTL" "$@" >/dev/null || { echo "trust make $out failed"; exit 99; }
	for k in $by; do
		"$ZWGATECTL" trust sign --key "$B/$k.key" "$B/$out.bundle" \
			>/dev/null || { echo "trust sign $out failed"; exit 99; }
	done
}

bundle factory 1 "A B" "A B" "k1 k2" 2 "k1 k2"
bundle evil 9 "C" "C R" "evil" 1 "evil"
bundle op2 2 "A B" "A B" "k1 k2" 2 "k1 k2"
bundle op3 3 "A B" "A B" "k1 k2" 2 "k1 k2"

# ---- the gateway --------------------------------------------------------

G=$T/gw
CONF=$G/zwgate.conf STATE=$G/state RUN=$G/run SOCK=$G/run/control.sock
TD=$STATE/trust
mkdir -p "$G/trust"
write_config
cp "$T/sim-network.json" "$G/"
cp "$B/factory.bundle" "$G/trust/factory.bundle"
: >"$G/synced"
cat >>"$CONF" <<CONF
cloud {
	host "broker.test"
	connect-to "127.0.0.1"
	port $BROKER_PORT
	trust-bundle "trust/factory.bundle"
	clock-synchronized-file "synced"
	client-cert "$PKI/client.crt"
	client-key "$PKI/client.key"
	reconnect-max-delay 1
}
CONF

start_gateway() { start_daemon || { echo "# zwgated did not start"; exit 99; }; }
ts() { ctl trust status --json; }
cloud_state() { ctl --json status | jqr .cloud.state; }

# wait_connected: CONNECT reached the broker since serve, within 20 s.
wait_connected() {
	n=0
	while [ $n -lt 200 ]; do
		if since_serve | grep -q "New client connected from .* as test-gw" &&
			[ "$(cloud_state)" = connected ]; then
			return 0
		fi
		sleep 0.1
		n=$((n + 1))
	done
	echo "  not connected: $(ctl --json status | jq -c .cloud)" >&2
	return 1
}

# wait_refused: at least 3 handshakes since serve, none got to CONNECT.
wait_refused() {
	n=0
	while [ "$(since_serve | grep -c 'New connection from')" -lt 3 ] &&
		[ $n -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	tries=$(since_serve | grep -c 'New connection from')
	if [ "$tries" -ge 3 ] && ! since_serve | grep -q "New client connected" &&
		[ "$(cloud_state)" != connected ]; then
		echo "  ($tries handshakes refused: $(ts | jqr .last.reason | cut -c1-120))"
		return 0
	fi
	echo "  tries $tries; connected: $(since_serve | grep -c 'New client connected');" \
		"last: $(ts | jq -c .last)" >&2
	return 1
}

# wait_status FILTER: trust status matches the jq test within 10 s.
wait_status() {
	n=0
	while [ "$(ts | jq "$1")" != true ] && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	[ "$(ts | jq "$1")" = true ] && return 0
	echo "  status: $(ts | jq -c '{active: .active.version, from: .active.from, floor, pending: .pending.version}')" >&2
	return 1
}

# state ACTIVE PENDING FLOOR: the state file an attacker writes.
state() {
	printf '{"active": %s, "pending": %s, "tries": 0, "floor": %s, "last-good": 0, "dropped": null}\n' \
		"$1" "$2" "$3" >"$TD/state"
}

serve leafA1
start_gateway
check "the gateway connects with its factory bundle" wait_connected
stop_daemon TERM

# ---- 1: an attacker's bundle as the active slot ----------------------------

echo "# 1: the attacker's bundle in slot-a.bundle, active, floor 9"
cp "$B/evil.bundle" "$TD/slot-a.bundle"
state '"a"' null 9
serve leafC
start_gateway
check "the broker with the attacker's certificate (root C) is refused" wait_refused
st=$(ts)
check "... the factory bundle is active, floor 1" \
	[ "$(echo "$st" | jq -c '[.active.version, .active.from, .floor]')" = '[1,"factory",1]' ]
check "... trust status warns that slot a does not verify" \
	eval 'echo "$st" | jqr .store_warning | grep -q "active slot a (version 9) does not verify"'
check "... and that the floor 9 was lowered" \
	eval 'echo "$st" | jqr .store_warning | grep -q "version floor 9 of"'
check "... the health is an alarm" [ "$(echo "$st" | jq .alarm)" = true ]
check "... whose words (they go to the cloud) name no path" \
	[ "$(echo "$st" | jq '[.warnings[] | select(test("trust store found"))] |
		length == 1 and (.[0] | test("/") | not)')" = true ]
check "... the log says so" grep -q "warning: trust: active slot a (version 9) does not verify" "$T/daemon.log"
check "... the bundle is kept as slot-a.bundle.damaged" cmp -s "$TD/slot-a.bundle.damaged" "$B/evil.bundle"
out=$(ctl trust status 2>&1)
check "zwgatectl trust status shows the warning" contains "$out" "WARNING: at start: active slot a (version 9) does not verify"

serve leafA1
check "the operator's broker: connects" wait_connected
out=$(ctl trust import --json "$B/op2.bundle" 2>&1)
check "the operator's bundle 2 is accepted by zwgatectl trust import" \
	[ "$(echo "$out" | jq -c '[.version, .pending]')" = '[2,true]' ]
check "... and committed" wait_status '[.active.version, .floor, .pending] == [2, 2, null]'

mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" --cafile "$PKI/A.crt" --insecure \
	--cert "$PKI/client.crt" --key "$PKI/client.key" \
	-q 1 -t zwgate/test-gw/trust/bundle/set -f "$B/op3.bundle"
check "the operator's bundle 3 over MQTT: committed" \
	wait_status '[.active.version, .floor, .pending] == [3, 3, null]'
stop_daemon TERM

# ---- 2: an attacker's bundle as the pending slot ---------------------------

echo "# 2: the attacker's bundle planted as the pending slot"
act=$(jqr .active <"$TD/state")
other=a
[ "$act" = a ] && other=b
cp "$B/evil.bundle" "$TD/slot-$other.bundle"
state "\"$act\"" "\"$other\"" 3
serve leafC
start_gateway
check "the broker with the attacker's certificate is refused" wait_refused
check "... the planted bundle was never tried" \
	eval '! grep -q "pending bundle version 9" "$T/daemon.log"'
st=$(ts)
check "... nothing pending, bundle 3 active" \
	[ "$(echo "$st" | jq -c '[.pending, .active.version, .floor]')" = '[null,3,3]' ]
check "... trust status warns of it" \
	eval 'echo "$st" | jqr .store_warning | grep -q "pending slot $other (version 9) does not verify"'
check "... kept as slot-$other.bundle.damaged" cmp -s "$TD/slot-$other.bundle.damaged" "$B/evil.bundle"
serve leafA1
check "the operator's broker: connects with bundle 3" wait_connected
stop_daemon TERM

# ---- 2b: the state file edited back to an older bundle ---------------------

echo "# 2b: bundle 2 in slot $other, the state edited to it with floor 2"
cp "$B/op2.bundle" "$TD/slot-$other.bundle"
state "\"$other\"" null 2
serve leafA1
start_gateway
check "bundle 3, kept, is active again, floor 3" \
	wait_status '[.active.version, .floor, (.store_warning | test("link-3.bundle .version 3. is newer"))] == [3, 3, true]'
check "... link-3.bundle is not set aside" \
	eval '[ -f "$TD/link-3.bundle" ] && ! ls "$TD"/*.damaged 2>/dev/null | grep -q link-'
check "... connects" wait_connected
out=$(ctl trust import "$B/op2.bundle" 2>&1)
rc=$?
check "... bundle 2 offered again: refused (exit $rc)" [ $rc -ne 0 ]
check "... because of the floor" contains "$out" "floor"
stop_daemon TERM

# ---- 3: the state file removed ---------------------------------------------

echo "# 3: the state file removed, the slots still there"
rm "$TD/state"
out=$(timeout 20 "$ZWGATED" -c "$CONF" --state-dir "$STATE" --runtime-dir "$RUN" 2>&1 </dev/null)
st=$?
echo "  $(echo "$out" | grep -m1 'state is missing' | cut -c1-200)"
check "zwgated does not start (exit $st)" [ $st -eq 1 ]
check "... naming the directory" contains "$out" "$TD/state is missing"
check "... and what to do" contains "$out" "zwgatectl factory-reset"
check "... the slots are untouched" sh -c "ls '$TD'/slot-?.bundle >/dev/null"
"$ZWGATECTL" -s "$SOCK" factory-reset --state-dir "$STATE" --yes-really >/dev/null 2>&1
check "after zwgatectl factory-reset: starts with the factory bundle" start_daemon
check "... and connects" wait_connected
check "... floor 1" [ "$(ts | jq -c '[.active.from, .floor]')" = '["factory",1]' ]
stop_daemon TERM
finish
