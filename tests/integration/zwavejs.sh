#!/bin/sh
# The zwavejs backend end to end: zwgated, the real @zwave-js/server
# (bench/zwavejs's lock) with the configuration zwgate ships
# (etc/zwavejs/config.cjs and keys from `zwgatectl keys generate`), and
# the Z-Wave JS mock controller (tests/zwave-mock) as its stick.
#
# Covered: the same registry keys as the OpenZWave backend for a switch,
# a dimmer, a motion sensor, a temperature and humidity sensor and a
# meter (ozw.sh checks the same list), retained on MQTT; zwgatectl set
# and MQTT /set reaching the mock's devices and coming back; unsolicited
# reports; include with progress, exclude timing out, cancel; S2 with
# grant and PIN; SmartStart's list; a Long Range node (id 256: the
# registry, zwgatectl, MQTT topics and /set, a name); the controller's
# backup; a device's firmware update (the image byte for byte on the
# device, progress, a refusal, bad files, cancel); the lifeline health
# check of a healthy and of a dead node, cancelled, and its server gone; a dead
# node and its return; the server killed mid-run (status says so, nodes
# and values stay, writes say why) and started again (zwgated connects by
# itself); a server URL that is not loopback refused; a clean stop.
#
# Needs node >= 20 and npm (skipped loudly otherwise), socat, jq and
# mosquitto; runs on loopback only, in a network namespace of its own
# when it can.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/npm.sh"
. "$top_srcdir/tests/broker.sh"
. "$top_srcdir/tests/zwmock.sh"

zjs_skip() {
	echo "SKIP: zwavejs.sh: $*" >&2
	skip_all "the zwavejs end-to-end suite did not run: $*"
}

printf 'gateway-id "x"\nzwave { backend zwavejs }\n' >"$T/probe.conf"
chmod 644 "$T/probe.conf"
"$ZWGATED" -n -c "$T/probe.conf" >/dev/null 2>&1 ||
	zjs_skip "zwgated was built without the zwavejs backend"
for p in socat mosquitto mosquitto_sub mosquitto_pub jq; do
	command -v $p >/dev/null 2>&1 || zjs_skip "$p is not installed"
done
npm_need_zwavejs zjs_skip
loopback_only

BROKER_OWNER=$$
P=zwgate/test-gw
trap 'broker_stop_all; cleanup' EXIT
SERVER=$ZJS_DIR/node_modules/.bin/zwave-server
ZPORT=$(broker__random_port)

