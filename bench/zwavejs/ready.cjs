#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// ready.cjs: waits until the Z-Wave JS server's driver has every node
// ready, as a client of its WebSocket API (what Home Assistant does), and
// prints {"all_ready_ms": <wall clock, ms since the epoch>, "nodes": N}.
//
//   node ready.cjs ws://127.0.0.1:PORT TIMEOUT_S
//
// The server opens its socket only once the driver is up, so connecting
// is retried.  "start_listening" returns the state with
// driver.allNodesReady (schema 47 and later); if not yet, the "all nodes
// ready" event says when.
"use strict";

const WebSocket = require("ws");

const SCHEMA = 47;
const RETRY_MS = 20;

const [url, timeoutArg] = process.argv.slice(2);
const timeoutMs = 1000 * Number.parseInt(timeoutArg ?? "300", 10);
if (!url || !(timeoutMs > 0)) {
	process.stderr.write("usage: node ready.cjs ws://HOST:PORT TIMEOUT_S\n");
	process.exit(2);
}

const started = Date.now();

function done(nodes) {
	process.stdout.write(
		`${JSON.stringify({ all_ready_ms: Date.now(), nodes })}\n`);
	process.exit(0);
}

function attempt() {
	if (Date.now() - started > timeoutMs) {
		process.stderr.write(`ready.cjs: no server at ${url}\n`);
		process.exit(1);
	}
	const ws = new WebSocket(url);
	let nodes = 0;
	ws.on("error", () => setTimeout(attempt, RETRY_MS));
	ws.on("message", (data) => {
		const msg = JSON.parse(data.toString());
		if (msg.type === "version") {
			ws.send(JSON.stringify({ messageId: "schema",
				command: "set_api_schema", schemaVersion: SCHEMA }));
			ws.send(JSON.stringify({ messageId: "listen",
				command: "start_listening" }));
		} else if (msg.type === "result" && msg.messageId === "listen") {
			const state = msg.result.state;
			nodes = state.nodes.length;
			if (state.driver.allNodesReady) done(nodes);
		} else if (msg.type === "event" &&
			msg.event.source === "driver" &&
			msg.event.event === "all nodes ready") {
			done(nodes);
		}
	});
}

setTimeout(() => {
	process.stderr.write("ready.cjs: timed out waiting for all nodes\n");
	process.exit(1);
}, timeoutMs);
attempt();
