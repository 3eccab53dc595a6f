/* SPDX-License-Identifier: Apache-2.0 */
/* Targets delegations: parsing, path and hash-prefix matching, and TAP 15 succinct hash bins. */
#include <assert.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "metadata-internal.h"
#include "tuf/json.h"

#define SUCCINCT_BITS_MAX 32
/* Hex digits of a SHA-256 digest: the longest useful path hash prefix. */
#define HASH_PREFIX_MAX 64

static const char *const top_level_names[] = {"root", "timestamp", "snapshot", "targets"};

/* Hex digits of the largest bin number, 2^bit_length - 1. */
static unsigned succinct_width(unsigned bit_length)
{
	return (bit_length + 3) / 4;
}

static int check_role_name(const char *name, const char *ctx)
{
	size_t len = strlen(name);

	if (len == 0 || len > TUF_MAX_ROLENAME_LEN)
		return sl_error(TUF_E_FORMAT, "%s: role name of 0 or more than %d bytes", ctx,
				TUF_MAX_ROLENAME_LEN);
	for (size_t i = 0; i < ELEMENTSOF(top_level_names); i++)
		if (strcmp(name, top_level_names[i]) == 0)
			return sl_error(TUF_E_FORMAT, "%s: \"%s\" is a top-level role name", ctx,
					name);
	return 0;
}

static int check_hash_prefixes(char **v, size_t n, const char *ctx)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i]);

		if (len > HASH_PREFIX_MAX || strspn(v[i], "0123456789abcdef") != len)
			return sl_error(
			    TUF_E_FORMAT,
			    "%s.path_hash_prefixes[%zu]: expected at most %d lower-case "
			    "hex digits",
			    ctx, i, HASH_PREFIX_MAX);
	}
	return 0;
}

/* "paths" or "path_hash_prefixes" (at most one of them) of a delegated role. */
static int parse_role_paths(struct json_object *obj, const char *ctx,
			    struct tuf_delegated_role *ret)
{
	struct json_object *arr;
	bool has_paths = tuf_md_has(obj, "paths");
	bool has_prefixes = tuf_md_has(obj, "path_hash_prefixes");
	char actx[TUF_MD_CTX_MAX];
	int r;

	if (has_paths && has_prefixes)
		return sl_error(TUF_E_FORMAT, "%s: both \"paths\" and \"path_hash_prefixes\"", ctx);
	if (has_paths) {
		r = tuf_md_fail(tuf_json_get_array(obj, "paths", &arr), ctx);
		if (r < 0)
			return r;
		tuf_md_ctx(actx, "%s.paths", ctx);
		return tuf_md_parse_strings(arr, actx, TUF_MAX_TARGET_PATH, false, &ret->paths,
					    &ret->n_paths);
	}
	if (has_prefixes) {
		r = tuf_md_fail(tuf_json_get_array(obj, "path_hash_prefixes", &arr), ctx);
		if (r < 0)
			return r;
		tuf_md_ctx(actx, "%s.path_hash_prefixes", ctx);
		/* An empty prefix would match every path: refused by the length check. */
		r = tuf_md_parse_strings(arr, actx, HASH_PREFIX_MAX, false,
					 &ret->path_hash_prefixes, &ret->n_path_hash_prefixes);
		if (r < 0)
			return r;
		return check_hash_prefixes(ret->path_hash_prefixes, ret->n_path_hash_prefixes, ctx);
	}
	return 0;
}

static int parse_delegated_role(struct json_object *obj, size_t i, struct tuf_delegated_role *ret)
{
	char ctx[TUF_MD_CTX_MAX];
	const char *name;
	int r;

	tuf_md_ctx(ctx, "targets: delegations.roles[%zu]", i);
	if (!json_object_is_type(obj, json_type_object))
		return sl_error(TUF_E_FORMAT, "%s: expected an object", ctx);
	r = tuf_md_fail(tuf_json_get_string(obj, "name", &name), ctx);
	if (r < 0)
		return r;
	r = check_role_name(name, ctx);
	if (r < 0)
		return r;
	ret->name = strdup(name);
	if (!ret->name)
		return -ENOMEM;
	r = tuf_md_parse_role_keys(obj, ctx, &ret->keys);
	if (r < 0)
		return r;
	r = tuf_md_fail(tuf_json_get_bool(obj, "terminating", &ret->terminating), ctx);
	if (r < 0)
		return r;
	return parse_role_paths(obj, ctx, ret);
}

