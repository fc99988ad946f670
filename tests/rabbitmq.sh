# rabbitmq.sh: a two-node RabbitMQ 3.10 cluster on 127.0.0.1 with the
# MQTT plugin over mutual TLS, for the integration tests (POSIX sh,
# sourced; set -u safe).  Nodes a@localhost and b@localhost, everything
# (config, cookie, certificates, mnesia, logs, pid files) in one DIR:
#
#   rmq_start DIR CERTDIR BASEPORT
#     DIR is made (or must be empty).  CERTDIR holds ca.crt, server.crt,
#     server.key (tests/pki.sh).  Ports:
#       BASEPORT       MQTT over TLS, node a on 127.0.0.2 and node b on
#                      127.0.0.3 (RMQ_ADDR_A, RMQ_ADDR_B; RMQ_TLS): one
#                      port for both, as a cluster's nodes have
#       BASEPORT+2/+3  plain MQTT, node a/b     (RMQ_TCP_A, RMQ_TCP_B)
#       BASEPORT+4/+5  AMQP, +6/+7 Erlang distribution, +8 our own epmd,
#       BASEPORT+10..+19 the distribution ports of rabbitmqctl.
#     TLS: verify_peer + fail_if_no_peer_cert, and mqtt.ssl_cert_login:
#     the client certificate's CN is the user name (no anonymous login).
#     Users in $RMQ_USERS (default: test-gw, the CN of pki.sh's client)
#     are made; $RMQ_EXTRA_CONF (lines) is appended to both configs.
#     Starts both nodes, joins b to a, returns 0 once both nodes have
#     booted and every port above listens (1 and the log tail if not).
#     About 25-30 s here (2 cores).
#   rmq_stop_node a|b   kill -9 the node's processes (a crash); returns
#                       when they are gone.  Its data stays in DIR.
#   rmq_start_node a|b  start it again with its data: it rejoins the
#                       cluster; returns once booted and listening.
#   rmq_stop            kill every process of the cluster and its epmd,
#                       wait until they are gone.  Idempotent, for traps.
#                       DIR stays (owned by rabbitmq: rm -rf it as root).
#   rmq_ctl a|b ARGS... rabbitmqctl against that node (RMQ_CLI=name for
#                       rabbitmq-diagnostics, rabbitmq-queues, ...).
#   rmq_user NAME [PASS]  a user (default password: NAME) with configure,
#                       write and read on vhost /.  A certificate with
#                       CN=NAME logs in as it; plain clients use -u/-P.
#
# Run as root, the nodes run as $RMQ_RUNAS (default rabbitmq), so DIR's
# parents must be searchable by that user.  A watcher kills the cluster
# once the shell that owns it ($RMQ_OWNER, default the sourcing shell) is
# gone or after $RMQ_LIFETIME seconds (default 1800); it is a child of
# the sourcing shell, so wait for your own jobs by pid, never bare "wait".

: "${RMQ_OWNER:=$$}"
: "${RMQ_LIFETIME:=1800}"
: "${RMQ_RUNAS:=rabbitmq}"
: "${RMQ_USERS:=test-gw}"
: "${RMQ_EXTRA_CONF:=}"
: "${RMQ_CLI:=rabbitmqctl}"
RMQ_DIR=
RMQ_BIN=/usr/lib/rabbitmq/bin

# rmq__env NODE: the environment of the node's server and of the CLI.
rmq__env() {
	export HOME="$RMQ_DIR/home" ERL_EPMD_ADDRESS=127.0.0.1
	ERL_EPMD_PORT=$(($(cat "$RMQ_DIR/base") + 8))
	export ERL_EPMD_PORT
	export RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"
	export RABBITMQ_CTL_DIST_PORT_MIN=$(($(cat "$RMQ_DIR/base") + 10))
	export RABBITMQ_CTL_DIST_PORT_MAX=$(($(cat "$RMQ_DIR/base") + 19))
	export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
	export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="$RABBITMQ_CTL_ERL_ARGS"
	_rn=$RMQ_DIR/$1
	export RABBITMQ_NODENAME="$1@localhost" \
		RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
		RABBITMQ_NODE_PORT="$(sed -n 3p "$_rn/ports")" \
		RABBITMQ_DIST_PORT="$(sed -n 4p "$_rn/ports")" \
		RABBITMQ_CONFIG_FILE="$_rn/rabbitmq.conf" \
		RABBITMQ_ADVANCED_CONFIG_FILE="$_rn/advanced.config" \
		RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins" \
		RABBITMQ_PLUGINS_EXPAND_DIR="$_rn/plugins-expand" \
		RABBITMQ_MNESIA_BASE="$_rn/mnesia" \
		RABBITMQ_LOG_BASE="$_rn/log" \
		RABBITMQ_FEATURE_FLAGS_FILE="$_rn/feature_flags" \
		RABBITMQ_PID_FILE="$_rn/beam.pid" \
		ERL_CRASH_DUMP="$_rn/erl_crash.dump"
}

