#!/bin/sh
# kill -9 at any moment loses nothing that was acknowledged
# (docs/DESIGN.md, "Durability and the outbox"): 50 rounds of a burst of
# events into zwgated with "outbox-sync always", each ended by SIGKILL
# after a random delay, the broker up in some rounds and down in others.
# Every event whose "zwgatectl sim event" got a success answer reaches a
# persistent QoS 1 subscriber; every start loads the outbox.
#
# The delays come from a seed read from /dev/urandom and printed first;
# PROOF_KILL_SEED=N replays a run.  PROOF_KILL_ROUNDS changes the count.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"
. "$top_srcdir/tests/proof/proof.sh"
ROUNDS=${PROOF_KILL_ROUNDS:-50}
SEED=${PROOF_KILL_SEED:-$(urand 2147483647)}
BURST=400
echo "# seed $SEED (PROOF_KILL_SEED=$SEED replays these delays)"

proof_start
capture_start || exit 99
proof_config "outbox-sync always"

# Per round: the delay before the kill (ms) and whether the broker is up.
awk -v seed="$SEED" -v n="$ROUNDS" 'BEGIN {
	srand(seed)
	for (i = 1; i <= n; i++)
		printf "%d %d\n", int(rand() * 1000), rand() < 0.5
}' >"$T/plan"

: >"$T/accepted"
: >>"$T/daemon.log"
broker_up=1
starts=0 loaded=0 round=0
# started: zwgated came up with its cloud block and no outbox error, and
# logged none since this start.
started() {
	mark=$(wc -l <"$T/daemon.log")
	start_daemon || return 1
	st=$(ctl --json status) || return 1
	errs=$(tail -n "+$((mark + 1))" "$T/daemon.log" | grep -c "error: ")
	[ "$errs" -eq 0 ] && echo "$st" | jq -e \
		'.cloud.state and (.cloud.outbox_error | not)' >/dev/null
}
while read -r delay up; do
	round=$((round + 1))
	if [ "$up" != "$broker_up" ]; then
		if [ "$up" = 1 ]; then broker_restart "$T/broker" || exit 99
		else broker_stop "$T/broker"; fi
		broker_up=$up
	fi
	starts=$((starts + 1))
	if started; then
		loaded=$((loaded + 1))
	else
		echo "  round $round: the start failed:"
		tail -5 "$T/daemon.log" | sed 's/^/    /'
	fi
	base=$((round * 10000))
	burst $((base + 1)) $((base + BURST)) "$T/accepted" &
	bpid=$!
	sleep "$(awk -v ms="$delay" 'BEGIN { printf "%.3f", ms / 1000 }')"
	kill -KILL "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
	wait "$bpid"
	n=$(awk -v lo="$base" '$1 > lo' "$T/accepted" | wc -l)
	echo "# round $round: broker $([ "$up" = 1 ] && echo up || echo down), killed after $delay ms, $n accepted"
done <"$T/plan"

[ "$broker_up" = 1 ] || broker_restart "$T/broker" || exit 99
starts=$((starts + 1))
started && loaded=$((loaded + 1))
check "every one of $starts starts loaded the outbox ($loaded)" [ "$loaded" -eq "$starts" ]
wait_until 90 all_arrived "$T/accepted"
tally "$T/accepted"
check "$ROUNDS kills: every accepted event arrived (lost $LOST of $SENT)" \
	[ $((SENT > 0 && LOST == 0)) -eq 1 ]
echo "# also arrived: $EXTRA event(s) whose answer the kill cut off"
if [ "$LOST" -ne 0 ]; then
	missing "$T/accepted" | head -5 | sed 's/^/  lost: /'
fi
cut=$(grep -c "were no whole record" "$T/daemon.log")
echo "# starts that cut a torn record: $cut"
stop_daemon TERM
check "clean stop" [ "$STOP_STATUS" = 0 ]
wall_time
finish
