/* SPDX-License-Identifier: MIT */
/*
 * zw_ozw_supervise.cc: the openzwave backend's controller supervision:
 * open the device, watch it for a hang-up, lose it, open it again
 * (loop thread).
 */
#include "config.h"

#include "zw_ozw_int.h"

/* ------------------------------------------------------------------ */
/* Controller supervision: open, watch, lose, open again.              */

static void ozw_watch_close_cb(uv_handle_t *h)
{
	struct ozw_watch *w = static_cast<struct ozw_watch *>(h->data);

	close(w->fd);
	free(w);
}

void ozw_watch_stop(struct zw_ozw *z)
{
	if (!z->watch)
		return;
	uv_close((uv_handle_t *)&z->watch->poll, ozw_watch_close_cb);
	z->watch = nullptr;
}

/* Queued notifications of a driver that is gone are stale: drop them. */
static void ozw_discard_notifications(struct zw_ozw *z)
{
	std::lock_guard<std::mutex> lock(z->mu);

	for (auto it = z->queue.begin(); it != z->queue.end();)
		if (it->kind == ITEM_NOTIFICATION)
			it = z->queue.erase(it);
		else
			++it;
}

/* FAILED goes up when the reason changed; the next try is scheduled. */
static void ozw_fail(struct zw_ozw *z, const char *why)
{
	if (z->failed_msg != why) {
		z->failed_msg = why;
		ozw_emit_message(z, ZW_EV_FAILED, why);
	}
	log_info("zwave openzwave: opening %s again in %u s", z->device.c_str(),
		 z->retry_s);
	uv_timer_start(&z->retry, ozw_try_open, (uint64_t)z->retry_s * 1000, 0);
	z->retry_s =
	    z->retry_s * 2 > OZW_RETRY_MAX_S ? OZW_RETRY_MAX_S : z->retry_s * 2;
}

/*
 * The driver goes (OpenZWave stops its threads before RemoveDriver
 * returns), the registry keeps its nodes, and the device is tried again
 * later.
 */
void ozw_controller_lost(struct zw_ozw *z, const char *why)
{
	if (z->drv == DRV_NONE || z->closing)
		return;
	uv_timer_stop(&z->ready_timer);
	ozw_watch_stop(z);
	ozw_command_abort(z);
	try {
		Manager::Get()->RemoveDriver(z->device);
	} catch (...) {
		log_warning("zwave openzwave: removing the driver failed");
	}
	z->drv = DRV_NONE;
	z->home = 0;
	z->seen.reset();
	z->all_queried = false;
	z->generation++;
	ozw_discard_notifications(z);
	ozw_fail(z, why);
}

static void ozw_watch_cb_body(uv_poll_t *p, int status, int events)
{
	struct ozw_watch *w = static_cast<struct ozw_watch *>(p->data);
	struct zw_ozw *z = w->z;
	char why[OZW_MSG_MAX];

	if (status >= 0 && !(events & UV_DISCONNECT))
		return;
	snprintf(why, sizeof(why), "%s went away", z->device.c_str());
	ozw_controller_lost(z, why);
}

static void ozw_watch_cb(uv_poll_t *p, int status, int events)
{
	ozw_guard("device watch", 0, [&] {
		ozw_watch_cb_body(p, status, events);
		return 0;
	});
}

/*
 * Our own descriptor on the device, never read: a hang-up (stick pulled,
 * pty closed) shows on it at once.  Takes fd, closed on failure too.
 */
static int ozw_watch_start(struct zw_ozw *z, int fd)
{
	struct ozw_watch *w =
	    static_cast<struct ozw_watch *>(calloc(1, sizeof(*w)));
	int r = w ? uv_poll_init(z->loop, &w->poll, fd) : -ENOMEM;

	if (r < 0) {
		free(w);
		close(fd);
		return r;
	}
	w->fd = fd;
	w->z = z;
	w->poll.data = w;
	r = uv_poll_start(&w->poll, UV_DISCONNECT, ozw_watch_cb);
	z->watch = w;
	if (r < 0)
		ozw_watch_stop(z);
	return r;
}

