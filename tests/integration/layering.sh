#!/bin/sh
# tools/layering can fail: a small synthetic tree with every layer
# (src/<layer>/ and the objects its sources compile to) passes it, and
# each violation planted in a fresh copy of that tree, one at a time,
# makes it exit 1 with the line that names it.  The real tree is not
# looked at here (tools/check and "make check-layering" do that).
. "$top_srcdir/tests/lib.sh"
LAYERING="$top_srcdir/tools/layering"
CC=${CC:-cc}
command -v "$CC" >/dev/null || { echo "SKIP: no C compiler ($CC)"; exit 77; }
command -v nm >/dev/null || { echo "SKIP: no nm"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }

CLEAN=$T/clean

# put FILE: write stdin to $1, making its folder.
put() { mkdir -p "$(dirname "$1")" && cat >"$1"; }

# compile TREE: every src/<layer>/*.c of TREE to TREE/_build/src/<layer>/*.o,
# with each layer folder on the quote path as the real build has them.
compile() {
	for c in "$1"/src/*/*.c; do
		l=$(basename "$(dirname "$c")")
		o="$1/_build/src/$l/$(basename "$c" .c).o"
		mkdir -p "$(dirname "$o")"
		"$CC" -c -o "$o" -I"$1/include" \
			-iquote "$1/src/core" -iquote "$1/src/sys" \
			-iquote "$1/src/zw" -iquote "$1/src/cloud" \
			-iquote "$1/src/daemon" -iquote "$1/src/ctl" "$c" || return 1
	done
}

put "$CLEAN/include/zwgate/control.h" <<'EOF'
#define ZWGATE_CONTROL 1
EOF
put "$CLEAN/src/core/value.h" <<'EOF'
int value_get(void);
EOF
put "$CLEAN/src/core/value.c" <<'EOF'
#include "value.h"
#include <stdio.h>
int value_get(void) { return 1; }
EOF
put "$CLEAN/src/sys/log.h" <<'EOF'
void log_msg(int v);
EOF
put "$CLEAN/src/sys/log.c" <<'EOF'
#include "log.h"
#include "value.h"
void log_msg(int v) { (void)v; }
EOF
put "$CLEAN/src/zw/zw.h" <<'EOF'
int zw_open(void);
EOF
put "$CLEAN/src/zw/zw.c" <<'EOF'
#include "zw.h"
#include "log.h"
#include "value.h"
int zw_open(void) { log_msg(value_get()); return 0; }
EOF
put "$CLEAN/src/cloud/mqtt.h" <<'EOF'
int mqtt_connect(void);
EOF
put "$CLEAN/src/cloud/mqtt.c" <<'EOF'
#include "mqtt.h"
#include "log.h"
int mqtt_connect(void) { log_msg(2); return 0; }
EOF
put "$CLEAN/src/daemon/daemon.c" <<'EOF'
#include "zwgate/control.h"
#include "mqtt.h"
#include "zw.h"
int daemon_run(void) { return zw_open() + mqtt_connect(); }
EOF
put "$CLEAN/src/ctl/ctl.c" <<'EOF'
#include "zwgate/control.h"
#include "value.h"
int ctl_main(void) { return value_get(); }
EOF
# A file of 800 lines is still allowed.
i=0
while [ $i -lt 800 ]; do echo "/* $i */"; i=$((i + 1)); done \
	>"$CLEAN/src/daemon/long.h"
compile "$CLEAN" || { echo "cannot compile the synthetic tree"; exit 99; }

# A core unit test that links only the core.
mkdir -p "$CLEAN/_build/tests/core"
echo 'int value_get(void); int main(void) { return value_get() - 1; }' \
	>"$T/test_value.c"
"$CC" -o "$CLEAN/_build/tests/core/test_value" "$T/test_value.c" \
	"$CLEAN/_build/src/core/value.o" || exit 99

# run TREE: tools/layering over TREE; its output in $T/out, status in RC.
run() {
	"$LAYERING" "$1" "$1/_build" >"$T/out" 2>&1
	RC=$?
}

# fails_with WANT: the last run exited 1 and printed the line WANT.
fails_with() {
	[ "$RC" -eq 1 ] || { echo "  exit status $RC, wanted 1" >&2; return 1; }
	grep -qxF -- "$1" "$T/out" && return 0
	echo "  wanted the line: $1" >&2
	sed 's/^/  got: /' "$T/out" >&2
	return 1
}

# only_one: the last run found one violation (one "not ok" rule).
only_one() {
	n=$(grep -c '^not ok' "$T/out")
	[ "$n" -eq 1 ] || { echo "  $n rules failed, wanted 1" >&2; return 1; }
}

# fresh NAME: a new copy of the clean tree, in $CASE.
fresh() {
	CASE=$T/$1
	cp -R "$CLEAN" "$CASE"
}

run "$CLEAN"
check "the clean tree passes (exit 0)" [ "$RC" -eq 0 ]
check "the clean tree: every rule ok, 4 passed" \
	grep -qx '# 4 passed, 0 failed' "$T/out"

fresh core-includes-mqtt
sed -i '1a #include "mqtt.h"' "$CASE/src/core/value.c"
run "$CASE"
check "core including a cloud header fails" fails_with \
	'src/core/value.c:2: includes "mqtt.h" of layer cloud (core may use core only)'
check "core including a cloud header: only the include rule fails" only_one

fresh core-includes-uv
sed -i '1a #include <uv.h>' "$CASE/src/core/value.c"
run "$CASE"
check "core including <uv.h> fails" fails_with \
	'src/core/value.c:2: includes <uv.h> (core uses no libuv, libmosquitto or systemd)'

fresh core-includes-journal
sed -i '1a #include <systemd/sd-journal.h>' "$CASE/src/core/value.c"
run "$CASE"
check "core including <systemd/sd-journal.h> fails" fails_with \
	'src/core/value.c:2: includes <systemd/sd-journal.h> (core uses no libuv, libmosquitto or systemd)'

fresh core-calls-uv
put "$CASE/src/core/clock.c" <<'EOF'
unsigned long uv_now(const void *loop);
unsigned long clock_now(void) { return uv_now(0); }
EOF
compile "$CASE" || exit 99
run "$CASE"
check "a core object calling uv_now fails" fails_with \
	'src/core/clock.o: uses uv_now (core objects call no uv_, mosquitto_, sd_ or log_ symbol)'
check "a core object calling uv_now: only the object rule fails" only_one

fresh core-calls-log
put "$CASE/src/core/clock.c" <<'EOF'
void log_msg(int v);
void clock_tick(void) { log_msg(3); }
EOF
compile "$CASE" || exit 99
run "$CASE"
check "a core object calling the log fails" fails_with \
	'src/core/clock.o: uses log_msg (core objects call no uv_, mosquitto_, sd_ or log_ symbol)'

fresh core-calls-zw
put "$CASE/src/core/clock.c" <<'EOF'
int zw_open(void);
int clock_open(void) { return zw_open(); }
EOF
compile "$CASE" || exit 99
run "$CASE"
check "a core object calling into zw fails" fails_with \
	'src/core/clock.o: uses zw_open, defined in src/zw/zw.o (layer zw; core may use core only)'

fresh cloud-calls-zw
put "$CASE/src/cloud/link.c" <<'EOF'
int zw_open(void);
int link_open(void) { return zw_open(); }
EOF
compile "$CASE" || exit 99
run "$CASE"
check "a cloud object calling into zw fails" fails_with \
	'src/cloud/link.o: uses zw_open, defined in src/zw/zw.o (layer zw; cloud may use core, sys)'

fresh long-file
echo '/* one more */' >>"$CASE/src/daemon/long.h"
run "$CASE"
check "a file of 801 lines fails" fails_with \
	'src/daemon/long.h: 801 lines (at most 800)'
check "a file of 801 lines: only the size rule fails" only_one

fresh zw-includes-cloud
sed -i '1a #include "mqtt.h"' "$CASE/src/zw/zw.c"
run "$CASE"
check "zw including a cloud header fails" fails_with \
	'src/zw/zw.c:2: includes "mqtt.h" of layer cloud (zw may use core, sys)'

fresh sys-includes-zw
sed -i '1a #include "zw.h"' "$CASE/src/sys/log.h"
run "$CASE"
check "sys including a zw header fails" fails_with \
	'src/sys/log.h:2: includes "zw.h" of layer zw (sys may use core)'

fresh ctl-includes-sys
sed -i '1a #include "log.h"' "$CASE/src/ctl/ctl.c"
run "$CASE"
check "ctl including a sys header fails" fails_with \
	'src/ctl/ctl.c:2: includes "log.h" of layer sys (ctl may use core)'

fresh core-test-links-uv
put "$T/test_clock.c" <<'EOF'
unsigned long uv_now(const void *loop);
unsigned long uv_now(const void *loop) { (void)loop; return 0; }
int main(void) { return (int)uv_now(0); }
EOF
"$CC" -o "$CASE/_build/tests/core/test_clock" "$T/test_clock.c" || exit 99
run "$CASE"
check "a core unit test linking uv_now fails" fails_with \
	'tests/core/test_clock: links uv_now (core tests link no uv_, mosquitto_ or sd_ symbol)'

fresh no-objects
rm -rf "$CASE/_build/src/core"
run "$CASE"
check "a build without core objects fails" fails_with \
	"$CASE/_build/src/core: no object files (build first)"

"$LAYERING" >"$T/usage.out" 2>&1
check "no arguments: a usage error (exit 2)" [ $? -eq 2 ]

finish
