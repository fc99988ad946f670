# broker.sh: mosquitto brokers on 127.0.0.1 for the tests (POSIX sh,
# sourced).  Every broker lives in its own directory, which keeps its
# config, log, pid, ports and persistence (so a restart keeps retained
# messages and sessions):
#
#   BROKER_PKI=DIR/pki   a PKI made by tests/pki.sh (default: DIR/../pki)
#   broker_start DIR MODE...
#	tls            mutual-TLS listener with server.crt (good CA)
#	tls-untrusted  ... with bad-server.crt (a CA the client doesn't trust)
#	tls-wronghost  ... with wrong.crt (good CA, name wrong.test)
#	plain          a plaintext listener too (or alone)
#     sets BROKER_PORT (the first listener), BROKER_PLAIN_PORT (with
#     plain) and BROKER_PID; returns once every port accepts.
#     BROKER_ADDR (default 127.0.0.1) is the loopback address it listens
#     on, and BROKER_FIXED_PORT, if set, its TLS port: brokers on
#     127.0.0.2 and 127.0.0.3 may share a port, as a cluster's do.
#   broker_stop DIR      SIGTERM, wait (SIGKILL after 5 s)
#   broker_restart DIR   stop, then start again on the same ports
#   broker_stop_all      every broker started through this file
#
# Ports are random in 20000-60000, checked free with ss, and tried again
# if mosquitto still finds one taken.  A watcher stops each broker when
# the shell that owns it ($BROKER_OWNER, default the sourcing shell) is
# gone or after $BROKER_LIFETIME seconds (default 900), so nothing
# outlives a test that was killed.

BROKER_PORT=
BROKER_PLAIN_PORT=
BROKER_PID=
: "${BROKER_OWNER:=$$}"
: "${BROKER_LIFETIME:=900}"
BROKER__ALL=

broker__random_port() {
	while :; do
		p=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		p=$((20000 + p % 40000))
		[ -z "$(ss -ltnH "sport = :$p" 2>/dev/null)" ] && break
	done
	echo "$p"
}

# broker__alive PID: running and not a zombie.
broker__alive() {
	[ -r "/proc/$1/stat" ] || return 1
	case $(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) in
	Z* | X* | "") return 1 ;;
	esac
	return 0
}

# broker__listening ADDR PORT...
broker__listening() {
	a=$1
	shift
	for p in "$@"; do
		[ -n "$(ss -ltnH "src $a and sport = :$p" 2>/dev/null)" ] ||
			return 1
	done
	return 0
}

# broker_conf_common: the settings of every test broker (listeners aside).
broker_conf_common() {
	echo "per_listener_settings false"
	echo "allow_anonymous true"
	echo "log_dest stderr"
	echo "log_type error"
	echo "log_type warning"
	echo "log_type notice"
	echo "log_type information"
	echo "connection_messages true"
	echo "user $(id -un)"
}

# broker__conf DIR MODE...: writes DIR/mosquitto.conf for DIR/ports.
broker__conf() {
	d=$1; shift
	pki=${BROKER_PKI:-$d/../pki}
	pki=$(cd "$pki" && pwd) || return 1
	set -- $(cat "$d/modes")
	{
		broker_conf_common
		echo "persistence true"
		echo "persistence_location $d/"
		# The tests' persistent subscribers must not lose what is
		# queued for them while they reconnect (default: 1000).
		echo "max_queued_messages 1000000"
	} >"$d/mosquitto.conf"
	for mode in "$@"; do
		case $mode in
		tls) crt=server ;;
		tls-untrusted) crt=bad-server ;;
		tls-wronghost) crt=wrong ;;
		plain) continue ;;
		*) echo "broker.sh: unknown mode $mode" >&2; return 2 ;;
		esac
		cat >>"$d/mosquitto.conf" <<CONF

listener $(cat "$d/port") $(cat "$d/addr")
cafile $pki/ca.crt
certfile $pki/$crt.crt
keyfile $pki/$crt.key
require_certificate true
CONF
	done
	if [ -s "$d/plain_port" ]; then
		printf '\nlistener %s %s\n' "$(cat "$d/plain_port")" "$(cat "$d/addr")" \
			>>"$d/mosquitto.conf"
	fi
}

# broker__run DIR: starts mosquitto on the ports in DIR; 0 when they all
# accept, 1 if mosquitto died (DIR/mosquitto.log says why).
broker__run() {
	d=$1
	mosquitto -c "$d/mosquitto.conf" >>"$d/mosquitto.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$d/pid"
	BROKER__ALL="$BROKER__ALL $d"
	(
		n=0
		while broker__alive "$pid"; do
			if ! kill -0 "$BROKER_OWNER" 2>/dev/null ||
				[ $n -ge "$BROKER_LIFETIME" ]; then
				kill -TERM "$pid"
				break
			fi
			sleep 1
			n=$((n + 1))
		done
	) >/dev/null 2>&1 </dev/null &
	n=0
	while [ $n -lt 500 ]; do
		broker__alive "$pid" || { wait "$pid" 2>/dev/null; return 1; }
		broker__listening "$(cat "$d/addr" 2>/dev/null || echo 127.0.0.1)" \
			$(cat "$d/port" "$d/plain_port") && break
		sleep 0.01
		n=$((n + 1))
	done
	[ $n -lt 500 ] || return 1
	BROKER_PID=$pid
	BROKER_PORT=$(cat "$d/port")
	BROKER_PLAIN_PORT=$(cat "$d/plain_port")
	export BROKER_PORT BROKER_PLAIN_PORT BROKER_PID
	return 0
}

