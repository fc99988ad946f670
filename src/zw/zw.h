/* SPDX-License-Identifier: MIT */
/*
 * zw.h: the Z-Wave backend interface.
 *
 * A backend is a struct of function pointers, called only through the
 * inline wrappers below, each with a one-line contract.  Everything a
 * backend learns goes up through one callback, as a struct zw_event (see
 * zw_event.h, the part the core shares) whose
 * pointers are borrowed for the duration of the call.  The callback always
 * runs on the loop thread.  Backends: "sim" (zw_sim.c, a simulated network
 * described by a JSON file), "openzwave" (zw_ozw.cc) and "zwavejs"
 * (zw_zjs.c, a client of the Z-Wave JS server).
 */
#ifndef ZWGATE_ZW_H
#define ZWGATE_ZW_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <uv.h>

#include "value.h"
#include "zw_event.h"

typedef void (*zw_event_fn)(void *ctx, const struct zw_event *ev);

struct zw;

/*
 * What a backend is opened with (the daemon fills it from the zwave
 * section of the configuration).  The strings are borrowed for the
 * duration of open() only.
 */
struct zw_opts {
	const char *state_dir;	      /* the backend's own files go below it */
	const char *sim_network;      /* sim: the network file; required */
	const char *device;	      /* openzwave: NULL or "": /dev/ttyACM0 */
	const char *network_key_file; /* openzwave: may be NULL */
	const char *server;	      /* zwavejs: a ws:// URL (wsurl.h) */
};

/*
 * Security classes, as bits of a mask (bit n is zwave-js's SecurityClass
 * n): what an include grants a device.
 */
#define ZW_SEC_S2_UNAUTHENTICATED (1u << 0)
#define ZW_SEC_S2_AUTHENTICATED	  (1u << 1)
#define ZW_SEC_S2_ACCESS_CONTROL  (1u << 2)
#define ZW_SEC_S0_LEGACY	  (1u << 7)
/* Long Range takes these two only (no S2 Unauthenticated, no S0). */
#define ZW_SEC_LONG_RANGE (ZW_SEC_S2_AUTHENTICATED | ZW_SEC_S2_ACCESS_CONTROL)
/* provision add: the device joins by Long Range (or'd into grant). */
#define ZW_PROVISION_LONG_RANGE (1u << 16)
#define ZW_SEC_ALL                                             \
	(ZW_SEC_S2_UNAUTHENTICATED | ZW_SEC_S2_AUTHENTICATED | \
	 ZW_SEC_S2_ACCESS_CONTROL | ZW_SEC_S0_LEGACY)
#define ZW_PIN_LEN 5 /* an S2 PIN: the first five digits of the DSK */

/* The answers to an S2 device's questions during an include. */
struct zw_s2 {
	bool answer;		  /* the PIN for the include under way */
	bool grant_set;		  /* false: grant what the device asks for */
	unsigned grant;		  /* ZW_SEC_* */
	char pin[ZW_PIN_LEN + 1]; /* "" while not known */
};

/*
 * A firmware image for a device (zwgatectl firmware update): its bytes
 * as the file holds them, borrowed for the call, and the file's name,
 * whose extension says its format.
 */
struct zw_firmware {
	const char *name; /* a base name: zw_firmware_name_ok */
	const unsigned char *data;
	size_t len;	 /* 1 to ZW_FIRMWARE_MAX */
	unsigned target; /* 0: the device's own firmware; 1..255 others */
};

/* The biggest image taken (a 700/800-series device's is under 256 KiB;
 * some makers ship theirs inside an updater .exe of a megabyte or two). */
#define ZW_FIRMWARE_MAX (4u * 1024u * 1024u)
/* The formats zwave-js reads, by the file's extension. */
#define ZW_FIRMWARE_EXTS \
	".bin, .hex, .ota, .otz, .gbl, .hec, .exe, .ex_ or .zip"
#define ZW_FIRMWARE_NAME_MAX 128

/* name is a file name (no '/', at most ZW_FIRMWARE_NAME_MAX bytes, no
 * control character) ending in one of ZW_FIRMWARE_EXTS (any case). */
