/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper for the control plane: offline keys, roots and release bundles from the writer. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "test-cp-util.h"
#include "tuf/crypto.h"
#include "tuf/json.h"
#include "tuf/writer.h"
#include "repo.h"
#include "state.h"


static int keypair(uint8_t sk[64], const uint8_t *seed, struct tuf_signer **ret)
{
	uint8_t pk[32], s[32];

	if (seed)
		memcpy(s, seed, 32);
	else
		randombytes_buf(s, 32);
	if (crypto_sign_seed_keypair(pk, sk, s) != 0)
		return SL_E_INVALID;
	return tuf_signer_ed25519_new(sk, ret);
}

int cpt_keys_new(struct cpt_keys *k, const uint8_t *seeds)
{
	int r;

	*k = (struct cpt_keys){};
	if (sodium_init() < 0)
		return SL_E_INVALID;
	if ((r = keypair(k->root_sk, seeds, &k->root)) < 0 ||
	    (r = keypair(k->targets_sk, seeds ? seeds + 32 : NULL, &k->targets)) < 0 ||
	    (r = keypair(k->models_sk, seeds ? seeds + 64 : NULL, &k->models)) < 0)
		return r;
	return 0;
}

void cpt_keys_clear(struct cpt_keys *k)
{
	tuf_signer_free(k->root);
	tuf_signer_free(k->targets);
	tuf_signer_free(k->models);
	*k = (struct cpt_keys){};
}

int cpt_make_root(const char *state_dir, const struct cpt_keys *k, uint64_t version,
		  const char *out_path, struct json_object **ret_doc)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL, *online = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	struct json_object *snap, *ts;
	size_t len;
	int r;

	if (asprintf(&path, "%s/online-keys.json", state_dir) < 0)
		return -ENOMEM;
	r = sl_read_file_at(AT_FDCWD, path, 65536, &buf, &len);
	if (r < 0)
		return r;
	r = tuf_json_parse(buf, len, 0, &online);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(online, "snapshot", &snap) ||
	    !json_object_object_get_ex(online, "timestamp", &ts))
		return TUF_E_FORMAT;
	if ((r = tuf_writer_new(TUF_ROLE_ROOT, 0, &doc)) < 0 ||
	    (r = tuf_writer_set_version(doc, version)) < 0 ||
	    (r = tuf_writer_root_add_key(doc, TUF_ROLE_ROOT, tuf_signer_key(k->root), NULL)) < 0 ||
	    (r = tuf_writer_root_add_key(doc, TUF_ROLE_TARGETS, tuf_signer_key(k->targets), NULL)) < 0 ||
	    (r = tuf_writer_root_add_key(doc, TUF_ROLE_SNAPSHOT, snap, NULL)) < 0 ||
	    (r = tuf_writer_root_add_key(doc, TUF_ROLE_TIMESTAMP, ts, NULL)) < 0 ||
	    (r = tuf_writer_sign(doc, k->root)) < 0)
		return r;
	if (out_path) {
		_cleanup_free_ char *bytes = NULL;

		r = tuf_writer_serialize(doc, &bytes, &len);
		if (r >= 0)
			r = sl_write_file_atomic(out_path, bytes, len, 0644);
		if (r < 0)
			return r;
	}
	if (ret_doc)
		*ret_doc = TAKE_PTR(doc);
	return 0;
}

int cpt_write(const char *path, const char *content)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash;
	int r;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		r = sl_mkdir_p(dir, 0755);
		if (r < 0)
			return r;
	}
	return sl_write_file_atomic(path, content, strlen(content), 0644);
}

static int write_doc(struct json_object *doc, const char *dir, const char *name)
{
	_cleanup_free_ char *bytes = NULL, *path = NULL;
	size_t len;
	int r;

	r = tuf_writer_serialize(doc, &bytes, &len);
	if (r < 0)
		return r;
	if (asprintf(&path, "%s/metadata/%s", dir, name) < 0)
		return -ENOMEM;
	return sl_write_file_atomic(path, bytes, len, 0644);
}

static int add_models_delegation(struct json_object *targets, const struct cpt_keys *k)
{
	const char *paths[] = {"models/*"};
	int r;

	r = tuf_writer_delegation_add_role(targets, "models", 1, true, paths, 1, NULL, 0);
	if (r >= 0)
		r = tuf_writer_delegation_add_key(targets, "models", tuf_signer_key(k->models), NULL);
	return r;
}

