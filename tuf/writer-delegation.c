/* SPDX-License-Identifier: Apache-2.0 */
/* The repository writer's delegations: named roles, keys, and TAP 15 succinct hash bins. */
#include <assert.h>
#include <json-c/json.h>
#include <string.h>

#include "error.h"
#include "metadata-internal.h"
#include "tuf/json.h"
#include "tuf/writer.h"
#include "writer-internal.h"

/* TAP 15 limit on bit_length, as the client parses it. */
#define SUCCINCT_BITS_MAX 32u
/* Hex digits of a SHA-256 digest: the longest path hash prefix. */
#define HASH_PREFIX_MAX 64

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)

/* The "delegations" object of targets document doc, or NULL (return 0) when it has none. */
static int delegations_get(struct json_object *doc, struct json_object **ret_signed,
			   struct json_object **ret)
{
	struct json_object *sig_obj;
	int r;

	r = tuf_wr_signed(doc, "targets", &sig_obj);
	if (r < 0)
		return r;
	*ret_signed = sig_obj;
	*ret = NULL;
	if (!json_object_object_get_ex(sig_obj, "delegations", NULL))
		return 0;
	r = tuf_md_fail(tuf_json_get_object(sig_obj, "delegations", ret), "targets");
	if (r < 0)
		return r;
	return tuf_md_fail(tuf_json_get_object(*ret, "keys", &(struct json_object *){NULL}),
			   "targets: delegations");
}

/* Create an empty "delegations" with "keys" and member (an array or object) when missing. */
static int delegations_create(struct json_object *sig_obj, struct json_object **deleg,
			      const char *member, struct json_object *(*make)(void))
{
	_cleanup_(json_object_putp) struct json_object *d = NULL;
	int r;

	if (*deleg) {
		if (json_object_object_get_ex(*deleg, member, NULL))
			return 0;
		return tuf_wr_put(*deleg, member, make());
	}
	d = json_object_new_object();
	if (!d)
		return -ENOMEM;
	r = tuf_wr_put(d, "keys", json_object_new_object());
	if (r >= 0)
		r = tuf_wr_put(d, member, make());
	if (r < 0)
		return r;
	*deleg = d;
	return tuf_wr_put(sig_obj, "delegations", TAKE_PTR(d));
}

/* The array "roles" of deleg, or NULL when absent. */
static int roles_get(struct json_object *deleg, struct json_object **ret)
{
	*ret = NULL;
	if (!deleg || !json_object_object_get_ex(deleg, "roles", NULL))
		return 0;
	return tuf_md_fail(tuf_json_get_array(deleg, "roles", ret), "targets: delegations");
}

/* The index of role name in roles, or -1. */
static ssize_t roles_find(struct json_object *roles, const char *name)
{
	size_t n = roles ? json_object_array_length(roles) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *role = json_object_array_get_idx(roles, i), *v;

		if (json_object_object_get_ex(role, "name", &v) &&
		    json_object_is_type(v, json_type_string) &&
		    strcmp(json_object_get_string(v), name) == 0)
			return (ssize_t)i;
	}
	return -1;
}

static bool is_hash_prefix(const char *s)
{
	size_t len = strlen(s);

	return len >= 1 && len <= HASH_PREFIX_MAX && strspn(s, "0123456789abcdef") == len;
}

/* A new array of the n strings of v, each non-empty and accepted by valid (when not NULL). */
static int new_strv(const char *const *v, size_t n, bool (*valid)(const char *), const char *what,
		    struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *arr = json_object_new_array();
	int r;

	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t len = v[i] ? strlen(v[i]) : 0;

		if (len == 0 || len > TUF_MAX_TARGET_PATH || (valid && !valid(v[i])))
			return sl_error(SL_E_INVALID, "delegation: %s[%zu] is not valid", what, i);
		r = tuf_wr_append(arr, json_object_new_string(v[i]));
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(arr);
	return 0;
}

