/* SPDX-License-Identifier: Apache-2.0 */
/* The device registry: approve (one or from a provisioning export), decommission, list, show. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "db.h"
#include "devices.h"
#include "error.h"
#include "fileio.h"
#include "state.h"
#include "tuf/json.h"

int cp_device_id_check(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n > CP_DEVICE_ID_MAX)
		return cp_error(SL_E_INVALID, "device id must be 1 to %d bytes", CP_DEVICE_ID_MAX);
	return 0;
}

static int check_text(const char *what, const char *v, size_t max)
{
	if (v && strlen(v) > max)
		return cp_error(SL_E_INVALID, "%s longer than %zu bytes", what, max);
	return 0;
}

static int check_sha(const char *v)
{
	if (v && (strlen(v) != 64 || strspn(v, "0123456789abcdef") != 64))
		return cp_error(SL_E_INVALID, "cert_sha256 must be 64 lower-case hex digits");
	return 0;
}

static int set_tags(struct cp_state *s, const char *id, const char *tags)
{
	_cleanup_stmt_ sqlite3_stmt *del = NULL, *ins = NULL;
	_cleanup_free_ char *copy = strdup(tags);
	char *save = NULL;
	size_t n = 0;
	int r;

	if (!copy)
		return -ENOMEM;
	r = cp_db_prepare(s->db, "DELETE FROM device_tags WHERE device_id = ?1", &del);
	if (r >= 0)
		r = cp_db_bind_text(del, 1, id);
	if (r >= 0)
		r = cp_db_step_done(s->db, del, "database: device_tags");
	if (r >= 0)
		r = cp_db_prepare(s->db, "INSERT OR IGNORE INTO device_tags (device_id, tag) "
					 "VALUES (?1, ?2)", &ins);
	for (char *t = strtok_r(copy, ",", &save); r >= 0 && t; t = strtok_r(NULL, ",", &save)) {
		if (!*t || strlen(t) > CP_DEVICE_TAG_MAX || ++n > CP_DEVICE_TAGS_MAX)
			return cp_error(SL_E_INVALID, "tags: at most %d tags of 1 to %d bytes",
					CP_DEVICE_TAGS_MAX, CP_DEVICE_TAG_MAX);
		sqlite3_reset(ins);
		if ((r = cp_db_bind_text(ins, 1, id)) < 0 || (r = cp_db_bind_text(ins, 2, t)) < 0)
			return r;
		r = cp_db_step_done(s->db, ins, "database: device_tags");
	}
	return r;
}

static int approve_tx(struct cp_state *s, const char *id, const char *hardware, const char *tags,
		      const char *cert_sha256, const char *actor)
{
	_cleanup_stmt_ sqlite3_stmt *q = NULL, *st = NULL;
	_cleanup_free_ char *detail = NULL;
	char now[21];
	int r, rc;

	r = cp_db_prepare(s->db, "SELECT state, cert_sha256 FROM devices WHERE id = ?1", &q);
	if (r >= 0)
		r = cp_db_bind_text(q, 1, id);
	if (r < 0)
		return r;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(q, 0);
		const char *cert = (const char *)sqlite3_column_text(q, 1);

		if (strcmp(state, "decommissioned") == 0)
			return cp_error(CP_E_CONFLICT, "device is decommissioned; identities are "
						       "not reused");
		if (cert && cert_sha256 && strcmp(cert, cert_sha256) != 0)
			return cp_error(CP_E_CONFLICT, "device is known with another certificate "
						       "(duplicate identity)");
	} else if (rc != SQLITE_DONE) {
		return cp_db_error(s->db, rc, "database: devices");
	}
	cp_state_now_text(s, now);
	r = cp_db_prepare(s->db,
			  "INSERT INTO devices (id, state, hardware, cert_sha256, created, approved) "
			  "VALUES (?1, 'approved', ?2, ?3, ?4, ?4) ON CONFLICT(id) DO UPDATE SET "
			  "state = 'approved', hardware = COALESCE(?2, hardware), "
			  "cert_sha256 = COALESCE(?3, cert_sha256), approved = ?4", &st);
	if (r < 0)
		return r;
	if ((r = cp_db_bind_text(st, 1, id)) < 0 || (r = cp_db_bind_text(st, 2, hardware)) < 0 ||
	    (r = cp_db_bind_text(st, 3, cert_sha256)) < 0 || (r = cp_db_bind_text(st, 4, now)) < 0)
		return r;
	r = cp_db_step_done(s->db, st, "database: devices");
	if (r >= 0 && tags)
		r = set_tags(s, id, tags);
	if (r < 0)
		return r;
	if (asprintf(&detail, "device %s approved%s%s", id, hardware ? " hardware " : "",
		     hardware ? hardware : "") < 0)
		return -ENOMEM;
	return cp_audit_append(s, actor, "device-approve", detail);
}

static int check_approve(const char *id, const char *hardware, const char *tags,
			 const char *cert_sha256)
{
	int r;

	if ((r = cp_device_id_check(id)) < 0 ||
	    (r = check_text("hardware", hardware, CP_DEVICE_HARDWARE_MAX)) < 0 ||
	    (r = check_text("tags", tags, CP_DEVICE_TAGS_MAX * (CP_DEVICE_TAG_MAX + 1))) < 0 ||
	    (r = check_sha(cert_sha256)) < 0)
		return r;
	return 0;
}

int cp_devices_approve(struct cp_state *s, const char *id, const char *hardware, const char *tags,
		       const char *cert_sha256, const char *actor)
{
	int r = check_approve(id, hardware, tags, cert_sha256);

	if (r < 0)
		return r;
	r = cp_db_begin(s->db);
	if (r < 0)
		return r;
	r = approve_tx(s, id, hardware, tags, cert_sha256, actor);
	if (r >= 0)
		return cp_db_commit(s->db);
	cp_db_rollback(s->db);
	return r;
}

static int approve_line(struct cp_state *s, const char *line, size_t len, size_t lineno,
			const char *actor)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	const char *id, *hw = NULL, *cert = NULL;
	int r;

	r = tuf_json_parse(line, len, 4, &o);
	if (r >= 0 && (!json_object_is_type(o, json_type_object) ||
		       tuf_json_get_string(o, "id", &id) < 0))
		r = TUF_E_FORMAT;
	if (r >= 0) {
		json_object_object_foreach(o, k, v) {
			int64_t t;

			if (strcmp(k, "id") == 0)
				continue;
			/* sluice-provision export also says when the certificate expires:
			 * checked for form, informational only (the TLS layer enforces expiry). */
			if (strcmp(k, "not_after") == 0 && json_object_is_type(v, json_type_string) &&
			    tuf_json_parse_time(json_object_get_string(v), &t) >= 0)
				continue;
			if (!json_object_is_type(v, json_type_string) ||
			    (strcmp(k, "hardware") != 0 && strcmp(k, "cert_sha256") != 0)) {
				r = TUF_E_FORMAT;
				break;
			}
			if (strcmp(k, "hardware") == 0)
				hw = json_object_get_string(v);
			else
				cert = json_object_get_string(v);
		}
	}
	if (r < 0)
		return cp_error(TUF_E_FORMAT,
				"line %zu: not {\"id\", \"hardware\", \"cert_sha256\", \"not_after\"}",
				lineno);
	r = check_approve(id, hw, NULL, cert);
	if (r >= 0)
		r = approve_tx(s, id, hw, NULL, cert, actor);
	if (r < 0)
		return cp_error(r, "line %zu: %s", lineno, sl_error_message(r));
	return 0;
}

