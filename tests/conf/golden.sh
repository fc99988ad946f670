#!/bin/sh
# Golden tests of zwgate.conf(5) diagnostics through "zwgated -n": every
# tests/conf/bad-*.conf must fail with status 1 and print exactly its
# .err on standard error; the example etc/zwgate.conf must pass.
#
# The files are checked on a copy with group and other write bits cleared:
# zwgated refuses such files, and a checkout made under umask 002 has them.
# A client key must be 0600 or stricter, which git cannot record either.
set -u
: "${top_srcdir:=.}"
: "${top_builddir:=.}"
ZWGATED=$top_builddir/zwgated
case $ZWGATED in /*) ;; *) ZWGATED=$(pwd)/$ZWGATED ;; esac

if [ ! -x "$ZWGATED" ]; then
	echo "not ok - $ZWGATED is not built"
	exit 99
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/zwgate-golden.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
trap 'exit 99' INT TERM
mkdir "$T/conf" "$T/etc" "$T/out" || exit 99
cp -R "$top_srcdir/tests/conf/." "$T/conf/" || exit 99
cp -R "$top_srcdir/etc/." "$T/etc/" || exit 99
chmod -R go-w "$T/conf" "$T/etc" || exit 99
# git keeps no modes: the stand-in client keys get theirs here, one good
# and one that bad-cloud-key-mode.conf must see refused.
chmod 0600 "$T/conf/cloud/client.keyfile" || exit 99
chmod 0644 "$T/conf/cloud/open.keyfile" || exit 99

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

cd "$T/conf" || exit 99
for conf in bad-*.conf; do
	name=${conf%.conf}
	if [ ! -f "$name.err" ]; then
		not_ok "$name: no $name.err"
		continue
	fi
	"$ZWGATED" -n -c "$conf" >/dev/null 2>"$T/out/$name.err"
	status=$?
	if [ "$status" -ne 1 ]; then
		not_ok "$name: exit status $status, wanted 1"
	elif ! cmp -s "$name.err" "$T/out/$name.err"; then
		not_ok "$name: diagnostics differ"
		diff -u "$name.err" "$T/out/$name.err" | sed 's/^/# /'
	else
		ok "$name"
	fi
done
for err in bad-*.err; do
	[ -f "${err%.err}.conf" ] || not_ok "$err has no ${err%.err}.conf"
done

"$ZWGATED" -n -c "$T/etc/zwgate.conf" >/dev/null 2>"$T/out/example.err"
status=$?
if [ "$status" -eq 0 ]; then
	ok "etc/zwgate.conf passes"
else
	not_ok "etc/zwgate.conf: exit status $status, wanted 0"
	sed 's/^/# /' "$T/out/example.err"
fi

echo "# $passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
[ "$passed" -gt 0 ] || exit 1
exit 0
