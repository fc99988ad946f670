#!/bin/sh
# tests/timeout.sh, the time limit every test of make check runs under:
# it passes a test's exit status through, and a test that hangs fails
# (exit 1, never 77) with its processes and stacks printed and none of
# them left running.
. "$top_srcdir/tests/lib.sh"
TO="$top_srcdir/tests/timeout.sh"

for rc in 0 1 77 99; do
	bash "$TO" sh -c "exit $rc" >/dev/null 2>&1
	r=$?
	check "exit status $rc passes through" [ "$r" = "$rc" ]
done

# A test that ends at once, before the script waits for it, is not held
# to the limit: 20 of them under a limit of 37 s, in well under 37 s
# (`wait -n` once missed such an end and waited for the watchdog), and
# the watchdog's sleep is not left behind.
start=$(date +%s)
slow=0
for _ in $(seq 20); do
	ZWGATE_TEST_TIMEOUT=37 bash "$TO" sh -c 'exit 5' >/dev/null 2>&1
	[ $? = 5 ] || slow=$((slow + 1))
done
took=$(($(date +%s) - start))
check "quick tests' statuses all pass through ($slow wrong)" [ "$slow" = 0 ]
check "quick tests are not held to the limit (${took}s for 20)" [ "$took" -lt 30 ]
check "no watchdog left running" sh -c "! pgrep -f '^sleep 37\$' >/dev/null"

# A test that hangs: a shell with a compiled program (tail -f) and a
# grandchild sleep, all in its process group.
start=$(date +%s)
ZWGATE_TEST_TIMEOUT=2 bash "$TO" sh -c \
	"echo \$\$ >'$T/sh.pid'; tail -f /dev/null & echo \$! >'$T/tail.pid'; sleep 600" \
	>"$T/hang.out" 2>&1
r=$?
took=$(($(date +%s) - start))
check "a hang fails (exit 1, not a skip)" [ "$r" = 1 ]
check "it says so" contains "$(cat "$T/hang.out")" "TIMEOUT: sh still running after 2s"
check "it lists the test's processes" contains "$(cat "$T/hang.out")" "tail -f /dev/null"
# gdb attaches to a process it did not start where ptrace allows it
# (root, or Yama's ptrace_scope 0): asked of a plain tail first, started
# only where gdb is there to ask and stopped with SIGKILL (a SIGTERM can
# be lost while qemu-user starts it), so none is left behind.
if ! command -v gdb >/dev/null; then
	skip "stacks" "gdb is not installed"
else
	tail -f /dev/null &
	probe=$!
	if ! gdb -q -batch -p "$probe" -ex bt 2>/dev/null | grep -q '^#0 '; then
		skip "stacks" "gdb cannot attach to another process here (ptrace)"
	else
		check "it prints the compiled one's stacks" grep -q '^#0 ' "$T/hang.out"
	fi
	kill -KILL "$probe"
	wait "$probe" 2>/dev/null
fi
for p in sh tail; do
	pid=$(cat "$T/$p.pid")
	check "its $p is gone" sh -c "! kill -0 $pid 2>/dev/null"
done
# Not the lifetime of its sleep: the limit and the stop's few seconds.
check "it stops near the limit, not at the hang's end (${took}s)" [ "$took" -lt 120 ]

ZWGATE_TEST_TIMEOUT=soon bash "$TO" true >"$T/bad.out" 2>&1
r=$?
check "a limit that is no number is refused (99)" [ "$r" = 99 ]
check "with the reason" contains "$(cat "$T/bad.out")" "ZWGATE_TEST_TIMEOUT=soon is not a number of seconds"
bash "$TO" >/dev/null 2>&1
check "no test to run: a usage error (99)" [ $? = 99 ]

finish
