#!/bin/sh
# zwgated under valgrind: start, serve every command, reload, stop on
# SIGTERM with exit 0, no invalid access and no leak.
. "$top_srcdir/tests/lib.sh"
if [ "${SANITIZERS:-no}" = yes ] || ! command -v valgrind >/dev/null; then
	skip_all "valgrind runs on the plain build only (or is not installed)"
fi
write_config
start_daemon valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --log-file="$T/vg.log"
check "status under valgrind" ctl status
check "nodes" ctl nodes
check "node" ctl node porch
check "set" ctl set porch switch on
check "rename" ctl rename porch "porch light"
check "sim emit" ctl sim emit freezer temperature -3
check "reload" ctl reload
kill -HUP "$DAEMON_PID"
# A client that leaves while its set is pending.
printf '{"id":1,"cmd":"set","node":"lounge lamp","value":"level","data":20}\n' |
	socat -t 0 - UNIX-CONNECT:"$SOCK" >/dev/null 2>&1
ctl set --no-wait porch switch off >/dev/null
sleep 0.5
kill -TERM "$DAEMON_PID"
n=0
while kill -0 "$DAEMON_PID" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
wait "$DAEMON_PID"; st=$?
DAEMON_PID=
check "exit 0 under valgrind, no errors, no leaks (status $st)" [ $st -eq 0 ]
[ $st -eq 0 ] || cat "$T/vg.log"
finish
