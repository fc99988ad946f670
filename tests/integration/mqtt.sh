#!/bin/sh
# The MQTT client and its TLS context against real brokers: makes a PKI,
# starts mosquitto on 127.0.0.1 (good certificate, untrusted CA, wrong
# host name, and one the test stops and restarts), and runs
# tests/cloud/test_mqtt with their ports.  TEST_WRAPPER (e.g. "valgrind -q
# --error-exitcode=99 --leak-check=full") runs the test binary under a tool.
set -u
: "${top_srcdir:=.}"
: "${top_builddir:=.}"
for tool in mosquitto openssl ss; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "# SKIP: $tool not found"
		echo "# 0 passed, 0 failed, 1 skipped"
		exit 77
	fi
done
T=$(mktemp -d "${TMPDIR:-/tmp}/zwgate-mqtt.XXXXXX")
BROKER_OWNER=$$
BROKER_PKI=$T/pki
export BROKER_OWNER BROKER_PKI
. "$top_srcdir/tests/broker.sh"
cleanup() {
	broker_stop_all
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 99' INT TERM

sh "$top_srcdir/tests/pki.sh" "$BROKER_PKI" || exit 99
broker_start "$T/good" tls || exit 99
ZWGATE_TEST_PORT=$BROKER_PORT
broker_start "$T/untrusted" tls-untrusted || exit 99
ZWGATE_TEST_PORT_UNTRUSTED=$BROKER_PORT
broker_start "$T/wronghost" tls-wronghost || exit 99
ZWGATE_TEST_PORT_WRONGHOST=$BROKER_PORT
broker_start "$T/restart" tls || exit 99
ZWGATE_TEST_RESTART_PORT=$BROKER_PORT
ZWGATE_TEST_RESTART_DIR=$T/restart
ZWGATE_TEST_BROKER_SH=$(cd "$top_srcdir/tests" && pwd)/broker.sh
ZWGATE_TEST_PKI=$BROKER_PKI
export ZWGATE_TEST_PORT ZWGATE_TEST_PORT_UNTRUSTED ZWGATE_TEST_PORT_WRONGHOST \
	ZWGATE_TEST_RESTART_PORT ZWGATE_TEST_RESTART_DIR ZWGATE_TEST_BROKER_SH \
	ZWGATE_TEST_PKI

${TEST_WRAPPER:-} "$top_builddir/tests/cloud/test_mqtt"
st=$?
if [ $st -ne 0 ]; then
	for d in good untrusted wronghost restart; do
		echo "# $d broker log:"
		tail -20 "$T/$d/mosquitto.log" | sed 's/^/#   /'
	done
fi
exit $st