static int new_role(const char *name, uint64_t threshold, bool terminating,
		    const char *const *paths, size_t n_paths, const char *const *prefixes,
		    size_t n_prefixes, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *role = NULL, *arr = NULL;
	int r;

	if (!paths == !prefixes)
		return sl_error(SL_E_INVALID,
				"delegation %s: give exactly one of paths and "
				"path_hash_prefixes",
				name);
	if (paths)
		r = new_strv(paths, n_paths, NULL, "paths", &arr);
	else
		r = new_strv(prefixes, n_prefixes, is_hash_prefix, "path_hash_prefixes", &arr);
	if (r < 0)
		return r;
	role = json_object_new_object();
	if (!role)
		return -ENOMEM;
	r = tuf_wr_put(role, "name", json_object_new_string(name));
	if (r >= 0)
		r = tuf_wr_put(role, "keyids", json_object_new_array());
	if (r >= 0)
		r = tuf_wr_put(role, "threshold", json_object_new_int64((int64_t)threshold));
	if (r >= 0)
		r = tuf_wr_put(role, "terminating", json_object_new_boolean(terminating));
	if (r >= 0)
		r = tuf_wr_put(role, paths ? "paths" : "path_hash_prefixes", TAKE_PTR(arr));
	if (r < 0)
		return r;
	*ret = TAKE_PTR(role);
	return 0;
}

int tuf_writer_delegation_add_role(struct json_object *doc, const char *name, uint64_t threshold,
				   bool terminating, const char *const *paths, size_t n_paths,
				   const char *const *path_hash_prefixes, size_t n_prefixes)
{
	_cleanup_(json_object_putp) struct json_object *role = NULL;
	struct json_object *sig_obj, *deleg, *roles;
	int r;

	r = tuf_wr_check_role_name(name);
	if (r >= 0)
		r = tuf_wr_check_count(threshold, "threshold");
	if (r >= 0)
		r = delegations_get(doc, &sig_obj, &deleg);
	if (r >= 0)
		r = roles_get(deleg, &roles);
	if (r < 0)
		return r;
	if (deleg && json_object_object_get_ex(deleg, "succinct_roles", NULL))
		return sl_error(SL_E_INVALID, "targets: delegates to succinct roles, not to %s",
				name);
	if (roles_find(roles, name) >= 0)
		return sl_error(SL_E_INVALID, "targets: role %s is already delegated", name);
	r = new_role(name, threshold, terminating, paths, n_paths, path_hash_prefixes, n_prefixes,
		     &role);
	if (r < 0)
		return r;
	r = tuf_writer_drop_signatures(doc);
	if (r >= 0)
		r = delegations_create(sig_obj, &deleg, "roles", json_object_new_array);
	if (r >= 0)
		r = roles_get(deleg, &roles);
	if (r < 0)
		return r;
	return tuf_wr_append(roles, TAKE_PTR(role));
}

/* The role object of name (NULL: "succinct_roles") and its "keyids"; TUF_E_NOT_FOUND. */
static int role_get(struct json_object *deleg, const char *name, struct json_object **ret_role,
		    struct json_object **ret_keyids)
{
	struct json_object *roles, *role = NULL;
	ssize_t i;
	int r;

	if (!name) {
		if (!deleg || !json_object_object_get_ex(deleg, "succinct_roles", &role) ||
		    !json_object_is_type(role, json_type_object))
			return sl_error(TUF_E_NOT_FOUND, "targets: no succinct roles");
	} else {
		r = roles_get(deleg, &roles);
		if (r < 0)
			return r;
		i = roles_find(roles, name);
		if (i < 0)
			return sl_error(TUF_E_NOT_FOUND, "targets: no delegated role %s", name);
		role = json_object_array_get_idx(roles, (size_t)i);
	}
	if (ret_role)
		*ret_role = role;
	return tuf_md_fail(tuf_wr_get_strv(role, "keyids", ret_keyids), name ? name : "succinct");
}

