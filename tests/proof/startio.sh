#!/bin/sh
# I/O errors on the state directory at start (zwgated(8), "STATE
# DIRECTORY"): what zwgated does when it finds its state unusable.
#
#   refuses to start (exit 1, the path and the error in the log), so that
#   systemd tries again and nothing is lost by running on without it:
#     the state directory is a file, not writable (as nobody: another
#     user's directory, or one without write permission), on a read-only
#     mount; the trust state (the version floor) is a directory or garbage
#   starts with a warning naming the file and where it was kept (set
#   aside as NAME.damaged, never deleted), without what it held:
#     names.json or rules.json a directory or garbage; the outbox log a
#     directory or garbage (the bytes recovery cuts kept in
#     outbox/log.cut), the outbox directory a file; the committed trust
#     slot garbage (the committed bundle kept as link-2.bundle is active
#     again, written back to the slot, the version floor kept);
#     names.json, the outbox log and the trust slot another user's file
#     that zwgated (as nobody) cannot read
#
# Never a crash: every exit is a plain status.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"
. "$top_srcdir/tests/proof/proof.sh"
need_root "mounts read-only and runs zwgated as nobody"
command -v setpriv >/dev/null || skip_all "setpriv not found"
own_namespace "$@"

proof_start
make_bundle 1
make_bundle 2
trust_config
connected() { [ "$(cloud_field state)" = connected ]; }
trust() { ctl trust status --json | jq -r "$1"; }

# A state to damage: bundle 2 committed to slot a, node names, a rule
# state, and events queued while the broker was down.
start_daemon || exit 99
check "the gateway connects" wait_until 10 connected
ctl trust import "$B/v2.bundle" >/dev/null
check "bundle 2 is committed" wait_until 20 eval \
	'[ "$(trust .active.from)" = "slot a" ]'
ctl rename 3 "lounge lamp" >/dev/null
broker_stop "$T/broker"
wait_until 10 eval '! connected'
: >"$T/accepted"
burst 1 20 "$T/accepted"
stop_daemon TERM
echo '{"disabled": []}' >"$STATE/rules.json"
cp -a "$STATE" "$T/golden"
fresh() { rm -rf "$STATE"; cp -a "$T/golden" "$STATE"; }

# refused WHAT NEEDLE [WRAPPER...]: zwgated exits 1 at once (not by a
# signal), and what it says holds NEEDLE.
refused() {
	what=$1 needle=$2
	shift 2
	out=$(timeout 20 "$@" "$ZWGATED" -c "$CONF" --state-dir "$STATE" \
		--runtime-dir "$RUN" 2>&1 </dev/null)
	st=$?
	check "$what: zwgated does not start (exit $st)" [ $st -eq 1 ]
	check "$what: ... and says why" contains "$out" "$needle"
}

# degraded WHAT NEEDLE...: zwgated starts and warns with every NEEDLE.
degraded() {
	what=$1
	shift
	log_mark
	if ! start_daemon; then
		not_ok "$what: zwgated starts"
		return 1
	fi
	ok "$what: zwgated starts"
	for needle in "$@"; do
		check "$what: ... warning: $needle" \
			eval 'since | grep "warning: " | grep -qF -- "$needle"'
	done
}

# ---- the state directory itself ---------------------------------------
rm -rf "$STATE"
echo "not a directory" >"$STATE"
refused "state directory is a file" "state directory $STATE: Not a directory"
rm -f "$STATE"

fresh
mount --bind "$STATE" "$STATE" && mount -o remount,bind,ro "$STATE" || exit 99
refused "state directory on a read-only mount" \
	"state directory $STATE: Read-only file system"
umount "$STATE"