# rmq_ctl NODE ARGS...: the CLI as the caller (root reads the cookie).
rmq_ctl() {
	(_rnode=$1; shift; rmq__env "$_rnode"; cd "$RMQ_DIR" &&
		"$RMQ_BIN/$RMQ_CLI" -n "$_rnode@localhost" "$@")
}

# rmq__up: the name of a node that runs (for cluster-wide commands).
rmq__up() {
	for _rx in a b; do
		[ -s "$RMQ_DIR/$_rx/pgid" ] && { echo "$_rx"; return 0; }
	done
	return 1
}

rmq_user() {
	_rx=$(rmq__up) || return 1
	rmq_ctl "$_rx" add_user "$1" "${2:-$1}" >/dev/null &&
		rmq_ctl "$_rx" set_permissions -p / "$1" '.*' '.*' '.*' >/dev/null
}

# rmq__conf NODE TLS TCP AMQP DIST TLS-ADDRESS: the node's directory
# and config.
rmq__conf() {
	_rn=$RMQ_DIR/$1
	mkdir -p "$_rn/mnesia" "$_rn/log" "$_rn/plugins-expand" || return 1
	printf '%s\n' "$2" "$3" "$4" "$5" "$6" >"$_rn/ports"
	cat >"$_rn/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$4
mqtt.listeners.tcp.1 = 127.0.0.1:$3
mqtt.listeners.ssl.1 = $6:$2
ssl_options.cacertfile = $RMQ_DIR/tls/ca.crt
ssl_options.certfile = $RMQ_DIR/tls/server.crt
ssl_options.keyfile = $RMQ_DIR/tls/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = true
mqtt.ssl_cert_login = true
ssl_cert_login_from = common_name
mqtt.allow_anonymous = false
mqtt.vhost = /
mqtt.exchange = amq.topic
log.console = false
log.file.level = info
$RMQ_EXTRA_CONF
CONF
}

# rmq__alive SID: a process of that session is left (zombies aside).
rmq__alive() {
	ps -o stat= --sid "$1" 2>/dev/null | grep -qv '^Z'
}

# rmq__run NODE: starts the node (as $RMQ_RUNAS) in its own session,
# whose id is in NODE/pgid.
rmq__run() {
	_rn=$RMQ_DIR/$1
	rm -f "$_rn/beam.pid"
	_ras=
	[ "$(id -u)" = 0 ] && _ras="setpriv --reuid=$RMQ_RUNAS --regid=$RMQ_RUNAS --init-groups"
	(rmq__env "$1"; cd "$_rn" &&
		exec setsid $_ras "$RMQ_BIN/rabbitmq-server") \
		>>"$_rn/log/console.log" 2>&1 </dev/null &
	echo $! >"$_rn/pgid"
}

