# Shared helpers of the integration tests (POSIX sh, sourced).
#
# Each test runs zwgated unprivileged-style in its own temporary directory
# with --state-dir and --runtime-dir, drives it with zwgatectl, and stops
# everything it started on exit, whatever happens.

set -u
: "${top_srcdir:=.}"
: "${top_builddir:=.}"
ZWGATED="$top_builddir/zwgated"
ZWGATECTL="$top_builddir/zwgatectl"
T=$(mktemp -d "${TMPDIR:-/tmp}/zwgate-test.XXXXXX")
chmod 755 "$T"
CONF="$T/zwgate.conf"
STATE="$T/state"
RUN="$T/run"
SOCK="$RUN/control.sock"
DAEMON_PID=
PASSED=0
FAILED=0

cleanup() {
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -KILL "$DAEMON_PID" 2>/dev/null
	fi
	for p in $(cat "$T"/*.pid 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
	[ -n "${ZWGATE_KEEP_TEST_DIR:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 99' INT TERM

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# contains HAYSTACK NEEDLE
contains() { case $1 in *"$2"*) return 0 ;; *) echo "  wanted: $2" >&2; echo "  got: $1" >&2; return 1 ;; esac; }

finish() {
	echo "# $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ] || exit 1
	exit 0
}

# The example config and network, rewritten to live in $T.
write_config() {
	cp "$top_srcdir/etc/sim-network.json" "$T/sim-network.json"
	cat > "$CONF" <<CONF
gateway-id "test-gw"
log-level ${LOG_LEVEL:-info}
zwave {
	backend sim
	sim-network "sim-network.json"
}
location { latitude 48.85 longitude 2.35 timezone "Europe/Paris" }
control { idle-timeout 30 }
CONF
	chmod 644 "$CONF" "$T/sim-network.json"
}

# start_daemon [WRAPPER...]: start zwgated and wait for its socket.
start_daemon() {
	"$@" "$ZWGATED" -c "$CONF" --state-dir "$STATE" --runtime-dir "$RUN" \
		${DAEMON_ARGS:-} 2>>"$T/daemon.log" &
	DAEMON_PID=$!
	wait_for_socket 10
}

wait_for_socket() {
	n=0
	while [ $n -lt $(($1 * 20)) ]; do
		if [ -S "$SOCK" ] && ctl status >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$T/daemon.log" >&2; return 1; }
		sleep 0.05
		n=$((n + 1))
	done
	echo "zwgated did not come up" >&2
	cat "$T/daemon.log" >&2
	return 1
}

# stop_daemon SIGNAL: send it and wait (at most 2 s); sets STOP_STATUS.
stop_daemon() {
	STOP_STATUS=
	kill "-$1" "$DAEMON_PID"
	n=0
	while kill -0 "$DAEMON_PID" 2>/dev/null && [ $n -lt 40 ]; do
		sleep 0.05
		n=$((n + 1))
	done
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		STOP_STATUS=timeout
		kill -KILL "$DAEMON_PID"
	fi
	wait "$DAEMON_PID"
	st=$?
	[ "$STOP_STATUS" = timeout ] || STOP_STATUS=$st
	DAEMON_PID=
}

ctl() { "$ZWGATECTL" -s "$SOCK" "$@"; }

# jqr FILTER: a field of zwgatectl --json output on stdin, raw.
jqr() { jq -r "$1"; }
