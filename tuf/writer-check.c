/* SPDX-License-Identifier: Apache-2.0 */
/* The repository writer's checks: signature status, thresholds and verified atomic output. */
#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "fileio.h"
#include "metadata-internal.h"
#include "tuf/updater.h"
#include "tuf/writer.h"
#include "writer-internal.h"

/* Bytes of a role label in messages ("root (root role of version 12)"). */
#define LABEL_MAX 320

DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_metadata *, tuf_metadata_free)

/* Who may sign: one role's keys and the key table they are looked up in. */
struct ring {
	char label[LABEL_MAX];
	const struct tuf_role_keys *keys; /* borrowed from checked */
	const struct tuf_key_entry *table;
	size_t n_table;
};

/* A document as the client parses it, and the rings that authorise it. */
struct checked {
	char *bytes; /* owned: the exact bytes that would be written */
	size_t len;
	struct tuf_metadata *md;   /* owned: parsed from bytes */
	struct tuf_metadata *auth; /* owned: the parsed authority, or NULL */
	struct ring rings[2];	   /* root: [0] its own root role, [1] the previous root's */
	size_t n_rings;
};

static void checked_clear(struct checked *c)
{
	free(c->bytes);
	tuf_metadata_free(c->md);
	tuf_metadata_free(c->auth);
	*c = (struct checked){};
}

/* Serialise doc and parse the bytes with the client's parser as type. */
static int parse_doc(struct json_object *doc, enum tuf_role_type type, const char *what,
		     char **ret_bytes, size_t *ret_len, struct tuf_metadata **ret)
{
	_cleanup_free_ char *bytes = NULL;
	size_t len;
	int r;

	r = tuf_wr_signed(doc, NULL, &(struct json_object *){NULL});
	if (r < 0)
		return tuf_md_fail(r, what);
	r = tuf_writer_serialize(doc, &bytes, &len);
	if (r < 0)
		return r;
	r = tuf_metadata_parse(bytes, len, type, ret);
	if (r < 0)
		return tuf_md_fail(r, what);
	if (ret_bytes) {
		*ret_bytes = TAKE_PTR(bytes);
		*ret_len = len;
	}
	return 0;
}

static void ring_set(struct ring *g, const struct tuf_role_keys *keys,
		     const struct tuf_key_entry *table, size_t n_table, const char *fmt, ...)
    _printf_(5, 6);
static void ring_set(struct ring *g, const struct tuf_role_keys *keys,
		     const struct tuf_key_entry *table, size_t n_table, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->label, sizeof(g->label), fmt, ap);
	va_end(ap);
	g->keys = keys;
	g->table = table;
	g->n_table = n_table;
}

static int resolve_root(struct checked *c, struct json_object *doc, struct json_object *authority)
{
	const struct tuf_root *self = &c->md->u.root, *prev;
	int r;

	ring_set(&c->rings[0], &self->roles[TUF_ROLE_ROOT], self->keys, self->n_keys, "root");
	c->n_rings = 1;
	if (!authority || authority == doc)
		return 0;
	r = parse_doc(authority, TUF_ROLE_ROOT, "previous root", NULL, NULL, &c->auth);
	if (r < 0)
		return r;
	if (c->md->version != c->auth->version + 1)
		return sl_error(TUF_E_VERSION,
				"root: version %" PRIu64 " does not follow previous root version "
				"%" PRIu64,
				c->md->version, c->auth->version);
	prev = &c->auth->u.root;
	ring_set(&c->rings[1], &prev->roles[TUF_ROLE_ROOT], prev->keys, prev->n_keys,
		 "root (root role of version %" PRIu64 ")", c->auth->version);
	c->n_rings = 2;
	return 0;
}

