#!/bin/sh
# What someone else on the broker, or someone who can write the state
# directory, must not be able to make the gateway do (issue 14), against
# a real mosquitto broker with mutual TLS:
# - a command left retained on a /set topic is not carried out at every
#   start and reconnect; it is answered once on P/error, and the empty
#   message that clears it is no error;
# - a burst of homeassistant/status "online" gives one round of
#   discovery, not one per message;
# - records for another gateway's topics planted in the outbox are not
#   published under this gateway's identity, and the drop is counted;
# - a record for the gateway's own /set planted in the outbox is not
#   published, so the broker cannot send it back as a command.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"
BROKER_OWNER=$$
P=zwgate/test-gw
LOCK=$P/node/10/door_lock/0/locked/set

cloud_broker_start

# wait_lock VALUE: until zwgatectl says the lock is VALUE (5 s).
wait_lock() {
	n=0
	while [ "$(ctl --json get 10 locked | jqr .value)" != "$1" ]; do
		[ $n -ge 50 ] && return 1
		sleep 0.1
		n=$((n + 1))
	done
}

# A persistent QoS 1 subscriber, in a loop so that it outlives broker
# restarts (capture_start in tests/broker.sh).
capture_start "zwgate/#" "homeassistant/#"

# lock_errors: the P/error messages about the lock's /set so far.
lock_errors() { grep -c "^$P/error {\"topic\":\"$LOCK\"" "$T/capture.log"; }

cloud_config
start_daemon
check "the gateway is connected" wait_cloud connected

# Home Assistant's birth message, from anyone, 20 times in a row: one
# round of discovery now (and one more at the end of the window).
nall=$(ctl --json nodes | jq '[.[].values] | add')
sleep 1
c1=$(grep -c "^homeassistant/.*/config " "$T/capture.log")
for i in $(seq 20); do mpub -t homeassistant/status -m online; done
sleep 2
c2=$(grep -c "^homeassistant/.*/config " "$T/capture.log")
check "20 onlines give one round of discovery ($((c2 - c1)) configs, $nall values)" [ $((c2 - c1)) -eq "$nall" ]

# The attack: a command left retained on the broker.  Published now, to
# a gateway already subscribed, it is an ordinary command.
mpub -r -t "$LOCK" -m false
check "a live command is carried out" wait_lock false
ctl set 10 locked true >/dev/null
check "the lock is locked again locally" wait_lock true
check "... and says so" wait_grep "$T/capture.log" "^$P/node/10/door_lock/0/locked {\"value\":true" 5

# At the next start the broker hands the retained command over again.
stop_daemon TERM
start_daemon
check "restarted and connected" wait_cloud connected
check "the retained command is answered on P/error" wait_grep "$T/capture.log" "^$P/error {\"topic\":\"$LOCK\".*retained command is not carried out" 5
sleep 1
check "... and not carried out: the lock stays locked" [ "$(ctl --json get 10 locked | jqr .value)" = true ]
check "... the error says what to do" grep -q "^$P/error .*without retain" "$T/capture.log"
check "... the log says why" grep -q "$LOCK refused: a retained command" "$T/daemon.log"

# Every reconnect brings it again: not carried out, not answered again.
before=$(lock_errors)
broker_restart "$T/broker" || exit 99
check "the gateway reconnects" wait_cloud connected 15
sleep 1.5
check "after a reconnect the lock stays locked" [ "$(ctl --json get 10 locked | jqr .value)" = true ]
check "... and the retained command is not answered again ($(lock_errors) errors)" [ "$(lock_errors)" -eq "$before" ]

# The sender clears it: an empty retained message, which the gateway
# receives as an empty message.  No error, no change.
nerr=$(grep -c "^$P/error " "$T/capture.log")
mpub -r -n -t "$LOCK"
sleep 1
check "clearing it gives no error on P/error" [ "$(grep -c "^$P/error " "$T/capture.log")" -eq "$nerr" ]
check "... none about UTF-8 in the log" sh -c "! grep -q 'not UTF-8' '$T/daemon.log'"
check "... and the lock stays locked" [ "$(ctl --json get 10 locked | jqr .value)" = true ]
stop_daemon TERM
start_daemon
check "a start after the clear is quiet" wait_cloud connected
sleep 1
check "... no error about the lock since" [ "$(grep -c "^$P/error " "$T/capture.log")" -eq "$nerr" ]
check "... and the lock is still locked" [ "$(ctl --json get 10 locked | jqr .value)" = true ]
stop_daemon TERM

# A planted outbox: records for another gateway's topics.  They are made
# the easy way: this state directory run as gateway victim-gw while the
# broker is down leaves its outbox full of zwgate/victim-gw/... messages.
broker_stop "$T/broker"
sed -i 's/^gateway-id "test-gw"/gateway-id "victim-gw"/' "$CONF"
start_daemon
ctl sim event "hall sensor" scene 7 >/dev/null
nvictim=$(ctl --json status | jqr .cloud.outbox_pending)
stop_daemon TERM
check "the outbox holds $nvictim message(s) of victim-gw" [ "$nvictim" -gt 0 ]
check "... Home Assistant configs of its entities among them" \
	grep -a -q "homeassistant/[^/]*/zwgate_victim-gw_" "$STATE/outbox/log"
sed -i 's/^gateway-id "victim-gw"/gateway-id "test-gw"/' "$CONF"
broker_restart "$T/broker" || exit 99
logged=$(wc -l <"$T/daemon.log")
start_daemon
check "test-gw starts on that outbox and connects" wait_cloud connected 15
check "... sends its own state" wait_grep "$T/capture.log" "^$P/node/10/door_lock/0/locked " 5
sleep 1.5
nsent=$(grep -c "^zwgate/victim-gw/" "$T/capture.log")
check "nothing is published under victim-gw's topics ($nsent)" [ "$nsent" -eq 0 ]
nvdisc=$(grep -c "^homeassistant/[^/]*/zwgate_victim-gw_" "$T/capture.log")
check "nor a Home Assistant config of victim-gw's entities ($nvdisc)" [ "$nvdisc" -eq 0 ]
nforeign=$(ctl --json status | jqr .cloud.outbox_foreign)
check "the drop is counted in status ($nforeign)" [ "$nforeign" -gt 0 ]
check "... and shown in words" contains "$(ctl status)" "$nforeign not this gateway's"
tail -n +$((logged + 1)) "$T/daemon.log" >"$T/last-start.log"
check "... and logged once" [ "$(grep -c "$nforeign message(s) for topics that are not this gateway's were dropped" "$T/last-start.log")" -eq 1 ]

# A planted command: a record for this gateway's own lock /set in its
# outbox.  Published at connect, the broker would send it back to the
# gateway's own subscription, and the door would open at every start.
check "the lock is locked before" [ "$(ctl --json get 10 locked | jqr .value)" = true ]
stop_daemon TERM
check "a record for $LOCK is planted in the outbox" \
	"$top_builddir/tests/core/outbox_plant" "$STATE/outbox" event "$LOCK" false
nset=$(grep -c "^$LOCK false" "$T/capture.log")
start_daemon
check "the gateway connects on that outbox" wait_cloud connected 15
check "... sends its own state" wait_grep "$T/capture.log" "^$P/node/10/door_lock/0/locked " 5
sleep 1.5
check "... publishes nothing on $LOCK ($(($(grep -c "^$LOCK false" "$T/capture.log") - nset)))" \
	[ "$(grep -c "^$LOCK false" "$T/capture.log")" -eq "$nset" ]
check "... and the lock is still locked" [ "$(ctl --json get 10 locked | jqr .value)" = true ]
stop_daemon TERM

capture_stop
finish