# rmq__wait NODE [kick]: 0 once the node has booted and its ports
# listen.  kick: see rmq_start_node.
rmq__wait() {
	_rn=$RMQ_DIR/$1
	_rt=$(($(date +%s) + ${RMQ_BOOT_TIMEOUT:-300}))
	until rmq_ctl "$1" await_startup --timeout 5 >/dev/null 2>&1; do
		if ! rmq__alive "$(cat "$_rn/pgid")" ||
			[ "$(date +%s)" -ge "$_rt" ]; then
			_rt=0; break
		fi
		[ "${2:-}" = kick ] && rmq_ctl "$1" eval \
			'ra:restart_server(coordination, {mqtt_node, node()}).' \
			>/dev/null 2>&1
		sleep 1
	done
	_ra=$(sed -n 5p "$_rn/ports")
	for _rp in "$_ra:$(sed -n 1p "$_rn/ports")" \
		127.0.0.1:$(sed -n 2p "$_rn/ports") \
		127.0.0.1:$(sed -n 3p "$_rn/ports"); do
		while [ "$_rt" != 0 ] &&
			[ -z "$(ss -ltnH "src ${_rp%:*} and sport = :${_rp#*:}")" ]; do
			[ "$(date +%s)" -ge "$_rt" ] && _rt=0
			sleep 0.1
		done
	done
	[ "$_rt" != 0 ] && return 0
	echo "rabbitmq.sh: node $1 did not start:" >&2
	tail -n 5 "$_rn/log/console.log" "$_rn/log/$1@localhost.log" >&2
	return 1
}

rmq_start() {
	mkdir -p "$1" && RMQ_DIR=$(cd "$1" && pwd) || return 1
	_rb=$3
	echo "$_rb" >"$RMQ_DIR/base"
	mkdir -p "$RMQ_DIR/home" "$RMQ_DIR/tls" || return 1
	cp "$2/ca.crt" "$2/server.crt" "$2/server.key" "$RMQ_DIR/tls/" ||
		return 1
	echo '[rabbitmq_mqtt].' >"$RMQ_DIR/enabled_plugins"
	: >"$RMQ_DIR/rabbitmq-env.conf"
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$RMQ_DIR/home/.erlang.cookie"
	chmod 400 "$RMQ_DIR/home/.erlang.cookie" "$RMQ_DIR/tls/server.key"
	rmq__conf a "$_rb" $((_rb + 2)) $((_rb + 4)) $((_rb + 6)) 127.0.0.2 &&
		rmq__conf b "$_rb" $((_rb + 3)) $((_rb + 5)) $((_rb + 7)) \
			127.0.0.3 || return 1
	if [ "$(id -u)" = 0 ]; then
		chown -R "$RMQ_RUNAS:" "$RMQ_DIR" || return 1
		setpriv --reuid="$RMQ_RUNAS" --regid="$RMQ_RUNAS" --init-groups \
			test -w "$RMQ_DIR/a" || {
			echo "rabbitmq.sh: $RMQ_RUNAS cannot reach $RMQ_DIR" >&2
			return 1
		}
	fi
	# Our own epmd on our port, so rmq_stop can end it.  It listens on
	# 127.0.0.1 and, hard-wired in epmd whatever -address says, on ::1.
	(rmq__env a; exec epmd -address 127.0.0.1 -port "$ERL_EPMD_PORT") \
		>"$RMQ_DIR/epmd.log" 2>&1 </dev/null &
	echo $! >"$RMQ_DIR/epmd.pid"
	rmq__watch
	rmq__run a
	rmq__run b
	rmq__wait a && rmq__wait b || { rmq_stop; return 1; }
	# b joins a (join_cluster resets b, which is empty anyway).
	{ rmq_ctl b stop_app && rmq_ctl b join_cluster a@localhost &&
		rmq_ctl b start_app; } >>"$RMQ_DIR/b/log/console.log" 2>&1 &&
		rmq__wait b || { rmq_stop; return 1; }
	for _ru in $RMQ_USERS; do
		rmq_user "$_ru" || { rmq_stop; return 1; }
	done
	export RMQ_DIR RMQ_TLS="$_rb" RMQ_ADDR_A=127.0.0.2 \
		RMQ_ADDR_B=127.0.0.3 RMQ_TCP_A=$((_rb + 2)) \
		RMQ_TCP_B=$((_rb + 3))
}

# A restarted node's MQTT plugin waits in mqtt_node:join_peers for the
# client-id Raft cluster (ra:members, 100 s timeout), which cannot elect
# a leader without this node's own member when only 2 nodes exist, so
# the restart took ~100 s.  Unless RMQ_RA_KICK=0, start that member
# early from outside (harmless if it already runs): ~7 s.
rmq_start_node() {
	rmq__run "$1"
	rmq__wait "$1" "$([ "${RMQ_RA_KICK:-1}" = 0 ] || echo kick)"
}

# rmq_stop_node NODE: SIGKILL to beam, its session (the wrapper) and its
# helpers (erl_child_setup, inet_gethost, ... in sessions of their own,
# found as descendants); returns once they are all gone.
rmq_stop_node() {
	_rf=$RMQ_DIR/$1/pgid
	[ -s "$_rf" ] || return 0
	_rg=$(cat "$_rf")
	_rk=$(ps -eo pid=,ppid=,sid= | awk -v s="$_rg" '
		{ pp[$1] = $2; if ($3 == s) k[$1] = 1 }
		END { do { n = 0; for (p in pp) if (!(p in k) && (pp[p] in k)) {
			k[p] = 1; n++ } } while (n); for (p in k) print p }')
	# (in braces: bash's "Killed" notices go to /dev/null too)
	{
		kill -KILL "$(cat "$RMQ_DIR/$1/beam.pid")" $_rk
		_ri=0
		while [ -n "$(ps -o stat= -p "$(echo $_rk | tr ' ' ,)" |
			grep -v '^Z')" ] && [ $_ri -lt 100 ]; do
			sleep 0.05; _ri=$((_ri + 1))
		done
		wait "$_rg"
	} 2>/dev/null
	: >"$_rf"
}

rmq_stop() {
	[ -n "$RMQ_DIR" ] && [ -d "$RMQ_DIR" ] || return 0
	rmq_stop_node a
	rmq_stop_node b
	for _rf in epmd.pid watch.pid; do
		[ -s "$RMQ_DIR/$_rf" ] || continue
		_rp=$(cat "$RMQ_DIR/$_rf")
		[ "$_rf" = watch.pid ] && [ -n "${RMQ_IN_WATCH:-}" ] && continue
		{ kill -KILL "$_rp"; wait "$_rp"; } 2>/dev/null
		: >"$RMQ_DIR/$_rf"
	done
	return 0
}

# rmq__watch: a background loop that runs rmq_stop once $RMQ_OWNER is
# gone or $RMQ_LIFETIME has passed.
rmq__watch() {
	(
		_rn=0
		while kill -0 "$RMQ_OWNER" 2>/dev/null && [ $_rn -lt "$RMQ_LIFETIME" ]
		do
			sleep 1; _rn=$((_rn + 1))
		done
		RMQ_IN_WATCH=1
		rmq_stop
	) >/dev/null 2>&1 </dev/null &
	echo $! >"$RMQ_DIR/watch.pid"
}
