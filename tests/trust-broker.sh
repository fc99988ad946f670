# trust-broker.sh: the PKI, broker and gateway of the trust tests (POSIX
# sh, sourced after lib.sh and broker.sh), shared by
# tests/integration/trust.sh and trust-tamper.sh so that both judge a
# handshake the same way.  Sourcing it makes the PKI of tests/trustpki.sh
# in $PKI and sets the EXIT trap; then:
#
#   trust_broker_start NAME   a broker in $T/broker presenting NAME.chain
#   serve NAME [TLS]         (re)start it with that chain (tlsv1.3 or
#                            tlsv1.2: only that version); since_serve is
#                            what it logged from then on, handshakes
#                            the connections in it (wait_handshakes N)
#   trust_keys NAME...       Ed25519 keys in $B (zwgatectl trust keygen)
#   trust_bundle ...         a bundle made and signed with zwgatectl
#   gateway NAME FACTORY     a gateway in $T/NAME; use_gw NAME selects it
#   start_gateway [FAKETIME] zwgated (its clock set: fake_clock, lib.sh)
#   wait_connected           the gateway connects to the broker as it is

PKI=$T/pki
sh "$top_srcdir/tests/trustpki.sh" "$PKI" >/dev/null ||
	{ echo "trustpki.sh failed"; exit 99; }
trap 'broker_stop_all; cleanup' EXIT

BD=$T/broker
mkdir -p "$BD"
: >"$BD/plain_port"
: >"$BD/mosquitto.log"
LOGMARK=0

# broker_conf NAME [TLS VERSION]: the broker presents NAME.chain.
broker_conf() {
	{
		broker_conf_common
		echo "listener $(cat "$BD/port") 127.0.0.1"
		echo "cafile $PKI/client-ca.crt"
		echo "certfile $PKI/$1.chain"
		echo "keyfile $PKI/$1.key"
		echo "require_certificate true"
		[ -z "${2:-}" ] || echo "tls_version $2"
	} >"$BD/mosquitto.conf"
}

# mosquitto's tls_version is a minimum: TLS 1.2 only takes OpenSSL's own
# configuration, given to the broker alone.
cat >"$BD/tls12.cnf" <<'CNF'
openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MaxProtocol = TLSv1.2
CNF

# serve NAME [tlsv1.3|tlsv1.2]: (re)start the broker with that chain (and
# only that TLS version); what it logs from then on is since_serve.
serve() {
	broker_conf "$@"
	LOGMARK=$(wc -l <"$BD/mosquitto.log")
	[ "${2:-}" != tlsv1.2 ] || export OPENSSL_CONF="$BD/tls12.cnf"
	if [ -s "$BD/pid" ]; then
		broker_restart "$BD"
	else
		broker__run "$BD"
	fi
	serve_rc=$?
	[ "${2:-}" != tlsv1.2 ] || unset OPENSSL_CONF
	[ $serve_rc -eq 0 ] && return 0
	echo "# the broker did not start"
	tail -3 "$BD/mosquitto.log"
	exit 99
}
since_serve() { tail -n "+$((LOGMARK + 1))" "$BD/mosquitto.log"; }

# handshakes: how many TLS connections the broker saw since serve.
handshakes() { since_serve | grep -c 'New connection from'; }

