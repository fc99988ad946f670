// SPDX-License-Identifier: MIT
//
// network.cjs: the Z-Wave network tests/integration/ozw.sh runs against.
//
// Node 2 binary switch, 3 dimmer, 4 motion sensor, 5 temperature and
// humidity sensor, 6 electricity meter.  Choices that keep OpenZWave's
// interview short (measured: every unanswered request costs its full
// RetryTimeout):
// - manufacturer id 0x7fff, which no OpenZWave device file names, so no
//   file adds Association or Configuration queries;
// - Manufacturer Specific version 1;
// - Version (v1): without it OpenZWave takes every CC for version 1 and
//   sees only the first sensor of a multilevel sensor;
// - the controller answers SERIAL_API_SET_TIMEOUTS and the routing
//   requests of a heal, which the mock does not know (mock.cjs answers
//   Switch All Get on the nodes' side).
"use strict";

const {
	Message,
	MessageType,
	FunctionType,
} = require("@zwave-js/serial");

const {
	GetRoutingInfoRequest,
	GetSerialApiInitDataRequest,
	GetSerialApiInitDataResponse,
} = require("@zwave-js/serial/serialapi");
const {
	encodeBitMask,
	NodeIDType,
	NodeType,
	NUM_NODEMASK_BYTES,
	NUM_LR_NODES_PER_SEGMENT,
} = require("@zwave-js/core");
const { getDefaultSupportedFunctionTypes } = require("@zwave-js/testing");
const { upgradable } = require("./firmware.cjs");

const MANUFACTURER = 0x7fff;

/*
 * A lifeline health check asks the controller for a node's neighbours
 * (GetRoutingInfo), which the mock does not know: every node of this
 * network hears every other.  (The mock's GetRoutingInfoResponse has no
 * encoder: the answer is the node mask's bytes.)
 */
const answerRoutingInfo = {
	async onHostMessage(controller, msg) {
		if (!(msg instanceof GetRoutingInfoRequest)) return undefined;
		const nodeIds = [controller.ownNodeId, ...controller.nodes.keys()]
			.filter((id) => id !== msg.sourceNodeId);
		await answer(controller, MessageType.Response,
			FunctionType.GetRoutingInfo,
			encodeBitMask(nodeIds, NUM_NODEMASK_BYTES * 8));
		return true;
	},
};

/* OpenZWave sets the controller's timeouts; the mock has no handler. */
const answerSetTimeouts = {
	async onHostMessage(controller, msg) {
		if (msg.functionType !== FunctionType.SetSerialApiTimeouts)
			return undefined;
		const res = new Message({
			type: MessageType.Response,
			functionType: FunctionType.SetSerialApiTimeouts,
			payload: Uint8Array.from([0x0f, 0x0a]),
		});
		await controller.sendMessageToHost(res);
		return true;
	},
};

function answer(controller, type, functionType, bytes) {
	return controller.sendMessageToHost(
		new Message({ type, functionType, payload: Uint8Array.from(bytes) }),
	);
}

/*
 * A heal: RequestNodeNeighborUpdate (0x48) calls back "started" and
 * "done"; AssignReturnRoute (0x46), DeleteReturnRoute (0x47) and their
 * SUC forms (0x51, 0x55) answer "accepted" and call back "delivered".
 * The mock cannot even parse some of these, so they are taken as bytes
 * (one whole frame: SOF, length, type, function, payload, checksum), and
 * answered after this returns: the host's ACKs of the answers come
 * through the same reader.
 */
async function answerHealFrame(controller, f, cb) {
	if (f === 0x48) {
		await answer(controller, MessageType.Request, f, [cb, 0x21]);
		await answer(controller, MessageType.Request, f, [cb, 0x22]);
		return;
	}
	await answer(controller, MessageType.Response, f, [0x01]);
	await answer(controller, MessageType.Request, f, [cb, 0x00]);
}

const answerHeal = {
	onHostData(controller, data) {
		const f = data.length >= 6 && data[0] === 0x01 && data[2] === 0x00
			? data[3]
			: -1;
		const cb = data[data.length - 2];
		if (f !== 0x46 && f !== 0x47 && f !== 0x48 && f !== 0x51 && f !== 0x55)
			return undefined;
		controller.ackHostMessage();
		answerHealFrame(controller, f, cb).catch((e) => {
			process.stderr.write(`mock: heal answer: ${e}\n`);
		});
		return true;
	},
};

/*
 * Z-Wave Long Range, with ZWGATE_MOCK_LR=1: the mock has none ("LR is not
 * supported in mocks"), so this controller says it has (its Serial API
 * Setup offers SetNodeIDType; SerialAPIStarted says supportsLongRange),
 * lists its Long Range nodes (GetLongRangeNodes, 0xda: ids from 256)
 * apart from the mesh's, and speaks 16-bit node ids once zwave-js asks
 * for them (SetNodeIDType).  The mock's own host parser and encoder then
 * take 16-bit ids: their context's nodeIdType is set here.
 */
