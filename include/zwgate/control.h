/* SPDX-License-Identifier: MIT */
/*
 * zwgate/control.h: the control-socket protocol, shared by zwgated and
 * zwgatectl.
 *
 * A stream Unix socket, <runtime-dir>/control.sock, mode 0660.  Each way,
 * one JSON object per line (UTF-8, '\n' terminated, at most
 * ZWCTL_LINE_MAX bytes with the newline).
 *
 * Request:   {"id": 7, "cmd": "set", "node": "porch", "value": "switch",
 *             "data": true}
 * Progress:  {"id": 7, "progress": {...}}           zero or more, then
 *            (a command that makes data, such as backup, sends it as
 *            progress {"data": base64, "offset": N}, in order, and its
 *            reply says "data_length": the characters in all)
 * Reply:     {"id": 7, "ok": true, "result": ...}
 *        or  {"id": 7, "ok": false, "code": "ENOENT", "error": "no node
 *             called 'porch'", "details": [...]}
 *
 * "id" is an integer or a string chosen by the client and echoed back;
 * a request that cannot be read at all gets a reply with "id": null.
 * Replies to one client come in the order of their requests' completion.
 *
 * Commands (arguments beside "cmd"):
 *   status                          version, uptime, backend, nodes, cloud
 *   nodes                           every node
 *   node      node                  one node with its values
 *   get       node value            one value
 *   set       node value data [wait] write; with wait (default true) the
 *                                   reply waits (ZWCTL_SET_WAIT_MS at most)
 *                                   for the device to confirm
 *   rename    node name             "" removes the name
 *   reload                          re-read the config; errors in details
 *   log-level level                 debug|info|notice|warning|error
 *   sim       op ...                simulated network only:
 *             op "emit"  node value data   a report from the device
 *             op "dead"|"alive" node       the node stops/starts answering
 *             op "event" node kind code    a scene/button notification
 *   include   [secure] [timeout]    inclusion mode for timeout s (default
 *                                   60, at most 600); progress lines
 *                                   {"command","text"[,"node"]} until the
 *                                   reply: ok once a device was added, else
 *                                   ETIMEDOUT, ECANCELED or EIO
 *   exclude   [timeout]             the same for removing a device
 *   cancel                          stop a running include, exclude,
 *                                   health check or firmware update
 *   heal                            every node updates its routes
 *   refresh   node                  interview the node again
 *   config-set node param data [size] configuration parameter param
 *                                   (1-255) takes the integer data, in size
 *                                   (1, 2, 4) bytes
 *   firmware-upload node file size offset data [upload]
 *                                   a chunk (base64, decoded at most
 *                                   size - offset bytes) of a firmware
 *                                   image of size bytes (at most 4 MiB)
 *                                   named file (its format by extension);
 *                                   offset 0 starts an upload, the rest
 *                                   name it; result {"upload": id,
 *                                   "received", "size"}.  One at a time
 *                                   (EBUSY); dropped 60 s after its last
 *                                   chunk.  Root or zwgated's user only
 *   firmware-update node file size upload [target] [timeout]
 *                                   send the whole upload to the device;
 *                                   progress lines as include's, the reply
 *                                   at its end (timeout default 3600 s)
 *   trust-import bundle             a trust bundle: the text of its file
 *                                   (at most 32 KiB).  Accepted: result
 *                                   {"version":N,"pending":true,
 *                                   "slot":"a"|"b"}, and the link is made
 *                                   again at once to try it.  Refused:
 *                                   EPERM (signatures, not covering the
 *                                   broker's host), ESTALE (version not
 *                                   above the floor, or not above one
 *                                   dropped after its tries), EALREADY
 *                                   (that version is pending: the link
 *                                   is not made again), ETIME (expired),
 *                                   EINVAL (malformed), EFBIG,
 *                                   ENOSPC/EIO (cannot store); "error"
 *                                   says why.  Nothing changes then.
 *   trust-status                    result: see TRUST STATUS below
 *
 * TRUST STATUS (result of trust-status):
 *   {"mode": "full"|"clock-unknown"|"bundle-expired",
 *    "clock": {"now": T, "floor": T, "synced": bool},   (T: "..Z" text)
 *    "floor": N,                        version floor
 *    "active": BUNDLE + {"from": "factory"|"slot a"|"slot b"},
 *    "pending": null | BUNDLE + {"from": .., "tries": N},
 *    "dropped": "why the last pending bundle was dropped" (if one was),
 *    "recovery": [CERT...],             the factory's recovery roots
 *    "last": null | {"at": T, "ok": bool, "bundle": "active"|"pending",
 *             "version": N, "mode": .., "recovery": bool, "chain":
 *             ["subject", ..leaf first], "pin": "b64"|"", "reason": ".."},
 *    "warnings": ["words", ...],        anchor expiring within 60 days,
 *                                       no backup pin, bundle past expiry
 *    "alarm": bool}                     a warning that needs the operator
 *   BUNDLE and CERT as trust_bundle_info_json() in src/core/trust.h.
 *
 * "node" is a number or a node name; "value" is a path such as
 * "switch_binary/0/currentValue" or a unique short form such as "switch".
 */
#ifndef ZWGATE_CONTROL_PROTO_H
#define ZWGATE_CONTROL_PROTO_H

#define ZWCTL_SOCKET_NAME	  "control.sock"
#define ZWCTL_DEFAULT_RUNTIME_DIR "/run/zwgate"
#define ZWCTL_LINE_MAX		  (64 * 1024)
#define ZWCTL_CLIENTS_MAX	  16
#define ZWCTL_SET_WAIT_MS	  5000

#endif
