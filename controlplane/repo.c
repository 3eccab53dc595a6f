/* SPDX-License-Identifier: Apache-2.0 */
/* The served TUF repository: root chain, served metadata, root import, renewal, recovery. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "error.h"
#include "fileio.h"
#include "keys.h"
#include "repo.h"
#include "state.h"
#include "tuf/crypto.h"
#include "tuf/updater.h"
#include "tuf/writer.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_signer *, tuf_signer_free)

void cp_served_clear(struct cp_served *v)
{
	tuf_metadata_free(v->root);
	tuf_metadata_free(v->timestamp);
	tuf_metadata_free(v->snapshot);
	tuf_metadata_free(v->targets);
	free(v->root_buf);
	free(v->snapshot_buf);
	free(v->targets_buf);
	for (size_t i = 0; i < v->n_roles; i++) {
		free(v->roles[i].name);
		tuf_metadata_free(v->roles[i].md);
		free(v->roles[i].buf);
	}
	free(v->roles);
	*v = (struct cp_served){};
}

int cp_repo_read_meta(struct cp_state *s, const char *name, size_t max, uint8_t **ret_buf,
		      size_t *ret_len)
{
	_cleanup_close_ int dfd = open(s->metadata_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return cp_error(CP_E_STATE, "%s: %m", s->metadata_dir);
	return sl_read_file_at(dfd, name, max, ret_buf, ret_len);
}

static int first_root_version(struct cp_state *s, uint64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = cp_db_prepare(s->db, "SELECT MIN(version) FROM roots WHERE source = 'import'", &st);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return cp_db_error(s->db, rc, "database: roots");
	if (sqlite3_column_type(st, 0) == SQLITE_NULL)
		return cp_error(CP_E_STATE, "no trusted root: run 'sluice-controlplane root-import' "
					    "first");
	*ret = (uint64_t)sqlite3_column_int64(st, 0);
	return 0;
}

/* Parse a repository file; any failure is CP_E_STATE naming it. */
static int load_md(struct cp_state *s, const char *name, enum tuf_role_type type, size_t max,
		   uint8_t **ret_buf, size_t *ret_len, struct tuf_metadata **ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	r = cp_repo_read_meta(s, name, max, &buf, &len);
	if (r < 0)
		return r;
	r = tuf_metadata_parse(buf, len, type, ret);
	if (r < 0)
		return cp_error(CP_E_STATE, "repository %s: %s", name, sl_error_message(r));
	if (ret_buf) {
		*ret_buf = TAKE_PTR(buf);
		*ret_len = len;
	}
	return 0;
}

static int load_roots(struct cp_state *s, struct cp_served *v)
{
	uint64_t n = 0;
	int r;

	r = first_root_version(s, &n);
	if (r < 0)
		return r;
	v->first_root = n;
	for (unsigned i = 0; i < CP_REPO_MAX_ROOTS; i++, n++) {
		_cleanup_free_ char *name = NULL;
		_cleanup_free_ uint8_t *buf = NULL;
		_cleanup_(tuf_metadata_freep) struct tuf_metadata *md = NULL;
		size_t len;

		if (asprintf(&name, "%" PRIu64 ".root.json", n) < 0)
			return -ENOMEM;
		r = load_md(s, name, TUF_ROLE_ROOT, TUF_DEFAULT_ROOT_MAX, &buf, &len, &md);
		if (r == -ENOENT && v->root)
			return 0;
		if (r < 0)
			return r == -ENOENT ? cp_error(CP_E_STATE, "repository %s is missing", name) : r;
		if (md->version != n)
			return cp_error(CP_E_STATE, "repository %s: version %" PRIu64, name,
					md->version);
		if (v->root)
			r = tuf_metadata_verify_root_role(md, &v->root->u.root, TUF_ROLE_ROOT);
		if (r >= 0)
			r = tuf_metadata_verify_root_role(md, &md->u.root, TUF_ROLE_ROOT);
		if (r < 0)
			return cp_error(CP_E_STATE, "repository %s: %s", name, sl_error_message(r));
		tuf_metadata_free(v->root);
		free(v->root_buf);
		v->root = TAKE_PTR(md);
		v->root_buf = TAKE_PTR(buf);
		v->root_len = len;
	}
	return cp_error(CP_E_STATE, "repository: more than %d root versions", CP_REPO_MAX_ROOTS);
}

