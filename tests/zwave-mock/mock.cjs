#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// mock.cjs: the Z-Wave JS mock controller as a test peer for zwgated's
// OpenZWave backend.  It speaks the Z-Wave Serial API on a TCP port of
// 127.0.0.1 (socat turns that into a serial device), and takes orders on
// a Unix socket so that a test can play the devices' side.
//
//   node mock.cjs --config NETWORK.cjs --control SOCKET [--port N]
//                 [--port-file FILE]
//
// It differs from zwave-js's own mock-server in three ways:
// - the byte stream from the host is cut into Serial API frames before
//   the mock sees it (the mock wants one frame per write, and OpenZWave
//   sends an ACK and the next frame back to back);
// - no mDNS advertisement, and it listens on 127.0.0.1 only;
// - the control socket: one JSON object per line, one answer per line:
//     {"op":"ping"}
//     {"op":"nvm"}               the SHA-256 of the controller's NVM
//     {"op":"firmware","node":2} what an upgradable node received of a
//         firmware update: {bytes, sha256, done} (firmware.cjs)
//     {"op":"report","node":4,"kind":"binary-sensor","value":true}
//         kinds: binary-switch, multilevel-switch, binary-sensor,
//         multilevel-sensor (sensorType, scale), meter (scale); the
//         node's later answers to Get follow the value reported
//     {"op":"state","node":2}    what the device itself holds now:
//         {"switch": bool, "level": n, "config": {param: value}}
//     {"op":"dead","node":4}     the node stops answering (no ACK)
//     {"op":"alive","node":4}    ... and answers again
//     {"op":"include","id":7,"device":"switch"}  the next inclusion
//         finds this node (a device of the config's "devices", or
//         "node": {id, capabilities})
"use strict";

const net = require("node:net");
const fs = require("node:fs");
const path = require("node:path");
const { MockController, MockNode } = require("@zwave-js/testing");
const { Faucet, ZWaveSerialFrameType } = require("@zwave-js/serial");
const { createAndOpenMockedZWaveSerialPort } = require("@zwave-js/serial/mock");
const {
	createDefaultMockControllerBehaviors,
	createDefaultMockNodeBehaviors,
} = require("zwave-js/Testing");
const cc = require("@zwave-js/cc");
const { generateECDHKeyPair } = require("@zwave-js/core");
const serialapi = require("@zwave-js/serial/serialapi");

const SOF = 0x01;
const ACK = 0x06;
const NAK = 0x15;
const CAN = 0x18;
const CONTROL_LINE_MAX = 64 * 1024;

function usage(msg) {
	process.stderr.write(`mock.cjs: ${msg}\n`);
	process.exit(2);
}

function parseArgs(argv) {
	const a = { port: 0 };
	for (let i = 0; i < argv.length; i++) {
		const k = argv[i];
		const v = argv[i + 1];
		if (v === undefined) usage(`${k} needs a value`);
		if (k === "--config") a.config = path.resolve(v);
		else if (k === "--control") a.control = path.resolve(v);
		else if (k === "--port") a.port = parseInt(v, 10);
		else if (k === "--port-file") a.portFile = path.resolve(v);
		else usage(`unknown option ${k}`);
		i++;
	}
	if (!a.config) usage("--config is required");
	if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535)
		usage("bad --port");
	return a;
}

/*
 * Cuts the host's byte stream into what the mock expects per write: a
 * single ACK/NAK/CAN byte, or one SOF frame (SOF, length, length bytes).
 * A byte that starts neither is line noise and is dropped, as a real
 * controller would.
 */
class Reframer {
	constructor(emit) {
		this.buf = Buffer.alloc(0);
		this.emit = emit;
	}

	push(chunk) {
		this.buf = Buffer.concat([this.buf, chunk]);
		for (;;) {
			if (this.buf.length === 0) return;
			const b = this.buf[0];
			if (b === ACK || b === NAK || b === CAN) {
				this.take(1);
			} else if (b === SOF) {
				if (this.buf.length < 2) return;
				const total = this.buf[1] + 2;
				if (this.buf.length < total) return;
				this.take(total);
			} else {
				this.buf = this.buf.subarray(1);
			}
		}
	}

