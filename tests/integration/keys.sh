#!/bin/sh
# zwgatectl keys generate FILE: the Z-Wave JS server's network keys.  Six
# keys of 16 random bytes, all different, in zwave-js's option names;
# mode 0600 whatever the umask; never printed; never replaced; and every
# bad command line or place refused with the reason.
. "$top_srcdir/tests/lib.sh"
command -v jq >/dev/null || skip_all "no jq"

K=$T/zwavejs-keys.json
(umask 000 && "$ZWGATECTL" keys generate "$K") >"$T/gen.out" 2>"$T/gen.err"
check "generate: exit 0" [ $? -eq 0 ]
check "it says what it wrote" contains "$(cat "$T/gen.out")" \
	"$K: 6 network keys (S0, S2, Long Range), mode 0600"
check "mode 0600 under umask 000" [ "$(stat -c %a "$K")" = 600 ]
check "JSON in zwave-js's option names" [ "$(jq -c 'map_values(keys)' "$K")" = \
	'{"securityKeys":["S0_Legacy","S2_AccessControl","S2_Authenticated","S2_Unauthenticated"],"securityKeysLongRange":["S2_AccessControl","S2_Authenticated"]}' ]
jq -r '.[][]' "$K" >"$T/all"
check "six keys of 32 hex digits" [ "$(grep -cxE '[0-9a-f]{32}' "$T/all")" = 6 ]
check "all different" [ "$(sort -u "$T/all" | wc -l)" = 6 ]
check "no key printed" sh -c "! grep -qiF -f '$T/all' '$T/gen.out' '$T/gen.err'"
check "nothing else left in the directory" \
	[ "$(ls -A "$T" | grep -c '^\.keys\.')" = 0 ]

# File-system faults from the preloaded tests/fsfault.so.
FSFAULT=$top_builddir/tests/fsfault.so
[ -r "$FSFAULT" ] || { echo "no $FSFAULT: make check builds it"; exit 99; }
# faulty CMD...: exec CMD with it (in a subshell or in the background).
faulty() {
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		LD_PRELOAD="$FSFAULT" exec "$@"
}

# Killed while it syncs the file (an SD card may take seconds; fsync
# takes 60 s here): no part of the keys is left.
ZWGATE_TEST_FSYNC_S=60 faulty \
	"$ZWGATECTL" keys generate "$T/killed-keys.json" >/dev/null 2>&1 &
kpid=$!
check "a keys file being synced" wait_for 20 sh -c "ls -A '$T' | grep -q '^\.keys\.'"
kill -TERM $kpid
wait $kpid
check "killed meanwhile, zwgatectl dies of the signal" [ $? -eq 143 ]
check "... leaving no part of the keys" [ "$(ls -A "$T" | grep -c '^\.keys\.')" = 0 ]
check "... and no FILE" [ ! -e "$T/killed-keys.json" ]

# A FAT file system (a Pi's boot partition) refuses chmod: refused
# before any key is written, saying why.
(ZWGATE_TEST_FCHMOD_ERRNO=1 faulty \
	"$ZWGATECTL" keys generate "$T/fat-keys.json") >/dev/null 2>"$T/fat.err"
check "a file system without modes is refused (exit 1)" [ $? -eq 1 ]
check "... saying why" contains "$(cat "$T/fat.err")" \
	"keys: $T/fat-keys.json: its file system keeps no file modes (FAT?), so mode 0600 cannot keep the keys from other users"
check "... leaving nothing" sh -c "[ ! -e '$T/fat-keys.json' ] && ! ls -A '$T' | grep -q '^\.keys\.'"

"$ZWGATECTL" keys generate "$T/other-keys.json" >/dev/null
check "another network gets other keys" \
	sh -c "! jq -r '.[][]' '$T/other-keys.json' | grep -qxF -f '$T/all'"

cp "$K" "$T/before"
"$ZWGATECTL" keys generate "$K" >"$T/again.out" 2>"$T/again.err"
check "an existing FILE is refused (exit 1)" [ $? -eq 1 ]
check "... with the reason" contains "$(cat "$T/again.err")" \
	"$K exists: a network's keys are never replaced"
check "... and kept as it was" cmp -s "$K" "$T/before"

ln -s "$T/nowhere" "$T/link-keys.json"
"$ZWGATECTL" keys generate "$T/link-keys.json" >/dev/null 2>"$T/link.err"
check "a dangling symbolic link is refused (exit 1)" [ $? -eq 1 ]
check "... and not followed" [ ! -e "$T/nowhere" ]

"$ZWGATECTL" keys generate "$T/no/such/keys.json" >/dev/null 2>"$T/nodir.err"
check "a missing directory is refused (exit 1)" [ $? -eq 1 ]
check "... with the reason" contains "$(cat "$T/nodir.err")" \
	"keys: $T/no/such: cannot write there: No such file or directory"

for args in "keys" "keys generate" "keys generate a b" "keys make $T/x" \
	"keys generate ''"; do
	eval "\"\$ZWGATECTL\" $args" >/dev/null 2>"$T/usage.err"
	check "'$args': a usage error (exit 2)" [ $? -eq 2 ]
	check "... that says how to call it" contains "$(cat "$T/usage.err")" \
		"usage: zwgatectl keys generate FILE"
done
check "help keys" contains "$("$ZWGATECTL" help keys)" "FILE must not exist"
check "in the command summary" contains "$("$ZWGATECTL" help)" \
	"keys generate FILE"

# As another user, a directory it cannot write to: refused, no file.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	mkdir "$T/root-only"
	chmod 755 "$T/root-only"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$ZWGATECTL" keys generate "$T/root-only/keys.json" >/dev/null 2>"$T/perm.err"
	check "a directory it cannot write to is refused (exit 1)" [ $? -eq 1 ]
	check "... with the reason" contains "$(cat "$T/perm.err")" "Permission denied"
else
	skip "unwritable directory" "needs root to run as nobody"
fi
finish
