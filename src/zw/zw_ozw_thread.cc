/* SPDX-License-Identifier: MIT */
/*
 * zw_ozw_thread.cc: what runs on OpenZWave's threads: its watcher and its
 * log copy what they are told into the queue and wake the loop through
 * the uv_async_t (see "Threads" in zw_ozw.cc); and the start of the
 * Manager, which installs them.
 */
#include "config.h"

#include "zw_ozw_int.h"

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
void ozw_watcher(const Notification *n, void *ctx)
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
void ozw_start_manager(struct zw_ozw *z, const std::string &key)
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