static int add_target(struct json_object *doc, const char *dir, const struct cpt_bundle_opts *o,
		      const struct cpt_artifact *a)
{
	_cleanup_(json_object_putp) struct json_object *custom = json_object_new_object();
	_cleanup_free_ char *path = NULL;
	struct json_object *sl = json_object_new_object(), *hw = json_object_new_array();
	int r;

	json_object_object_add(sl, "kind", json_object_new_string(a->role ? "model" : "image"));
	json_object_object_add(sl, "release", json_object_new_string(o->release));
	json_object_object_add(sl, "version", json_object_new_string(o->release));
	json_object_array_add(hw, json_object_new_string("board-a"));
	json_object_object_add(sl, "hardware", hw);
	json_object_object_add(custom, "sluice", sl);
	if (asprintf(&path, "%s/targets/%s", dir, a->path) < 0)
		return -ENOMEM;
	r = cpt_write(path, a->content);
	if (r < 0)
		return r;
	return tuf_writer_targets_add_file(doc, a->path, path, custom, NULL, NULL);
}

int cpt_make_bundle(const char *dir, const struct cpt_keys *k, const struct cpt_bundle_opts *o,
		    const struct cpt_artifact *a, size_t n)
{
	_cleanup_(json_object_putp) struct json_object *targets = NULL, *models = NULL;
	_cleanup_free_ char *mdir = NULL, *name = NULL;
	char version[32];
	int r;

	if (asprintf(&mdir, "%s/metadata", dir) < 0)
		return -ENOMEM;
	r = sl_mkdir_p(mdir, 0755);
	if (r < 0)
		return r;
	if ((r = tuf_writer_new(TUF_ROLE_TARGETS, 0, &targets)) < 0 ||
	    (r = tuf_writer_set_version(targets, o->targets_version)) < 0)
		return r;
	if (o->models_version) {
		if ((r = add_models_delegation(targets, k)) < 0 ||
		    (r = tuf_writer_new(TUF_ROLE_TARGETS, 0, &models)) < 0 ||
		    (r = tuf_writer_set_version(models, o->models_version)) < 0)
			return r;
	}
	for (size_t i = 0; i < n; i++) {
		r = add_target(a[i].role ? models : targets, dir, o, &a[i]);
		if (r < 0)
			return r;
	}
	r = tuf_writer_sign(targets, o->sign_targets_with_models_key ? k->models : k->targets);
	if (r >= 0)
		r = tuf_writer_metadata_filename("targets", o->targets_version, true, &name);
	if (r >= 0)
		r = write_doc(targets, dir, name);
	if (r >= 0 && models && !o->omit_models_file) {
		free(name);
		name = NULL;
		r = tuf_writer_sign(models, k->models);
		if (r >= 0)
			r = tuf_writer_metadata_filename("models", o->models_version, true, &name);
		if (r >= 0)
			r = write_doc(models, dir, name);
	}
	if (r >= 0 && o->new_root) {
		uint64_t v;

		free(name);
		name = NULL;
		r = tuf_writer_get_version(o->new_root, &v);
		if (r >= 0 && asprintf(&name, "%" PRIu64 ".root.json", v) < 0)
			r = -ENOMEM;
		if (r >= 0)
			r = write_doc(o->new_root, dir, name);
	}
	if (r < 0)
		return r;
	snprintf(version, sizeof(version), "%" PRIu64, o->targets_version);
	return cpt_write_index(dir, o->release, version);
}

/* ---- bundle.json ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect every non-directory below dir/prefix (relative paths) into v. */
static int collect(const char *dir, const char *prefix, char ***v, size_t *n)
{
	_cleanup_free_ char *path = NULL;
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (asprintf(&path, "%s/%s", dir, prefix) < 0)
		return -ENOMEM;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		_cleanup_free_ char *rel = NULL, *full = NULL;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (asprintf(&rel, "%s%s%s", prefix, *prefix ? "/" : "", de->d_name) < 0 ||
		    asprintf(&full, "%s/%s", dir, rel) < 0) {
			r = -ENOMEM;
			break;
		}
		if (lstat(full, &st) < 0) {
			r = -errno;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			r = collect(dir, rel, v, n);
			if (r < 0)
				break;
			continue;
		}
		*v = reallocarray(*v, *n + 1, sizeof(**v));
		(*v)[(*n)++] = TAKE_PTR(rel);
	}
	closedir(d);
	if (r >= 0)
		qsort(*v, *n, sizeof(**v), cmp_str);
	return r;
}

