#!/bin/sh
# Intermittent cloud (docs/DESIGN.md, "Durability and the outbox"): the
# broker is up 20 s and down 40 s, three times over, while events stream in
# at a steady rate (about 20 a second, default outbox sync).  Each up phase
# drains what the outage queued; at the end every event zwgated accepted
# has reached a persistent QoS 1 subscriber, none is lost, and the line
# "events sent N, received N, lost 0, duplicates D" says so.
#
# PROOF_OUTAGE_UP, PROOF_OUTAGE_DOWN and PROOF_OUTAGE_CYCLES change the
# phases (seconds, count) to try the test quickly.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"
. "$top_srcdir/tests/proof/proof.sh"
UP=${PROOF_OUTAGE_UP:-20}
DOWN=${PROOF_OUTAGE_DOWN:-40}
CYCLES=${PROOF_OUTAGE_CYCLES:-3}

proof_start
capture_start || exit 99
proof_config
start_daemon || exit 99
connected() { [ "$(cloud_field state)" = connected ]; }
check "the gateway connects" wait_until 10 connected

# The stream: one event every 50 ms, until $T/stop appears.
: >"$T/accepted"
(
	i=1
	while [ ! -e "$T/stop" ]; do
		event "$i" && echo "$i" >>"$T/accepted"
		i=$((i + 1))
		sleep 0.05
	done
) &
echo $! >"$T/stream.pid"

c=1
while [ $c -le "$CYCLES" ]; do
	# Up: what was accepted until 3 s before the end of the phase
	# (the backlog of the last outage included) arrives within it.
	sleep $((UP - 3))
	cp "$T/accepted" "$T/upto"
	sleep 3
	check "cycle $c, up: the backlog and the live events arrive ($(wc -l <"$T/upto") so far)" \
		all_arrived "$T/upto"
	broker_stop "$T/broker"
	check "cycle $c: the gateway sees the outage" \
		wait_until 10 eval '! connected'
	before=$(wc -l <"$T/accepted")
	sleep "$DOWN"
	queued=$(cloud_field outbox_pending)
	more=$(($(wc -l <"$T/accepted") - before))
	check "cycle $c, down: events are still accepted ($more in $DOWN s, ${queued:-?} queued)" \
		[ $((more > 0 && ${queued:-0} > 0)) -eq 1 ]
	t0=$(date +%s%N)
	broker_restart "$T/broker" || exit 99
	wait_until 15 connected
	st=$?
	took=$((($(date +%s%N) - t0) / 1000000))
	check "cycle $c: reconnected ${took} ms after the broker came back" [ $st -eq 0 ]
	c=$((c + 1))
done

touch "$T/stop"
wait "$(cat "$T/stream.pid")"
rm -f "$T/stream.pid"
check "the backlog of the last outage drains" wait_until 60 all_arrived "$T/accepted"
tally "$T/accepted"
check "no event lost ($LOST of $SENT)" [ $((SENT > 0 && LOST == 0)) -eq 1 ]
check "no event dropped by the outbox bound" [ "$(cloud_field outbox_dropped)" = 0 ]
check "one zwgated all along" kill -0 "$DAEMON_PID"
stop_daemon TERM
check "clean stop" [ "$STOP_STATUS" = 0 ]
wall_time
finish
