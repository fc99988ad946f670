# proof.sh: what the proof tests (tests/proof/*.sh, make check-proof)
# share: POSIX sh, sourced after tests/lib.sh and tests/broker.sh.
#
#   proof_start            the test PKI, a mutual-TLS broker in $T/broker,
#                          the exit trap (proof_cleanup); exit 99 if none
#   proof_config [LINE..]  $CONF: lib.sh's config plus a cloud block for
#                          that broker, with LINEs inside the block
#   capture_start          a persistent QoS 1 subscriber to $P/# writing
#                          $T/capture.log; returns once it is subscribed
#   capture_stop
#   event CODE             one event (scene CODE of node 4) through the
#                          control socket; 0 when zwgated answered success
#   burst FROM TO FILE     events FROM..TO, each accepted CODE into FILE,
#                          until the first one refused (zwgated gone)
#   received_codes         every CODE the subscriber saw, one a line
#   missing FILE           the codes in FILE the subscriber has not seen
#   all_arrived FILE       true when none is missing
#   tally ACCEPTED         counts what of the codes in file ACCEPTED
#                          arrived; sets SENT RECEIVED LOST DUPS EXTRA and
#                          prints "events sent N, received N, lost N,
#                          duplicates N"
#   wait_until SECS CMD..  polls CMD every 0.1 s; 1 when it did not hold
#                          within SECS
#   urand N                a number in 0..N-1 from /dev/urandom
#   cloud_field KEY        .cloud.KEY of "zwgatectl --json status"
#   need_root WHY          SKIP (exit 77) unless root
#   own_namespace ARGS     re-runs the test in a mount namespace of its
#                          own (unshare -m): what it mounts goes with it
#   make_bundle V          trust bundle version V for the test broker, in
#                          $B/vV.bundle (keys k1 k2, threshold 2)
#   trust_config [LINE..]  $CONF with a cloud block that trusts
#                          $B/v1.bundle (the clock synchronised)
#   log_mark / since       what zwgated logged since the mark
#   wall_time              prints how long the test took
#
# PROOF_CLEANUP, when set, is run first on exit (to unmount what a test
# mounted), whatever happens.

P=zwgate/test-gw
EVENT_TOPIC=$P/event/4/scene_activation/0/scene
PROOF_T0=$(date +%s)
PROOF_CLEANUP=
BROKER_OWNER=$$

proof_cleanup() {
	[ -z "$PROOF_CLEANUP" ] || eval "$PROOF_CLEANUP"
	capture_stop
	broker_stop_all
	cleanup
}

proof_start() {
	for tool in mosquitto mosquitto_sub mosquitto_pub openssl jq ss; do
		command -v "$tool" >/dev/null 2>&1 ||
			skip_all "$tool not found"
	done
	trap proof_cleanup EXIT
	sh "$top_srcdir/tests/pki.sh" "$T/pki" >/dev/null ||
		{ echo "pki.sh failed"; exit 99; }
	BROKER_PKI=$T/pki
	broker_start "$T/broker" tls || exit 99
	TLS="--cafile $T/pki/ca.crt --cert $T/pki/client.crt --key $T/pki/client.key"
}

proof_config() {
	write_config
	_lines=
	for _l in "$@"; do
		_lines="$_lines$_l
	"
	done
	broker_cloud_block "$_lines" >>"$CONF"
}

# mosquitto_sub leaves when a reconnect finds the broker down, so the
# subscriber runs in a loop under one client id: its persistent session
# keeps what is published while it is away.  Both pids are in $T/*.pid,
# which lib.sh's cleanup kills whatever happens.
capture_start() {
	(
		sub=
		trap '[ -z "$sub" ] || kill "$sub" 2>/dev/null; exit 0' TERM
		while :; do
			mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" $TLS -v -q 1 \
				-c -i "capture-$BROKER_OWNER" -t "$P/#" \
				>>"$T/capture.log" 2>>"$T/capture.err" &
			sub=$!
			echo "$sub" >"$T/capture-sub.pid"
			wait "$sub"
			sleep 0.2
		done
	) &
	echo $! >"$T/capture.pid"
	_probe=0
	while [ $_probe -lt 50 ]; do
		mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" $TLS -q 1 \
			-t "$P/probe" -m "probe-$_probe" 2>/dev/null
		wait_until 0.5 grep -q "^$P/probe probe-$_probe\$" \
			"$T/capture.log" && return 0
		_probe=$((_probe + 1))
	done
	echo "the capturing subscriber did not subscribe" >&2
	return 1
}

