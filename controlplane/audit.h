/* SPDX-License-Identifier: Apache-2.0 */
/* The append-only, hash-chained audit trail: append, verify naming the first broken row, export. */
#pragma once

#include <stdint.h>

struct cp_state;

/*
 * Each row stores hash = SHA-256(prev_hash || canonical JSON of {"seq", "time", "actor",
 * "action", "detail"}) as lower-case hex, prev_hash being the previous row's hash (64 '0'
 * for row 1). Database triggers abort any UPDATE or DELETE of the table; the sequence of the
 * last row is also kept in meta ("audit_head"), so that a deleted last row is noticed.
 */

/* Largest actor/action and detail accepted (longer text is refused with SL_E_TOO_LARGE). */
#define CP_AUDIT_FIELD_MAX 256
#define CP_AUDIT_DETAIL_MAX 4096

struct cp_audit_row {
	int64_t seq;
	const char *time;
	const char *actor;
	const char *action;
	const char *detail;
	const char *prev_hash;
	const char *hash;
};

/*
 * Append a row. Inside the caller's open transaction when there is one (so the row commits
 * or rolls back with the change it records), else in its own transaction. Strings are stored
 * verbatim.
 */
int cp_audit_append(struct cp_state *s, const char *actor, const char *action, const char *detail);

/*
 * Walk the whole chain. 0 when intact; CER_E_CHAIN with a message naming the first broken
 * row ("audit row 7: hash does not match its content (edited)", "audit row 7 is missing
 * (deleted)") and its sequence number in *ret_bad_seq (may be NULL) otherwise.
 * *ret_rows (may be NULL) receives the number of rows checked.
 */
int cp_audit_verify(struct cp_state *s, int64_t *ret_bad_seq, int64_t *ret_rows);

/* Call fn for every row in order (strings borrowed for the call); stops at fn's error. */
int cp_audit_foreach(struct cp_state *s, int (*fn)(const struct cp_audit_row *row, void *userdata),
		     void *userdata);
