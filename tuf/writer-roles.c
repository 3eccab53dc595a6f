/* SPDX-License-Identifier: Apache-2.0 */
/* The repository writer's role contents: root keys and roles, timestamp, snapshot, targets. */
#include <assert.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "metadata-internal.h"
#include "tuf/json.h"
#include "tuf/writer.h"
#include "writer-internal.h"

/* Read size while hashing a target file. */
#define HASH_CHUNK (64u * 1024)

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_hash *, tuf_hash_free)

/* ---- Root ---- */

/* The root document's "keys" table and the "keyids" array of role. */
static int root_role(struct json_object *sig_obj, enum tuf_role_type role,
		     struct json_object **ret_keys, struct json_object **ret_role,
		     struct json_object **ret_keyids)
{
	struct json_object *roles, *robj;
	int r;

	assert((unsigned)role <= TUF_ROLE_TARGETS);
	r = tuf_json_get_object(sig_obj, "keys", ret_keys);
	if (r >= 0)
		r = tuf_json_get_object(sig_obj, "roles", &roles);
	if (r >= 0)
		r = tuf_json_get_object(roles, tuf_role_type_name(role), &robj);
	if (r >= 0)
		r = tuf_wr_get_strv(robj, "keyids", ret_keyids);
	if (r < 0)
		return tuf_md_fail(r, "root");
	if (ret_role)
		*ret_role = robj;
	return 0;
}

int tuf_writer_root_add_key(struct json_object *doc, enum tuf_role_type role,
			    struct json_object *key, char ret_keyid[65])
{
	struct json_object *sig_obj, *keys, *keyids;
	char keyid[65];
	int r;

	r = tuf_wr_signed(doc, "root", &sig_obj);
	if (r < 0)
		return r;
	r = root_role(sig_obj, role, &keys, NULL, &keyids);
	if (r < 0)
		return r;
	r = tuf_wr_key_id(key, keyid);
	if (r < 0)
		return r;
	if (tuf_wr_strv_has(keyids, keyid))
		return sl_error(SL_E_INVALID, "root: role %s already has key %s",
				tuf_role_type_name(role), keyid);
	r = tuf_writer_drop_signatures(doc);
	if (r >= 0)
		r = tuf_wr_table_put(keys, keyid, key);
	if (r >= 0)
		r = tuf_wr_append(keyids, json_object_new_string(keyid));
	if (r < 0)
		return r;
	if (ret_keyid)
		memcpy(ret_keyid, keyid, sizeof(keyid));
	return 0;
}

/* Whether any of the four roles still lists keyid. */
static bool root_key_used(struct json_object *sig_obj, const char *keyid)
{
	for (enum tuf_role_type t = TUF_ROLE_ROOT; t <= TUF_ROLE_TARGETS; t++) {
		struct json_object *keys, *keyids;

		if (root_role(sig_obj, t, &keys, NULL, &keyids) < 0 ||
		    tuf_wr_strv_has(keyids, keyid))
			return true;
	}
	return false;
}

int tuf_writer_root_remove_key(struct json_object *doc, enum tuf_role_type role, const char *keyid)
{
	struct json_object *sig_obj, *keys, *keyids;
	int r;

	assert(keyid);
	r = tuf_wr_signed(doc, "root", &sig_obj);
	if (r < 0)
		return r;
	r = root_role(sig_obj, role, &keys, NULL, &keyids);
	if (r < 0)
		return r;
	if (!tuf_wr_strv_has(keyids, keyid))
		return sl_error(TUF_E_NOT_FOUND, "root: role %s has no key %.64s",
				tuf_role_type_name(role), keyid);
	r = tuf_writer_drop_signatures(doc);
	if (r >= 0)
		r = tuf_wr_strv_remove(keyids, keyid);
	if (r < 0)
		return r;
	if (!root_key_used(sig_obj, keyid))
		json_object_object_del(keys, keyid);
	return 0;
}

