/* SPDX-License-Identifier: Apache-2.0 */
/* Rollouts: a release assigned to devices in percentage waves, with deterministic cohorts. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "devices.h"
#include "error.h"
#include "fileio.h"
#include "rollout.h"
#include "secmem.h"
#include "state.h"
#include "tuf/crypto.h"

unsigned cp_rollout_cohort(const char *rollout_id, const char *device_id)
{
	size_t a = strlen(rollout_id), b = strlen(device_id);
	uint8_t d[TUF_HASH_MAX_SIZE] = {0};
	char *buf = malloc(a + b + 1);
	uint32_t v;

	if (!buf)
		abort(); /* a few hundred bytes: treat like a stack allocation */
	memcpy(buf, rollout_id, a);
	buf[a] = '\0';
	memcpy(buf + a + 1, device_id, b);
	if (tuf_hash_buf(TUF_HASH_SHA256, buf, a + b + 1, d) < 0)
		abort();
	free(buf);
	v = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
	return v % 100;
}

static int parse_waves(const char *text, unsigned *waves, size_t *n)
{
	const char *p = text;

	*n = 0;
	while (*p) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);

		if (end == p || v < 1 || v > 100 || (*n && v <= waves[*n - 1]) ||
		    *n == CP_ROLLOUT_MAX_WAVES || (*end && *end != ','))
			return cp_error(SL_E_INVALID, "waves '%s': strictly increasing percentages "
						      "1..100, at most %d", text, CP_ROLLOUT_MAX_WAVES);
		waves[(*n)++] = (unsigned)v;
		p = *end ? end + 1 : end;
	}
	return *n ? 0 : cp_error(SL_E_INVALID, "waves: empty");
}

static int waves_text(const struct cp_rollout_spec *spec, char *buf, size_t size)
{
	size_t off = 0;

	if (spec->n_waves == 0 || spec->n_waves > CP_ROLLOUT_MAX_WAVES)
		return cp_error(SL_E_INVALID, "waves: 1 to %d waves", CP_ROLLOUT_MAX_WAVES);
	for (size_t i = 0; i < spec->n_waves; i++) {
		if (spec->waves[i] < 1 || spec->waves[i] > 100 ||
		    (i && spec->waves[i] <= spec->waves[i - 1]))
			return cp_error(SL_E_INVALID, "waves: strictly increasing percentages 1..100");
		off += (size_t)snprintf(buf + off, size - off, "%s%u", i ? "," : "", spec->waves[i]);
	}
	return 0;
}

static int release_known(struct cp_state *s, const char *release)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = cp_db_prepare(s->db, "SELECT 1 FROM releases r WHERE r.state = 'published' AND "
				 "(r.name = ?1 OR EXISTS (SELECT 1 FROM artifacts a WHERE "
				 "a.release_id = r.id AND a.release = ?1))", &st);
	if (r >= 0)
		r = cp_db_bind_text(st, 1, release);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return cp_db_error(s->db, rc, "database: releases");
	return cp_error(TUF_E_NOT_FOUND, "release '%.64s' has not been published", release);
}

static int count_open(struct cp_state *s, int64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = cp_db_prepare(s->db, "SELECT COUNT(*) FROM rollouts WHERE state IN ('active', 'paused')",
			  &st);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return cp_db_error(s->db, rc, "database: rollouts");
	*ret = sqlite3_column_int64(st, 0);
	return 0;
}