	take(n) {
		const frame = Buffer.from(this.buf.subarray(0, n));
		this.buf = this.buf.subarray(n);
		this.emit(frame);
	}
}

/* Values a report set, answered to later Gets: "kind/type/scale" -> value. */
function stateKey(kind, a, b) {
	return `zwgate:${kind}/${a ?? ""}/${b ?? ""}`;
}

/*
 * Behaviors every node of ours gets, ahead of the defaults:
 * - a dead node swallows every frame (no ACK either, see setDead);
 * - Switch All Get (CC 0x27, which zwave-js does not implement and
 *   OpenZWave asks switches for) is answered "on and off", so that
 *   OpenZWave does not wait out its retry timeout.
 */
function zwgateNodeBehaviors() {
	const dead = {
		handleCC(controller, self) {
			if (self.state.get("zwgate:dead")) return { action: "stop" };
			return undefined;
		},
	};
	const switchAll = {
		handleCC(controller, self, received) {
			if (received.ccId !== 0x27 || received.ccCommand !== 0x02)
				return undefined;
			const report = new cc.CommandClass({
				nodeId: controller.ownNodeId,
				ccId: 0x27,
				ccCommand: 0x03,
				payload: Uint8Array.from([0xff]),
			});
			return { action: "sendCC", cc: report };
		},
	};
	return [switchAll, dead];
}

/*
 * Give capabilities getValue() hooks that answer what the last report
 * said, so that a Get after an unsolicited report agrees with it.
 */
function wrapCapabilities(node) {
	const hook = (ccId, kind) => {
		// getCCCapabilities() returns a copy: change the stored info.
		const info = node.implementedCCs.get(ccId);
		if (!info) return;
		const orig = info.getValue;
		info.getValue = (a, b) => {
			const k = kind === "meter" ? stateKey(kind, a) : stateKey(kind, a, b);
			if (node.state.has(k)) return node.state.get(k);
			return orig ? orig(a, b) : undefined;
		};
	};
	hook(0x30, "binary-sensor");
	hook(0x31, "multilevel-sensor");
	hook(0x32, "meter");
}

/*
 * OpenZWave ends an inclusion or exclusion with a STOP that has no
 * callback id and waits for a status report all the same (its full
 * RetryTimeout without one); the mock would throw on the missing id.
 * Answer "done" with callback id 0, as a stick does ("failed" would make
 * OpenZWave send STOP again, for ever).
 */
const stopWithoutCallback = {
	async onHostMessage(controller, msg) {
		const add = msg instanceof serialapi.AddNodeToNetworkRequest;
		const remove = msg instanceof serialapi.RemoveNodeFromNetworkRequest;
		if ((!add && !remove) || msg.callbackId)
			return undefined;
		if ((add ? msg.addNodeType : msg.removeNodeType) !== 5) // Stop
			return undefined;
		controller.state.set("inclusionState", 0); // Idle
		const pending = add ? controller.nodePendingInclusion : undefined;
		controller.nodePendingInclusion = undefined;
		const report = add
			? new serialapi.AddNodeToNetworkRequestStatusReport({
					callbackId: 0,
					status: serialapi.AddNodeStatus.Done,
					nodeId: pending ? pending.id : 0,
				})
			: new serialapi.RemoveNodeFromNetworkRequestStatusReport({
					callbackId: 0,
					status: serialapi.RemoveNodeStatus.Done,
					nodeId: 0,
				});
		await controller.sendMessageToHost(report);
		return true;
	},
};

function setupNode(node, behaviors) {
	// A device's own behaviors (firmware.cjs): asked after ours and
	// the defaults, which answer none of its CCs.
	if (behaviors) node.defineBehavior(...behaviors);
	node.defineBehavior(...createDefaultMockNodeBehaviors());
	node.defineBehavior(...zwgateNodeBehaviors());
	wrapCapabilities(node);
}

/* The network, and the config module's device makers if it has them. */
function loadConfig(file) {
	// eslint-disable-next-line global-require
	const mod = require(file);
	let config = mod && mod.default ? mod.default : mod;
	if (typeof config === "function") config = config();
	return {
		config,
		devices: (mod && mod.devices) || {},
		nvmSha256: mod && mod.nvmSha256,
	};
}

