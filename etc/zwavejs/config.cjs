// SPDX-License-Identifier: MIT
//
// The Z-Wave JS server's configuration for zwgate (zwave-server --config):
// the zwave-js driver options, with the network keys read from the file
// `zwgatectl keys generate` made.  Installed as
// /etc/zwgate/zwavejs/config.cjs and run by zwgate-zwavejs.service.
//
// Where things are, from the environment:
//   the keys:   $CREDENTIALS_DIRECTORY/zwavejs-keys (the unit's
//               LoadCredential=), else $ZWGATE_ZWAVEJS_KEYS, else
//               /etc/zwgate/zwavejs-keys.json
//   its cache:  $ZWGATE_ZWAVEJS_CACHE, else $STATE_DIRECTORY (the unit's
//               StateDirectory=), else /var/lib/zwgate-zwavejs
//   log level:  $ZWGATE_ZWAVEJS_LOG_LEVEL (error, warn, info, verbose,
//               debug, silly; default info), to standard output
//
// A keys file that others may read, or that lacks a key, stops the server
// here with the reason; no key is ever printed.
"use strict";

const fs = require("fs");
const path = require("path");

const env = process.env;
const keysFile = env.CREDENTIALS_DIRECTORY
	? path.join(env.CREDENTIALS_DIRECTORY, "zwavejs-keys")
	: env.ZWGATE_ZWAVEJS_KEYS || "/etc/zwgate/zwavejs-keys.json";
const cacheDir = env.ZWGATE_ZWAVEJS_CACHE || env.STATE_DIRECTORY ||
	"/var/lib/zwgate-zwavejs";
const wanted = {
	securityKeys: ["S0_Legacy", "S2_Unauthenticated", "S2_Authenticated",
		"S2_AccessControl"],
	securityKeysLongRange: ["S2_Authenticated", "S2_AccessControl"],
};

function fail(why) {
	// Thrown from require(): the server prints it and exits 1.
	throw new Error(`zwgate: network keys ${keysFile}: ${why}`);
}

function readKeys() {
	let st, text, keys;
	try {
		st = fs.statSync(keysFile);
		text = fs.readFileSync(keysFile, "utf8");
	} catch (e) {
		fail(`${e.code === "ENOENT" ? "no such file" : e.message}` +
			" (make it once with: zwgatectl keys generate FILE)");
	}
	if (st.mode & 0o077)
		fail(`mode 0${(st.mode & 0o777).toString(8)}, others may read ` +
			"it: chmod 600 it");
	try {
		keys = JSON.parse(text);
	} catch (e) {
		fail("not JSON (zwgatectl keys generate makes it)");
	}
	for (const [group, names] of Object.entries(wanted)) {
		for (const name of names) {
			const k = keys && keys[group] && keys[group][name];
			if (typeof k !== "string" || !/^[0-9a-fA-F]{32}$/.test(k))
				fail(`${group}.${name} is missing or not 32 ` +
					"hexadecimal digits");
		}
	}
	return keys;
}

const keys = readKeys();

module.exports = {
	securityKeys: keys.securityKeys,
	securityKeysLongRange: keys.securityKeysLongRange,
	storage: { cacheDir },
	logConfig: {
		enabled: true,
		level: env.ZWGATE_ZWAVEJS_LOG_LEVEL || "info",
		logToFile: false,
	},
};