static int create_tx(struct cp_state *s, const struct cp_rollout_spec *spec, const char *waves,
		     const char *actor, const char *id)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ char *detail = NULL;
	char now[21];
	int64_t open = 0;
	int r;

	r = release_known(s, spec->release);
	if (r >= 0)
		r = count_open(s, &open);
	if (r < 0)
		return r;
	if (open > 0)
		return cp_error(CP_E_CONFLICT, "another rollout is active or paused; abort it first");
	cp_state_now_text(s, now);
	r = cp_db_prepare(s->db, "INSERT INTO rollouts (id, release, tag, waves, wave, "
				 "max_failure_permille, min_devices, state, created, updated) "
				 "VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, 'active', ?7, ?7)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int(st, 5, (int)spec->max_failure_permille);
	sqlite3_bind_int(st, 6, (int)spec->min_devices);
	if ((r = cp_db_bind_text(st, 1, id)) < 0 || (r = cp_db_bind_text(st, 2, spec->release)) < 0 ||
	    (r = cp_db_bind_text(st, 3, spec->tag)) < 0 || (r = cp_db_bind_text(st, 4, waves)) < 0 ||
	    (r = cp_db_bind_text(st, 7, now)) < 0)
		return r;
	r = cp_db_step_done(s->db, st, "database: rollouts");
	if (r < 0)
		return r;
	if (asprintf(&detail, "rollout %s of release %s to %s%s in waves %s, halt above %u.%u%%, "
		     "min devices %u", id, spec->release, spec->tag ? "tag " : "all devices",
		     spec->tag ? spec->tag : "", waves, spec->max_failure_permille / 10,
		     spec->max_failure_permille % 10, spec->min_devices) < 0)
		return -ENOMEM;
	r = cp_audit_append(s, actor, "rollout-create", detail);
	/* An empty first wave is complete already. */
	return r < 0 ? r : cp_rollout_evaluate(s);
}

int cp_rollout_create(struct cp_state *s, const struct cp_rollout_spec *spec, const char *actor,
		      char ret_id[CP_ROLLOUT_ID_LEN + 1])
{
	char waves[CP_ROLLOUT_MAX_WAVES * 4 + 1];
	uint8_t rnd[4];
	char id[CP_ROLLOUT_ID_LEN + 1];
	int r;

	if (!spec->release || !*spec->release || strlen(spec->release) > 64)
		return cp_error(SL_E_INVALID, "release: 1 to 64 bytes");
	if (spec->tag && (!*spec->tag || strlen(spec->tag) > CP_DEVICE_TAG_MAX))
		return cp_error(SL_E_INVALID, "tag: 1 to %d bytes", CP_DEVICE_TAG_MAX);
	if (spec->max_failure_permille > 1000 || spec->min_devices < 1)
		return cp_error(SL_E_INVALID, "max failure rate 0..1, min devices >= 1");
	r = waves_text(spec, waves, sizeof(waves));
	if (r < 0)
		return r;
	r = sl_secmem_init();
	if (r < 0)
		return r;
	randombytes_buf(rnd, sizeof(rnd));
	memcpy(id, "ro-", 3);
	sl_hex_encode(rnd, sizeof(rnd), id + 3);
	r = cp_db_begin(s->db);
	if (r < 0)
		return r;
	r = create_tx(s, spec, waves, actor, id);
	if (r >= 0)
		r = cp_db_commit(s->db);
	else
		cp_db_rollback(s->db);
	if (r >= 0)
		memcpy(ret_id, id, sizeof(id));
	return r;
}

/* ---- Wave statistics ---- */

struct row {
	char id[CP_ROLLOUT_ID_LEN + 1];
	char release[65];
	char tag[CP_DEVICE_TAG_MAX + 1];
	bool has_tag;
	unsigned waves[CP_ROLLOUT_MAX_WAVES];
	size_t n_waves;
	unsigned wave;
	unsigned max_failure_permille, min_devices;
	char state[16];
};

