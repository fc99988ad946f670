# The Node.js packages of the tests and benchmarks (POSIX sh, sourced):
# the Z-Wave JS mock (tests/zwave-mock) and the Z-Wave JS server
# (bench/zwavejs), each installed by npm ci from its committed lock.
#
#   npm_missing          why node >= 20 and npm cannot run here, or
#                        nothing (status 1) when they can
#   npm_ci SRC DIR       npm ci of SRC's package.json and lock into DIR,
#                        once per lock (DIR/.installed holds the lock's
#                        cksum), one caller at a time (DIR/.lock); in
#                        a build in the source tree SRC and DIR are
#                        one.  Its log is DIR/npm.log.
#   npm_offline_why DIR  why npm ci cannot fetch into DIR here (no
#                        network), or nothing (status 1) when it can or
#                        DIR is installed already
#   npm_need_zwavejs SKIP
#                        node, the mock (MOCK_SRC, MOCK_DIR) and the
#                        Z-Wave JS server (ZJS_SRC, ZJS_DIR) installed;
#                        else SKIP (which exits) is called with why
#
# npm ci needs the npm registry: a package build has no network (Debian
# policy, ZWGATE_NO_NETWORK), so there a caller skips, loudly.

npm_missing() {
	command -v node >/dev/null 2>&1 ||
		{ echo "node is not installed (needs >= 20)"; return 0; }
	v=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
	[ "${v:-0}" -ge 20 ] 2>/dev/null ||
		{ echo "node $(node --version 2>/dev/null) is too old for zwave-js 15 (needs >= 20)"; return 0; }
	command -v npm >/dev/null 2>&1 || { echo "npm is not installed"; return 0; }
	return 1
}

npm__sum() { cat "$1/package.json" "$1/package-lock.json" | cksum; }

npm__installed() {
	[ -d "$2/node_modules" ] &&
		[ "$(cat "$2/.installed" 2>/dev/null)" = "$(npm__sum "$1")" ]
}

npm_offline_why() {
	npm__installed "$1" "$2" && return 1
	if [ -n "${ZWGATE_NO_NETWORK:-}" ]; then
		echo "npm ci needs the network, which this build has not (ZWGATE_NO_NETWORK=$ZWGATE_NO_NETWORK)"
		return 0
	fi
	getent hosts "$(npm config get registry 2>/dev/null |
		sed -e 's|^[a-z]*://||' -e 's|[:/].*||')" >/dev/null 2>&1 && return 1
	echo "npm ci needs the npm registry, whose name does not resolve here (no network?)"
}

npm_ci() {
	mkdir -p "$2" || return 1
	# Two tests of one make -j may install the same DIR: one at a time,
	# the second finds it done.
	(
		flock 9 || exit 1
		npm__installed "$1" "$2" && exit 0
		echo "# npm ci of ${1##*/} in $2"
		if [ "$(cd "$2" && pwd -P)" != "$(cd "$1" && pwd -P)" ]; then
			cp "$1/package.json" "$1/package-lock.json" "$2/" || exit 1
		fi
		(cd "$2" && npm ci --ignore-scripts --no-audit --no-fund \
			--prefer-offline --loglevel=error) >"$2/npm.log" 2>&1 ||
			{ tail -20 "$2/npm.log" >&2; exit 1; }
		npm__sum "$1" >"$2/.installed"
	) 9>"$2/.lock"
}

npm_need_zwavejs() {
	MOCK_SRC=$top_srcdir/tests/zwave-mock
	MOCK_DIR=${ZWGATE_MOCK_DIR:-$top_builddir/tests/zwave-mock}
	ZJS_SRC=$top_srcdir/bench/zwavejs
	ZJS_DIR=${ZWGATE_ZWAVEJS_DIR:-$top_builddir/bench/zwavejs}
	why=$(npm_missing) && "$1" "$why"
	for p in "$MOCK_SRC $MOCK_DIR" "$ZJS_SRC $ZJS_DIR"; do
		set -- "$1" $p
		why=$(npm_offline_why "$2" "$3") && "$1" "$why"
		npm_ci "$2" "$3" || { echo "npm ci of $2 failed"; exit 99; }
	done
}
