/* SPDX-License-Identifier: MIT */
/*
 * zw_ozw.cc: the "openzwave" backend, a Z-Wave controller (USB stick)
 * driven by OpenZWave 1.6.  The only C++ file.  Every way in from C (the
 * extern "C" ops table, libuv's callbacks, OpenZWave's watcher and log)
 * goes through ozw_guard or a try block: no exception gets out.
 *
 * Threads.  OpenZWave runs its own threads (driver, serial reader, poll,
 * timer, DNS) and calls its watcher and its log class on them.  Those
 * only copy what they are told into a mutex-guarded queue and wake the
 * loop with a uv_async_t; everything else, the value tables included,
 * lives on the loop thread.  OpenZWave's Manager and Options are process
 * singletons, so there is at most one instance of this backend.
 *
 * Controller supervision.  OpenZWave never notices a stick that went
 * away: its serial reader spins on EIO forever.  So we keep a descriptor
 * of our own on the device, never read, and watch it for a hang-up; a
 * driver that is not ready within OZW_READY_TIMEOUT_MS counts as gone
 * too.  Then the driver is removed, FAILED goes up, and the device is
 * opened again with a doubling delay.  The registry keeps the nodes
 * meanwhile; a controller with another home id replaces them.
 *
 * Values.  OpenZWave's ValueID (node, genre, command class, instance,
 * index, type) becomes the registry's (node, command class, endpoint =
 * instance - 1, property); only the user and config genres are shown.
 * A property comes from a table of well-known values ("currentValue" of
 * a switch, "temperature", "power"), "param_<n>" for configuration
 * parameters, else the label in lower case with '_' for anything else,
 * and "_<index>" after it when that name is taken on the endpoint.  The
 * name a ValueID got stays with it while the daemon runs.
 */
#include "config.h"

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

namespace
{

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
	uint8_t node = 0;
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

} // namespace

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

static struct zw_ozw *ozw_instance;

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

/* ------------------------------------------------------------------ */
/* OpenZWave's threads: copy, queue, wake the loop.                     */

static void ozw_push(struct zw_ozw *z, ozw_item &&it)
{
	{
		std::lock_guard<std::mutex> lock(z->mu);
		if (z->queue.size() >= OZW_QUEUE_MAX) {
			z->dropped++;
			return;
		}
		z->queue.push_back(std::move(it));
	}
	uv_async_send(&z->async);
}

static std::string ozw_hex(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	std::string s;

	for (size_t i = 0; i < n; i++) {
		s += digits[p[i] >> 4];
		s += digits[p[i] & 15];
	}
	return s;
}

static void ozw_snap_list(const ValueID &v, ozw_vsnap *s)
{
	Manager *m = Manager::Get();
	std::string sel;

	m->GetValueListItems(v, &s->items);
	if (!m->GetValueListSelection(v, &sel))
		return;
	s->s = sel;
	for (size_t i = 0; i < s->items.size(); i++)
		if (s->items[i] == sel) {
			s->i = (int64_t)i;
			s->has_val = true;
		}
}

/* The value itself, by its OpenZWave type. */
static void ozw_snap_data(const ValueID &v, ozw_vsnap *s)
{
	Manager *m = Manager::Get();
	uint8_t u8 = 0, *raw = nullptr, rawlen = 0;
	int16_t i16 = 0;
	int32_t i32 = 0;
	std::string str;

	switch (v.GetType()) {
	case ValueID::ValueType_Bool:
		s->has_val = m->GetValueAsBool(v, &s->b);
		break;
	case ValueID::ValueType_Byte:
		s->has_val = m->GetValueAsByte(v, &u8);
		s->i = u8;
		break;
	case ValueID::ValueType_Short:
		s->has_val = m->GetValueAsShort(v, &i16);
		s->i = i16;
		break;
	case ValueID::ValueType_Int:
		s->has_val = m->GetValueAsInt(v, &i32);
		s->i = i32;
		break;
	case ValueID::ValueType_Decimal:
		/* The decimal text, not a float: 0.1 stays 0.1. */
		if (m->GetValueAsString(v, &str)) {
			char *end;

			s->f = strtod(str.c_str(), &end);
			s->has_val = end != str.c_str() && std::isfinite(s->f);
		}
		m->GetValueFloatPrecision(v, &s->precision);
		break;
	case ValueID::ValueType_String:
		s->has_val = m->GetValueAsString(v, &s->s);
		break;
	case ValueID::ValueType_List:
		ozw_snap_list(v, s);
		break;
	case ValueID::ValueType_Raw:
		if (m->GetValueAsRaw(v, &raw, &rawlen)) {
			s->s = ozw_hex(raw, rawlen);
			s->has_val = true;
		}
		delete[] raw;
		break;
	default:
		break;
	}
}

static void ozw_snap_value(const ValueID &v, ozw_vsnap *s)
{
	Manager *m = Manager::Get();

	s->label = m->GetValueLabel(v);
	s->units = m->GetValueUnits(v);
	s->min = m->GetValueMin(v);
	s->max = m->GetValueMax(v);
	s->readonly = m->IsValueReadOnly(v);
	s->writeonly = m->IsValueWriteOnly(v);
	ozw_snap_data(v, s);
}

static void ozw_snap_node(uint32_t home, uint8_t node, ozw_nsnap *s)
{
	Manager *m = Manager::Get();

	s->name = m->GetNodeName(home, node);
	s->location = m->GetNodeLocation(home, node);
	s->manufacturer = m->GetNodeManufacturerName(home, node);
	s->product = m->GetNodeProductName(home, node);
	s->type = m->GetNodeType(home, node);
	s->failed = m->IsNodeFailed(home, node);
	s->awake = m->IsNodeAwake(home, node);
	s->listening = m->IsNodeListeningDevice(home, node) ||
		       m->IsNodeFrequentListeningDevice(home, node);
}

/* What each notification type needs copied besides its ids. */
static void ozw_snap(const Notification *n, ozw_item *it)
{
	switch (it->type) {
	case Notification::Type_ValueAdded:
	case Notification::Type_ValueChanged:
	case Notification::Type_ValueRefreshed:
		ozw_snap_value(it->vid, &it->val);
		break;
	case Notification::Type_NodeAdded:
	case Notification::Type_NodeNaming:
	case Notification::Type_NodeProtocolInfo:
	case Notification::Type_EssentialNodeQueriesComplete:
	case Notification::Type_NodeQueriesComplete:
		ozw_snap_node(it->home, it->node, &it->info);
		break;
	case Notification::Type_DriverReady:
		it->text = Manager::Get()->GetLibraryTypeName(it->home) + ", " +
			   Manager::Get()->GetLibraryVersion(it->home);
		break;
	case Notification::Type_NodeEvent:
		it->event = n->GetEvent();
		break;
	case Notification::Type_SceneEvent:
		it->byte = n->GetByte(); /* the scene id (GetSceneId is
					  * deprecated, not gone) */
		break;
	case Notification::Type_Notification:
		it->byte = n->GetNotification();
		break;
	case Notification::Type_ControllerCommand:
		it->event = n->GetEvent();
		it->byte = n->GetNotification();
		it->command = n->GetCommand();
		break;
	case Notification::Type_UserAlerts:
		it->byte = (uint8_t)n->GetUserAlertType();
		break;
	default:
		break;
	}
}

