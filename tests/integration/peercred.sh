#!/bin/sh
# The control socket's peer check: a user who is neither root, the
# daemon's own user, nor in the control group is refused, even when the
# socket file's mode would let them in.
. "$top_srcdir/tests/lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	skip_all "needs root and setpriv to act as another user"
fi
write_config
start_daemon
chmod 755 "$RUN"
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$ZWGATECTL" -s "$SOCK" "$@"
}
out=$(as_nobody status 2>&1); st=$?
check "nobody, socket 0660: cannot connect (exit 4)" [ $st -eq 4 ]
check "... told to be root or in group zwgate" contains "$out" "Permission denied"
chmod 666 "$SOCK"
out=$(as_nobody status 2>&1); st=$?
check "nobody, socket 0666: refused by SO_PEERCRED (exit 4)" [ $st -eq 4 ]
check "... with a clear message" contains "$out" "permission denied"
check "the daemon still answers root" ctl status
stop_daemon TERM
check "clean stop" [ "$STOP_STATUS" = 0 ]

# Another control group than zwgate: "users" (gid 100 on Debian).  Four
# clients, so two per user.
sed -i 's/^control {.*}$/control { idle-timeout 30; max-clients 4; group "users" }/' "$CONF"
start_daemon
chmod 755 "$RUN"
out=$(as_nobody status 2>&1); st=$?
check "group users, nobody outside it: refused (exit 4)" [ $st -eq 4 ]
check "... told the configured group, not zwgate" contains "$out" "in group users?"
as_member() {
	u=$1; shift
	setpriv --reuid="$u" --regid=nogroup --groups=users "$@"
}
# hold N USER: N connections of USER, each answered once, then kept open
# (and idle) for 5 s.
hold() {
	i=0
	while [ $i -lt "$1" ]; do
		{ printf '{"cmd":"status"}\n'; sleep 5; } |
			as_member "$2" socat - UNIX-CONNECT:"$SOCK" \
			>"$T/hold.$2.$i.out" 2>&1 &
		i=$((i + 1))
	done
}
# answered USER: how many of USER's held connections had their answer.
answered() { grep -l '"ok":true' "$T"/hold."$1".*.out 2>/dev/null | wc -l; }
hold 2 nobody
n=0
while [ "$(answered nobody)" -lt 2 ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
check "one member holds its share (2 of 4)" [ "$(answered nobody)" -eq 2 ]
out=$(printf '{"cmd":"status"}\n' | as_member nobody socat -t 2 - UNIX-CONNECT:"$SOCK")
check "... its third connection is refused" contains "$out" '"code":"EBUSY"'
check "... saying why" contains "$out" "too many control clients of uid 65534 (limit 2 per user)"
out=$(as_member daemon "$ZWGATECTL" -s "$SOCK" status 2>&1); st=$?
check "another member still gets in" [ $st -eq 0 ]
check "... and root too" ctl status
# A backup holds the network's keys: not for every member of the group.
out=$(printf '{"id":1,"cmd":"backup"}\n' | as_member daemon socat -t 2 - UNIX-CONNECT:"$SOCK")
check "a member's backup is refused" contains "$out" '"code":"EACCES"'
check "... saying why" contains "$out" "only root or zwgated's own user may ask for it"
out=$(ctl backup "$T/nvm.bin" 2>&1)
check "root's reaches the backend (the sim has none)" contains "$out" "the sim backend cannot back up the controller"
check "... leaving no file behind" sh -c "! ls '$T' | grep -q '^nvm.bin'"
# A firmware update puts code on a device: the same.
out=$(printf '{"id":1,"cmd":"firmware-upload","node":2,"file":"x.bin","size":3,"offset":0,"data":"Zm9v"}\n' | as_member daemon socat -t 2 - UNIX-CONNECT:"$SOCK")
check "a member's firmware upload is refused" contains "$out" '"code":"EACCES"'
check "... saying why" contains "$out" "a firmware update puts code on a device: only root or zwgated's own user"
out=$(printf '{"id":1,"cmd":"firmware-update","node":2,"file":"x.bin","size":3,"upload":1}\n' | as_member daemon socat -t 2 - UNIX-CONNECT:"$SOCK")
check "... and its update" contains "$out" '"code":"EACCES"'
printf 'foo' >"$T/x.bin"
out=$(ctl firmware update 2 "$T/x.bin" 2>&1)
check "root's reaches the backend (the sim has none)" contains "$out" "the sim backend cannot update a device's firmware"
stop_daemon TERM
check "clean stop" [ "$STOP_STATUS" = 0 ]
finish
