# Shared by tools/check, tools/demo, tools/package and tools/cross
# (sourced, bash): install what a fresh Debian 12 machine lacks,
# bootstrap, build a tree, and count and report results.

# Debian packages the build, the tests and the demo need.
ZWGATE_DEPS="build-essential autoconf automake libtool pkg-config
	libuv1-dev libjansson-dev libcmocka-dev libsystemd-dev
	libopenzwave1.6-dev libwebsockets-dev libmosquitto-dev mosquitto
	mosquitto-clients rabbitmq-server
	libnova-dev tzdata iproute2 openssl socat jq valgrind mandoc util-linux
	clang-format faketime debhelper dpkg-dev fakeroot lintian bash-completion
	clang libclang-rt-14-dev python3"

say() { printf '\n=== %s\n' "$*"; }

# install_deps [PACKAGE...]: install those of the packages (by default
# $ZWGATE_DEPS) that are missing.
install_deps() {
	local missing=() p
	for p in ${*:-$ZWGATE_DEPS}; do
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

# step NAME COMMAND...: one pass/fail, counted in passed/failed and
# named in failures[] (the caller's); returns the command's success.
step() {
	local name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
		echo "PASS: $name"
	else
		failed=$((failed + 1))
		failures+=("$name")
		echo "FAIL: $name"
		return 1
	fi
}

# count DIR (under $BUILD): add up the per-case results the tests
# under DIR printed (DIR/proof aside: the proof tests are counted once, when they run):
# cmocka's "[  PASSED  ] N test(s)" (and FAILED, SKIPPED), the scripts'
# "# N passed, M failed[, K skipped]".  Each skip goes to skips[] with
# its reason: a script's or a tu_skip()'s "# SKIP: why" line, or, for a
# cmocka test skipped without one, its name.
count() {
	local p f s line
	while read -r p f s; do
		passed=$((passed + p))
		failed=$((failed + f))
		skipped=$((skipped + s))
	done < <(find "$1" -path "$1/proof" -prune -o -name '*.log' \
		! -name '*.valgrind.log' -print0 |
		xargs -0 -r cat |
		awk '/^\[  PASSED  \] [0-9]+ test/ { print $4, 0, 0 }
		     /^\[  FAILED  \] [0-9]+ test/ { print 0, $4, 0 }
		     /^\[  SKIPPED \] [0-9]+ test/ { print 0, 0, $4 }
		     /^# [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/ {
			print $2, $4, $6 + 0 }')
	while IFS= read -r line; do
		skips+=("$line")
	done < <(find "$1" -path "$1/proof" -prune -o -name '*.log' \
		! -name '*.valgrind.log' -print | sort |
		while read -r l; do
			awk -v t="${l#"$BUILD"/}" '
			/^\[ RUN      \] / { run = $4; said = 0; next }
			/^# SKIP: / { sub(/^# SKIP: /, "")
				print t ": " (run != "" ? run ": " : "") $0
				said = 1; next }
			/^\[  SKIPPED \] [a-z]/ && run == $4 && !said {
				print t ": " run ": (no reason given)" }
			/^\[ *(OK|FAILED|SKIPPED) *\] / { run = "" }' "$l"
		done)
}

# copy_tree DEST: the files git knows in $SRC (tracked, or new and not
# ignored) copied to DEST, so no build tree, generated file or key of
# the checkout gets into a build made there.
copy_tree() {
	local dest=$1
	git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1 ||
		{ echo "$SRC is not a git checkout: run ${0##*/} from one"; return 1; }
	mkdir -p "$dest" &&
		(cd "$SRC" && git ls-files -z -c -o --exclude-standard |
			xargs -0 -r sh -c 'for f; do [ -e "$f" ] || [ -L "$f" ] &&
				printf "%s\0" "$f"; done' sh |
			tar --null -T - -cf -) | tar -xf - -C "$dest"
}

# lint CHANGES...: lintian over the .changes files; every tag at
# warning level or above fails.  None is overridden; an override in
# debian/zwgate.lintian-overrides must say why.
lint() {
	local changes=("$@")
	local out
	out=$(lintian --fail-on error,warning --display-info \
		"${changes[@]}" 2>&1)
	local rc=$?
	# As root (CI containers), lintian says so on every run.
	out=$(printf '%s\n' "$out" | grep -v 'running with root privileges')
	[ -z "$out" ] || echo "$out"
	[ $rc -eq 0 ] || return 1
	! printf '%s\n' "$out" | grep -q '^[EW]: '
}