/*
 * The watcher.  A thread of OpenZWave's may be cancelled while it runs
 * here: glibc unwinds it with abi::__forced_unwind, which must go on.
 */
static void ozw_watcher(const Notification *n, void *ctx)
{
	struct zw_ozw *z = static_cast<struct zw_ozw *>(ctx);

	try {
		ozw_item it;

		it.type = n->GetType();
		it.home = n->GetHomeId();
		it.node = n->GetNodeId();
		it.vid = n->GetValueID();
		ozw_snap(n, &it);
		ozw_push(z, std::move(it));
	} catch (abi::__forced_unwind &) {
		throw;
	} catch (...) {
		z->dropped++;
	}
}

/*
 * OpenZWave's log, into ours through the loop.  Some of its warnings
 * come on every start or interview and say nothing: those go to debug.
 */
static const char *const ozw_log_noise[] = {
	"CheckCompletedNodeQueries",
	"Failed - Network Key Not Set",
	"Error looking up txt Record", /* its device database check */
	"Lookup on ",
	"Value Not Deleted - Still in use",
	"Attempt to get a Invalid Label",
	"Attempt to Set a Invalid Label",
	"Localization::ReadXMLVIDHelp", /* reading its own cache */
};

class ozw_log : public OpenZWave::i_LogImpl
{
      public:
	explicit ozw_log(struct zw_ozw *z, LogLevel level)
	    : z_(z), level_(level)
	{
	}
	void Write(LogLevel level, uint8 const node, char const *fmt,
		   va_list args) override
	{
		char buf[OZW_LOG_LINE_MAX];
		va_list ap;

		if (level <= OpenZWave::LogLevel_None ||
		    level >= OpenZWave::LogLevel_Internal || level > level_)
			return;
		try {
			ozw_item it;

			va_copy(ap, args);
			vsnprintf(buf, sizeof(buf), fmt, ap);
			va_end(ap);
			it.kind = ITEM_LOG;
			it.node = node;
			it.prio = prio_of(level, buf);
			it.text = buf;
			ozw_push(z_, std::move(it));
		} catch (abi::__forced_unwind &) {
			throw;
		} catch (...) {
			z_->dropped++;
		}
	}
	void QueueDump() override
	{
	}
	void QueueClear() override
	{
	}
	void SetLoggingState(LogLevel save, LogLevel, LogLevel) override
	{
		level_ = save;
	}
	void SetLogFileName(const std::string &) override
	{
	}

      private:
	static int prio_of(LogLevel level, const char *text)
	{
		for (const char *noise : ozw_log_noise)
			if (strncmp(text, noise, strlen(noise)) == 0)
				return LOG_DEBUG;
		switch (level) {
		case OpenZWave::LogLevel_Fatal:
		case OpenZWave::LogLevel_Error:
			return LOG_WARNING;
		case OpenZWave::LogLevel_Warning:
		case OpenZWave::LogLevel_Alert:
			return LOG_NOTICE;
		default:
			return LOG_DEBUG;
		}
	}
	struct zw_ozw *z_;
	LogLevel level_;
};

/* ------------------------------------------------------------------ */
/* Events up to the daemon (loop thread).                              */

static void ozw_emit(struct zw_ozw *z, struct zw_event *ev)
{
	if (!z->closing)
		z->cb(z->ctx, ev);
}

static void ozw_emit_message(struct zw_ozw *z, enum zw_event_type type,
			     const char *msg)
{
	struct zw_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.u.message = msg;
	ozw_emit(z, &ev);
}

