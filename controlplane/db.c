/* SPDX-License-Identifier: Apache-2.0 */
/* The control plane's SQLite database: opening (WAL, foreign keys), migrations, helpers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "error.h"
#include "state.h"

/*
 * Migrations, applied in order, each in one transaction that also records its version in
 * schema_version. Never edit a released entry: append a new one.
 */
static const char *const migrations[] = {
    /* 1: the first schema. */
    "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);\n"
    "INSERT INTO meta (key, value) VALUES ('generation', 0);\n"
    "CREATE TABLE roots (\n"
    "  version INTEGER PRIMARY KEY NOT NULL CHECK (version >= 1),\n"
    "  sha256 TEXT NOT NULL,\n"
    "  recorded TEXT NOT NULL,\n"
    "  source TEXT NOT NULL CHECK (source IN ('import', 'publish')));\n"
    "CREATE TABLE releases (\n"
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  name TEXT NOT NULL,\n"
    "  targets_version INTEGER NOT NULL UNIQUE CHECK (targets_version >= 1),\n"
    "  snapshot_version INTEGER NOT NULL,\n"
    "  timestamp_version INTEGER NOT NULL,\n"
    "  bundle_sha256 TEXT NOT NULL,\n"
    "  state TEXT NOT NULL CHECK (state IN ('pending', 'published')),\n"
    "  created TEXT NOT NULL,\n"
    "  published TEXT);\n"
    "CREATE TABLE artifacts (\n"
    "  release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,\n"
    "  path TEXT NOT NULL,\n"
    "  role TEXT NOT NULL,\n"
    "  length INTEGER NOT NULL,\n"
    "  sha256 TEXT NOT NULL,\n"
    "  kind TEXT, release TEXT, version TEXT, hardware TEXT, custom TEXT,\n"
    "  PRIMARY KEY (release_id, path));\n"
    "CREATE INDEX artifacts_release ON artifacts(release);\n"
    "CREATE TABLE devices (\n"
    "  id TEXT PRIMARY KEY NOT NULL,\n"
    "  state TEXT NOT NULL CHECK (state IN ('registered', 'approved', 'decommissioned')),\n"
    "  hardware TEXT, cert_sha256 TEXT,\n"
    "  created TEXT NOT NULL, approved TEXT, decommissioned TEXT,\n"
    "  last_seen TEXT, reported_release TEXT, slot TEXT, agent_state TEXT,\n"
    "  agent_version TEXT, reported_hardware TEXT, models TEXT);\n"
    "CREATE TABLE device_tags (\n"
    "  device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,\n"
    "  tag TEXT NOT NULL,\n"
    "  PRIMARY KEY (device_id, tag));\n"
    "CREATE INDEX device_tags_tag ON device_tags(tag);\n"
    "CREATE TABLE events (\n"
    "  device_id TEXT NOT NULL REFERENCES devices(id),\n"
    "  seq INTEGER NOT NULL CHECK (seq >= 0),\n"
    "  time TEXT NOT NULL, received TEXT NOT NULL,\n"
    "  release TEXT NOT NULL, type TEXT NOT NULL, error TEXT,\n"
    "  PRIMARY KEY (device_id, seq));\n"
    "CREATE INDEX events_release ON events(release, device_id);\n"
    "CREATE TABLE rollouts (\n"
    "  id TEXT PRIMARY KEY NOT NULL,\n"
    "  release TEXT NOT NULL, tag TEXT,\n"
    "  waves TEXT NOT NULL, wave INTEGER NOT NULL DEFAULT 0,\n"
    "  max_failure_permille INTEGER NOT NULL CHECK (max_failure_permille BETWEEN 0 AND 1000),\n"
    "  min_devices INTEGER NOT NULL CHECK (min_devices >= 1),\n"
    "  state TEXT NOT NULL CHECK (state IN\n"
    "    ('active', 'paused', 'halted', 'aborted', 'completed')),\n"
    "  created TEXT NOT NULL, updated TEXT NOT NULL, reason TEXT);\n"
    "CREATE TABLE audit (\n"
    "  seq INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 1),\n"
    "  time TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL,\n"
    "  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);\n"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit\n"
    "  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;\n"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit\n"
    "  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;\n",
    /* 2: install receipts imported from offline media (offline.c); sha256 of the signed body. */
    "CREATE TABLE receipts (\n"
    "  sha256 TEXT PRIMARY KEY NOT NULL,\n"
    "  device_id TEXT NOT NULL REFERENCES devices(id),\n"
    "  time TEXT NOT NULL, imported TEXT NOT NULL, outcome TEXT NOT NULL,\n"
    "  release TEXT, version TEXT, error TEXT,\n"
    "  cert_sha256 TEXT NOT NULL, body TEXT NOT NULL);\n"
    "CREATE INDEX receipts_device ON receipts(device_id, time);\n",
    /* 3: one-time enrollment tokens (enroll.c), stored as the SHA-256 of their secret. */
    "CREATE TABLE enroll_tokens (\n"
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),\n"
    "  created TEXT NOT NULL, expires INTEGER NOT NULL,\n"
    "  hardware TEXT, device_id TEXT, creator TEXT NOT NULL,\n"
    "  used TEXT, used_by TEXT, revoked TEXT);\n",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == CP_DB_SCHEMA_VERSION,
	       "CP_DB_SCHEMA_VERSION must equal the number of migrations");

