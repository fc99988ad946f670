/* SPDX-License-Identifier: MIT */
/*
 * trust_report.h: the gateway's public trust report, published retained
 * on P/trust (zwgate.conf(5), MQTT TOPICS) so that an operator sees what
 * every gateway of a fleet trusts before a root is retired
 * (zwgatectl fleet).
 *
 * It is made from trust_link_status_json and keeps only what anyone on
 * the broker may read: the active and pending bundles' versions, expiry,
 * hosts, anchors (subject, pin, expiry) and pins, the pending bundle's
 * tries, the floor, the mode and the alarms.  No slot names, no paths,
 * no signer keys, no details of the last handshake.
 */
#ifndef ZWGATE_TRUST_REPORT_H
#define ZWGATE_TRUST_REPORT_H

#include <jansson.h>

/*
 * {"trust":"ok"|"alarm","mode":M,"active":B,"pending":B|null,
 *  "floor":N,"alarms":[..]} with B = {"version","expires","hosts",
 * "anchors":[{"subject","pin","not_after"}],"pins"[,"tries"]}.
 * NULL when status lacks a field or memory ran out: a report with
 * fields missing would say what is not so.
 */
json_t *trust_report_json(const json_t *status);

#endif