static int load_row(sqlite3_stmt *st, struct row *w)
{
	const char *tag = (const char *)sqlite3_column_text(st, 2);

	*w = (struct row){};
	snprintf(w->id, sizeof(w->id), "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(w->release, sizeof(w->release), "%s", (const char *)sqlite3_column_text(st, 1));
	w->has_tag = tag != NULL;
	snprintf(w->tag, sizeof(w->tag), "%s", tag ? tag : "");
	w->wave = (unsigned)sqlite3_column_int(st, 4);
	w->max_failure_permille = (unsigned)sqlite3_column_int(st, 5);
	w->min_devices = (unsigned)sqlite3_column_int(st, 6);
	snprintf(w->state, sizeof(w->state), "%s", (const char *)sqlite3_column_text(st, 7));
	if (parse_waves((const char *)sqlite3_column_text(st, 3), w->waves, &w->n_waves) < 0 ||
	    w->wave >= w->n_waves)
		return cp_error(CP_E_STATE, "rollout %s: corrupt waves", w->id);
	return 0;
}

#define ROW_COLUMNS "id, release, tag, waves, wave, max_failure_permille, min_devices, state"

/* The last terminal event type of device for release: 0 none, 1 committed, 2 failed. */
static int terminal(struct cp_state *s, sqlite3_stmt *st, const char *device, const char *release)
{
	const char *type;
	int r, rc;

	sqlite3_reset(st);
	if ((r = cp_db_bind_text(st, 1, device)) < 0 || (r = cp_db_bind_text(st, 2, release)) < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return cp_db_error(s->db, rc, "database: events");
	type = (const char *)sqlite3_column_text(st, 0);
	return strcmp(type, "committed") == 0 ? 1 : 2;
}

static int wave_stats(struct cp_state *s, const struct row *w, struct cp_rollout_stats *ret)
{
	_cleanup_stmt_ sqlite3_stmt *dev = NULL, *ev = NULL;
	int r, rc;

	*ret = (struct cp_rollout_stats){};
	r = cp_db_prepare(s->db, "SELECT id FROM devices d WHERE state = 'approved' AND (?1 IS NULL "
				 "OR EXISTS (SELECT 1 FROM device_tags t WHERE t.device_id = d.id "
				 "AND t.tag = ?1))", &dev);
	if (r >= 0)
		r = cp_db_bind_text(dev, 1, w->has_tag ? w->tag : NULL);
	if (r >= 0)
		r = cp_db_prepare(s->db, "SELECT type FROM events WHERE device_id = ?1 AND "
					 "release = ?2 AND type IN ('committed', 'failed', "
					 "'rolled_back') ORDER BY seq DESC LIMIT 1", &ev);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(dev)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(dev, 0);

		unsigned c = cp_rollout_cohort(w->id, id);

		ret->eligible++;
		/* The current wave: the devices this wave added (earlier waves came before). */
		if (c >= w->waves[w->wave] || (w->wave > 0 && c < w->waves[w->wave - 1]))
			continue;
		ret->in_wave++;
		r = terminal(s, ev, id, w->release);
		if (r < 0)
			return r;
		ret->committed += r == 1;
		ret->failed += r == 2;
	}
	return rc == SQLITE_DONE ? 0 : cp_db_error(s->db, rc, "database: devices");
}

static int set_state(struct cp_state *s, const char *id, const char *state, unsigned wave,
		     const char *reason)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char now[21];
	int r;

	cp_state_now_text(s, now);
	r = cp_db_prepare(s->db, "UPDATE rollouts SET state = ?2, wave = ?3, updated = ?4, "
				 "reason = COALESCE(?5, reason) WHERE id = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int(st, 3, (int)wave);
	if ((r = cp_db_bind_text(st, 1, id)) < 0 || (r = cp_db_bind_text(st, 2, state)) < 0 ||
	    (r = cp_db_bind_text(st, 4, now)) < 0 || (r = cp_db_bind_text(st, 5, reason)) < 0)
		return r;
	return cp_db_step_done(s->db, st, "database: rollouts");
}

static int advance(struct cp_state *s, const struct row *w, const char *actor, const char *why)
{
	bool last = w->wave + 1 >= w->n_waves;
	char detail[512];
	int r;

	r = set_state(s, w->id, last ? "completed" : "active", last ? w->wave : w->wave + 1, NULL);
	if (r < 0)
		return r;
	if (last)
		snprintf(detail, sizeof(detail), "rollout %s completed (%s)", w->id, why);
	else
		snprintf(detail, sizeof(detail), "rollout %s advanced to wave %u (%u%%) (%s)", w->id,
			 w->wave + 2, w->waves[w->wave + 1], why);
	return cp_audit_append(s, actor, last ? "rollout-complete" : "rollout-advance", detail);
}

static int judge(struct cp_state *s, const struct row *w)
{
	struct cp_rollout_stats st;
	int64_t reported;
	char detail[512];
	int r;

	r = wave_stats(s, w, &st);
	if (r < 0)
		return r;
	reported = st.committed + st.failed;
	if (reported >= w->min_devices && reported > 0 &&
	    st.failed * 1000 > (int64_t)w->max_failure_permille * reported) {
		snprintf(detail, sizeof(detail), "rollout %.11s halted in wave %u: %" PRId64 " of %"
			 PRId64 " reporting devices failed or rolled back (threshold %u.%u%%)",
			 w->id, w->wave + 1, st.failed, reported, w->max_failure_permille / 10,
			 w->max_failure_permille % 10);
		r = set_state(s, w->id, "halted", w->wave, detail);
		return r < 0 ? r : cp_audit_append(s, "server", "rollout-halt", detail);
	}
	if (st.committed == st.in_wave && (st.in_wave > 0 || st.eligible > 0))
		return advance(s, w, "server", "every device of the wave committed");
	return 0;
}

int cp_rollout_evaluate(struct cp_state *s)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct row rows[8];
	size_t n = 0;
	int r, rc;

	r = cp_db_prepare(s->db, "SELECT " ROW_COLUMNS " FROM rollouts WHERE state = 'active'", &st);
	if (r < 0)
		return r;
	while (n < ELEMENTSOF(rows) && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = load_row(st, &rows[n++]);
		if (r < 0)
			return r;
	}
	sqlite3_finalize(TAKE_PTR(st));
	for (size_t i = 0; i < n; i++) {
		/* Advance over waves that are complete already (an empty wave included). */
		for (unsigned guard = 0; guard < CP_ROLLOUT_MAX_WAVES; guard++) {
			unsigned before = rows[i].wave;

			r = judge(s, &rows[i]);
			if (r < 0)
				return r;
			r = cp_db_prepare(s->db, "SELECT " ROW_COLUMNS " FROM rollouts WHERE id = ?1",
					  &st);
			if (r >= 0)
				r = cp_db_bind_text(st, 1, rows[i].id);
			if (r >= 0 && sqlite3_step(st) == SQLITE_ROW)
				r = load_row(st, &rows[i]);
			sqlite3_finalize(TAKE_PTR(st));
			if (r < 0)
				return r;
			if (strcmp(rows[i].state, "active") != 0 || rows[i].wave == before)
				break;
		}
	}
	return 0;
}

