#!/bin/sh
# The OpenZWave backend end to end, against a real Z-Wave peer: the
# Z-Wave JS mock controller (tests/zwave-mock/, run by node) behind socat,
# which turns its TCP port into the pty OpenZWave opens like a USB stick.
#
# Covered: discovery of a switch, a dimmer, a motion sensor, a multilevel
# sensor and a meter with their values, in the registry and retained on
# MQTT; zwgatectl set and MQTT /set reaching the mock devices and coming
# back as state; unsolicited reports; a configuration parameter; include,
# exclude (timeout) and cancel with progress; heal and refresh; a node
# that stops answering going dead, and coming back; the controller gone
# (mock killed: status says so, the daemon keeps running) and back (the
# daemon re-opens it by itself); the network key file; clean shutdown.
#
# "No thread left behind" is checked from both sides: while it runs,
# /proc/PID/task shows OpenZWave's threads (it names them OZW-...); on
# SIGTERM the backend removes its watcher, the driver and the manager,
# then counts the OZW- threads in /proc/self/task and logs "no OpenZWave
# thread left" only when there are none, and the process exits 0.  The
# stop takes about 2 s: OpenZWave gives its serial reader, blocked in
# select(), 2 s before it cancels it.
#
# Everything listens on 127.0.0.1 only and every process is killed by its
# PID at the end.  Needs node >= 20 and npm (skipped with a message
# otherwise), socat and mosquitto.
. "$top_srcdir/tests/lib.sh"

MOCK_SRC="$top_srcdir/tests/zwave-mock"
MOCK_DIR="${ZWGATE_MOCK_DIR:-$top_builddir/tests/zwave-mock}"
# The sanitizer build: OpenZWave's own leaks are not ours to report.
LSAN_OPTIONS="suppressions=$MOCK_SRC/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS

ozw_skip() {
	echo "SKIP: ozw.sh: $*" >&2
	skip_all "the OpenZWave end-to-end suite did not run: $*"
}

# The daemon must have the backend.
printf 'gateway-id "x"\nzwave { backend openzwave }\n' >"$T/probe.conf"
chmod 644 "$T/probe.conf"
"$ZWGATED" -n -c "$T/probe.conf" >/dev/null 2>&1 ||
	ozw_skip "zwgated was built without the OpenZWave backend"
. "$top_srcdir/tests/npm.sh"
why=$(npm_missing) && ozw_skip "$why"
for p in socat mosquitto mosquitto_sub mosquitto_pub jq; do
	command -v $p >/dev/null 2>&1 || ozw_skip "$p is not installed"
done

# The mock, installed once per build directory from the committed lock
# (tests/npm.sh; skipped, loudly, where npm ci cannot reach the registry).
why=$(npm_offline_why "$MOCK_SRC" "$MOCK_DIR") && ozw_skip "$why"
npm_ci "$MOCK_SRC" "$MOCK_DIR" ||
	{ echo "npm ci of tests/zwave-mock failed"; exit 99; }

# OpenZWave looks up a DNS TXT record (mfs.db.openzwave.com) at every
# start, with no option to stop it, and tests talk to loopback only: so
# the rest runs in a network namespace of its own with nothing but lo,
# where the lookup fails at once and nothing leaves the machine.
loopback_only

. "$top_srcdir/tests/broker.sh"
. "$top_srcdir/tests/zwmock.sh"
BROKER_OWNER=$$
P=zwgate/test-gw
trap 'broker_stop_all; cleanup' EXIT

MOCK_PORT=0
TTY="$T/tty"

