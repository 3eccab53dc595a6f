/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the control plane database: migrations, pragmas, version refusal, init layout. */
#include <sys/stat.h>

#include "db.h"
#include "fileio.h"
#include "state.h"
#include "test-cp-util.h"
#include "test.h"

static int64_t one(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	ASSERT_EQ_INT(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

TEST(migrations)
{
	_cleanup_free_ char *tmp = cpt_tmpdir(), *path = NULL;
	sqlite3 *db = NULL;
	int v;

	ASSERT_TRUE(asprintf(&path, "%s/x.db", tmp) > 0);
	ASSERT_ERR(cp_db_open(path, false, &db), CP_E_STATE);
	ASSERT_OK(cp_db_open(path, true, &db));
	ASSERT_OK(cp_db_schema_version(db, &v));
	ASSERT_EQ_INT(v, CP_DB_SCHEMA_VERSION);
	ASSERT_EQ_INT(one(db, "PRAGMA foreign_keys"), 1);
	ASSERT_EQ_INT(one(db, "PRAGMA synchronous"), 2); /* FULL */
	ASSERT_EQ_INT(one(db, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('devices', "
			      "'events', 'rollouts', 'audit', 'releases', 'artifacts', 'roots')"), 7);
	/* Applying again is a no-op. */
	ASSERT_EQ_INT(cp_db_migrate(db), 0);
	ASSERT_EQ_INT(one(db, "SELECT COUNT(*) FROM schema_version"), CP_DB_SCHEMA_VERSION);
	/* Foreign keys are enforced: an event of an unknown device. */
	ASSERT_ERR(cp_db_exec(db, "INSERT INTO events (device_id, seq, time, received, release, "
				  "type) VALUES ('nobody', 1, 't', 't', 'r', 'failed')"),
		   CP_E_CONFLICT);
	/* A database from a newer program is refused. */
	ASSERT_OK(cp_db_exec(db, "INSERT INTO schema_version (version, applied) VALUES (99, 'x')"));
	sqlite3_close(db);
	db = NULL;
	ASSERT_ERR(cp_db_open(path, false, &db), CP_E_STATE);
	{
		sqlite3 *raw = NULL;

		ASSERT_EQ_INT(sqlite3_open(path, &raw), SQLITE_OK);
		ASSERT_EQ_INT(one(raw, "PRAGMA journal_mode") == 0, 1); /* "wal" is text */
		sqlite3_close(raw);
	}
	sl_rm_rf(tmp);
}

TEST(migration_from_empty_is_atomic)
{
	_cleanup_free_ char *tmp = cpt_tmpdir(), *path = NULL;
	sqlite3 *db = NULL;

	/* A table the first migration creates already exists: the migration fails as a whole. */
	ASSERT_TRUE(asprintf(&path, "%s/y.db", tmp) > 0);
	ASSERT_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
	ASSERT_EQ_INT(sqlite3_exec(db, "CREATE TABLE audit (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	db = NULL;
	ASSERT_TRUE(cp_db_open(path, false, &db) < 0);
	ASSERT_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
	ASSERT_EQ_INT(one(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'devices'"), 0);
	ASSERT_EQ_INT(one(db, "SELECT COUNT(*) FROM schema_version"), 0);
	sqlite3_close(db);
	sl_rm_rf(tmp);
}

TEST(init_layout)
{
	_cleanup_free_ char *tmp = cpt_tmpdir(), *state = NULL, *p = NULL;
	struct cp_state *s = NULL;
	struct stat st;
	uint64_t gen = 99;

	ASSERT_TRUE(asprintf(&state, "%s/state", tmp) > 0);
	ASSERT_ERR(cp_state_open(state, &s), CP_E_STATE);
	ASSERT_OK(cp_state_init(state, "test", &p));
	ASSERT_OK(stat(state, &st));
	ASSERT_EQ_INT(st.st_mode & 0777, 0700);
	free(p);
	ASSERT_TRUE(asprintf(&p, "%s/keys/snapshot.key", state) > 0);
	ASSERT_OK(lstat(p, &st));
	ASSERT_EQ_INT(st.st_mode & 0777, 0600);
	ASSERT_OK(cp_state_open(state, &s));
	ASSERT_OK(cp_state_repo_generation(s, &gen));
	ASSERT_EQ_INT(gen, 0);
	cp_state_free(s);
	/* A non-empty directory is refused and left alone. */
	ASSERT_ERR(cp_state_init(state, "test", NULL), -ENOTEMPTY);
	ASSERT_OK(lstat(p, &st));
	sl_rm_rf(tmp);
}

int main(void)
{
	RUN(migrations);
	RUN(migration_from_empty_is_atomic);
	RUN(init_layout);
	return 0;
}
