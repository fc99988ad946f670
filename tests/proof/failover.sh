#!/bin/sh
# Failover on a clustered broker: N gateways (sim backend, their own
# state and runtime directories, one zwgated each; default 200, or
# PROOF_FAILOVER_GATEWAYS) on a two-node RabbitMQ 3.10 cluster
# (tests/rabbitmq.sh), both nodes in each one's cloud { host }, under a
# steady stream of events.  Node a is killed, later restarted, then node
# b is killed: each time every gateway must be back, on the other node,
# within the bound its backoff gives (none stuck), and at the end every
# event a gateway accepted must have reached a persistent QoS 1
# subscriber (which moves between the nodes too):
#   events sent N, received N, lost 0, duplicates D
# and the reconnect spread after each kill is printed.
# tests/integration/failover.sh runs it with 10 gateways.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"
. "$top_srcdir/tests/proof/proof.sh"
. "$top_srcdir/tests/proof/gateways.sh"
. "$top_srcdir/tests/rabbitmq.sh"
N=${PROOF_FAILOVER_GATEWAYS:-200}
CAP=${PROOF_FAILOVER_CAP:-10}	# reconnect-max-delay
CONNECT_TIMEOUT=10		# MQTT_CONNECT_TIMEOUT_MS in src/cloud/mqtt.h
BOUND=$((CAP + CONNECT_TIMEOUT + 20))

if [ "$(id -u)" != 0 ] || [ -n "${FAKEROOTKEY:-}" ] ||
	! [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
	skip_all "needs root (the nodes run as rabbitmq) and Debian's rabbitmq-server"
fi
# A package build starts no service as another user.
[ -z "${ZWGATE_NO_NETWORK:-}" ] ||
	skip_all "a cluster of brokers in $ZWGATE_NO_NETWORK"
sh "$top_srcdir/tests/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 99; }
RMQD=$(mktemp -d /tmp/zwgate-rmq.XXXXXX) && chmod 755 "$RMQD" || exit 99
trap 'touch "$T/stop"; rmq_stop; rm -rf "$RMQD"; cleanup' EXIT
while :; do
	BASE=$(broker__random_port)
	[ $((BASE % 40000)) -lt 39970 ] || continue
	[ -z "$(ss -ltnH "sport >= :$BASE and sport <= :$((BASE + 19))")" ] && break
done
rmq_start "$RMQD/cluster" "$T/pki" "$BASE" || { echo "the cluster did not start"; exit 99; }
rmq_ctl a set_policy -p / --apply-to queues mqtt-ha '^mqtt-subscription-' \
	'{"ha-mode":"all","ha-sync-mode":"automatic"}' >/dev/null
TLS="--cafile $T/pki/ca.crt --cert $T/pki/client.crt --key $T/pki/client.key"
write_config # the sim network of lib.sh, with node 4 "hall sensor"

gateways_start "$N" fo "$T/sim-network.json" "	host \"broker.test\" \"localhost\"
	connect-to $RMQ_ADDR_A $RMQ_ADDR_B
	port $RMQ_TLS
	ca-file \"$T/pki/ca.crt\"
	client-cert \"$T/pki/client.crt\"
	client-key \"$T/pki/client.key\"
	discovery off
	reconnect-max-delay $CAP"
check "$N gateways start and connect" wait_until 120 all_connected
alive || exit 1
on() { grep -c " connected [0-9]* $1\$" "$T/states"; }
echo "# $(on broker.test) on node a, $(on localhost) on node b"

# The subscriber: persistent, QoS 1, on whichever node answers.
(
	sub=
	trap '[ -z "$sub" ] || kill "$sub" 2>/dev/null; exit 0' TERM
	while :; do
		for a in "$RMQ_ADDR_B" "$RMQ_ADDR_A"; do
			mosquitto_sub -V mqttv311 -h "$a" -p "$RMQ_TLS" $TLS --insecure \
				-v -q 1 -c -i "capture-$$" -t 'zwgate/+/event/#' \
				>>"$T/capture.log" 2>>"$T/capture.err" &
			sub=$!
			wait "$sub"
			sleep 0.2
		done
	done
) &
echo $! >"$T/capture.pid"
sleep 3
received_codes() {
	grep "/event/4/scene_activation/0/scene " "$T/capture.log" 2>/dev/null |
		sed -n 's/.*"code":\([0-9]*\).*/\1/p'
}

# The stream: one event at a time, the gateways in turn, each code once.
: >"$T/accepted"
(
	code=1
	while [ ! -e "$T/stop" ]; do
		i=$((code % N + 1))
		gwctl $i sim event "hall sensor" scene "$code" >/dev/null 2>&1 &&
			echo "$code" >>"$T/accepted"
		code=$((code + 1))
	done
) &
echo $! >"$T/stream.pid"
sleep 5

# kill NODE HOST-LEFT: kill the node, time every gateway's return.
failover() {
	node=$1 to=$2
	T0=$(date +%s%3N)
	rmq_stop_node "$node"
	wait_until "$BOUND" all_connected
	left=$(grep -vc " connected " "$T/states")
	moved=$(on "$to")
	check "node $node killed: every gateway is back within $BOUND s, on $to ($left not back, $moved of $N there)" \
		eval '[ "$left" -eq 0 ] && [ "$moved" -eq "$N" ]'
	# The gateways that moved (the others kept their link).
	awk -v t0="$T0" '$2 == "connected" && $3 >= t0 { print $3 - t0 }' \
		"$T/states" | sort -n >"$T/offsets"
	n=$(wc -l <"$T/offsets")
	echo "# $n gateways moved after node $node died: first $(head -1 "$T/offsets") ms, median $(sed -n "$(((n + 1) / 2))p" "$T/offsets") ms, last $(tail -1 "$T/offsets") ms after the kill (cap $CAP s)"
	awk -v cap="$CAP" '{ b = int($1 / (cap * 200)); if (b > 5) b = 5; h[b]++ }
	END {
		for (b = 0; b < 5; b++)
			printf "#   %4.1f..%4.1f s: %d\n", b * cap / 5, (b + 1) * cap / 5, h[b]
		printf "#   %4.1f s and later: %d\n", cap, h[5]
	}' "$T/offsets"
	check "... none of them died" alive
}
failover a localhost
t0=$(date +%s)
rmq_start_node a || { echo "node a did not restart"; exit 99; }
echo "# node a back in $(($(date +%s) - t0)) s"
sleep 5
failover b broker.test
rmq_start_node b || { echo "node b did not restart"; exit 99; }
sleep 5
touch "$T/stop"
wait "$(cat "$T/stream.pid")" 2>/dev/null
missing_none() {
	received_codes | sort -u >"$T/got"
	[ -z "$(sort -u "$T/accepted" | comm -23 - "$T/got")" ]
}
wait_until 120 missing_none
tally "$T/accepted"
check "every event a gateway accepted reached the subscriber ($LOST lost)" \
	eval '[ "$SENT" -gt 0 ] && [ "$LOST" -eq 0 ]'
check "... and no event that was not sent" [ "$EXTRA" -eq 0 ]

kill "$(cat "$T/capture.pid")" 2>/dev/null
gateways_stop
check "every gateway stops cleanly ($STOPPED)" [ "$STOPPED" -eq "$N" ]
wall_time
finish
