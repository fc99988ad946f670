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
SKIPPED=0

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
# skip WHAT WHY: a case that cannot run here.  It counts as skipped,
# never as passed, and tools/check lists its "# SKIP:" line.
skip() { SKIPPED=$((SKIPPED + 1)); echo "# SKIP: $1: $2"; }
# skip_all WHY...: the whole script cannot run here: one skip, and
# automake's status 77 (SKIP).
skip_all() {
	echo "# SKIP: $*"
	echo "# 0 passed, 0 failed, 1 skipped"
	exit 77
}

# need_faketime: the means to set the clock of zwgate's programs, or the
# whole script is skipped, saying why:
#  - FAKETIME_LIB, the libfaketime to preload (from the environment,
#    which tools/cross sets to the target architecture's; else the first
#    installed), and FAKE_ASAN, the ASAN_OPTIONS that let it come second
#    to the ASan runtime in a sanitizer build;
#  - CLOCK_SHIM, tests/clock2038.so, where zwgated has a 32-bit time_t
#    (armhf under tools/cross), and in a sanitizer build (below).
#    On 32 bits zwgate reads the clock through glibc's 64-bit calls
#    (zwtime_clock.c), which that architecture's libfaketime does not
#    intercept (it has a 32-bit time_t itself and knows only the 32-bit
#    ones): zwgate would see the real time and OpenSSL the faked one.  clock2038.so moves both, as glibc gives
#    them (docs/DESIGN.md, "Time").
# Use fake_clock and start_gateway (trust-broker.sh), not the two apart.
elf_class() { od -An -tu1 -j4 -N1 "$1" 2>/dev/null | tr -d ' '; }
need_faketime() {
	FAKE_ASAN="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	FAKETIME_LIB=${FAKETIME_LIB:-}
	if [ -z "$FAKETIME_LIB" ]; then
		for l in /usr/lib/*/faketime/libfaketime.so.1 \
			/usr/lib/faketime/libfaketime.so.1; do
			[ -r "$l" ] && FAKETIME_LIB=$l && break
		done
	fi
	if [ -z "$FAKETIME_LIB" ] || ! command -v faketime >/dev/null; then
		skip_all "faketime is not installed (apt-get install faketime)"
	fi
	CLOCK_SHIM=
	# The shim also stands in for libfaketime in a sanitizer build:
	# Debian 12's libfaketime (0.9.10) can deadlock a program under
	# ASan, at its start or when it rereads its settings in a
	# clock_gettime() (libfaketime issues 365 and 391).
	if [ "$(elf_class "$ZWGATED")" = 1 ] || [ "${SANITIZERS:-no}" = yes ]; then
		CLOCK_SHIM="$top_builddir/tests/clock2038.so"
		[ -r "$CLOCK_SHIM" ] ||
			{ echo "no $CLOCK_SHIM: make check builds it"; exit 99; }
	fi
}

# clock_value SPEC: a libfaketime FAKETIME ("@DATE", "DATE", "-Nd",
# "+Nd") as clock2038.so's ZWGATE_TEST_CLOCK: seconds since 1970, or
# +/- seconds from now.
clock_value() {
	case $1 in
	[+-]*d) echo "$1" | sed 's/d$//' | awk '{ printf "%+d\n", $1 * 86400 }' ;;
	@*) date -d "${1#@}" +%s ;;
	*) date -d "$1" +%s ;;
	esac
}

# fake_clock SPEC COMMAND...: one of zwgate's programs, its clock set as
# libfaketime's FAKETIME=SPEC says.
fake_clock() {
	fc_spec=$1
	shift
	if [ -n "$CLOCK_SHIM" ]; then
		LD_PRELOAD="$CLOCK_SHIM" ZWGATE_TEST_CLOCK=$(clock_value "$fc_spec") \
			ASAN_OPTIONS="$FAKE_ASAN" "$@"
	else
		LD_PRELOAD="$FAKETIME_LIB" FAKETIME="$fc_spec" \
			FAKETIME_DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS="$FAKE_ASAN" "$@"
	fi
}

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# quiet CMD...: CMD's status, its output dropped.
quiet() { "$@" >/dev/null 2>&1; }

# contains HAYSTACK NEEDLE
contains() { case $1 in *"$2"*) return 0 ;; *) echo "  wanted: $2" >&2; echo "  got: $1" >&2; return 1 ;; esac; }

# The privacy guard.  Personal data a gateway's owner has around it,
# planted in the environment every daemon of the tests inherits: none of
# it may ever reach a log or the broker.
ZWGATE_PLANTED_SSID="home-wifi-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
ZWGATE_PLANTED_EMAIL="owner.$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')@example.org"
WIFI_SSID=$ZWGATE_PLANTED_SSID
SSID=$ZWGATE_PLANTED_SSID
EMAIL=$ZWGATE_PLANTED_EMAIL
USER_EMAIL=$ZWGATE_PLANTED_EMAIL
export WIFI_SSID SSID EMAIL USER_EMAIL

# privacy__sources DIR: the files whose contents are secret: every
# private key or secret file under DIR (client keys, the Z-Wave network
# key, the operator's signing keys, passwords) and the files a config
# names as client-key or network-key-file, wherever they are.  The Z-Wave
# JS server's keys (*keys.json) are looked for key by key (privacy_scan).
privacy__sources() {
	{
		find "$1" -path '*/node_modules' -prune -o -type f \
			\( -name '*.key' -o -name '*.pass' -o -name '*password*' \
			-o -name '*secret*' \) -print
		find "$1" -path '*/node_modules' -prune -o -type f \
			-name '*.conf' -print |
			xargs -r sed -n 's/^[[:space:]]*\(client-key\|network-key-file\)[[:space:]]*"\([^"]*\)".*/\2/p' |
			while read -r f; do
				case $f in /*) echo "$f" ;; *) echo "$1/$f" ;; esac
			done
	} | sort -u
}

# privacy__hay DIR: what the tests saw: logs (the daemon's, the
# broker's), MQTT captures and the output of commands.
privacy__hay() {
	find "$1" -path '*/node_modules' -prune -o -type f \
		\( -name '*.log' -o -name '*.out' -o -name '*.err' \) -print
}

