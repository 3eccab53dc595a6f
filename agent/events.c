/* SPDX-License-Identifier: Apache-2.0 */
/* The local event queue in SQLite: append on every transition, list, read and acknowledge
 * what is unsent. */
#include <errno.h>
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "events.h"
#include "state.h"
#include "tuf/json.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3 *, sqlite3_close)
DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, sqlite3_finalize)

static const char schema[] = "PRAGMA journal_mode=WAL;"
			     "PRAGMA synchronous=FULL;"
			     "CREATE TABLE IF NOT EXISTS events ("
			     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
			     " time TEXT NOT NULL,"
			     " release TEXT,"
			     " type TEXT NOT NULL,"
			     " error TEXT,"
			     " sent INTEGER NOT NULL DEFAULT 0);";

static int db_error(sqlite3 *db, const char *path, const char *what)
{
	return sl_error(SL_E_IO, "%s: %s: %s", path, what,
			db ? sqlite3_errmsg(db) : "out of memory");
}

static int db_open(const char *state_dir, bool create, sqlite3 **ret)
{
	_cleanup_free_ char *path = agent_path(state_dir, "events.db");
	sqlite3 *db = NULL;
	int flags =
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | (create ? SQLITE_OPEN_CREATE : 0);

	if (!path)
		return -ENOMEM;
	if (!create && access(path, F_OK) < 0)
		return -ENOENT;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		int r = db_error(db, path, "cannot open");
		sqlite3_close(db);
		return r;
	}
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		int r = db_error(db, path, "cannot create the schema");
		sqlite3_close(db);
		return r;
	}
	*ret = db;
	return 0;
}

int agent_events_append(const char *state_dir, const char *release, const char *type,
			const char *error)
{
	_cleanup_(sqlite3_closep) sqlite3 *db = NULL;
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	char now[21];
	int r;

	r = db_open(state_dir, true, &db);
	if (r < 0)
		return r;
	tuf_json_format_time((int64_t)time(NULL), now);
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO events (time, release, type, error) VALUES (?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(db, "events.db", "cannot prepare");
	sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, release, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, type, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, error, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(db, "events.db", "cannot append an event");
	return 0;
}

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : NULL;
}

int agent_events_list(const char *state_dir, unsigned max, bool json, FILE *out)
{
	_cleanup_(sqlite3_closep) sqlite3 *db = NULL;
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	_cleanup_(json_object_putp) struct json_object *arr = json_object_new_array();
	int r;

	if (!arr)
		return -ENOMEM;
	if (max > AGENT_EVENTS_LIST_MAX)
		max = AGENT_EVENTS_LIST_MAX;
	r = db_open(state_dir, false, &db);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0) {
		if (sqlite3_prepare_v2(db,
				       "SELECT seq, time, release, type, error FROM (SELECT * FROM "
				       "events ORDER BY seq DESC LIMIT ?) ORDER BY seq",
				       -1, &st, NULL) != SQLITE_OK)
			return db_error(db, "events.db", "cannot prepare");
		sqlite3_bind_int(st, 1, (int)max);
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			struct json_object *e;

			if (!json) {
				fprintf(out, "%lld %s %s %s%s%s\n",
					(long long)sqlite3_column_int64(st, 0), col(st, 1),
					col(st, 3), col(st, 2) ? col(st, 2) : "-",
					col(st, 4) ? " " : "", col(st, 4) ? col(st, 4) : "");
				continue;
			}
			e = json_object_new_object();
			if (!e || json_object_array_add(arr, e) < 0) {
				json_object_put(e);
				return -ENOMEM;
			}
			json_object_object_add(e, "seq",
					       json_object_new_int64(sqlite3_column_int64(st, 0)));
			json_object_object_add(e, "time", json_object_new_string(col(st, 1)));
			json_object_object_add(e, "type", json_object_new_string(col(st, 3)));
			if (col(st, 2))
				json_object_object_add(e, "release",
						       json_object_new_string(col(st, 2)));
			if (col(st, 4))
				json_object_object_add(e, "error",
						       json_object_new_string(col(st, 4)));
		}
		if (r != SQLITE_DONE)
			return db_error(db, "events.db", "cannot read events");
	}
	if (json)
		fprintf(out, "%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
	return 0;
}

int64_t agent_events_pending(const char *state_dir)
{
	_cleanup_(sqlite3_closep) sqlite3 *db = NULL;
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r;

	r = db_open(state_dir, false, &db);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM events WHERE sent = 0", -1, &st, NULL) !=
		SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		return db_error(db, "events.db", "cannot count events");
	return sqlite3_column_int64(st, 0);
}

static int dup_col(sqlite3_stmt *st, int i, char **ret)
{
	const char *v = col(st, i);

	*ret = NULL;
	if (v && !(*ret = strdup(v)))
		return -ENOMEM;
	return 0;
}

void agent_event_clear(struct agent_event *e)
{
	free(e->time);
	free(e->release);
	free(e->type);
	free(e->error);
	*e = (struct agent_event){};
}

int agent_events_unsent(const char *state_dir, struct agent_event *ret, size_t max, size_t *ret_n)
{
	_cleanup_(sqlite3_closep) sqlite3 *db = NULL;
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	size_t n = 0;
	int r;

	*ret_n = 0;
	r = db_open(state_dir, false, &db);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (sqlite3_prepare_v2(db,
			       "SELECT seq, time, release, type, error FROM events WHERE sent = 0 "
			       "ORDER BY seq LIMIT ?",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(db, "events.db", "cannot prepare");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	while (n < max && (r = sqlite3_step(st)) == SQLITE_ROW) {
		struct agent_event *e = &ret[n];

		*e = (struct agent_event){.seq = sqlite3_column_int64(st, 0)};
		n++;
		if (dup_col(st, 1, &e->time) < 0 || dup_col(st, 2, &e->release) < 0 ||
		    dup_col(st, 3, &e->type) < 0 || dup_col(st, 4, &e->error) < 0 || !e->time ||
		    !e->type) {
			for (size_t i = 0; i < n; i++)
				agent_event_clear(&ret[i]);
			return -ENOMEM;
		}
	}
	if (n < max && r != SQLITE_DONE) {
		for (size_t i = 0; i < n; i++)
			agent_event_clear(&ret[i]);
		return db_error(db, "events.db", "cannot read events");
	}
	*ret_n = n;
	return 0;
}

int agent_events_mark_sent(const char *state_dir, int64_t upto)
{
	_cleanup_(sqlite3_closep) sqlite3 *db = NULL;
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *mark = NULL, *prune = NULL;
	int r;

	r = db_open(state_dir, false, &db);
	if (r < 0)
		return r;
	if (sqlite3_prepare_v2(db, "UPDATE events SET sent = 1 WHERE seq <= ? AND sent = 0", -1,
			       &mark, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "DELETE FROM events WHERE sent = 1 AND seq <= "
			       "(SELECT max(seq) FROM events) - ?",
			       -1, &prune, NULL) != SQLITE_OK)
		return db_error(db, "events.db", "cannot prepare");
	sqlite3_bind_int64(mark, 1, upto);
	sqlite3_bind_int64(prune, 1, AGENT_EVENTS_KEEP_SENT);
	if (sqlite3_step(mark) != SQLITE_DONE || sqlite3_step(prune) != SQLITE_DONE)
		return db_error(db, "events.db", "cannot mark events as sent");
	return 0;
}
