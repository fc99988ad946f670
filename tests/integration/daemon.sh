#!/bin/sh
# zwgated's life: -n, start, the basic commands, names that survive a
# restart, reload (good and broken, by SIGHUP and by zwgatectl), systemd
# notifications seen by a real datagram peer (socat), clean SIGTERM.
. "$top_srcdir/tests/lib.sh"
write_config

# -n: the example config passes; a broken one fails with file:line:col.
# (copied: a checkout made under umask 002 is group-writable, and refused)
mkdir "$T/etc" && cp "$top_srcdir/etc/zwgate.conf" "$top_srcdir/etc/sim-network.json" "$T/etc/"
chmod 644 "$T"/etc/*
out=$("$ZWGATED" -n -c "$T/etc/zwgate.conf" 2>&1)
check "-n accepts the example config" [ $? -eq 0 ]
printf 'gateway-id "x"\nzwave {\n\tbackend carrier-pigeon\n' > "$T/bad.conf"
chmod 644 "$T/bad.conf"
out=$("$ZWGATED" -n -c "$T/bad.conf" 2>&1); st=$?
check "-n rejects a broken config with status 1" [ $st -eq 1 ]
check "-n names file:line:col" contains "$out" "bad.conf:3:"
out=$("$ZWGATED" -n -c "$T/missing.conf" 2>&1); st=$?
check "-n on a missing file fails clearly" contains "$st $out" "1 $T/missing.conf"

# A real datagram peer stands in for systemd's notify socket.
socat -u UNIX-RECV:"$T/notify.sock" OPEN:"$T/notify.log",creat,append &
echo $! > "$T/socat.pid"
sleep 0.2
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=200000 start_daemon env
check "zwgated starts" [ -S "$SOCK" ]
check "the socket is mode 0660" [ "$(stat -c %a "$SOCK")" = 660 ]
check "the state directory is mode 0700" [ "$(stat -c %a "$STATE")" = 700 ]

st=$(ctl --json status)
check "status: backend sim" [ "$(echo "$st" | jqr .backend)" = sim ]
check "status: controller ready" [ "$(echo "$st" | jqr .controller)" = ready ]
check "status: all sim nodes" [ "$(echo "$st" | jqr .nodes)" -ge 8 ]
out=$(ctl status)
check "status: human form" contains "$out" "backend"
out=$(ctl nodes)
check "nodes: lists porch" contains "$out" "porch"

# set waits for the simulated device's report, then get shows it.
out=$(ctl set porch switch on); st=$?
check "set porch switch on" [ $st -eq 0 ]
check "set is confirmed" [ "$(ctl --json set porch switch on | jqr .confirmed)" = true ]
check "get shows the new value" [ "$(ctl --json get porch switch | jqr .value)" = true ]
ctl set "lounge lamp" level 40 >/dev/null
check "dimmer level by name" [ "$(ctl --json get 'lounge lamp' switch_multilevel/0/currentValue | jqr .value)" = 40 ]
out=$(ctl node porch)
check "node shows the value path" contains "$out" "switch_binary/0/currentValue"

# Names are stored in the state directory and survive a restart.
id=$(ctl --json get porch switch | jqr .node)
check "rename" ctl rename "$id" "front porch"
check "names file is private" [ "$(stat -c %a "$STATE/names.json")" = 600 ]
sleep 0.3
grep -q "READY=1" "$T/notify.log"; check "READY=1 sent" [ $? -eq 0 ]
grep -q "STATUS=zwave sim: ready" "$T/notify.log"; check "STATUS= sent" [ $? -eq 0 ]
grep -q "WATCHDOG=1" "$T/notify.log"; check "WATCHDOG=1 sent" [ $? -eq 0 ]

# A second daemon on the same runtime directory refuses to start.
out=$("$ZWGATED" -c "$CONF" --state-dir "$STATE" --runtime-dir "$RUN" 2>&1); st=$?
check "a second zwgated refuses to start" contains "$st $out" "1 "
check "... and says why" contains "$out" "another zwgated is running"
check "... and the first still answers" ctl status

# SIGHUP with a broken config: logged, old config kept.
cp "$CONF" "$T/good.conf"
printf 'bogus-key 1\n' >> "$CONF"
kill -HUP "$DAEMON_PID"
sleep 0.3
check "SIGHUP with a broken config: still running" ctl status
check "... the error is logged with file:line:col" grep -q "zwgate.conf:9:1: " "$T/daemon.log"
out=$(ctl reload 2>&1); st=$?
check "reload with a broken config fails" [ $st -eq 1 ]
check "... and names the error" contains "$out" "zwgate.conf:9:1:"
check "... and keeps the old config" contains "$out" "still running the old config"
sed 's/^log-level .*/log-level debug/' "$T/good.conf" > "$CONF"
check "reload of a good config" ctl reload
check "... takes effect" [ "$(ctl --json status | jqr .log_level)" = debug ]
grep -q "RELOADING=1" "$T/notify.log"; check "RELOADING=1 sent" [ $? -eq 0 ]
grep -q "MONOTONIC_USEC=" "$T/notify.log"; check "MONOTONIC_USEC= sent" [ $? -eq 0 ]

# SIGTERM: exit 0 within 2 s, socket gone.
stop_daemon TERM
check "SIGTERM: exit 0 within 2 s" [ "$STOP_STATUS" = 0 ]
check "SIGTERM: socket removed" [ ! -e "$SOCK" ]
sleep 0.2
grep -q "STOPPING=1" "$T/notify.log"; check "STOPPING=1 sent" [ $? -eq 0 ]
out=$(ctl status 2>&1); st=$?
check "zwgatectl: daemon not running is exit 3" [ $st -eq 3 ]
check "... with a plain message" contains "$out" "zwgated is not running"

# The name survived the restart.
start_daemon
check "the name survives a restart" [ "$(ctl --json get 'front porch' switch | jqr .node)" = "$id" ]
stop_daemon INT
check "SIGINT: exit 0" [ "$STOP_STATUS" = 0 ]

# Bad state directory: a clear error, exit 1.
touch "$T/notadir"
out=$("$ZWGATED" -c "$CONF" --state-dir "$T/notadir" --runtime-dir "$RUN" 2>&1); st=$?
check "a state dir that is a file stops the start" contains "$st $out" "1 zwgated: error: state directory $T/notadir"
finish