static void delegated_role_clear(struct tuf_delegated_role *r)
{
	free(r->name);
	tuf_md_role_keys_clear(&r->keys);
	tuf_md_strings_free(r->paths, r->n_paths);
	tuf_md_strings_free(r->path_hash_prefixes, r->n_path_hash_prefixes);
}

static int cmp_role_name(const void *a, const void *b)
{
	return strcmp((*(const struct tuf_delegated_role *const *)a)->name,
		      (*(const struct tuf_delegated_role *const *)b)->name);
}

/* Sorting pointers keeps this O(n log n) for a hostile list of many roles. */
static int check_unique_names(const struct tuf_delegations *d)
{
	_cleanup_free_ const struct tuf_delegated_role **sorted = NULL;

	if (d->n_roles < 2)
		return 0;
	sorted = malloc(d->n_roles * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < d->n_roles; i++)
		sorted[i] = &d->roles[i];
	qsort(sorted, d->n_roles, sizeof(*sorted), cmp_role_name);
	for (size_t i = 1; i < d->n_roles; i++)
		if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0)
			return sl_error(TUF_E_FORMAT,
					"targets: delegations: role \"%s\" is listed twice",
					sorted[i]->name);
	return 0;
}

static int parse_roles(struct json_object *arr, struct tuf_delegations *d)
{
	size_t n = json_object_array_length(arr);
	int r;

	if (n > 0) {
		d->roles = calloc(n, sizeof(*d->roles));
		if (!d->roles)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		d->n_roles++;
		r = parse_delegated_role(json_object_array_get_idx(arr, i), i, &d->roles[i]);
		if (r < 0)
			return r;
	}
	return check_unique_names(d);
}

static int parse_succinct(struct json_object *obj, struct tuf_delegations *d)
{
	const char *ctx = "targets: delegations.succinct_roles";
	struct tuf_succinct_roles *s;
	const char *prefix;
	int64_t bits;
	int r;

	if (!json_object_is_type(obj, json_type_object))
		return sl_error(TUF_E_FORMAT, "%s: expected an object", ctx);
	s = d->succinct = calloc(1, sizeof(*d->succinct));
	if (!s)
		return -ENOMEM;
	r = tuf_md_parse_role_keys(obj, ctx, &s->keys);
	if (r < 0)
		return r;
	r = tuf_md_fail(tuf_json_get_int(obj, "bit_length", 1, &bits), ctx);
	if (r < 0)
		return r;
	if (bits > SUCCINCT_BITS_MAX)
		return sl_error(TUF_E_FORMAT, "%s: bit_length %" PRId64 " is not in 1..%d", ctx,
				bits, SUCCINCT_BITS_MAX);
	s->bit_length = (unsigned)bits;
	r = tuf_md_fail(tuf_json_get_string(obj, "name_prefix", &prefix), ctx);
	if (r < 0)
		return r;
	/* Every bin name, "<prefix>-<hex>", must itself be a valid role name. */
	if (strlen(prefix) + 1 + succinct_width(s->bit_length) > TUF_MAX_ROLENAME_LEN)
		return sl_error(TUF_E_FORMAT,
				"%s: name_prefix makes bin names longer than %d bytes", ctx,
				TUF_MAX_ROLENAME_LEN);
	s->name_prefix = strdup(prefix);
	if (!s->name_prefix)
		return -ENOMEM;
	return 0;
}

