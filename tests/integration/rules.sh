#!/bin/sh
# Rules on the sim network (zwgate.rules(5)): with no cloud configured, a
# trigger fires and sets a value, a scene runs, a schedule fires at its
# time, rules are listed, run, disabled (kept across a restart), and a
# bad rule file on reload keeps the old rules; then with a broker that
# goes down, a publish waits in the outbox and goes out when it is back.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"
BROKER_OWNER=$$
P=zwgate/test-gw

# The test rules, with an "at" a few seconds from now (local time of the
# configured zone) so that a schedule fires during the test.
write_rules() {
	at=$(TZ=Europe/Paris date -d "@$(($(date +%s) + $1))" +%H:%M:%S)
	mkdir -p "$T/rules.d"
	cat >"$T/rules.d/test.rules" <<RULES
scene "evening" { set "lounge lamp" level 40; set "porch" switch on }
rule "motion light" {
	when "hall sensor" motion becomes true
	do set "porch" switch on
}
rule "soon" {
	at $at
	do set "hall light" level 60
}
rule "porch alert" {
	when "porch" switch becomes off
	do publish "alerts/porch" "{\"porch\": \$value}"
	mode queued
}
every 1h do refresh "garden sensor"
RULES
	chmod 644 "$T/rules.d/test.rules"
	echo 'include "rules.d/*.rules"' >>"$CONF"
}

write_config
write_rules 4
start_daemon || exit 1

# The list, in --json: name, enabled, next in ISO 8601 with an offset.
json=$(ctl --json rules)
check "rules --json lists 4 rules" [ "$(echo "$json" | jq length)" -eq 4 ]
check "... with name and enabled" [ "$(echo "$json" | jqr '.[0].name + " " + (.[0].enabled|tostring)')" = "motion light true" ]
next=$(echo "$json" | jqr '.[] | select(.name == "soon") | .next')
check "... next of a schedule in ISO 8601 with offset ($next)" contains "$next" "T$at+0"
out=$(ctl rules)
check "rules in words" contains "$out" "porch alert"
check "rules show" contains "$(ctl rules show soon)" "at"

# A trigger sets a value.
ctl set porch switch false >/dev/null
ctl sim emit "hall sensor" motion false >/dev/null
ctl sim emit "hall sensor" motion true >/dev/null
check "a trigger fires and sets a value" wait_for 5 value_is porch switch true

# A scene runs.
check "scene run" q ctl scene run evening
check "... and sets its values" wait_for 5 value_is "lounge lamp" level 40
check "scene run: unknown scene" sh -c "! $ZWGATECTL -s $SOCK scene run nope 2>/dev/null"

# A schedule fires at its time.  Nothing else sets the hall light, which
# starts at 0: a reset here could come after a start that took longer
# than the schedule's 4 s (under qemu on a busy machine) and undo it.
check "a schedule fires at its time" wait_for 15 value_is "hall light" level 60
last=$(ctl --json rules show soon | jqr .last_result)
check "... and its last result is ok ($last)" [ "$last" = ok ]

# rules run, disable (kept across a restart), enable.
ctl set porch switch false >/dev/null
wait_for 5 value_is porch switch false
check "rules run" q ctl rules run "motion light"
check "... runs its actions" wait_for 5 value_is porch switch true
check "rules disable" q ctl rules disable "motion light"
check "... saved in the state dir" grep -q "motion light" "$STATE/rules.json"
stop_daemon TERM
start_daemon || exit 1
check "... kept across a restart" [ "$(ctl --json rules | jqr '.[0].enabled')" = false ]
ctl set porch switch false >/dev/null
wait_for 5 value_is porch switch false
ctl sim emit "hall sensor" motion false >/dev/null
ctl sim emit "hall sensor" motion true >/dev/null
sleep 1
check "... and a disabled rule does not run" value_is porch switch false
check "rules enable" q ctl rules enable "motion light"
check "rules run: unknown rule" sh -c "! $ZWGATECTL -s $SOCK rules run nope 2>/dev/null"

# A bad rule file on reload: errors as file:line:col, the old rules run.
cat >"$T/rules.d/bad.rules" <<'RULES'
rule "bad" {
	at 25:00
	do log "x"
}
RULES
chmod 644 "$T/rules.d/bad.rules"
out=$(ctl reload 2>&1)
check "reload with a bad rule file fails" contains "$out" "bad.rules:2:5: expected a time"
check "... the old rules stay" [ "$(ctl --json rules | jq length)" -eq 4 ]
ctl sim emit "hall sensor" motion false >/dev/null
ctl sim emit "hall sensor" motion true >/dev/null
check "... and still run" wait_for 5 value_is porch switch true
rm "$T/rules.d/bad.rules"
check "a good reload" q ctl reload
check "... keeps the enabled flags" [ "$(ctl --json rules | jqr '.[0].enabled')" = true ]
echo 'rule "ghost" { when "ghost" switch changes; do log "boo" }' >"$T/rules.d/ghost.rules"
chmod 644 "$T/rules.d/ghost.rules"
out=$(ctl reload 2>&1)
check "a reload warns of a node the network does not have" contains "$out" \
	'ghost.rules:1:21: warning: no node "ghost" in the network (yet)'
