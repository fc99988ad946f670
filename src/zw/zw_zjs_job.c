/* SPDX-License-Identifier: MIT */
/*
 * zw_zjs_job.c: the zwavejs backend's jobs that run for a while and end
 * with a result: the lifeline health check of a node (zwgatectl health),
 * the backup of the controller's NVM (zwgatectl backup) and, in
 * zw_zjs_fw.c, the firmware update of a device.
 *
 * One job at a time, beside an include or exclude (the server takes both).
 * Its progress and its end are ZW_EV_CONTROLLER events of the job's name,
 * as an include's are.  A health check that outlives its time limit is
 * aborted on the server, which then answers with what it has; one whose
 * answer never comes ends ZJS_STOPPED_GRACE_MS later without it.  A
 * backup cannot be stopped (zwave-js turns the radio off while it reads):
 * past its time it ends here, and its late answer is dropped.  The
 * backup's bytes hold the network keys: they go to the API as the end's
 * data, and never to the log.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "log.h"
#include "zw_zjs_int.h"

/* zwave-js's health rating (0..10) in words. */
static const char *zjs_rating_word(json_int_t r)
{
	return r >= 10	? "excellent"
	       : r >= 7 ? "good"
	       : r >= 4 ? "acceptable"
	       : r >= 1 ? "poor"
			: "failing";
}

/* "latency 75 ms, 0 of 10 pings lost, 6 neighbours" of one round. */
static void zjs_round_text(const json_t *r, char *buf, size_t len)
{
	const json_t *nb = json_object_get(r, "numNeighbors");
	const json_t *snr = json_object_get(r, "snrMargin");
	const json_t *pl = json_object_get(r, "minPowerlevel");
	json_int_t lost =
	    json_integer_value(json_object_get(r, "failedPingsNode"));
	json_int_t back =
	    json_integer_value(json_object_get(r, "failedPingsController"));
	int n;

	/* zwave-js rates the worse direction: so does the text. */
	n = snprintf(
	    buf, len, "latency %lld ms, %lld of 10 pings lost",
	    (long long)json_integer_value(json_object_get(r, "latency")),
	    (long long)(back > lost ? back : lost));
	if (n > 0 && (size_t)n < len && json_is_integer(nb))
		n += snprintf(buf + n, len - (size_t)n, ", %lld neighbour%s",
			      (long long)json_integer_value(nb),
			      json_integer_value(nb) == 1 ? "" : "s");
	if (n > 0 && (size_t)n < len && json_is_integer(snr))
		n += snprintf(buf + n, len - (size_t)n, ", SNR margin %lld dB",
			      (long long)json_integer_value(snr));
	if (n > 0 && (size_t)n < len && json_is_integer(pl))
		snprintf(buf + n, len - (size_t)n,
			 ", lowest power level heard %lld dB below normal",
			 (long long)json_integer_value(pl));
}

void zjs_job_clear(struct zw_zjs *z)
{
	z->job.name = NULL;
	z->job.aborting = false;
	uv_timer_stop(&z->job.timer);
}

/* The job ends: no job afterwards, the API hears why. */
void zjs_job_end(struct zw_zjs *z, int result, const char *why)
{
	const char *name = z->job.name;
	uint16_t node = z->job.node;

	zjs_job_clear(z);
	if (node)
		zjs_emit_command(z, name, node, result, "%s: node %u: %s", name,
				 node, why);
	else
		zjs_emit_command(z, name, 0, result, "%s: %s", name, why);
}

static bool zjs_job_is(const struct zw_zjs *z, const char *name)
{
	return z->job.name && strcmp(z->job.name, name) == 0;
}

static void zjs_job_timeout(uv_timer_t *t)
{
	struct zw_zjs *z = t->data;

	if (!z->job.name)
		return;
	if (zjs_job_is(z, "backup")) {
		zjs_job_end(z, -ETIMEDOUT,
			    "timed out; zwave-js may still be reading (the "
			    "radio is off until it is done)");
		return;
	}
	if (z->job.aborting) {
		/* The server did not answer the abort. */
		zjs_job_end(z, z->job.timed_out ? -ETIMEDOUT : -ECANCELED,
			    z->job.timed_out
				? "timed out, and the server did not stop it"
				: "cancelled, and the server did not stop it");
		return;
	}
	z->job.timed_out = true;
	(void)zjs_job_abort(z);
}

/*
 * The job ends within ZJS_STOPPED_GRACE_MS, whether the server answers
 * the abort or not (a request it never got included).
 */