static int meta_entry(const char *file, struct json_object **ret)
{
	/* "metadata/N.root.json", "metadata/V.targets.json", "metadata/V.<role>.json" */
	const char *base = file + strlen("metadata/");
	char *dot = strchr(base, '.');
	_cleanup_free_ char *role = NULL;
	struct json_object *o;
	size_t l;

	if (!dot)
		return SL_E_INVALID;
	l = strlen(dot + 1);
	if (l <= 5)
		return SL_E_INVALID;
	role = strndup(dot + 1, l - 5);
	o = json_object_new_object();
	json_object_object_add(o, "role", json_object_new_string(role));
	json_object_object_add(o, "version", json_object_new_int64(strtoll(base, NULL, 10)));
	json_object_object_add(o, "path", json_object_new_string(file));
	*ret = o;
	return 0;
}

int cpt_write_index(const char *dir, const char *release, const char *version)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	_cleanup_free_ char *index = NULL;
	struct json_object *files = json_object_new_array(), *meta = json_object_new_array();
	char **v = NULL;
	size_t n = 0;
	int r;

	if (asprintf(&index, "%s/bundle.json", dir) < 0)
		return -ENOMEM;
	unlink(index);
	json_object_object_add(o, "sluice_bundle", json_object_new_int(1));
	json_object_object_add(o, "release", json_object_new_string(release));
	json_object_object_add(o, "version", json_object_new_string(version));
	json_object_object_add(o, "created", json_object_new_string("2026-01-01T00:00:00Z"));
	json_object_object_add(o, "metadata", meta);
	json_object_object_add(o, "files", files);
	r = collect(dir, "", &v, &n);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		_cleanup_free_ char *full = NULL;
		_cleanup_free_ uint8_t *buf = NULL;
		struct json_object *f;
		char hex[65] = "";
		size_t len = 0;
		struct stat st;

		if (asprintf(&full, "%s/%s", dir, v[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		if (lstat(full, &st) == 0 && S_ISREG(st.st_mode)) {
			r = sl_read_file_at(AT_FDCWD, full, 1u << 30, &buf, &len);
			if (r < 0)
				break;
			tuf_sha256_hex(buf, len, hex);
		} else {
			tuf_sha256_hex("", 0, hex);
		}
		f = json_object_new_object();
		json_object_object_add(f, "path", json_object_new_string(v[i]));
		json_object_object_add(f, "length", json_object_new_int64((int64_t)len));
		json_object_object_add(f, "sha256", json_object_new_string(hex));
		json_object_array_add(files, f);
		if (strncmp(v[i], "metadata/", 9) == 0) {
			struct json_object *m;

			if (meta_entry(v[i], &m) >= 0)
				json_object_array_add(meta, m);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	if (r < 0)
		return r;
	{
		const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								       JSON_C_TO_STRING_NOSLASHESCAPE);

		return sl_write_file_atomic(index, text, strlen(text), 0644);
	}
}

/* ---- Store hashes ---- */

int cpt_hash_tree(const char *dir, char ret[65])
{
	char **v = NULL;
	size_t n = 0;
	struct tuf_hash *h = NULL;
	uint8_t d[TUF_HASH_MAX_SIZE];
	int r;

	r = collect(dir, "", &v, &n);
	if (r >= 0)
		r = tuf_hash_new(TUF_HASH_SHA256, &h);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		_cleanup_free_ char *full = NULL;
		_cleanup_free_ uint8_t *buf = NULL;
		size_t len = 0;

		if (asprintf(&full, "%s/%s", dir, v[i]) < 0)
			r = -ENOMEM;
		if (r >= 0)
			r = sl_read_file_at(AT_FDCWD, full, 1u << 30, &buf, &len);
		if (r >= 0)
			r = tuf_hash_update(h, v[i], strlen(v[i]) + 1);
		if (r >= 0)
			r = tuf_hash_update(h, buf, len);
	}
	if (r >= 0)
		r = tuf_hash_final(h, d);
	if (r >= 0)
		sl_hex_encode(d, 32, ret);
	tuf_hash_free(h);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return r;
}

static int dump_table(sqlite3 *db, const char *table, char **buf, size_t *len, FILE *f)
{
	_cleanup_free_ char *sql = NULL;
	sqlite3_stmt *st = NULL;

	(void)buf;
	(void)len;
	if (asprintf(&sql, "SELECT * FROM \"%s\" ORDER BY 1, 2", table) < 0)
		return -ENOMEM;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return SL_E_IO;
	fprintf(f, "== %s\n", table);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const unsigned char *t = sqlite3_column_text(st, i);

			fprintf(f, "%s|", t ? (const char *)t : "NULL");
		}
		fputc('\n', f);
	}
	sqlite3_finalize(st);
	return 0;
}