async function createMocks(config) {
	const { port, serial } = await createAndOpenMockedZWaveSerialPort();
	const controller = await MockController.create({
		homeId: 0x7e570001,
		ownNodeId: 1,
		...(config.controller ?? {}),
		mockPort: port,
		serial,
	});
	controller.defineBehavior(...createDefaultMockControllerBehaviors());
	controller.defineBehavior(stopWithoutCallback);
	if (config.controller?.behaviors)
		controller.defineBehavior(...config.controller.behaviors);
	const nodes = new Map();
	for (const opts of config.nodes ?? []) {
		const node = await MockNode.create({ ...opts, controller });
		controller.addNode(node);
		setupNode(node, opts.behaviors);
		nodes.set(node.id, node);
	}
	return { port, serial, controller, nodes };
}

function setDead(node, dead) {
	node.state.set("zwgate:dead", dead);
	node.autoAckControllerFrames = !dead;
}

/* The CC a report of kind sends, with the state it leaves behind. */
function reportCC(controller, node, req) {
	const to = controller.ownNodeId;
	const v = req.value;
	switch (req.kind) {
		case "binary-switch":
			node.state.set("BinarySwitch_currentValue", !!v);
			return new cc.BinarySwitchCCReport({ nodeId: to, currentValue: !!v });
		case "multilevel-switch":
			node.state.set("MultilevelSwitch_currentValue", v);
			return new cc.MultilevelSwitchCCReport({
				nodeId: to,
				currentValue: v,
				targetValue: v,
			});
		case "binary-sensor": {
			const type = req.sensorType ?? cc.BinarySensorType.Motion;
			node.state.set(stateKey(req.kind, type), !!v);
			return new cc.BinarySensorCCReport({ nodeId: to, type, value: !!v });
		}
		case "multilevel-sensor": {
			const type = req.sensorType ?? 1;
			const scale = req.scale ?? 0;
			node.state.set(stateKey(req.kind, type, scale), v);
			return new cc.MultilevelSensorCCReport({ nodeId: to, type, scale, value: v });
		}
		case "meter": {
			const scale = req.scale ?? 0;
			const rateType = cc.RateType.Consumed;
			// By scale alone: a version 3 Get carries no rate type.
			node.state.set(stateKey(req.kind, scale), { value: v, deltaTime: 0, rateType });
			return new cc.MeterCCReport({
				nodeId: to,
				type: req.meterType ?? 1,
				scale,
				rateType,
				value: v,
			});
		}
		default:
			throw new Error(`unknown report kind '${req.kind}'`);
	}
}

async function control(mocks, req) {
	const { controller, nodes } = mocks;
	const node = typeof req.node === "number" ? nodes.get(req.node) : undefined;
	switch (req.op) {
		case "ping":
			return { nodes: [...nodes.keys()] };
		case "nvm":
			return { sha256: mocks.nvmSha256 ?? null };
		case "firmware":
			if (!node) throw new Error(`no node ${req.node}`);
			return require("./firmware.cjs").received(node);
		case "report": {
			if (!node) throw new Error(`no node ${req.node}`);
			const { createMockZWaveRequestFrame } = require("@zwave-js/testing");
			const frame = createMockZWaveRequestFrame(reportCC(controller, node, req), {
				ackRequested: false,
			});
			await node.sendToController(frame);
			return { node: node.id, kind: req.kind };
		}
		case "state": {
			if (!node) throw new Error(`no node ${req.node}`);
			const config = {};
			for (const [k, v] of node.state)
				if (k.startsWith("Configuration_value_"))
					config[k.slice(20)] = v;
			return {
				node: node.id,
				switch: node.state.get("BinarySwitch_currentValue") ?? null,
				level: node.state.get("MultilevelSwitch_currentValue") ?? null,
				config,
			};
		}
		case "dead":
		case "alive":
			if (!node) throw new Error(`no node ${req.node}`);
			setDead(node, req.op === "dead");
			return { node: node.id, status: req.op };
		case "include": {
			const make = mocks.devices[req.device];
			const opts = make ? make(req.id) : req.node;
			if (!opts || typeof opts.id !== "number")
				throw new Error("include needs id and device, or node");
			// An S2 device's key pair, made now so that its PIN (the
			// first two bytes of the public key) is known before
			// the inclusion: the mock's S2 exchange gives up within
			// about a second, far quicker than a person typing it
			// (a real device waits 240 s).
			const s2 = opts.capabilities?.securityClasses?.size
				? await generateECDHKeyPair()
				: undefined;
			controller.nodePendingInclusion = {
				...opts,
				setup: (n) => {
					if (s2) n.ecdhKeyPair = s2;
					n.defineBehavior(...zwgateNodeBehaviors());
					wrapCapabilities(n);
					nodes.set(n.id, n);
				},
			};
			const pk = s2?.publicKey;
			return pk
				? { pending: opts.id, pin: String((pk[0] << 8) | pk[1]).padStart(5, "0") }
				: { pending: opts.id };
		}
		default:
			throw new Error(`unknown op '${req.op}'`);
	}
}

