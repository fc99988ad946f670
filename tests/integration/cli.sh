#!/bin/sh
# zwgatectl itself: every command's help, its usage errors, each exit
# status with a real case, the bash completion against a running daemon,
# and factory-reset on a state directory a real daemon filled.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"

# st COMMAND...: its exit status, output to $T/out and $T/err.
st() { "$@" >"$T/out" 2>"$T/err"; echo $?; }

# --- Help: every command answers CMD --help and help CMD. ---
cmds=$("$ZWGATECTL" --list-commands)
check "--list-commands lists commands" contains "$cmds" "factory-reset"
for c in $cmds; do
	r=$(st "$ZWGATECTL" "$c" --help)
	check "$c --help exits 0" [ "$r" = 0 ]
	check "... with its usage" contains "$(head -1 "$T/out")" "usage: zwgatectl"
	r=$(st "$ZWGATECTL" help "$c")
	check "help $c exits 0" [ "$r" = 0 ]
	check "... with its usage" contains "$(head -1 "$T/out")" "usage: zwgatectl"
	# Every command of the list is in --help.
	check "--help names $c" contains "$("$ZWGATECTL" --help)" "  $c"
done
for s in status import keygen make sign verify; do
	r=$(st "$ZWGATECTL" help trust "$s")
	check "help trust $s exits 0" [ "$r" = 0 ]
	check "... with its usage" contains "$(head -1 "$T/out")" "trust $s"
done

# --- Usage errors: exit 2 with a reason on the first line of stderr. ---
bad() {
	r=$(st "$ZWGATECTL" -s "$T/nothing" "$@")
	first=$(head -1 "$T/err")
	if [ "$r" = 2 ] && [ "${first#zwgatectl: }" != "$first" ] &&
		[ ! -s "$T/out" ]; then
		ok "usage error: $* (exit 2: $first)"
	else
		not_ok "usage error: $* (exit $r: $(cat "$T/err" "$T/out"))"
	fi
}
bad
bad frob
bad --frob status
bad -t soon status
bad help nosuch
bad status extra
bad nodes extra
bad node
bad get porch
bad set porch switch
bad set --bogus porch switch on
bad rename porch
bad reload now
bad log-level
bad include 0
bad exclude soon
bad cancel all
bad heal all
bad refresh
bad config-set 2 3
bad sim frob 2
bad sim emit 2
bad rules frob
bad rules show
bad scene
bad scene walk evening
bad trust
bad trust frob
bad trust keygen
bad factory-reset --frob
bad factory-reset --state-dir

# --- The exit statuses, each with a real case. ---
write_config
mkdir -p "$T/rules.d"
cat >"$T/rules.d/test.rules" <<'RULES'
scene "good night" { set "lounge lamp" level 0 }
rule "porch at night" {
	when "porch" switch becomes on
	do set "hall light" level 10
}
RULES
chmod 644 "$T/rules.d/test.rules"
echo 'include "rules.d/*.rules"' >>"$CONF"
# A cloud whose broker is not there: messages wait in the outbox.
sh "$top_srcdir/tests/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 99; }
BROKER_PORT=$(broker__random_port)
broker_cloud_block >>"$CONF"
start_daemon || exit 1