int cpt_dump_db(const char *db_path, char **ret)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r = 0;

	if (!f)
		return -ENOMEM;
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' "
				   "AND name NOT LIKE 'sqlite_%' ORDER BY name", -1, &st,
			       NULL) != SQLITE_OK)
		r = SL_E_IO;
	while (r >= 0 && sqlite3_step(st) == SQLITE_ROW) {
		_cleanup_free_ char *name = strdup((const char *)sqlite3_column_text(st, 0));

		r = dump_table(db, name, NULL, NULL, f);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	fclose(f);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	return 0;
}

char *cpt_tmpdir(void)
{
	char *p = NULL;

	if (sl_mkdtemp_private(NULL, &p) < 0)
		abort();
	return p;
}

/* ---- Environment ---- */

int cpt_env_new(struct cpt_env *e)
{
	_cleanup_free_ char *root = NULL;
	struct cp_root_info info;
	int r;

	*e = (struct cpt_env){};
	e->tmp = cpt_tmpdir();
	if (asprintf(&e->state, "%s/state", e->tmp) < 0)
		return -ENOMEM;
	if ((r = cpt_keys_new(&e->k, NULL)) < 0 || (r = cp_state_init(e->state, "test", NULL)) < 0 ||
	    (r = cp_state_open(e->state, &e->s)) < 0)
		return r;
	root = cpt_path(e, "1.root.json");
	r = cpt_make_root(e->state, &e->k, 1, root, NULL);
	if (r >= 0)
		r = cp_repo_root_import(e->s, root, "test", &info);
	return r;
}

void cpt_env_clear(struct cpt_env *e)
{
	cp_state_free(e->s);
	cpt_keys_clear(&e->k);
	if (e->tmp)
		sl_rm_rf(e->tmp);
	free(e->tmp);
	free(e->state);
	*e = (struct cpt_env){};
}

char *cpt_path(const struct cpt_env *e, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", e->tmp, name) < 0)
		abort();
	return p;
}

int cpt_snap_take(const struct cpt_env *e, struct cpt_snap *ret)
{
	_cleanup_free_ char *repo = NULL, *db = NULL;
	int r;

	if (asprintf(&repo, "%s/repo", e->state) < 0 || asprintf(&db, "%s/controlplane.db",
								   e->state) < 0)
		return -ENOMEM;
	r = cpt_hash_tree(repo, ret->repo);
	if (r >= 0)
		r = cpt_dump_db(db, &ret->db);
	return r;
}

void cpt_snap_assert_same(const struct cpt_env *e, struct cpt_snap *snap)
{
	struct cpt_snap now = {};
	_cleanup_free_ char *tmp = NULL;
	DIR *d;
	struct dirent *de;
	int n = 0;

	if (cpt_snap_take(e, &now) < 0)
		abort();
	if (strcmp(now.repo, snap->repo) != 0) {
		fprintf(stderr, "invariant R: STATE/repo changed\n");
		abort();
	}
	if (strcmp(now.db, snap->db) != 0) {
		fprintf(stderr, "invariant R: database changed:\n--- before\n%s\n--- after\n%s\n",
			snap->db, now.db);
		abort();
	}
	if (asprintf(&tmp, "%s/tmp", e->state) < 0 || !(d = opendir(tmp)))
		abort();
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	if (n) {
		fprintf(stderr, "invariant R: STATE/tmp is not empty\n");
		abort();
	}
	free(now.db);
	free(snap->db);
	snap->db = NULL;
}
