/* SPDX-License-Identifier: MIT */
/*
 * zw_ozw_int.h: what the files of the openzwave backend share (zw_ozw.cc
 * says which file does what).  Not for use outside src/zw/zw_ozw*.
 */
#ifndef ZWGATE_ZW_OZW_INT_H
#define ZWGATE_ZW_OZW_INT_H

#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <bitset>
#include <cxxabi.h>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <openzwave/Manager.h>
#include <openzwave/Notification.h>
#include <openzwave/Options.h>
#include <openzwave/platform/Log.h>
#include <openzwave/value_classes/ValueID.h>

extern "C" {
#include "cc.h"
#include "fsutil.h"
#include "log.h"
#include "zw.h"
}

using OpenZWave::Driver;
using OpenZWave::LogLevel;
using OpenZWave::Manager;
using OpenZWave::Notification;
using OpenZWave::Options;
using OpenZWave::ValueID;

#define OZW_CONFIG_PATH	     "/etc/openzwave/"
#define OZW_USER_DIR	     "openzwave"
#define OZW_DEFAULT_DEVICE   "/dev/ttyACM0"
#define OZW_QUEUE_MAX	     65536 /* notifications waiting for the loop */
#define OZW_LOG_LINE_MAX     512
#define OZW_READY_TIMEOUT_MS 30000 /* AddDriver to DriverReady */
#define OZW_RETRY_MIN_S	     1
#define OZW_RETRY_MAX_S	     60
#define OZW_TIMEOUT_MAX_S    600 /* include and exclude */
#define OZW_KEY_FILE_MAX     256
#define OZW_KEY_BYTES	     16
#define OZW_MSG_MAX	     160
#define OZW_THREAD_PREFIX    "OZW-" /* OpenZWave names its threads so */
#define OZW_THREAD_WAIT_MS   500

struct zw_ozw;

enum ozw_item_kind {
	ITEM_NOTIFICATION,
	ITEM_LOG,
};

/* A value as the watcher saw it, read while OpenZWave held it. */
struct ozw_vsnap {
	std::string label, units;
	int32_t min = 0, max = 0;
	bool readonly = false, writeonly = false;
	uint8_t precision = 0;
	std::vector<std::string> items;
	bool has_val = false;
	bool b = false;
	int64_t i = 0;
	double f = 0;
	std::string s; /* STRING, a list's selection, RAW as hex */
};

struct ozw_nsnap {
	std::string name, location, manufacturer, product, type;
	bool failed = false, awake = true, listening = false;
};

/* One notification or log line, copied on an OpenZWave thread. */
struct ozw_item {
	enum ozw_item_kind kind = ITEM_NOTIFICATION;
	Notification::NotificationType type = Notification::Type_Group;
	uint32_t home = 0;
	uint16_t node = 0;
	ValueID vid;
	uint8_t byte = 0, event = 0, command = 0;
	int prio = LOG_DEBUG;
	std::string text;
	ozw_vsnap val;
	ozw_nsnap info;
};

/*
 * What we showed the registry of one ValueID.  The entry owns the items
 * of its meta (value_meta_clear frees them): a copy copies them, a move
 * takes them, so that the table's entries never share an array.
 */
struct ozw_entry {
	ValueID vid;
	struct value_meta meta = {};
	std::vector<std::string> items; /* a list's full item texts */
	bool list_as_string = false;	/* a list longer than ZW_ENUM_MAX */

	ozw_entry() = default;
	ozw_entry(const ozw_entry &o)
	    : vid(o.vid), items(o.items), list_as_string(o.list_as_string)
	{
		if (value_meta_copy(&meta, &o.meta) < 0)
			throw std::bad_alloc();
	}
	ozw_entry(ozw_entry &&o) noexcept
	    : vid(o.vid), meta(o.meta), items(std::move(o.items)),
	      list_as_string(o.list_as_string)
	{
		o.meta.items = nullptr;
		o.meta.nitems = 0;
	}
	ozw_entry &operator=(const ozw_entry &o)
	{
		if (this != &o)
			*this = ozw_entry(o);
		return *this;
	}
	ozw_entry &operator=(ozw_entry &&o) noexcept
	{
		if (this == &o)
			return *this;
		value_meta_clear(&meta);
		vid = o.vid;
		meta = o.meta;
		o.meta.items = nullptr;
		o.meta.nitems = 0;
		items = std::move(o.items);
		list_as_string = o.list_as_string;
		return *this;
	}
	~ozw_entry()
	{
		value_meta_clear(&meta);
	}
};

