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
 *
 * The backend is split by concern, sharing zw_ozw_int.h: zw_ozw.cc (the
 * loop side of the queue, the operations, open, close and the C edge),
 * zw_ozw_thread.cc (what runs on OpenZWave's threads: the watcher and
 * the log, handing their work to the loop through the uv_async_t),
 * zw_ozw_node.cc (events up, nodes), zw_ozw_value.cc (ValueIDs to
 * registry values and back), zw_ozw_command.cc (include, exclude, heal)
 * and zw_ozw_supervise.cc (opening the controller and watching it).
 */
#include "config.h"

#include "zw_ozw_int.h"

static struct zw_ozw *ozw_instance;

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

struct zw_ozw *ozw_of(struct zw *zb)
{
	return reinterpret_cast<struct zw_ozw *>(zb);
}

/* 0 when the controller can take a command now. */
int ozw_usable(struct zw_ozw *z)
{
	if (z->closing)
		return -ECANCELED;
	return z->drv == DRV_READY ? 0 : -ENODEV;
}

const ozw_entry *ozw_entry_of(struct zw_ozw *z, const struct value_key *k)
{
	auto p = z->paths.find(ozw_path(k));
	auto it =
	    p == z->paths.end() ? z->values.end() : z->values.find(p->second);

	return it == z->values.end() ? nullptr : &it->second;
}

static int ozw_node_ready(struct zw_ozw *z, uint16_t node)
{
	int r = ozw_usable(z);

	if (r < 0)
		return r;
	return node >= ZW_NODE_MIN && node <= ZW_NODE_MESH_MAX &&
		       z->known.test(node)
		   ? 0
		   : -ENOENT;
}

/* Interview the node again: its values are all reported anew. */
static int ozw_refresh(struct zw *zb, uint16_t node)
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

static int ozw_set_config(struct zw *zb, uint16_t node, uint8_t param,
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
	z->device =
	    opts->device && *opts->device ? opts->device : OZW_DEFAULT_DEVICE;
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

static int ozw_open(uv_loop_t *loop, const struct zw_opts *opts, zw_event_fn cb,
		    void *ctx, struct zw **ret)
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

static int ozw_c_refresh(struct zw *z, uint16_t node)
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

static int ozw_c_set_config(struct zw *z, uint16_t node, uint8_t param,
			    int32_t value, uint8_t size)
{
	return ozw_guard("config-set", -EIO, [&] {
		return ozw_set_config(z, node, param, value, size);
	});
}

extern "C" const struct zw_ops zw_ozw_ops = {
	"openzwave",   ozw_c_open,    ozw_c_close,	ozw_c_set_value,
	ozw_c_refresh, ozw_c_include, ozw_c_exclude,	ozw_c_cancel,
	ozw_c_heal,    nullptr,	      ozw_c_set_config, nullptr, /* no S2 */
	nullptr, /* no SmartStart */
	nullptr, /* no lifeline health check */
	nullptr, /* no NVM backup */
	nullptr, /* no device firmware update (open-zwave #1563) */
};