/* Read meta entry m's file (consistent name), check it against m, parse it as targets. */
static int load_listed(struct cp_state *s, const char *role, const struct tuf_meta_file *m,
		       uint8_t **ret_buf, size_t *ret_len, struct tuf_metadata **ret)
{
	_cleanup_free_ char *name = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	r = tuf_writer_metadata_filename(role, m->version, true, &name);
	if (r < 0)
		return r;
	r = load_md(s, name, TUF_ROLE_TARGETS, TUF_DEFAULT_TARGETS_MAX, &buf, &len, ret);
	if (r < 0)
		return r == -ENOENT ? cp_error(CP_E_STATE, "repository %s is missing", name) : r;
	r = tuf_meta_file_check(m, buf, len, name);
	if (r < 0)
		return cp_error(CP_E_STATE, "%s", sl_error_message(r));
	*ret_buf = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static int load_roles(struct cp_state *s, struct cp_served *v)
{
	const struct tuf_snapshot *sn = &v->snapshot->u.snapshot;

	v->roles = calloc(sn->n_meta ? sn->n_meta : 1, sizeof(*v->roles));
	if (!v->roles)
		return -ENOMEM;
	for (size_t i = 0; i < sn->n_meta; i++) {
		const char *file = sn->meta[i].name;
		size_t l = strlen(file);
		struct cp_served_role *e = &v->roles[v->n_roles];
		int r;

		if (strcmp(file, "targets.json") == 0)
			continue;
		if (l <= 5 || strcmp(file + l - 5, ".json") != 0)
			return cp_error(CP_E_STATE, "repository snapshot: entry '%.256s'", file);
		e->name = strndup(file, l - 5);
		if (!e->name)
			return -ENOMEM;
		v->n_roles++;
		r = load_listed(s, e->name, &sn->meta[i], &e->buf, &e->len, &e->md);
		if (r < 0)
			return r;
	}
	return 0;
}

static int load_top(struct cp_state *s, struct cp_served *v)
{
	const struct tuf_meta_file *m;
	_cleanup_free_ char *name = NULL;
	int r;

	r = load_md(s, "timestamp.json", TUF_ROLE_TIMESTAMP, TUF_DEFAULT_TIMESTAMP_MAX, NULL, NULL,
		    &v->timestamp);
	if (r == -ENOENT)
		return 0; /* nothing published yet */
	if (r < 0)
		return r;
	r = tuf_metadata_verify_root_role(v->timestamp, &v->root->u.root, TUF_ROLE_TIMESTAMP);
	if (r < 0)
		return cp_error(CP_E_STATE, "repository timestamp.json: %s", sl_error_message(r));
	m = &v->timestamp->u.timestamp.snapshot;
	if (asprintf(&name, "%" PRIu64 ".snapshot.json", m->version) < 0)
		return -ENOMEM;
	r = load_md(s, name, TUF_ROLE_SNAPSHOT, TUF_DEFAULT_SNAPSHOT_MAX, &v->snapshot_buf,
		    &v->snapshot_len, &v->snapshot);
	if (r < 0)
		return r == -ENOENT ? cp_error(CP_E_STATE, "repository %s is missing", name) : r;
	r = tuf_meta_file_check(m, v->snapshot_buf, v->snapshot_len, name);
	if (r >= 0)
		r = tuf_metadata_verify_root_role(v->snapshot, &v->root->u.root, TUF_ROLE_SNAPSHOT);
	if (r < 0)
		return cp_error(CP_E_STATE, "repository %s: %s", name, sl_error_message(r));
	m = tuf_snapshot_find(&v->snapshot->u.snapshot, "targets.json");
	if (!m)
		return cp_error(CP_E_STATE, "repository %s: no targets.json entry", name);
	r = load_listed(s, "targets", m, &v->targets_buf, &v->targets_len, &v->targets);
	if (r < 0)
		return r;
	r = tuf_metadata_verify_root_role(v->targets, &v->root->u.root, TUF_ROLE_TARGETS);
	if (r < 0)
		return cp_error(CP_E_STATE, "repository targets: %s", sl_error_message(r));
	return load_roles(s, v);
}

int cp_repo_load(struct cp_state *s, struct cp_served *ret)
{
	struct cp_served v = {};
	int r;

	r = load_roots(s, &v);
	if (r >= 0)
		r = load_top(s, &v);
	if (r < 0) {
		cp_served_clear(&v);
		return r;
	}
	*ret = v;
	return 0;
}

/* ---- Signing snapshot and timestamp ---- */

static int sign_and_write(struct cp_state *s, struct json_object *doc, const char *role,
			  struct json_object *root_doc, const char *dir, const char *name)
{
	_cleanup_(tuf_signer_freep) struct tuf_signer *signer = NULL;
	int r;

	r = cp_keys_load(s->keys_dir, role, &signer);
	if (r >= 0)
		r = tuf_writer_sign(doc, signer);
	if (r >= 0)
		r = tuf_writer_write(doc, role, root_doc, true, dir, name);
	if (r < 0)
		return cp_error(r, "%s: %s", name, sl_error_message(r));
	return 0;
}

int cp_repo_write_snapshot(struct cp_state *s, const struct cp_served *v,
			   struct json_object *root_doc, const struct cp_meta_entry *meta,
			   size_t n_meta, int64_t now, uint64_t *ret_version, uint8_t **ret_buf,
			   size_t *ret_len)
{
	return cp_repo_write_snapshot_to(s, v, root_doc, meta, n_meta, now, s->metadata_dir,
					 TUF_WRITER_SNAPSHOT_DAYS, ret_version, ret_buf, ret_len);
}

int cp_repo_write_snapshot_to(struct cp_state *s, const struct cp_served *v,
			      struct json_object *root_doc, const struct cp_meta_entry *meta,
			      size_t n_meta, int64_t now, const char *dir, unsigned days,
			      uint64_t *ret_version, uint8_t **ret_buf, size_t *ret_len)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	_cleanup_free_ char *name = NULL, *bytes = NULL;
	uint64_t version = (v->snapshot ? v->snapshot->version : 0) + 1;
	size_t len;
	int r;

	r = tuf_writer_new(TUF_ROLE_SNAPSHOT, now, &doc);
	if (r >= 0)
		r = tuf_writer_set_version(doc, version);
	for (size_t i = 0; r >= 0 && i < n_meta; i++)
		r = tuf_writer_snapshot_set_meta(doc, meta[i].role, meta[i].version, meta[i].buf,
						 meta[i].len);
	if (r >= 0)
		r = tuf_writer_set_expires_days(doc, now, days);
	if (r >= 0)
		r = tuf_writer_metadata_filename("snapshot", version, true, &name);
	if (r < 0)
		return r;
	r = sign_and_write(s, doc, "snapshot", root_doc, dir, name);
	if (r >= 0)
		r = tuf_writer_serialize(doc, &bytes, &len);
	if (r < 0)
		return r;
	*ret_version = version;
	*ret_buf = (uint8_t *)TAKE_PTR(bytes);
	*ret_len = len;
	return 0;
}

