#!/bin/sh
# A full disk under the outbox and the trust slots: the state directory is
# a tmpfs of 1 MiB (in a mount namespace of the test's own, so the mount
# goes with it whatever happens).  With the broker down and events coming
# in, a filler file takes what the outbox leaves, then:
#
#   full       zwgated says so (a log line naming the file and the error,
#              "outbox_error" in its status and a line in "zwgatectl
#              status"), keeps running and keeps accepting events (in
#              memory); a trust import is refused with the reason and the
#              committed slot stays as it was, byte for byte
#   space back the events held in memory are written, the import works
#   full again a SIGKILL and a start on the full disk: everything that was
#              on disk is loaded
#   broker up  with the filler still there, everything is delivered and
#              the drained outbox gives its space back, so it writes again
#
# and at the end "events sent N, received N, lost 0, duplicates D".
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"
. "$top_srcdir/tests/proof/proof.sh"
need_root "mounts a small tmpfs as the state directory"
own_namespace "$@"

proof_start
mkdir -p "$STATE"
mount -t tmpfs -o size=1m,mode=0700 zwgate-proof "$STATE" || exit 99
PROOF_CLEANUP='umount -l "$STATE"'
FILLER=$STATE/filler

for v in 1 2 3; do make_bundle $v; done
trust_config "outbox-sync always"

connected() { [ "$(cloud_field state)" = connected ]; }
trust() { ctl trust status --json | jq -r "$1"; }
sums() { (cd "$STATE/trust" && sha256sum slot-a.bundle state); }
# fill KIB: the filler leaves KIB KiB of the tmpfs free.
fill() {
	rm -f "$FILLER"
	free=$(df -k --output=avail "$STATE" | tail -1)
	[ "$free" -le "$1" ] ||
		dd if=/dev/zero of="$FILLER" bs=1k count=$((free - $1)) 2>/dev/null
	[ -e "$FILLER" ] || : >"$FILLER"
}
outbox_failing() { [ -n "$(cloud_field outbox_error)" ]; }
outbox_fine() {
	[ -z "$(cloud_field outbox_error)" ] &&
		[ "$(cloud_field outbox_unwritten)" = 0 ]
}

capture_start || exit 99
start_daemon || exit 99
check "the gateway connects with the factory bundle" wait_until 10 connected

# A committed slot to keep: bundle 2 is imported, tried and committed.
ctl trust import "$B/v2.bundle" >/dev/null
committed() { [ "$(trust '.active.version, .active.from' | tr '\n' ' ')" = "2 slot a " ]; }
check "bundle 2 is committed to slot a" wait_until 20 committed
sums >"$T/sums.before"

# ---- the disk fills up ---------------------------------------------------
broker_stop "$T/broker"
wait_until 10 eval '! connected'
: >"$T/accepted"
burst 1 100 "$T/accepted"
check "100 events accepted with room on the disk" [ "$(wc -l <"$T/accepted")" -eq 100 ]
fill 16
log_mark
i=101
while [ $i -le 3000 ] && ! outbox_failing; do
	event $i && echo $i >>"$T/accepted"
	i=$((i + 1))
done
burst $i $((i + 49)) "$T/accepted"
i=$((i + 50))
check "the disk filled up after $((i - 101)) more events" outbox_failing
check "zwgated keeps running and accepting events ($(wc -l <"$T/accepted") accepted)" \
	[ "$(wc -l <"$T/accepted")" -eq $((i - 1)) ]
check "the log names the file and the error" \
	eval 'since | grep -q "outbox $STATE/outbox/log: .*No space left on device"'
since | grep outbox | head -3 | sed 's/^/  log: /'
st=$(ctl --json status | jq -c .cloud)
echo "  status: $st"
check "--json status says the outbox cannot write" \
	contains "$st" '"outbox_error":"No space left on device"'
check "... and how many events are in memory only" \
	[ "$(cloud_field outbox_unwritten)" -gt 0 ]
out=$(ctl status)
check "zwgatectl status says it in words" contains "$out" "cannot write the outbox: No space left on device"

out=$(ctl trust import "$B/v3.bundle" 2>&1)
check "a trust import on the full disk is refused" [ $? -ne 0 ]
check "... saying why" contains "$out" "No space left on device"
echo "  import: $out"
check "... and the log names the file" \
	eval 'since | grep -q "$STATE/trust/.*No space left on device"'
sums >"$T/sums.full"
check "the committed slot and the trust state are unchanged" \
	cmp -s "$T/sums.before" "$T/sums.full"
check "... and still in use" committed

# ---- space comes back ----------------------------------------------------
rm -f "$FILLER"
check "with space back, what was in memory is written" wait_until 10 outbox_fine
check "... and the log says so" eval 'since | grep -q "outbox $STATE/outbox/log: writing again"'
check "the import works again" ctl trust import "$B/v3.bundle"
pending=$(cloud_field outbox_pending)

# ---- full again: a kill and a start on the full disk ----------------------
fill 0
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
log_mark
check "zwgated starts on the full disk" start_daemon
now=$(cloud_field outbox_recovered)
check "... with every message that was on disk ($pending before, $now loaded)" \
	[ "$now" = "$pending" ]
check "... bundle 2 active, bundle 3 pending" \
	[ "$(trust '.active.version, .pending.version' | tr '\n' ' ')" = "2 3 " ]
since | grep -E "error|warning" | sed 's/^/  log: /'
burst $i $((i + 29)) "$T/accepted"
i=$((i + 30))
check "events on the full disk are accepted" [ "$(wc -l <"$T/accepted")" -eq $((i - 1)) ]

# ---- the broker is back, the filler stays ------------------------------------
broker_restart "$T/broker" || exit 99
check "everything is delivered" wait_until 60 all_arrived "$T/accepted"
check "the drained outbox gives its space back and writes again" \
	wait_until 10 outbox_fine
burst $i $((i + 9)) "$T/accepted"
i=$((i + 10))
check "... so new events reach the disk" wait_until 5 outbox_fine
rm -f "$FILLER"

stop_daemon TERM
check "clean stop" [ "$STOP_STATUS" = 0 ]
start_daemon
check "the next start loads a clean outbox" outbox_fine
check "everything arrived" wait_until 30 all_arrived "$T/accepted"
check "bundle 3, imported after the disk was full, is tried and committed" \
	wait_until 20 eval '[ "$(trust .active.version)" = 3 ]'
check "... and the trust store writes again" \
	[ -z "$(cloud_field trust_store_error)" ]
tally "$T/accepted"
check "no event lost ($LOST of $SENT)" [ $((SENT > 0 && LOST == 0)) -eq 1 ]
stop_daemon TERM
wall_time
finish