# wait_handshakes N: until the broker saw N of them (30 s at the most).
wait_handshakes() {
	n=0
	while [ "$(handshakes)" -lt "$1" ] && [ $n -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
}

# trust_broker_start NAME: the first start, on a random port (tried again
# when mosquitto finds it taken).
trust_broker_start() {
	try=0
	while :; do
		broker__random_port >"$BD/port"
		broker_conf "$1"
		broker__run "$BD" && break
		try=$((try + 1))
		[ $try -lt 10 ] || { echo "mosquitto does not start"; exit 99; }
	done
}

B=$T/bundles
mkdir -p "$B"
EXPIRES=$(date -u -d '+730 days' +%F)

trust_keys() {
	for k in "$@"; do
		"$ZWGATECTL" trust keygen --out "$B/$k.key" >/dev/null ||
			{ echo "trust keygen failed"; exit 99; }
	done
}

# trust_bundle OUT VERSION "ANCHORS" "PINS" "SIGNERS" "SIGNED BY"
# [MAKE OPTIONS]: $B/OUT.bundle for broker.test (names from the PKI and
# from the keys above).
trust_bundle() {
	out=$1 v=$2 an=$3 pins=$4 signers=$5 by=$6
	shift 6
	set -- trust make --version "$v" --expires "$EXPIRES" \
		--host broker.test --out "$B/$out.bundle" "$@"
	for c in $an; do set -- "$@" --anchor "$PKI/$c.crt"; done
	for c in $pins; do set -- "$@" --pin-from "$PKI/$c.crt"; done
	for k in $signers; do set -- "$@" --signer "$B/$k.key.pub"; done
	rm -f "$B/$out.bundle"
	"$ZWGATECTL" "$@" >/dev/null || { echo "trust make $out failed"; exit 99; }
	for k in $by; do
		"$ZWGATECTL" trust sign --key "$B/$k.key" "$B/$out.bundle" \
			>/dev/null || { echo "trust sign $out failed"; exit 99; }
	done
}

# use_gw NAME: the gateway in $T/NAME is the one lib.sh starts and asks.
use_gw() {
	G=$T/$1
	CONF=$G/zwgate.conf STATE=$G/state RUN=$G/run SOCK=$G/run/control.sock
}

# gateway NAME FACTORY: $CONF, $STATE, $RUN, $SOCK for a gateway in
# $T/NAME with that factory bundle and a synchronised clock.
gateway() {
	use_gw "$1"
	mkdir -p "$G/trust"
	write_config
	cp "$T/sim-network.json" "$G/"
	cp "$B/$2.bundle" "$G/trust/factory.bundle"
	: >"$G/synced"
	cat >>"$CONF" <<CONF
cloud {
	host "broker.test"
	connect-to "127.0.0.1"
	port $BROKER_PORT
	trust-bundle "trust/factory.bundle"
	clock-synchronized-file "synced"
	client-cert "$PKI/client.crt"
	client-key "$PKI/client.key"
	reconnect-max-delay 1
}
CONF
}

# start_gateway [FAKETIME]: zwgated, its clock set as libfaketime's
# FAKETIME says when a time is given (fake_clock of lib.sh).
start_gateway() {
	if [ -n "${1:-}" ] && [ -n "$CLOCK_SHIM" ]; then
		start_daemon env LD_PRELOAD="$CLOCK_SHIM" \
			ZWGATE_TEST_CLOCK="$(clock_value "$1")" \
			ASAN_OPTIONS="$FAKE_ASAN"
	elif [ -n "${1:-}" ]; then
		start_daemon env LD_PRELOAD="$FAKETIME_LIB" FAKETIME="$1" \
			FAKETIME_DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS="$FAKE_ASAN"
	else
		start_daemon
	fi || { echo "# zwgated did not start"; exit 99; }
}

ts() { ctl trust status --json; }
cloud_state() { ctl --json status | jqr .cloud.state; }

# wait_connected: the gateway connects to the broker as it is now (its
# CONNECT reached the broker since serve) and says so, within 20 s (a
# second or two unless the machine is very busy).
wait_connected() {
	n=0
	while [ $n -lt 200 ]; do
		if since_serve | grep -q "New client connected from .* as test-gw" &&
			[ "$(cloud_state)" = connected ]; then
			return 0
		fi
		sleep 0.1
		n=$((n + 1))
	done
	echo "  not connected: $(ctl --json status | jq -c .cloud)" >&2
	echo "  trust: $(ts | jq -c .last)" >&2
	tail -3 "$T/daemon.log" | cut -c1-200 | sed 's/^/  log: /' >&2
	return 1
}