int cp_repo_write_timestamp(struct cp_state *s, const struct cp_served *v,
			    struct json_object *root_doc, uint64_t snapshot_version,
			    const uint8_t *buf, size_t len, int64_t now, uint64_t *ret_version)
{
	return cp_repo_write_timestamp_to(s, v, root_doc, snapshot_version, buf, len, now,
					  s->metadata_dir, TUF_WRITER_TIMESTAMP_DAYS, ret_version);
}

int cp_repo_write_timestamp_to(struct cp_state *s, const struct cp_served *v,
			       struct json_object *root_doc, uint64_t snapshot_version,
			       const uint8_t *buf, size_t len, int64_t now, const char *dir,
			       unsigned days, uint64_t *ret_version)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	uint64_t version = (v->timestamp ? v->timestamp->version : 0) + 1;
	int r;

	r = tuf_writer_new(TUF_ROLE_TIMESTAMP, now, &doc);
	if (r >= 0)
		r = tuf_writer_set_version(doc, version);
	if (r >= 0)
		r = tuf_writer_timestamp_set_snapshot(doc, snapshot_version, buf, len);
	if (r >= 0)
		r = tuf_writer_set_expires_days(doc, now, days);
	if (r >= 0)
		r = sign_and_write(s, doc, "timestamp", root_doc, dir, "timestamp.json");
	if (r < 0)
		return r;
	if (ret_version)
		*ret_version = version;
	return 0;
}

