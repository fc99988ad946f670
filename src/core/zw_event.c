/* SPDX-License-Identifier: MIT */
/*
 * zw_event.c: the names of the plain data types in zw_event.h.
 */
#include "config.h"

#include "zw_event.h"

const char *zw_node_status_name(enum zw_node_status s)
{
	switch (s) {
	case ZW_NODE_ALIVE:
		return "alive";
	case ZW_NODE_ASLEEP:
		return "asleep";
	case ZW_NODE_DEAD:
		return "dead";
	case ZW_NODE_UNKNOWN:
		break;
	}
	return "unknown";
}
