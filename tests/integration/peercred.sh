#!/bin/sh
# The control socket's peer check: a user who is neither root, the
# daemon's own user, nor in the control group is refused, even when the
# socket file's mode would let them in.
. "$top_srcdir/tests/lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	echo "SKIP: needs root and setpriv to act as another user"
	exit 77
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

# Another control group than zwgate: "users" (gid 100 on Debian).
sed -i 's/^control {.*}$/control { idle-timeout 30; group "users" }/' "$CONF"
start_daemon
chmod 755 "$RUN"
out=$(as_nobody status 2>&1); st=$?
check "group users, nobody outside it: refused (exit 4)" [ $st -eq 4 ]
check "... told the configured group, not zwgate" contains "$out" "in group users?"
stop_daemon TERM
check "clean stop" [ "$STOP_STATUS" = 0 ]
finish