int tuf_writer_root_replace_key(struct json_object *doc, enum tuf_role_type role,
				const char *old_keyid, struct json_object *new_key,
				char ret_keyid[65])
{
	struct json_object *sig_obj, *keys, *keyids;
	char keyid[65];
	int r;

	assert(old_keyid);
	r = tuf_wr_signed(doc, "root", &sig_obj);
	if (r < 0)
		return r;
	r = root_role(sig_obj, role, &keys, NULL, &keyids);
	if (r < 0)
		return r;
	/* Check everything before the first change, so that a refusal changes nothing. */
	r = tuf_wr_key_id(new_key, keyid);
	if (r < 0)
		return r;
	if (!tuf_wr_strv_has(keyids, old_keyid))
		return sl_error(TUF_E_NOT_FOUND, "root: role %s has no key %.64s",
				tuf_role_type_name(role), old_keyid);
	if (tuf_wr_strv_has(keyids, keyid))
		return sl_error(SL_E_INVALID, "root: role %s already has key %s",
				tuf_role_type_name(role), keyid);
	r = tuf_writer_root_remove_key(doc, role, old_keyid);
	if (r < 0)
		return r;
	return tuf_writer_root_add_key(doc, role, new_key, ret_keyid);
}

int tuf_writer_root_set_threshold(struct json_object *doc, enum tuf_role_type role,
				  uint64_t threshold)
{
	struct json_object *sig_obj, *keys, *robj, *keyids;
	int r;

	r = tuf_wr_check_count(threshold, "threshold");
	if (r < 0)
		return r;
	r = tuf_wr_signed(doc, "root", &sig_obj);
	if (r < 0)
		return r;
	r = root_role(sig_obj, role, &keys, &robj, &keyids);
	if (r < 0)
		return r;
	r = tuf_writer_drop_signatures(doc);
	if (r < 0)
		return r;
	return tuf_wr_put(robj, "threshold", json_object_new_int64((int64_t)threshold));
}

int tuf_writer_root_set_consistent_snapshot(struct json_object *doc, bool on)
{
	struct json_object *sig_obj;
	int r;

	r = tuf_wr_edit(doc, "root", &sig_obj);
	if (r < 0)
		return r;
	return tuf_wr_put(sig_obj, "consistent_snapshot", json_object_new_boolean(on));
}

int tuf_writer_root_rotate(struct json_object *prev, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	struct json_object *sig_obj;
	int r;

	assert(ret);
	r = tuf_wr_signed(prev, "root", &sig_obj);
	if (r < 0)
		return r;
	if (json_object_deep_copy(prev, &doc, NULL) < 0)
		return -ENOMEM;
	r = tuf_writer_bump_version(doc);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(doc);
	return 0;
}

/* ---- Timestamp and snapshot ---- */

int tuf_writer_timestamp_set_snapshot(struct json_object *doc, uint64_t version,
				      const void *snapshot_bytes, size_t len)
{
	struct json_object *sig_obj, *meta, *entry;
	int r;

	r = tuf_wr_signed(doc, "timestamp", &sig_obj);
	if (r < 0)
		return r;
	r = tuf_md_fail(tuf_json_get_object(sig_obj, "meta", &meta), "timestamp");
	if (r < 0)
		return r;
	r = tuf_wr_meta_entry(version, snapshot_bytes, len, &entry);
	if (r < 0)
		return r;
	r = tuf_writer_drop_signatures(doc);
	if (r < 0) {
		json_object_put(entry);
		return r;
	}
	return tuf_wr_put(meta, "snapshot.json", entry);
}

/* The snapshot's "meta" object and the entry name "<role>.json" (malloc'd). */
static int snapshot_meta(struct json_object *doc, const char *role, struct json_object **ret_meta,
			 char **ret_name)
{
	struct json_object *sig_obj;
	size_t len = role ? strlen(role) : 0;
	int r;

	if (len == 0 || len > TUF_MAX_ROLENAME_LEN)
		return sl_error(SL_E_INVALID, "snapshot: role name of 0 or more than %d bytes",
				TUF_MAX_ROLENAME_LEN);
	r = tuf_wr_signed(doc, "snapshot", &sig_obj);
	if (r < 0)
		return r;
	r = tuf_md_fail(tuf_json_get_object(sig_obj, "meta", ret_meta), "snapshot");
	if (r < 0)
		return r;
	*ret_name = malloc(len + sizeof(".json"));
	if (!*ret_name)
		return -ENOMEM;
	memcpy(*ret_name, role, len);
	memcpy(*ret_name + len, ".json", sizeof(".json"));
	return 0;
}

