#!/bin/sh
# The systemd unit: its exposure by systemd-analyze's own score (at most
# 1.5), the directives the design asks for, systemd-analyze verify, and
# its system call filter against what the real daemon calls.  There is
# no systemd as PID 1 in a build container, so the filter is checked by
# running zwgated under strace on the simulated network with a cloud
# block pointed at a local TLS broker, then comparing the calls it made
# with the set the unit's SystemCallFilter= lines allow.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"
BROKER_OWNER=$$
LC_ALL=C
export LC_ALL

# The unit as installed (made from the source one with this build's
# paths), else the source one.
UNIT=
for u in "$top_builddir/zwgated.service" \
	"$top_srcdir/systemd/zwgated.service"; do
	[ -f "$u" ] && { UNIT=$u; break; }
done
[ -n "$UNIT" ] || { echo "no systemd/zwgated.service"; exit 99; }
if ! command -v systemd-analyze >/dev/null; then
	skip_all "systemd-analyze is not installed"
fi
cp "$UNIT" "$T/zwgated.service"
if ! systemd-analyze security --offline=yes --no-pager \
	"$T/zwgated.service" >"$T/security.out" 2>&1; then
	if grep -q "offline" "$T/security.out"; then
		skip_all "this systemd-analyze has no security --offline" \
			"(systemd 250 or newer has it)"
	fi
fi

# 1. The exposure score, as systemd-analyze prints it ("1.5 OK").
exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
	"$T/security.out")
echo "# exposure $exposure"
check "systemd-analyze security gives a score" [ -n "$exposure" ]
if [ -n "$exposure" ] &&
	awk -v e="$exposure" 'BEGIN { exit !(e <= 1.5) }'; then
	ok "exposure $exposure <= 1.5"
else
	not_ok "exposure '$exposure' <= 1.5"
	grep '✗' "$T/security.out" >&2
fi

# 2. The directives the design asks for.  A line is matched whole (the
# value included), so "CapabilityBoundingSet=" means an empty set.
for d in 'Type=notify' 'WatchdogSec=[0-9]+s?' 'ExecReload=.*-HUP.*' \
	'Restart=on-failure' 'User=zwgate' 'SupplementaryGroups=dialout' \
	'StateDirectory=zwgate' 'StateDirectoryMode=0700' \
	'RuntimeDirectory=zwgate' 'ConfigurationDirectory=zwgate' \
	'UMask=0077' 'CapabilityBoundingSet=' 'NoNewPrivileges=yes' \
	'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
	'DevicePolicy=closed' 'DeviceAllow=char-ttyACM rw' \
	'DeviceAllow=char-ttyUSB rw' 'DeviceAllow=char-ttyAMA rw' \
	'DeviceAllow=char-ttyS rw' 'ProtectKernelTunables=yes' \
	'ProtectKernelModules=yes' 'ProtectClock=yes' 'ProtectHostname=yes' \
	'ProtectControlGroups=yes' \
	'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
	'RestrictNamespaces=yes' 'LockPersonality=yes' \
	'MemoryDenyWriteExecute=yes' 'SystemCallArchitectures=native' \
	'SystemCallFilter=@system-service' 'SystemCallErrorNumber=EPERM'; do
	check "unit has $d" grep -qEx "$d" "$T/zwgated.service"
done
check "serial ports only: four DeviceAllow= lines, all char-tty" \
	[ "$(grep -c '^DeviceAllow=' "$T/zwgated.service")" = 4 ] &&
	! grep '^DeviceAllow=' "$T/zwgated.service" | grep -qv '^DeviceAllow=char-tty[A-Z]* rw$'
check "no PrivateDevices= (it would hide the stick)" \
	sh -c "! grep -q '^PrivateDevices=' '$T/zwgated.service'"

# 3. systemd-analyze verify, with the programs pointed at the build (it
# checks they exist); it prints a warning, not an error, for an unknown
# key, so any output fails.
mkdir -p "$T/verify"
bin=$(cd "$top_builddir" && pwd)/zwgated
sed -e "s|^\(Exec[A-Za-z]*=[-+!@:]*\)[^ ]*/zwgated|\1$bin|" \
	"$T/zwgated.service" >"$T/verify/zwgated.service"
