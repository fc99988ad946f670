#!/bin/sh
# A root rotation across a simulated fleet, end to end, as the runbook
# of zwgate-trust(7) does it: N gateways (sim backend, their own state
# directories, one zwgated each) on a real mosquitto broker that presents
# a chain under root A; the factory bundle anchors and pins A and B.  The
# servers are to move to root C and B to go:
#
#   can-retire B for new root C: no, every gateway would be cut off
#   bundle 2 (A B C) published once, retained, while one gateway is off:
#     the others hold it, fleet status shows it, can-retire lists the
#     one that is off, then says yes once it is back and took it too
#   the broker moves to a chain under C: every gateway reconnects
#   bundle 3 (A C) retires B: every gateway holds it
#
# Also the fleet tool's errors: bad options, a file that is no bundle, a
# wrong CA, and its JSON.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"
BROKER_OWNER=$$
. "$top_srcdir/tests/trust-broker.sh"
N=${ZWGATE_FLEET_N:-4}

trust_broker_start leafA1
trust_keys k1 k2
bundle() {
	out=$1 v=$2 an=$3 pins=$4
	shift 4
	trust_bundle "$out" "$v" "$an" "$pins" "k1 k2" "k1 k2" \
		--recovery "$PKI/R.crt" --threshold 2 "$@"
}
bundle factory 1 "A B" "A B"
bundle two 2 "A B C" "A B C"
bundle three 3 "A C" "A C"

# gw_start I / gw_stop I: gateway gw-I, in $T/gwI.
gw_start() {
	use_gw "gw$1"
	start_daemon || { echo "gw-$1 did not start"; exit 99; }
	echo "$DAEMON_PID" >"$T/gw$1.pid"
}
gw_stop() {
	use_gw "gw$1"
	DAEMON_PID=$(cat "$T/gw$1.pid")
	stop_daemon TERM
	rm -f "$T/gw$1.pid"
}
i=1
while [ $i -le "$N" ]; do
	gateway "gw$i" factory
	sed -i "s/^gateway-id .*/gateway-id \"gw-$i\"/" "$CONF"
	gw_start $i
	i=$((i + 1))
done

CA=A
fl() {
	"$ZWGATECTL" fleet "$@" -h broker.test --connect-to 127.0.0.1 \
		-p "$BROKER_PORT" --cafile "$PKI/$CA.crt" \
		--cert "$PKI/client.crt" --key "$PKI/client.key" --wait 2
}
# fleet_is JQ VALUE: fleet status --json says VALUE within 20 s.
fleet_is() {
	n=0
	while [ "$(fl status --json | jq -c "$1")" != "$2" ] && [ $n -lt 20 ]; do
		sleep 1
		n=$((n + 1))
	done
	got=$(fl status --json | jq -c "$1")
	[ "$got" = "$2" ] || { echo "  wanted $2, got $got"; return 1; }
}
ids=$(i=1; while [ $i -le "$N" ]; do printf '"gw-%s",' $i; i=$((i + 1)); done)
ALL="[${ids%,}]"

check "fleet status: $N gateways, online, on bundle 1" \
	fleet_is '[.[] | select(.state == "online" and .active == 1) | .id] | sort' "$ALL"
out=$(fl status)
echo "$out" | sed 's/^/  | /' | head -4
check "... as a table, with the rollout's summary" \
	contains "$out" "$N gateways, $N online, $N with a trust report; bundle 1 active on $N"
check "... and the software version" contains "$out" " $("$ZWGATED" --version | cut -d' ' -f2) "
out=$(fl status gw-1 nosuch)
check "named gateways: one known, one never heard of" \
	[ "$(fl status --json gw-1 nosuch | jq -c '[.[] | [.id, .state]]')" = '[["gw-1","online"],["nosuch","unknown"]]' ]

out=$(fl can-retire --anchor "$PKI/B.crt" --new-root "$PKI/C.crt")
rc=$?
check "can-retire B for new root C before any rollout: no (exit 1)" [ $rc -eq 1 ]
check "... every gateway listed" contains "$out" "no: $N of $N gateways would be cut off"
out=$(fl can-retire --anchor "$PKI/B.crt")
check "can-retire B (no new root): yes, they all anchor and pin A too" \
	[ $? -eq 0 ]

# The rollout, with gw-N off.
gw_stop "$N"
check "gw-$N is off: fleet status says offline" \
	fleet_is ".[] | select(.id == \"gw-$N\") | .state" '"offline"'