int tuf_md_parse_delegations(struct json_object *obj, struct tuf_delegations **ret)
{
	struct tuf_delegations *d;
	struct json_object *keys, *v;
	const char *ctx = "targets: delegations";
	bool has_roles = tuf_md_has(obj, "roles");
	bool has_succinct = tuf_md_has(obj, "succinct_roles");
	int r;

	if (has_roles == has_succinct)
		return sl_error(TUF_E_FORMAT,
				"%s: needs exactly one of \"roles\" and "
				"\"succinct_roles\"",
				ctx);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	r = tuf_md_fail(tuf_json_get_object(obj, "keys", &keys), ctx);
	if (r >= 0)
		r = tuf_md_parse_key_table(keys, "targets: delegations.keys", &d->keys, &d->n_keys);
	if (r >= 0 && has_roles) {
		r = tuf_md_fail(tuf_json_get_array(obj, "roles", &v), ctx);
		if (r >= 0)
			r = parse_roles(v, d);
	} else if (r >= 0) {
		json_object_object_get_ex(obj, "succinct_roles", &v);
		r = parse_succinct(v, d);
	}
	if (r < 0) {
		tuf_md_delegations_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

struct tuf_delegations *tuf_md_delegations_free(struct tuf_delegations *d)
{
	if (!d)
		return NULL;
	tuf_md_key_table_free(d->keys, d->n_keys);
	for (size_t i = 0; d->roles && i < d->n_roles; i++)
		delegated_role_clear(&d->roles[i]);
	free(d->roles);
	if (d->succinct) {
		tuf_md_role_keys_clear(&d->succinct->keys);
		free(d->succinct->name_prefix);
		free(d->succinct);
	}
	free(d);
	return NULL;
}

static size_t count_slashes(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '/';
	return n;
}

/*
 * As python-tuf: the pattern must have as many '/'-separated parts as the path, and each part
 * matches shell-style. FNM_PATHNAME keeps '*', '?' and brackets from matching '/', which makes
 * whole-string matching equal to part-by-part matching; FNM_NOESCAPE because python's fnmatch
 * has no escape character either.
 */
static bool path_matches(const char *pattern, const char *path)
{
	if (count_slashes(pattern) != count_slashes(path))
		return false;
	return fnmatch(pattern, path, FNM_PATHNAME | FNM_NOESCAPE) == 0;
}

bool tuf_delegated_role_matches(const struct tuf_delegated_role *r, const char *target_path)
{
	char hex[65];

	assert(r && target_path);
	for (size_t i = 0; i < r->n_paths; i++)
		if (path_matches(r->paths[i], target_path))
			return true;
	if (r->n_path_hash_prefixes == 0)
		return false;
	if (tuf_sha256_hex(target_path, strlen(target_path), hex) < 0)
		return false;
	for (size_t i = 0; i < r->n_path_hash_prefixes; i++) {
		const char *p = r->path_hash_prefixes[i];

		if (strncmp(hex, p, strlen(p)) == 0)
			return true;
	}
	return false;
}

uint64_t tuf_succinct_roles_count(const struct tuf_succinct_roles *s)
{
	assert(s && s->bit_length >= 1 && s->bit_length <= SUCCINCT_BITS_MAX);
	return UINT64_C(1) << s->bit_length;
}

int tuf_succinct_role_name_at(const struct tuf_succinct_roles *s, uint64_t i, char **ret_name)
{
	char *name;

	assert(ret_name);
	if (i >= tuf_succinct_roles_count(s))
		return sl_error(SL_E_INVALID, "succinct roles: bin %" PRIu64 " of %" PRIu64, i,
				tuf_succinct_roles_count(s));
	if (asprintf(&name, "%s-%0*" PRIx64, s->name_prefix, (int)succinct_width(s->bit_length),
		     i) < 0)
		return -ENOMEM;
	*ret_name = name;
	return 0;
}

int tuf_succinct_role_name(const struct tuf_succinct_roles *s, const char *target_path,
			   char **ret_name)
{
	uint8_t digest[TUF_HASH_MAX_SIZE];
	uint32_t head;
	int r;

	assert(s && target_path && ret_name);
	r = tuf_hash_buf(TUF_HASH_SHA256, target_path, strlen(target_path), digest);
	if (r < 0)
		return r;
	/* The leftmost bit_length bits of the digest, read big-endian. */
	head = (uint32_t)digest[0] << 24 | (uint32_t)digest[1] << 16 | (uint32_t)digest[2] << 8 |
	       (uint32_t)digest[3];
	return tuf_succinct_role_name_at(s, head >> (SUCCINCT_BITS_MAX - s->bit_length), ret_name);
}

bool tuf_succinct_roles_has(const struct tuf_succinct_roles *s, const char *name)
{
	size_t plen, width;
	const char *suffix;
	uint64_t i = 0;

	assert(s && name);
	plen = strlen(s->name_prefix);
	width = succinct_width(s->bit_length);
	if (strncmp(name, s->name_prefix, plen) != 0 || name[plen] != '-')
		return false;
	suffix = name + plen + 1;
	if (strlen(suffix) != width || strspn(suffix, "0123456789abcdef") != width)
		return false;
	for (size_t k = 0; k < width; k++) {
		char c = suffix[k];

		i = i << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return i < tuf_succinct_roles_count(s);
}
