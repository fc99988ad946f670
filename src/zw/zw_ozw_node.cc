/* SPDX-License-Identifier: MIT */
/*
 * zw_ozw_node.cc: the openzwave backend's events up to the daemon, and
 * its nodes (loop thread).
 */
#include "config.h"

#include "zw_ozw_int.h"

/* ------------------------------------------------------------------ */
/* Events up to the daemon (loop thread).                              */

void ozw_emit(struct zw_ozw *z, struct zw_event *ev)
{
	if (!z->closing)
		z->cb(z->ctx, ev);
}

void ozw_emit_message(struct zw_ozw *z, enum zw_event_type type,
		      const char *msg)
{
	struct zw_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.u.message = msg;
	ozw_emit(z, &ev);
}

static void ozw_emit_status(struct zw_ozw *z, uint16_t node,
			    enum zw_node_status s)
{
	struct zw_event ev;

	if (!z->known.test(node) || z->status[node] == s)
		return;
	z->status[node] = s;
	memset(&ev, 0, sizeof(ev));
	ev.type = ZW_EV_NODE_STATUS;
	ev.node = node;
	ev.u.status = s;
	ozw_emit(z, &ev);
}

/* "<cc>/<endpoint>/<property>" of node: the key of z->paths. */
std::string ozw_path(const struct value_key *k)
{
	char buf[ZW_PROPERTY_MAX + 32];

	snprintf(buf, sizeof(buf), "%u/%u/%u/%s", k->node, k->cc, k->endpoint,
		 k->property);
	return buf;
}

void ozw_forget_value(struct zw_ozw *z, uint64_t id, bool tell)
{
	auto it = z->values.find(id);
	struct zw_event ev;

	if (it == z->values.end())
		return;
	if (tell) {
		memset(&ev, 0, sizeof(ev));
		ev.type = ZW_EV_VALUE_REMOVED;
		ev.node = it->second.meta.key.node;
		ev.u.value.meta = &it->second.meta;
		ozw_emit(z, &ev);
	}
	z->paths.erase(ozw_path(&it->second.meta.key));
	z->values.erase(it);
}

/* The node leaves the registry with its values. */
static void ozw_forget_node(struct zw_ozw *z, uint16_t node, bool tell)
{
	struct zw_event ev;

	for (auto it = z->values.begin(); it != z->values.end();) {
		if (it->second.meta.key.node != node) {
			++it;
			continue;
		}
		z->paths.erase(ozw_path(&it->second.meta.key));
		it = z->values.erase(it);
	}
	if (!z->known.test(node))
		return;
	z->known.reset(node);
	z->seen.reset(node);
	z->status[node] = ZW_NODE_UNKNOWN;
	z->node_sig[node].clear();
	if (!tell)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = ZW_EV_NODE_REMOVED;
	ev.node = node;
	ozw_emit(z, &ev);
}

void ozw_forget_all(struct zw_ozw *z)
{
	for (unsigned n = 1; n < 256; n++)
		if (z->known.test(n))
			ozw_forget_node(z, (uint8_t)n, true);
	z->values.clear();
	z->paths.clear();
}

/* ------------------------------------------------------------------ */
/* Nodes.                                                              */

static const char *ozw_known_text(const std::string &s)
{
	/* OpenZWave says "Unknown: id=7fff" for a device it has no file of. */
	return s.empty() || s.compare(0, 7, "Unknown") == 0 ? nullptr
							    : s.c_str();
}

static enum zw_node_status ozw_node_status(const ozw_nsnap &s)
{
	if (s.failed)
		return ZW_NODE_DEAD;
	if (!s.listening && !s.awake)
		return ZW_NODE_ASLEEP;
	return ZW_NODE_ALIVE;
}

/* NODE_ADDED again whenever what the registry shows of it changed. */
static void ozw_node_info(struct zw_ozw *z, uint16_t node, const ozw_nsnap &s)
{
	const char *product = ozw_known_text(s.product);
	struct zw_event ev;
	std::string sig;

	if (!product)
		product = ozw_known_text(s.type);
	sig = s.name + '\n' + s.location + '\n' +
	      (ozw_known_text(s.manufacturer) ? s.manufacturer : "") + '\n' +
	      (product ? product : "");
	if (z->known.test(node) && z->node_sig[node] == sig)
		return;
	z->node_sig[node] = sig;
	z->known.set(node);
	z->seen.set(node);
	memset(&ev, 0, sizeof(ev));
	ev.type = ZW_EV_NODE_ADDED;
	ev.node = node;
	ev.u.node.name = s.name.empty() ? nullptr : s.name.c_str();
	ev.u.node.location = s.location.empty() ? nullptr : s.location.c_str();
	ev.u.node.manufacturer = ozw_known_text(s.manufacturer);
	ev.u.node.product = product;
	ev.u.node.status = z->status[node];
	ozw_emit(z, &ev);
}

/* Nodes of the last session that this one has not announced are gone. */
void ozw_prune(struct zw_ozw *z)
{
	for (unsigned n = 1; n < 256; n++)
		if (z->known.test(n) && !z->seen.test(n)) {
			log_info("zwave openzwave: node %u is no longer in "
				 "the network",
				 n);
			ozw_forget_node(z, (uint8_t)n, true);
		}
}

void ozw_on_node(struct zw_ozw *z, const ozw_item &it)
{
	switch (it.type) {
	case Notification::Type_NodeAdded:
		z->seen.set(it.node);
		ozw_node_info(z, it.node, it.info);
		break;
	case Notification::Type_NodeNaming:
		ozw_node_info(z, it.node, it.info);
		break;
	case Notification::Type_NodeProtocolInfo:
	case Notification::Type_EssentialNodeQueriesComplete:
	case Notification::Type_NodeQueriesComplete:
		ozw_node_info(z, it.node, it.info);
		ozw_emit_status(z, it.node, ozw_node_status(it.info));
		if (it.type == Notification::Type_NodeQueriesComplete)
			log_debug("zwave openzwave: node %u queried", it.node);
		break;
	case Notification::Type_NodeRemoved:
	case Notification::Type_NodeReset:
		ozw_forget_node(z, it.node, true);
		break;
	default:
		break;
	}
}

/* Dead, alive, asleep, awake; timeouts are only worth a debug line. */
void ozw_on_notification(struct zw_ozw *z, const ozw_item &it)
{
	switch (it.byte) {
	case Notification::Code_Dead:
		ozw_emit_status(z, it.node, ZW_NODE_DEAD);
		break;
	case Notification::Code_Alive:
	case Notification::Code_Awake:
		ozw_emit_status(z, it.node, ZW_NODE_ALIVE);
		break;
	case Notification::Code_Sleep:
		ozw_emit_status(z, it.node, ZW_NODE_ASLEEP);
		break;
	case Notification::Code_Timeout:
		log_debug("zwave openzwave: node %u: timeout", it.node);
		break;
	default:
		break;
	}
}

void ozw_on_event(struct zw_ozw *z, const ozw_item &it, bool scene)
{
	struct zw_event ev;

	if (!z->known.test(it.node))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = ZW_EV_NOTIFICATION;
	ev.node = it.node;
	ev.u.notification.cc = scene ? CC_SCENE_ACTIVATION : CC_BASIC;
	ev.u.notification.kind = scene ? "scene" : "notification";
	ev.u.notification.code = scene ? it.byte : it.event;
	ev.u.notification.text = scene ? nullptr : "basic set";
	ozw_emit(z, &ev);
}