static int get_row(struct cp_state *s, const char *id, struct row *w)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = cp_db_prepare(s->db, "SELECT " ROW_COLUMNS " FROM rollouts WHERE id = ?1", &st);
	if (r >= 0)
		r = cp_db_bind_text(st, 1, id);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return cp_error(TUF_E_NOT_FOUND, "no rollout '%.64s'", id);
	if (rc != SQLITE_ROW)
		return cp_db_error(s->db, rc, "database: rollouts");
	return load_row(st, w);
}

static int action_tx(struct cp_state *s, const char *id, const char *action, const char *actor)
{
	struct row w;
	char detail[128];
	int r;

	r = get_row(s, id, &w);
	if (r < 0)
		return r;
	if (strcmp(action, "advance") == 0) {
		if (strcmp(w.state, "active") != 0)
			return cp_error(CP_E_CONFLICT, "rollout %s is %s, not active", id, w.state);
		return advance(s, &w, actor, "by the operator");
	}
	if (strcmp(action, "pause") == 0 && strcmp(w.state, "active") == 0)
		r = set_state(s, id, "paused", w.wave, NULL);
	else if (strcmp(action, "resume") == 0 && strcmp(w.state, "paused") == 0)
		r = set_state(s, id, "active", w.wave, NULL);
	else if (strcmp(action, "abort") == 0 &&
		 (strcmp(w.state, "active") == 0 || strcmp(w.state, "paused") == 0 ||
		  strcmp(w.state, "halted") == 0))
		r = set_state(s, id, "aborted", w.wave, "aborted by the operator");
	else
		return cp_error(CP_E_CONFLICT, "rollout %s is %s: cannot %s it", id, w.state, action);
	if (r < 0)
		return r;
	snprintf(detail, sizeof(detail), "rollout %s: %s", id, action);
	r = cp_audit_append(s, actor, "rollout-action", detail);
	if (r >= 0 && strcmp(action, "resume") == 0)
		r = cp_rollout_evaluate(s);
	return r;
}

