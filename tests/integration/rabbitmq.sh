#!/bin/sh
# The gateway on a clustered broker: Debian's RabbitMQ 3.10 (MQTT plugin,
# MQTT 3.1.1, mutual TLS with the certificate's CN as the user) as a real
# two-node cluster on loopback, started and stopped here
# (tests/rabbitmq.sh).  Unchanged but for its config (two hosts), the
# gateway connects to one node, its commands and events cross to the
# other, its retained messages are there for a later subscriber on the
# node it uses, and when that node dies it moves to the other, and back.
# Facts of RabbitMQ 3.10 this holds to (docs/DESIGN.md, "Brokers"):
# retained messages are kept per node and not sent to wildcard
# subscriptions, and a node that dies sends no last will for its
# clients.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"
. "$top_srcdir/tests/rabbitmq.sh"
P=zwgate/test-gw

if [ "$(id -u)" != 0 ] || [ -n "${FAKEROOTKEY:-}" ] ||
	! [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
	skip_all "needs root (the nodes run as rabbitmq) and Debian's rabbitmq-server"
fi
# A package build starts no service as another user.
[ -z "${ZWGATE_NO_NETWORK:-}" ] ||
	skip_all "a cluster of brokers in $ZWGATE_NO_NETWORK"
sh "$top_srcdir/tests/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 99; }
# The nodes run as rabbitmq, which must reach their directory.
RMQD=$(mktemp -d /tmp/zwgate-rmq.XXXXXX) && chmod 755 "$RMQD" || exit 99
trap 'rmq_stop; rm -rf "$RMQD"; cleanup' EXIT
# A base port with BASE..BASE+19 free (ports.sh's way: random, checked).
while :; do
	BASE=$(broker__random_port)
	[ $((BASE % 40000)) -lt 39970 ] || continue
	[ -z "$(ss -ltnH "sport >= :$BASE and sport <= :$((BASE + 19))")" ] && break
done
t0=$(date +%s)
rmq_start "$RMQD/cluster" "$T/pki" "$BASE" || { echo "the cluster did not start"; exit 99; }
echo "# two nodes up and clustered in $(($(date +%s) - t0)) s"
running=$(rmq_ctl a cluster_status --formatter json | jq -c '.running_nodes | sort')
check "a two-node cluster runs" [ "$running" = '["a@localhost","b@localhost"]' ]
# Sessions outlive the node their queue is on (see docs/DESIGN.md).
rmq_ctl a set_policy -p / --apply-to queues mqtt-ha '^mqtt-subscription-' \
	'{"ha-mode":"all","ha-sync-mode":"automatic"}' >/dev/null
TLS="--cafile $T/pki/ca.crt --cert $T/pki/client.crt --key $T/pki/client.key"
addr_of() { [ "$1" = broker.test ] && echo "$RMQ_ADDR_A" || echo "$RMQ_ADDR_B"; }
node_of() { [ "$1" = broker.test ] && echo a || echo b; }
# msub_at ADDR ARGS: a 3.1.1 subscriber on that node (--insecure: the
# server certificate names 127.0.0.1, not this address).
msub_at() {
	a=$1
	shift
	mosquitto_sub -V mqttv311 -h "$a" -p "$RMQ_TLS" $TLS --insecure "$@"
}
mpub_at() {
	a=$1
	shift
	mosquitto_pub -V mqttv311 -h "$a" -p "$RMQ_TLS" $TLS --insecure -q 1 "$@"
}
cloud_json() { ctl --json status | jq -c ".cloud | $1"; }
wait_on() {
	n=0
	while [ "$(cloud_json '[.state, .host]')" != "[\"connected\",\"$1\"]" ] &&
		[ $n -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	[ $n -lt 300 ]
}

# Trust bundles for both names: the factory one, and one for the fleet.
tb() {
	"$ZWGATECTL" trust make --version "$1" --expires "$(date -u -d '+400 days' +%F)" \
		--host broker.test localhost --anchor "$T/pki/ca.crt" "$T/pki/bad-ca.crt" \
		--pin-from "$T/pki/ca.crt" "$T/pki/bad-ca.crt" --signer "$T/k1.pub" "$T/k2.pub" \
		--threshold 2 --out "$T/b$1.bundle" >/dev/null &&
		"$ZWGATECTL" trust sign --key "$T/k1" "$T/b$1.bundle" >/dev/null &&
		"$ZWGATECTL" trust sign --key "$T/k2" "$T/b$1.bundle" >/dev/null
}
{ "$ZWGATECTL" trust keygen --out "$T/k1" && "$ZWGATECTL" trust keygen --out "$T/k2" &&
	tb 1 && tb 2; } >/dev/null || { echo "trust bundles not made"; exit 99; }
write_config
: >"$T/synced"
cat >>"$CONF" <<CONF
cloud {
	host "broker.test" "localhost"
	connect-to $RMQ_ADDR_A $RMQ_ADDR_B
	port $RMQ_TLS
	protocol 3.1.1
	trust-bundle "b1.bundle"
	clock-synchronized-file "synced"
	client-cert "pki/client.crt"
	client-key "pki/client.key"
	reconnect-max-delay 2
}
CONF
start_daemon
n=0
while [ "$(cloud_json .state)" != '"connected"' ] && [ $n -lt 200 ]; do
	sleep 0.1
	n=$((n + 1))
done
first=$(cloud_json .host | tr -d '"')
[ "$first" = broker.test ] && other=localhost || other=broker.test
A=$(addr_of "$first") B=$(addr_of "$other")
check "the gateway connects to a node ($first, node $(node_of "$first"))" \
	[ "$(cloud_json .state)" = '"connected"' ]

# Retained, on the node in use: status, a state, a discovery config.
check "P/status online, retained on that node" \
	[ "$(msub_at "$A" -C 1 -W 5 -t "$P/status")" = online ]
check "a state, retained on that node" contains \
	"$(msub_at "$A" -C 1 -W 5 -t "$P/node/2/switch_binary/0/currentValue")" '"value":'
check "a discovery config, retained on that node" contains \
	"$(msub_at "$A" -C 1 -W 5 -t homeassistant/switch/zwgate_test-gw_2_switch_binary_0_currentValue/config)" '"unique_id"'
check "no retained message for a wildcard subscription (RabbitMQ 3.10)" \
	[ -z "$(msub_at "$A" -C 1 -W 3 -t "$P/#" 2>/dev/null)" ]

# The operator's fleet tool on the cluster: both nodes, the gateway named.
fl() {
	"$ZWGATECTL" fleet "$@" -h broker.test --connect-to "$RMQ_ADDR_A" \
		-h localhost --connect-to "$RMQ_ADDR_B" -p "$RMQ_TLS" \
		--cafile "$T/pki/ca.crt" --cert "$T/pki/client.crt" \
		--key "$T/pki/client.key" --wait 2
}
check "fleet status on both nodes: the gateway online, on bundle 1" \
	[ "$(fl status --json test-gw | jq -c '[.[] | [.id, .state, .active]]')" = '[["test-gw","online",1]]' ]
out=$(fl status)
check "... unnamed, RabbitMQ 3.10 sends it no retained message: none, and why" \
	contains "$out" "name the gateways"
out=$(fl publish-bundle "$T/b2.bundle")
check "publish-bundle retains bundle 2 on both nodes" \
	eval 'contains "$out" "at broker.test" && contains "$out" "at localhost"'
n=0
while [ "$(fl status --json test-gw | jq -c '.[0] | [.active, .pending]')" != '[2,null]' ] &&
	[ $n -lt 20 ]; do
	sleep 1
	n=$((n + 1))
done
check "... the gateway commits it, and says so" \
	[ "$(fl status --json test-gw | jq -c '.[0] | [.active, .pending]')" = '[2,null]' ]
n=0
while [ "$(cloud_json .state)" != '"connected"' ] && [ $n -lt 200 ]; do
	sleep 0.1
	n=$((n + 1))
done
check "... and is connected with it" [ "$(cloud_json .state)" = '"connected"' ]
# Trying the bundle made the link again, perhaps with the other node.
first=$(cloud_json .host | tr -d '"')
[ "$first" = broker.test ] && other=localhost || other=broker.test
A=$(addr_of "$first") B=$(addr_of "$other")

# Across nodes: a command from the other node reaches the gateway, and
# its answer (a state, QoS 1) reaches a subscriber there.
: >"$T/other.log"
msub_at "$B" -v -q 1 -t "$P/node/2/switch_binary/0/currentValue" >>"$T/other.log" 2>&1 &
SUB=$!
sleep 1
was=$(ctl --json get porch switch | jqr .value)
[ "$was" = true ] && want=false || want=true
mpub_at "$B" -t "$P/node/porch/switch_binary/0/currentValue/set" -m "$want"
check "a /set published on the other node switches the device" \
	wait_grep "$T/other.log" "^$P/node/2/switch_binary/0/currentValue {\"value\":$want" 10
check "... and zwgatectl sees it" [ "$(ctl --json get porch switch | jqr .value)" = "$want" ]
kill "$SUB" 2>/dev/null
wait "$SUB" 2>/dev/null

# The node in use dies.
t0=$(date +%s)
rmq_stop_node "$(node_of "$first")"
check "node $(node_of "$first") killed: the gateway moves to $other" wait_on "$other"
echo "# back on $other in $(($(date +%s) - t0)) s"
check "P/status online, retained on the node it moved to" \
	[ "$(msub_at "$B" -C 1 -W 5 -t "$P/status")" = online ]
check "discovery again, retained there" contains \
	"$(msub_at "$B" -C 1 -W 5 -t homeassistant/switch/zwgate_test-gw_2_switch_binary_0_currentValue/config)" '"unique_id"'
check "its states too" contains \
	"$(msub_at "$B" -C 1 -W 5 -t "$P/node/2/switch_binary/0/currentValue")" "\"value\":$want"
mpub_at "$B" -t "$P/node/porch/switch_binary/0/currentValue/set" -m "$was"
n=0
while [ "$(ctl --json get porch switch | jqr .value)" != "$was" ] && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
check "commands work through the node it moved to" \
	[ "$(ctl --json get porch switch | jqr .value)" = "$was" ]
out=$(fl status --json test-gw 2>"$T/fleet.err")
rc=$?
check "fleet status with a node dead: online, from the node it moved to" \
	[ "$(echo "$out" | jq -c '.[0] | [.state, .broker]')" = "[\"online\",\"$other\"]" ]
check "... the dead node said, and exit 1" \
	eval '[ $rc -eq 1 ] && grep -q "cannot connect to $first" "$T/fleet.err"'

t0=$(date +%s)
rmq_start_node "$(node_of "$first")" || { echo "node did not restart"; exit 99; }
echo "# node $(node_of "$first") restarted in $(($(date +%s) - t0)) s"
rmq_stop_node "$(node_of "$other")"
check "the other node dies, the first is back: the gateway returns to $first" \
	wait_on "$first"
check "P/status online there" \
	[ "$(msub_at "$A" -C 1 -W 5 -t "$P/status")" = online ]
stop_daemon TERM
check "a clean stop says offline, retained" \
	[ "$(msub_at "$A" -C 1 -W 5 -t "$P/status")" = offline ]

finish