check "exit 0: status" [ "$(st ctl status)" = 0 ]
check "exit 1: an error from zwgated" [ "$(st ctl get nosuch switch)" = 1 ]
check "... said in one line" contains "$(cat "$T/err")" "no node 'nosuch'"
check "exit 2: a usage error" [ "$(st ctl set porch)" = 2 ]
check "exit 3: not running" [ "$(st "$ZWGATECTL" -s "$T/nothing" status)" = 3 ]
check "... said so" contains "$(cat "$T/err")" "not running"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 755 "$RUN"
	r=$(st setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$ZWGATECTL" -s "$SOCK" status)
	check "exit 4: permission denied (as nobody)" [ "$r" = 4 ]
else
	skip "exit 4: permission denied" \
		"needs root and setpriv to act as another user"
fi
# A socket that accepts and never answers.
socat UNIX-LISTEN:"$T/mute.sock",fork SYSTEM:'sleep 5' >/dev/null 2>&1 &
echo $! >"$T/mute.pid"
n=0
while [ ! -S "$T/mute.sock" ] && [ $n -lt 50 ]; do sleep 0.05; n=$((n + 1)); done
check "exit 5: no answer in time" \
	[ "$(st "$ZWGATECTL" -s "$T/mute.sock" -t 0.3 status)" = 5 ]
kill "$(cat "$T/mute.pid")" 2>/dev/null
rm -f "$T/mute.pid"

# --- Bash completion, against the running daemon. ---
if command -v bash >/dev/null; then
	# comp WORD...: COMPREPLY for the line, the last word being completed,
	# one entry a line.
	comp() {
		bash -c '. "$1/completion/zwgatectl.bash"; shift
			COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
			_zwgatectl; printf "%s\n" "${COMPREPLY[@]}"' \
			comp "$top_srcdir" "$ZWGATECTL" "$@"
	}
	out=$(comp "")
	check "completion: commands" contains "$out" "config-set"
	check "... all of them" [ "$(echo "$out" | wc -l)" -eq "$(echo "$cmds" | wc -l)" ]
	check "... factory-reset" contains "$(comp fac)" "factory-reset"
	check "... keys, then generate" [ "$(comp keys gen)" = generate ]
	touch "$T/new-keys.json"
	check "... then a file" contains "$(comp keys generate "$T/new-k")" "$T/new-keys.json"
	rm -f "$T/new-keys.json"
	check "... global options" [ "$(comp --so)" = "--socket" ]
	out=$(comp -s "$SOCK" get lou)
	check "completion: a node name with a space, escaped" [ "$out" = 'lounge\ lamp' ]
	out=$(comp -s "$SOCK" get '"lou')
	check "... inside an open quote, as is" [ "$out" = 'lounge lamp' ]
	out=$(comp -s "$SOCK" node "")
	check "... every node by name" contains "$out" 'front\ door\ lock'
	check "... and by number" contains "$out" "12"
	# bash splits --socket=PATH at the "=" (COMP_WORDBREAKS).
	out=$(comp --socket = "$SOCK" set --no-wait 'lounge\ lamp' "")
	check "completion: values of a node" contains "$out" "level"
	out=$(comp --socket="$SOCK" get freezer temp)
	check "... a short name" [ "$out" = temperature ]
	check "... firmware, then update" [ "$(comp firmware up)" = update ]
	check "... then a node" contains "$(comp -s "$SOCK" firmware update "")" "12"
	touch "$T/lock-2.4.gbl"
	check "... then the image" contains "$(comp -s "$SOCK" firmware update 12 "$T/lock-2")" "$T/lock-2.4.gbl"
	check "... and --target" [ "$(comp firmware update 12 "$T/lock-2.4.gbl" --ta)" = --target ]
	check "... fleet, then its subcommands" \
		[ "$(comp fleet "" | tr '\n' ' ')" = "status publish-bundle can-retire --help " ]
	check "... can-retire's options" contains "$(comp fleet can-retire --an)" "--anchor"
	check "... files after --cafile" [ "$(comp fleet status --cafile "$T/rules.")" = "$T/rules.d" ]
	out=$(comp -s "$SOCK" rules disable po)
	check "completion: rule names" [ "$out" = 'porch\ at\ night' ]
	out=$(comp -s "$SOCK" scene run "")
	check "completion: scene names" [ "$out" = 'good\ night' ]
	out=$(comp -s "$SOCK" trust "")
	check "completion: trust subcommands" \
		[ "$(echo "$out" | tr '\n' ' ')" = "status import keygen make sign verify " ]
	out=$(comp trust make --pin)
	check "... their options" contains "$out" "--pin-from"
	out=$(comp trust import "$T/rules.")
	check "... files" [ "$out" = "$T/rules.d" ]
	out=$(comp trust keygen --out = "$T/rules.")
	check "... files after --out=" [ "$out" = "$T/rules.d" ]
	out=$(comp factory-reset --state-dir "$T/rules.")
	check "... directories after --state-dir" [ "$out" = "$T/rules.d" ]
	out=$(comp help trust s)
	check "completion: help trust SUB" [ "$(echo "$out" | tr '\n' ' ')" = "status sign " ]
	out=$(comp -s "$T/nothing" get "")
	check "completion: nothing (and no noise) without a daemon" [ -z "$out" ]
else
	skip "the bash completion" "bash is not installed"
fi

# --- factory-reset. ---
ctl rename 2 verandah >/dev/null # names.json
ctl rules disable "porch at night" >/dev/null # rules.json: must stay
ctl sim emit freezer temperature -8 >/dev/null # queued for the cloud
mkdir -p "$STATE/trust" "$STATE/openzwave"
echo '{}' >"$STATE/trust/slot-a.bundle"
echo '<Driver/>' >"$STATE/openzwave/zwcfg_0x0000.xml"
echo keep >"$STATE/other"
check "the daemon made names.json" [ -s "$STATE/names.json" ]
check "... and the outbox" [ -s "$STATE/outbox/log" ]
check "... and rules.json" [ -s "$STATE/rules.json" ]

r=$(st ctl factory-reset --state-dir "$STATE" --yes-really)
check "factory-reset refused while zwgated runs (exit 1)" [ "$r" = 1 ]
check "... said so" contains "$(cat "$T/err")" "zwgated is running"
r=$(st "$ZWGATECTL" -s "$T/nothing" factory-reset --state-dir "$STATE" --yes-really)
check "... also through another socket: the outbox is locked" [ "$r" = 1 ]
check "... said so" contains "$(cat "$T/err")" "outbox's lock"
check "... nothing erased" [ -s "$STATE/names.json" ]

stop_daemon TERM
check "clean stop" [ "$STOP_STATUS" = 0 ]
find "$STATE" -name other -o -name rules.json | sort >"$T/kept.before"

r=$(st ctl factory-reset --state-dir "$STATE")
check "without --yes-really: exit 2" [ "$r" = 2 ]
check "... lists the names file" contains "$(cat "$T/out")" "$STATE/names.json"
check "... the outbox" contains "$(cat "$T/out")" "$STATE/outbox/"
check "... the trust slots" contains "$(cat "$T/out")" "$STATE/trust/"
check "... the OpenZWave cache" contains "$(cat "$T/out")" "$STATE/openzwave/"
check "... says how to confirm" contains "$(cat "$T/err")" "--yes-really"
check "... erases nothing" [ -s "$STATE/names.json" -a -d "$STATE/trust" ]

r=$(st ctl factory-reset --state-dir "$STATE" --yes-really)
check "factory-reset --yes-really: exit 0" [ "$r" = 0 ]
for f in names.json outbox trust openzwave; do
	check "... $f erased" [ ! -e "$STATE/$f" ]
done
check "... each said" [ "$(grep -c '^erased ' "$T/out")" -eq 4 ]
check "... other files untouched" \
	[ "$(find "$STATE" -name other -o -name rules.json | sort)" = "$(cat "$T/kept.before")" ]
check "... their content too" [ "$(cat "$STATE/other")" = keep ]
check "... the configuration untouched" [ -s "$CONF" -a -s "$T/rules.d/test.rules" ]
r=$(st ctl factory-reset --state-dir "$STATE" --yes-really)
check "again: exit 0" [ "$r" = 0 ]
check "... nothing to erase" contains "$(cat "$T/out")" "nothing to erase"
r=$(st ctl factory-reset --state-dir "$T/nosuch" --yes-really)
check "a missing state directory: exit 1" [ "$r" = 1 ]
check "... named" contains "$(cat "$T/err")" "$T/nosuch"

# A symbolic link in the state directory is removed, not followed.
mkdir -p "$T/elsewhere" "$STATE"
echo precious >"$T/elsewhere/file"
ln -s "$T/elsewhere" "$STATE/openzwave"
r=$(st ctl factory-reset --state-dir "$STATE" --yes-really)
check "a link: exit 0" [ "$r" = 0 ]
check "... the link removed" [ ! -e "$STATE/openzwave" ]
check "... its target kept" [ "$(cat "$T/elsewhere/file")" = precious ]

# The daemon starts again on the erased state.
start_daemon || exit 1
check "zwgated starts on the erased state" [ "$(st ctl status)" = 0 ]
check "... the names are gone" [ "$(ctl --json node 2 | jqr .name)" != verandah ]
stop_daemon TERM
finish
