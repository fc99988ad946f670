#!/bin/sh
# One rules file and one set of MQTT topics on the three backends: sim,
# openzwave and zwavejs, one after the other with one state directory, as
# a user who moves a network from one to the next would.
#
# The sim runs a network shaped like the Z-Wave JS mock's (tests/zwave-
# mock/network.cjs: a switch, a dimmer, a binary sensor, a temperature
# sensor and a meter, with the registry keys docs/VALUES.md gives both);
# OpenZWave runs on the mock behind socat's pty, zwavejs on the real
# @zwave-js/server on the mock.  Names are given once, on the sim, and
# the rules name nodes only by them.  On each backend: the names are
# there, every rule is ready (none waits for its node), and three
# triggers (motion, a temperature over a threshold, a meter's power) do
# the same thing: the same device moves, the same topics are published.
#
# Needs node >= 20 and npm (skipped loudly otherwise), socat, jq,
# mosquitto, and zwgated built with both backends; loopback only, in a
# network namespace of its own when it can (OpenZWave's DNS lookup).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/npm.sh"
. "$top_srcdir/tests/broker.sh"
. "$top_srcdir/tests/zwmock.sh"

be_skip() {
	echo "SKIP: backends.sh: $*" >&2
	skip_all "the three-backend suite did not run: $*"
}

for b in openzwave zwavejs; do
	printf 'gateway-id "x"\nzwave { backend %s }\n' $b >"$T/probe.conf"
	chmod 644 "$T/probe.conf"
	"$ZWGATED" -n -c "$T/probe.conf" >/dev/null 2>&1 ||
		be_skip "zwgated was built without the $b backend"
done
for p in socat mosquitto mosquitto_sub mosquitto_pub jq; do
	command -v $p >/dev/null 2>&1 || be_skip "$p is not installed"
done
npm_need_zwavejs be_skip
loopback_only
LSAN_OPTIONS="suppressions=$MOCK_SRC/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS

BROKER_OWNER=$$
P=zwgate/test-gw
trap 'broker_stop_all; zjs_server_stop; mock_stop; cleanup' EXIT
SERVER=$ZJS_DIR/node_modules/.bin/zwave-server
ZPORT=$(broker__random_port)
TTY=$T/tty
sh "$top_srcdir/tests/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 99; }
BROKER_PKI="$T/pki"
broker_start "$T/broker" tls || exit 99
TLS="--cafile $T/pki/ca.crt --cert $T/pki/client.crt --key $T/pki/client.key"
"$ZWGATECTL" keys generate "$T/keys.json" >/dev/null ||
	{ echo "zwgatectl keys generate failed"; exit 99; }
ZWGATE_MOCK_KEYS=$T/keys.json
export ZWGATE_MOCK_KEYS

# The mock's network for the sim: node 4's binary sensor is
# sensor_binary/0/state there, as a zwave-js "Any" sensor is.
cat >"$T/sim-network.json" <<'JSON'
{ "controller": "Simulated controller", "report-delay-ms": 20,
  "nodes": [
    { "id": 2, "device": "switch" },
    { "id": 3, "device": "dimmer" },
    { "id": 4, "device": "door-sensor",
      "values": [ { "cc": "sensor_binary", "property": "state",
                    "type": "bool", "value": false } ] },
    { "id": 5, "device": "multisensor",
      "values": [ { "cc": "sensor_multilevel", "property": "temperature",
                    "value": 21.5 } ] },
    { "id": 6, "device": "meter-plug",
      "values": [ { "cc": "meter", "property": "power", "value": 60 } ] }
  ] }
JSON
cat >"$T/home.rules" <<'RULES'
rule "motion light" {
	when "hall sensor" state becomes true
	do set "porch" switch on
}
rule "too warm" {
	when "climate" temperature > 25
	do set "lamp" level 40
}
rule "heavy load" {
	when "plug" power > 100
	do publish "alerts/power" "{\"watts\": $value}"
}
RULES
chmod 644 "$T/sim-network.json" "$T/home.rules"

# config BACKEND-LINES: the daemon's config with this zwave block.
config() {
	{
		echo 'gateway-id "test-gw"'
		echo "log-level ${LOG_LEVEL:-info}"
		printf 'zwave {\n%s\n}\n' "$1"
		echo 'include "home.rules"'
		echo 'control { idle-timeout 60 }'
		broker_cloud_block
	} >"$CONF"
	chmod 644 "$CONF"
}