static int resolve_delegated(struct checked *c, const char *role)
{
	const struct tuf_delegations *d = c->auth->u.targets.delegations;

	if (d && d->succinct && tuf_succinct_roles_has(d->succinct, role)) {
		ring_set(&c->rings[0], &d->succinct->keys, d->keys, d->n_keys, "%s", role);
		c->n_rings = 1;
		return 0;
	}
	for (size_t i = 0; d && i < d->n_roles; i++)
		if (strcmp(d->roles[i].name, role) == 0) {
			ring_set(&c->rings[0], &d->roles[i].keys, d->keys, d->n_keys, "%s", role);
			c->n_rings = 1;
			return 0;
		}
	return sl_error(TUF_E_NOT_FOUND, "%s: the delegating targets role does not delegate to it",
			role);
}

/* Parse doc as role and find the keys that authorise it (see writer.h, "authority"). */
static int resolve(struct checked *c, struct json_object *doc, const char *role,
		   struct json_object *authority)
{
	enum tuf_role_type type;
	bool delegated;
	int r;

	if (!role || role[0] == '\0' || strlen(role) > TUF_MAX_ROLENAME_LEN)
		return sl_error(SL_E_INVALID, "role name of 0 or more than %d bytes",
				TUF_MAX_ROLENAME_LEN);
	type = tuf_wr_role_type(role);
	delegated = type == TUF_ROLE_TARGETS && strcmp(role, "targets") != 0;
	r = parse_doc(doc, type, role, &c->bytes, &c->len, &c->md);
	if (r < 0)
		return r;
	if (type == TUF_ROLE_ROOT)
		return resolve_root(c, doc, authority);
	if (!authority)
		return sl_error(SL_E_INVALID,
				"%s: no %s document given to check signatures against", role,
				delegated ? "delegating targets" : "root");
	if (!delegated) {
		const struct tuf_root *root;

		r = parse_doc(authority, TUF_ROLE_ROOT, "root", NULL, NULL, &c->auth);
		if (r < 0)
			return r;
		root = &c->auth->u.root;
		ring_set(&c->rings[0], &root->roles[type], root->keys, root->n_keys, "%s", role);
		c->n_rings = 1;
		return 0;
	}
	r = parse_doc(authority, TUF_ROLE_TARGETS, "delegating targets", NULL, NULL, &c->auth);
	if (r < 0)
		return r;
	return resolve_delegated(c, role);
}

static bool role_lists(const struct tuf_role_keys *keys, const char *keyid)
{
	for (size_t i = 0; i < keys->n_keyids; i++)
		if (strcmp(keys->keyids[i], keyid) == 0)
			return true;
	return false;
}

/*
 * Whether keyid's signature on md verifies, asked of the client's verifier with a one-key role:
 * 1 valid, 0 not, < 0 on failure of the verifier itself.
 */
static int key_valid(const struct tuf_metadata *md, const struct ring *g, const char *keyid)
{
	char *ids[1] = {(char *)keyid};
	struct tuf_role_keys one = {.keyids = ids, .n_keyids = 1, .threshold = 1};
	int r;

	r = tuf_metadata_verify(md, g->label, &one, g->table, g->n_table);
	if (r == TUF_E_THRESHOLD)
		return 0;
	return r < 0 ? r : 1;
}

/* Every signature entry is unique, from an authorised key, and verifies. */
static int check_entries(const struct checked *c)
{
	const struct tuf_metadata *md = c->md;
	const char *role = c->rings[0].label;

	for (size_t i = 0; i < md->n_sigs; i++) {
		const char *keyid = md->sigs[i].keyid;
		bool authorised = false, valid = false;

		for (size_t j = 0; j < i; j++)
			if (strcmp(md->sigs[j].keyid, keyid) == 0)
				return sl_error(TUF_E_SIGNATURE, "%s: key %.64s signed twice", role,
						keyid);
		for (size_t k = 0; k < c->n_rings && !valid; k++) {
			int r;

			if (!role_lists(c->rings[k].keys, keyid))
				continue;
			authorised = true;
			r = key_valid(md, &c->rings[k], keyid);
			if (r < 0)
				return r;
			valid = r > 0;
		}
		if (!authorised)
			return sl_error(TUF_E_SIGNATURE, "%s: key %.64s may not sign this role",
					role, keyid);
		if (!valid)
			return sl_error(TUF_E_SIGNATURE,
					"%s: the signature of key %.64s does not verify", role,
					keyid);
	}
	return 0;
}