/* ---- Root import ---- */

static int online_keyid(struct cp_state *s, const char *role, char ret[65])
{
	_cleanup_(tuf_signer_freep) struct tuf_signer *signer = NULL;
	int r = cp_keys_load(s->keys_dir, role, &signer);

	if (r < 0)
		return r;
	memcpy(ret, tuf_signer_keyid(signer), 65);
	return 0;
}

/* The root's snapshot and timestamp roles must be exactly our online keys, threshold 1. */
static int check_online_roles(struct cp_state *s, const struct tuf_root *root, const char *what)
{
	static const enum tuf_role_type roles[] = {TUF_ROLE_SNAPSHOT, TUF_ROLE_TIMESTAMP};
	char keyid[65];
	int r;

	for (size_t i = 0; i < ELEMENTSOF(roles); i++) {
		const struct tuf_role_keys *k = &root->roles[roles[i]];
		const char *name = tuf_role_type_name(roles[i]);

		r = online_keyid(s, name, keyid);
		if (r < 0)
			return r;
		if (k->n_keyids != 1 || k->threshold != 1 || strcmp(k->keyids[0], keyid) != 0)
			return cp_error(SL_E_INVALID, "%s: the %s role must list exactly this "
						      "control plane's online key %s with threshold 1",
					what, name, keyid);
	}
	if (!root->consistent_snapshot)
		return cp_error(SL_E_INVALID, "%s: consistent_snapshot must be true", what);
	return 0;
}

int cp_repo_check_new_root(struct cp_state *s, const struct tuf_metadata *md, const char *what)
{
	return check_online_roles(s, &md->u.root, what);
}

static void fill_root_info(const struct tuf_metadata *md, const uint8_t *buf, size_t len,
			   struct cp_root_info *info)
{
	*info = (struct cp_root_info){.version = md->version, .expires = md->expires};
	tuf_sha256_hex(buf, len, info->sha256);
	for (int t = 0; t < 4; t++) {
		const struct tuf_role_keys *k = &md->u.root.roles[t];

		info->threshold[t] = k->threshold;
		for (size_t i = 0; i < k->n_keyids && i < 8; i++)
			snprintf(info->keyids[t][info->n_keyids[t]++], 65, "%s", k->keyids[i]);
	}
}

static int record_root(struct cp_state *s, const struct cp_root_info *info, const char *source)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char now[21];
	int r;

	cp_state_now_text(s, now);
	r = cp_db_prepare(s->db, "INSERT INTO roots (version, sha256, recorded, source) "
				 "VALUES (?1, ?2, ?3, ?4)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)info->version);
	if ((r = cp_db_bind_text(st, 2, info->sha256)) < 0 ||
	    (r = cp_db_bind_text(st, 3, now)) < 0 || (r = cp_db_bind_text(st, 4, source)) < 0)
		return r;
	return cp_db_step_done(s->db, st, "database: roots");
}

int cp_repo_record_root(struct cp_state *s, const struct tuf_metadata *md, const uint8_t *buf,
			size_t len)
{
	struct cp_root_info info;

	fill_root_info(md, buf, len, &info);
	return record_root(s, &info, "publish");
}

static int roots_count(struct cp_state *s, int64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = cp_db_prepare(s->db, "SELECT COUNT(*) FROM roots", &st);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return cp_db_error(s->db, rc, "database: roots");
	*ret = sqlite3_column_int64(st, 0);
	return 0;
}

