/* SPDX-License-Identifier: Apache-2.0 */
/* The local event queue (STATE/events.db, SQLite): install transitions waiting to be sent. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define AGENT_EVENTS_LIST_MAX 1000 /* rows one listing returns */
#define AGENT_EVENTS_KEEP_SENT 1000 /* sent events kept for `events` after an upload */

/* One queued event; strings owned (release and error may be NULL). */
struct agent_event {
	int64_t seq;
	char *time, *release, *type, *error;
};

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

/*
 * Read the oldest max unsent events (seq order) into ret[0..*ret_n). A missing database is
 * none. The caller frees each with agent_event_clear().
 */
int agent_events_unsent(const char *state_dir, struct agent_event *ret, size_t max, size_t *ret_n);

/* Free the strings of e and zero it. */
void agent_event_clear(struct agent_event *e);

/*
 * Mark every event with seq <= upto as sent (the control plane acknowledged them), then drop
 * sent events older than the newest AGENT_EVENTS_KEEP_SENT. Durable when it returns 0.
 */
int agent_events_mark_sent(const char *state_dir, int64_t upto);

/* Number of events not yet sent to the control plane, or < 0. */
int64_t agent_events_pending(const char *state_dir);