static void ozw_emit_status(struct zw_ozw *z, uint8_t node,
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
static std::string ozw_path(const struct value_key *k)
{
	char buf[ZW_PROPERTY_MAX + 32];

	snprintf(buf, sizeof(buf), "%u/%u/%u/%s", k->node, k->cc, k->endpoint,
		 k->property);
	return buf;
}

static void ozw_forget_value(struct zw_ozw *z, uint64_t id, bool tell)
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
static void ozw_forget_node(struct zw_ozw *z, uint8_t node, bool tell)
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

static void ozw_forget_all(struct zw_ozw *z)
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
static void ozw_node_info(struct zw_ozw *z, uint8_t node, const ozw_nsnap &s)
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
static void ozw_prune(struct zw_ozw *z)
{
	for (unsigned n = 1; n < 256; n++)
		if (z->known.test(n) && !z->seen.test(n)) {
			log_info("zwave openzwave: node %u is no longer in "
				 "the network",
				 n);
			ozw_forget_node(z, (uint8_t)n, true);
		}
}

static void ozw_on_node(struct zw_ozw *z, const ozw_item &it)
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
static void ozw_on_notification(struct zw_ozw *z, const ozw_item &it)
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

static void ozw_on_event(struct zw_ozw *z, const ozw_item &it, bool scene)
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

/* ------------------------------------------------------------------ */
/* Values: ValueID to registry key, meta and value.                    */

struct ozw_name {
	uint8_t cc;
	int index;	   /* -1: any */
	const char *label; /* NULL: any */
	const char *property;
};

/* clang-format off */
static const struct ozw_name ozw_names[] = {
	{ CC_SWITCH_BINARY, 0, nullptr, "currentValue" },
	{ CC_SWITCH_MULTILEVEL, 0, nullptr, "currentValue" },
	{ CC_SWITCH_MULTILEVEL, 9, nullptr, "targetValue" },
	{ CC_SENSOR_BINARY, -1, "Sensor", "state" },
	{ CC_SENSOR_BINARY, -1, "Door/Window", "door" },
	{ CC_SENSOR_BINARY, -1, "Flood", "water" },
	{ CC_SENSOR_BINARY, -1, "Water", "water" },
	{ CC_SENSOR_MULTILEVEL, 1, nullptr, "temperature" },
	{ CC_SENSOR_MULTILEVEL, 3, nullptr, "illuminance" },
	{ CC_SENSOR_MULTILEVEL, 5, nullptr, "humidity" },
	{ CC_METER, -1, "Electric - kWh", "energy" },
	{ CC_METER, -1, "Electric - W", "power" },
	{ CC_METER, -1, "Electric - V", "voltage" },
	{ CC_METER, -1, "Electric - A", "current" },
	{ CC_THERMOSTAT_SETPOINT, 1, nullptr, "heating" },
	{ CC_THERMOSTAT_SETPOINT, 2, nullptr, "cooling" },
	{ CC_DOOR_LOCK, 0, nullptr, "locked" },
	{ CC_BATTERY, 0, nullptr, "level" },
};
/* clang-format on */

/* "Air Temperature" -> "air_temperature"; "" -> "value". */
static std::string ozw_sanitize(const std::string &label)
{
	std::string s;

	for (char c : label) {
		if (isalnum((unsigned char)c))
			s += (char)tolower((unsigned char)c);
		else if (!s.empty() && s.back() != '_')
			s += '_';
	}
	while (!s.empty() && s.back() == '_')
		s.pop_back();
	if (s.size() > ZW_PROPERTY_MAX - 16)
		s.resize(ZW_PROPERTY_MAX - 16);
	return s.empty() ? "value" : s;
}

static std::string ozw_base_name(const ValueID &v, const std::string &label)
{
	uint8_t cc = v.GetCommandClassId();
	int index = v.GetIndex();
	char buf[32];

	for (const struct ozw_name &n : ozw_names)
		if (n.cc == cc && (n.index < 0 || n.index == index) &&
		    (!n.label || label == n.label))
			return n.property;
	if (cc == CC_CONFIGURATION) {
		snprintf(buf, sizeof(buf), "param_%d", index);
		return buf;
	}
	return ozw_sanitize(label);
}

/* A property free on the endpoint: the name, then name_<index>, ... */
static void ozw_key_for(struct zw_ozw *z, const ValueID &v,
			const std::string &label, struct value_key *key)
{
	std::string base = ozw_base_name(v, label), name = base;
	unsigned inst = v.GetInstance();

	memset(key, 0, sizeof(*key));
	key->node = v.GetNodeId();
	key->cc = v.GetCommandClassId();
	key->endpoint = (uint8_t)(inst > 0 ? inst - 1 : 0);
	for (unsigned n = 0;; n++) {
		snprintf(key->property, sizeof(key->property), "%s",
			 name.c_str());
		if (!z->paths.count(ozw_path(key)))
			return;
		name = base + "_" + std::to_string(v.GetIndex());
		if (n > 0)
			name += "_" + std::to_string(n + 1);
	}
}

static bool ozw_zw_type(const ValueID &v, size_t nitems, enum value_type *ret)
{
	switch (v.GetType()) {
	case ValueID::ValueType_Bool:
		*ret = VALUE_BOOL;
		return true;
	case ValueID::ValueType_Byte:
	case ValueID::ValueType_Short:
	case ValueID::ValueType_Int:
		*ret = VALUE_INT;
		return true;
	case ValueID::ValueType_Decimal:
		*ret = VALUE_FLOAT;
		return true;
	case ValueID::ValueType_List:
		*ret = nitems <= ZW_ENUM_MAX ? VALUE_ENUM : VALUE_STRING;
		return true;
	case ValueID::ValueType_String:
	case ValueID::ValueType_Raw:
		*ret = VALUE_STRING;
		return true;
	case ValueID::ValueType_Button:
		*ret = VALUE_BUTTON;
		return true;
	default:
		return false; /* schedule, bit set */
	}
}

static void ozw_range(const ValueID &v, const ozw_vsnap &s, struct value_meta *m)
{
	m->min = 1; /* min > max: no range */
	m->max = 0;
	if (m->type != VALUE_INT && m->type != VALUE_FLOAT)
		return;
	if (s.min < s.max) {
		m->min = s.min;
		m->max = s.max;
	} else if (v.GetType() == ValueID::ValueType_Byte) {
		m->min = 0;
		m->max = 255;
	} else if (v.GetType() == ValueID::ValueType_Short) {
		m->min = INT16_MIN;
		m->max = INT16_MAX;
	}
}

static void ozw_unit(uint8_t cc, const std::string &units, struct value_meta *m)
{
	bool temp = cc == CC_SENSOR_MULTILEVEL || cc == CC_THERMOSTAT_SETPOINT;

	if (temp && (units == "C" || units == "F"))
		snprintf(m->unit, sizeof(m->unit), "°%s", units.c_str());
	else
		value_text_copy(m->unit, sizeof(m->unit), units.c_str());
}

/* Meta of e from what the watcher saw; false for a type we do not show. */
static bool ozw_meta_fill(ozw_entry *e, const ozw_vsnap &s)
{
	struct value_meta *m = &e->meta;
	const ValueID &v = e->vid;

	if (!ozw_zw_type(v, s.items.size(), &m->type))
		return false;
	e->list_as_string =
	    v.GetType() == ValueID::ValueType_List && m->type == VALUE_STRING;
	ozw_unit(v.GetCommandClassId(), s.units, m);
	value_text_copy(m->label, sizeof(m->label), s.label.c_str());
	ozw_range(v, s, m);
	m->precision = m->type == VALUE_FLOAT ? s.precision : 0;
	m->readable = !s.writeonly && m->type != VALUE_BUTTON;
	m->writable = !s.readonly;
	e->items = s.items;
	value_meta_clear(m);
	if (m->type == VALUE_ENUM && !s.items.empty()) {
		if (value_meta_alloc_items(m, s.items.size()) < 0)
			throw std::bad_alloc();
		for (size_t i = 0; i < m->nitems; i++)
			value_text_copy(m->items[i], ZW_ENUM_ITEM_MAX,
				     s.items[i].c_str());
	}
	return true;
}

/* The value as the registry takes it; buf holds a STRING's text. */
static bool ozw_val_fill(const ozw_entry &e, const ozw_vsnap &s,
			 struct value *v, char *buf, size_t len)
{
	if (!s.has_val && !e.list_as_string)
		return false;
	memset(v, 0, sizeof(*v));
	v->type = e.meta.type;
	switch (e.meta.type) {
	case VALUE_BOOL:
		v->u.b = s.b;
		return true;
	case VALUE_INT:
		v->u.i = s.i;
		return true;
	case VALUE_FLOAT:
		v->u.f = s.f;
		return true;
	case VALUE_ENUM:
		v->u.i = s.i;
		return s.i >= 0 && (size_t)s.i < e.meta.nitems;
	case VALUE_STRING:
		value_text_copy(buf, len, s.s.c_str());
		v->u.s = buf;
		return true;
	case VALUE_BUTTON:
		break;
	}
	return false;
}

static void ozw_emit_value(struct zw_ozw *z, enum zw_event_type type,
			   const ozw_entry &e, const ozw_vsnap &s)
{
	char buf[ZW_STRING_MAX];
	struct zw_event ev;
	struct value val;
	bool has = ozw_val_fill(e, s, &val, buf, sizeof(buf));

	if (type == ZW_EV_VALUE_CHANGED && !has)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.node = e.meta.key.node;
	ev.u.value.meta = &e.meta;
	ev.u.value.val = has ? &val : nullptr;
	ozw_emit(z, &ev);
}

static bool ozw_shown_genre(const ValueID &v)
{
	return v.GetGenre() == ValueID::ValueGenre_User ||
	       v.GetGenre() == ValueID::ValueGenre_Config;
}

static void ozw_on_value_added(struct zw_ozw *z, const ozw_item &it)
{
	uint64_t id = it.vid.GetId();
	auto found = z->values.find(id);
	ozw_entry e;
	char path[128];

	if (!ozw_shown_genre(it.vid))
		return;
	if (found != z->values.end())
		e = found->second;
	else
		ozw_key_for(z, it.vid, it.val.label, &e.meta.key);
	e.vid = it.vid;
	if (!ozw_meta_fill(&e, it.val)) {
		log_debug("zwave openzwave: node %u: %s value '%s' not shown",
			  it.node, it.vid.GetTypeAsString().c_str(),
			  it.val.label.c_str());
		return;
	}
	if (found == z->values.end())
		log_debug("zwave openzwave: node %u: %s is %s", it.node,
			  value_key_path(&e.meta.key, path, sizeof(path)),
			  it.vid.GetAsString().c_str());
	z->paths[ozw_path(&e.meta.key)] = id;
	ozw_entry &stored = z->values[id] = std::move(e);
	ozw_emit_value(z, ZW_EV_VALUE_ADDED, stored, it.val);
}

static void ozw_on_value(struct zw_ozw *z, const ozw_item &it)
{
	auto found = z->values.find(it.vid.GetId());

	switch (it.type) {
	case Notification::Type_ValueAdded:
		ozw_on_value_added(z, it);
		break;
	case Notification::Type_ValueChanged:
	case Notification::Type_ValueRefreshed:
		/* A refresh is news too: it confirms a write of the same
		 * value, and "21 again" may matter to a trigger. */
		if (found != z->values.end())
			ozw_emit_value(z, ZW_EV_VALUE_CHANGED, found->second,
				       it.val);
		break;
	case Notification::Type_ValueRemoved:
		ozw_forget_value(z, it.vid.GetId(), true);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Controller commands: include, exclude, heal.                        */

static const char *ozw_command_word(uint8_t c)
{
	switch (c) {
	case Driver::ControllerCommand_AddDevice:
		return "include";
	case Driver::ControllerCommand_RemoveDevice:
		return "exclude";
	case Driver::ControllerCommand_RequestNodeNeighborUpdate:
	case Driver::ControllerCommand_AssignReturnRoute:
	case Driver::ControllerCommand_DeleteAllReturnRoutes:
		return "heal";
	case Driver::ControllerCommand_HasNodeFailed:
		return "check";
	case Driver::ControllerCommand_RemoveFailedNode:
		return "remove-failed";
	default:
		return "controller";
	}
}

static const char *ozw_state_text(uint8_t state, const char *cmd)
{
	switch (state) {
	case Driver::ControllerState_Starting:
		return "starting";
	case Driver::ControllerState_Cancel:
		return "cancelled";
	case Driver::ControllerState_Error:
		return "error";
	case Driver::ControllerState_Waiting:
		return strcmp(cmd, "include") == 0
			   ? "waiting: put the device in inclusion mode "
			     "(press its button)"
		       : strcmp(cmd, "exclude") == 0
			   ? "waiting: put the device in exclusion mode "
			     "(press its button)"
			   : "waiting";
	case Driver::ControllerState_Sleeping:
		return "queued until the node wakes up";
	case Driver::ControllerState_InProgress:
		return "in progress";
	case Driver::ControllerState_Completed:
		return "completed";
	case Driver::ControllerState_Failed:
		return "failed";
	case Driver::ControllerState_NodeOK:
		return "the node answers";
	case Driver::ControllerState_NodeFailed:
		return "the node has failed";
	default:
		return "idle";
	}
}

static const char *ozw_error_text(uint8_t err)
{
	static const char *const text[] = {
		"",
		"button not found",
		"node not found",
		"not a bridge",
		"not SUC",
		"not secondary",
		"not primary",
		"is primary",
		"not found",
		"busy",
		"failed",
		"disabled",
		"overflow",
	};

	return err < sizeof(text) / sizeof(text[0]) ? text[err] : "error";
}

/* 0 while running; 1, or -errno, once it has ended. */
static int ozw_command_result(struct zw_ozw *z, uint8_t state)
{
	switch (state) {
	case Driver::ControllerState_Completed:
	case Driver::ControllerState_Sleeping:
	case Driver::ControllerState_NodeOK:
		return 1;
	case Driver::ControllerState_Cancel:
		return z->cmd_timed_out ? -ETIMEDOUT : -ECANCELED;
	case Driver::ControllerState_Error:
	case Driver::ControllerState_Failed:
	case Driver::ControllerState_NodeFailed:
		return -EIO;
	default:
		return 0;
	}
}

static void ozw_emit_command(struct zw_ozw *z, const char *cmd, uint8_t node,
			     int result, const char *msg)
{
	struct zw_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = ZW_EV_CONTROLLER;
	ev.node = node;
	ev.u.message = msg;
	ev.command = cmd;
	ev.result = result;
	/* Include and exclude are few and a person waits for them; a heal
	 * reports twice per node. */
	if (strcmp(cmd, "heal") != 0 && (result != 0 || strstr(msg, "waiting")))
		log_info("zwave openzwave: %s", msg);
	else
		log_debug("zwave openzwave: %s", msg);
	ozw_emit(z, &ev);
}

/* The include or exclude we started is over. */
static void ozw_command_done(struct zw_ozw *z)
{
	z->cmd = nullptr;
	z->cmd_timed_out = false;
	z->cmd_cancelling = false;
	uv_timer_stop(&z->cmd_timer);
}

/*
 * Is a report about our include or exclude?  The stick answers the STOP
 * that ended the one before late, so until OpenZWave says "starting" only
 * the cancel we asked for ends the new one.  Other commands (heal) are
 * not ours to judge.
 */
static bool ozw_command_current(struct zw_ozw *z, const char *cmd,
				uint8_t state, int result)
{
	if (strcmp(cmd, "include") != 0 && strcmp(cmd, "exclude") != 0)
		return true;
	if (!z->cmd || strcmp(z->cmd, cmd) != 0)
		return false;
	if (state == Driver::ControllerState_Starting)
		z->cmd_started = true;
	return z->cmd_started || result == 0 ||
	       (state == Driver::ControllerState_Cancel && z->cmd_cancelling);
}

static void ozw_on_command(struct zw_ozw *z, const ozw_item &it)
{
	const char *cmd = ozw_command_word(it.command);
	char msg[OZW_MSG_MAX], node[32] = "";
	int result = ozw_command_result(z, it.event);

	if (it.node > 0 && it.node < 0xff)
		snprintf(node, sizeof(node), ": node %u", it.node);
	if (result == -ETIMEDOUT)
		snprintf(msg, sizeof(msg), "%s: timed out after %u s", cmd,
			 z->cmd_timeout_s);
	else
		snprintf(msg, sizeof(msg), "%s: %s%s%s%s", cmd,
			 ozw_state_text(it.event, cmd), it.byte ? " (" : "",
			 it.byte ? ozw_error_text(it.byte) : "",
			 it.byte ? ")" : "");
	if (*node)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "%s",
			 node);
	if (!ozw_command_current(z, cmd, it.event, result)) {
		log_debug("zwave openzwave: late report ignored: %s", msg);
		return;
	}
	if (result != 0 && z->cmd)
		ozw_command_done(z);
	ozw_emit_command(z, cmd, it.node < 0xff ? it.node : 0, result, msg);
}

/* Our timeout: OpenZWave answers the cancel with ControllerState_Cancel. */
static void ozw_cmd_timer_cb_body(uv_timer_t *t)
{
	struct zw_ozw *z = static_cast<struct zw_ozw *>(t->data);
	char msg[OZW_MSG_MAX];
	const char *cmd = z->cmd;
	bool ok = false;

	if (!cmd)
		return;
	z->cmd_timed_out = true;
	z->cmd_cancelling = true;
	try {
		ok = Manager::Get()->CancelControllerCommand(z->home);
	} catch (...) {
	}
	if (ok)
		return;
	snprintf(msg, sizeof(msg), "%s: timed out after %u s", cmd,
		 z->cmd_timeout_s);
	ozw_command_done(z);
	ozw_emit_command(z, cmd, 0, -ETIMEDOUT, msg);
}

static void ozw_cmd_timer_cb(uv_timer_t *t)
{
	ozw_guard("include/exclude timeout", 0, [&] {
		ozw_cmd_timer_cb_body(t);
		return 0;
	});
}

/* A command cut short by the controller going away. */
static void ozw_command_abort(struct zw_ozw *z)
{
	char msg[OZW_MSG_MAX];
	const char *cmd = z->cmd;

	if (!cmd)
		return;
	snprintf(msg, sizeof(msg), "%s: failed (the controller went away)",
		 cmd);
	ozw_command_done(z);
	ozw_emit_command(z, cmd, 0, -EIO, msg);
}

/* ------------------------------------------------------------------ */
/* Controller supervision: open, watch, lose, open again.              */

static void ozw_try_open(uv_timer_t *t);

static void ozw_watch_close_cb(uv_handle_t *h)
{
	struct ozw_watch *w = static_cast<struct ozw_watch *>(h->data);

	close(w->fd);
	free(w);
}

static void ozw_watch_stop(struct zw_ozw *z)
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
static void ozw_controller_lost(struct zw_ozw *z, const char *why)
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

static void ozw_try_open(uv_timer_t *t)
{
	ozw_guard("opening the device", 0, [&] {
		ozw_try_open_body(t);
		return 0;
	});
}

static void ozw_on_ready(struct zw_ozw *z, const ozw_item &it)
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

static void ozw_on_queried(struct zw_ozw *z, const ozw_item &it)
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

static void ozw_on_alert(const ozw_item &it)
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

/* ------------------------------------------------------------------ */
/* The loop side of the queue.                                         */

static void ozw_process(struct zw_ozw *z, const ozw_item &it)
{
	if (it.kind == ITEM_LOG) {
		if (it.node && it.node != 0xff)
			log_msg(it.prio, "openzwave: node %u: %s", it.node,
				it.text.c_str());
		else
			log_msg(it.prio, "openzwave: %s", it.text.c_str());
		return;
	}
	switch (it.type) {
	case Notification::Type_DriverReady:
		ozw_on_ready(z, it);
		break;
	case Notification::Type_DriverFailed:
		ozw_controller_lost(z,
				    "OpenZWave could not open the controller");
		break;
	case Notification::Type_DriverReset:
		ozw_forget_all(z);
		break;
	case Notification::Type_NodeNew:
		log_debug("zwave openzwave: node %u is new", it.node);
		break;
	case Notification::Type_NodeAdded:
	case Notification::Type_NodeRemoved:
	case Notification::Type_NodeReset:
	case Notification::Type_NodeNaming:
	case Notification::Type_NodeProtocolInfo:
	case Notification::Type_EssentialNodeQueriesComplete:
	case Notification::Type_NodeQueriesComplete:
		ozw_on_node(z, it);
		break;
	case Notification::Type_ValueAdded:
	case Notification::Type_ValueChanged:
	case Notification::Type_ValueRefreshed:
	case Notification::Type_ValueRemoved:
		ozw_on_value(z, it);
		break;
	case Notification::Type_AwakeNodesQueried:
	case Notification::Type_AllNodesQueried:
	case Notification::Type_AllNodesQueriedSomeDead:
		ozw_on_queried(z, it);
		break;
	case Notification::Type_Notification:
		ozw_on_notification(z, it);
		break;
	case Notification::Type_NodeEvent:
	case Notification::Type_SceneEvent:
		ozw_on_event(z, it, it.type == Notification::Type_SceneEvent);
		break;
	case Notification::Type_ControllerCommand:
		ozw_on_command(z, it);
		break;
	case Notification::Type_UserAlerts:
		ozw_on_alert(it);
		break;
	default:
		break;
	}
}

/*
 * Everything queued so far, in order.  A controller lost meanwhile
 * makes the rest of the batch stale (its generation changed).
 */
static void ozw_drain(struct zw_ozw *z, bool notifications)
{
	std::deque<ozw_item> batch;
	unsigned long lost;
	unsigned gen = z->generation;

	{
		std::lock_guard<std::mutex> lock(z->mu);
		batch.swap(z->queue);
	}
	lost = z->dropped.exchange(0);
	if (lost)
		log_warning("zwave openzwave: %lu notifications lost", lost);
	for (const ozw_item &it : batch) {
		if (it.kind == ITEM_NOTIFICATION &&
		    (!notifications || z->closing || z->generation != gen))
			continue;
		try {
			ozw_process(z, it);
		} catch (const std::exception &e) {
			log_warning("zwave openzwave: %s", e.what());
		} catch (...) {
			log_warning("zwave openzwave: unknown exception");
		}
	}
}

static void ozw_async_cb_body(uv_async_t *a)
{
	ozw_drain(static_cast<struct zw_ozw *>(a->data), true);
}

static void ozw_async_cb(uv_async_t *a)
{
	ozw_guard("notifications", 0, [&] {
		ozw_async_cb_body(a);
		return 0;
	});
}

/* ------------------------------------------------------------------ */
/* Operations (loop thread, called through the zw wrappers).           */

static struct zw_ozw *ozw_of(struct zw *zb)
{
	return reinterpret_cast<struct zw_ozw *>(zb);
}

/* 0 when the controller can take a command now. */
static int ozw_usable(struct zw_ozw *z)
{
	if (z->closing)
		return -ECANCELED;
	return z->drv == DRV_READY ? 0 : -ENODEV;
}

static const ozw_entry *ozw_entry_of(struct zw_ozw *z, const struct value_key *k)
{
	auto p = z->paths.find(ozw_path(k));
	auto it =
	    p == z->paths.end() ? z->values.end() : z->values.find(p->second);

	return it == z->values.end() ? nullptr : &it->second;
}

static bool ozw_parse_hex(const char *s, std::vector<uint8_t> *out)
{
	size_t n = strlen(s);

	if (n % 2 || n / 2 > 255)
		return false;
	for (size_t i = 0; i < n; i += 2) {
		char b[3] = { s[i], s[i + 1], 0 }, *end;

		if (!isxdigit((unsigned char)b[0]) ||
		    !isxdigit((unsigned char)b[1]))
			return false;
		out->push_back((uint8_t)strtoul(b, &end, 16));
	}
	return true;
}

/* An integer for a Byte, Short or Int ValueID, range-checked. */
static bool ozw_set_int(const ValueID &v, int64_t i)
{
	Manager *m = Manager::Get();

	switch (v.GetType()) {
	case ValueID::ValueType_Byte:
		return i >= 0 && i <= UINT8_MAX && m->SetValue(v, (uint8)i);
	case ValueID::ValueType_Short:
		return i >= INT16_MIN && i <= INT16_MAX &&
		       m->SetValue(v, (int16)i);
	default:
		return i >= INT32_MIN && i <= INT32_MAX &&
		       m->SetValue(v, (int32)i);
	}
}

static bool ozw_set(const ozw_entry &e, const struct value *val)
{
	Manager *m = Manager::Get();
	const ValueID &v = e.vid;
	std::vector<uint8_t> raw;

	switch (e.meta.type) {
	case VALUE_BOOL:
		return m->SetValue(v, val->u.b);
	case VALUE_INT:
		return ozw_set_int(v, val->u.i);
	case VALUE_FLOAT:
		return m->SetValue(v, (float)val->u.f);
	case VALUE_ENUM:
		return val->u.i >= 0 && (size_t)val->u.i < e.items.size() &&
		       m->SetValueListSelection(v, e.items[val->u.i]);
	case VALUE_STRING:
		if (e.list_as_string)
			return m->SetValueListSelection(v, val->u.s);
		if (v.GetType() == ValueID::ValueType_Raw)
			return ozw_parse_hex(val->u.s, &raw) && !raw.empty() &&
			       m->SetValue(v, raw.data(), (uint8)raw.size());
		return m->SetValue(v, std::string(val->u.s));
	case VALUE_BUTTON:
		/* A press is a press and a release, as on the device. */
		return m->PressButton(v) && m->ReleaseButton(v);
	}
	return false;
}

static int ozw_set_value(struct zw *zb, const struct value_key *key,
			 const struct value *val)
{
	struct zw_ozw *z = ozw_of(zb);
	const ozw_entry *e;
	int r;

	if (z->closing)
		return -ECANCELED;
	e = ozw_entry_of(z, key);
	if (!e)
		return -ENOENT;
	if (!e->meta.writable)
		return -EACCES;
	if (e->meta.type != VALUE_BUTTON &&
	    (!val || val->type != e->meta.type ||
	     (val->type == VALUE_STRING && !val->u.s)))
		return -EINVAL;
	r = ozw_usable(z);
	if (r < 0)
		return r;
	try {
		if (Manager::Get()->IsNodeFailed(z->home, key->node))
			return -EHOSTDOWN;
		return ozw_set(*e, val) ? 0 : -EINVAL;
	} catch (...) {
		return -EIO;
	}
}

static int ozw_node_ready(struct zw_ozw *z, uint8_t node)
{
	int r = ozw_usable(z);

	if (r < 0)
		return r;
	return node >= ZW_NODE_MIN && node <= ZW_NODE_MAX && z->known.test(node)
		   ? 0
		   : -ENOENT;
}

/* Interview the node again: its values are all reported anew. */
static int ozw_refresh(struct zw *zb, uint8_t node)
{
	struct zw_ozw *z = ozw_of(zb);
	int r = ozw_node_ready(z, node);

	if (r < 0)
		return r;
	try {
		return Manager::Get()->RefreshNodeInfo(z->home, node) ? 0
								      : -EIO;
	} catch (...) {
		return -EIO;
	}
}

static int ozw_start_command(struct zw_ozw *z, const char *cmd, bool secure,
			     unsigned timeout_s)
{
	int r = ozw_usable(z);
	bool ok = false;

	if (r < 0)
		return r;
	if (timeout_s == 0 || timeout_s > OZW_TIMEOUT_MAX_S)
		return -EINVAL;
	if (z->cmd)
		return -EBUSY;
	try {
		if (strcmp(cmd, "include") == 0)
			ok = Manager::Get()->AddNode(z->home, secure);
		else
			ok = Manager::Get()->RemoveNode(z->home);
	} catch (...) {
	}
	if (!ok)
		return -EBUSY;
	z->cmd = cmd;
	z->cmd_started = false;
	z->cmd_cancelling = false;
	z->cmd_timeout_s = timeout_s;
	z->cmd_timed_out = false;
	uv_timer_start(&z->cmd_timer, ozw_cmd_timer_cb,
		       (uint64_t)timeout_s * 1000, 0);
	log_info("zwave openzwave: %s%s started for %u s", cmd,
		 secure ? " (secure)" : "", timeout_s);
	return 0;
}

static int ozw_include(struct zw *zb, bool secure, unsigned timeout_s)
{
	return ozw_start_command(ozw_of(zb), "include", secure, timeout_s);
}

static int ozw_exclude(struct zw *zb, unsigned timeout_s)
{
	return ozw_start_command(ozw_of(zb), "exclude", false, timeout_s);
}

static int ozw_cancel(struct zw *zb)
{
	struct zw_ozw *z = ozw_of(zb);
	int r = ozw_usable(z);

	if (r < 0)
		return r;
	if (!z->cmd)
		return -ENOENT;
	z->cmd_cancelling = true;
	try {
		return Manager::Get()->CancelControllerCommand(z->home) ? 0
									: -EIO;
	} catch (...) {
		return -EIO;
	}
}

/* Every node updates its neighbours and routes; progress comes per node. */
static int ozw_heal(struct zw *zb)
{
	struct zw_ozw *z = ozw_of(zb);
	int r = ozw_usable(z);

	if (r < 0)
		return r;
	try {
		Manager::Get()->HealNetwork(z->home, true);
	} catch (...) {
		return -EIO;
	}
	ozw_emit_command(z, "heal", 0, 0, "heal: started for every node");
	return 0;
}

static int ozw_set_config(struct zw *zb, uint8_t node, uint8_t param,
			  int32_t value, uint8_t size)
{
	struct zw_ozw *z = ozw_of(zb);
	int r = ozw_node_ready(z, node);
	int64_t lo = size == 1 ? INT8_MIN : size == 2 ? INT16_MIN : INT32_MIN;
	int64_t hi = size == 1 ? UINT8_MAX : size == 2 ? UINT16_MAX : INT32_MAX;

	if (size != 1 && size != 2 && size != 4)
		return -EINVAL;
	if (value < lo || value > hi)
		return -ERANGE;
	if (r < 0)
		return r;
	/* The Get makes the node report it: OpenZWave only sends the Set. */
	try {
		if (!Manager::Get()->SetConfigParam(z->home, node, param, value,
						    size))
			return -EIO;
		Manager::Get()->RequestConfigParam(z->home, node, param);
		return 0;
	} catch (...) {
		return -EIO;
	}
}

/* ------------------------------------------------------------------ */
/* Open and close.                                                     */

/*
 * The S0 network key: 16 bytes as hex digits, with or without "0x" and
 * commas ("0x01, 0x02, ..." as in OpenZWave's options.xml).  The file
 * must be a regular file of root or ours, unreadable by others.  Into
 * ret in OpenZWave's form; the key never reaches a log.
 */
static int ozw_key_parse(const char *s, size_t len, uint8_t *key)
{
	size_t nibbles = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int v;

		if (c == '0' && i + 1 < len && (s[i + 1] | 0x20) == 'x') {
			i++;
			continue;
		}
		if (isspace((unsigned char)c) || c == ',')
			continue;
		if (!isxdigit((unsigned char)c) || nibbles == 2 * OZW_KEY_BYTES)
			return -EINVAL;
		v = isdigit((unsigned char)c) ? c - '0' : (c | 0x20) - 'a' + 10;
		if (nibbles % 2)
			key[nibbles / 2] = (uint8_t)(key[nibbles / 2] << 4 | v);
		else
			key[nibbles / 2] = (uint8_t)v;
		nibbles++;
	}
	return nibbles == 2 * OZW_KEY_BYTES ? 0 : -EINVAL;
}

/* A regular file of root or ours, no bit for the group or others. */
static int ozw_check_key(const struct stat *st, void *arg)
{
	(void)arg;
	if (!S_ISREG(st->st_mode) || (st->st_mode & 077) ||
	    (st->st_uid != 0 && st->st_uid != geteuid()))
		return -EACCES;
	return 0;
}

/* Checked on the descriptor it is read from (fs_read_checked). */
static int ozw_read_key(const char *path, std::string *ret)
{
	uint8_t key[OZW_KEY_BYTES];
	char *buf = NULL, out[8];
	size_t len = 0;
	int r;

	r = fs_read_checked(path, OZW_KEY_FILE_MAX, ozw_check_key, NULL, &buf,
			    &len);
	if (r == 0)
		r = ozw_key_parse(buf, len, key);
	fs_free_secret(buf, len);
	if (r < 0) {
		explicit_bzero(key, sizeof(key));
		return r;
	}
	ret->clear();
	for (size_t i = 0; i < OZW_KEY_BYTES; i++) {
		snprintf(out, sizeof(out), "%s0x%02X", i ? ", " : "", key[i]);
		ret->append(out);
	}
	explicit_bzero(key, sizeof(key));
	explicit_bzero(out, sizeof(out));
	return 0;
}

/* OpenZWave's threads still alive (it names them "OZW-..."). */
static int ozw_thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) &&
		    strncmp(comm, OZW_THREAD_PREFIX,
			    strlen(OZW_THREAD_PREFIX)) == 0)
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

