/* SPDX-License-Identifier: Apache-2.0 */
/* The TUF metadata envelope: signatures, common fields, keys and roles, and threshold checks. */
#include <assert.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "fileio.h"
#include "metadata-internal.h"
#include "tuf/json.h"

/* Bytes of a "spec_version" string ("1.0.31"). */
#define SPEC_VERSION_MAX 32

static const char *const role_type_names[_TUF_ROLE_TYPE_MAX] = {
    [TUF_ROLE_ROOT] = "root",
    [TUF_ROLE_TIMESTAMP] = "timestamp",
    [TUF_ROLE_SNAPSHOT] = "snapshot",
    [TUF_ROLE_TARGETS] = "targets",
};

const char *tuf_role_type_name(enum tuf_role_type t)
{
	assert((unsigned)t < _TUF_ROLE_TYPE_MAX);
	return role_type_names[t];
}

int tuf_md_fail(int r, const char *ctx)
{
	char msg[256];

	if (r >= 0)
		return r;
	/* The recorded message lives in the buffer sl_error() writes to: copy it first. */
	snprintf(msg, sizeof(msg), "%s", sl_error_message(r));
	return sl_error(r, "%s: %s", ctx, msg);
}

void tuf_md_ctx(char buf[static TUF_MD_CTX_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, TUF_MD_CTX_MAX, fmt, ap);
	va_end(ap);
}

bool tuf_md_has(struct json_object *obj, const char *key)
{
	return json_object_object_get_ex(obj, key, NULL);
}

void tuf_md_strings_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorting a copy keeps the check O(n log n) for hostile arrays with many entries. */
static int strings_find_duplicate(char *const *v, size_t n, const char **ret_dup)
{
	_cleanup_free_ char **sorted = NULL;

	if (n < 2)
		return 0;
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, v, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_strp);
	for (size_t i = 1; i < n; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0) {
			/* Points into v, which outlives sorted. */
			*ret_dup = sorted[i];
			return 1;
		}
	return 0;
}

/* A string element of an array: its type, no NUL byte, length 1..max_len. */
static int array_string(struct json_object *el, const char *ctx, size_t i, size_t max_len,
			const char **ret)
{
	const char *s;
	size_t len;

	if (!json_object_is_type(el, json_type_string))
		return sl_error(TUF_E_FORMAT, "%s[%zu]: expected a string", ctx, i);
	s = json_object_get_string(el);
	len = (size_t)json_object_get_string_len(el);
	if (strlen(s) != len || len == 0 || len > max_len)
		return sl_error(TUF_E_FORMAT, "%s[%zu]: expected a string of 1 to %zu bytes", ctx,
				i, max_len);
	*ret = s;
	return 0;
}

