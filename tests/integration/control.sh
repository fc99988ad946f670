#!/bin/sh
# The control socket under bad input, the command errors users will meet,
# and the simulated network's test hooks.  Whatever a client sends, the
# daemon answers the next client.
. "$top_srcdir/tests/lib.sh"
write_config
start_daemon

raw() { printf '%s\n' "$1" | socat -t 2 - UNIX-CONNECT:"$SOCK"; }

out=$(raw '{"id":1,"cmd":"status"}')
check "raw request gets its reply" contains "$out" '"id":1,"ok":true'
out=$(raw 'this is not json')
check "not JSON: EINVAL reply" contains "$out" '"code":"EINVAL"'
out=$(raw '[1,2,3]')
check "not an object: EINVAL reply" contains "$out" '"code":"EINVAL"'
out=$(raw '{"id":2}')
check "no cmd: EINVAL reply with the id" contains "$out" '"id":2,"ok":false'
out=$(raw '{"id":3,"cmd":"frobnicate"}')
check "unknown command" contains "$out" "unknown command"
head -c 70000 /dev/zero | tr '\0' a > "$T/big"
out=$(socat -t 2 - UNIX-CONNECT:"$SOCK" < "$T/big")
check "oversized request: E2BIG" contains "$out" '"code":"E2BIG"'
# 20 clients that connect and say nothing: the limit holds, then frees.
for i in $(seq 20); do
	sleep 3 | socat - UNIX-CONNECT:"$SOCK" > "$T/idle.$i" 2>&1 &
	echo $! >> "$T/idlers.pid"
done
sleep 0.5
cat "$T"/idle.* > "$T/idle.all"
check "over the client limit: EBUSY" grep -q '"code":"EBUSY"' "$T/idle.all"
for p in $(cat "$T/idlers.pid"); do kill "$p" 2>/dev/null; done
rm -f "$T/idlers.pid"
sleep 0.3
check "the daemon still answers after abuse" ctl status

# Errors a user meets, each with a message and a non-zero exit.
expect_err() {
	d=$1; want=$2; shift 2
	out=$(ctl "$@" 2>&1); st=$?
	if [ $st -ne 0 ] && contains "$out" "$want"; then ok "$d"; else not_ok "$d (exit $st: $out)"; fi
}
expect_err "unknown node" "no node 'nosuch'" get nosuch switch
expect_err "unknown value" "has no value 'colour'" get porch colour
expect_err "read-only value" "read-only" set "hall sensor" motion true
expect_err "wrong type" "" set "lounge lamp" level banana
expect_err "out of range" "range" set "lounge lamp" level 150
expect_err "bad rename" "bad name" rename porch "a/b"
expect_err "rename to a number" "bad name" rename porch 12
expect_err "bad log level" "must be one of" log-level loud
expect_err "usage error" "" set porch
out=$(ctl set porch 2>&1); st=$?
check "usage error exits 2" [ $st -eq 2 ]

# Simulated network hooks: a sensor report, a dead node.
check "sim emit" ctl sim emit freezer temperature -9.5
check "the report is in the registry" [ "$(ctl --json get freezer temperature | jqr .value)" = -9.5 ]
check "sim dead" ctl sim dead porch
check "... status dead" [ "$(ctl --json node porch | jqr .status)" = dead ]
expect_err "set on a dead node" "is dead" set porch switch off
check "sim alive" ctl sim alive porch
check "set works again" ctl set porch switch off
check "a set without waiting" [ "$(ctl --json set --no-wait porch switch on | jqr .confirmed)" = false ]
expect_err "sim emit: unknown value" "" sim emit porch nosuch 1

stop_daemon TERM
check "clean stop after all that" [ "$STOP_STATUS" = 0 ]
finish