int cp_db_error(sqlite3 *db, int rc, const char *what)
{
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		return cp_error(CP_E_CONFLICT, "%s: %s", what, msg);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return cp_error(-EBUSY, "%s: database is busy: %s", what, msg);
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_CANTOPEN:
		return cp_error(CP_E_STATE, "%s: %s", what, msg);
	case SQLITE_FULL:
		return cp_error(-ENOSPC, "%s: %s", what, msg);
	case SQLITE_NOMEM:
		return cp_error(-ENOMEM, "%s: %s", what, msg);
	default:
		return cp_error(SL_E_IO, "%s: %s", what, msg);
	}
}

int cp_db_exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return cp_db_error(db, rc, "database");
	return 0;
}

int cp_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, ret, NULL);

	if (rc != SQLITE_OK)
		return cp_db_error(db, rc, "database: prepare");
	return 0;
}

int cp_db_begin(sqlite3 *db)
{
	return cp_db_exec(db, "BEGIN IMMEDIATE");
}

int cp_db_commit(sqlite3 *db)
{
	int r = cp_db_exec(db, "COMMIT");

	if (r < 0)
		cp_db_rollback(db);
	return r;
}

void cp_db_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int cp_db_step_done(sqlite3 *db, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return cp_db_error(db, rc, what);
	return 0;
}

int cp_db_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	int rc = s ? sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, idx);

	return rc == SQLITE_OK ? 0 : cp_db_error(sqlite3_db_handle(st), rc, "database: bind");
}

int cp_db_meta_get_int(sqlite3 *db, const char *key, int64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = cp_db_prepare(db, "SELECT value FROM meta WHERE key = ?1", &st);
	if (r < 0)
		return r;
	r = cp_db_bind_text(st, 1, key);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return cp_error(TUF_E_NOT_FOUND, "database: no meta value '%s'", key);
	if (rc != SQLITE_ROW)
		return cp_db_error(db, rc, "database: meta");
	*ret = sqlite3_column_int64(st, 0);
	return 0;
}

int cp_db_meta_set_int(sqlite3 *db, const char *key, int64_t value)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	r = cp_db_prepare(db, "INSERT INTO meta (key, value) VALUES (?1, ?2) "
			      "ON CONFLICT(key) DO UPDATE SET value = excluded.value", &st);
	if (r < 0)
		return r;
	r = cp_db_bind_text(st, 1, key);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 2, value);
	return cp_db_step_done(db, st, "database: meta");
}

int cp_db_schema_version(sqlite3 *db, int *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = cp_db_exec(db, "CREATE TABLE IF NOT EXISTS schema_version ("
			   "version INTEGER PRIMARY KEY NOT NULL, applied TEXT NOT NULL)");
	if (r < 0)
		return r;
	r = cp_db_prepare(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version", &st);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return cp_db_error(db, rc, "database: schema_version");
	*ret = sqlite3_column_int(st, 0);
	return 0;
}

static int migrate_one(sqlite3 *db, int version)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	int have;

	r = cp_db_begin(db);
	if (r < 0)
		return r;
	/* Another process may have migrated since we looked: re-check under the write lock. */
	r = cp_db_schema_version(db, &have);
	if (r >= 0 && have >= version) {
		cp_db_rollback(db);
		return 0;
	}
	if (r >= 0)
		r = cp_db_exec(db, migrations[version - 1]);
	if (r >= 0)
		r = cp_db_prepare(db, "INSERT INTO schema_version (version, applied) "
				      "VALUES (?1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))", &st);
	if (r >= 0) {
		sqlite3_bind_int(st, 1, version);
		r = cp_db_step_done(db, st, "database: schema_version");
	}
	if (r >= 0)
		r = cp_db_commit(db);
	if (r < 0) {
		cp_db_rollback(db);
		return cp_error(r, "database: migration %d failed: %s", version, sl_error_message(r));
	}
	return 0;
}

int cp_db_migrate(sqlite3 *db)
{
	int have, r, n = 0;

	r = cp_db_schema_version(db, &have);
	if (r < 0)
		return r;
	if (have > CP_DB_SCHEMA_VERSION)
		return cp_error(CP_E_STATE, "database: schema version %d is newer than this "
					    "program's %d", have, CP_DB_SCHEMA_VERSION);
	for (int v = have + 1; v <= CP_DB_SCHEMA_VERSION; v++, n++) {
		r = migrate_one(db, v);
		if (r < 0)
			return r;
	}
	return n;
}

int cp_db_open(const char *path, bool create, sqlite3 **ret)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
	int rc, r;

	if (!create && access(path, F_OK) < 0)
		return cp_error(CP_E_STATE, "%s: no database (run 'init' first): %m", path);
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		r = cp_db_error(db, rc, path);
		sqlite3_close(db);
		return r;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, CP_DB_BUSY_TIMEOUT_MS);
	r = cp_db_exec(db, "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; "
			   "PRAGMA synchronous = FULL; PRAGMA secure_delete = ON");
	if (r >= 0)
		r = cp_db_migrate(db);
	if (r < 0) {
		sqlite3_close(db);
		return r;
	}
	*ret = db;
	return 0;
}