/* Number of keys of k that the table holds in a supported form. */
static size_t usable_keys(const struct tuf_role_keys *k, const struct tuf_key_entry *table,
			  size_t n_table)
{
	size_t n = 0;

	for (size_t i = 0; i < k->n_keyids; i++)
		for (size_t j = 0; j < n_table; j++)
			if (strcmp(table[j].keyid, k->keyids[i]) == 0 && table[j].key) {
				n++;
				break;
			}
	return n;
}

static int check_thresholds(const struct checked *c)
{
	int r;

	for (size_t k = 0; k < c->n_rings; k++) {
		const struct ring *g = &c->rings[k];

		r = tuf_metadata_verify(c->md, g->label, g->keys, g->table, g->n_table);
		if (r < 0)
			return r;
	}
	if (c->md->type != TUF_ROLE_ROOT)
		return 0;
	for (enum tuf_role_type t = TUF_ROLE_ROOT; t <= TUF_ROLE_TARGETS; t++) {
		const struct tuf_root *root = &c->md->u.root;
		size_t n = usable_keys(&root->roles[t], root->keys, root->n_keys);

		if (n < root->roles[t].threshold)
			return sl_error(TUF_E_THRESHOLD,
					"root: role %s has threshold %" PRIu64
					" but %zu usable keys",
					tuf_role_type_name(t), root->roles[t].threshold, n);
	}
	return 0;
}

int tuf_writer_check_signatures(struct json_object *doc, const char *role,
				struct json_object *authority)
{
	_cleanup_(checked_clear) struct checked c = {};
	int r;

	r = resolve(&c, doc, role, authority);
	if (r < 0)
		return r;
	return check_entries(&c);
}

int tuf_writer_check_complete(struct json_object *doc, const char *role,
			      struct json_object *authority)
{
	_cleanup_(checked_clear) struct checked c = {};
	int r;

	r = resolve(&c, doc, role, authority);
	if (r >= 0)
		r = check_entries(&c);
	if (r >= 0)
		r = check_thresholds(&c);
	return r;
}

/* ---- Status ---- */

static char **strv_free_n(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
	return NULL;
}

void tuf_writer_status_clear(struct tuf_writer_status *s)
{
	if (!s)
		return;
	strv_free_n(s->valid, s->n_valid);
	strv_free_n(s->missing, s->n_missing);
	strv_free_n(s->invalid, s->n_invalid);
	strv_free_n(s->unauthorised, s->n_unauthorised);
	*s = (struct tuf_writer_status){};
}

static int strv_push(char **v, size_t *n, const char *s)
{
	v[*n] = strdup(s);
	if (!v[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static const struct tuf_key *table_find(const struct tuf_key_entry *table, size_t n,
					const char *keyid)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].keyid, keyid) == 0)
			return table[i].key;
	return NULL;
}

/* Count distinct keys among the valid key ids: one key under two ids counts once. */
static size_t distinct_valid(const struct tuf_writer_status *st, const struct ring *g)
{
	size_t n = 0;

	for (size_t i = 0; i < st->n_valid; i++) {
		const struct tuf_key *k = table_find(g->table, g->n_table, st->valid[i]);
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = tuf_key_equal(k, table_find(g->table, g->n_table, st->valid[j]));
		n += !seen;
	}
	return n;
}