int tuf_md_parse_strings(struct json_object *arr, const char *ctx, size_t max_len, bool unique,
			 char ***ret, size_t *ret_n)
{
	char **v = NULL;
	const char *dup;
	size_t n;
	int r;

	if (!json_object_is_type(arr, json_type_array))
		return sl_error(TUF_E_FORMAT, "%s: expected an array", ctx);
	n = json_object_array_length(arr);
	if (n > 0) {
		v = calloc(n, sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = NULL;

		r = array_string(json_object_array_get_idx(arr, i), ctx, i, max_len, &s);
		if (r < 0)
			goto fail;
		v[i] = strdup(s);
		if (!v[i]) {
			r = -ENOMEM;
			goto fail;
		}
	}
	if (unique) {
		r = strings_find_duplicate(v, n, &dup);
		if (r > 0)
			r = sl_error(TUF_E_FORMAT, "%s: \"%s\" is listed twice", ctx, dup);
		if (r != 0)
			goto fail;
	}
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	tuf_md_strings_free(v, n);
	return r;
}

/* One "alg": "hex" member of a hashes object; 1 when stored, 0 when skipped as unknown. */
static int parse_hash_entry(const char *alg_name, struct json_object *val, const char *ctx,
			    struct tuf_hash_entry *ret)
{
	enum tuf_hash_alg alg;
	const char *hex;
	size_t size, hex_len;

	if (!json_object_is_type(val, json_type_string))
		return sl_error(TUF_E_FORMAT, "%s.%s: expected a hex string", ctx, alg_name);
	if (tuf_hash_alg_from_name(alg_name, &alg) < 0)
		return 0;
	hex = json_object_get_string(val);
	hex_len = (size_t)json_object_get_string_len(val);
	size = tuf_hash_alg_size(alg);
	if (hex_len != 2 * size || sl_hex_decode(hex, hex_len, ret->digest, size) != (int)size)
		return sl_error(TUF_E_FORMAT, "%s.%s: expected %zu hex characters", ctx, alg_name,
				2 * size);
	ret->alg = alg;
	return 1;
}

int tuf_md_parse_hashes(struct json_object *obj, const char *ctx, struct tuf_hashes *ret)
{
	struct tuf_hashes h = {};
	int r;

	if (!json_object_is_type(obj, json_type_object))
		return sl_error(TUF_E_FORMAT, "%s: expected an object", ctx);
	if (json_object_object_length(obj) == 0)
		return sl_error(TUF_E_FORMAT, "%s: no hashes", ctx);
	if (json_object_object_length(obj) > TUF_MAX_HASHES)
		return sl_error(TUF_E_FORMAT, "%s: more than %d hashes", ctx, TUF_MAX_HASHES);
	json_object_object_foreach(obj, alg_name, val)
	{
		r = parse_hash_entry(alg_name, val, ctx, &h.h[h.n]);
		if (r < 0)
			return r;
		if (r > 0)
			h.n++;
		else
			h.n_unknown++;
	}
	if (h.n == 0)
		return sl_error(TUF_E_UNSUPPORTED, "%s: no supported hash algorithm", ctx);
	*ret = h;
	return 0;
}

void tuf_md_key_table_free(struct tuf_key_entry *keys, size_t n)
{
	if (!keys)
		return;
	for (size_t i = 0; i < n; i++) {
		free(keys[i].keyid);
		tuf_key_free(keys[i].key);
	}
	free(keys);
}

int tuf_md_parse_key_table(struct json_object *obj, const char *ctx, struct tuf_key_entry **ret,
			   size_t *ret_n)
{
	struct tuf_key_entry *keys = NULL;
	size_t n = 0, max;
	int r;

	if (!json_object_is_type(obj, json_type_object))
		return sl_error(TUF_E_FORMAT, "%s: expected an object", ctx);
	max = (size_t)json_object_object_length(obj);
	if (max > 0) {
		keys = calloc(max, sizeof(*keys));
		if (!keys)
			return -ENOMEM;
	}
	json_object_object_foreach(obj, keyid, keyobj)
	{
		char kctx[TUF_MD_CTX_MAX];

		if (keyid[0] == '\0' || strlen(keyid) > TUF_MAX_KEYID_LEN) {
			r = sl_error(TUF_E_FORMAT, "%s: key id of 0 or more than %d bytes", ctx,
				     TUF_MAX_KEYID_LEN);
			goto fail;
		}
		keys[n].keyid = strdup(keyid);
		if (!keys[n].keyid) {
			r = -ENOMEM;
			goto fail;
		}
		n++;
		tuf_md_ctx(kctx, "%s.%s", ctx, keyid);
		if (!json_object_is_type(keyobj, json_type_object)) {
			r = sl_error(TUF_E_FORMAT, "%s: expected an object", kctx);
			goto fail;
		}
		r = tuf_key_from_json(keyobj, &keys[n - 1].key);
		if (r == TUF_E_UNSUPPORTED) {
			/* Per the specification an unknown key type is unusable, not fatal. */
			keys[n - 1].key = NULL;
			continue;
		}
		if (r < 0) {
			r = tuf_md_fail(r, kctx);
			goto fail;
		}
	}
	*ret = keys;
	*ret_n = n;
	return 0;
fail:
	tuf_md_key_table_free(keys, n);
	return r;
}

void tuf_md_role_keys_clear(struct tuf_role_keys *k)
{
	tuf_md_strings_free(k->keyids, k->n_keyids);
	*k = (struct tuf_role_keys){};
}

int tuf_md_parse_role_keys(struct json_object *obj, const char *ctx, struct tuf_role_keys *ret)
{
	struct tuf_role_keys k = {};
	struct json_object *arr;
	char actx[TUF_MD_CTX_MAX];
	int64_t threshold;
	int r;

	if (!json_object_is_type(obj, json_type_object))
		return sl_error(TUF_E_FORMAT, "%s: expected an object", ctx);
	r = tuf_md_fail(tuf_json_get_int(obj, "threshold", 1, &threshold), ctx);
	if (r < 0)
		return r;
	r = tuf_md_fail(tuf_json_get_array(obj, "keyids", &arr), ctx);
	if (r < 0)
		return r;
	tuf_md_ctx(actx, "%s.keyids", ctx);
	r = tuf_md_parse_strings(arr, actx, TUF_MAX_KEYID_LEN, true, &k.keyids, &k.n_keyids);
	if (r < 0)
		return r;
	k.threshold = (uint64_t)threshold;
	*ret = k;
	return 0;
}

/* "1.0", "1.0.31": two or three dot-separated decimal numbers, the first TUF_SPEC_MAJOR. */
static int check_spec_version(const char *role, const char *v)
{
	unsigned parts = 0;
	unsigned long major = 0;
	const char *p = v;

	if (strlen(v) > SPEC_VERSION_MAX)
		return sl_error(TUF_E_FORMAT, "%s: spec_version is longer than %d bytes", role,
				SPEC_VERSION_MAX);
	for (;;) {
		const char *start = p;

		while (*p >= '0' && *p <= '9')
			p++;
		if (p == start)
			return sl_error(TUF_E_FORMAT, "%s: spec_version \"%s\" is not N.N[.N]",
					role, v);
		if (parts++ == 0)
			major = strtoul(start, NULL, 10);
		if (*p != '.')
			break;
		p++;
	}
	if (*p != '\0' || parts < 2 || parts > 3)
		return sl_error(TUF_E_FORMAT, "%s: spec_version \"%s\" is not N.N[.N]", role, v);
	if (major != TUF_SPEC_MAJOR || v[0] == '0')
		return sl_error(TUF_E_UNSUPPORTED, "%s: spec_version \"%s\" is not %d.x", role, v,
				TUF_SPEC_MAJOR);
	return 0;
}

static void signatures_free(struct tuf_signature *sigs, size_t n)
{
	if (!sigs)
		return;
	for (size_t i = 0; i < n; i++) {
		free(sigs[i].keyid);
		free(sigs[i].sig);
	}
	free(sigs);
}

/* One {"keyid": string, "sig": hex} entry; other members are allowed and ignored. */
static int parse_signature(struct json_object *obj, const char *role, size_t i,
			   struct tuf_signature *ret)
{
	char ctx[TUF_MD_CTX_MAX];
	const char *keyid, *hex;
	size_t hex_len;
	int r;

	tuf_md_ctx(ctx, "%s: signatures[%zu]", role, i);
	if (!json_object_is_type(obj, json_type_object))
		return sl_error(TUF_E_FORMAT, "%s: expected an object", ctx);
	r = tuf_md_fail(tuf_json_get_string(obj, "keyid", &keyid), ctx);
	if (r < 0)
		return r;
	if (keyid[0] == '\0' || strlen(keyid) > TUF_MAX_KEYID_LEN)
		return sl_error(TUF_E_FORMAT, "%s: key id of 0 or more than %d bytes", ctx,
				TUF_MAX_KEYID_LEN);
	r = tuf_md_fail(tuf_json_get_string(obj, "sig", &hex), ctx);
	if (r < 0)
		return r;
	hex_len = strlen(hex);
	if (hex_len > 2 * TUF_MAX_SIG_LEN)
		return sl_error(TUF_E_FORMAT, "%s: signature longer than %d bytes", ctx,
				TUF_MAX_SIG_LEN);
	ret->keyid = strdup(keyid);
	/* One spare byte so that an empty signature still has a buffer. */
	ret->sig = malloc(hex_len / 2 + 1);
	if (!ret->keyid || !ret->sig)
		return -ENOMEM;
	r = sl_hex_decode(hex, hex_len, ret->sig, hex_len / 2);
	if (r < 0)
		return sl_error(TUF_E_FORMAT, "%s: \"sig\" is not hex", ctx);
	ret->sig_len = (size_t)r;
	return 0;
}

static int parse_signatures(struct tuf_metadata *md, struct json_object *arr, const char *role)
{
	size_t n = json_object_array_length(arr);
	int r;

	if (n == 0)
		return 0;
	md->sigs = calloc(n, sizeof(*md->sigs));
	if (!md->sigs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		/* Count first: a partly filled entry is freed with the others. */
		md->n_sigs++;
		r = parse_signature(json_object_array_get_idx(arr, i), role, i, &md->sigs[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* "_type", "spec_version", "version", "expires": what every role's "signed" holds. */
static int parse_common(struct tuf_metadata *md, struct json_object *sig_obj, const char *role)
{
	const char *type, *spec, *expires;
	int64_t version;
	int r;

	r = tuf_md_fail(tuf_json_get_string(sig_obj, "_type", &type), role);
	if (r < 0)
		return r;
	if (strcmp(type, role) != 0)
		return sl_error(TUF_E_TYPE, "%s: \"_type\" is \"%.64s\", expected \"%s\"", role,
				type, role);
	r = tuf_md_fail(tuf_json_get_string(sig_obj, "spec_version", &spec), role);
	if (r < 0)
		return r;
	r = check_spec_version(role, spec);
	if (r < 0)
		return r;
	r = tuf_md_fail(tuf_json_get_int(sig_obj, "version", 1, &version), role);
	if (r < 0)
		return r;
	r = tuf_md_fail(tuf_json_get_string(sig_obj, "expires", &expires), role);
	if (r < 0)
		return r;
	r = tuf_md_fail(tuf_json_parse_time(expires, &md->expires), role);
	if (r < 0)
		return r;
	md->spec_version = strdup(spec);
	if (!md->spec_version)
		return -ENOMEM;
	md->version = (uint64_t)version;
	return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_metadata *, tuf_metadata_free)

int tuf_metadata_parse(const void *buf, size_t len, enum tuf_role_type expected,
		       struct tuf_metadata **ret)
{
	_cleanup_(tuf_metadata_freep) struct tuf_metadata *md = NULL;
	struct json_object *sig_obj, *sigs;
	const char *role = tuf_role_type_name(expected);
	int r;

	assert(buf || len == 0);
	assert(ret);
	md = calloc(1, sizeof(*md));
	if (!md)
		return -ENOMEM;
	md->type = expected;
	r = tuf_md_fail(tuf_json_parse(buf, len, 0, &md->doc), role);
	if (r < 0)
		return r;
	if (!json_object_is_type(md->doc, json_type_object))
		return sl_error(TUF_E_FORMAT, "%s: expected an object at the top level", role);
	r = tuf_md_fail(tuf_json_get_object(md->doc, "signed", &sig_obj), role);
	if (r < 0)
		return r;
	r = tuf_md_fail(tuf_json_get_array(md->doc, "signatures", &sigs), role);
	if (r < 0)
		return r;
	if (json_object_object_length(md->doc) != 2)
		return sl_error(TUF_E_FORMAT,
				"%s: top level must hold exactly \"signatures\" and \"signed\"",
				role);
	r = parse_common(md, sig_obj, role);
	if (r < 0)
		return r;
	r = parse_signatures(md, sigs, role);
	if (r < 0)
		return r;
	r = tuf_md_parse_role(md, sig_obj);
	if (r < 0)
		return r;
	r = tuf_md_fail(tuf_json_canonical(sig_obj, &md->signed_bytes, &md->signed_len), role);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(md);
	return 0;
}

struct tuf_metadata *tuf_metadata_free(struct tuf_metadata *md)
{
	if (!md)
		return NULL;
	tuf_md_clear_role(md);
	signatures_free(md->sigs, md->n_sigs);
	free(md->spec_version);
	free(md->signed_bytes);
	json_object_put(md->doc);
	free(md);
	return NULL;
}

static const struct tuf_key *key_table_find(const struct tuf_key_entry *table, size_t n_table,
					    const char *keyid)
{
	for (size_t i = 0; i < n_table; i++)
		if (strcmp(table[i].keyid, keyid) == 0)
			return table[i].key;
	return NULL;
}

/* Whether some signature entry under keyid verifies with key. */
static bool key_signed(const struct tuf_metadata *md, const char *keyid, const struct tuf_key *key)
{
	for (size_t i = 0; i < md->n_sigs; i++) {
		const struct tuf_signature *s = &md->sigs[i];

		if (strcmp(s->keyid, keyid) != 0)
			continue;
		if (tuf_key_verify(key, md->signed_bytes, md->signed_len, s->sig, s->sig_len) == 0)
			return true;
	}
	return false;
}

int tuf_metadata_verify(const struct tuf_metadata *md, const char *role,
			const struct tuf_role_keys *keys, const struct tuf_key_entry *table,
			size_t n_table)
{
	_cleanup_free_ const struct tuf_key **counted = NULL;
	size_t n_counted = 0;

	assert(md && role && keys);
	assert(table || n_table == 0);
	if (keys->n_keyids > 0) {
		counted = calloc(keys->n_keyids, sizeof(*counted));
		if (!counted)
			return -ENOMEM;
	}
	for (size_t i = 0; i < keys->n_keyids && n_counted < keys->threshold; i++) {
		const struct tuf_key *key = key_table_find(table, n_table, keys->keyids[i]);
		bool seen = false;

		if (!key)
			continue;
		/* One public key under several key ids still counts once. */
		for (size_t j = 0; j < n_counted && !seen; j++)
			seen = tuf_key_equal(counted[j], key);
		if (seen)
			continue;
		if (key_signed(md, keys->keyids[i], key))
			counted[n_counted++] = key;
	}
	/* threshold >= 1 for parsed roles; a zero threshold from a caller still needs a key. */
	if (n_counted >= keys->threshold && n_counted > 0)
		return 0;
	return sl_error(TUF_E_THRESHOLD, "%s: %zu of %" PRIu64 " required signatures are valid",
			role, n_counted, keys->threshold);
}

int tuf_metadata_verify_root_role(const struct tuf_metadata *md, const struct tuf_root *root,
				  enum tuf_role_type type)
{
	assert(md && root);
	assert((unsigned)type <= TUF_ROLE_TARGETS);
	return tuf_metadata_verify(md, tuf_role_type_name(type), &root->roles[type], root->keys,
				   root->n_keys);
}

int tuf_metadata_verify_delegated(const struct tuf_metadata *md,
				  const struct tuf_delegations *delegations,
				  const struct tuf_role_keys *role_keys, const char *role_name)
{
	assert(md && delegations && role_keys && role_name);
	return tuf_metadata_verify(md, role_name, role_keys, delegations->keys,
				   delegations->n_keys);
}

int tuf_metadata_check_expiry(const struct tuf_metadata *md, const char *role, int64_t now)
{
	char when[21];

	assert(md && role);
	if (md->expires > now)
		return 0;
	tuf_json_format_time(md->expires, when);
	return sl_error(TUF_E_EXPIRED, "%s: expired at %s", role, when);
}