enum ozw_driver_state {
	DRV_NONE,     /* no driver: waiting to open the device */
	DRV_STARTING, /* AddDriver done, DriverReady not yet */
	DRV_READY,
};

struct ozw_watch {
	uv_poll_t poll;
	int fd;
	struct zw_ozw *z;
};

struct zw_ozw {
	struct zw base;
	uv_loop_t *loop = nullptr;
	zw_event_fn cb = nullptr;
	void *ctx = nullptr;
	std::string device, user_path;
	uv_async_t async;
	uv_timer_t retry, ready_timer, cmd_timer;
	int handles = 0;
	bool closing = false;
	struct ozw_watch *watch = nullptr;
	enum ozw_driver_state drv = DRV_NONE;
	uint32_t home = 0, last_home = 0;
	unsigned retry_s = OZW_RETRY_MIN_S;
	std::string failed_msg; /* the last FAILED sent */
	bool all_queried = false;
	unsigned generation = 0; /* of the driver: stale items are dropped */

	/* Filled on OpenZWave's threads, drained on the loop. */
	std::mutex mu;
	std::deque<ozw_item> queue;
	std::atomic<unsigned long> dropped{ 0 };

	/* Loop thread only. */
	std::unordered_map<uint64_t, ozw_entry> values; /* by ValueID::GetId */
	std::map<std::string, uint64_t> paths;		/* key path -> id */
	std::bitset<256> known, seen;
	enum zw_node_status status[256];
	std::string node_sig[256];   /* what NODE_ADDED last said */
	const char *cmd = nullptr;   /* controller command running, or NULL */
	bool cmd_started = false;    /* OpenZWave said "starting" for it */
	bool cmd_cancelling = false; /* we asked OpenZWave to cancel it */
	unsigned cmd_timeout_s = 0;
	bool cmd_timed_out = false;
};

/* Runs f, called from C: an exception is logged, and fail returned. */
template <typename F> static int ozw_guard(const char *what, int fail, F &&f)
{
	try {
		return f();
	} catch (const std::exception &e) {
		log_error("zwave openzwave: %s: %s", what, e.what());
	} catch (...) {
		log_error("zwave openzwave: %s: unknown exception", what);
	}
	return fail;
}

/* zw_ozw.cc */
struct zw_ozw *ozw_of(struct zw *zb);
int ozw_usable(struct zw_ozw *z);
const ozw_entry *ozw_entry_of(struct zw_ozw *z, const struct value_key *k);

/* zw_ozw_thread.cc */
void ozw_watcher(const Notification *n, void *ctx);
void ozw_start_manager(struct zw_ozw *z, const std::string &key);

/* zw_ozw_node.cc */
void ozw_emit(struct zw_ozw *z, struct zw_event *ev);
void ozw_emit_message(struct zw_ozw *z, enum zw_event_type type,
		      const char *msg);
std::string ozw_path(const struct value_key *k);
void ozw_forget_value(struct zw_ozw *z, uint64_t id, bool tell);
void ozw_forget_all(struct zw_ozw *z);
void ozw_prune(struct zw_ozw *z);
void ozw_on_node(struct zw_ozw *z, const ozw_item &it);
void ozw_on_notification(struct zw_ozw *z, const ozw_item &it);
void ozw_on_event(struct zw_ozw *z, const ozw_item &it, bool scene);

/* zw_ozw_value.cc */
void ozw_on_value(struct zw_ozw *z, const ozw_item &it);
int ozw_set_value(struct zw *zb, const struct value_key *key,
		  const struct value *val);

/* zw_ozw_command.cc */
void ozw_on_command(struct zw_ozw *z, const ozw_item &it);
void ozw_command_abort(struct zw_ozw *z);
int ozw_include(struct zw *zb, bool secure, unsigned timeout_s);
int ozw_exclude(struct zw *zb, unsigned timeout_s);
int ozw_cancel(struct zw *zb);
int ozw_heal(struct zw *zb);

/* zw_ozw_supervise.cc */
void ozw_watch_stop(struct zw_ozw *z);
void ozw_controller_lost(struct zw_ozw *z, const char *why);
void ozw_try_open(uv_timer_t *t);
void ozw_on_ready(struct zw_ozw *z, const ozw_item &it);
void ozw_on_queried(struct zw_ozw *z, const ozw_item &it);
void ozw_on_alert(const ozw_item &it);

#endif