static bool strv_has_n(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static int status_fill(const struct tuf_metadata *md, const struct ring *g,
		       struct tuf_writer_status *st)
{
	size_t nk = g->keys->n_keyids + 1, ns = md->n_sigs + 1, counted;
	int r;

	st->threshold = g->keys->threshold;
	st->valid = calloc(nk, sizeof(char *));
	st->missing = calloc(nk, sizeof(char *));
	st->invalid = calloc(ns, sizeof(char *));
	st->unauthorised = calloc(ns, sizeof(char *));
	if (!st->valid || !st->missing || !st->invalid || !st->unauthorised)
		return -ENOMEM;
	for (size_t i = 0; i < g->keys->n_keyids; i++) {
		const char *keyid = g->keys->keyids[i];

		r = key_valid(md, g, keyid);
		if (r < 0)
			return r;
		r = r > 0 ? strv_push(st->valid, &st->n_valid, keyid)
			  : strv_push(st->missing, &st->n_missing, keyid);
		if (r < 0)
			return r;
	}
	counted = distinct_valid(st, g);
	st->needed = st->threshold > counted ? (size_t)(st->threshold - counted) : 0;
	for (size_t i = 0; i < md->n_sigs; i++) {
		const char *keyid = md->sigs[i].keyid;

		if (!role_lists(g->keys, keyid))
			r = strv_push(st->unauthorised, &st->n_unauthorised, keyid);
		else if (!strv_has_n(st->valid, st->n_valid, keyid))
			r = strv_push(st->invalid, &st->n_invalid, keyid);
		else
			r = 0;
		if (r < 0)
			return r;
	}
	return 0;
}

static int status_ring(const struct tuf_metadata *md, const struct ring *g,
		       struct tuf_writer_status *ret)
{
	struct tuf_writer_status st = {};
	int r;

	r = status_fill(md, g, &st);
	if (r < 0) {
		tuf_writer_status_clear(&st);
		return r;
	}
	*ret = st;
	return 0;
}

int tuf_writer_status_keys(struct json_object *doc, const char *role,
			   const struct tuf_role_keys *keys, const struct tuf_key_entry *table,
			   size_t n_table, struct tuf_writer_status *ret)
{
	_cleanup_(tuf_metadata_freep) struct tuf_metadata *md = NULL;
	struct ring g = {};
	int r;

	assert(role && keys && ret);
	assert(table || n_table == 0);
	r = parse_doc(doc, tuf_wr_role_type(role), role, NULL, NULL, &md);
	if (r < 0)
		return r;
	ring_set(&g, keys, table, n_table, "%s", role);
	return status_ring(md, &g, ret);
}

int tuf_writer_status(struct json_object *doc, const char *role, struct json_object *authority,
		      struct tuf_writer_status *ret)
{
	_cleanup_(checked_clear) struct checked c = {};
	int r;

	assert(ret);
	r = resolve(&c, doc, role, authority);
	if (r < 0)
		return r;
	return status_ring(c.md, &c.rings[c.n_rings - 1], ret);
}

/* ---- Output ---- */

static size_t size_cap(enum tuf_role_type type)
{
	static const size_t caps[] = {
	    [TUF_ROLE_ROOT] = TUF_DEFAULT_ROOT_MAX,
	    [TUF_ROLE_TIMESTAMP] = TUF_DEFAULT_TIMESTAMP_MAX,
	    [TUF_ROLE_SNAPSHOT] = TUF_DEFAULT_SNAPSHOT_MAX,
	    [TUF_ROLE_TARGETS] = TUF_DEFAULT_TARGETS_MAX,
	};
	return caps[type];
}

int tuf_writer_write(struct json_object *doc, const char *role, struct json_object *authority,
		     bool complete, const char *dir, const char *name)
{
	_cleanup_(checked_clear) struct checked c = {};
	_cleanup_close_ int dfd = -1;
	int r;

	assert(dir && name);
	if (name[0] == '\0' || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return sl_error(SL_E_INVALID, "\"%.256s\" is not a plain file name", name);
	r = resolve(&c, doc, role, authority);
	if (r >= 0)
		r = check_entries(&c);
	if (r >= 0 && complete)
		r = check_thresholds(&c);
	if (r < 0)
		return r;
	if (c.len > size_cap(c.md->type))
		return sl_error(TUF_E_TOO_LARGE, "%s: %zu bytes exceed the client limit of %zu",
				name, c.len, size_cap(c.md->type));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return sl_error(-errno, "%s: cannot open directory: %m", dir);
	r = sl_write_file_atomic_at(dfd, name, c.bytes, c.len, 0644);
	if (r < 0)
		return tuf_md_fail(r, name);
	return 0;
}
