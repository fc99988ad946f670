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

# mock OP-JSON: one request to the mock's control socket, its answer.
mock() { echo "$1" | socat -t 5 - "UNIX-CONNECT:$T/mock.sock"; }
mock_state() { mock "{\"op\":\"state\",\"node\":$1}" | jq -c ".result.$2"; }
# mock_is NODE FIELD WANT: the mock's device holds WANT.
mock_is() { [ "$(mock_state "$1" "$2")" = "$3" ]; }

quiet() { "$@" >/dev/null 2>&1; }
# is ARGS...: zwgatectl --json ARGS, filtered by $JQ, is $WANT.
is() { [ "$(ctl --json "$@" 2>/dev/null | jq -r "$JQ")" = "$WANT" ]; }
status_is() { JQ=.status WANT=$2 is node "$1"; }
controller_is() { JQ=.controller WANT=$1 is status; }
