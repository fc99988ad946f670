# Shared by tools/check and tools/demo (sourced, bash): install what a
# fresh Debian 12 machine lacks, bootstrap, and build a tree.

# Debian packages the build, the tests and the demo need.
ZWGATE_DEPS="build-essential autoconf automake libtool pkg-config
	libuv1-dev libjansson-dev libcmocka-dev libsystemd-dev
	libopenzwave1.6-dev libmosquitto-dev mosquitto mosquitto-clients
	libnova-dev tzdata iproute2 openssl socat jq valgrind mandoc util-linux
	clang-format faketime debhelper dpkg-dev fakeroot lintian bash-completion
	clang libclang-rt-14-dev python3"

say() { printf '\n=== %s\n' "$*"; }

install_deps() {
	local missing=() p
	for p in $ZWGATE_DEPS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
			--no-install-recommends "${missing[@]}" >/dev/null
}

bootstrap() {
	if [ ! -x "$SRC/configure" ] || [ "$SRC/configure.ac" -nt "$SRC/configure" ] ||
		[ "$SRC/Makefile.am" -nt "$SRC/Makefile.in" ]; then
		say "autoreconf"
		(cd "$SRC" && autoreconf -fi) || return 1
	fi
}

# build DIR [configure options]: configure (once) and make in DIR.
build() {
	local dir=$1
	shift
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ] || [ "$SRC/configure" -nt "$dir/Makefile" ]; then
		(cd "$dir" && "$SRC/configure" --enable-werror "$@" >configure.out) ||
			{ cat "$dir/configure.out" "$dir/config.log" | tail -40; return 1; }
	fi
	make -C "$dir" -j"$(nproc)" >"$dir/make.out" 2>&1 ||
		{ tail -60 "$dir/make.out"; return 1; }
}