const LR = process.env.ZWGATE_MOCK_LR === "1";
const FIRMWARE = process.env.ZWGATE_MOCK_FIRMWARE === "1";
const SETUP_GET_SUPPORTED = 0x01;
const SETUP_SET_NODE_ID_TYPE = 0x80;

const answerLongRangeInit = {
	async onHostMessage(controller, msg) {
		if (!(msg instanceof GetSerialApiInitDataRequest)) return undefined;
		const ids = [controller.ownNodeId, ...controller.nodes.keys()]
			.filter((id) => id < 256);
		await controller.sendMessageToHost(new GetSerialApiInitDataResponse({
			zwaveApiVersion: controller.capabilities.zwaveApiVersion,
			isPrimary: true,
			nodeType: NodeType.Controller,
			supportsTimers: false,
			isSIS: true,
			nodeIds: ids,
			zwaveChipType: controller.capabilities.zwaveChipType,
		}));
		return true;
	},
};

function longRangeAnswer(controller, f, payload) {
	if (f === FunctionType.GetLongRangeNodes) {
		const segment = payload[0] ?? 0;
		const first = 256 + segment * NUM_LR_NODES_PER_SEGMENT;
		const ids = [...controller.nodes.keys()].filter((id) =>
			id >= first && id < first + NUM_LR_NODES_PER_SEGMENT);
		const mask = encodeBitMask(ids.map((id) => id - first + 1),
			NUM_LR_NODES_PER_SEGMENT);
		return [0x00, segment, mask.length, ...mask];
	}
	const [cmd, type] = payload;
	if (cmd === SETUP_GET_SUPPORTED) // the legacy form: a flag a command
		return [cmd, SETUP_GET_SUPPORTED | SETUP_SET_NODE_ID_TYPE];
	if (cmd !== SETUP_SET_NODE_ID_TYPE) return [0x00, cmd];
	const t = type === NodeIDType.Long ? NodeIDType.Long : NodeIDType.Short;
	controller.encodingContext.nodeIdType = t;
	controller.parsingContext.nodeIdType = t;
	return [cmd, 0x01];
}

/* Taken as frames, as a heal's are: the mock parses them its own way. */
const answerLongRange = {
	onHostData(controller, data) {
		const f = data.length >= 5 && data[0] === 0x01 && data[2] === 0x00
			? data[3]
			: -1;
		if (f !== FunctionType.SerialAPISetup && f !== FunctionType.GetLongRangeNodes)
			return undefined;
		const payload = [...data.subarray(4, data.length - 1)];
		controller.ackHostMessage();
		answer(controller, MessageType.Response, f,
			longRangeAnswer(controller, f, payload)).catch((e) => {
			process.stderr.write(`mock: Long Range answer: ${e}\n`);
		});
		return true;
	},
};

function node(id, generic, specific, productId, commandClasses) {
	return {
		id,
		capabilities: {
			manufacturerId: MANUFACTURER,
			productType: 0x0001,
			productId,
			genericDeviceClass: generic,
			specificDeviceClass: specific,
			commandClasses: [
				{ ccId: 0x72, version: 1 }, // Manufacturer Specific
				{ ccId: 0x86, version: 1 }, // Version: tells CC versions
				...commandClasses,
			],
		},
	};
}

/* Node definitions by name, for the include test too. */
const devices = {
	switch: (id) =>
		node(id, 0x10, 0x01, 0x0001, [
			{ ccId: 0x25, version: 1, defaultValue: false },
			{
				ccId: 0x70, // Configuration
				version: 1,
				parameters: [
					{ "#": 1, valueSize: 1, defaultValue: 0, minValue: 0, maxValue: 100 },
				],
			},
		]),
	dimmer: (id) =>
		node(id, 0x11, 0x01, 0x0002, [
			{ ccId: 0x26, version: 1, defaultValue: 0, travelTime: 0 },
		]),
	motion: (id) =>
		node(id, 0x20, 0x01, 0x0003, [
			{
				ccId: 0x30,
				version: 2,
				supportedSensorTypes: [12], // motion
				getValue: () => false,
			},
		]),
	multisensor: (id) =>
		node(id, 0x21, 0x01, 0x0004, [
			{
				ccId: 0x31,
				version: 5,
				sensors: {
					1: { supportedScales: [0] }, // air temperature, °C
					5: { supportedScales: [0] }, // humidity, %
				},
				getValue: (type) => (type === 1 ? 21.5 : 40),
			},
		]),
	meter: (id) =>
		node(id, 0x31, 0x01, 0x0005, [
			{
				ccId: 0x32,
				version: 3,
				meterType: 1, // electric
				supportedScales: [0, 2], // kWh, W
				supportedRateTypes: [1], // consumed
				supportsReset: true,
				// A version 3 Get has no rate type and the mock
				// reads "unspecified" (0) in it: say "consumed", or
				// zwave-js drops the report as not supported.
				getValue: (scale) => ({
					value: scale === 0 ? 12.5 : 60,
					deltaTime: 0,
					rateType: 1,
				}),
			},
		]),
};