/*
 * OpenZWave stops a thread by waiting for its last notification, not
 * by joining it: give the last ones a moment to end.
 */
static int ozw_threads_left(void)
{
	int n = ozw_thread_count();

	for (int waited = 0; n > 0 && waited < OZW_THREAD_WAIT_MS;
	     waited += 10) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, nullptr);
		n = ozw_thread_count();
	}
	return n;
}

static void ozw_free(struct zw_ozw *z)
{
	if (ozw_instance == z)
		ozw_instance = nullptr;
	delete z;
}

static void ozw_close_cb(uv_handle_t *h)
{
	struct zw_ozw *z = static_cast<struct zw_ozw *>(h->data);

	if (--z->handles == 0)
		ozw_free(z);
}

static void ozw_close_handles(struct zw_ozw *z)
{
	uv_handle_t *h[] = { (uv_handle_t *)&z->async, (uv_handle_t *)&z->retry,
			     (uv_handle_t *)&z->ready_timer,
			     (uv_handle_t *)&z->cmd_timer };

	for (uv_handle_t *x : h)
		if (x->loop && !uv_is_closing(x))
			uv_close(x, ozw_close_cb);
}

/* Watcher off first, then the driver, then the manager: no thread left. */
static void ozw_stop_manager(struct zw_ozw *z)
{
	try {
		Manager *m = Manager::Get();

		if (m) {
			m->RemoveWatcher(ozw_watcher, z);
			if (z->drv != DRV_NONE)
				m->RemoveDriver(z->device);
			Manager::Destroy();
		}
		Options::Destroy();
	} catch (const std::exception &e) {
		log_warning("zwave openzwave: stopping: %s", e.what());
	} catch (...) {
		log_warning("zwave openzwave: stopping: unknown exception");
	}
	z->drv = DRV_NONE;
}

