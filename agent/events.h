/* SPDX-License-Identifier: Apache-2.0 */
/* The local event queue (STATE/events.db, SQLite): install transitions waiting to be sent. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define AGENT_EVENTS_LIST_MAX 1000 /* rows one listing returns */

/*
 * Append an event: seq (assigned), time (now, UTC), release (may be NULL), type (a phase
 * name: "downloading" … "committed", "rolled_back", "failed", or "noop") and error (may be
 * NULL; "CODE: message" for failed and rolled_back). The database is created on first use
 * (WAL, synchronous=FULL); the event is durable when this returns 0. SQLite errors are SL_E_IO.
 */
int agent_events_append(const char *state_dir, const char *release, const char *type,
			const char *error);

/*
 * Write the newest max (<= AGENT_EVENTS_LIST_MAX) events to out, oldest first: one line each
 * ("seq time type release error"), or a JSON array when json is true. A missing database is
 * an empty list.
 */
int agent_events_list(const char *state_dir, unsigned max, bool json, FILE *out);

/* Number of events not yet sent (all of them until the daemon uploads), or < 0. */
int64_t agent_events_pending(const char *state_dir);