check "... and takes the rule" [ "$(ctl --json rules | jq length)" -eq 5 ]
check "... which says why it waits" contains "$(ctl rules)" 'no node "ghost" yet'
stop_daemon TERM

# Two rules that set each other's trigger (issue 14): the loop is caught
# within a second or so, both rules pause, say why, and stay quiet.
mkdir -p "$T/rules.off"
mv "$T/rules.d/"*.rules "$T/rules.off/"
cat >"$T/rules.d/loop.rules" <<'RULES'
rule "A" {
	when "porch" switch becomes on
	do set "washer plug" switch off; set "washer plug" switch on
}
rule "B" {
	when "washer plug" switch becomes on
	do set "porch" switch off; set "porch" switch on
}
RULES
chmod 644 "$T/rules.d/loop.rules"
start_daemon || exit 1
ctl set porch switch false >/dev/null
wait_for 5 value_is porch switch false
ctl set porch switch true >/dev/null
both_paused() { ctl --json rules | jq -e 'length == 2 and all(.[]; .paused)'; }
check "a loop of two rules is paused" wait_for 10 both_paused
out=$(ctl rules)
check "... rules shows it for A" contains "$out" 'paused: loop with rule "B"'
check "... and for B" contains "$out" 'paused: loop with rule "A"'
check "... and rules show too" contains "$(ctl rules show B)" 'paused: loop with rule "A"'
runs() { ctl --json rules | jqr '[.[].runs] | add'; }
ts() { ctl --json get porch switch | jqr .updated_ms; }
sleep 0.5
r1=$(runs)
t1=$(ts)
sleep 2
quiet() { [ "$(runs)" = "$r1" ] && [ "$(ts)" = "$t1" ]; }
check "... and its reports stop ($r1 runs)" quiet
check "... after a few runs, not hundreds" [ "$r1" -le 40 ]
n=$(grep -c 'trigger each other in a loop' "$T/daemon.log")
check "... logged once ($n)" [ "$n" -eq 1 ]
check "a reload resumes them" q ctl reload
none_paused() { ctl --json rules | jq -e 'all(.[]; .paused | not)'; }
check "... not paused any more" none_paused
stop_daemon TERM
rm "$T/rules.d/loop.rules"
mv "$T/rules.off/"*.rules "$T/rules.d/"

# With a cloud whose broker goes down: the publish waits in the outbox.
sh "$top_srcdir/tests/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 99; }
BROKER_PKI="$T/pki"
broker_start "$T/broker" tls || exit 99
trap 'broker_stop_all; cleanup' EXIT
TLS="--cafile $T/pki/ca.crt --cert $T/pki/client.crt --key $T/pki/client.key"
broker_cloud_block >>"$CONF"
# A rule that publishes $node in JSON, for a node the cloud can rename.
cat >"$T/rules.d/hostile.rules" <<'RULES'
rule "who" {
	when "4" motion becomes true
	do publish "alerts/who" "{\"admin\": false, \"node\": \"$node\"}"
}
RULES
chmod 644 "$T/rules.d/hostile.rules"
mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" $TLS -v -q 1 -c -i rules-capture \
	-t "$P/alerts/#" >"$T/capture.log" 2>&1 &
echo $! >"$T/capture.pid"
sleep 0.3
start_daemon || exit 1
cloud_up() { [ "$(ctl --json status | jqr .cloud.state)" = connected ]; }
check "the cloud connects" wait_for 10 cloud_up
ctl set porch switch true >/dev/null
wait_for 5 value_is porch switch true
broker_stop "$T/broker"
ctl set porch switch false >/dev/null
check "the rule ran while the broker is down" wait_for 5 sh -c \
	"$ZWGATECTL -s $SOCK --json rules show 'porch alert' | jq -e '.runs >= 1'"
pending=$(ctl --json status | jqr .cloud.outbox_pending)
check "... its message waits in the outbox ($pending)" [ "$pending" -ge 1 ]
check "... not at the broker yet" sh -c "! grep -q alerts/porch $T/capture.log"
broker_restart "$T/broker" || exit 99
check "the message goes out when the broker is back" wait_for 20 \
	grep -q "^$P/alerts/porch {\"porch\": false}" "$T/capture.log"

# A node name that would add a key to the rule's JSON (issue 14): the
# broker gets valid JSON with the name as a string, nothing more.
evil='x","admin":true,"z":"'
check "a hostile name is taken by rename" q ctl rename 4 "$evil"
ctl sim emit 4 motion false >/dev/null
ctl sim emit 4 motion true >/dev/null
check "the rule publishes" wait_for 10 grep -q "^$P/alerts/who " "$T/capture.log"
who=$(grep "^$P/alerts/who " "$T/capture.log" | head -n 1 | cut -d' ' -f2-)
escaped() {
	echo "$who" | jq -e --arg n "$evil" \
		'.node == $n and .admin == false and (keys | length) == 2'
}
check "... escaped JSON with the name as a string ($who)" escaped
stop_daemon TERM
finish
