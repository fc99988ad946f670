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

# ---- the broker (tests/trust-broker.sh, as in trust.sh) ---------------

. "$top_srcdir/tests/trust-broker.sh"
trust_broker_start leafA1

# ---- bundles ------------------------------------------------------------

trust_keys k1 k2 evil
trust_bundle factory 1 "A B" "A B" "k1 k2" "k1 k2" --threshold 2
trust_bundle evil 9 "C" "C R" "evil" "evil" --threshold 1
trust_bundle op2 2 "A B" "A B" "k1 k2" "k1 k2" --threshold 2
trust_bundle op3 3 "A B" "A B" "k1 k2" "k1 k2" --threshold 2

# ---- the gateway --------------------------------------------------------

gateway gw factory
TD=$STATE/trust

# wait_refused: at least 3 handshakes since serve, none got to CONNECT.
wait_refused() {
	wait_handshakes 3
	tries=$(handshakes)
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
