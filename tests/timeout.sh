#!/usr/bin/env bash
# The LOG_COMPILER of every test in make check: runs the test with a time
# limit, so that a test that hangs fails, with the stacks of what it was
# running, instead of holding make check (and CI) until its own limit.
#
#   tests/timeout.sh TEST [ARGS...]
#
# ZWGATE_TEST_TIMEOUT: the limit in seconds (default 900; the slowest
# test, valgrind.sh on the sanitizer build, takes about a fifth of it).
# On time out it prints the test's processes and the stack of every
# thread of each compiled one (gdb, where installed), stops the whole
# process group (TERM, then KILL) and exits 1: a FAIL, never a skip.
limit=${ZWGATE_TEST_TIMEOUT:-900}
case $limit in
'' | *[!0-9]*)
	echo "timeout.sh: ZWGATE_TEST_TIMEOUT=$limit is not a number of seconds" >&2
	exit 99
	;;
esac
[ $# -gt 0 ] || {
	echo "usage: timeout.sh TEST [ARGS...]" >&2
	exit 99
}

# The test in its own process group, which a time out stops whole; the
# watchdog in another, which signals this shell when the limit is up.
# `wait PID` and a signal, not `wait -n`: a test that ends before
# `wait -n` starts can be marked as reported by then, and `wait -n`
# then waits for the watchdog, the whole limit (seen once under load).
# `wait PID` always finds a child's status, however early it ended.
timed_out=
trap 'timed_out=1' USR1
set -m
"$@" &
pid=$!
(
	trap - USR1
	sleep "$limit"
	kill -USR1 $$
) &
dog=$!
set +m
# make's own stop (^C, its TERM) reaches the test's group too.
trap 'kill -TERM -- "-$pid" "-$dog" 2>/dev/null; exit 130' INT TERM HUP
wait "$pid"
rc=$?
if [ -z "$timed_out" ] || ! kill -0 "$pid" 2>/dev/null; then
	# Ended in time (or just as the limit rang: its status, again).
	[ -z "$timed_out" ] || {
		wait "$pid"
		rc=$?
	}
	kill -- "-$dog" 2>/dev/null
	wait "$dog" 2>/dev/null
	exit "$rc"
fi

echo "TIMEOUT: $1 still running after ${limit}s (ZWGATE_TEST_TIMEOUT)"
echo "--- its processes"
pids=$(pgrep -d, -g "$pid" 2>/dev/null) || pids=$pid
ps -o pid,ppid,etime,stat,wchan:24,args -p "$pids"
for p in ${pids//,/ }; do
	exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
	# Shells and sleeps say nothing gdb would add to ps.
	case ${exe##*/} in bash | dash | sh | sleep | timeout) continue ;; esac
	echo "--- stacks of $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	if command -v gdb >/dev/null; then
		# Frames without their arguments: a string argument could be
		# a secret of the test, and the guard does not read this log.
		timeout 60 gdb -q -batch -p "$p" \
			-ex 'set print frame-arguments none' \
			-ex 'thread apply all bt' 2>&1 |
			grep -E '^(Thread|#)' | head -200
	else
		echo "(gdb is not installed)"
	fi
done
kill -TERM -- "-$pid" 2>/dev/null
for _ in 1 2 3 4 5 6 7 8 9 10; do
	kill -0 -- "-$pid" 2>/dev/null || break
	sleep 1
done
kill -KILL -- "-$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exit 1