int zjs_job_abort(struct zw_zjs *z)
{
	if (!z->job.name)
		return -ENOENT;
	if (zjs_job_is(z, "backup"))
		return -EBUSY;
	z->job.aborting = true;
	(void)uv_timer_start(&z->job.timer, zjs_job_timeout,
			     ZJS_STOPPED_GRACE_MS, 0);
	if (zjs_send(z, "abort",
		     zjs_job_is(z, "firmware") ? "node.abort_firmware_update"
					       : "node.abort_health_check",
		     json_pack("{s:i}", "nodeId", z->job.node)) < 0)
		log_warning("zwave zwavejs: %s: node %u: cannot ask the "
			    "server to stop it; it ends in %d s",
			    z->job.name, z->job.node,
			    ZJS_STOPPED_GRACE_MS / 1000);
	return 0;
}

/* The job whose command zjs_send has just sent (its messageId's number
 * is the last one given), with its time limit. */
void zjs_job_start(struct zw_zjs *z, const char *name, uint16_t node,
		   unsigned timeout_s)
{
	z->job.name = name;
	z->job.id = z->ids;
	z->job.node = node;
	z->job.aborting = false;
	z->job.timed_out = false;
	z->job.shown = 0;
	(void)uv_timer_start(&z->job.timer, zjs_job_timeout,
			     (uint64_t)timeout_s * 1000, 0);
}

int zjs_health(struct zw *base, uint16_t node, unsigned rounds,
	       unsigned timeout_s)
{
	struct zw_zjs *z = (struct zw_zjs *)base;
	int r;

	if (!z->listening)
		return -ENODEV;
	if (!z->nodes[node].known)
		return -ENOENT;
	if (rounds < 1 || rounds > ZW_HEALTH_ROUNDS_MAX || !timeout_s)
		return -EINVAL;
	if (z->job.name)
		return -EBUSY;
	r = zjs_send(z, "health", "node.check_lifeline_health",
		     json_pack("{s:i, s:i}", "nodeId", node, "rounds", rounds));
	if (r < 0)
		return r;
	zjs_job_start(z, "health", node, timeout_s);
	zjs_emit_command(z, "health", node, 0,
			 "health: node %u: checking its link to the "
			 "controller, %u round%s of 10 pings",
			 node, rounds, rounds == 1 ? "" : "s");
	return 0;
}

int zjs_backup(struct zw *base, unsigned timeout_s)
{
	struct zw_zjs *z = (struct zw_zjs *)base;
	int r;

	if (!z->listening)
		return -ENODEV;
	if (!timeout_s)
		return -EINVAL;
	/* The radio goes off: not during an include, exclude or heal. */
	if (z->job.name || z->cmd.name)
		return -EBUSY;
	r = zjs_send(z, "backup", "controller.backup_nvm_raw", NULL);
	if (r < 0)
		return r;
	zjs_job_start(z, "backup", 0, timeout_s);
	zjs_emit_command(z, "backup", 0, 0,
			 "backup: reading the controller's memory (the radio "
			 "is off meanwhile)");
	return 0;
}

/* "nvm backup progress": a line at each quarter. */
static void zjs_backup_progress(struct zw_zjs *z, const json_t *ev)
{
	json_int_t done = json_integer_value(json_object_get(ev, "bytesRead"));
	json_int_t all = json_integer_value(json_object_get(ev, "total"));
	unsigned quarter;

	if (all <= 0 || done < 0 || done > all)
		return;
	quarter = (unsigned)(done * 4 / all);
	if (quarter <= z->job.shown)
		return;
	z->job.shown = quarter;
	zjs_emit_command(z, "backup", 0, 0, "backup: %lld of %lld bytes read",
			 (long long)done, (long long)all);
}

/* The NVM came: base64 of at most ZW_BACKUP_MAX characters. */
static void zjs_backup_done(struct zw_zjs *z, const json_t *res)
{
	const char *b64 = json_string_value(json_object_get(res, "nvmData"));
	size_t len = b64 ? strlen(b64) : 0;
	long bytes = b64 ? b64_decoded_len(b64, len) : -1;
	struct zw_event ev;
	char text[96];

	if (bytes < 0) {
		zjs_job_end(z, -EIO, "the server sent no NVM data");
		return;
	}
	if (len > ZW_BACKUP_MAX) {
		zjs_job_end(z, -EFBIG, "the NVM is bigger than zwgate takes");
		return;
	}
	snprintf(text, sizeof(text), "backup: %ld bytes of NVM read", bytes);
	zjs_job_clear(z);
	log_info("zwave zwavejs: %s", text);
	memset(&ev, 0, sizeof(ev));
	ev.type = ZW_EV_CONTROLLER;
	ev.command = "backup";
	ev.result = 1;
	ev.u.message = text;
	ev.data = b64;
	zjs_emit(z, &ev);
}

