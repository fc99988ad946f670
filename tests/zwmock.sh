# The Z-Wave JS mock controller (tests/zwave-mock) for the end-to-end
# tests of the openzwave (ozw.sh) and zwavejs (zwavejs.sh) backends;
# sourced after lib.sh.  MOCK_SRC, MOCK_DIR: the mock's sources and its
# installed node_modules.

# mock_start PORT: the mock on 127.0.0.1:PORT (0: any; MOCK_PORT says
# which), its control socket $T/mock.sock, its log $T/mock.log.
mock_start() {
	rm -f "$T/mock.port"
	NODE_PATH="$MOCK_DIR/node_modules" node "$MOCK_SRC/mock.cjs" \
		--config "$MOCK_SRC/network.cjs" --control "$T/mock.sock" \
		--port "$1" --port-file "$T/mock.port" \
		>>"$T/mock.log" 2>&1 &
	echo $! >"$T/mock.pid"
	n=0
	while [ ! -s "$T/mock.port" ]; do
		[ $n -lt 200 ] || { cat "$T/mock.log"; return 1; }
		sleep 0.05
		n=$((n + 1))
	done
	MOCK_PORT=$(cat "$T/mock.port")
}

# zjs_server_start: the Z-Wave JS server ($SERVER, from bench/zwavejs's
# lock) with the configuration zwgate ships, keys $T/keys.json, on the
# mock, listening on 127.0.0.1:ZPORT; its log $T/server.log.
zjs_server_start() {
	ZWGATE_ZWAVEJS_KEYS="$T/keys.json" ZWGATE_ZWAVEJS_CACHE="$T/cache" \
		"$SERVER" "tcp://127.0.0.1:$MOCK_PORT" \
		--config "$top_srcdir/etc/zwavejs/config.cjs" \
		--host 127.0.0.1 --port "$ZPORT" --disable-dns-sd \
		>>"$T/server.log" 2>&1 &
	echo $! >"$T/server.pid"
}

zjs_server_stop() {
	[ -s "$T/server.pid" ] && kill -KILL "$(cat "$T/server.pid")" 2>/dev/null
	rm -f "$T/server.pid"
}

# ozw_mock_start: the mock (on MOCK_PORT, 0 the first time) and socat's
# pty $TTY in front of it, which OpenZWave opens as its stick.
ozw_mock_start() {
	mock_start "$MOCK_PORT" || return 1
	socat "pty,link=$TTY,raw,echo=0" "tcp:127.0.0.1:$MOCK_PORT" \
		2>>"$T/socat.log" &
	echo $! >"$T/socat.pid"
	n=0
	while [ ! -e "$TTY" ]; do
		[ $n -lt 100 ] || return 1
		sleep 0.05
		n=$((n + 1))
	done
}

# mock_stop: the mock and socat, if they run.
mock_stop() {
	for f in mock socat; do
		[ -s "$T/$f.pid" ] && kill -KILL "$(cat "$T/$f.pid")" 2>/dev/null
		rm -f "$T/$f.pid"
	done
}

# mock OP-JSON: one request to the mock's control socket, its answer.
mock() { echo "$1" | socat -t 5 - "UNIX-CONNECT:$T/mock.sock"; }
mock_state() { mock "{\"op\":\"state\",\"node\":$1}" | jq -c ".result.$2"; }
# mock_is NODE FIELD WANT: the mock's device holds WANT.
mock_is() { [ "$(mock_state "$1" "$2")" = "$3" ]; }

# is ARGS...: zwgatectl --json ARGS, filtered by $JQ, is $WANT.
is() { [ "$(ctl --json "$@" 2>/dev/null | jq -r "$JQ")" = "$WANT" ]; }
status_is() { JQ=.status WANT=$2 is node "$1"; }
controller_is() { JQ=.controller WANT=$1 is status; }

# The checks both backends pass on the mock's network, with the same
# registry keys and topics (docs/VALUES.md); P is the topic prefix,
# $T/capture.log what a subscriber to P/# got, mpub a publisher.

# zw_check_values [N]: the nodes (N with the controller, default 6),
# their values, units and access, retained.
zw_check_values() {
	check "${1:-6} nodes (the controller and $((${1:-6} - 1)) devices)" [ "$(ctl --json status | jqr .nodes)" = "${1:-6}" ]
	check "node 2 is a switch" value_is 2 switch false
	check "node 3 is a dimmer" value_is 3 level 0
	check "node 4 is a binary sensor" value_is 4 sensor_binary/0/state false
	check "node 5 has a temperature" value_is 5 temperature 21.5
	check "... in °C" [ "$(ctl --json get 5 temperature | jqr .unit)" = "°C" ]
	check "node 5 has a humidity" value_is 5 humidity 40
	check "node 6 meters energy" value_is 6 energy 12.5
	check "node 6 meters power" value_is 6 power 60
	check "... in W, read-only" [ "$(ctl --json get 6 power | jq -c '[.unit, .writable]')" = '["W",false]' ]
	check "the switch is writable" [ "$(ctl --json get 2 switch | jqr .writable)" = true ]
	check "the dimmer's level is writable" [ "$(ctl --json get 3 level | jqr .writable)" = true ]
	out=$(ctl node 3)
	check "a device without a device file is named by its type" contains "$out" "Multilevel Power Switch"
	for t in node/2/switch_binary/0/currentValue node/3/switch_multilevel/0/currentValue \
		node/4/sensor_binary/0/state node/5/sensor_multilevel/0/temperature \
		node/6/meter/0/power node/6/meter/0/energy; do
		check "retained on MQTT: $t" wait_grep "$T/capture.log" "^$P/$t {\"value\":" 10
	done
	check "node status on MQTT" wait_grep "$T/capture.log" "^$P/node/5/status alive" 10
}

# zw_check_writes: zwgatectl set and MQTT /set reach the devices.
zw_check_writes() {
	out=$(ctl set 2 switch on)
	check "zwgatectl set is confirmed by the device" contains "$out" "= true"
	check "... not just accepted" [ "${out#*not confirmed}" = "$out" ]
	check "... the mock's switch is on" mock_is 2 switch true
	check "... and the state is published" wait_grep "$T/capture.log" "^$P/node/2/switch_binary/0/currentValue {\"value\":true" 5
	mpub -t "$P/node/3/switch_multilevel/0/currentValue/set" -m 70
	check "MQTT /set reaches the mock's dimmer" wait_for 5 mock_is 3 level 70
	check "... and comes back on MQTT" wait_grep "$T/capture.log" "^$P/node/3/switch_multilevel/0/currentValue {\"value\":70" 5
	check "... and in the registry" value_is 3 level 70
}

# zw_check_reports: what the devices report unasked.
zw_check_reports() {
	mock '{"op":"report","node":4,"kind":"binary-sensor","value":true}' >/dev/null
	check "an unsolicited motion report is a state change" wait_for 5 value_is 4 state true
	check "... on MQTT too" wait_grep "$T/capture.log" "^$P/node/4/sensor_binary/0/state {\"value\":true" 5
	mock '{"op":"report","node":5,"kind":"multilevel-sensor","sensorType":1,"value":23.25}' >/dev/null
	check "an unsolicited temperature report" wait_for 5 value_is 5 temperature 23.25
	mock '{"op":"report","node":6,"kind":"meter","scale":2,"value":150.5}' >/dev/null
	check "an unsolicited meter report" wait_for 5 value_is 6 power 150.5
	mock '{"op":"report","node":3,"kind":"multilevel-switch","value":25}' >/dev/null
	check "a dimmer turned by hand" wait_for 5 value_is 3 level 25
}