static int file_ids_unique(const char *path, const uint8_t *buf, size_t len)
{
	/* The registry's primary key catches repeats only as updates: look for them first. */
	_cleanup_(sqlite3_closep) sqlite3 *mem = NULL;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	size_t lineno = 0;
	int r;

	if (sqlite3_open(":memory:", &mem) != SQLITE_OK)
		return -ENOMEM;
	r = cp_db_exec(mem, "CREATE TABLE ids (id TEXT PRIMARY KEY)");
	if (r >= 0)
		r = cp_db_prepare(mem, "INSERT INTO ids (id) VALUES (?1)", &st);
	for (size_t off = 0; r >= 0 && off < len;) {
		const uint8_t *nl = memchr(buf + off, '\n', len - off);
		size_t l = nl ? (size_t)(nl - (buf + off)) : len - off;
		_cleanup_(json_object_putp) struct json_object *o = NULL;
		const char *id;

		lineno++;
		if (l > 0 && tuf_json_parse(buf + off, l, 4, &o) >= 0 &&
		    json_object_is_type(o, json_type_object) &&
		    tuf_json_get_string(o, "id", &id) >= 0) {
			sqlite3_reset(st);
			r = cp_db_bind_text(st, 1, id);
			if (r >= 0 && sqlite3_step(st) != SQLITE_DONE)
				return cp_error(CP_E_CONFLICT, "%s: line %zu: device id listed twice",
						path, lineno);
		}
		off += l + 1;
	}
	return r;
}