if systemd-analyze verify --man=no "$T/verify/zwgated.service" \
	>"$T/verify.out" 2>&1 && [ ! -s "$T/verify.out" ]; then
	ok "systemd-analyze verify is silent"
elif grep -qi "bus\|connect\|Failed to initialize manager\|Failed to set up" \
	"$T/verify.out"; then
	skip "systemd-analyze verify" \
		"it cannot run here: $(head -1 "$T/verify.out")"
else
	not_ok "systemd-analyze verify"
	cat "$T/verify.out" >&2
fi

# 4. The system call filter against a real run.  A sanitizer build
# makes calls of its own that the installed daemon does not.
if [ "${SANITIZERS:-no}" = yes ]; then
	skip "the system call filter against a real run" \
		"a sanitizer build makes calls of its own (the plain build checks)"
	finish
fi
if ! command -v strace >/dev/null || ! command -v mosquitto >/dev/null ||
	! strace -f -qq -o /dev/null true 2>/dev/null; then
	skip "the system call filter against a real run" \
		"no strace, mosquitto or ptrace here"
	finish
fi

# expand SET...: the system calls of filter sets, nested sets expanded.
expand() {
	systemd-analyze syscall-filter "$@" | sed -e '/^@/d' -e 's/^ *//' \
		-e '/^#/d' -e '/^$/d' | while read -r s; do
		case $s in
		@*) expand "$s" ;;
		*) echo "$s" ;;
		esac
	done
}
# The unit's filter: an allow list, less what the "~" lines take away.
: >"$T/allow"
: >"$T/deny"
sed -n 's/^SystemCallFilter=//p' "$T/zwgated.service" | while read -r l; do
	case $l in
	"~"*) expand ${l#"~"} >>"$T/deny" ;;
	*) expand $l >>"$T/allow" ;;
	esac
done
# ProtectClock= adds a deny of @clock of its own.
grep -qx 'ProtectClock=yes' "$T/zwgated.service" && expand @clock >>"$T/deny"
sort -u "$T/allow" -o "$T/allow"
sort -u "$T/deny" -o "$T/deny"
comm -23 "$T/allow" "$T/deny" >"$T/allowed"
check "the filter allows a sane set ($(wc -l <"$T/allowed") calls)" \
	[ "$(wc -l <"$T/allowed")" -gt 200 ]

sh "$top_srcdir/tests/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 99; }
BROKER_PKI="$T/pki"
broker_start "$T/broker" tls || exit 99
trap 'broker_stop_all; cleanup' EXIT
TLS="--cafile $T/pki/ca.crt --cert $T/pki/client.crt --key $T/pki/client.key"
P=zwgate/test-gw

# The config a real gateway has: a cloud block, and the control socket
# given to a group that is the daemon's own (zwgate under the unit, our
# primary group here).
write_config
# (chmod: the new file has the umask's mode, and zwgated refuses a
# group-writable config, as under umask 002.)
sed "s/^control {/control { group \"$(id -gn)\"/" "$CONF" >"$CONF.new" &&
	chmod 644 "$CONF.new" && mv "$CONF.new" "$CONF"
broker_cloud_block "outbox-sync always" >>"$CONF"

# ExecStartPre= runs "zwgated -n" under the same filter.
check "zwgated -n under strace" strace -f -qq -o "$T/strace.check" \
	"$ZWGATED" -n -c "$CONF"
if ! start_daemon strace -f -qq -o "$T/strace.run"; then
	not_ok "zwgated starts under strace"
	finish
fi
ZPID=$(pgrep -P "$DAEMON_PID" | head -1)
check "the daemon runs under strace" [ -n "$ZPID" ]
check "the cloud link connects" wait_cloud connected
check "a set from the CLI" ctl set porch switch on
mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" $TLS -q 1 \
	-t "$P/node/3/switch_multilevel/0/currentValue/set" -m 40
n=0
while [ "$(ctl --json get 3 level | jqr .value)" != 40 ] && [ $n -lt 50 ]; do
	sleep 0.1
	n=$((n + 1))
