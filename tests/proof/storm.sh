#!/bin/sh
# Reconnect storm guard (docs/DESIGN.md, "The MQTT link": exponential
# backoff with full jitter): 50 gateways on the sim backend, each with its
# own gateway-id, state and runtime directories, against one broker that
# goes down long enough for their backoff to reach its cap, then comes
# back.  The time each reconnects (its CONNACK, "connected_since_ms" in its
# status) is measured from the moment the broker listens again.  Fails when
# one is still offline past the bound the backoff settings give (cap +
# connect timeout + a margin for a loaded machine), or when they all come
# back at once (no jitter: 70 % of them in one second, or all within a
# quarter of the window).
#
# PROOF_STORM_GATEWAYS and PROOF_STORM_CAP (seconds) change the size.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"
. "$top_srcdir/tests/proof/proof.sh"
. "$top_srcdir/tests/proof/gateways.sh"
N=${PROOF_STORM_GATEWAYS:-50}
CAP=${PROOF_STORM_CAP:-10}	# reconnect-max-delay
DOWN=$((CAP * 2))		# long enough for every ceiling to reach CAP
CONNECT_TIMEOUT=10		# MQTT_CONNECT_TIMEOUT_MS in src/cloud/mqtt.h
BOUND=$((CAP + CONNECT_TIMEOUT + 5))

proof_start
# One switch and no discovery: the storm is about connections.
cat >"$T/net.json" <<'NET'
{ "controller": "Simulated controller", "report-delay-ms": 50,
  "nodes": [ { "id": 2, "name": "porch", "device": "switch" } ] }
NET

gateways_start "$N" storm "$T/net.json" "	host \"broker.test\"
	connect-to \"127.0.0.1\"
	port $BROKER_PORT
	ca-file \"$T/pki/ca.crt\"
	client-cert \"$T/pki/client.crt\"
	client-key \"$T/pki/client.key\"
	discovery off
	reconnect-max-delay $CAP"
started() { alive && all_connected; }
check "$N gateways start and connect" wait_until 60 started
alive || exit 1
rss=0
for p in $(cat "$T"/gw*.pid); do
	rss=$((rss + $(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
done
echo "# $N gateways use $((rss / 1024)) MiB of memory together"

broker_stop "$T/broker"
none_connected() {
	states
	! grep -q " connected " "$T/states"
}
check "they all see the broker go" wait_until 20 none_connected
sleep "$DOWN"
broker_restart "$T/broker" || exit 99
T0=$(date +%s%3N)
wait_until "$BOUND" all_connected
left=$(grep -vc " connected " "$T/states")
check "every gateway is back within $BOUND s (cap $CAP s + connect timeout + margin; $left not)" \
	[ "$left" -eq 0 ]

# Offsets from T0 in ms, sorted; a CONNACK before T0 (the broker was
# already listening when T0 was read) counts as 0.
awk -v t0="$T0" '$2 == "connected" { d = $3 - t0; print d < 0 ? 0 : d }' \
	"$T/states" | sort -n >"$T/offsets"
n=$(wc -l <"$T/offsets")
first=$(head -1 "$T/offsets")
last=$(tail -1 "$T/offsets")
median=$(sed -n "$(((n + 1) / 2))p" "$T/offsets")
echo "# reconnects after the broker came back: first ${first:-?} ms, median ${median:-?} ms, last ${last:-?} ms (window 0..$((CAP * 1000)) ms)"
awk -v cap="$CAP" '{ b = int($1 / (cap * 200)); if (b > 5) b = 5; h[b]++ }
END {
	for (b = 0; b < 5; b++)
		printf "#   %4.1f..%4.1f s: %d\n", b * cap / 5, (b + 1) * cap / 5, h[b]
	printf "#   %4.1f s and later: %d\n", cap, h[5]
}' "$T/offsets"
busiest=$(awk '{ h[int($1 / 1000)]++ } END { m = 0; for (s in h) if (h[s] > m) m = h[s]; print m }' "$T/offsets")
spread=$((${last:-0} - ${first:-0}))
check "jitter: they do not all come back at once (spread $spread ms, at most $busiest in one second)" \
	[ $((spread >= CAP * 250 && busiest * 10 <= N * 7)) -eq 1 ]

gateways_stop
check "every gateway stops cleanly ($STOPPED)" [ "$STOPPED" -eq "$N" ]
wall_time
finish
