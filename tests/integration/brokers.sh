#!/bin/sh
# Several brokers in cloud { host }: two real mosquitto brokers with
# mutual TLS on one port of two loopback addresses, as a cluster's nodes
# would be.  The gateway connects to one of them (the order is shuffled
# at start), says which in status, and moves to the other when the one it
# uses dies, and back; each is verified for its own name; a name the
# server's certificate lacks is refused and the next one tried.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"
BROKER_OWNER=$$
P=zwgate/test-gw

sh "$top_srcdir/tests/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 99; }
BROKER_PKI="$T/pki"
BROKER_ADDR=127.0.0.2 broker_start "$T/b1" tls || exit 99
PORT=$BROKER_PORT
BROKER_ADDR=127.0.0.3 BROKER_FIXED_PORT=$PORT broker_start "$T/b2" tls || exit 99
trap 'broker_stop_all; cleanup' EXIT
TLS="--cafile $T/pki/ca.crt --cert $T/pki/client.crt --key $T/pki/client.key"

# addr_of HOST: the address the config dials for it.
addr_of() {
	case $1 in
	broker.test) echo 127.0.0.2 ;;
	localhost) echo 127.0.0.3 ;;
	esac
}
dir_of() {
	case $1 in
	broker.test) echo "$T/b1" ;;
	localhost) echo "$T/b2" ;;
	esac
}
cloud_json() { ctl --json status | jq -c ".cloud | $1"; }
# wait_on HOST: connected to HOST within 15 s (the backoff is 1 s at most).
wait_on() {
	n=0
	while [ "$(cloud_json '[.state, .host]')" != "[\"connected\",\"$1\"]" ] &&
		[ $n -lt 150 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	[ $n -lt 150 ]
}
# online_at ADDR: P/status on the broker at ADDR says online.
online_at() {
	# (--insecure: the certificate names 127.0.0.1, not this address.)
	[ "$(mosquitto_sub -h "$1" -p "$PORT" $TLS --insecure -C 1 -W 5 -t "$P/status")" = online ]
}

write_config
cat >>"$CONF" <<CONF
cloud {
	host "broker.test" "localhost"
	connect-to 127.0.0.2 127.0.0.3
	port $PORT
	ca-file "pki/ca.crt"
	client-cert "pki/client.crt"
	client-key "pki/client.key"
	reconnect-max-delay 1
}
CONF
start_daemon
n=0
while [ "$(cloud_json .state)" != '"connected"' ] && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
first=$(cloud_json .host | tr -d '"')
check "connected to one of the two brokers ($first)" \
	eval '[ "$first" = broker.test ] || [ "$first" = localhost ]'
[ "$first" = broker.test ] && other=localhost || other=broker.test
check "... status lists both, in the config's order" \
	[ "$(cloud_json .hosts)" = '["broker.test","localhost"]' ]
out=$(ctl status)
check "... and says in words which one is in use" \
	contains "$out" "connected ($first)"
check "... and which there are" contains "$out" "broker.test, localhost"
check "P/status is online there" online_at "$(addr_of "$first")"

broker_stop "$(dir_of "$first")"
check "its broker dies: the gateway moves to $other" wait_on "$other"
check "P/status is online there" online_at "$(addr_of "$other")"
check "the log says where it tries next" \
	grep -q "cannot connect to $first: .*, with $other\|lost the link to $first: .*, with $other" "$T/daemon.log"

broker_restart "$(dir_of "$first")" || exit 99
broker_stop "$(dir_of "$other")"
check "that one dies too, the first is back: the gateway returns to $first" \
	wait_on "$first"
broker_restart "$(dir_of "$other")" || exit 99
stop_daemon TERM

# A name the server's certificate lacks: refused, the next one used, and
# the first never verified as the other's name.
write_config
cat >>"$CONF" <<CONF
cloud {
	host "wrong.test" "broker.test"
	connect-to 127.0.0.3 127.0.0.2
	port $PORT
	ca-file "pki/ca.crt"
	client-cert "pki/client.crt"
	client-key "pki/client.key"
	reconnect-max-delay 1
}
CONF
: >"$T/daemon.log"
start_daemon
check "wrong.test and broker.test: the link is made with broker.test" \
	wait_on broker.test
broker_stop "$T/b1"
n=0
while [ "$(grep -c 'cannot connect to wrong.test' "$T/daemon.log")" -lt 2 ] && [ $n -lt 150 ]; do
	sleep 0.1
	n=$((n + 1))
done
check "with broker.test gone, wrong.test is tried and refused for its name" \
	grep -q "cannot connect to wrong.test: .*\(hostname\|host name\|wrong.test\)" "$T/daemon.log"
check "... and never connected" [ "$(cloud_json .state)" != '"connected"' ]
broker_restart "$T/b1" || exit 99
check "broker.test is back: so is the link" wait_on broker.test
stop_daemon TERM

# Bad lists are refused with a clear error.
write_config
cat >>"$CONF" <<CONF
cloud {
	host "a.example" "b.example"
	connect-to 127.0.0.2
	ca-file "pki/ca.crt"
}
CONF
out=$("$ZWGATED" -n -c "$CONF" 2>&1)
check "one connect-to for two hosts: refused, saying so" \
	contains "$out" "connect-to gives 1 address for 2 hosts"

finish