bool zw_firmware_name_ok(const char *name);

struct zw_ops {
	const char *name;
	/* Start the backend; events may flow as soon as the loop runs. */
	int (*open)(uv_loop_t *loop, const struct zw_opts *opts, zw_event_fn cb,
		    void *ctx, struct zw **ret);
	/* Stop: no event after this returns; memory freed once its handles
	 * are closed (so run the loop after it). */
	void (*close)(struct zw *z);
	int (*set_value)(struct zw *z, const struct value_key *key,
			 const struct value *val);
	int (*refresh)(struct zw *z, uint16_t node);
	int (*include)(struct zw *z, bool secure, unsigned timeout_s);
	int (*exclude)(struct zw *z, unsigned timeout_s);
	int (*cancel)(struct zw *z);
	int (*heal)(struct zw *z);
	/* Test hook of simulated networks ("sim" requests of the control
	 * socket): result JSON in *ret, or -errno with a reason in err. */
	int (*inject)(struct zw *z, const json_t *req, json_t **ret, char *err,
		      size_t errlen);
	/* Configuration parameter param of node takes value (size bytes:
	 * 1, 2 or 4); the node's report follows as a value event. */
	int (*set_config)(struct zw *z, uint16_t node, uint8_t param,
			  int32_t value, uint8_t size);
	/* The S2 answers for the include under way or about to start. */
	int (*s2)(struct zw *z, const struct zw_s2 *s2);
	/* SmartStart's provisioning list: op "add" (code: a QR code or a
	 * DSK; grant: ZW_SEC_*, 0 for all of S2, with
	 * ZW_PROVISION_LONG_RANGE for a Long Range join), "remove" (code: a
	 * DSK or a node id) or "list".  -EINVAL for a bad code; the end
	 * comes as ZW_EV_CONTROLLER "provision". */
	int (*provision)(struct zw *z, const char *op, const char *code,
			 unsigned grant);
	/* Check the link of node to the controller: rounds (1 to
	 * ZW_HEALTH_ROUNDS_MAX) of pings, stopped after timeout_s.  Each
	 * round and the end (the rating, 0 to 10) come as ZW_EV_CONTROLLER
	 * "health"; cancel stops it. */
	int (*health)(struct zw *z, uint16_t node, unsigned rounds,
		      unsigned timeout_s);
	/* Read the controller's memory (its NVM: the network, its keys)
	 * within timeout_s.  Progress and the end come as ZW_EV_CONTROLLER
	 * "backup"; the end's data is the NVM in base64 (at most
	 * ZW_BACKUP_MAX characters).  It cannot be cancelled. */
	int (*backup)(struct zw *z, unsigned timeout_s);
	/* Send fw to node, as one update of its firmware target, within
	 * timeout_s.  Progress and the end come as ZW_EV_CONTROLLER
	 * "firmware"; cancel aborts it.  -EINVAL when fw->name is not one
	 * zw_firmware_name_ok takes. */
	int (*firmware_update)(struct zw *z, uint16_t node,
			       const struct zw_firmware *fw,
			       unsigned timeout_s);
};

/* The biggest backup taken, in base64 characters (a 500-series NVM is
 * 128 KiB at most, a 700/800-series one less). */
#define ZW_BACKUP_MAX (512u * 1024u)

#define ZW_HEALTH_ROUNDS_MAX 10

/* Every backend instance starts with this. */
struct zw {
	const struct zw_ops *ops;
};

/* The backend called name, or NULL; and the names built in. */
const struct zw_ops *zw_backend(const char *name);
const char *const *zw_backend_names(void);

static inline const char *zw_name(const struct zw *z)
{
	return z->ops->name;
}

/* Ask the node to take val; the change arrives later as VALUE_CHANGED. */
static inline int zw_set_value(struct zw *z, const struct value_key *key,
			       const struct value *val)
{
	return z->ops->set_value ? z->ops->set_value(z, key, val) : -ENOTSUP;
}