# stop_ozw: SIGTERM and wait at most OZW_STOP_MAX_S (lib.sh's stop_daemon
# gives 2 s, which OpenZWave's serial reader alone takes); sets
# STOP_STATUS (the exit status, or "timeout") and STOP_MS.
OZW_STOP_MAX_S=5
stop_ozw() {
	t=$(date +%s%N)
	kill -TERM "$DAEMON_PID"
	n=0
	while kill -0 "$DAEMON_PID" 2>/dev/null && [ $n -lt $((OZW_STOP_MAX_S * 50)) ]; do
		sleep 0.02
		n=$((n + 1))
	done
	STOP_MS=$((($(date +%s%N) - t) / 1000000))
	STOP_STATUS=
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		STOP_STATUS=timeout
		kill -KILL "$DAEMON_PID"
	fi
	wait "$DAEMON_PID"
	st=$?
	[ "$STOP_STATUS" = timeout ] || STOP_STATUS=$st
	DAEMON_PID=
}

sh "$top_srcdir/tests/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 99; }
BROKER_PKI="$T/pki"
broker_start "$T/broker" tls || exit 99
TLS="--cafile $T/pki/ca.crt --cert $T/pki/client.crt --key $T/pki/client.key"
mpub() { mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" $TLS -q 1 "$@"; }
# Everything it publishes; $! is mosquitto_sub itself, killed at the end.
mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" $TLS -v -q 1 -c -i capture \
	-t "$P/#" >"$T/capture.log" 2>&1 &
echo $! >"$T/capture.pid"

ozw_mock_start || { echo "the mock did not start"; exit 99; }
cat >"$CONF" <<CONF
gateway-id "test-gw"
log-level ${LOG_LEVEL:-info}
zwave {
	backend openzwave
	device "$TTY"
}
control { idle-timeout 60 }
CONF
broker_cloud_block >>"$CONF"
chmod 644 "$CONF"
start_daemon || { echo "zwgated did not start"; exit 99; }

# --- discovery -------------------------------------------------------
t0=$(date +%s)
check "the controller is ready" wait_for 20 controller_is ready
check "every node is queried" wait_grep "$T/daemon.log" "all 6 nodes queried" 30
echo "# interview took $(($(date +%s) - t0)) s"
zw_check_values

# --- writes ----------------------------------------------------------
zw_check_writes
out=$(ctl config-set 2 1 42)
check "config-set is sent" contains "$out" "parameter 1 = 42"
check "... the mock holds it" wait_for 5 mock_is 2 'config["1"]' 42
check "... and the node's report is a value" wait_for 5 value_is 2 configuration/0/param_1 42

# --- reports from the devices ----------------------------------------
zw_check_reports

# --- controller commands ---------------------------------------------
mock '{"op":"include","id":7,"device":"switch"}' >/dev/null
ctl include 20 >"$T/include.out" 2>"$T/include.err"
check "include succeeds" [ $? -eq 0 ]
check "... showing its progress" grep -q "waiting: put the device in inclusion mode" "$T/include.err"
check "... and the new node" grep -q "completed: node 7" "$T/include.out"
check "the included node is interviewed" wait_for 15 value_is 7 switch false
ctl exclude 2 >/dev/null 2>"$T/exclude.err"
check "exclude with nobody pressing a button times out" [ $? -eq 1 ]
check "... and says so" grep -q "timed out after 2 s" "$T/exclude.err"
ctl exclude 30 >/dev/null 2>"$T/cancel.err" &
xpid=$!
wait_grep "$T/cancel.err" "waiting" 5
check "cancel stops a running exclude" quiet ctl cancel
wait $xpid
check "... which reports it" grep -q "exclude: cancelled" "$T/cancel.err"
check "nothing to cancel is an error" sh -c "! $ZWGATECTL -s $SOCK cancel 2>/dev/null"
check "heal starts" quiet ctl heal
check "refresh starts" quiet ctl refresh 5

# --- a node that stops answering -------------------------------------
mock '{"op":"dead","node":2}' >/dev/null
for v in off on off; do ctl set --no-wait 2 switch $v >/dev/null; done
check "a node that stops answering goes dead" wait_for 15 status_is 2 dead
check "... on MQTT too" wait_grep "$T/capture.log" "^$P/node/2/status dead" 5
out=$(ctl set 2 switch on 2>&1)
check "... and a write to it says so" contains "$out" "is dead"
check "the other nodes keep working" wait_for 5 sh -c "$ZWGATECTL -s $SOCK set 3 level 30 | grep -q '= 30$'"
mock '{"op":"alive","node":2}' >/dev/null
mock '{"op":"report","node":2,"kind":"binary-switch","value":true}' >/dev/null
check "a dead node that reports is alive again" wait_for 10 status_is 2 alive

# --- the controller goes away and comes back -------------------------
P_THREADS=$(cat /proc/$DAEMON_PID/task/*/comm | grep -c '^OZW-')
check "OpenZWave's threads run in the daemon ($P_THREADS)" [ "$P_THREADS" -ge 4 ]
mock_stop
check "a controller that goes away shows in status" wait_for 5 sh -c "$ZWGATECTL -s $SOCK status | grep -q 'controller *failed: .*went away'"
check "the daemon keeps running" quiet ctl status
check "... and keeps its nodes and values" value_is 6 power 150.5
out=$(ctl set 3 level 10 2>&1)
check "a write meanwhile says why it cannot" contains "$out" "controller is not ready"
sleep 2
ozw_mock_start || { echo "the mock did not start again"; exit 99; }
t0=$(date +%s)
check "the daemon re-opens the controller by itself" wait_for 30 controller_is ready
echo "# re-opened $(($(date +%s) - t0)) s after the mock was back"
check "... and writes work again" wait_for 10 sh -c "$ZWGATECTL -s $SOCK set 3 level 45 | grep -q '= 45$'"
check "... on the new mock" mock_is 3 level 45

# --- clean stop ------------------------------------------------------
check "OpenZWave keeps its cache in the state directory" wait_for 1 sh -c "ls $STATE/openzwave/ozwcache_0x*.xml"
stop_ozw
check "SIGTERM: exit 0 within $OZW_STOP_MAX_S s (${STOP_MS} ms)" [ "$STOP_STATUS" = 0 ]
[ "$STOP_STATUS" = 0 ] || tail -40 "$T/daemon.log"
check "... with no OpenZWave thread left" grep -q "no OpenZWave thread left" "$T/daemon.log"
check "... after the driver was removed" grep -q "closed in [0-9]* ms" "$T/daemon.log"
check "no OpenZWave log file in the state directory" [ ! -e "$STATE/openzwave/OZW_Log.txt" ]

# --- the network key -------------------------------------------------
KEY=0102030405060708090A0B0C0D0E0F10
printf '0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,\n0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10\n' >"$T/network.key"
chmod 644 "$T/network.key"
sed -i "s|^\tdevice .*|&\n\tnetwork-key-file \"network.key\"|" "$CONF"
"$ZWGATED" -c "$CONF" --state-dir "$STATE" --runtime-dir "$RUN" 2>"$T/badkey.log"
check "a network key file others can read is refused" [ $? -ne 0 ]
check "... saying why" grep -q "network-key-file .*readable by others.*0600 or stricter" "$T/badkey.log"
chmod 600 "$T/network.key"
: >"$T/daemon.log"
# socat ends when the pty's last user closes it: a new pair.
mock_stop
ozw_mock_start || { echo "the mock did not start again"; exit 99; }
start_daemon || { echo "zwgated did not start with a key"; exit 99; }
check "the network key is read" wait_grep "$T/daemon.log" "network key read from" 5
check "... and the controller opens" wait_for 20 controller_is ready
stop_ozw
check "... and stops cleanly" [ "$STOP_STATUS" = 0 ]
check "the key never reaches the log" sh -c "! grep -qi -e '0x0A, 0x0B' -e 0a0b0c -e '0x0a, 0x0b' $T/daemon.log $T/badkey.log"
: "$KEY"

finish
