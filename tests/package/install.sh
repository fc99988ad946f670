#!/bin/sh
# install.sh DEB: install the zwgate package, check its files, owners,
# modes, user and shipped configuration, then remove and purge it and
# check that purge leaves nothing under /var/lib/zwgate or /etc/zwgate.
# Run by tools/package as root; works without systemd as PID 1.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib.sh"

DEB=${1:-}
[ -n "$DEB" ] && [ -f "$DEB" ] || { echo "usage: $0 PACKAGE.deb" >&2; exit 2; }
case $DEB in /*) ;; *) DEB=$(pwd)/$DEB ;; esac
if [ "$(id -u)" -ne 0 ]; then
	skip_all "not root: installing a package needs root"
fi
for p in dpkg apt-get setpriv; do
	command -v $p >/dev/null 2>&1 ||
		skip_all "no $p on this machine"
done
# Purge deletes the gateway's data: never do it to a real installation.
if dpkg-query -W -f='${Status}' zwgate 2>/dev/null | grep -q installed ||
	[ -e /etc/zwgate ] || [ -e /var/lib/zwgate ]; then
	skip_all "zwgate is installed here (or left /etc/zwgate or" \
		"/var/lib/zwgate); this test would purge it"
fi
purge_on_exit() {
	dpkg-query -W zwgate >/dev/null 2>&1 && dpkg --purge zwgate >/dev/null 2>&1
	cleanup
}
trap purge_on_exit EXIT

# mode_owner PATH MODE OWNER:GROUP
mode_owner() {
	got=$(stat -c '%a %U:%G' "$1" 2>&1)
	[ "$got" = "$2 $3" ] || { echo "  $1: got $got, wanted $2 $3" >&2; return 1; }
}
absent() { [ ! -e "$1" ] || { echo "  $1 is still there:" >&2; ls -laR "$1" >&2; return 1; }; }
is_conffile() { dpkg-query -W -f='${Conffiles}\n' zwgate | grep -q "^ $1 "; }

DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	"$DEB" >"$T/apt.out" 2>&1
rc=$?
[ $rc -eq 0 ] || tail -30 "$T/apt.out"
check "apt-get install the .deb" [ $rc -eq 0 ]
check "dpkg says installed" contains \
	"$(dpkg-query -W -f='${Status}' zwgate 2>&1)" "install ok installed"

check "zwgated in /usr/sbin, 0755 root" mode_owner /usr/sbin/zwgated 755 root:root
check "zwgatectl in /usr/bin, 0755 root" mode_owner /usr/bin/zwgatectl 755 root:root
unit=
for d in /lib/systemd/system /usr/lib/systemd/system; do
	[ -f "$d/zwgated.service" ] && unit=$d/zwgated.service
done
check "unit installed" [ -n "$unit" ]
check "unit runs /usr/sbin/zwgated" grep -qx 'ExecStart=/usr/sbin/zwgated' "${unit:-/dev/null}"
check "unit enabled (multi-user.target.wants)" \
	[ -L /etc/systemd/system/multi-user.target.wants/zwgated.service ]
check "sysusers.d file" mode_owner /usr/lib/sysusers.d/zwgate.conf 644 root:root
for m in man8/zwgated.8 man1/zwgatectl.1 man5/zwgate.conf.5 \
	man5/zwgate.rules.5 man7/zwgate-trust.7; do
	check "man page $m" [ -f /usr/share/man/$m.gz ]
done
check "bash completion" [ -s /usr/share/bash-completion/completions/zwgatectl ]
check "completion loads in bash" bash -c \
	'. /usr/share/bash-completion/completions/zwgatectl && complete -p zwgatectl >/dev/null'
check "trust directory with its README" [ -s /usr/share/zwgate/trust/README ]
if [ -n "${ZWGATE_FACTORY_BUNDLE:-}" ]; then
	check "factory bundle built in" \
		cmp "$ZWGATE_FACTORY_BUNDLE" /usr/share/zwgate/trust/factory.bundle
fi
check "example config in the docs" [ -s /usr/share/doc/zwgate/examples/zwgate.conf ]

check "zwgate.conf 0644 root" mode_owner /etc/zwgate/zwgate.conf 644 root:root
check "zwgate.conf is a conffile" is_conffile /etc/zwgate/zwgate.conf
check "example.rules is a conffile" is_conffile /etc/zwgate/rules.d/example.rules
check "shipped config has no cloud block" \
	sh -c '! grep -q "^cloud" /etc/zwgate/zwgate.conf'
check "secrets directory 0700 zwgate" mode_owner /etc/zwgate/secrets 700 zwgate:zwgate

pw=$(getent passwd zwgate)
check "user zwgate exists" contains "$pw" ":/var/lib/zwgate:/usr/sbin/nologin"
check "group zwgate exists" sh -c "getent group zwgate >/dev/null"
check "zwgate is in dialout" contains "$(id -nG zwgate 2>&1)" dialout
check "zwgate is a system user" [ "$(id -u zwgate)" -lt 1000 ]

out=$(setpriv --reuid=zwgate --regid=zwgate --init-groups \
	/usr/sbin/zwgated -n -c /etc/zwgate/zwgate.conf 2>&1)
rc=$?
[ $rc -eq 0 ] || echo "$out"
check "zwgated -n on the shipped config, as zwgate" [ $rc -eq 0 ]
check "zwgatectl --version" sh -c "/usr/bin/zwgatectl --version >/dev/null"

# What the daemon and its owner would have put there by now.
install -d -m 0700 -o zwgate -g zwgate /var/lib/zwgate
install -d -m 0700 -o zwgate -g zwgate /var/lib/zwgate/ozw /var/lib/zwgate/trust
echo '{"1":"porch"}' >/var/lib/zwgate/names.json
echo cache >/var/lib/zwgate/ozw/zwcfg.xml
echo slot >/var/lib/zwgate/trust/a.bundle
chown -R zwgate:zwgate /var/lib/zwgate
(umask 077 && head -c 16 /dev/urandom >/etc/zwgate/secrets/network.key)
chown zwgate:zwgate /etc/zwgate/secrets/network.key
echo cert >/etc/zwgate/client.pem
echo 'every 1h do refresh "x"' >/etc/zwgate/rules.d/mine.rules
echo '# edited' >>/etc/zwgate/zwgate.conf

dpkg --remove zwgate >"$T/remove.out" 2>&1
rc=$?
[ $rc -eq 0 ] || cat "$T/remove.out"
check "dpkg --remove" [ $rc -eq 0 ]
check "remove keeps the config" [ -f /etc/zwgate/zwgate.conf ]
check "remove keeps the state" [ -f /var/lib/zwgate/names.json ]
check "remove takes the daemon" absent /usr/sbin/zwgated

dpkg --purge zwgate >"$T/purge.out" 2>&1
rc=$?
[ $rc -eq 0 ] || cat "$T/purge.out"
check "dpkg --purge" [ $rc -eq 0 ]
check "purge: nothing under /var/lib/zwgate" absent /var/lib/zwgate
check "purge: nothing under /etc/zwgate" absent /etc/zwgate
check "purge: unit no longer enabled" \
	absent /etc/systemd/system/multi-user.target.wants/zwgated.service
check "purge: package gone" sh -c '! dpkg-query -W zwgate >/dev/null 2>&1'
# Debian leaves system users in place (their ids may own files elsewhere).
check "purge: user zwgate kept" sh -c "getent passwd zwgate >/dev/null"
finish
