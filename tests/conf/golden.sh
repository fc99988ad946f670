#!/bin/sh
# Golden tests of zwgate.conf(5) diagnostics through "zwgated -n": every
# tests/conf/bad-*.conf must fail with status 1 and print exactly its
# .err on standard error; the example etc/zwgate.conf must pass.
# made-*.conf are the same, with files this script makes at test time
# (keys, symbolic links out of the tree).  This is the one place the
# cases run (test_conf does not repeat them).
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
# made-include-outside.conf meets files that are no config, made here and
# never committed: a private key and a line of a password file, in the
# config directory and, through a symbolic link, outside it; a link that
# stays inside the pattern's directory; one that stays in the tree but
# leaves that directory (read too: a relative pattern keeps to the tree);
# and ../escape.conf, out of the tree by "..".
# None of their bytes may appear in any diagnostic.
mkdir "$T/conf/inc/made" "$T/secret" || exit 99
openssl genpkey -algorithm ed25519 -out "$T/conf/inc/made/b-key.conf" 2>/dev/null ||
	printf -- '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIHnLwG3uNCzQzQ7xUQ2sD3Ad2gGbO6wpfVSbQ0MpMuSL\n-----END PRIVATE KEY-----\n' >"$T/conf/inc/made/b-key.conf"
secret_line='root:$y$j9T$Golden5alt5alt$SecretHashSecretHashSecretHash:19000:0:99999:7:::'
printf '%s\n' "$secret_line" >"$T/secret/shadow"
printf '%s\n' "$secret_line" >"$T/conf/inc/made/d-shadow.conf"
chmod 0600 "$T/conf/inc/made/b-key.conf" "$T/conf/inc/made/d-shadow.conf" \
	"$T/secret/shadow" || exit 99
mkdir "$T/conf/inc/made/sub" || exit 99
printf 'control { max-clients 8 }\n' >"$T/conf/inc/made/sub/inside.conf" || exit 99
chmod 0644 "$T/conf/inc/made/sub/inside.conf" || exit 99
ln -s sub/inside.conf "$T/conf/inc/made/a-inside.conf" || exit 99
ln -s ../once.conf "$T/conf/inc/made/e-tree.conf" || exit 99
ln -s "$T/secret/shadow" "$T/conf/inc/made/c-outside.conf" || exit 99
printf 'log-level debug\n' >"$T/escape.conf" && chmod 0644 "$T/escape.conf" || exit 99
# made-include-abs.conf, written here since it names $T: an absolute
# include with a wildcard stays in the directory before the wildcard, so
# links there to secrets outside are refused (one starts with a word
# close to a key, which would have it read as a config); an absolute
# path without a wildcard is followed where it points.  $T is shown as
# @T@ in the .err.
mkdir "$T/abs" "$T/abs/conf.d" "$T/elsewhere" || exit 99
printf 'log-levl %s\nSecretHash %s\n' "$secret_line" "$secret_line" \
	>"$T/secret/typo.conf" || exit 99
chmod 0600 "$T/secret/typo.conf" || exit 99
ln -s "$T/secret/shadow" "$T/abs/conf.d/a-shadow.conf" || exit 99
ln -s ../../secret/typo.conf "$T/abs/conf.d/b-typo.conf" || exit 99
printf 'log-level debug\n' >"$T/abs/conf.d/c-fine.conf" || exit 99
printf 'control { max-clients 8 }\n' >"$T/elsewhere/direct.conf" || exit 99
ln -s ../elsewhere/direct.conf "$T/abs/direct.conf" || exit 99
chmod 0644 "$T/abs/conf.d/c-fine.conf" "$T/elsewhere/direct.conf" || exit 99
cat >"$T/conf/made-include-abs.conf" <<EOF || exit 99
gateway-id "golden"
zwave { sim-network "inc/sim.json" }
include "$T/abs/conf.d/*.conf"
include "$T/abs/direct.conf"
EOF
chmod 0644 "$T/conf/made-include-abs.conf" || exit 99

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

cd "$T/conf" || exit 99
for conf in bad-*.conf made-*.conf; do
	name=${conf%.conf}
	if [ ! -f "$name.err" ]; then
		not_ok "$name: no $name.err"
		continue
	fi
	"$ZWGATED" -n -c "$conf" >/dev/null 2>"$T/out/$name.raw"
	status=$?
	sed "s|$T|@T@|g" "$T/out/$name.raw" >"$T/out/$name.err"
	if [ "$status" -ne 1 ]; then
		not_ok "$name: exit status $status, wanted 1"
	elif ! cmp -s "$name.err" "$T/out/$name.err"; then
		not_ok "$name: diagnostics differ"
		diff -u "$name.err" "$T/out/$name.err" | sed 's/^/# /'
	else
		ok "$name"
	fi
done
for err in bad-*.err made-*.err; do
	[ -f "${err%.err}.conf" ] || not_ok "$err has no ${err%.err}.conf"
done

# Not a byte of the key or the password line in any diagnostic: not
# even the start of the key's line (16 bytes, of which 5 are secret).
key_line=$(sed -n 2p "$T/conf/inc/made/b-key.conf" | cut -c1-16)
if grep -qF -e "$key_line" -e "PRIVATE" -e "Golden5alt" -e "SecretHash" "$T"/out/*.raw; then
	not_ok "a diagnostic quotes a key or a password line"
	grep -F -e "$key_line" -e "PRIVATE" -e "Golden5alt" -e "SecretHash" "$T"/out/*.raw | sed 's/^/# /'
else
	ok "no diagnostic quotes a key or a password line"
fi

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