capture_stop() {
	for _f in capture capture-sub; do
		[ -s "$T/$_f.pid" ] && kill "$(cat "$T/$_f.pid")" 2>/dev/null
		rm -f "$T/$_f.pid"
	done
	return 0
}

event() { ctl sim event "hall sensor" scene "$1" >/dev/null 2>&1; }

burst() {
	_i=$1
	while [ "$_i" -le "$2" ]; do
		event "$_i" || return 0
		echo "$_i" >>"$3"
		_i=$((_i + 1))
	done
}

received_codes() {
	grep "^$EVENT_TOPIC " "$T/capture.log" 2>/dev/null |
		sed -n 's/.*"code":\([0-9]*\).*/\1/p'
}

missing() {
	received_codes | sort -u >"$T/got"
	sort -u "$1" | comm -23 - "$T/got"
}

all_arrived() { [ -z "$(missing "$1")" ]; }

tally() {
	received_codes >"$T/tally.all"
	sort -u "$1" >"$T/tally.sent"
	sort -u "$T/tally.all" >"$T/tally.got"
	SENT=$(wc -l <"$T/tally.sent")
	RECEIVED=$(comm -12 "$T/tally.sent" "$T/tally.got" | wc -l)
	LOST=$((SENT - RECEIVED))
	EXTRA=$(comm -13 "$T/tally.sent" "$T/tally.got" | wc -l)
	# Every line past the first of a code is a duplicate.
	DUPS=$(($(wc -l <"$T/tally.all") - $(wc -l <"$T/tally.got")))
	echo "events sent $SENT, received $RECEIVED, lost $LOST, duplicates $DUPS"
}

# By the clock, not by counting polls: one poll of CMD may take long.
wait_until() {
	_end=$(($(date +%s%3N) + $(awk -v s="$1" 'BEGIN { print int(s * 1000) }')))
	shift
	while ! "$@"; do
		[ "$(date +%s%3N)" -ge "$_end" ] && return 1
		sleep 0.1
	done
	return 0
}

urand() { echo $(($(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % $1)); }

cloud_field() { ctl --json status 2>/dev/null | jq -r ".cloud.$1 // empty"; }

need_root() {
	[ "$(id -u)" = 0 ] && return 0
	skip_all "$1"
}

wall_time() { echo "# wall time $(($(date +%s) - PROOF_T0)) s"; }

own_namespace() {
	[ -z "${PROOF_IN_NAMESPACE:-}" ] || return 0
	unshare -m --propagation private true 2>/dev/null ||
		skip_all "unshare -m does not work here"
	# lib.sh made $T and set its trap: the new shell makes its own.
	trap - EXIT
	rm -rf "$T"
	PROOF_IN_NAMESPACE=1 exec unshare -m --propagation private sh "$0" "$@"
}

B=$T/bundles
make_bundle() {
	if [ ! -e "$B/k2" ]; then
		mkdir -p "$B"
		for _k in k1 k2; do
			"$ZWGATECTL" trust keygen --out "$B/$_k" >/dev/null ||
				exit 99
		done
	fi
	"$ZWGATECTL" trust make --version "$1" \
		--expires "$(date -u -d '+400 days' +%F)" --host broker.test \
		--anchor "$T/pki/ca.crt" \
		--pin-from "$T/pki/ca.crt" "$T/pki/bad-ca.crt" \
		--signer "$B/k1.pub" "$B/k2.pub" --threshold 2 \
		--out "$B/v$1.bundle" >/dev/null &&
		"$ZWGATECTL" trust sign --key "$B/k1" "$B/v$1.bundle" >/dev/null &&
		"$ZWGATECTL" trust sign --key "$B/k2" "$B/v$1.bundle" >/dev/null ||
		exit 99
}

trust_config() {
	write_config
	: >"$T/synced"
	{
		echo "cloud {"
		echo "	host \"broker.test\""
		echo "	connect-to \"127.0.0.1\""
		echo "	port $BROKER_PORT"
		echo "	trust-bundle \"$B/v1.bundle\""
		echo "	clock-synchronized-file \"$T/synced\""
		echo "	client-cert \"${PROOF_PKI:-$T/pki}/client.crt\""
		echo "	client-key \"${PROOF_PKI:-$T/pki}/client.key\""
		echo "	reconnect-max-delay 1"
		for _l in "$@"; do printf '\t%s\n' "$_l"; done
		echo "}"
	} >>"$CONF"
}

log_mark() { : >>"$T/daemon.log"; PROOF_MARK=$(wc -l <"$T/daemon.log"); }
since() { tail -n "+$((PROOF_MARK + 1))" "$T/daemon.log"; }
