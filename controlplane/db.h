/* SPDX-License-Identifier: Apache-2.0 */
/* The control plane's SQLite database: opening (WAL, foreign keys), migrations, helpers. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

/* The schema version this build writes; a database with a newer one is refused. */
#define CP_DB_SCHEMA_VERSION 3

/* Milliseconds a statement waits for another writer before giving up with -EBUSY. */
#define CP_DB_BUSY_TIMEOUT_MS 10000

DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, sqlite3_finalize)
DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3 *, sqlite3_close)
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)

/*
 * Open the database at path (create it when create is true, otherwise it must exist) with
 * foreign keys on, WAL journal, synchronous=FULL and the busy timeout, then apply every
 * pending migration, each in its own transaction. Errors: CP_E_STATE for a missing or
 * corrupt database or one written by a newer schema, the translated SQLite error otherwise.
 * *ret is owned by the caller (sqlite3_close()).
 */
int cp_db_open(const char *path, bool create, sqlite3 **ret);

/* Apply pending migrations (cp_db_open() does it); returns the number applied. */
int cp_db_migrate(sqlite3 *db);

/* The schema version recorded in the database (0 for an empty database). */
int cp_db_schema_version(sqlite3 *db, int *ret);

/*
 * Translate an SQLite result code into a project code, recording "what: <sqlite message>":
 * constraint violations are CP_E_CONFLICT, busy/locked -EBUSY, corruption CP_E_STATE,
 * disk full -ENOSPC, anything else SL_E_IO.
 */
int cp_db_error(sqlite3 *db, int rc, const char *what);

/* Run SQL without results (several statements allowed; no parameters). */
int cp_db_exec(sqlite3 *db, const char *sql);

/* Prepare one statement; *ret is owned by the caller (sqlite3_finalize()). */
int cp_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret);

/* BEGIN IMMEDIATE (a write transaction, taking the write lock now), COMMIT, ROLLBACK. */
int cp_db_begin(sqlite3 *db);
int cp_db_commit(sqlite3 *db);
/* Roll back when a transaction is open; safe to call on any error path. */
void cp_db_rollback(sqlite3 *db);

/* sqlite3_step() expecting SQLITE_DONE; translated error otherwise. */
int cp_db_step_done(sqlite3 *db, sqlite3_stmt *st, const char *what);

/* Bind text (NULL binds SQL NULL) as a transient copy. */
int cp_db_bind_text(sqlite3_stmt *st, int idx, const char *s);

/* Integer and text values of the key/value table "meta"; TUF_E_NOT_FOUND when absent. */
int cp_db_meta_get_int(sqlite3 *db, const char *key, int64_t *ret);
int cp_db_meta_set_int(sqlite3 *db, const char *key, int64_t value);