static void ozw_close(struct zw *zb)
{
	struct zw_ozw *z = ozw_of(zb);
	uint64_t t0 = uv_hrtime();
	int left;

	if (z->closing)
		return;
	z->closing = true;
	ozw_stop_manager(z);
	ozw_watch_stop(z);
	ozw_drain(z, false); /* its last log lines; no event after close */
	left = ozw_threads_left();
	if (left)
		log_warning("zwave openzwave: %d OpenZWave threads still "
			    "running after it stopped",
			    left);
	else
		log_info("zwave openzwave: closed in %" PRIu64
			 " ms, no OpenZWave thread left",
			 (uv_hrtime() - t0) / 1000000);
	ozw_close_handles(z);
}

static LogLevel ozw_log_level(void)
{
	return log_get_level() >= LOG_DEBUG ? OpenZWave::LogLevel_Info
					    : OpenZWave::LogLevel_Warning;
}

/*
 * OpenZWave's own log opens its file (even with logging off) until ours
 * replaces it: an empty one is its, and goes.
 */
static void ozw_unlink_empty(const std::string &path)
{
	struct stat st;

	if (lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size == 0)
		unlink(path.c_str());
}

/*
 * Options given on OpenZWave's "command line" win over any options.xml
 * (Debian's has DriverMaxAttempts 5, after which a driver is lost
 * inside OpenZWave with two threads running).  The key is not passed
 * that way: it is an ordinary option.
 */