int cp_rollout_action(struct cp_state *s, const char *id, const char *action, const char *actor)
{
	int r = cp_db_begin(s->db);

	if (r < 0)
		return r;
	r = action_tx(s, id, action, actor);
	if (r >= 0)
		return cp_db_commit(s->db);
	cp_db_rollback(s->db);
	return r;
}

int cp_rollout_foreach(struct cp_state *s, const char *id,
		       int (*fn)(const struct cp_rollout *r, void *userdata), void *userdata)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;
	bool any = false;

	r = cp_db_prepare(s->db, "SELECT " ROW_COLUMNS ", waves, created, updated, reason "
				 "FROM rollouts WHERE ?1 IS NULL OR id = ?1 ORDER BY rowid DESC", &st);
	if (r >= 0)
		r = cp_db_bind_text(st, 1, id);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct row w;
		struct cp_rollout out;

		r = load_row(st, &w);
		if (r >= 0)
			r = wave_stats(s, &w, &out.stats);
		if (r < 0)
			return r;
		out.id = w.id;
		out.release = w.release;
		out.tag = w.has_tag ? w.tag : NULL;
		out.waves = (const char *)sqlite3_column_text(st, 8);
		out.state = w.state;
		out.created = (const char *)sqlite3_column_text(st, 9);
		out.updated = (const char *)sqlite3_column_text(st, 10);
		out.reason = (const char *)sqlite3_column_text(st, 11);
		out.wave = w.wave;
		out.max_failure_permille = w.max_failure_permille;
		out.min_devices = w.min_devices;
		any = true;
		r = fn(&out, userdata);
		if (r < 0)
			return r;
	}
	if (rc != SQLITE_DONE)
		return cp_db_error(s->db, rc, "database: rollouts");
	if (id && !any)
		return cp_error(TUF_E_NOT_FOUND, "no rollout '%.64s'", id);
	return 0;
}

static int in_scope(struct cp_state *s, const struct row *w, const char *device_id, bool *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	if (!w->has_tag) {
		*ret = true;
		return 0;
	}
	r = cp_db_prepare(s->db, "SELECT 1 FROM device_tags WHERE device_id = ?1 AND tag = ?2", &st);
	if (r >= 0 && (r = cp_db_bind_text(st, 1, device_id)) >= 0)
		r = cp_db_bind_text(st, 2, w->tag);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cp_db_error(s->db, rc, "database: device_tags");
	*ret = rc == SQLITE_ROW;
	return 0;
}

int cp_rollout_desired(struct cp_state *s, const char *device_id, char **ret_release,
		       char **ret_rollout)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	*ret_release = *ret_rollout = NULL;
	r = cp_db_prepare(s->db, "SELECT " ROW_COLUMNS " FROM rollouts WHERE state IN ('active', "
				 "'paused', 'completed') ORDER BY rowid DESC", &st);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct row w;
		bool scope = false;

		r = load_row(st, &w);
		if (r >= 0)
			r = in_scope(s, &w, device_id, &scope);
		if (r < 0)
			return r;
		if (!scope)
			continue;
		if (cp_rollout_cohort(w.id, device_id) < w.waves[w.wave]) {
			*ret_release = strdup(w.release);
			*ret_rollout = strdup(w.id);
			if (!*ret_release || !*ret_rollout) {
				free(*ret_release);
				free(*ret_rollout);
				*ret_release = *ret_rollout = NULL;
				return -ENOMEM;
			}
		}
		return 0; /* the newest rollout in scope decides */
	}
	return rc == SQLITE_DONE ? 0 : cp_db_error(s->db, rc, "database: rollouts");
}