# As nobody: a config without a cloud block (the client key is root's).
NB=$T/nobody
mkdir -p "$NB/run"
chown nobody "$NB/run"
sed '/^cloud {/,$d' "$CONF" >"$NB/zwgate.conf"
cp "$T/sim-network.json" "$NB/"
chmod 644 "$NB/zwgate.conf" "$NB/sim-network.json"
chmod 755 "$NB"
refused_nobody() {
	what=$1 needle=$2
	out=$(timeout 20 setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$ZWGATED" -c "$NB/zwgate.conf" --state-dir "$NB/state" \
		--runtime-dir "$NB/run" 2>&1 </dev/null)
	st=$?
	check "$what: zwgated does not start (exit $st)" [ $st -eq 1 ]
	check "$what: ... and says why" contains "$out" "$needle"
}
mkdir -p "$NB/state"
chmod 755 "$NB/state"
refused_nobody "state directory of another user" \
	"state directory $NB/state: Operation not permitted"
chown nobody "$NB/state"
chmod 500 "$NB/state"
refused_nobody "state directory without write permission" \
	"state directory $NB/state: Permission denied"

# Unreadable files: nobody's state, with the cloud block (a copy of the
# client key of nobody's own), and root's files in it.
mkdir -p "$NB/pki"
cp "$T/pki/client.crt" "$T/pki/client.key" "$NB/pki/"
chown -R nobody "$NB/pki"
CONF=$NB/zwgate-cloud.conf PROOF_PKI=$NB/pki trust_config
chmod 644 "$NB/zwgate-cloud.conf"
rm -rf "$NB/state"
cp -a "$T/golden" "$NB/state"
chown -R nobody "$NB/state"
for f in names.json outbox/log trust/slot-a.bundle; do
	chown root "$NB/state/$f"
	chmod 600 "$NB/state/$f"
done
log_mark
# setpriv execs zwgated: $! is the daemon (a shell function would fork).
setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$ZWGATED" -c "$NB/zwgate-cloud.conf" --state-dir "$NB/state" \
	--runtime-dir "$NB/run" 2>>"$T/daemon.log" &
DAEMON_PID=$!
SOCK=$NB/run/control.sock
if wait_for_socket 10; then
	ok "files of another user: zwgated starts"
	for n in "$NB/state/names.json: Permission denied; kept it as $NB/state/names.json.damaged" \
		"outbox $NB/state/outbox/log: Permission denied; kept it as $NB/state/outbox/log.damaged" \
		"kept it as $NB/state/trust/slot-a.bundle.damaged"; do
		check "... warning: $n" eval 'since | grep "warning: " | grep -qF "$n"'
	done
	check "... the cloud link runs on bundle 2, kept for the chain" \
		[ "$(trust '.active.from, .active.version' | tr '\n' ' ')" = "slot a 2 " ]
	stop_daemon TERM
else
	not_ok "files of another user: zwgated starts"
	since | tail -3
fi
SOCK=$RUN/control.sock

# ---- JSON state files ---------------------------------------------------
for f in names.json rules.json; do
	fresh
	rm -f "$STATE/$f"
	mkdir "$STATE/$f"
	degraded "$f is a directory" \
		"$STATE/$f: Is a directory; kept it as $STATE/$f.damaged"
	check "... and it is kept as it was" [ -d "$STATE/$f.damaged" ]
	stop_daemon TERM
	fresh
	printf '{"3": "lounge' >"$STATE/$f"
	degraded "$f is garbage" \
		"$STATE/$f: not a JSON object; kept it as $STATE/$f.damaged"
	check "... with its bytes" eval \
		'[ "$(cat "$STATE/$f.damaged")" = "{\"3\": \"lounge" ]'
	stop_daemon TERM
done

# ---- the outbox -----------------------------------------------------------
fresh
rm -rf "$STATE/outbox"
echo "not a directory" >"$STATE/outbox"
degraded "outbox directory is a file" \
	"outbox $STATE/outbox: Not a directory; kept it as $STATE/outbox.damaged"
check "... and the cloud link runs" [ -n "$(cloud_field state)" ]
stop_daemon TERM

fresh
rm "$STATE/outbox/log"
mkdir "$STATE/outbox/log"
degraded "outbox log is a directory" \
	"outbox $STATE/outbox/log: Is a directory; kept it as $STATE/outbox/log.damaged"
check "... and events are queued again" event 100
check "... $(cloud_field outbox_pending) pending" [ "$(cloud_field outbox_pending)" -ge 1 ]
stop_daemon TERM

fresh
n=$(wc -c <"$STATE/outbox/log")
head -c 4096 /dev/urandom >"$T/noise"
cat "$T/noise" "$STATE/outbox/log" >"$STATE/outbox/log.new"
mv "$STATE/outbox/log.new" "$STATE/outbox/log"
degraded "outbox log is garbage" \
	"outbox $STATE/outbox/log: $((n + 4096)) byte(s) at its end were no whole record" \
	"kept in $STATE/outbox/log.cut"
check "... every byte kept" cmp -s -n 4096 "$STATE/outbox/log.cut" "$T/noise"
stop_daemon TERM

# ---- trust ----------------------------------------------------------------
fresh
echo garbage >"$STATE/trust/slot-a.bundle"
degraded "committed trust slot is garbage" "active slot a ignored" \
	"kept it as $STATE/trust/slot-a.bundle.damaged" \
	"kept bundle link-2.bundle (version 2) is newer than the active factory bundle"
check "... bundle 2, kept for the chain, is active again, the floor kept" \
	[ "$(trust '.active.from, .active.version, .floor' | tr '\n' ' ')" = "slot a 2 2 " ]
stop_daemon TERM

fresh
echo '{"active": "a", "floor":' >"$STATE/trust/state"
refused "trust state is garbage" "$STATE/trust/state: not JSON"
fresh
rm "$STATE/trust/state"
mkdir "$STATE/trust/state"
refused "trust state is a directory" "$STATE/trust/state: Is a directory"

# ---- nothing was lost on the way --------------------------------------
fresh
broker_restart "$T/broker" || exit 99
capture_start || exit 99
start_daemon || exit 99
check "the state as it was still loads: 20 events" \
	[ "$(cloud_field outbox_recovered)" -ge 20 ]
check "... the node name" [ "$(ctl --json node 3 | jqr .name)" = "lounge lamp" ]
check "... and the events are delivered" wait_until 20 all_arrived "$T/accepted"
stop_daemon TERM
wall_time
finish