static void ozw_start_manager(struct zw_ozw *z, const std::string &key)
{
	static const char cmdline[] =
	    "--Logging false --ConsoleOutput false --AppendLogFile true "
	    "--SaveConfiguration true --AutoUpdateConfigFile false "
	    "--DriverMaxAttempts 0 --NotifyOnDriverUnload false "
	    "--NotifyTransactions false";
	LogLevel level = ozw_log_level();

	Options::Create(OZW_CONFIG_PATH, z->user_path, cmdline);
	if (!key.empty())
		Options::Get()->AddOptionString("NetworkKey", key, false);
	Options::Get()->Lock();
	Manager::Create();
	OpenZWave::Log::SetLoggingClass(new ozw_log(z, level));
	OpenZWave::Log::SetLoggingState(level, (LogLevel)(level + 1),
					OpenZWave::LogLevel_None);
	ozw_unlink_empty(z->user_path + "OZW_Log.txt");
	Manager::Get()->AddWatcher(ozw_watcher, z);
}

static int ozw_prepare(struct zw_ozw *z, const struct zw_opts *opts,
		       std::string *key)
{
	const char *state_dir = opts->state_dir;
	const char *kf = opts->network_key_file;
	char *dir = fs_join(state_dir, OZW_USER_DIR);
	int r = dir ? fs_ensure_dir(dir, 0700) : -ENOMEM;

	if (r < 0) {
		log_error("zwave openzwave: %s: %s", dir ? dir : state_dir,
			  strerror(-r));
		free(dir);
		return r;
	}
	z->user_path = std::string(dir) + "/";
	free(dir);
	z->device = opts->device && *opts->device ? opts->device
						  : OZW_DEFAULT_DEVICE;
	if (!kf)
		return 0;
	r = ozw_read_key(kf, key);
	if (r == -EACCES)
		log_error("network key file %s: must be a regular file of "
			  "root or ours with mode 0600 or stricter",
			  kf);
	else if (r == -EINVAL || r == -EFBIG)
		log_error("network key file %s: must hold 16 bytes as hex "
			  "digits",
			  kf);
	else if (r < 0)
		log_error("network key file %s: %s", kf, strerror(-r));
	else
		log_info("zwave openzwave: network key read from %s", kf);
	return r;
}