static int import_verified(struct cp_state *s, const char *path, const uint8_t *buf, size_t len,
			   const char *actor, struct cp_root_info *info)
{
	_cleanup_(tuf_metadata_freep) struct tuf_metadata *md = NULL;
	_cleanup_free_ char *name = NULL;
	char detail[512];
	int r;

	r = tuf_metadata_parse(buf, len, TUF_ROLE_ROOT, &md);
	if (r < 0)
		return cp_error(r, "%s: %s", path, sl_error_message(r));
	r = tuf_metadata_verify_root_role(md, &md->u.root, TUF_ROLE_ROOT);
	if (r >= 0)
		r = tuf_metadata_check_expiry(md, "root", cp_state_now(s));
	if (r >= 0)
		r = check_online_roles(s, &md->u.root, path);
	if (r < 0)
		return cp_error(r, "%s: %s", path, sl_error_message(r));
	fill_root_info(md, buf, len, info);
	if (asprintf(&name, "%" PRIu64 ".root.json", md->version) < 0)
		return -ENOMEM;
	r = cp_db_begin(s->db);
	if (r < 0)
		return r;
	snprintf(detail, sizeof(detail), "root version %" PRIu64 " sha256 %s trusted", md->version,
		 info->sha256);
	r = record_root(s, info, "import");
	if (r >= 0)
		r = cp_audit_append(s, actor, "root-import", detail);
	if (r >= 0) {
		_cleanup_close_ int dfd = open(s->metadata_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		r = dfd < 0 ? -errno : sl_write_file_atomic_at(dfd, name, buf, len, 0644);
		if (r < 0)
			r = cp_error(r, "%s/%s: %s", s->metadata_dir, name, strerror(-r));
	}
	if (r >= 0)
		r = cp_db_commit(s->db);
	if (r < 0) {
		cp_db_rollback(s->db);
		/* The file is unreferenced without its row. */
		_cleanup_close_ int dfd = open(s->metadata_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0)
			unlinkat(dfd, name, 0);
	}
	return r;
}

int cp_repo_root_import(struct cp_state *s, const char *path, const char *actor,
			struct cp_root_info *ret)
{
	_cleanup_close_ int lock = -1;
	_cleanup_free_ uint8_t *buf = NULL;
	int64_t n = 0;
	size_t len;
	int r;

	r = cp_state_lock(s, true, &lock);
	if (r < 0)
		return r;
	r = roots_count(s, &n);
	if (r < 0)
		return r;
	if (n > 0)
		return cp_error(CP_E_CONFLICT, "a root is already trusted; new roots arrive in "
					       "release bundles");
	r = sl_read_file_at(AT_FDCWD, path, TUF_DEFAULT_ROOT_MAX, &buf, &len);
	if (r == SL_E_TOO_LARGE)
		return cp_error(TUF_E_TOO_LARGE, "%s: larger than %u bytes", path,
				TUF_DEFAULT_ROOT_MAX);
	if (r < 0)
		return cp_error(r, "%s: cannot read: %s", path, sl_strerror(r));
	return import_verified(s, path, buf, len, actor, ret);
}

/* ---- Recovery and renewal ---- */

static int recover_row(struct cp_state *s, int64_t id, uint64_t targets_version,
		       const struct cp_served *v)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char now[21], detail[256];
	bool done = v->targets && v->targets->version == targets_version;
	int r;

	cp_state_now_text(s, now);
	r = cp_db_prepare(s->db, done ? "UPDATE releases SET state = 'published', published = ?2 "
					"WHERE id = ?1" :
					"DELETE FROM releases WHERE id = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	if (done && (r = cp_db_bind_text(st, 2, now)) < 0)
		return r;
	r = cp_db_step_done(s->db, st, "database: releases");
	if (r < 0 || !done)
		return r;
	snprintf(detail, sizeof(detail), "targets version %" PRIu64 " recorded after an "
		 "interrupted publish", targets_version);
	r = cp_audit_append(s, "server", "publish-recovered", detail);
	if (r >= 0)
		r = cp_state_bump_generation(s);
	return r;
}

int cp_repo_recover(struct cp_state *s)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_(cp_served_clear) struct cp_served v = {};
	bool loaded = false;
	int r, rc;

	r = cp_db_begin(s->db);
	if (r < 0)
		return r;
	r = cp_db_prepare(s->db, "SELECT id, targets_version FROM releases WHERE state = 'pending'",
			  &st);
	while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!loaded) {
			r = cp_repo_load(s, &v);
			if (r < 0)
				break;
			loaded = true;
		}
		r = recover_row(s, sqlite3_column_int64(st, 0),
				(uint64_t)sqlite3_column_int64(st, 1), &v);
	}
	if (r >= 0 && rc != SQLITE_DONE)
		r = cp_db_error(s->db, rc, "database: releases");
	sqlite3_finalize(TAKE_PTR(st));
	if (r >= 0)
		return cp_db_commit(s->db);
	cp_db_rollback(s->db);
	return r;
}

