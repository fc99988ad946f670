#!/bin/sh
# names.json is believed no more than zwgatectl rename (issue 14, finding
# 6): {"4":"porch"} planted beside the device that calls itself porch is
# set aside with a warning naming node 4, so "porch" still means one node
# for zwgatectl and for the rules; bad entries go, good ones load.
. "$top_srcdir/tests/lib.sh"

write_config
mkdir -p "$T/rules.d"
cat >"$T/rules.d/test.rules" <<'RULES'
rule "motion light" {
	when "hall sensor" motion becomes true
	do set "porch" switch on
}
RULES
chmod 644 "$T/rules.d/test.rules"
echo 'include "rules.d/*.rules"' >>"$CONF"

# Node 2 is porch (its device says so), node 4 the hall sensor.
mkdir -m 700 "$STATE"
cat >"$STATE/names.json" <<'JSON'
{"5": "porch", "4": "porch", "3": "lamp/1", "6": "chest freezer"}
JSON
chmod 600 "$STATE/names.json"
start_daemon || exit 1

log=$(cat "$T/daemon.log")
check "the planted name is set aside with a warning naming node 4" \
	contains "$log" "node 4: name \"porch\" set aside: node 2's device reports that name"
check "... a duplicate: the lower node number keeps it" \
	contains "$log" "node 5: name \"porch\" set aside: node 4 has it too"
check "... an invalid name: the reason, not the name" \
	contains "$log" "node 3: name set aside: names cannot contain '/', '+' or '#'"
check "... and the file is named" contains "$log" "$STATE/names.json"
check "a valid name loads" [ "$(ctl --json node 6 | jqr .name)" = "chest freezer" ]
check "node 4 keeps its device's name" [ "$(ctl --json node 4 | jqr .name)" = "hall sensor" ]
check "porch is node 2, once" [ "$(ctl --json node porch | jqr .id)" = 2 ]

out=$(ctl set porch switch off 2>&1); st=$?
check "zwgatectl set porch works ($out)" [ $st -eq 0 ]
check "... and reaches node 2" value_is 2 switch false
ctl sim emit "hall sensor" motion false >/dev/null
ctl sim emit "hall sensor" motion true >/dev/null
check "a rule that sets porch by name works" wait_for 5 value_is 2 switch true
check "... without an error" [ "$(ctl --json rules show 'motion light' | jqr .last_result)" = ok ]

# What was set aside is not written back at the next rename.
check "rename still works" q ctl rename 7 shed
check "... names.json keeps the good names" grep -q '"chest freezer"' "$STATE/names.json"
check "... and not the planted one" sh -c "! grep -q porch '$STATE/names.json'"
# Removing node 2's name would give it back "porch", which node 4 has now.
q ctl rename 2 kitchen
q ctl rename 4 porch
out=$(ctl rename 2 "" 2>&1); st=$?
check "removing a name whose device name another node holds is refused ($out)" \
	[ $st -ne 0 ]
check "... saying why" contains "$out" "node 2 would go by its device's name 'porch' again, which node 4 has"
check "... and porch is still node 4, once" [ "$(ctl --json node porch | jqr .id)" = 4 ]
stop_daemon TERM
finish
