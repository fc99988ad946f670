#!/bin/sh
# Golden tests of zwgate.rules(5) diagnostics through "zwgated -n": each
# tests/rules/bad-*.rules, included from a minimal zwgate.conf, must fail
# with status 1 and print exactly its .err; each good-*.rules must pass.
set -u
: "${top_srcdir:=.}"
: "${top_builddir:=.}"
ZWGATED=$top_builddir/zwgated
case $ZWGATED in /*) ;; *) ZWGATED=$(pwd)/$ZWGATED ;; esac

if [ ! -x "$ZWGATED" ]; then
	echo "not ok - $ZWGATED is not built"
	exit 99
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/zwgate-rules.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
trap 'exit 99' INT TERM
mkdir "$T/rules" "$T/out" || exit 99
cp "$top_srcdir"/tests/rules/*.rules "$top_srcdir"/tests/rules/*.err \
	"$top_srcdir/etc/sim-network.json" "$T/rules/" || exit 99
# The example of the issue and of zwgate.rules(5) must stay valid.
cp "$top_srcdir/etc/rules.d/example.rules" "$T/rules/good-example.rules" ||
	exit 99

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

cd "$T/rules" || exit 99
for rules in bad-*.rules good-*.rules; do
	name=${rules%.rules}
	printf 'gateway-id golden\nzwave { sim-network "sim-network.json" }\ninclude "%s"\n' \
		"$rules" >"$name.conf"
done
chmod -R go-w . || exit 99

for rules in bad-*.rules; do
	name=${rules%.rules}
	if [ ! -f "$name.err" ]; then
		not_ok "$name: no $name.err"
		continue
	fi
	"$ZWGATED" -n -c "$name.conf" >/dev/null 2>"$T/out/$name.err"
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
	[ -f "${err%.err}.rules" ] || not_ok "$err has no ${err%.err}.rules"
done
for rules in good-*.rules; do
	name=${rules%.rules}
	if "$ZWGATED" -n -c "$name.conf" >/dev/null 2>"$T/out/$name.err"; then
		ok "$name passes"
	else
		not_ok "$name: rejected"
		sed 's/^/# /' "$T/out/$name.err"
	fi
done

echo "# $passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
[ "$passed" -gt 0 ] || exit 1
exit 0