sh "$top_srcdir/tests/pki.sh" "$T/pki" >/dev/null || { echo "pki.sh failed"; exit 99; }
BROKER_PKI="$T/pki"
broker_start "$T/broker" tls || exit 99
TLS="--cafile $T/pki/ca.crt --cert $T/pki/client.crt --key $T/pki/client.key"
mpub() { mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" $TLS -q 1 "$@"; }
mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" $TLS -v -q 1 -c -i capture \
	-t "$P/#" >"$T/capture.log" 2>&1 &
echo $! >"$T/capture.pid"

# --- a server that is not on loopback --------------------------------
printf 'gateway-id "x"\nzwave {\n\tbackend zwavejs\n\tserver "ws://192.168.1.5:3000"\n}\n' >"$T/far.conf"
chmod 644 "$T/far.conf"
out=$("$ZWGATED" -n -c "$T/far.conf" 2>&1)
check "a server off loopback is refused" [ $? -ne 0 ]
check "... saying why" contains "$out" "has no authentication, so zwgate reaches it on loopback only"

"$ZWGATECTL" keys generate "$T/keys.json" >/dev/null ||
	{ echo "zwgatectl keys generate failed"; exit 99; }
# The mock controller has the server's keys, for S2, and a Long Range
# node, 256 (a switch).
ZWGATE_MOCK_KEYS=$T/keys.json
ZWGATE_MOCK_LR=1
# And a switch that takes firmware updates, node 20
# (tests/zwave-mock/firmware.cjs).
ZWGATE_MOCK_FIRMWARE=1
export ZWGATE_MOCK_KEYS ZWGATE_MOCK_LR ZWGATE_MOCK_FIRMWARE
mock_start 0 || { echo "the mock did not start"; exit 99; }
zjs_server_start
cat >"$CONF" <<CONF
gateway-id "test-gw"
log-level ${LOG_LEVEL:-info}
zwave {
	backend zwavejs
	server "ws://127.0.0.1:$ZPORT"
}
control { idle-timeout 60 }
CONF
broker_cloud_block >>"$CONF"
chmod 644 "$CONF"
start_daemon || { echo "zwgated did not start"; exit 99; }

# --- discovery -------------------------------------------------------
t0=$(date +%s)
check "the controller is ready" wait_for 60 controller_is ready
check "every node is queried" wait_grep "$T/daemon.log" "all 8 nodes queried" 60
check "... and the log names zwave-js's version" grep -q "controller ready (zwave-js 1[0-9]*\.[0-9]*\.[0-9]*, home id 7e570001)" "$T/daemon.log"
echo "# the server and its interview took $(($(date +%s) - t0)) s"
zw_check_values 8 # and the Long Range node, and node 20

# --- writes ----------------------------------------------------------
zw_check_writes

# --- reports from the devices ----------------------------------------
zw_check_reports

# --- a Long Range node ----------------------------------------------
check "a Long Range node (256) is in the registry" value_is 256 switch false
check "... and its state on MQTT under its id" wait_grep "$T/capture.log" "^$P/node/256/switch_binary/0/currentValue {\"value\":false" 5
out=$(ctl set 256 switch on)
check "zwgatectl set reaches it" contains "$out" "= true"
check "... the mock's switch 256 is on" mock_is 256 switch true
mpub -t "$P/node/256/switch_binary/0/currentValue/set" -m false
check "MQTT /set reaches it" wait_for 5 mock_is 256 switch false
check "... and comes back on MQTT" wait_grep "$T/capture.log" "^$P/node/256/switch_binary/0/currentValue {\"value\":false" 5
mock '{"op":"report","node":256,"kind":"binary-switch","value":true}' >/dev/null
check "its unsolicited report is a state change" wait_for 5 value_is 256 switch true
check "it can be named" quiet ctl rename 256 "Gate opener"
check "... and found by its name" value_is "gate opener" switch true
check "... and its status is published" wait_grep "$T/capture.log" "^$P/node/256/status " 5

# --- controller commands ---------------------------------------------
mock '{"op":"include","id":7,"device":"switch"}' >/dev/null
ctl include 30 >"$T/include.out" 2>"$T/include.err"
check "include succeeds" [ $? -eq 0 ]
check "... showing its progress" grep -q "waiting for a device" "$T/include.err"
check "... from its first step" grep -q "^include: asking the controller" "$T/include.err"
check "... and the new node" grep -q "completed: node 7 added" "$T/include.out"
check "the included node is interviewed" wait_for 30 value_is 7 switch false
ctl exclude 2 >/dev/null 2>"$T/exclude.err"
check "exclude with nobody pressing a button times out" [ $? -eq 1 ]
check "... and says so" grep -q "timed out" "$T/exclude.err"
ctl exclude 30 >/dev/null 2>"$T/cancel.err" &
xpid=$!
wait_grep "$T/cancel.err" "waiting" 10
check "cancel stops a running exclude" quiet ctl cancel
wait $xpid
check "... which reports it" grep -q "cancelled" "$T/cancel.err"
check "nothing to cancel is an error" sh -c "! $ZWGATECTL -s $SOCK cancel 2>/dev/null"
check "refresh starts" quiet ctl refresh 5

# --- lifeline health check -------------------------------------------
ctl health 3 2 >"$T/health.out" 2>"$T/health.err"
check "health of a node that answers succeeds" [ $? -eq 0 ]
check "... saying at once what it does" grep -q "^health: node 3: checking its link to the controller, 2 rounds of 10 pings" "$T/health.err"
check "... showing each round" grep -q "health: node 3: round 2 of 2: latency [0-9]* ms, 0 of 10 pings lost, [0-9]* neighbours" "$T/health.err"
check "... and a rating above 0" grep -Eq "^health: node 3: rating ([1-9]|10) of 10 \((poor|acceptable|good|excellent)\); worst round: latency [0-9]* ms, 0 of 10 pings lost" "$T/health.out" ||
	sed 's/^/# /' "$T/health.out"
out=$(ctl health 42 2>&1)
check "health of a node nobody has is refused" contains "$out" "no node '42'"
out=$(ctl health 3 11 2>&1)
check "... and 11 rounds" contains "$out" "bad number of rounds '11' (1 to 10)"
out=$(ctl --json health 3 0 2>&1)
check "... and 0 rounds" contains "$out" "bad number of rounds '0'"

# --- backup of the controller's NVM -----------------------------------
ctl backup "$T/nvm.bin" >"$T/backup.out" 2>"$T/backup.err"
check "backup succeeds" [ $? -eq 0 ]
check "... saying at once that the radio is off" grep -q "^backup: reading the controller's memory (the radio is off meanwhile)" "$T/backup.err"
check "... showing its progress" grep -q "^backup: 16384 of 16384 bytes read" "$T/backup.err"
check "... and the file it wrote" grep -q "^backup: 16384 bytes of the controller's NVM in $T/nvm.bin (mode 0600" "$T/backup.out" ||
	sed 's/^/# /' "$T/backup.out" "$T/backup.err"
check "... which is the controller's NVM, byte for byte" \
	[ "$(sha256sum <"$T/nvm.bin" | cut -d' ' -f1)" = "$(mock '{"op":"nvm"}' | jq -r .result.sha256)" ]
check "... mode 0600" [ "$(stat -c %a "$T/nvm.bin")" = 600 ]
check "... with no temporary file left" sh -c "! ls '$T' | grep -q '^nvm.bin.'"
check "the NVM is in no log" sh -c "! grep -qF \"\$(base64 -w0 '$T/nvm.bin' | cut -c 2001-2040)\" '$T/daemon.log'"
out=$(ctl backup "$T/nodir/nvm.bin" 2>&1)
check "a backup where it cannot be written fails at once" contains "$out" "backup: cannot write next to $T/nodir/nvm.bin: No such file or directory"
out=$(ctl backup "$T" 2>&1)
check "... and one onto a directory" contains "$out" "backup: $T is not a file"
ctl health 3 10 >/dev/null 2>&1 &
hpid=$!
check "a health check runs" wait_for 10 sh -c "[ \$(grep -c 'health: node 3: checking its link' '$T/daemon.log') -eq 2 ]"
out=$(ctl backup "$T/nvm2.bin" 2>&1)
check "a backup meanwhile is refused" contains "$out" "the controller is busy with a backup, a health check or a firmware update"
check "... leaving no file behind" sh -c "! ls '$T' | grep -q '^nvm2.bin'"
quiet ctl cancel
wait $hpid

# --- S2: grant and PIN ----------------------------------------------
# s2_device ID: the mock's next device is an S2 switch with id ID; PIN
# is its PIN.  (The mock's S2 exchange gives up within about a second,
# so the PIN is given with --pin: no person could type it that fast.)
s2_device() {
	PIN=$(mock "{\"op\":\"include\",\"id\":$1,\"device\":\"s2switch\"}" | jq -r .result.pin)
}
s2_device 8
ctl include --secure --pin "$PIN" 60 >"$T/s2.out" 2>"$T/s2.err"
st=$?
check "S2 with its PIN: the include succeeds" [ $st -eq 0 ]
[ $st -eq 0 ] || sed 's/^/# /' "$T/s2.out" "$T/s2.err"
check "... showing the classes asked for and granted" \
	grep -q "asks for S2 Authenticated, S2 Unauthenticated; granting S2 Authenticated, S2 Unauthenticated" "$T/s2.err"
check "... and that it checks the PIN" grep -q "checking the device's PIN" "$T/s2.err"
check "... the node has S2 Authenticated" grep -q "completed: node 8 added with S2 Authenticated" "$T/s2.out"
check "the S2 node is interviewed" wait_for 30 value_is 8 switch false
check "... and works" sh -c "$ZWGATECTL -s $SOCK set 8 switch on | grep -q '= true$'"

s2_device 9
ctl include --secure --pin "$(printf %05d $(((${PIN#"${PIN%%[!0]*}"} + 1) % 65536)))" 60 \
	>"$T/s2bad.out" 2>"$T/s2bad.err"
check "a wrong PIN: the node is added" [ $? -eq 0 ]
check "... WITHOUT the security it asked for, said loudly" \
	grep -q "completed: node 9 added WITHOUT the security it asked for (the PIN was wrong)" "$T/s2bad.out"
check "... in the daemon's log too" grep -q "warning: zwave zwavejs: node 9 added WITHOUT" "$T/daemon.log"

s2_device 10
ctl include --secure --grant none 60 >"$T/s2un.out" 2>"$T/s2un.err"
st=$?
check "--grant none: the include ends" [ $st -eq 0 ]
[ $st -eq 0 ] || sed 's/^/# /' "$T/s2un.out" "$T/s2un.err"
check "... it grants nothing" grep -q "granting none$" "$T/s2un.err"
check "... and the node is added without S2, said so" \
	grep -q "completed: node 10 added WITHOUT the security it asked for" "$T/s2un.out"

# include-pin: taken during an include (and used when the device asks,
# as --pin is), refused without one.
ctl include --secure 60 >/dev/null 2>"$T/pin.err" &
ipid=$!
check "an include runs" wait_grep "$T/pin.err" "waiting for a device" 10
out=$(ctl include-pin 12345 2>&1)
check "include-pin during an include is taken" contains "$out" "PIN given to the running include"
quiet ctl cancel
wait $ipid
out=$(ctl include --secure --pin 123 2>&1)
check "a PIN that is not five digits is refused" contains "$out" "'pin' must be the five digits"
out=$(ctl include --secure --pin 65536 2>&1)
check "... or over 65535" contains "$out" "'pin' must be the five digits"
out=$(ctl include --secure --grant everything 2>&1)
check "an unknown class is refused" contains "$out" "unknown security class in 'grant'"
out=$(ctl include --pin 12345 2>&1)
check "--pin without --secure is refused" contains "$out" "are for a secure include"
out=$(ctl include-pin 12345 2>&1)
check "include-pin with no include running is refused" contains "$out" "no include is running"

# --- SmartStart: the provisioning list --------------------------------
DSK=12345-23456-34567-45678-56789-01234-11111-22222
out=$(ctl provision add "$DSK" 2>&1)
check "provision add DSK" contains "$out" "provision: added"
out=$(ctl provision add 54321-23456-34567-45678-56789-01234-11111-33333 --grant authenticated 2>&1)
check "provision add DSK --grant" contains "$out" "provision: added"
ctl provision list >"$T/prov.out" 2>&1
check "provision list shows them, a line each" grep -qx "provision: 2 entries" "$T/prov.out"
check "... with the classes granted" grep -qx "$DSK  S2 Access Control, S2 Authenticated, S2 Unauthenticated" "$T/prov.out"
check "... each its own" grep -qx "54321-23456-34567-45678-56789-01234-11111-33333  S2 Authenticated" "$T/prov.out"
out=$(ctl provision remove "$DSK" 2>&1)
check "provision remove" contains "$out" "provision: removed"
out=$(ctl provision list 2>&1)
check "... gone from the list" sh -c "! echo '$out' | grep -q '$DSK' && echo '$out' | grep -q 'provision: 1 entry'"
out=$(ctl provision add 12345-23456 2>&1)
check "a short DSK is refused" contains "$out" "is not a DSK (eight groups of five digits"
out=$(ctl provision add 70000-23456-34567-45678-56789-01234-11111-22222 2>&1)
check "... and a group over 65535" contains "$out" "is not a DSK"
out=$(ctl provision add "$DSK" --grant none 2>&1)
check "SmartStart with no class is refused" contains "$out" "SmartStart is S2: grant at least one S2 class"
out=$(ctl provision frob 2>&1)
check "an unknown provision op is refused" contains "$out" "'op' must be add, remove or list"
out=$(ctl provision remove 2>&1)
check "remove without a code is refused" contains "$out" "provision remove needs 'code'"
out=$(ctl provision remove 99 2>&1)
check "remove by node id reaches the server" contains "$out" "provision: "
check "... as a code" sh -c "! echo '$out' | grep -q -e \"needs 'code'\" -e 'is not a DSK'"
out=$(ctl provision add 9001234567890123456789012345678901234567890123456789012 --grant authenticated 2>&1)
check "--grant with a QR code is refused" contains "$out" "a QR code carries the device's own classes"
out=$(ctl provision add "$DSK" --grant s0 2>&1)
check "SmartStart with S0 alone is refused" contains "$out" "grant at least one S2 class"
out=$(ctl include --secure --grant , 2>&1)
check "--grant with no class is refused" contains "$out" "--grant: no class given"

# Long Range joins, by SmartStart only: a DSK's entry says so, a QR
# code's only if the code lists Long Range (checked by the server).
# qr_code DIGITS: a SmartStart QR code of the digits after its checksum
# (requested keys, DSK, TLVs), with its checksum.
qr_code() {
	sum=$(printf %s "$1" | sha1sum | cut -c1-4)
	printf '9001%05d%s' "$((0x$sum))" "$1"
}
PRODUCT="0010""0400100000""0220""00001000020000300004" # type and id TLVs
QR_LR=$(qr_code "007$(echo 55555-16666-17777-18888-19999-11111-22222-33333 | tr -d -)${PRODUCT}080203")
QR_MESH=$(qr_code "007$(echo 55555-16666-17777-18888-19999-11111-22222-44444 | tr -d -)$PRODUCT")
LRDSK=11111-22222-33333-44444-55555-11111-22222-33333
out=$(ctl provision add "$LRDSK" --long-range 2>&1)
check "provision add DSK --long-range" contains "$out" "provision: added"
out=$(ctl provision add "$QR_LR" --long-range 2>&1)
check "provision add QR --long-range" contains "$out" "provision: added"
ctl provision list >"$T/prov-lr.out" 2>&1
check "... both listed as Long Range" [ "$(grep -c -e "^$LRDSK  .*  Long Range\$" -e "^55555-16666-17777-18888-19999-11111-22222-33333  .*  Long Range\$" "$T/prov-lr.out")" = 2 ] ||
	sed 's/^/# /' "$T/prov-lr.out"
check "... with Long Range's classes only" sh -c "! grep 'Long Range' '$T/prov-lr.out' | grep -q Unauthenticated"
out=$(ctl provision add "$QR_MESH" --long-range 2>&1)
check "a QR code without Long Range is refused for it" contains "$out" "provision: the device's QR code does not offer Long Range"
out=$(ctl provision add "900100000${QR_LR#?????????}" --long-range 2>&1)
check "... and one with a bad checksum, by the server" contains "$out" "provision: add refused by the server: Invalid QR code"
out=$(ctl provision add "$LRDSK" --long-range --grant unauthenticated 2>&1)
check "Long Range with S2 Unauthenticated alone is refused" contains "$out" "Long Range is S2 authenticated or access control: grant one of them"
out=$(ctl provision remove 300 2>&1)
check "remove by a Long Range node id reaches the server" contains "$out" "provision: "
check "... as a code" sh -c "! echo '$out' | grep -q -e \"needs 'code'\" -e 'is not a DSK'"

# --- a node that stops answering -------------------------------------
mock '{"op":"dead","node":2}' >/dev/null
for v in off on off; do ctl set --no-wait 2 switch $v >/dev/null; done
check "a node that stops answering goes dead" wait_for 60 status_is 2 dead
check "... on MQTT too" wait_grep "$T/capture.log" "^$P/node/2/status dead" 5
check "the other nodes keep working" wait_for 10 sh -c "$ZWGATECTL -s $SOCK set 3 level 30 | grep -q '= 30$'"
ctl health 2 1 >"$T/health2.out" 2>&1
check "health of the dead node runs" [ $? -eq 0 ]
check "... and rates it 0: no ping answered" grep -q "^health: node 2: rating 0 of 10 (failing); worst round: latency [0-9]* ms, 10 of 10 pings lost" "$T/health2.out"
ctl health 2 5 >/dev/null 2>"$T/health3.err" &
hpid=$!
check "a health check runs" wait_for 10 sh -c "[ \$(grep -c 'health: node 2: checking its link' '$T/daemon.log') -eq 2 ]"
out=$(ctl health 3 2>&1)
check "a second health check meanwhile is refused" contains "$out" "a health check, a backup or a firmware update is already running; wait for it"
check "cancel stops a health check" quiet ctl cancel
wait $hpid
check "... which exits 1" [ $? -eq 1 ]
check "... saying so" grep -q "health: node 2: cancelled" "$T/health3.err" ||
	sed 's/^/# /' "$T/health3.err"
mock '{"op":"alive","node":2}' >/dev/null
mock '{"op":"report","node":2,"kind":"binary-switch","value":true}' >/dev/null
check "a dead node that reports is alive again" wait_for 30 status_is 2 alive

# --- the server goes away and comes back -----------------------------
zjs_server_stop
check "a server that goes away shows in status" wait_for 10 sh -c "$ZWGATECTL -s $SOCK status | grep -q 'controller *failed: no Z-Wave JS server'"
check "the daemon keeps running" quiet ctl status
check "... and keeps its nodes and values" value_is 6 power 150.5
out=$(ctl set 3 level 10 2>&1)
check "a write meanwhile says why it cannot" contains "$out" "controller is not ready"
zjs_server_start
t0=$(date +%s)
check "zwgated connects again by itself" wait_for 90 controller_is ready
echo "# connected again $(($(date +%s) - t0)) s after the server was started"
check "... and writes work again" wait_for 20 sh -c "$ZWGATECTL -s $SOCK set 3 level 45 | grep -q '= 45$'"
check "... on the mock" mock_is 3 level 45

# --- a device's firmware update --------------------------------------
# (After the server's restart: zwave-js interviews the device again
# after an update, and a server stopped in the middle of that leaves the
# mock stuck.  The last section stops it mid-exchange anyway.)
head -c 4000 /dev/urandom >"$T/switch-1.2.bin"
ctl firmware update 20 "$T/switch-1.2.bin" >"$T/fw.out" 2>"$T/fw.err"
check "a firmware update succeeds" [ $? -eq 0 ]
check "... saying at once what it sends" grep -q "^firmware: node 20: sending switch-1.2.bin (4000 bytes) to the device" "$T/fw.err"
check "... showing its progress" grep -q "^firmware: node 20: [0-9]* of 100 fragments sent" "$T/fw.err"
check "... and the device's answer" grep -q "^firmware: node 20: done; zwave-js interviews it again" "$T/fw.out" ||
	sed 's/^/# /' "$T/fw.out" "$T/fw.err"
check "the device got the image byte for byte" \
	[ "$(sha256sum <"$T/switch-1.2.bin" | cut -d' ' -f1)" = "$(mock '{"op":"firmware","node":20}' | jq -r .result.sha256)" ]
# 300 KB: ten chunks up, one message of 400 KB to the server; the
# device refuses it (it has no target 3).
head -c 300000 /dev/urandom >"$T/big.bin"
out=$(ctl firmware update 20 "$T/big.bin" --target 3 2>&1)
check "an image for a target the device lacks fails" [ $? -eq 1 ]
check "... with the reason" contains "$out" "firmware: node 20: failed: "
check "... after all of it went up" contains "$out" "sending big.bin (300000 bytes, to a target other than its own firmware)"
cp "$T/switch-1.2.bin" "$T/switch.txt"
out=$(ctl firmware update 20 "$T/switch.txt" 2>&1)
check "an image of no known format is refused" contains "$out" "'file' must be the image's file name, without its directory, ending in .bin, .hex"
cp "$T/switch-1.2.bin" "$T/switch.zip"
out=$(ctl firmware update 20 "$T/switch.zip" 2>&1)
check "... and a .zip that is none" contains "$out" "switch.zip is not a zip archive"
truncate -s $((4 * 1024 * 1024 + 1)) "$T/huge.bin"
out=$(ctl firmware update 20 "$T/huge.bin" 2>&1)
check "... and one over 4 MiB, before it is sent" contains "$out" "huge.bin is 4194305 bytes: zwgate takes at most 4194304 (4 MiB)"
out=$(ctl firmware update 42 "$T/switch-1.2.bin" 2>&1)
check "... and one for a node nobody has" contains "$out" "no node '42'"
head -c 40000 /dev/urandom >"$T/slow.bin"
ctl firmware update 20 "$T/slow.bin" >/dev/null 2>"$T/fwcancel.err" &
fpid=$!
wait_grep "$T/fwcancel.err" "sending slow.bin" 30
check "cancel aborts a firmware update" quiet ctl cancel
wait $fpid
check "... which fails, saying so" [ $? -eq 1 ]
check "... cancelled" grep -q "firmware: node 20: cancelled" "$T/fwcancel.err" ||
	sed 's/^/# /' "$T/fwcancel.err"

# --- the server goes away in the middle of a health check ------------
# (Last: the mock does not recover from a server killed in the middle of
# an exchange, so nothing is written after this.)
ctl health 6 10 >/dev/null 2>"$T/health4.err" &
hpid=$!
check "a long health check runs" wait_grep "$T/health4.err" "round 1 of 10" 20
zjs_server_stop
wait $hpid
check "a health check whose server goes away ends" [ $? -eq 1 ]
check "... saying why" grep -q "health: node 6: stopped: the server is gone" "$T/health4.err"

# --- clean stop ------------------------------------------------------
stop_daemon TERM
check "SIGTERM: exit 0 (${STOP_STATUS})" [ "$STOP_STATUS" = 0 ]
[ "$STOP_STATUS" = 0 ] || tail -40 "$T/daemon.log"
check "no key in zwgated's log" sh -c "! grep -qiF \"\$(jq -r .securityKeys.S2_AccessControl '$T/keys.json')\" '$T/daemon.log'"
zjs_server_stop
kill -KILL "$(cat "$T/mock.pid")" 2>/dev/null
finish