# privacy__look NEEDLES WHAT DIR: one "privacy:" line for each file of
# DIR's hay holding a line of NEEDLES (never the needle itself: that
# would put a secret in the test's own log).
privacy__look() {
	[ -s "$1" ] || return 0
	for f in $(privacy__hay "$3"); do
		if grep -qF -f "$1" "$f"; then
			echo "  privacy: $2 found in ${f#$3/}"
			PRIVACY_HITS=$((PRIVACY_HITS + 1))
		fi
	done
}

# privacy_scan DIR: the privacy guard over everything under DIR; prints
# each hit and returns 1 when there was one.
privacy_scan() {
	PRIVACY_HITS=0
	n=$1/.needles
	for src in $(privacy__sources "$1"); do
		[ -r "$src" ] || continue
		grep -v -e '-----' -e '^[[:space:]]*$' "$src" |
			awk 'length($0) >= 12' >"$n"
		privacy__look "$n" "a line of ${src#$1/}" "$1"
	done
	# Z-Wave network keys (zwgatectl keys generate makes *keys.json):
	# each key alone, in either case, as a log would print it.
	for src in $(find "$1" -path '*/node_modules' -prune -o -type f \
		-name '*keys.json' -print); do
		grep -oE '[0-9a-fA-F]{32}' "$src" | sed 'p; y/abcdef/ABCDEF/' >"$n"
		privacy__look "$n" "a Z-Wave network key of ${src#$1/}" "$1"
	done
	echo "PRIVATE KEY-----" >"$n"
	privacy__look "$n" "a PEM private key" "$1"
	echo "$ZWGATE_PLANTED_SSID" >"$n"
	privacy__look "$n" "the planted Wi-Fi name" "$1"
	echo "$ZWGATE_PLANTED_EMAIL" >"$n"
	privacy__look "$n" "the planted e-mail address" "$1"
	rm -f "$n"
	[ "$PRIVACY_HITS" -eq 0 ]
}

finish() {
	[ -n "${ZWGATE_NO_PRIVACY_SCAN:-}" ] ||
		check "privacy guard: no secret or personal data in any log or capture" \
			privacy_scan "$T"
	echo "# $PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ "$FAILED" -eq 0 ] || exit 1
	exit 0
}

# loopback_only: the rest of the test (the script run again from its
# start) in a network namespace of its own with nothing but lo, where a
# lookup or connection that would leave the machine fails at once.  Needs
# root, unshare and ip; without them it says so and goes on.
loopback_only() {
	if [ -z "${ZWGATE_IN_NETNS:-}" ] && [ "$(id -u)" = 0 ] &&
		command -v unshare >/dev/null && command -v ip >/dev/null; then
		rm -rf "$T"
		trap - EXIT
		ZWGATE_IN_NETNS=1 exec unshare --net -- \
			sh -c 'ip link set lo up && exec "$0"' "$0"
	fi
	[ -n "${ZWGATE_IN_NETNS:-}" ] ||
		echo "# not isolated in a network namespace (needs root, unshare, ip)"
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

# wait_cloud STATE [SECONDS]: until zwgatectl status says the cloud link
# is in STATE (default: within 10 s); false if it never does.
wait_cloud() {
	n=0
	while [ "$(ctl --json status | jqr .cloud.state)" != "$1" ]; do
		[ $n -ge $((${2:-10} * 10)) ] && return 1
		sleep 0.1
		n=$((n + 1))
	done
}

# jqr FILTER: a field of zwgatectl --json output on stdin, raw.
jqr() { jq -r "$1"; }

# wait_for SECONDS COMMAND...: until the command succeeds, for at most
# SECONDS of wall time (a command that itself takes seconds, such as a
# zwgatectl that waits for its answer, counts with its own time).
wait_for() {
	wf_end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -ge "$wf_end" ] && return 1
		sleep 0.1
	done
}

# wait_grep FILE PATTERN SECONDS: until PATTERN is in FILE.
wait_grep() {
	n=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		[ $n -ge $(($3 * 10)) ] && return 1
		sleep 0.1
		n=$((n + 1))
	done
}

q() { "$@" >/dev/null; }
# value_is NODE VALUE WANT: zwgatectl get says the value is WANT.
value_is() { [ "$(ctl --json get "$1" "$2" | jqr .value)" = "$3" ]; }
