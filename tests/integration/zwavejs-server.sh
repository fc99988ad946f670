#!/bin/sh
# The Z-Wave JS server as zwgate ships it, for the zwavejs backend:
# etc/zwavejs/config.cjs, with the keys `zwgatectl keys generate` made,
# run by the real @zwave-js/server (bench/zwavejs's lock) on the Z-Wave
# JS mock controller (tests/zwave-mock), and the unit that runs it,
# systemd/zwgate-zwavejs.service.
#
# 1. Every bad keys file stops the server at its start with the reason
#    (no file, readable by others, not JSON, a key missing), no key shown.
# 2. Good keys, handed over as systemd's LoadCredential= does: the
#    server starts, listens on 127.0.0.1 only, and every node of the
#    mock's network is ready; its log holds no key.
# 3. The unit: systemd-analyze verify, exposure at most 1.5, the keys
#    as a credential, loopback only, the stick's devices only.
#
# Needs node >= 20 and npm (skipped loudly otherwise); runs on loopback
# only, in a network namespace of its own when it can.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/npm.sh"
. "$top_srcdir/tests/broker.sh"
command -v jq >/dev/null || skip_all "no jq"
zs_skip() { skip_all "the Z-Wave JS server did not run: $*"; }
npm_need_zwavejs zs_skip
loopback_only

CONFIG=$top_srcdir/etc/zwavejs/config.cjs
SERVER=$ZJS_DIR/node_modules/.bin/zwave-server
UNIT=$top_srcdir/systemd/zwgate-zwavejs.service
PORT=$(broker__random_port)

# server KEYS_ENV NAME SERIAL: the server on SERIAL with the keys as
# KEYS_ENV says (VAR=VALUE), in the background; its log is $T/NAME.log.
server() {
	env "$1" ZWGATE_ZWAVEJS_CACHE="$T/cache" ZWGATE_ZWAVEJS_LOG_LEVEL=info \
		"$SERVER" "$3" --config "$CONFIG" --host 127.0.0.1 \
		--port "$PORT" --disable-dns-sd >"$T/$2.log" 2>&1 &
	echo $! >"$T/$2.pid"
}

# refused NAME WHY: the server with keys file $T/NAME-keys.json exits
# non-zero at once, saying WHY.
refused() {
	server "ZWGATE_ZWAVEJS_KEYS=$T/$1-keys.json" "$1" tcp://127.0.0.1:9
	pid=$(cat "$T/$1.pid")
	if ! wait_for 30 sh -c "! kill -0 $pid"; then
		kill -KILL "$pid"
		not_ok "keys $1: the server did not stop"
		return
	fi
	wait "$pid"
	st=$?
	check "keys $1: the server stops (exit $st)" [ "$st" -ne 0 ]
	check "... saying why" contains "$(cat "$T/$1.log")" \
		"zwgate: network keys $T/$1-keys.json: $2"
}

# 1. Bad keys.
"$ZWGATECTL" keys generate "$T/good-keys.json" >/dev/null ||
	{ echo "zwgatectl keys generate failed"; exit 99; }
refused missing "no such file (make it once with: zwgatectl keys generate FILE)"
cp "$T/good-keys.json" "$T/open-keys.json"
chmod 640 "$T/open-keys.json"
refused open "mode 0640, others may read it: chmod 600 it"
echo "not json" >"$T/text-keys.json"
chmod 600 "$T/text-keys.json"
refused text "not JSON (zwgatectl keys generate makes it)"
jq 'del(.securityKeys.S0_Legacy)' "$T/good-keys.json" >"$T/short-keys.json"
chmod 600 "$T/short-keys.json"
refused short "securityKeys.S0_Legacy is missing or not 32 hexadecimal digits"

# 2. Good keys, as a systemd credential, on the mock.
# The mock's devices, and the controller, which is a node too.
NODES=$(NODE_PATH="$MOCK_DIR/node_modules" node -p \
	"require('$MOCK_SRC/network.cjs').default.nodes.length + 1" 2>/dev/null)
NODE_PATH="$MOCK_DIR/node_modules" node "$MOCK_SRC/mock.cjs" \
	--config "$MOCK_SRC/network.cjs" --control "$T/mock.sock" \
	--port 0 --port-file "$T/mock.port" >"$T/mock.log" 2>&1 &
echo $! >"$T/mock.pid"
wait_for 20 test -s "$T/mock.port" || { cat "$T/mock.log"; exit 99; }
mkdir -m 700 "$T/cred"
cp "$T/good-keys.json" "$T/cred/zwavejs-keys"
server "CREDENTIALS_DIRECTORY=$T/cred" zjs "tcp://127.0.0.1:$(cat "$T/mock.port")"
NODE_PATH="$ZJS_DIR/node_modules" node "$ZJS_SRC/ready.cjs" \
	"ws://127.0.0.1:$PORT" 120 >"$T/ready.out" 2>"$T/ready.err"
check "good keys: the server starts and every node is ready" \
	[ "$(jq -r .nodes "$T/ready.out" 2>/dev/null)" = "${NODES:-?}" ]
check "... on 127.0.0.1 only" contains "$(cat "$T/zjs.log")" \
	"listening on 127.0.0.1:$PORT"
check "... nothing else listens on its port" \
	[ "$(ss -ltnH "sport = :$PORT" | awk '{print $4}')" = "127.0.0.1:$PORT" ]
kill "$(cat "$T/zjs.pid")" "$(cat "$T/mock.pid")" 2>/dev/null

# 3. The unit.
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T/unit"
	sed "s|/usr/local/bin/zwave-server|$(cd "$(dirname "$SERVER")" && pwd)/zwave-server|" \
		"$UNIT" >"$T/unit/zwgate-zwavejs.service"
	systemd-analyze verify --man=no "$T/unit/zwgate-zwavejs.service" \
		>"$T/verify.out" 2>&1
	st=$?
	check "unit: systemd-analyze verify passes (exit $st)" [ "$st" -eq 0 ]
	check "... silent" [ ! -s "$T/verify.out" ]
	systemd-analyze security --offline=yes --no-pager \
		"$T/unit/zwgate-zwavejs.service" >"$T/security.out" 2>&1
	e=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
		"$T/security.out")
	echo "# exposure $e"
	check "unit: exposure '$e' at most 1.5" \
		awk -v e="$e" 'BEGIN { exit !(e != "" && e <= 1.5) }'
else
	skip "unit" "systemd-analyze is not installed"
fi
for d in 'LoadCredential=zwavejs-keys:/etc/zwgate/zwavejs-keys.json' \
	'ExecStart=.* --config /etc/zwgate/zwavejs/config.cjs --host 127.0.0.1 .*' \
	'DynamicUser=yes' 'SupplementaryGroups=dialout' 'DevicePolicy=closed' \
	'CapabilityBoundingSet=' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
	'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' 'UMask=0077'; do
	check "unit has $d" grep -qEx "$d" "$UNIT"
done
check "unit: the stick's devices only" \
	sh -c "! grep '^DeviceAllow=' '$UNIT' | grep -qv '^DeviceAllow=char-tty[A-Z]* rw$'"
finish
