#!/bin/sh
# Dates past 2038 (docs/DESIGN.md, "Time"): on Debian 12 armhf time_t and
# long are 32 bits, and zwgate must still read and make a bundle that
# expires in 2040, trust a chain valid to 2049, and run with its clock on
# either side of 2038-01-19T03:14:07Z.  On amd64 all of this passes even
# with a 32-bit bug in zwgate's own code; the test exists so that the same
# rows run on armhf (tools/cross), where they fail without the fixes.
#
#   1  trust make --expires 2040-01-01 / 2100-02-28, verify, sign, status
#      of a bundle whose anchor is valid to 2049 (no daemon)
#   2  zwgatectl under faketime at 2037-12-31 and 2038-01-20: issued-at
#   3  zwgated under faketime at 2037-12-31 and 2038-01-20 against a real
#      broker: connects in full trust mode (the chain's dates checked at
#      that time), trust status counts the days to 2040, the MQTT "ts" and
#      the control socket's times are that time in milliseconds, no clock
#      jump is reported (the jump timerfd's expiry overflowed) and the
#      jump timerfd is armed
#
# On a 32-bit time_t the clock is set by tests/clock2038.so (see fake).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/broker.sh"
BROKER_OWNER=$$

need_faketime

. "$top_srcdir/tests/trust-broker.sh"

# ---- a chain valid to the end of 2049 --------------------------------
# openssl x509 (3.0) takes days, not a date: the days from now to
# 2050-01-01 end the leaf on 2049-12-31; the root outlives it.
FAR=$(((2524608000 - $(date -u +%s)) / 86400))
(
	set -e
	cd "$PKI"
	umask 077
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out far-root.key 2>/dev/null
	openssl req -x509 -new -key far-root.key -out far-root.crt \
		-days $((FAR + 400)) -subj "/O=zwgate tests/CN=Root 2050" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out far.key 2>/dev/null
	openssl req -new -key far.key -subj "/CN=broker.test" -out far.csr
	printf 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:broker.test\n' >far.ext
	openssl x509 -req -in far.csr -CA far-root.crt -CAkey far-root.key \
		-set_serial 2049 -days "$FAR" -extfile far.ext -out far.crt \
		2>/dev/null
	cp far.crt far.chain
) || { echo "the 2049 chain could not be made"; exit 99; }
check "the leaf made for the test ends on 2049-12-31" contains \
	"$(openssl x509 -in "$PKI/far.crt" -noout -enddate)" "Dec 31"
check "... of 2049" contains \
	"$(openssl x509 -in "$PKI/far.crt" -noout -enddate)" " 2049 GMT"

# ---- 1: bundles past 2038, no daemon ---------------------------------
trust_keys k1
NOSOCK="$T/no/such/control.sock"
tc() { "$ZWGATECTL" -s "$NOSOCK" trust "$@"; }
# make2040 NAME EXPIRES [VERSION]
make2040() {
	rm -f "$B/$1.bundle"
	tc make --version "${3:-1}" --expires "$2" --host broker.test \
		--anchor "$PKI/far-root.crt" --pin-from "$PKI/far-root.crt" \
		--pin-from "$PKI/B.crt" --signer "$B/k1.key.pub" --threshold 1 \
		--out "$B/$1.bundle"
}
out=$(make2040 f2040 2040-01-01 2>&1)
check "trust make --expires 2040-01-01" [ $? -eq 0 ]
echo "  $out" | head -2
check "... expires 2040-01-01T00:00:00Z" \
	[ "$(jqr .expires <"$B/f2040.bundle")" = 2040-01-01T00:00:00Z ]
q make2040 next2040 2040-01-01 2
q tc sign --key "$B/k1.key" "$B/f2040.bundle"
q tc sign --key "$B/k1.key" "$B/next2040.bundle"
out=$(tc verify --trusted "$B/f2040.bundle" "$B/next2040.bundle" 2>&1)
check "trust verify reads a bundle that expires in 2040" [ $? -eq 0 ]
check "... and would accept it (not \"expires: not a time\")" \
	contains "$out" "would be accepted: version 2"
out=$(make2040 f2100 2100-02-28 2>&1)
check "trust make --expires 2100-02-28" [ $? -eq 0 ]
out=$(make2040 bad 2100-02-29 2>&1)
check "trust make --expires 2100-02-29 is refused (2100 is no leap year)" \
	contains "$out" "not a date YYYY-MM-DD"
out=$(make2040 bad 2040-02-29 2>&1)
check "... 2040-02-29 is a date" [ $? -eq 0 ]

