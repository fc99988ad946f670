// SPDX-License-Identifier: MIT
//
// zwave-net.cjs: the Z-Wave network of the benchmarks, for
// tests/zwave-mock/mock.cjs: ZWGATE_BENCH_NODES devices (default 2) with
// ids from 2, taken in turn from the devices of the tests' network
// (switch, dimmer, motion sensor, multisensor, meter), so that OpenZWave
// and Z-Wave JS interview the same nodes the end-to-end test knows.
"use strict";

const path = require("node:path");

const NODES_MAX = 231; // ids 2..232

const tests = require(path.join(__dirname, "..", "tests", "zwave-mock",
	"network.cjs"));

function network() {
	const n = Number.parseInt(process.env.ZWGATE_BENCH_NODES ?? "2", 10);
	if (!Number.isInteger(n) || n < 1 || n > NODES_MAX)
		throw new Error(`ZWGATE_BENCH_NODES must be 1 to ${NODES_MAX}`);
	const kinds = ["switch", "dimmer", "motion", "multisensor", "meter"];
	const nodes = [];
	for (let i = 0; i < n; i++)
		nodes.push(tests.devices[kinds[i % kinds.length]](i + 2));
	return { controller: tests.default.controller, nodes };
}

module.exports = { devices: tests.devices, default: network };