done
check "a set from the cloud" [ "$(ctl --json get 3 level | jqr .value)" = 40 ]
check "rename (a state file write)" ctl rename 3 "unit lamp"
kill -HUP "$ZPID"
sleep 0.5
check "alive after a reload" ctl status
broker_stop "$T/broker"
sleep 1.5
check "the gateway queues with the broker gone" ctl set porch switch off
broker_restart "$T/broker"
sleep 2
kill -TERM "$ZPID"
stop_wait=0
while kill -0 "$ZPID" 2>/dev/null && [ $stop_wait -lt 50 ]; do
	sleep 0.1
	stop_wait=$((stop_wait + 1))
done
wait "$DAEMON_PID"
st=$?
check "the daemon stops cleanly under strace (exit $st)" [ $st -eq 0 ]
DAEMON_PID=

# System calls made: "PID name(" lines; a call that was interrupted is
# also logged as "<... name resumed>", which names it again.
sed -n 's/^[0-9]* *\([a-z_0-9]*\)(.*/\1/p' "$T/strace.check" "$T/strace.run" |
	sort -u >"$T/used"
echo "# the daemon made $(wc -l <"$T/used") distinct system calls"
check "strace saw the daemon's calls" grep -qx epoll_wait "$T/used"
# adjtimex() (glibc calls clock_adjtime) asks, read-only, whether the
# clock is synchronised; ProtectClock= makes it fail with EPERM, which
# the daemon takes as "not synchronised".  Any other refused call is a
# bug: a feature that fails under the unit, or a warning at every start.
comm -23 "$T/used" "$T/allowed" |
	grep -vxE 'adjtimex|clock_adjtime(64)?' >"$T/refused"
if [ -s "$T/refused" ]; then
	not_ok "every call is allowed by the unit; refused: $(tr '\n' ' ' <"$T/refused")"
	for s in $(cat "$T/refused"); do
		grep -m 2 "^[0-9]* *$s(" "$T/strace.check" "$T/strace.run" >&2
	done
else
	ok "every system call the daemon made is allowed by the unit"
fi
# Outside the allow list a call is killed (SIGSYS) unless
# SystemCallErrorNumber= is set: only then is the refused adjtimex an
# EPERM the daemon survives.
check "a refused call fails with EPERM, it does not kill" \
	grep -qx 'SystemCallErrorNumber=EPERM' "$T/zwgated.service"

# ProtectSystem=strict: the daemon writes only in its state and runtime
# directories.  ProcSubset=pid: it reads no /proc file but its own.
{
	grep -hE '^[0-9]+ +open(at)?\(.*(O_WRONLY|O_RDWR|O_CREAT|O_TRUNC)' \
		"$T/strace.run"
	grep -hE '^[0-9]+ +(creat|mkdir|mkdirat|rename|renameat2?|unlink|unlinkat|link|linkat|symlink|symlinkat|chmod|fchmodat|chown|fchownat|truncate)\(' \
		"$T/strace.run"
} | grep -oE '"/[^"]*"' | tr -d '"' | sort -u >"$T/written"
outside=$(grep -vE "^($STATE|$RUN)(/|\$)" "$T/written" | tr '\n' ' ')
check "writes only in the state and runtime directories${outside:+: not $outside}" \
	[ -z "$outside" ]
procs=$(grep -ohE '"/proc/[^"]*"' "$T/strace.run" | tr -d '"' |
	grep -vE '^/proc/(self|thread-self|[0-9]+)(/|$)' | sort -u | tr '\n' ' ')
check "reads no /proc file but its own${procs:+: not $procs}" [ -z "$procs" ]

# RestrictAddressFamilies= and MemoryDenyWriteExecute= against the run.
fams=$(sed -n 's/^[0-9]* *socket(\(AF_[A-Z0-9]*\),.*/\1/p' "$T/strace.run" | sort -u | tr '\n' ' ')
echo "# socket families used: $fams"
bad=
for f in $fams; do
	case " AF_UNIX AF_INET AF_INET6 " in *" $f "*) ;; *) bad="$bad $f" ;; esac
done
check "only AF_UNIX, AF_INET and AF_INET6 sockets ($fams)" [ -z "$bad" ]
check "no writable and executable memory" \
	sh -c "! grep -E '(mmap|mprotect)\(.*PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE' '$T/strace.run'"
finish