/* Ask the node to report all its values again. */
static inline int zw_refresh(struct zw *z, uint16_t node)
{
	return z->ops->refresh ? z->ops->refresh(z, node) : -ENOTSUP;
}

/* Put the controller in inclusion mode for at most timeout_s. */
static inline int zw_include(struct zw *z, bool secure, unsigned timeout_s)
{
	return z->ops->include ? z->ops->include(z, secure, timeout_s)
			       : -ENOTSUP;
}

/*
 * Give the S2 answers (classes to grant, the device's PIN) for the next
 * include, or the PIN to the one under way that waits for it.
 */
static inline int zw_set_s2(struct zw *z, const struct zw_s2 *s2)
{
	return z->ops->s2 ? z->ops->s2(z, s2) : -ENOTSUP;
}

/* Add to, remove from or list SmartStart's provisioning list. */
static inline int zw_provision(struct zw *z, const char *op, const char *code,
			       unsigned grant)
{
	return z->ops->provision ? z->ops->provision(z, op, code, grant)
				 : -ENOTSUP;
}

/* Check node's link to the controller (zw_ops.health). */
static inline int zw_health(struct zw *z, uint16_t node, unsigned rounds,
			    unsigned timeout_s)
{
	return z->ops->health ? z->ops->health(z, node, rounds, timeout_s)
			      : -ENOTSUP;
}

/* Read the controller's NVM (zw_ops.backup). */
static inline int zw_backup(struct zw *z, unsigned timeout_s)
{
	return z->ops->backup ? z->ops->backup(z, timeout_s) : -ENOTSUP;
}

/* Update node's firmware (zw_ops.firmware_update). */
static inline int zw_firmware_update(struct zw *z, uint16_t node,
				     const struct zw_firmware *fw,
				     unsigned timeout_s)
{
	return z->ops->firmware_update
		   ? z->ops->firmware_update(z, node, fw, timeout_s)
		   : -ENOTSUP;
}

/* Whether the backend updates devices' firmware at all. */
static inline bool zw_can_update_firmware(const struct zw *z)
{
	return z->ops->firmware_update != NULL;
}

/* Put the controller in exclusion mode for at most timeout_s. */
static inline int zw_exclude(struct zw *z, unsigned timeout_s)
{
	return z->ops->exclude ? z->ops->exclude(z, timeout_s) : -ENOTSUP;
}

/* Stop a running include, exclude, health check or firmware update. */
static inline int zw_cancel(struct zw *z)
{
	return z->ops->cancel ? z->ops->cancel(z) : -ENOTSUP;
}

/* Rebuild the network's routes. */
static inline int zw_heal(struct zw *z)
{
	return z->ops->heal ? z->ops->heal(z) : -ENOTSUP;
}

/* Write a configuration parameter of node (size 1, 2 or 4 bytes). */
static inline int zw_set_config(struct zw *z, uint16_t node, uint8_t param,
				int32_t value, uint8_t size)
{
	return z->ops->set_config
		   ? z->ops->set_config(z, node, param, value, size)
		   : -ENOTSUP;
}

/* Simulated networks only: -ENOTSUP elsewhere. */
static inline int zw_inject(struct zw *z, const json_t *req, json_t **ret,
			    char *err, size_t errlen)
{
	return z->ops->inject ? z->ops->inject(z, req, ret, err, errlen)
			      : -ENOTSUP;
}

/* Stop and release; z may be NULL. */
static inline void zw_close(struct zw *z)
{
	if (z)
		z->ops->close(z);
}

/*
 * Once the loop has stopped (uv_run returned), before uv_loop_close: free
 * what closed backends could not free while it ran (libwebsockets frees
 * its context only then).  Harmless when there is nothing.
 */
void zw_after_loop(void);

extern const struct zw_ops zw_sim_ops;
#ifdef HAVE_OPENZWAVE
extern const struct zw_ops zw_ozw_ops;
#endif
#ifdef HAVE_ZWAVEJS
extern const struct zw_ops zw_zjs_ops;
#endif

#endif
