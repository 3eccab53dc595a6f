/* SPDX-License-Identifier: Apache-2.0 */
/* The role-specific parts of TUF metadata: root, timestamp, snapshot and targets. */
#include <assert.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "metadata-internal.h"
#include "tuf/json.h"

/* Bytes of a snapshot "meta" file name: a role name plus ".json". */
#define META_NAME_MAX (TUF_MAX_ROLENAME_LEN + 5)

static int parse_root(struct tuf_root *root, struct json_object *sig_obj)
{
	struct json_object *keys, *roles, *robj;
	int r;

	r = tuf_md_fail(
	    tuf_json_get_bool(sig_obj, "consistent_snapshot", &root->consistent_snapshot), "root");
	if (r < 0)
		return r;
	r = tuf_md_fail(tuf_json_get_object(sig_obj, "keys", &keys), "root");
	if (r < 0)
		return r;
	r = tuf_md_parse_key_table(keys, "root: keys", &root->keys, &root->n_keys);
	if (r < 0)
		return r;
	r = tuf_md_fail(tuf_json_get_object(sig_obj, "roles", &roles), "root");
	if (r < 0)
		return r;
	for (enum tuf_role_type t = TUF_ROLE_ROOT; t <= TUF_ROLE_TARGETS; t++) {
		char ctx[TUF_MD_CTX_MAX];

		tuf_md_ctx(ctx, "root: roles.%s", tuf_role_type_name(t));
		r = tuf_md_fail(tuf_json_get_object(roles, tuf_role_type_name(t), &robj),
				"root: roles");
		if (r < 0)
			return r;
		r = tuf_md_parse_role_keys(robj, ctx, &root->roles[t]);
		if (r < 0)
			return r;
	}
	/* All four are present and keys are unique, so any other member is a fifth role. */
	if (json_object_object_length(roles) != TUF_ROLE_TARGETS + 1)
		return sl_error(TUF_E_FORMAT,
				"root: roles: only the four top-level roles are allowed");
	return 0;
}

static void clear_root(struct tuf_root *root)
{
	tuf_md_key_table_free(root->keys, root->n_keys);
	for (enum tuf_role_type t = TUF_ROLE_ROOT; t <= TUF_ROLE_TARGETS; t++)
		tuf_md_role_keys_clear(&root->roles[t]);
}

/* A {"version", ("length"), ("hashes")} entry named name. */
static int parse_meta_file(struct json_object *obj, const char *role, const char *name,
			   struct tuf_meta_file *ret)
{
	char ctx[TUF_MD_CTX_MAX], hctx[TUF_MD_CTX_MAX];
	struct json_object *hashes;
	int64_t version, length;
	int r;

	tuf_md_ctx(ctx, "%s: meta.%s", role, name);
	if (!json_object_is_type(obj, json_type_object))
		return sl_error(TUF_E_FORMAT, "%s: expected an object", ctx);
	ret->name = strdup(name);
	if (!ret->name)
		return -ENOMEM;
	r = tuf_md_fail(tuf_json_get_int(obj, "version", 1, &version), ctx);
	if (r < 0)
		return r;
	ret->version = (uint64_t)version;
	if (tuf_md_has(obj, "length")) {
		r = tuf_md_fail(tuf_json_get_int(obj, "length", 0, &length), ctx);
		if (r < 0)
			return r;
		ret->has_length = true;
		ret->length = (uint64_t)length;
	}
	if (tuf_md_has(obj, "hashes")) {
		r = tuf_md_fail(tuf_json_get_object(obj, "hashes", &hashes), ctx);
		if (r < 0)
			return r;
		tuf_md_ctx(hctx, "%s.hashes", ctx);
		r = tuf_md_parse_hashes(hashes, hctx, &ret->hashes);
		if (r < 0)
			return r;
		ret->has_hashes = true;
	}
	return 0;
}

static int parse_timestamp(struct tuf_timestamp *ts, struct json_object *sig_obj)
{
	struct json_object *meta, *snap;
	int r;

	r = tuf_md_fail(tuf_json_get_object(sig_obj, "meta", &meta), "timestamp");
	if (r < 0)
		return r;
	if (json_object_object_length(meta) != 1 ||
	    !json_object_object_get_ex(meta, "snapshot.json", &snap))
		return sl_error(TUF_E_FORMAT,
				"timestamp: meta must hold exactly one entry, \"snapshot.json\"");
	return parse_meta_file(snap, "timestamp", "snapshot.json", &ts->snapshot);
}

static bool meta_name_valid(const char *name)
{
	size_t len = strlen(name);

	return len > 5 && len <= META_NAME_MAX && strcmp(name + len - 5, ".json") == 0;
}

static int parse_snapshot(struct tuf_snapshot *s, struct json_object *sig_obj)
{
	struct json_object *meta;
	size_t max;
	int r;

	r = tuf_md_fail(tuf_json_get_object(sig_obj, "meta", &meta), "snapshot");
	if (r < 0)
		return r;
	max = (size_t)json_object_object_length(meta);
	if (max > 0) {
		s->meta = calloc(max, sizeof(*s->meta));
		if (!s->meta)
			return -ENOMEM;
	}
	json_object_object_foreach(meta, name, val)
	{
		if (!meta_name_valid(name))
			return sl_error(
			    TUF_E_FORMAT,
			    "snapshot: meta: \"%.64s\" is not \"<role>.json\" of at most "
			    "%d bytes",
			    name, META_NAME_MAX);
		/* Count first: a partly filled entry is freed with the others. */
		s->n_meta++;
		r = parse_meta_file(val, "snapshot", name, &s->meta[s->n_meta - 1]);
		if (r < 0)
			return r;
	}
	return 0;
}