int cp_devices_approve_file(struct cp_state *s, const char *path, const char *actor, size_t *ret_n)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len, lineno = 0, n = 0;
	int r;

	r = sl_read_file_at(AT_FDCWD, path, CP_DEVICES_FILE_MAX, &buf, &len);
	if (r < 0)
		return cp_error(r, "%s: %s", path, sl_strerror(r));
	r = file_ids_unique(path, buf, len);
	if (r < 0)
		return r;
	r = cp_db_begin(s->db);
	if (r < 0)
		return r;
	for (size_t off = 0; r >= 0 && off < len;) {
		const uint8_t *nl = memchr(buf + off, '\n', len - off);
		size_t l = nl ? (size_t)(nl - (buf + off)) : len - off;

		lineno++;
		if (lineno > CP_DEVICES_FILE_MAX_LINES || l > CP_DEVICES_FILE_LINE_MAX)
			r = cp_error(SL_E_TOO_LARGE, "%s: line %zu: too many or too long lines", path,
				     lineno);
		else if (l > 0 && !(l == 1 && buf[off] == '\r')) {
			r = approve_line(s, (const char *)buf + off, l, lineno, actor);
			n++;
		}
		off += l + 1;
	}
	if (r < 0) {
		cp_db_rollback(s->db);
		return cp_error(r, "%s: %s", path, sl_error_message(r));
	}
	r = cp_db_commit(s->db);
	if (r >= 0 && ret_n)
		*ret_n = n;
	return r;
}

int cp_devices_decommission(struct cp_state *s, const char *id, const char *actor)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ char *detail = NULL;
	char now[21];
	int r;

	r = cp_device_id_check(id);
	if (r < 0)
		return r;
	cp_state_now_text(s, now);
	r = cp_db_begin(s->db);
	if (r >= 0)
		r = cp_db_prepare(s->db, "UPDATE devices SET state = 'decommissioned', "
					 "decommissioned = ?2 WHERE id = ?1", &st);
	if (r >= 0 && (r = cp_db_bind_text(st, 1, id)) >= 0 && (r = cp_db_bind_text(st, 2, now)) >= 0)
		r = cp_db_step_done(s->db, st, "database: devices");
	if (r >= 0 && sqlite3_changes(s->db) == 0)
		r = cp_error(TUF_E_NOT_FOUND, "no such device");
	if (r >= 0 && asprintf(&detail, "device %s decommissioned", id) < 0)
		r = -ENOMEM;
	if (r >= 0)
		r = cp_audit_append(s, actor, "device-decommission", detail);
	if (r >= 0)
		return cp_db_commit(s->db);
	cp_db_rollback(s->db);
	return r;
}

int cp_api_device_allowed_cert(struct cp_state *s, const char *device_id, const char *cert_sha256)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	const char *pinned;
	int r, rc;

	if (!device_id || cp_device_id_check(device_id) < 0)
		return cp_error(CP_E_FORBIDDEN, "device id empty or too long");
	r = cp_db_prepare(s->db, "SELECT cert_sha256 FROM devices WHERE id = ?1 AND "
				 "state = 'approved'", &st);
	if (r >= 0)
		r = cp_db_bind_text(st, 1, device_id);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return cp_error(CP_E_FORBIDDEN, "device is not registered, not approved or "
						"decommissioned");
	if (rc != SQLITE_ROW)
		return cp_db_error(s->db, rc, "database: devices");
	pinned = (const char *)sqlite3_column_text(st, 0);
	if (!pinned || !cert_sha256 || strcmp(pinned, cert_sha256) == 0)
		return 0;
	return cp_error(CP_E_FORBIDDEN, "device %s: certificate not the approved one (presented "
					"sha256 %.64s)", device_id, cert_sha256);
}

int cp_api_device_allowed(struct cp_state *s, const char *device_id)
{
	return cp_api_device_allowed_cert(s, device_id, NULL);
}