static void ozw_init_handles(struct zw_ozw *z)
{
	uv_timer_t *timers[] = { &z->retry, &z->ready_timer, &z->cmd_timer };

	uv_async_init(z->loop, &z->async, ozw_async_cb);
	z->async.data = z;
	for (uv_timer_t *t : timers) {
		uv_timer_init(z->loop, t);
		t->data = z;
	}
	z->handles = 4;
}

static int ozw_open(uv_loop_t *loop, const struct zw_opts *opts,
		    zw_event_fn cb, void *ctx, struct zw **ret)
{
	struct zw_ozw *z;
	std::string key;
	int r;

	if (ozw_instance) {
		log_error("zwave openzwave: the backend is already open");
		return -EBUSY;
	}
	z = new (std::nothrow) zw_ozw();
	if (!z)
		return -ENOMEM;
	z->base.ops = &zw_ozw_ops;
	z->loop = loop;
	z->cb = cb;
	z->ctx = ctx;
	r = ozw_prepare(z, opts, &key);
	if (r < 0) {
		delete z;
		return r;
	}
	/* The async first: OpenZWave logs from Manager::Create on. */
	ozw_init_handles(z);
	ozw_instance = z;
	try {
		ozw_start_manager(z, key);
	} catch (const std::exception &e) {
		log_error("zwave openzwave: cannot start OpenZWave: %s",
			  e.what());
		r = -EIO;
	} catch (...) {
		log_error("zwave openzwave: cannot start OpenZWave");
		r = -EIO;
	}
	std::fill(key.begin(), key.end(), '\0');
	if (r < 0) {
		/* Freed once its handles are closed, as after a close. */
		z->closing = true;
		ozw_stop_manager(z);
		ozw_drain(z, false);
		ozw_close_handles(z);
		return r;
	}
	/* The first try waits for the loop: our caller is not ready yet. */
	uv_timer_start(&z->retry, ozw_try_open, 0, 0);
	*ret = &z->base;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The C edge.                                                         */

static int ozw_c_open(uv_loop_t *loop, const struct zw_opts *opts,
		      zw_event_fn cb, void *ctx, struct zw **ret)
{
	return ozw_guard("open", -ENOMEM,
			 [&] { return ozw_open(loop, opts, cb, ctx, ret); });
}

static void ozw_c_close(struct zw *z)
{
	ozw_guard("close", 0, [&] {
		ozw_close(z);
		return 0;
	});
}

static int ozw_c_set_value(struct zw *z, const struct value_key *key,
			   const struct value *val)
{
	return ozw_guard("set", -EIO,
			 [&] { return ozw_set_value(z, key, val); });
}

static int ozw_c_refresh(struct zw *z, uint8_t node)
{
	return ozw_guard("refresh", -EIO, [&] { return ozw_refresh(z, node); });
}

static int ozw_c_include(struct zw *z, bool secure, unsigned timeout_s)
{
	return ozw_guard("include", -EIO,
			 [&] { return ozw_include(z, secure, timeout_s); });
}

static int ozw_c_exclude(struct zw *z, unsigned timeout_s)
{
	return ozw_guard("exclude", -EIO,
			 [&] { return ozw_exclude(z, timeout_s); });
}

static int ozw_c_cancel(struct zw *z)
{
	return ozw_guard("cancel", -EIO, [&] { return ozw_cancel(z); });
}

static int ozw_c_heal(struct zw *z)
{
	return ozw_guard("heal", -EIO, [&] { return ozw_heal(z); });
}

static int ozw_c_set_config(struct zw *z, uint8_t node, uint8_t param,
			    int32_t value, uint8_t size)
{
	return ozw_guard("config-set", -EIO, [&] {
		return ozw_set_config(z, node, param, value, size);
	});
}

extern "C" const struct zw_ops zw_ozw_ops = {
	"openzwave",   ozw_c_open,    ozw_c_close,	ozw_c_set_value,
	ozw_c_refresh, ozw_c_include, ozw_c_exclude,	ozw_c_cancel,
	ozw_c_heal,    nullptr,	      ozw_c_set_config,
};