static int renew_locked(struct cp_state *s, int64_t now)
{
	_cleanup_(cp_served_clear) struct cp_served v = {};
	_cleanup_(json_object_putp) struct json_object *root_doc = NULL;
	_cleanup_free_ uint8_t *snap_buf = NULL;
	_cleanup_free_ struct cp_meta_entry *meta = NULL;
	const int64_t ts_life = TUF_WRITER_TIMESTAMP_DAYS * 86400;
	const int64_t sn_life = TUF_WRITER_SNAPSHOT_DAYS * 86400;
	uint64_t snap_version, ts_version;
	size_t snap_len;
	bool need_ts, need_snap;
	char detail[256];
	int r;

	r = cp_repo_load(s, &v);
	if (r < 0 || !v.timestamp)
		return r;
	need_snap = v.snapshot->expires - now < sn_life / 2 || v.snapshot->expires <= now + ts_life;
	need_ts = need_snap || v.timestamp->expires - now < ts_life / 2;
	if (!need_ts)
		return 0;
	r = tuf_writer_load(v.root_buf, v.root_len, TUF_ROLE_ROOT, &root_doc);
	if (r < 0)
		return r;
	snap_version = v.snapshot->version;
	if (need_snap) {
		size_t n = 0;

		meta = calloc(v.n_roles + 1, sizeof(*meta));
		if (!meta)
			return -ENOMEM;
		meta[n++] = (struct cp_meta_entry){"targets", v.targets->version, v.targets_buf,
						   v.targets_len};
		for (size_t i = 0; i < v.n_roles; i++)
			meta[n++] = (struct cp_meta_entry){v.roles[i].name, v.roles[i].md->version,
							   v.roles[i].buf, v.roles[i].len};
		r = cp_repo_write_snapshot(s, &v, root_doc, meta, n, now, &snap_version, &snap_buf,
					   &snap_len);
		if (r < 0)
			return r;
	}
	r = cp_repo_write_timestamp(s, &v, root_doc, snap_version,
				    snap_buf ? snap_buf : v.snapshot_buf,
				    snap_buf ? snap_len : v.snapshot_len, now, &ts_version);
	if (r < 0)
		return r;
	snprintf(detail, sizeof(detail), "timestamp version %" PRIu64 ", snapshot version %" PRIu64
		 "%s", ts_version, snap_version, need_snap ? " (re-signed)" : "");
	r = cp_db_begin(s->db);
	if (r >= 0)
		r = cp_state_bump_generation(s);
	if (r >= 0)
		r = cp_audit_append(s, "server", "renew", detail);
	if (r >= 0)
		r = cp_db_commit(s->db);
	if (r < 0) {
		cp_db_rollback(s->db);
		return r;
	}
	return 1;
}

int cp_repo_renew_if_needed(struct cp_state *s, int64_t now)
{
	_cleanup_close_ int lock = -1;
	int r;

	r = cp_state_lock(s, false, &lock);
	if (r == -EWOULDBLOCK)
		return 0; /* a publish is running; it signs fresh metadata itself */
	if (r < 0)
		return r;
	return renew_locked(s, now);
}