out=$(fl publish-bundle "$B/two.bundle")
check "publish-bundle: retained once" \
	contains "$out" "bundle version 2 retained on zwgate/_fleet/trust/bundle at broker.test"
ON=$(i=1; while [ $i -lt "$N" ]; do printf '"gw-%s",' $i; i=$((i + 1)); done)
check "every gateway online commits bundle 2" \
	fleet_is '[.[] | select(.active == 2 and .pending == null) | .id] | sort' "[${ON%,}]"
out=$(fl status)
check "... fleet status says how far it went" \
	contains "$out" "bundle 2 active on $((N - 1)), 1 on 1"
out=$(fl can-retire --anchor "$PKI/B.crt" --new-root "$PKI/C.crt")
rc=$?
check "can-retire now: no, gw-$N (off, seen lately) would be cut off" \
	eval '[ $rc -eq 1 ] && contains "$out" "no: 1 of $N" && contains "$out" "gw-$N"'
out=$(fl can-retire --anchor "$PKI/B.crt" --new-root "$PKI/C.crt" --window 0)
rc=$?
check "... with a window of 0 days it is not counted: yes" \
	eval '[ $rc -eq 0 ] && contains "$out" "1 gateway not seen within 0 days not counted"'
out=$(fl can-retire --json --anchor "$PKI/B.crt" --new-root "$PKI/C.crt")
check "... in JSON: can_retire false, cut_off gw-$N" \
	[ "$(echo "$out" | jq -c '[.can_retire, [.cut_off[].id]]')" = "[false,[\"gw-$N\"]]" ]
gw_start "$N"
check "gw-$N back: it takes the retained bundle too" \
	fleet_is "[.[] | select(.active == 2)] | length" "$N"
out=$(fl can-retire --anchor "$PKI/B.crt" --new-root "$PKI/C.crt")
rc=$?
check "can-retire B for new root C: yes, only now" \
	eval '[ $rc -eq 0 ] && contains "$out" "yes: none of $N gateways"'

# The servers move to root C; then B goes.
serve leafC
CA=C
check "the broker presents a chain under C: every gateway is back" \
	fleet_is '[.[] | select(.state == "online")] | length' "$N"
check "... connected again since (the broker saw $N connects)" \
	eval '[ "$(since_serve | grep -c "New client connected from .* as gw-")" -ge "$N" ]'
fl publish-bundle "$B/three.bundle" >/dev/null
check "bundle 3 (A and C: B retired) reaches every gateway" \
	fleet_is '[.[] | select(.active == 3 and .pending == null)] | length' "$N"
check "... and each one is connected" \
	eval 'use_gw gw1; [ "$(cloud_state)" = connected ]'

# Errors.
out=$("$ZWGATECTL" fleet status 2>&1)
rc=$?
check "no broker: usage (exit 2)" eval '[ $rc -eq 2 ] && contains "$out" "no broker"'
out=$("$ZWGATECTL" fleet status -h x --cafile "$PKI/C.crt" --cert "$PKI/client.crt" 2>&1)
rc=$?
check "--cert without --key: usage" eval '[ $rc -eq 2 ] && contains "$out" "--cert and --key go together"'
out=$("$ZWGATECTL" fleet status -h x -h y --connect-to 127.0.0.1 --cafile "$PKI/C.crt" 2>&1)
rc=$?
check "one --connect-to for two -h: usage" eval '[ $rc -eq 2 ] && contains "$out" "1 --connect-to for 2 -h"'
out=$(fl status "bad/id" 2>&1)
rc=$?
check "a bad gateway id: usage" eval '[ $rc -eq 2 ] && contains "$out" "is not a gateway id"'
out=$(fl can-retire 2>&1)
rc=$?
check "can-retire without --anchor: usage" eval '[ $rc -eq 2 ] && contains "$out" "needs --anchor"'
echo "not a bundle" >"$T/junk"
out=$(fl publish-bundle "$T/junk" 2>&1)
rc=$?
check "publish-bundle of a file that is no bundle: refused, nothing sent" \
	eval '[ $rc -eq 1 ] && contains "$out" "not a trust bundle"'
CA=A
out=$(fl status 2>&1)
rc=$?
check "the wrong CA for the broker: failed, saying so (exit 1)" \
	eval '[ $rc -eq 1 ] && contains "$out" "certificate verify failed"'
CA=C

i=1
while [ $i -le "$N" ]; do
	gw_stop $i
	i=$((i + 1))
done
finish