static void clear_meta_file(struct tuf_meta_file *m)
{
	free(m->name);
}

static void clear_snapshot(struct tuf_snapshot *s)
{
	for (size_t i = 0; s->meta && i < s->n_meta; i++)
		clear_meta_file(&s->meta[i]);
	free(s->meta);
}

/* One TARGETPATH: {"length", "hashes", ("custom")}; unknown members stay in the document. */
static int parse_target(struct json_object *obj, const char *path, struct tuf_target *ret)
{
	char ctx[TUF_MD_CTX_MAX], hctx[TUF_MD_CTX_MAX];
	struct json_object *hashes;
	int64_t length;
	int r;

	tuf_md_ctx(ctx, "targets: targets.%s", path);
	if (strlen(path) > TUF_MAX_TARGET_PATH)
		return sl_error(TUF_E_FORMAT, "%s: path longer than %d bytes", ctx,
				TUF_MAX_TARGET_PATH);
	ret->path = strdup(path);
	if (!ret->path)
		return -ENOMEM;
	if (!json_object_is_type(obj, json_type_object))
		return sl_error(TUF_E_FORMAT, "%s: expected an object", ctx);
	r = tuf_md_fail(tuf_json_get_int(obj, "length", 0, &length), ctx);
	if (r < 0)
		return r;
	ret->length = (uint64_t)length;
	r = tuf_md_fail(tuf_json_get_object(obj, "hashes", &hashes), ctx);
	if (r < 0)
		return r;
	tuf_md_ctx(hctx, "%s.hashes", ctx);
	r = tuf_md_parse_hashes(hashes, hctx, &ret->hashes);
	if (r < 0)
		return r;
	if (tuf_md_has(obj, "custom")) {
		r = tuf_md_fail(tuf_json_get_object(obj, "custom", &ret->custom), ctx);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_targets(struct tuf_targets *t, struct json_object *sig_obj)
{
	struct json_object *targets, *delegations;
	size_t max;
	int r;

	r = tuf_md_fail(tuf_json_get_object(sig_obj, "targets", &targets), "targets");
	if (r < 0)
		return r;
	max = (size_t)json_object_object_length(targets);
	if (max > 0) {
		t->targets = calloc(max, sizeof(*t->targets));
		if (!t->targets)
			return -ENOMEM;
	}
	json_object_object_foreach(targets, path, val)
	{
		t->n_targets++;
		r = parse_target(val, path, &t->targets[t->n_targets - 1]);
		if (r < 0)
			return r;
	}
	if (!tuf_md_has(sig_obj, "delegations"))
		return 0;
	r = tuf_md_fail(tuf_json_get_object(sig_obj, "delegations", &delegations), "targets");
	if (r < 0)
		return r;
	return tuf_md_parse_delegations(delegations, &t->delegations);
}

static void clear_targets(struct tuf_targets *t)
{
	for (size_t i = 0; t->targets && i < t->n_targets; i++)
		free(t->targets[i].path);
	free(t->targets);
	tuf_md_delegations_free(t->delegations);
}

int tuf_md_parse_role(struct tuf_metadata *md, struct json_object *sig_obj)
{
	switch (md->type) {
	case TUF_ROLE_ROOT:
		return parse_root(&md->u.root, sig_obj);
	case TUF_ROLE_TIMESTAMP:
		return parse_timestamp(&md->u.timestamp, sig_obj);
	case TUF_ROLE_SNAPSHOT:
		return parse_snapshot(&md->u.snapshot, sig_obj);
	case TUF_ROLE_TARGETS:
		return parse_targets(&md->u.targets, sig_obj);
	default:
		assert(!"unknown role type");
		return SL_E_INVALID;
	}
}

void tuf_md_clear_role(struct tuf_metadata *md)
{
	switch (md->type) {
	case TUF_ROLE_ROOT:
		clear_root(&md->u.root);
		break;
	case TUF_ROLE_TIMESTAMP:
		clear_meta_file(&md->u.timestamp.snapshot);
		break;
	case TUF_ROLE_SNAPSHOT:
		clear_snapshot(&md->u.snapshot);
		break;
	case TUF_ROLE_TARGETS:
		clear_targets(&md->u.targets);
		break;
	default:
		break;
	}
}

const struct tuf_meta_file *tuf_snapshot_find(const struct tuf_snapshot *s, const char *name)
{
	assert(s && name);
	for (size_t i = 0; i < s->n_meta; i++)
		if (strcmp(s->meta[i].name, name) == 0)
			return &s->meta[i];
	return NULL;
}

const struct tuf_target *tuf_targets_find(const struct tuf_targets *t, const char *path)
{
	assert(t && path);
	for (size_t i = 0; i < t->n_targets; i++)
		if (strcmp(t->targets[i].path, path) == 0)
			return &t->targets[i];
	return NULL;
}