int cp_devices_replace_cert(struct cp_state *s, const char *id, const char *cert_sha256,
			    const char *actor)
{
	_cleanup_stmt_ sqlite3_stmt *q = NULL, *st = NULL;
	_cleanup_free_ char *detail = NULL;
	const char *old;
	char now[21];
	int r, rc;

	if ((r = cp_device_id_check(id)) < 0)
		return r;
	if (!cert_sha256)
		return cp_error(SL_E_INVALID, "a new cert_sha256 is required");
	if ((r = check_sha(cert_sha256)) < 0)
		return r;
	r = cp_db_begin(s->db);
	if (r < 0)
		return r;
	r = cp_db_prepare(s->db, "SELECT state, cert_sha256 FROM devices WHERE id = ?1", &q);
	if (r >= 0)
		r = cp_db_bind_text(q, 1, id);
	if (r >= 0) {
		rc = sqlite3_step(q);
		if (rc == SQLITE_DONE)
			r = cp_error(TUF_E_NOT_FOUND, "no such device");
		else if (rc != SQLITE_ROW)
			r = cp_db_error(s->db, rc, "database: devices");
		else if (strcmp((const char *)sqlite3_column_text(q, 0), "decommissioned") == 0)
			r = cp_error(CP_E_CONFLICT, "device is decommissioned; identities are not "
						    "reused");
		else {
			old = (const char *)sqlite3_column_text(q, 1);
			if (asprintf(&detail, "device %s approved with a replaced certificate: "
					      "sha256 %s (was %s)", id, cert_sha256,
				     old ? old : "not recorded") < 0)
				r = -ENOMEM;
		}
	}
	cp_state_now_text(s, now);
	if (r >= 0)
		r = cp_db_prepare(s->db, "UPDATE devices SET state = 'approved', cert_sha256 = ?2, "
					 "approved = ?3 WHERE id = ?1", &st);
	if (r >= 0 && (r = cp_db_bind_text(st, 1, id)) >= 0 &&
	    (r = cp_db_bind_text(st, 2, cert_sha256)) >= 0 &&
	    (r = cp_db_bind_text(st, 3, now)) >= 0)
		r = cp_db_step_done(s->db, st, "database: devices");
	if (r >= 0)
		r = cp_audit_append(s, actor, "device-approve", detail);
	if (r >= 0)
		return cp_db_commit(s->db);
	cp_db_rollback(s->db);
	return r;
}

static const char *text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

int cp_devices_foreach(struct cp_state *s, const char *id,
		       int (*fn)(const struct cp_device *d, void *userdata), void *userdata)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = cp_db_prepare(s->db,
			  "SELECT id, state, hardware, cert_sha256, "
			  "(SELECT group_concat(tag, ',') FROM (SELECT tag FROM device_tags t "
			  "  WHERE t.device_id = d.id ORDER BY tag)), created, approved, "
			  "decommissioned, last_seen, reported_release, slot, agent_state, "
			  "agent_version, reported_hardware, models FROM devices d "
			  "WHERE ?1 IS NULL OR id = ?1 ORDER BY id", &st);
	if (r >= 0)
		r = cp_db_bind_text(st, 1, id);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cp_device d = {
		    text(st, 0), text(st, 1), text(st, 2), text(st, 3), text(st, 4), text(st, 5),
		    text(st, 6), text(st, 7), text(st, 8), text(st, 9), text(st, 10),
		    text(st, 11), text(st, 12), text(st, 13), text(st, 14),
		};

		r = fn(&d, userdata);
		if (r < 0)
			return r;
	}
	return rc == SQLITE_DONE ? 0 : cp_db_error(s->db, rc, "database: devices");
}

int cp_devices_count(struct cp_state *s, int64_t *ret_registered, int64_t *ret_approved,
		     int64_t *ret_decommissioned)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = cp_db_prepare(s->db, "SELECT SUM(state = 'registered'), SUM(state = 'approved'), "
				 "SUM(state = 'decommissioned') FROM devices", &st);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return cp_db_error(s->db, rc, "database: devices");
	*ret_registered = sqlite3_column_int64(st, 0);
	*ret_approved = sqlite3_column_int64(st, 1);
	*ret_decommissioned = sqlite3_column_int64(st, 2);
	return 0;
}

int cp_history_foreach(struct cp_state *s, const char *device_id,
		       int (*fn)(const struct cp_event *e, void *userdata), void *userdata)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = cp_db_prepare(s->db, "SELECT device_id, seq, time, received, release, type, error "
				 "FROM events WHERE ?1 IS NULL OR device_id = ?1 "
				 "ORDER BY received, device_id, seq", &st);
	if (r >= 0)
		r = cp_db_bind_text(st, 1, device_id);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cp_event e = {text(st, 0), sqlite3_column_int64(st, 1), text(st, 2),
				     text(st, 3), text(st, 4), text(st, 5), text(st, 6)};

		r = fn(&e, userdata);
		if (r < 0)
			return r;
	}
	return rc == SQLITE_DONE ? 0 : cp_db_error(s->db, rc, "database: events");
}
