/* SPDX-License-Identifier: MIT */
/*
 * control_admit.c: who may use the control socket and for how long:
 * the peer's credentials (SO_PEERCRED, SO_PEERGROUPS), the client limit
 * and each user's share of it, refusal lines, and the one timer that
 * closes idle clients and ends the linger of drained ones.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zwgate/control.h"
#include "control.h"
#include "control_int.h"
#include "log.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59 /* Linux 4.13; older headers lack it */
#endif

/* Supplementary groups of a peer we look at (the kernel allows 65536). */
#define CONTROL_PEER_GROUPS_MAX 65536
/*
 * A client that broke a rule gets its error line, then we keep reading
 * and discarding what it still sends, for at most this long, before we
 * close: closing at once would make its pending writes fail with EPIPE
 * and it might never read the error (nginx's lingering close).
 */
#define CONTROL_LINGER_MS 1000
/*
 * One user holds at most 1/CONTROL_UID_SHARE of max-clients (at least
 * one), so that a single member of the group cannot take every slot for
 * the idle timeout and lock out the others.  Root and the daemon's own
 * user are not counted: they can stop the daemon anyway, and the
 * administrator is who the limit keeps a way in for.
 */
#define CONTROL_UID_SHARE 2

static void on_sweep(uv_timer_t *t);

bool control_peer_allowed(uid_t uid, gid_t gid, const gid_t *groups,
			  size_t ngroups, uid_t self, gid_t group)
{
	if (uid == 0 || uid == self)
		return true;
	if (group == (gid_t)-1)
		return false;
	if (gid == group)
		return true;
	for (size_t i = 0; i < ngroups; i++)
		if (groups[i] == group)
			return true;
	return false;
}

static bool peer_in_group(int fd, const struct ucred *uc, gid_t group)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	bool ok = false;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		if (errno != ERANGE ||
		    len > CONTROL_PEER_GROUPS_MAX * sizeof(gid_t))
			return false;
		groups = malloc(len);
		if (!groups)
			return false;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
			goto out;
	}
	ok = control_peer_allowed(uc->uid, uc->gid, groups, len / sizeof(gid_t),
				  getuid(), group);
out:
	if (groups != small)
		free(groups);
	return ok;
}

unsigned control_count_state(const struct control *c,
			     enum control_client_state st)
{
	unsigned n = 0;

	for (const struct control_client *cl = c->clients; cl; cl = cl->next)
		n += cl->state == st;
	return n;
}

static unsigned count_uid(const struct control *c, uid_t uid)
{
	unsigned n = 0;

	for (const struct control_client *cl = c->clients; cl; cl = cl->next)
		n += cl->state == CONTROL_CLIENT_OPEN && cl->uid == uid;
	return n;
}

static unsigned uid_limit(const struct control *c)
{
	unsigned n = c->opts.max_clients / CONTROL_UID_SHARE;

	return n ? n : 1;
}

/*
 * Past the server's limit or its user's share: refused with a line.  The
 * counts include cl itself, which is already open on the list.
 */
static bool client_refuse_busy(struct control_client *cl)
{
	const struct control *c = cl->srv;
	unsigned long uid = cl->uid;
	bool counted = cl->uid != 0 && cl->uid != getuid();

	if (counted && count_uid(c, cl->uid) > uid_limit(c)) {
		log_notice("control: refused pid %ld (uid %lu): too many "
			   "clients of that user",
			   (long)cl->pid, uid);
		control_client_error(
		    cl, NULL, "EBUSY",
		    "too many control clients of uid %lu (limit %u "
		    "per user)",
		    uid, uid_limit(c));
	} else if (control_count_state(c, CONTROL_CLIENT_OPEN) >
		   c->opts.max_clients) {
		log_notice("control: refused pid %ld (uid %lu): too many "
			   "clients",
			   (long)cl->pid, uid);
		control_client_error(cl, NULL, "EBUSY",
				     "too many control clients (limit %u)",
				     c->opts.max_clients);
	} else {
		return false;
	}
	control_client_drain(cl);
	return true;
}

static bool peer_allowed(const struct control *c, int fd,
			 const struct ucred *uc)
{
	if (control_peer_allowed(uc->uid, uc->gid, NULL, 0, getuid(),
				 c->opts.group))
		return true;
	return c->opts.group != (gid_t)-1 &&
	       peer_in_group(fd, uc, c->opts.group);
}

static void client_refuse_peer(struct control_client *cl)
{
	const struct control *c = cl->srv;
	unsigned long uid = cl->uid;
	char why[128];

	if (c->opts.group == (gid_t)-1)
		snprintf(why, sizeof(why), "uid %lu is not root", uid);
	else
		snprintf(why, sizeof(why),
			 "uid %lu is not root and not in group %s", uid,
			 c->group_name);
	log_notice("control: refused pid %ld: %s", (long)cl->pid, why);
	control_client_error(cl, NULL, "EACCES", "permission denied: %s", why);
	control_client_drain(cl);
}

/* Who may talk to us is decided once, on accept, by SO_PEERCRED. */
void control_client_admit(struct control_client *cl)
{
	struct control *c = cl->srv;
	socklen_t len = sizeof(struct ucred);
	struct ucred uc;
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)&cl->pipe, &fd) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) {
		log_error("control: no credentials of a new client: %s",
			  strerror(errno));
		control_client_close(cl);
		return;
	}
	cl->uid = uc.uid;
	cl->gid = uc.gid;
	cl->pid = uc.pid;
	if (!peer_allowed(c, fd, &uc)) {
		client_refuse_peer(cl);
		return;
	}
	if (client_refuse_busy(cl))
		return;
	if (control_client_read_start(cl) < 0) {
		control_client_close(cl);
		return;
	}
	log_debug("control: client pid %ld (uid %lu) connected", (long)uc.pid,
		  (unsigned long)uc.uid);
}

/*
 * Idle clients are found by one timer for the whole server, armed for
 * the earliest deadline among clients owed nothing (refs == 1): one
 * handle less per client to open and close, no wakeups on an idle
 * gateway, and with at most ZWCTL_CLIENTS_MAX clients the scan is cheap.
 * A deadline that moved later just makes the timer fire once for nothing.
 */
static uint64_t client_deadline(const struct control *c,
				const struct control_client *cl)
{
	uint64_t timeout = (uint64_t)c->opts.idle_timeout_s * 1000;

	if (cl->state == CONTROL_CLIENT_DRAINING)
		return cl->active_ms + CONTROL_LINGER_MS;
	if (cl->state != CONTROL_CLIENT_OPEN || cl->refs != 1 || !timeout)
		return UINT64_MAX;
	return cl->active_ms + timeout;
}

void control_sweep_arm(struct control *c)
{
	uint64_t now = uv_now(c->loop), due = UINT64_MAX;

	if (c->stopping)
		return;
	for (struct control_client *cl = c->clients; cl; cl = cl->next)
		if (client_deadline(c, cl) < due)
			due = client_deadline(c, cl);
	if (due == UINT64_MAX)
		uv_timer_stop(&c->sweep);
	else
		uv_timer_start(&c->sweep, on_sweep, due > now ? due - now : 0,
			       0);
}

static void on_sweep(uv_timer_t *t)
{
	struct control *c = t->data;
	uint64_t now = uv_now(c->loop);

	/* control_client_close unlinks nothing until later: safe to walk on. */
	for (struct control_client *cl = c->clients; cl; cl = cl->next)
		if (now >= client_deadline(c, cl)) {
			log_debug("control: closing idle client pid %ld",
				  (long)cl->pid);
			control_client_close(cl);
		}
	control_sweep_arm(c);
}
