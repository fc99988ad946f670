/* SPDX-License-Identifier: MIT */
/*
 * zw_ozw_command.cc: the openzwave backend's controller commands:
 * include, exclude, cancel and heal, their progress and their timeout
 * (loop thread).
 */
#include "config.h"

#include "zw_ozw_int.h"

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

static void ozw_emit_command(struct zw_ozw *z, const char *cmd, uint16_t node,
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

void ozw_on_command(struct zw_ozw *z, const ozw_item &it)
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
void ozw_command_abort(struct zw_ozw *z)
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

int ozw_include(struct zw *zb, bool secure, unsigned timeout_s)
{
	return ozw_start_command(ozw_of(zb), "include", secure, timeout_s);
}

int ozw_exclude(struct zw *zb, unsigned timeout_s)
{
	return ozw_start_command(ozw_of(zb), "exclude", false, timeout_s);
}

int ozw_cancel(struct zw *zb)
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
int ozw_heal(struct zw *zb)
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