/* Remove the keys of "delegations.keys" that no role lists any more. */
static int keys_collect(struct json_object *deleg)
{
	_cleanup_(json_object_putp) struct json_object *unused = json_object_new_array();
	struct json_object *keys, *roles = NULL, *succinct = NULL;
	size_t n;

	if (!unused)
		return -ENOMEM;
	if (!json_object_object_get_ex(deleg, "keys", &keys))
		return 0;
	json_object_object_get_ex(deleg, "roles", &roles);
	if (!json_object_object_get_ex(deleg, "succinct_roles", &succinct))
		succinct = NULL;
	n = json_object_is_type(roles, json_type_array) ? json_object_array_length(roles) : 0;
	json_object_object_foreach(keys, keyid, val)
	{
		struct json_object *ids;
		bool used = false;

		(void)val;
		for (size_t i = 0; i < n && !used; i++)
			used = json_object_object_get_ex(json_object_array_get_idx(roles, i),
							 "keyids", &ids) &&
			       tuf_wr_strv_has(ids, keyid);
		if (!used && succinct && json_object_object_get_ex(succinct, "keyids", &ids))
			used = tuf_wr_strv_has(ids, keyid);
		if (!used && tuf_wr_append(unused, json_object_new_string(keyid)) < 0)
			return -ENOMEM;
	}
	/* Deleted after the walk: json-c's foreach does not allow removal while iterating. */
	for (size_t i = 0; i < json_object_array_length(unused); i++)
		json_object_object_del(
		    keys, json_object_get_string(json_object_array_get_idx(unused, i)));
	return 0;
}

int tuf_writer_delegation_remove_role(struct json_object *doc, const char *name)
{
	struct json_object *sig_obj, *deleg, *roles;
	ssize_t i;
	int r;

	assert(name);
	r = delegations_get(doc, &sig_obj, &deleg);
	if (r >= 0)
		r = roles_get(deleg, &roles);
	if (r < 0)
		return r;
	i = roles_find(roles, name);
	if (i < 0)
		return sl_error(TUF_E_NOT_FOUND, "targets: no delegated role %s", name);
	r = tuf_writer_drop_signatures(doc);
	if (r < 0)
		return r;
	json_object_array_del_idx(roles, (size_t)i, 1);
	return keys_collect(deleg);
}

int tuf_writer_delegation_add_key(struct json_object *doc, const char *name,
				  struct json_object *key, char ret_keyid[65])
{
	struct json_object *sig_obj, *deleg, *keys, *keyids;
	char keyid[65];
	int r;