/*
 * An S2 switch: asks for S2 Authenticated and Unauthenticated.  The
 * mock's include op answers with its PIN (the first five digits of its
 * DSK).
 */
devices.s2switch = (id) => {
	const d = devices.switch(id);
	d.capabilities.commandClasses.push({ ccId: 0x9f, version: 1 }); // Security 2
	d.capabilities.securityClasses = new Set([1, 0]);
	return d;
};

/*
 * The controller's NVM, for a backup (zwave-js's backupNVMRaw on a
 * 700-series stick): the radio turned off and on (SetRFReceiveMode, 0x10)
 * around NVMOperations (0x2e) open, reads of up to 255 bytes and close.
 * The mock parses neither, so they are taken as frames, as a heal's are.
 * Its content is a pattern with a fake key in it; control op "nvm" gives
 * its SHA-256, which a backup file must have.
 */
const NVM_SIZE = 16 * 1024; // a real one is bigger; 48 bytes a read take time
const nvm = Buffer.alloc(NVM_SIZE);
for (let i = 0; i < NVM_SIZE; i++) nvm[i] = (i * 31 + 7) & 0xff;
Buffer.from("zwgate-mock-network-key-000000000").copy(nvm, 0x1000);

function nvmAnswer(payload) {
	const [op, len = 0, hi = 0, lo = 0] = payload;
	const u16 = (n) => [(n >> 8) & 0xff, n & 0xff];
	if (op === 0) return [0x00, 0x00, ...u16(NVM_SIZE)]; // open: the size
	if (op === 3) return [0x00, 0x00, 0x00, 0x00]; // close
	if (op !== 1) return [0x01, 0x00, 0x00, 0x00]; // write: refused
	const off = (hi << 8) | lo;
	// A frame holds at most 248 bytes of it: a real stick answers a
	// longer read with none, and zwave-js asks again for less.
	const n = len > 248 ? 0 : Math.max(0, Math.min(len, NVM_SIZE - off));
	const eof = off + n >= NVM_SIZE;
	return [eof ? 0xff : 0x00, n, hi, lo, ...nvm.subarray(off, off + n)];
}

const answerNVM = {
	onHostData(controller, data) {
		const f = data.length >= 5 && data[0] === 0x01 && data[2] === 0x00
			? data[3]
			: -1;
		if (f !== FunctionType.NVMOperations && f !== FunctionType.SetRFReceiveMode)
			return undefined;
		const payload = [...data.subarray(4, data.length - 1)];
		controller.ackHostMessage();
		answer(controller, MessageType.Response, f,
			f === FunctionType.SetRFReceiveMode ? [0x01] : nvmAnswer(payload),
		).catch((e) => {
			process.stderr.write(`mock: NVM answer: ${e}\n`);
		});
		return true;
	},
};

/*
 * The controller's network keys, for S2 and S0 inclusion: the keys file
 * zwgatectl keys generate made (ZWGATE_MOCK_KEYS), the one the Z-Wave JS
 * server of the test has.  Without it the controller has none.
 */
function securityKeys() {
	const file = process.env.ZWGATE_MOCK_KEYS;
	if (!file) return undefined;
	const keys = JSON.parse(require("fs").readFileSync(file, "utf8")).securityKeys;
	const out = {};
	for (const [k, hex] of Object.entries(keys)) out[k] = Buffer.from(hex, "hex");
	return out;
}

module.exports = {
	devices,
	nvmSha256: require("crypto").createHash("sha256").update(nvm).digest("hex"),
	default: {
		controller: {
			behaviors: [answerSetTimeouts, answerHeal, answerRoutingInfo,
				answerNVM, ...(LR ? [answerLongRange, answerLongRangeInit] : [])],
			capabilities: {
				supportedFunctionTypes: [
					...getDefaultSupportedFunctionTypes(),
					FunctionType.GetRoutingInfo,
					FunctionType.NVMOperations,
					FunctionType.SetRFReceiveMode,
					...(LR ? [FunctionType.SerialAPISetup,
						FunctionType.GetLongRangeNodes] : []),
				],
				supportsLongRange: LR,
			},
			securityKeys: securityKeys(),
		},
		nodes: [
			devices.switch(2),
			devices.dimmer(3),
			devices.motion(4),
			devices.multisensor(5),
			devices.meter(6),
			...(LR ? [devices.switch(256)] : []),
			// ZWGATE_MOCK_FIRMWARE=1: a switch that takes firmware
			// updates (firmware.cjs), on its own: zwave-js
			// interviews it again after each update.
			...(FIRMWARE ? [upgradable(devices.switch(20))] : []),
		],
	},
};
