# gateways.sh: many gateways at once, for the proof tests (POSIX sh,
# sourced after tests/lib.sh): one zwgated each, on the sim backend, with
# its own config, state and runtime directories in $T/gwI.
#
#   gateways_start N PREFIX NETFILE CLOUD
#                      gateways 1..N, gateway-id PREFIX-I, the simulated
#                      network NETFILE, CLOUD the body of their cloud
#                      block; pids in $T/gwI.pid (lib.sh's cleanup kills
#                      what is left)
#   gw I / gwctl I ARGS  gateway I's directory / zwgatectl to it
#   states             $T/states: "I STATE CONNECTED_SINCE_MS HOST" a
#                      gateway ("I down 0 -" when it does not answer)
#   all_connected      states, and true when every one is connected
#   alive              every zwgated is still running
#   gateways_stop      SIGTERM to each, waited for; STOPPED says how many
#                      stopped cleanly

gw() { echo "$T/gw$1"; }
gwctl() { _g=$(gw "$1"); shift; "$ZWGATECTL" -s "$_g/run/control.sock" "$@"; }

gateways_start() {
	GW_N=$1
	_i=1
	while [ $_i -le "$GW_N" ]; do
		_G=$(gw $_i)
		mkdir -p "$_G"
		cat >"$_G/zwgate.conf" <<CONF
gateway-id "$2-$_i"
log-level notice
zwave {
	backend sim
	sim-network "$3"
}
cloud {
$4
}
CONF
		chmod 644 "$_G/zwgate.conf"
		"$ZWGATED" -c "$_G/zwgate.conf" --state-dir "$_G/state" \
			--runtime-dir "$_G/run" 2>>"$_G/daemon.log" &
		echo $! >"$T/gw$_i.pid"
		_i=$((_i + 1))
	done
}

states() {
	_i=1
	while [ $_i -le "$GW_N" ]; do
		_s=$(gwctl $_i --json status 2>/dev/null |
			jq -r '"\(.cloud.state) \(.cloud.connected_since_ms // 0) \(.cloud.host)"')
		echo "$_i ${_s:-down 0 -}"
		_i=$((_i + 1))
	done >"$T/states"
}

all_connected() {
	states
	[ "$(grep -c " connected " "$T/states")" -eq "$GW_N" ]
}

# alive: every gateway is running (else what their logs say most).
alive() {
	for _p in $(cat "$T"/gw*.pid); do
		kill -0 "$_p" 2>/dev/null || {
			cat "$T"/gw*/daemon.log | sort | uniq -c | sort -rn | head -3
			return 1
		}
	done
}

gateways_stop() {
	_i=1
	STOPPED=0
	while [ $_i -le "$GW_N" ]; do
		_p=$(cat "$T/gw$_i.pid")
		kill -TERM "$_p" && wait "$_p" && STOPPED=$((STOPPED + 1))
		rm -f "$T/gw$_i.pid"
		_i=$((_i + 1))
	done
}
