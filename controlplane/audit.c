/* SPDX-License-Identifier: Apache-2.0 */
/* The append-only, hash-chained audit trail: append, verify naming the first broken row, export. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "error.h"
#include "state.h"
#include "tuf/crypto.h"
#include "tuf/json.h"

static const char zero_hash[] = "0000000000000000000000000000000000000000000000000000000000000000";

/* hash = SHA-256(prev_hash || canonical JSON of the row's content), hex. */
static int row_hash(int64_t seq, const char *time, const char *actor, const char *action,
		    const char *detail, const char *prev_hash, char ret[65])
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	_cleanup_free_ char *canon = NULL, *buf = NULL;
	size_t len, plen = strlen(prev_hash);
	int r;

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "seq", json_object_new_int64(seq));
	json_object_object_add(o, "time", json_object_new_string(time));
	json_object_object_add(o, "actor", json_object_new_string(actor));
	json_object_object_add(o, "action", json_object_new_string(action));
	json_object_object_add(o, "detail", json_object_new_string(detail));
	r = tuf_json_canonical(o, &canon, &len);
	if (r < 0)
		return r;
	buf = malloc(plen + len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, prev_hash, plen);
	memcpy(buf + plen, canon, len);
	return tuf_sha256_hex(buf, plen + len, ret);
}

static int check_field(const char *what, const char *v, size_t max)
{
	if (!v)
		return cp_error(SL_E_INVALID, "audit: %s missing", what);
	if (strlen(v) > max)
		return cp_error(SL_E_TOO_LARGE, "audit: %s longer than %zu bytes", what, max);
	return 0;
}

static int last_row(struct cp_state *s, int64_t *ret_seq, char ret_hash[65])
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = cp_db_prepare(s->db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &st);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		*ret_seq = 0;
		memcpy(ret_hash, zero_hash, 65);
		return 0;
	}
	if (rc != SQLITE_ROW)
		return cp_db_error(s->db, rc, "audit");
	*ret_seq = sqlite3_column_int64(st, 0);
	snprintf(ret_hash, 65, "%s", (const char *)sqlite3_column_text(st, 1));
	return 0;
}

static int append_tx(struct cp_state *s, const char *actor, const char *action, const char *detail)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char prev[65], hash[65], now[21];
	int64_t seq = 0;
	int r;

	r = last_row(s, &seq, prev);
	if (r < 0)
		return r;
	seq++;
	cp_state_now_text(s, now);
	r = row_hash(seq, now, actor, action, detail, prev, hash);
	if (r < 0)
		return r;
	r = cp_db_prepare(s->db, "INSERT INTO audit (seq, time, actor, action, detail, prev_hash, "
				 "hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, seq);
	if ((r = cp_db_bind_text(st, 2, now)) < 0 || (r = cp_db_bind_text(st, 3, actor)) < 0 ||
	    (r = cp_db_bind_text(st, 4, action)) < 0 || (r = cp_db_bind_text(st, 5, detail)) < 0 ||
	    (r = cp_db_bind_text(st, 6, prev)) < 0 || (r = cp_db_bind_text(st, 7, hash)) < 0)
		return r;
	r = cp_db_step_done(s->db, st, "audit: append");
	if (r < 0)
		return r;
	return cp_db_meta_set_int(s->db, "audit_head", seq);
}

int cp_audit_append(struct cp_state *s, const char *actor, const char *action, const char *detail)
{
	bool own;
	int r;

	if ((r = check_field("actor", actor, CP_AUDIT_FIELD_MAX)) < 0 ||
	    (r = check_field("action", action, CP_AUDIT_FIELD_MAX)) < 0 ||
	    (r = check_field("detail", detail, CP_AUDIT_DETAIL_MAX)) < 0)
		return r;
	own = sqlite3_get_autocommit(s->db);
	if (own) {
		r = cp_db_begin(s->db);
		if (r < 0)
			return r;
	}
	r = append_tx(s, actor, action, detail);
	if (own) {
		if (r >= 0)
			r = cp_db_commit(s->db);
		else
			cp_db_rollback(s->db);
	}
	return r;
}

int cp_api_audit(struct cp_state *s, const char *actor, const char *action, const char *detail)
{
	return cp_audit_append(s, actor, action, detail);
}

static const char *col(sqlite3_stmt *st, int i)
{
	const char *v = (const char *)sqlite3_column_text(st, i);

	return v ? v : "";
}

int cp_audit_foreach(struct cp_state *s, int (*fn)(const struct cp_audit_row *row, void *userdata),
		     void *userdata)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = cp_db_prepare(s->db, "SELECT seq, time, actor, action, detail, prev_hash, hash "
				 "FROM audit ORDER BY seq", &st);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cp_audit_row row = {
		    .seq = sqlite3_column_int64(st, 0),
		    .time = col(st, 1),
		    .actor = col(st, 2),
		    .action = col(st, 3),
		    .detail = col(st, 4),
		    .prev_hash = col(st, 5),
		    .hash = col(st, 6),
		};

		r = fn(&row, userdata);
		if (r < 0)
			return r;
	}
	if (rc != SQLITE_DONE)
		return cp_db_error(s->db, rc, "audit");
	return 0;
}

struct verify_ctx {
	int64_t expect_seq; /* next sequence number */
	char prev[65];
	int64_t bad;
	int64_t rows;
};

static int verify_row(const struct cp_audit_row *row, void *userdata)
{
	struct verify_ctx *c = userdata;
	char h[65];
	int r;

	if (row->seq != c->expect_seq) {
		c->bad = c->expect_seq;
		return cp_error(CER_E_CHAIN, "audit row %" PRId64 " is missing (deleted)",
				c->expect_seq);
	}
	if (strcmp(row->prev_hash, c->prev) != 0) {
		c->bad = row->seq;
		return cp_error(CER_E_CHAIN, "audit row %" PRId64 ": previous hash does not match "
				"row %" PRId64, row->seq, row->seq - 1);
	}
	r = row_hash(row->seq, row->time, row->actor, row->action, row->detail, row->prev_hash, h);
	if (r < 0)
		return r;
	if (strcmp(h, row->hash) != 0) {
		c->bad = row->seq;
		return cp_error(CER_E_CHAIN, "audit row %" PRId64 ": hash does not match its "
				"content (edited)", row->seq);
	}
	memcpy(c->prev, row->hash, 65);
	c->expect_seq++;
	c->rows++;
	return 0;
}

int cp_audit_verify(struct cp_state *s, int64_t *ret_bad_seq, int64_t *ret_rows)
{
	struct verify_ctx c = {.expect_seq = 1};
	int64_t head = 0;
	int r;

	memcpy(c.prev, zero_hash, 65);
	r = cp_audit_foreach(s, verify_row, &c);
	if (r >= 0) {
		r = cp_db_meta_get_int(s->db, "audit_head", &head);
		if (r == TUF_E_NOT_FOUND)
			r = 0, head = 0;
	}
	if (r >= 0 && head != c.expect_seq - 1) {
		c.bad = head > c.expect_seq - 1 ? c.expect_seq : head + 1;
		r = cp_error(CER_E_CHAIN, head > c.expect_seq - 1 ?
				 "audit row %" PRId64 " is missing (deleted at the end)" :
				 "audit row %" PRId64 " is not recorded in the chain head",
			     c.bad);
	}
	if (r == CER_E_CHAIN && ret_bad_seq)
		*ret_bad_seq = c.bad;
	if (ret_rows)
		*ret_rows = c.rows;
	return r;
}