function startControl(mocks, file) {
	try {
		fs.unlinkSync(file);
	} catch {
		// not there: fine
	}
	const server = net.createServer((sock) => {
		let buf = "";
		sock.setEncoding("utf8");
		sock.on("data", async (data) => {
			buf += data;
			if (buf.length > CONTROL_LINE_MAX) {
				sock.end('{"ok":false,"error":"line too long"}\n');
				return;
			}
			let nl;
			while ((nl = buf.indexOf("\n")) >= 0) {
				const line = buf.slice(0, nl);
				buf = buf.slice(nl + 1);
				let answer;
				try {
					answer = { ok: true, result: await control(mocks, JSON.parse(line)) };
				} catch (e) {
					answer = { ok: false, error: String(e && e.message ? e.message : e) };
				}
				sock.write(`${JSON.stringify(answer)}\n`);
			}
		});
		sock.on("error", () => {});
	});
	server.listen(file);
	return server;
}

/* The host side: one TCP client at a time, like one serial cable. */
function startSerial(mocks, port, onListening) {
	const { serial } = mocks;
	const faucet = new Faucet(serial.readable);
	const server = net.createServer((sock) => {
		const writable = new WritableStream({
			write(chunk) {
				if (chunk.type !== ZWaveSerialFrameType.SerialAPI) return;
				if (typeof chunk.data === "number")
					sock.write(Uint8Array.from([chunk.data]));
				else sock.write(chunk.data);
			},
		});
		const reframer = new Reframer((frame) => {
			serial.writeAsync(frame).catch((e) => {
				process.stderr.write(`mock: write to the serial port: ${e}\n`);
			});
		});
		faucet.connect(writable);
		sock.on("data", (chunk) => reframer.push(chunk));
		sock.on("error", () => {});
		sock.on("close", () => {
			faucet.disconnect();
			void writable.close().catch(() => {});
		});
	});
	server.maxConnections = 1;
	server.listen({ host: "127.0.0.1", port }, () => onListening(server.address().port));
	return server;
}

async function main() {
	const args = parseArgs(process.argv.slice(2));
	const { config, devices, nvmSha256 } = loadConfig(args.config);
	const mocks = await createMocks(config);
	mocks.devices = devices;
	mocks.nvmSha256 = nvmSha256;
	const servers = [];
	if (args.control) servers.push(startControl(mocks, args.control));
	servers.push(
		startSerial(mocks, args.port, (port) => {
			if (args.portFile) fs.writeFileSync(args.portFile, `${port}\n`);
			process.stdout.write(`mock: listening on 127.0.0.1:${port}\n`);
		}),
	);
	const stop = () => {
		for (const s of servers) s.close();
		mocks.controller.destroy();
		process.exit(0);
	};
	process.on("SIGTERM", stop);
	process.on("SIGINT", stop);
}

// A request the mock cannot take is logged; the controller goes on.
process.on("unhandledRejection", (e) => {
	process.stderr.write(`mock: ${e && e.stack ? e.stack : e}\n`);
});

main().catch((e) => {
	process.stderr.write(`mock: ${e && e.stack ? e.stack : e}\n`);
	process.exit(1);
});