broker_start() {
	d=$1; shift
	mkdir -p "$d" && d=$(cd "$d" && pwd) || return 1
	echo "$*" >"$d/modes"
	echo "${BROKER_ADDR:-127.0.0.1}" >"$d/addr"
	try=0
	while [ $try -lt 10 ]; do
		: >"$d/port"
		: >"$d/plain_port"
		for mode in "$@"; do
			case $mode in
			plain) broker__random_port >"$d/plain_port" ;;
			*) [ -s "$d/port" ] ||
				echo "${BROKER_FIXED_PORT:-$(broker__random_port)}" >"$d/port" ;;
			esac
		done
		[ -s "$d/port" ] || cp "$d/plain_port" "$d/port"
		broker__conf "$d" || return 1
		broker__run "$d" && return 0
		grep -q "in use" "$d/mosquitto.log" 2>/dev/null || break
		try=$((try + 1))
	done
	echo "broker.sh: mosquitto did not start in $d:" >&2
	tail -5 "$d/mosquitto.log" >&2
	return 1
}

broker_stop() {
	d=$1
	[ -s "$d/pid" ] || return 0
	pid=$(cat "$d/pid")
	kill -TERM "$pid" 2>/dev/null
	n=0
	while broker__alive "$pid" && [ $n -lt 500 ]; do
		sleep 0.01
		n=$((n + 1))
	done
	broker__alive "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	: >"$d/pid"
	return 0
}

broker_restart() {
	d=$(cd "$1" && pwd) || return 1
	broker_stop "$d"
	broker__run "$d" && return 0
	echo "broker.sh: mosquitto did not restart in $d:" >&2
	tail -5 "$d/mosquitto.log" >&2
	return 1
}

# broker_cloud_block [LINE]: a zwgate.conf cloud block for the broker
# started last, with the PKI in pki/ beside the config (the broker's name
# is broker.test, dialled at 127.0.0.1), plus LINE.
broker_cloud_block() {
	cat <<CONF
cloud {
	host "broker.test"
	connect-to "127.0.0.1"
	port $BROKER_PORT
	ca-file "pki/ca.crt"
	client-cert "pki/client.crt"
	client-key "pki/client.key"
	reconnect-max-delay 1
	${1:-}
}
CONF
}

# cloud_broker_start: a PKI made by tests/pki.sh in $T/pki and a
# mutual-TLS broker in $T/broker for the gateway's cloud block (see
# broker_cloud_block and cloud_config); TLS holds the options that
# mosquitto_pub and mosquitto_sub need for it.  Stops the test if either
# fails; at exit, the capture, the brokers and the test's files go.
cloud_broker_start() {
	sh "$top_srcdir/tests/pki.sh" "$T/pki" >/dev/null ||
		{ echo "pki.sh failed"; exit 99; }
	BROKER_PKI="$T/pki"
	broker_start "$T/broker" tls || exit 99
	trap 'capture_stop 2>/dev/null; broker_stop_all; cleanup' EXIT
	TLS="--cafile $T/pki/ca.crt --cert $T/pki/client.crt --key $T/pki/client.key"
}

msub() { mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" $TLS "$@"; }
mpub() { mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" $TLS -q 1 "$@"; }

# cloud_config [EXTRA LINES]: the test config plus a cloud block.
cloud_config() {
	write_config
	broker_cloud_block "${1:-}" >>"$CONF"
}

# capture_start TOPIC...: a persistent QoS 1 subscriber to the TOPICs
# writes all it sees to $T/capture.log.  mosquitto_sub exits when a
# reconnect finds the broker down, so it runs in a loop under the same
# client id: its session on the broker keeps what is published while it
# is away.  capture_stop ends it.
capture_start() {
	CAPTURE_ID=capture-$$
	for t in "$@"; do
		shift
		set -- "$@" -t "$t"
	done
	(
		while :; do
			mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" $TLS -v -q 1 -c \
				-i "$CAPTURE_ID" "$@" \
				>>"$T/capture.log" 2>>"$T/capture.err"
			sleep 0.2
		done
	) &
	echo $! >"$T/capture.pid"
	sleep 0.3
}
capture_stop() {
	kill "$(cat "$T/capture.pid")" 2>/dev/null
	pkill -f -- "-i $CAPTURE_ID " 2>/dev/null
}

broker_stop_all() {
	for d in $BROKER__ALL; do
		broker_stop "$d"
	done
}