void zjs_job_refused(struct zw_zjs *z, const json_t *m, const char *what)
{
	const char *why =
	    json_string_value(json_object_get(m, "zwaveErrorMessage"));
	char text[200];

	if (!why)
		why = json_string_value(json_object_get(m, "message"));
	if (!why || !*why)
		why = json_string_value(json_object_get(m, "errorCode"));
	snprintf(text, sizeof(text), "%s: %s", what,
		 why ? why : "no reason given");
	zjs_job_end(z, -EIO, text);
}

/* "check lifeline health progress": a round is over. */
void zjs_job_event(struct zw_zjs *z, const char *name, uint16_t node,
		   const json_t *ev)
{
	const json_t *last = json_object_get(ev, "lastResult");
	char text[160];

	if (zjs_job_is(z, "backup") && node == 0 &&
	    strcmp(name, "nvm backup progress") == 0) {
		zjs_backup_progress(z, ev);
		return;
	}
	if (zjs_job_is(z, "firmware") && node == z->job.node &&
	    strcmp(name, "firmware update progress") == 0) {
		zjs_fw_progress(z, ev);
		return;
	}
	if (!z->job.name || strcmp(z->job.name, "health") != 0 ||
	    node != z->job.node ||
	    strcmp(name, "check lifeline health progress") != 0)
		return;
	zjs_round_text(last, text, sizeof(text));
	zjs_emit_command(
	    z, "health", node, 0, "health: node %u: round %lld of %lld: %s",
	    node, (long long)json_integer_value(json_object_get(ev, "round")),
	    (long long)json_integer_value(json_object_get(ev, "totalRounds")),
	    text);
}

/*
 * The server's answer to node.check_lifeline_health or
 * controller.backup_nvm_raw (m: the result, id its messageId's number).  The
 * answer to a job that ended here without it (aborted, no answer in time) is
 * not the running job's.
 */
void zjs_job_result(struct zw_zjs *z, bool ok, const json_t *m,
		    unsigned long id)
{
	const json_t *sum =
	    json_object_get(json_object_get(m, "result"), "summary");
	const json_t *rating = json_object_get(sum, "rating");
	json_int_t r = json_integer_value(rating);
	char text[160];

	const char *code =
	    json_string_value(json_object_get(m, "zwaveErrorCodeName"));
	uint16_t node = z->job.node;

	if (!z->job.name || id != z->job.id)
		return;
	if (zjs_job_is(z, "firmware")) {
		zjs_fw_result(z, ok, m);
		return;
	}
	if (!ok && code && strcmp(code, "HealthCheck_Busy") == 0) {
		zjs_job_end(z, -EBUSY,
			    "another client of the server is checking it");
		return;
	}
	if (ok && zjs_job_is(z, "backup")) {
		zjs_backup_done(z, json_object_get(m, "result"));
		return;
	}
	if (!ok || !json_is_integer(rating)) {
		zjs_job_refused(z, m, "refused by the server");
		return;
	}
	if (z->job.aborting) {
		zjs_job_end(z, z->job.timed_out ? -ETIMEDOUT : -ECANCELED,
			    z->job.timed_out
				? "timed out (a sleeping node is checked "
				  "only once it wakes up)"
				: "cancelled");
		return;
	}
	/* The worst round is the rating; its figures say why. */
	text[0] = '\0';
	for (size_t i = 0; i < json_array_size(json_object_get(sum, "results"));
	     i++) {
		const json_t *one =
		    json_array_get(json_object_get(sum, "results"), i);

		if (json_integer_value(json_object_get(one, "rating")) == r) {
			zjs_round_text(one, text, sizeof(text));
			break;
		}
	}
	zjs_job_clear(z);
	zjs_emit_command(z, "health", node, 1,
			 "health: node %u: rating %lld of 10 (%s)%s%s", node,
			 (long long)r, zjs_rating_word(r),
			 text[0] ? "; worst round: " : "", text);
}

/* The server is gone: so is the job. */
void zjs_job_gone(struct zw_zjs *z)
{
	if (z->job.name)
		zjs_job_end(z, -EIO, "stopped: the server is gone");
}
