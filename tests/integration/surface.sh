#!/bin/sh
# The attack surface (ETSI EN 303 645 5.6): zwgated, connected to a real
# broker, holds no listening TCP or UDP socket and no listening Unix
# socket but its control socket, as /proc/net says of the descriptors in
# /proc/PID/fd; a secret file others may read stops the start; a config
# or rules file others may write is refused, at start and at a reload.
# (A foreign uid at the control socket: peercred.sh.)
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"
BROKER_OWNER=$$

sh "$top_srcdir/tests/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 99; }
BROKER_PKI="$T/pki"
broker_start "$T/broker" tls || exit 99
trap 'broker_stop_all; cleanup' EXIT

# inodes PID: the inode of every socket the process holds.
inodes() {
	for fd in /proc/"$1"/fd/*; do
		readlink "$fd" 2>/dev/null
	done | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p' | sort -u
}

# inet_sockets PID: "proto state local remote" of each of its inet
# sockets (/proc/net/tcp and friends: addresses in hex, state 0A is
# LISTEN for TCP; a UDP or raw socket with no remote port is one that
# anybody may send to).
inet_sockets() {
	inodes "$1" >"$T/inodes"
	for proto in tcp tcp6 udp udp6 raw raw6; do
		[ -r "/proc/net/$proto" ] || continue
		awk -v proto="$proto" 'NR == FNR { want[$1] = 1; next }
			FNR > 1 && ($10 in want) { print proto, $4, $2, $3 }' \
			"$T/inodes" "/proc/net/$proto"
	done
}

# unix_listening PID: the path of each listening Unix socket it holds
# (flag __SO_ACCEPTCON, 0x10000, in /proc/net/unix).
unix_listening() {
	inodes "$1" >"$T/inodes"
	awk 'NR == FNR { want[$1] = 1; next }
		FNR > 1 && ($7 in want) && $4 == "00010000" { print $8 }' \
		"$T/inodes" /proc/net/unix
}

write_config
broker_cloud_block >>"$CONF"
start_daemon
check "connected to the broker" wait_cloud connected
inet_sockets "$DAEMON_PID" >"$T/sockets.out"
sed 's/^/  socket: /' "$T/sockets.out"
port=$(printf '%04X' "$BROKER_PORT")
check "the scan sees the daemon's connection to the broker" \
	grep -q "^tcp 01 [0-9A-F]*:[0-9A-F]* 0100007F:$port\$" "$T/sockets.out"
# The same scan of the broker finds its listener: the scan can fail.
inet_sockets "$BROKER_PID" >"$T/broker-sockets.out"
check "the scan sees the broker's listening socket" \
	grep -q "^tcp 0A 0100007F:$port 00000000:0000\$" "$T/broker-sockets.out"
check "no listening TCP socket" sh -c "! grep -q '^tcp6\\? 0A ' '$T/sockets.out'"
check "no UDP or raw socket open to anybody" \
	sh -c "! grep -qE '^(udp|raw)6? [0-9A-F]+ [0-9A-F:]+ [0-9A-F:]+:0000\$' '$T/sockets.out'"
check "ss agrees: nothing of zwgated listens on the network" \
	sh -c "! ss -lntuwpH | grep -q 'pid=$DAEMON_PID,'"
unix_listening "$DAEMON_PID" >"$T/unix.out"
check "the only listening Unix socket is the control socket" \
	[ "$(cat "$T/unix.out")" = "$SOCK" ]
check "the control socket is 0660" [ "$(stat -c %a "$SOCK")" = 660 ]

# A config made writable by others between start and reload: the reload
# is refused and the running config stays.
chmod 666 "$CONF"
out=$(ctl reload 2>&1)
check "reload of a world-writable config is refused" contains "$out" "writable by others"
chmod 644 "$CONF"
mkdir -p "$T/rules.d"
printf 'rule "r" {\n\twhen "porch" switch changes\n\tdo log "x"\n}\n' >"$T/rules.d/a.rules"
chmod 646 "$T/rules.d/a.rules"
echo 'include "rules.d/*.rules"' >>"$CONF"
out=$(ctl reload 2>&1)
check "reload with a world-writable rules file is refused" contains "$out" "a.rules"
check "... saying why" contains "$out" "writable by others"
check "... and the daemon still runs the old config" sh -c "\"$ZWGATECTL\" -s \"$SOCK\" status >/dev/null"
stop_daemon TERM
check "clean stop" [ "$STOP_STATUS" = 0 ]

# start_refused WHAT WANT: zwgated must not start, and must say WANT.
start_refused() {
	out=$("$ZWGATED" -c "$CONF" --state-dir "$STATE" --runtime-dir "$RUN" 2>&1)
	st=$?
	check "$1 stops the start (exit $st)" [ "$st" -eq 1 ]
	check "... and says why" contains "$out" "$2"
	[ ! -S "$SOCK" ] || not_ok "... yet the control socket is there"
}

start_refused "a world-writable rules file" "a.rules"
chmod 644 "$T/rules.d/a.rules"
chmod 662 "$CONF"
start_refused "a world-writable config" "writable by others"
chmod 644 "$CONF"
chmod 604 "$T/pki/client.key"
start_refused "a client key others may read" "readable by others"
chmod 600 "$T/pki/client.key"
umask 077
openssl rand -hex 16 >"$T/network.key"
umask 022
sed -i 's|^\tsim-network .*|&\n\tnetwork-key-file "network.key"|' "$CONF"
start_daemon
check "a 0600 network key file is taken" sh -c "\"$ZWGATECTL\" -s \"$SOCK\" status >/dev/null"
stop_daemon TERM
chmod 640 "$T/network.key"
start_refused "a network key its group may read" "readable by its group"
finish