# ---- 2: zwgatectl on either side of 2038 -----------------------------
# fake TIME COMMAND...: COMMAND with its clock starting at TIME (on a
# 32-bit time_t set by tests/clock2038.so: see need_faketime).
fake() {
	t=$1
	shift
	fake_clock "@$t" "$@"
}
# at_day DAY: trust make under faketime at noon on DAY; its issued-at.
at_day() {
	rm -f "$B/at-$1.bundle"
	fake "$1 12:00:00" "$ZWGATECTL" -s "$NOSOCK" trust make --version 2 \
		--expires 2040-01-01 --host broker.test \
		--anchor "$PKI/far-root.crt" --pin-from "$PKI/far-root.crt" \
		--pin-from "$PKI/B.crt" --signer "$B/k1.key.pub" --threshold 1 \
		--out "$B/at-$1.bundle" >/dev/null 2>&1
	jqr '."issued-at"' <"$B/at-$1.bundle" 2>/dev/null | cut -c1-10
}
# Can libfaketime set the clock of zwgate's programs here?  Asked of
# the library, not of zwgate, so that a limit of libfaketime is skipped
# loudly rather than blamed on zwgate, and a fault of zwgate is never
# skipped: date(1) under it shows the day.  (clock2038.so, on 32 bits,
# is this test's own and needs no asking.)
fake_why() {
	[ -z "$CLOCK_SHIM" ] || return 0
	[ "$(fake "$1 12:00:00" date -u +%F)" = "$1" ] ||
		echo "libfaketime here cannot set the clock to $1"
}
FAKE_WHY_2037=$(fake_why 2037-12-31)
FAKE_WHY_2038=$(fake_why 2038-01-20)
why_for() {
	case $1 in
	2037*) echo "$FAKE_WHY_2037" ;;
	*) echo "$FAKE_WHY_2038" ;;
	esac
}

for day in 2037-12-31 2038-01-20; do
	why=$(why_for $day)
	if [ -n "$why" ]; then
		skip "issued-at on $day" "$why"
		continue
	fi
	check "trust make at $day: issued-at is that day" \
		[ "$(at_day $day)" = "$day" ]
done

# ---- 3: zwgated on either side of 2038 -------------------------------
trust_broker_start far
EXPIRES=2040-01-01
# Pinned: the root, and B as the backup pin a bundle must carry.
trust_bundle factory-2040 1 "far-root" "far-root B" "k1" "k1" --threshold 1
check "the factory bundle expires 2040-01-01" \
	[ "$(jqr .expires <"$B/factory-2040.bundle")" = 2040-01-01T00:00:00Z ]
gateway gw factory-2040
P=zwgate/test-gw
mq() {
	"$@" -h 127.0.0.1 -p "$BROKER_PORT" --cafile "$PKI/far-root.crt" \
		--insecure --cert "$PKI/client.crt" --key "$PKI/client.key"
}

# Milliseconds since 1970 of a UTC time (date(1) of the test's host).
ms_of() { echo "$(($(date -u -d "$1" +%s) * 1000))"; }
# between N LO HI: LO <= N < HI, N a number.
between() {
	case $1 in '' | *[!0-9]*) return 1 ;; esac
	[ "$1" -ge "$2" ] && [ "$1" -lt "$3" ]
}

for day in 2037-12-31 2038-01-20; do
	why=$(why_for $day)
	if [ -n "$why" ]; then
		skip "zwgated at $day" "$why"
		continue
	fi
	lo=$(ms_of "$day 00:00:00")
	hi=$((lo + 86400000))
	# The gateway starts at noon on that day.
	start_gateway "@$day 12:00:00"
	check "$day: zwgated connects to a broker whose chain ends in 2049" \
		wait_connected
	check "... in full trust mode (the dates checked at $day)" \
		[ "$(ts | jqr .last.mode)" = full ]
	check "... its clock says $day" \
		[ "$(ts | jqr .clock.now | cut -c1-10)" = "$day" ]
	# 2040-01-01 is 731 days after 2037-12-31 and 711 after 2038-01-20:
	# seen from noon, a day less (whole days, rounded down).
	case $day in
	2037-12-31) want=730 ;;
	*) want=710 ;;
	esac
	check "... trust status: $want days to the bundle's expiry" \
		[ "$(ts | jqr .active.days_left)" = "$want" ]
	check "... and zwgatectl trust status says so" \
		contains "$(ctl trust status 2>&1)" "in $want days"
	check "... the anchor's notAfter is read past 2038" \
		[ "$(ts | jqr '.active.anchors[0].not_after' | cut -c1-4)" -ge 2050 ]
	since=$(ctl --json status | jqr .cloud.connected_since_ms)
	check "... connected_since_ms is on $day ($since)" \
		between "$since" "$lo" "$hi"
	# A report now: its state message carries "ts", in ms, on that day.
	: >"$T/mqtt-$day.log"
	mq mosquitto_sub -v -t "$P/#" -W 10 -C 200 >>"$T/mqtt-$day.log" 2>&1 &
	subpid=$!
	sleep 1
	q ctl sim event "hall sensor" scene 3
	n=0
	while ! grep -q '"ts":' "$T/mqtt-$day.log" && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	kill "$subpid" 2>/dev/null
	wait "$subpid" 2>/dev/null
	tsv=$(grep -o '"ts": *[0-9-]*' "$T/mqtt-$day.log" | tail -1 |
		sed 's/.*: *//')
	check "... an MQTT payload's \"ts\" is on $day (${tsv:-none})" \
		between "$tsv" "$lo" "$hi"
	# The clock-jump timerfd expires 10 years on: from 2028 that did not
	# fit a 32-bit time_t, and it fired again and again.
	check "... no wall-clock jump seen where there was none" \
		sh -c '! grep "the wall clock was set" "$1"' sh "$T/daemon.log"
	# Past 2038 a 32-bit timerfd_settime cannot take the expiry.
	check "... and the clock-jump timerfd is armed" \
		sh -c '! grep "no notice of clock jumps" "$1"' sh "$T/daemon.log"
	stop_daemon TERM
done

finish