	r = delegations_get(doc, &sig_obj, &deleg);
	if (r >= 0)
		r = role_get(deleg, name, NULL, &keyids);
	if (r >= 0)
		r = tuf_wr_key_id(key, keyid);
	if (r < 0)
		return r;
	if (tuf_wr_strv_has(keyids, keyid))
		return sl_error(SL_E_INVALID, "targets: role %s already has key %s",
				name ? name : "succinct", keyid);
	json_object_object_get_ex(deleg, "keys", &keys);
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

int tuf_writer_delegation_remove_key(struct json_object *doc, const char *name, const char *keyid)
{
	struct json_object *sig_obj, *deleg, *keyids;
	int r;

	assert(keyid);
	r = delegations_get(doc, &sig_obj, &deleg);
	if (r >= 0)
		r = role_get(deleg, name, NULL, &keyids);
	if (r < 0)
		return r;
	if (!tuf_wr_strv_has(keyids, keyid))
		return sl_error(TUF_E_NOT_FOUND, "targets: role %s has no key %.64s",
				name ? name : "succinct", keyid);
	r = tuf_writer_drop_signatures(doc);
	if (r >= 0)
		r = tuf_wr_strv_remove(keyids, keyid);
	if (r < 0)
		return r;
	return keys_collect(deleg);
}

static int check_succinct(const char *name_prefix, unsigned bit_length)
{
	size_t len = name_prefix ? strlen(name_prefix) : 0;

	if (bit_length < 1 || bit_length > SUCCINCT_BITS_MAX)
		return sl_error(SL_E_INVALID, "succinct roles: bit_length %u is not in 1..%u",
				bit_length, SUCCINCT_BITS_MAX);
	if (len == 0 || len + 1 + (bit_length + 3) / 4 > TUF_MAX_ROLENAME_LEN)
		return sl_error(SL_E_INVALID,
				"succinct roles: name_prefix is empty or makes bin names longer "
				"than %d bytes",
				TUF_MAX_ROLENAME_LEN);
	return 0;
}

int tuf_writer_delegation_set_succinct(struct json_object *doc, const char *name_prefix,
				       unsigned bit_length, uint64_t threshold)
{
	struct json_object *sig_obj, *deleg, *roles, *succinct;
	int r;

	r = check_succinct(name_prefix, bit_length);
	if (r >= 0)
		r = tuf_wr_check_count(threshold, "threshold");
	if (r >= 0)
		r = delegations_get(doc, &sig_obj, &deleg);
	if (r >= 0)
		r = roles_get(deleg, &roles);
	if (r < 0)
		return r;
	if (roles && json_object_array_length(roles) > 0)
		return sl_error(SL_E_INVALID, "targets: delegates to named roles already");
	r = tuf_writer_drop_signatures(doc);
	if (r < 0)
		return r;
	if (roles)
		json_object_object_del(deleg, "roles");
	r = delegations_create(sig_obj, &deleg, "succinct_roles", json_object_new_object);
	if (r < 0)
		return r;
	json_object_object_get_ex(deleg, "succinct_roles", &succinct);
	if (!json_object_object_get_ex(succinct, "keyids", NULL))
		r = tuf_wr_put(succinct, "keyids", json_object_new_array());
	if (r >= 0)
		r = tuf_wr_put(succinct, "threshold", json_object_new_int64((int64_t)threshold));
	if (r >= 0)
		r = tuf_wr_put(succinct, "bit_length", json_object_new_int64(bit_length));
	if (r >= 0)
		r = tuf_wr_put(succinct, "name_prefix", json_object_new_string(name_prefix));
	return r;
}

/* doc's succinct roles as the client's struct (name_prefix borrowed from doc). */
static int succinct_get(struct json_object *doc, struct tuf_succinct_roles *ret)
{
	struct json_object *sig_obj, *deleg, *succinct;
	const char *prefix;
	int64_t bits;
	int r;

	r = delegations_get(doc, &sig_obj, &deleg);
	if (r >= 0)
		r = role_get(deleg, NULL, &succinct, &(struct json_object *){NULL});
	if (r < 0)
		return r;
	r = tuf_json_get_int(succinct, "bit_length", 1, &bits);
	if (r >= 0)
		r = tuf_json_get_string(succinct, "name_prefix", &prefix);
	if (r < 0)
		return tuf_md_fail(r, "targets: succinct_roles");
	r = check_succinct(prefix, bits > SUCCINCT_BITS_MAX ? 0 : (unsigned)bits);
	if (r < 0)
		return r;
	*ret = (struct tuf_succinct_roles){
	    .bit_length = (unsigned)bits,
	    .name_prefix = (char *)prefix,
	};
	return 0;
}

int tuf_writer_succinct_bin_name(struct json_object *doc, const char *target_path, char **ret_name)
{
	struct tuf_succinct_roles s;
	int r;

	assert(target_path && ret_name);
	r = succinct_get(doc, &s);
	if (r < 0)
		return r;
	return tuf_succinct_role_name(&s, target_path, ret_name);
}

void tuf_writer_bins_free(struct json_object **docs, char **names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (docs)
			json_object_put(docs[i]);
		if (names)
			free(names[i]);
	}
	free(docs);
	free(names);
}

int tuf_writer_succinct_bins_new(struct json_object *doc, int64_t now,
				 struct json_object ***ret_docs, char ***ret_names, size_t *ret_n)
{
	struct json_object **docs;
	struct tuf_succinct_roles s;
	char **names;
	size_t n;
	int r;

	assert(ret_docs && ret_names && ret_n);
	r = succinct_get(doc, &s);
	if (r < 0)
		return r;
	if (s.bit_length > TUF_WRITER_MAX_BIN_BITS)
		return sl_error(SL_E_TOO_LARGE, "succinct roles: %u bits make too many bins",
				s.bit_length);
	n = (size_t)tuf_succinct_roles_count(&s);
	docs = calloc(n, sizeof(*docs));
	names = calloc(n, sizeof(*names));
	if (!docs || !names) {
		tuf_writer_bins_free(docs, names, 0);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		r = tuf_succinct_role_name_at(&s, i, &names[i]);
		if (r >= 0)
			r = tuf_writer_new(TUF_ROLE_TARGETS, now, &docs[i]);
		if (r < 0) {
			tuf_writer_bins_free(docs, names, n);
			return r;
		}
	}
	*ret_docs = docs;
	*ret_names = names;
	*ret_n = n;
	return 0;
}