static void ozw_ready_timeout_cb_body(uv_timer_t *t)
{
	struct zw_ozw *z = static_cast<struct zw_ozw *>(t->data);
	char why[OZW_MSG_MAX];

	snprintf(why, sizeof(why), "no answer from a controller on %s",
		 z->device.c_str());
	ozw_controller_lost(z, why);
}

static void ozw_ready_timeout_cb(uv_timer_t *t)
{
	ozw_guard("ready timeout", 0, [&] {
		ozw_ready_timeout_cb_body(t);
		return 0;
	});
}

static void ozw_try_open_body(uv_timer_t *t)
{
	struct zw_ozw *z = static_cast<struct zw_ozw *>(t->data);
	char why[OZW_MSG_MAX];
	bool added = false;
	int fd, r;

	if (z->closing || z->drv != DRV_NONE)
		return;
	fd =
	    open(z->device.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, sizeof(why), "cannot open %s: %s",
			 z->device.c_str(), strerror(errno));
		ozw_fail(z, why);
		return;
	}
	r = ozw_watch_start(z, fd);
	if (r < 0) {
		log_warning("zwave openzwave: cannot watch %s (%s): a stick "
			    "that goes away will not be noticed",
			    z->device.c_str(), uv_strerror(r));
	}
	try {
		added = Manager::Get()->AddDriver(z->device);
	} catch (...) {
	}
	if (!added) {
		ozw_watch_stop(z);
		snprintf(why, sizeof(why), "OpenZWave did not take %s",
			 z->device.c_str());
		ozw_fail(z, why);
		return;
	}
	z->drv = DRV_STARTING;
	uv_timer_start(&z->ready_timer, ozw_ready_timeout_cb,
		       OZW_READY_TIMEOUT_MS, 0);
	log_info("zwave openzwave: opening the controller on %s",
		 z->device.c_str());
}

void ozw_try_open(uv_timer_t *t)
{
	ozw_guard("opening the device", 0, [&] {
		ozw_try_open_body(t);
		return 0;
	});
}

void ozw_on_ready(struct zw_ozw *z, const ozw_item &it)
{
	char msg[OZW_MSG_MAX];

	if (z->drv != DRV_STARTING)
		return;
	uv_timer_stop(&z->ready_timer);
	z->drv = DRV_READY;
	z->home = it.home;
	if (z->last_home && z->last_home != z->home) {
		log_notice("zwave openzwave: the controller on %s is another "
			   "network's: forgetting the old nodes",
			   z->device.c_str());
		ozw_forget_all(z);
	}
	z->last_home = z->home;
	z->retry_s = OZW_RETRY_MIN_S;
	z->failed_msg.clear();
	snprintf(msg, sizeof(msg), "%s on %s", it.text.c_str(),
		 z->device.c_str());
	ozw_emit_message(z, ZW_EV_READY, msg);
}

void ozw_on_queried(struct zw_ozw *z, const ozw_item &it)
{
	bool some_dead = it.type == Notification::Type_AllNodesQueriedSomeDead;

	ozw_prune(z);
	if (it.type == Notification::Type_AwakeNodesQueried) {
		log_info("zwave openzwave: awake nodes queried; sleeping "
			 "nodes follow when they wake up");
		return;
	}
	if (z->all_queried)
		return;
	z->all_queried = true;
	ozw_emit_message(z, ZW_EV_ALL_QUERIED,
			 some_dead ? "all nodes queried, some dead"
				   : "all nodes queried");
}

void ozw_on_alert(const ozw_item &it)
{
	switch (it.byte) {
	case Notification::Alert_ConfigOutOfDate:
	case Notification::Alert_MFSOutOfDate:
		log_info("zwave openzwave: a device file of %s is out of date "
			 "(automatic updates are off)",
			 OZW_CONFIG_PATH);
		break;
	case Notification::Alert_UnsupportedController:
		log_warning("zwave openzwave: the controller's firmware is "
			    "not supported by OpenZWave");
		break;
	case Notification::Alert_NodeReloadRequired:
		log_notice("zwave openzwave: node %u needs a refresh to use "
			   "its new device file",
			   it.node);
		break;
	default:
		break;
	}
}