int tuf_writer_snapshot_set_meta(struct json_object *doc, const char *role, uint64_t version,
				 const void *bytes, size_t len)
{
	_cleanup_free_ char *name = NULL;
	struct json_object *meta, *entry;
	int r;

	r = snapshot_meta(doc, role, &meta, &name);
	if (r < 0)
		return r;
	r = tuf_wr_meta_entry(version, bytes, len, &entry);
	if (r < 0)
		return r;
	r = tuf_writer_drop_signatures(doc);
	if (r < 0) {
		json_object_put(entry);
		return r;
	}
	return tuf_wr_put(meta, name, entry);
}

int tuf_writer_snapshot_remove_meta(struct json_object *doc, const char *role)
{
	_cleanup_free_ char *name = NULL;
	struct json_object *meta;
	int r;

	r = snapshot_meta(doc, role, &meta, &name);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(meta, name, NULL))
		return sl_error(TUF_E_NOT_FOUND, "snapshot: no entry \"%s\"", name);
	r = tuf_writer_drop_signatures(doc);
	if (r < 0)
		return r;
	json_object_object_del(meta, name);
	return 0;
}

/* ---- Targets ---- */

int tuf_wr_check_target_path(const char *path)
{
	size_t len = path ? strlen(path) : 0;
	const char *p;

	if (len == 0 || len > TUF_MAX_TARGET_PATH)
		return sl_error(TUF_E_PATH, "target path of 0 or more than %d bytes",
				TUF_MAX_TARGET_PATH);
	if (path[0] == '/')
		return sl_error(TUF_E_PATH, "target path \"%.256s\" is absolute", path);
	for (p = path;;) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return sl_error(TUF_E_PATH,
					"target path \"%.256s\" has an empty, \".\" or \"..\" "
					"component",
					path);
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

/* The "targets" object of targets document doc. */
static int targets_obj(struct json_object *doc, struct json_object **ret)
{
	struct json_object *sig_obj;
	int r;

	r = tuf_wr_signed(doc, "targets", &sig_obj);
	if (r < 0)
		return r;
	return tuf_md_fail(tuf_json_get_object(sig_obj, "targets", ret), "targets");
}

static int check_custom(struct json_object *custom)
{
	if (custom && !json_object_is_type(custom, json_type_object))
		return sl_error(SL_E_INVALID, "targets: \"custom\" must be an object");
	return 0;
}

static int put_custom(struct json_object *target, struct json_object *custom)
{
	struct json_object *copy = NULL;

	if (!custom) {
		json_object_object_del(target, "custom");
		return 0;
	}
	if (json_object_deep_copy(custom, &copy, NULL) < 0)
		return -ENOMEM;
	return tuf_wr_put(target, "custom", copy);
}

/* Digests of a target: sha256 and sha512, both required by the writer. */
struct digests {
	uint8_t sha256[TUF_HASH_MAX_SIZE];
	uint8_t sha512[TUF_HASH_MAX_SIZE];
};

static struct json_object *new_target_hashes(const struct digests *d)
{
	_cleanup_(json_object_putp) struct json_object *h = json_object_new_object();
	char hex[2 * TUF_HASH_MAX_SIZE + 1];

	if (!h)
		return NULL;
	sl_hex_encode(d->sha256, tuf_hash_alg_size(TUF_HASH_SHA256), hex);
	if (tuf_wr_put(h, "sha256", json_object_new_string(hex)) < 0)
		return NULL;
	sl_hex_encode(d->sha512, tuf_hash_alg_size(TUF_HASH_SHA512), hex);
	if (tuf_wr_put(h, "sha512", json_object_new_string(hex)) < 0)
		return NULL;
	return TAKE_PTR(h);
}

/* Store target path with length, digests and custom in targets document doc. */
static int put_target(struct json_object *doc, const char *path, uint64_t length,
		      const struct digests *d, struct json_object *custom)
{
	_cleanup_(json_object_putp) struct json_object *target = NULL;
	struct json_object *targets;
	int r;

	if (length > INT64_MAX)
		return sl_error(SL_E_TOO_LARGE, "target \"%.256s\" is too large", path);
	r = targets_obj(doc, &targets);
	if (r < 0)
		return r;
	target = json_object_new_object();
	if (!target)
		return -ENOMEM;
	r = tuf_wr_put(target, "length", json_object_new_int64((int64_t)length));
	if (r >= 0)
		r = tuf_wr_put(target, "hashes", new_target_hashes(d));
	if (r >= 0)
		r = put_custom(target, custom);
	if (r >= 0)
		r = tuf_writer_drop_signatures(doc);
	if (r < 0)
		return r;
	return tuf_wr_put(targets, path, TAKE_PTR(target));
}

/* Checks shared by both ways of adding a target, before any hashing. */
static int check_add(struct json_object *doc, const char *path, struct json_object *custom)
{
	struct json_object *targets;
	int r;

	r = tuf_wr_check_target_path(path);
	if (r < 0)
		return r;
	r = check_custom(custom);
	if (r < 0)
		return r;
	return targets_obj(doc, &targets);
}

int tuf_writer_targets_add_buf(struct json_object *doc, const char *target_path, const void *buf,
			       size_t len, struct json_object *custom)
{
	struct digests d;
	int r;

	assert(buf || len == 0);
	r = check_add(doc, target_path, custom);
	if (r < 0)
		return r;
	r = tuf_hash_buf(TUF_HASH_SHA256, buf, len, d.sha256);
	if (r >= 0)
		r = tuf_hash_buf(TUF_HASH_SHA512, buf, len, d.sha512);
	if (r < 0)
		return r;
	return put_target(doc, target_path, len, &d, custom);
}

/* Hash the rest of fd (a regular file of size bytes) into d. */
static int hash_fd(int fd, const char *file_path, uint64_t size, struct digests *d,
		   tuf_writer_progress_fn progress, void *userdata)
{
	_cleanup_(tuf_hash_freep) struct tuf_hash *h256 = NULL, *h512 = NULL;
	_cleanup_free_ uint8_t *buf = malloc(HASH_CHUNK);
	uint64_t done = 0;
	int r;

	if (!buf)
		return -ENOMEM;
	r = tuf_hash_new(TUF_HASH_SHA256, &h256);
	if (r >= 0)
		r = tuf_hash_new(TUF_HASH_SHA512, &h512);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = read(fd, buf, HASH_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sl_error(-errno, "%s: read failed: %m", file_path);
		if (n == 0)
			break;
		r = tuf_hash_update(h256, buf, (size_t)n);
		if (r >= 0)
			r = tuf_hash_update(h512, buf, (size_t)n);
		if (r < 0)
			return r;
		done += (uint64_t)n;
		if (done > size)
			break;
		if (progress)
			progress(userdata, done, size);
	}
	if (done != size)
		return sl_error(SL_E_IO, "%s: changed size while being hashed", file_path);
	r = tuf_hash_final(h256, d->sha256);
	if (r >= 0)
		r = tuf_hash_final(h512, d->sha512);
	return r;
}

int tuf_writer_targets_add_file(struct json_object *doc, const char *target_path,
				const char *file_path, struct json_object *custom,
				tuf_writer_progress_fn progress, void *userdata)
{
	_cleanup_close_ int fd = -1;
	struct digests d;
	struct stat st;
	int r;

	assert(file_path);
	r = check_add(doc, target_path, custom);
	if (r < 0)
		return r;
	fd = open(file_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return sl_error(-errno, "%s: cannot open: %m", file_path);
	if (fstat(fd, &st) < 0)
		return sl_error(-errno, "%s: cannot stat: %m", file_path);
	if (!S_ISREG(st.st_mode))
		return sl_error(SL_E_INVALID, "%s: not a regular file", file_path);
	r = hash_fd(fd, file_path, (uint64_t)st.st_size, &d, progress, userdata);
	if (r < 0)
		return r;
	return put_target(doc, target_path, (uint64_t)st.st_size, &d, custom);
}

int tuf_writer_targets_set_custom(struct json_object *doc, const char *target_path,
				  struct json_object *custom)
{
	struct json_object *targets, *target;
	int r;

	assert(target_path);
	r = check_custom(custom);
	if (r < 0)
		return r;
	r = targets_obj(doc, &targets);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(targets, target_path, &target) ||
	    !json_object_is_type(target, json_type_object))
		return sl_error(TUF_E_NOT_FOUND, "targets: no target \"%.256s\"", target_path);
	r = tuf_writer_drop_signatures(doc);
	if (r < 0)
		return r;
	return put_custom(target, custom);
}

int tuf_writer_targets_remove(struct json_object *doc, const char *target_path)
{
	struct json_object *targets;
	int r;

	assert(target_path);
	r = targets_obj(doc, &targets);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(targets, target_path, NULL))
		return sl_error(TUF_E_NOT_FOUND, "targets: no target \"%.256s\"", target_path);
	r = tuf_writer_drop_signatures(doc);
	if (r < 0)
		return r;
	json_object_object_del(targets, target_path);
	return 0;
}
