/* SPDX-License-Identifier: MIT */
/*
 * outbox_plant DIR state|event TOPIC PAYLOAD: add one message to the
 * outbox under DIR as anyone who can write the state directory could,
 * with no scope of topics, for tests/integration/hostile.sh.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "outbox.h"

int main(int argc, char **argv)
{
	struct outbox_opts o = { .sync_ms = 0 };
	struct outbox *ob = NULL;
	uint64_t seq;
	int r;

	if (argc != 5 ||
	    (strcmp(argv[2], "state") && strcmp(argv[2], "event"))) {
		fprintf(stderr, "usage: outbox_plant DIR state|event TOPIC "
				"PAYLOAD\n");
		return 2;
	}
	r = outbox_open(argv[1], &o, &ob);
	if (r == 0)
		r = outbox_put(ob,
			       strcmp(argv[2], "state") == 0 ? OUTBOX_STATE
							     : OUTBOX_EVENT,
			       argv[3], argv[4], strlen(argv[4]), &seq);
	if (r == 0)
		r = outbox_sync(ob);
	outbox_free(ob);
	if (r < 0) {
		fprintf(stderr, "outbox_plant: %s: %s\n", argv[1],
			strerror(-r));
		return 1;
	}
	return 0;
}