# trigger BACKEND WHAT: make node 4, 5 or 6 report, as its device would.
trigger() {
	if [ "$1" = sim ]; then
		case $2 in
		motion) ctl sim emit 4 state true ;;
		warm) ctl sim emit 5 temperature 26.5 ;;
		load) ctl sim emit 6 power 150.5 ;;
		esac >/dev/null
		return
	fi
	case $2 in
	motion) mock '{"op":"report","node":4,"kind":"binary-sensor","value":true}' ;;
	warm) mock '{"op":"report","node":5,"kind":"multilevel-sensor","sensorType":1,"value":26.5}' ;;
	load) mock '{"op":"report","node":6,"kind":"meter","scale":2,"value":150.5}' ;;
	esac >/dev/null
}

# device_is BACKEND NODE VALUE WANT: the device holds it (on the sim, the
# registry is the device).
device_is() {
	if [ "$1" = sim ]; then value_is "$2" "$3" "$4"; else mock_is "$2" "$3" "$4"; fi
}

# run BACKEND: the daemon on it, the names and rules checked, the three
# triggers pulled; the topics go to $T/capture-BACKEND.log.
run() {
	b=$1
	cap=$T/capture-$b.log
	# -R: not the retained state an earlier backend left on the broker,
	# only what this one publishes.
	mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" $TLS -v -q 1 -R \
		-t "$P/#" >"$cap" 2>&1 &
	echo $! >"$T/sub.pid"
	start_daemon || { echo "zwgated did not start on $b"; exit 99; }
	check "$b: the controller is ready" wait_for 60 controller_is ready
	check "$b: every node is known" wait_for 60 value_is 6 power 60
	if [ $b = sim ]; then
		for n in "2 porch" "3 lamp" "4 hall sensor" "5 climate" "6 plug"; do
			ctl rename ${n%% *} "${n#* }" >/dev/null
		done
	fi
	check "$b: the names given on the sim are there" \
		[ "$(ctl --json nodes | jq -c '[.[] | select(.id > 1) | .name]')" = '["porch","lamp","hall sensor","climate","plug"]' ]
	check "$b: every rule is ready, none waits for a node" \
		[ "$(ctl --json rules | jq -c '[.[] | select(.enabled and (.waiting // "") == "") | .name]')" = '["motion light","too warm","heavy load"]' ]
	check "$b: the porch light is off" value_is porch switch false
	trigger $b motion
	check "$b: motion turns the porch light on" wait_for 15 value_is porch switch true
	check "... on the device" device_is $b 2 switch true
	check "... and its state is published" wait_grep "$cap" "^$P/node/2/switch_binary/0/currentValue {\"value\":true" 10
	trigger $b warm
	check "$b: 26.5 °C sets the lamp to 40" wait_for 15 value_is lamp level 40
	check "... on the device" device_is $b 3 level 40
	check "... published" wait_grep "$cap" "^$P/node/3/switch_multilevel/0/currentValue {\"value\":40" 10
	trigger $b load
	check "$b: 150.5 W publishes the alert" wait_grep "$cap" "^$P/alerts/power {\"watts\": 150.5}" 15
	check "... and the power" wait_grep "$cap" "^$P/node/6/meter/0/power {\"value\":150.5" 10
	check "$b: no rule failed" sh -c "! grep -q 'rule .*failed' '$T/daemon.log'"
	stop_daemon TERM
	kill "$(cat "$T/sub.pid")" 2>/dev/null
	mv "$T/daemon.log" "$T/daemon-$b.log"
}

# --- sim ---------------------------------------------------------------
config "	backend sim
	sim-network \"sim-network.json\""
run sim

# --- openzwave on the mock ---------------------------------------------
MOCK_PORT=0
ozw_mock_start || { echo "the mock did not start"; exit 99; }
config "	backend openzwave
	device \"$TTY\""
run openzwave
mock_stop

# --- zwavejs on the mock -----------------------------------------------
MOCK_PORT=0
mock_start 0 || { echo "the mock did not start"; exit 99; }
zjs_server_start
config "	backend zwavejs
	server \"ws://127.0.0.1:$ZPORT\""
run zwavejs
zjs_server_stop
mock_stop

# The values the rules use have the same topics on each backend.
for b in sim openzwave zwavejs; do
	grep -oE "^$P/node/(2/switch_binary/0/currentValue|3/switch_multilevel/0/currentValue|4/sensor_binary/0/state|5/sensor_multilevel/0/temperature|6/meter/0/power) " \
		"$T/capture-$b.log" | sort -u >"$T/topics-$b"
done
check "the same value topics on the three backends ($(wc -l <"$T/topics-sim"))" \
	sh -c "[ \$(wc -l <'$T/topics-sim') -eq 5 ] && cmp -s '$T/topics-sim' '$T/topics-openzwave' && cmp -s '$T/topics-sim' '$T/topics-zwavejs'"
finish
