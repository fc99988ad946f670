#!/bin/sh
# The cloud link against a real mosquitto broker with mutual TLS and a
# PKI made at test time: retained state and discovery for every value,
# /set round trips and refusals, the cloud API, 20 broker restarts, 1000
# events through an outage, SIGKILL during a burst with outbox-sync
# always, TLS refusals, a group-readable key, and a scan of everything
# published for secrets and personal data.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"
BROKER_OWNER=$$
P=zwgate/test-gw

cloud_broker_start

# A persistent QoS 1 subscriber sees everything the gateway publishes
# (it outlives broker restarts: see capture_start in tests/broker.sh).
capture_start "$P/#" 'homeassistant/#'

cloud_config "outbox-sync always"
start_daemon
check "the gateway says online" wait_grep "$T/capture.log" "^$P/status online" 10
check "status shows the cloud connected" [ "$(ctl --json status | jqr .cloud.state)" = connected ]
out=$(ctl status)
check "status in words" contains "$out" "connected (broker.test)"

# Every value that has a value (a button has none) has a state topic.
nvalues=0
for id in $(ctl --json nodes | jq '.[].id'); do
	nvalues=$((nvalues + $(ctl --json node "$id" | jq '[.values[] | select(.value != null)] | length')))
done
nall=$(ctl --json nodes | jq '[.[].values] | add')
sleep 1
nstate=$(grep -E "^$P/node/[0-9]+/[a-z_]+/[0-9]+/[A-Za-z0-9_-]+ \{\"value\"" "$T/capture.log" | cut -d' ' -f1 | sort -u | wc -l)
check "retained state for every value ($nstate of $nvalues)" [ "$nstate" -eq "$nvalues" ]
ndisc=$(grep -E "^homeassistant/[a-z_]+/[^ ]+/config \{" "$T/capture.log" | cut -d' ' -f1 | sort -u | wc -l)
check "discovery for every value ($ndisc of $nall)" [ "$ndisc" -eq "$nall" ]
out=$(msub -C 1 -W 5 -t "$P/node/2/switch_binary/0/currentValue")
check "a new subscriber gets the retained state" contains "$out" '"value":'

# /set by node name and by number, raw and as {"value":V}.
mpub -t "$P/node/porch/switch_binary/0/currentValue/set" -m true
check "/set by name reaches the device" wait_grep "$T/capture.log" "^$P/node/2/switch_binary/0/currentValue {\"value\":true" 5
check "... and zwgatectl sees it" [ "$(ctl --json get porch switch | jqr .value)" = true ]
mpub -t "$P/node/3/switch_multilevel/0/currentValue/set" -m '{"value":40}'
check "/set by number with {\"value\":V}" wait_grep "$T/capture.log" "^$P/node/3/switch_multilevel/0/currentValue {\"value\":40" 5

