// SPDX-License-Identifier: MIT
//
// firmware.cjs: a device that takes a firmware update over the air
// (Firmware Update Meta Data CC, version 3), for zwgatectl firmware
// update against the Z-Wave JS mock, which has no such device.
//
// The device says it is upgradable (manufacturer 0x7fff, firmware id
// 0x0101, no firmware target but its own), takes the host's request
// (one for another target is refused), asks for the image one fragment at
// a time, checks the image's CRC-16 against the request's, and ends with
// "OK, no restart" after 5 s of wait time (or "checksum error", or
// "transmission failed" when the host aborts with an empty last
// fragment).  What it received is there for the test to compare:
// control op {"op":"firmware","node":N} gives its length and SHA-256.
"use strict";

const crypto = require("node:crypto");
const cc = require("@zwave-js/cc");
const { CRC16_CCITT } = require("@zwave-js/core");
const { createMockZWaveRequestFrame } = require("@zwave-js/testing");

const CC_ID = 0x7a;
const VERSION = 3;
const FIRMWARE_ID = 0x0101;
const WAIT_TIME_S = 5;
const KEY = "zwgate:firmware";

/*
 * The mock cannot parse a fragment (zwave-js only ever sends them):
 * report number (15 bits), the last flag, the data and, from version 2,
 * a CRC-16 of the whole command.
 */
cc.FirmwareUpdateMetaDataCCReport.from = function from(raw, ctx) {
	const p = raw.payload;
	if (p.length < 2 + 2) throw new Error("firmware fragment too short");
	const word = (p[0] << 8) | p[1];
	return new this({
		nodeId: ctx.sourceNodeId,
		reportNumber: word & 0x7fff,
		isLast: !!(word & 0x8000),
		firmwareData: Buffer.from(p.subarray(2, p.length - 2)),
	});
};

function askFragment(controller, self, number) {
	const get = new cc.FirmwareUpdateMetaDataCCGet({
		nodeId: controller.ownNodeId,
		numReports: 1,
		reportNumber: number,
	});
	self.sendToController(createMockZWaveRequestFrame(get, { ackRequested: false }))
		.catch((e) => process.stderr.write(`mock: firmware Get: ${e}\n`));
}

function statusReport(controller, status) {
	return new cc.FirmwareUpdateMetaDataCCStatusReport({
		nodeId: controller.ownNodeId,
		status,
		waitTime: WAIT_TIME_S,
	});
}

const behavior = {
	handleCC(controller, self, received) {
		if (received instanceof cc.FirmwareUpdateMetaDataCCMetaDataGet) {
			return {
				action: "sendCC",
				cc: new cc.FirmwareUpdateMetaDataCCMetaDataReport({
					nodeId: controller.ownNodeId,
					manufacturerId: self.capabilities.manufacturerId,
					firmwareId: FIRMWARE_ID,
					checksum: 0,
					firmwareUpgradable: true,
					maxFragmentSize: 64,
					hardwareVersion: 1,
					continuesToFunction: true,
					supportsActivation: false,
				}),
			};
		}
		if (received instanceof cc.FirmwareUpdateMetaDataCCRequestGet) {
			// It has no other firmware target than its own (0).
			if (received.firmwareTarget) {
				return {
					action: "sendCC",
					cc: new cc.FirmwareUpdateMetaDataCCRequestReport({
						nodeId: controller.ownNodeId,
						status: cc.FirmwareUpdateRequestStatus
							.Error_InvalidManufacturerOrFirmwareID,
					}),
				};
			}
			self.state.set(KEY, {
				checksum: received.checksum,
				chunks: [],
				done: false,
			});
			setTimeout(() => askFragment(controller, self, 1), 20);
			return {
				action: "sendCC",
				cc: new cc.FirmwareUpdateMetaDataCCRequestReport({
					nodeId: controller.ownNodeId,
					status: cc.FirmwareUpdateRequestStatus.OK,
				}),
			};
		}
		if (!(received instanceof cc.FirmwareUpdateMetaDataCCReport))
			return undefined;
		const fw = self.state.get(KEY);
		if (!fw || fw.done) return { action: "ok" };
		if (received.isLast && received.firmwareData.length === 0) {
			fw.done = true; // the host aborts
			return {
				action: "sendCC",
				cc: statusReport(controller,
					cc.FirmwareUpdateStatus.Error_TransmissionFailed),
			};
		}
		fw.chunks.push(received.firmwareData);
		if (!received.isLast) {
			setTimeout(() => askFragment(controller, self, received.reportNumber + 1), 1);
			return { action: "ok" };
		}
		fw.done = true;
		const image = Buffer.concat(fw.chunks);
		const ok = CRC16_CCITT(image) === fw.checksum;
		return {
			action: "sendCC",
			cc: statusReport(controller, ok
				? cc.FirmwareUpdateStatus.OK_NoRestart
				: cc.FirmwareUpdateStatus.Error_Checksum),
		};
	},
};

/* What node received: {bytes, sha256, done} (bytes 0: nothing yet). */
function received(node) {
	const fw = node.state.get(KEY);
	const image = Buffer.concat(fw ? fw.chunks : []);
	return {
		node: node.id,
		bytes: image.length,
		sha256: crypto.createHash("sha256").update(image).digest("hex"),
		done: !!(fw && fw.done),
	};
}

/* A device of devices made upgradable. */
function upgradable(device) {
	device.capabilities.commandClasses.push({ ccId: CC_ID, version: VERSION });
	device.behaviors = [behavior];
	return device;
}

module.exports = { upgradable, received };
