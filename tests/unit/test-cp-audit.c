/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the audit trail: chain, triggers, tamper detection (edit, delete) naming the row. */
#include <sqlite3.h>

#include "audit.h"
#include "db.h"
#include "fileio.h"
#include "state.h"
#include "test-cp-util.h"
#include "test.h"

static struct cp_state *fresh(char **ret_tmp, char **ret_db)
{
	_cleanup_free_ char *state = NULL;
	struct cp_state *s = NULL;

	*ret_tmp = cpt_tmpdir();
	ASSERT_TRUE(asprintf(&state, "%s/state", *ret_tmp) > 0);
	ASSERT_TRUE(asprintf(ret_db, "%s/controlplane.db", state) > 0);
	ASSERT_OK(cp_state_init(state, "test", NULL)); /* row 1: init */
	ASSERT_OK(cp_state_open(state, &s));
	for (int i = 0; i < 5; i++) {
		char d[32];

		snprintf(d, sizeof(d), "event %d", i);
		ASSERT_OK(cp_audit_append(s, "operator:test", "test", d)); /* rows 2..6 */
	}
	return s;
}

static void raw(const char *db, const char *sql)
{
	sqlite3 *h = NULL;

	ASSERT_EQ_INT(sqlite3_open(db, &h), SQLITE_OK);
	ASSERT_EQ_INT(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

TEST(chain_intact)
{
	_cleanup_free_ char *tmp = NULL, *db = NULL;
	struct cp_state *s = fresh(&tmp, &db);
	int64_t rows = 0;
	const char *hostile = "dev\n\x1b[31mice'; DROP TABLE audit;--\\";

	ASSERT_OK(cp_audit_append(s, hostile, "auth_failure", hostile));
	ASSERT_OK(cp_audit_verify(s, NULL, &rows));
	ASSERT_EQ_INT(rows, 7);
	/* Triggers refuse edits through the database. */
	ASSERT_ERR(cp_db_exec(s->db, "UPDATE audit SET detail = 'x' WHERE seq = 2"), CP_E_CONFLICT);
	ASSERT_ERR(cp_db_exec(s->db, "DELETE FROM audit WHERE seq = 2"), CP_E_CONFLICT);
	ASSERT_OK(cp_audit_verify(s, NULL, &rows));
	/* Caps. */
	{
		_cleanup_free_ char *big = malloc(CP_AUDIT_DETAIL_MAX + 2);

		memset(big, 'x', CP_AUDIT_DETAIL_MAX + 1);
		big[CP_AUDIT_DETAIL_MAX + 1] = '\0';
		ASSERT_ERR(cp_audit_append(s, "a", "b", big), SL_E_TOO_LARGE);
	}
	cp_state_free(s);
	sl_rm_rf(tmp);
}

static void expect_broken(struct cp_state *s, int64_t row)
{
	int64_t bad = 0;

	ASSERT_ERR(cp_audit_verify(s, &bad, NULL), CER_E_CHAIN);
	fprintf(stderr, "   %s\n", sl_error_message(CER_E_CHAIN));
	ASSERT_EQ_INT(bad, row);
}

TEST(tamper_edit)
{
	_cleanup_free_ char *tmp = NULL, *db = NULL;
	struct cp_state *s = fresh(&tmp, &db);

	raw(db, "DROP TRIGGER audit_no_update; UPDATE audit SET detail = 'event X' WHERE seq = 4");
	expect_broken(s, 4);
	cp_state_free(s);
	sl_rm_rf(tmp);
}

TEST(tamper_edit_and_rehash)
{
	_cleanup_free_ char *tmp = NULL, *db = NULL;
	struct cp_state *s = fresh(&tmp, &db);

	/* Rewriting a row's own hash to match still breaks the next row's link. */
	raw(db, "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'x', hash = "
		"'0000000000000000000000000000000000000000000000000000000000000001' WHERE seq = 3");
	expect_broken(s, 3);
	cp_state_free(s);
	sl_rm_rf(tmp);
}

TEST(tamper_delete)
{
	_cleanup_free_ char *tmp = NULL, *db = NULL;
	struct cp_state *s = fresh(&tmp, &db);

	raw(db, "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 2");
	expect_broken(s, 2);
	cp_state_free(s);
	sl_rm_rf(tmp);
}

TEST(tamper_delete_last)
{
	_cleanup_free_ char *tmp = NULL, *db = NULL;
	struct cp_state *s = fresh(&tmp, &db);

	raw(db, "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 6");
	expect_broken(s, 6);
	cp_state_free(s);
	sl_rm_rf(tmp);
}

int main(void)
{
	RUN(chain_intact);
	RUN(tamper_edit);
	RUN(tamper_edit_and_rehash);
	RUN(tamper_delete);
	RUN(tamper_delete_last);
	return 0;
}