# Bad commands: each answered on P/error, nothing changes.
before=$(grep -c "^$P/error " "$T/capture.log")
mpub -t "$P/node/3/switch_multilevel/0/currentValue/set" -m banana
mpub -t "$P/node/3/switch_multilevel/0/currentValue/set" -m 150
mpub -t "$P/node/nosuch/switch_binary/0/currentValue/set" -m true
printf '\377\376\375' >"$T/garbage"
mpub -t "$P/node/2/switch_binary/0/currentValue/set" -f "$T/garbage"
head -c 1048576 /dev/zero | tr '\0' 7 >"$T/big"
mpub -t "$P/node/3/switch_multilevel/0/currentValue/set" -f "$T/big"
mpub -t "$P/node/4/sensor_binary/0/motion/set" -m true
n=0
while [ $(($(grep -c "^$P/error " "$T/capture.log") - before)) -lt 6 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
errs=$(($(grep -c "^$P/error " "$T/capture.log") - before))
check "six bad commands, six errors on P/error ($errs)" [ "$errs" -eq 6 ]
check "... with reasons" grep -q "^$P/error .*out of range" "$T/capture.log"
check "... the dimmer kept its level" [ "$(ctl --json get 3 level | jqr .value)" = 40 ]
check "... the daemon still answers" ctl status

# The request/response API, and what the cloud may not do.
mpub -t "$P/api/nodes/set" -m '{"id":"q1"}'
check "api nodes answers with the id" wait_grep "$T/capture.log" "^$P/api/nodes {\"id\":\"q1\",\"ok\":true" 5
mpub -t "$P/api/rename/set" -m '{"id":7,"node":5,"name":"hallway light"}'
check "api rename" wait_grep "$T/capture.log" "^$P/api/rename {\"id\":7,\"ok\":true" 5
check "... takes effect" [ "$(ctl --json node 'hallway light' | jqr .id)" = 5 ]
mpub -t "$P/api/reload/set" -m '{"id":8}'
check "api reload is refused to the cloud" wait_grep "$T/capture.log" "^$P/api/reload {\"id\":8,\"ok\":false" 5

# Controller operations: refused unless cloud { allow-controller-ops yes },
# which a reload gives and takes back.
api_reply() { wait_grep "$T/capture.log" "^$P/api/$1 {\"id\":$2,\"ok\":$3" 5; }
mpub -t "$P/api/include/set" -m '{"id":9}'
check "api include is refused by default" api_reply include 9 'false,"code":"EACCES"'
check "... saying how to allow it" grep -q "^$P/api/include .*with cloud { allow-controller-ops yes }" "$T/capture.log"
mpub -t "$P/api/heal/set" -m '{"id":10}'
check "... and heal, which the sim could do" api_reply heal 10 'false,"code":"EACCES"'
mpub -t "$P/api/refresh/set" -m '{"id":11,"node":2}'
check "refresh of one node is no controller operation" api_reply refresh 11 true
sed -i 's/^cloud {$/cloud {\n\tallow-controller-ops yes/' "$CONF"
check "allow-controller-ops yes: reload" quiet ctl reload
check "... and the daemon says so" wait_grep "$T/daemon.log" "controller operations from the cloud are now taken" 5
mpub -t "$P/api/heal/set" -m '{"id":12}'
check "... heal from the cloud runs" api_reply heal 12 true
mpub -t "$P/api/include/set" -m '{"id":13}'
check "... include reaches the backend (which cannot)" api_reply include 13 'false,"code":"ENOTSUP"'
mpub -t "$P/api/backup/set" -m '{"id":15}'
check "... but a backup, which holds the network keys, never" api_reply backup 15 'false,"code":"EACCES"'
mpub -t "$P/api/firmware-upload/set" -m '{"id":16,"node":2,"file":"x.bin","size":3,"offset":0,"data":"Zm9v"}'
check "... a firmware upload reaches the backend (which cannot)" api_reply firmware-upload 16 'false,"code":"ENOTSUP"'
sed -i '/allow-controller-ops/d' "$CONF"
check "taking it away: reload" quiet ctl reload
mpub -t "$P/api/heal/set" -m '{"id":14}'
check "... and heal is refused again" api_reply heal 14 'false,"code":"EACCES"'
mpub -t "$P/api/firmware-update/set" -m '{"id":17,"node":2,"file":"x.bin","size":3,"upload":1}'
check "... and a firmware update" api_reply firmware-update 17 'false,"code":"EACCES"'

# Home Assistant asks again: every config is re-sent.
c1=$(grep -c "^homeassistant/.*/config " "$T/capture.log")
mpub -t homeassistant/status -m online
sleep 1
c2=$(grep -c "^homeassistant/.*/config " "$T/capture.log")
check "homeassistant/status online re-sends discovery" [ $((c2 - c1)) -ge "$nvalues" ]

# The broker restarts 20 times: each time the gateway comes back,
# re-subscribes and obeys.
ok=0
v=false
for i in $(seq 20); do
	broker_restart "$T/broker" || break
	[ $v = true ] && v=false || v=true
	n=0
	while [ $n -lt 50 ]; do
		[ "$(ctl --json status | jqr .cloud.state)" = connected ] && break
		sleep 0.1; n=$((n + 1))
	done
	mpub -t "$P/node/2/switch_binary/0/currentValue/set" -m $v
	n=0
	while [ "$(ctl --json get 2 switch | jqr .value)" != $v ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	st=$(msub -C 1 -W 3 -t "$P/status")
	[ "$(ctl --json get 2 switch | jqr .value)" = $v ] && [ "$st" = online ] && ok=$((ok + 1))
done
check "20 broker restarts: commands work and status is online each time ($ok/20)" [ $ok -eq 20 ]

# 1000 events while the broker is down arrive when it is back, in order.
broker_stop "$T/broker"
for i in $(seq 1000); do
	ctl sim event "hall sensor" scene "$i" >/dev/null || echo "inject $i failed"
done
check "status counts the events waiting" [ "$(ctl --json status | jqr .cloud.outbox_pending)" -ge 1000 ]
broker_restart "$T/broker"
n=0
while [ "$(grep -c "^$P/event/4/scene_activation/0/scene " "$T/capture.log")" -lt 1000 ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
grep "^$P/event/4/scene_activation/0/scene " "$T/capture.log" | sed 's/.*"code":\([0-9]*\).*/\1/' >"$T/codes"
got=$(sort -un "$T/codes" | wc -l)
dups=$(($(wc -l <"$T/codes") - got))
check "outage: all 1000 events arrive ($got, $dups duplicates)" [ "$got" -eq 1000 ]
if [ "$got" -ne 1000 ]; then
	echo "  gateway: $(ctl --json status | jq -c .cloud)"
	echo "  capture subscriber running: $(pgrep -f -- "-i $CAPTURE_ID " >/dev/null && echo yes || echo no)"
	grep -E "capture|test-gw" "$T/broker/mosquitto.log" | grep -vE "Sending|Received" | tail -8 | sed 's/^/  broker: /'
fi
check "outage: in order" sh -c "uniq '$T/codes' | sort -n -c"

# SIGKILL in the middle of a burst (outbox-sync always, broker down):
# every event zwgated accepted arrives after the restart.
broker_stop "$T/broker"
( for i in $(seq 2001 2400); do ctl sim event "hall sensor" scene "$i" >/dev/null 2>&1 && echo "$i"; done ) >"$T/accepted" &
burst=$!
sleep 0.5
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
wait "$burst"
DAEMON_PID=
nacc=$(wc -l <"$T/accepted")
check "some events were accepted before the kill ($nacc)" [ "$nacc" -gt 0 ]
start_daemon
broker_restart "$T/broker"
n=0
missing=1
while [ $n -lt 100 ]; do
	grep "^$P/event/4/scene_activation/0/scene " "$T/capture.log" | sed 's/.*"code":\([0-9]*\).*/\1/' | sort -u >"$T/codes2"
	missing=$(sort -u "$T/accepted" | comm -23 - "$T/codes2" | wc -l)
	[ "$missing" -eq 0 ] && break
	sleep 0.1; n=$((n + 1))
done
check "SIGKILL mid-burst: all $nacc accepted events arrive (missing $missing)" [ "$missing" -eq 0 ]
stop_daemon TERM
check "clean stop with a cloud" [ "$STOP_STATUS" = 0 ]
check "the stop says offline" wait_grep "$T/capture.log" "^$P/status offline" 5

# TLS refusals: wrong host name, untrusted CA.
for mode in tls-wronghost tls-untrusted; do
	broker_start "$T/b-$mode" "$mode" || exit 99
	sed -i "s/^\tport .*/\tport $BROKER_PORT/" "$CONF"
	start_daemon
	sleep 2
	st=$(ctl --json status)
	check "$mode: not connected" [ "$(echo "$st" | jqr .cloud.state)" != connected ]
	check "$mode: the reason is shown" contains "$(echo "$st" | jqr .cloud.last_error)" "certificate"
	stop_daemon TERM
	broker_stop "$T/b-$mode"
done

# A client key readable by the group stops the start with a clear error.
chmod 640 "$T/pki/client.key"
out=$("$ZWGATED" -c "$CONF" --state-dir "$STATE" --runtime-dir "$RUN" 2>&1); st=$?
check "a group-readable key stops the start" contains "$st $out" "1 "
check "... and says why" contains "$out" "readable by its group"
chmod 600 "$T/pki/client.key"

# Nothing secret or personal was published or logged.
capture_stop
keyline=$(sed -n 2p "$T/pki/client.key" | cut -c1-24)
leaks=0
for pat in "PRIVATE KEY" "$keyline" "kitchen" "outside" "password" '"location"' "$T/pki"; do
	if grep -qF -- "$pat" "$T/capture.log"; then echo "  published: $pat"; leaks=$((leaks + 1)); fi
done
for pat in "PRIVATE KEY" "$keyline"; do
	if grep -qF -- "$pat" "$T/daemon.log"; then echo "  logged: $pat"; leaks=$((leaks + 1)); fi
done
check "no key material, password or location published or logged" [ $leaks -eq 0 ]
finish
