/* SPDX-License-Identifier: Apache-2.0 */
/* Strict reader of release manifests (JSON, capped), and the custom.sluice target field. */
#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "manifest.h"
#include "tuf/json.h"
#include "tuf/metadata.h"

#define MANIFEST_MAX_DEPTH 6
/* Characters of release, version, hardware, slot class and role names. */
#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-"
#define ROLE_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cer_manifest *, cer_manifest_free)

/* Where in the manifest we are, for messages: "release.json: artifacts[2]". */
struct ctx {
	const char *name;
	char where[64];
};

static const char *const kind_names[] = {
    [CER_ARTIFACT_IMAGE] = "image",
    [CER_ARTIFACT_MODEL] = "model",
    [CER_ARTIFACT_FILE] = "file",
};

const char *cer_artifact_kind_name(enum cer_artifact_kind k)
{
	assert((size_t)k < ELEMENTSOF(kind_names));
	return kind_names[k];
}

static int fail(const struct ctx *c, int code, const char *key, const char *what)
{
	return sl_error(code, "%s: %s%s%s: %s", c->name, c->where, c->where[0] ? "." : "", key,
			what);
}

static int only_members(const struct ctx *c, struct json_object *o, const char *const *allowed)
{
	json_object_object_foreach(o, k, v)
	{
		bool found = false;

		(void)v;
		for (const char *const *a = allowed; *a && !found; a++)
			found = strcmp(*a, k) == 0;
		if (!found)
			return fail(c, TUF_E_FORMAT, k, "unknown member");
	}
	return 0;
}

static bool no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* A string value of 1..max bytes without control characters, of charset when given. */
static int check_text(const struct ctx *c, const char *key, struct json_object *v, size_t max,
		      const char *charset, const char **ret)
{
	const char *s;
	size_t n;

	if (!json_object_is_type(v, json_type_string))
		return fail(c, TUF_E_FORMAT, key, "must be a string");
	s = json_object_get_string(v);
	n = strlen(s);
	if (n == 0 || (size_t)json_object_get_string_len(v) != n)
		return fail(c, TUF_E_FORMAT, key, "must not be empty or contain NUL");
	if (n > max) {
		char msg[64];

		snprintf(msg, sizeof(msg), "longer than %zu bytes", max);
		return fail(c, SL_E_TOO_LARGE, key, msg);
	}
	if (!no_controls(s) || (charset && strspn(s, charset) != n))
		return fail(c, TUF_E_FORMAT, key,
			    charset ? "contains a character outside [A-Za-z0-9._+-]"
				    : "contains a control character");
	*ret = s;
	return 0;
}

static int get_text(const struct ctx *c, struct json_object *o, const char *key, bool required,
		    size_t max, const char *charset, const char **ret)
{
	struct json_object *v;

	*ret = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return required ? fail(c, TUF_E_FORMAT, key, "missing") : 0;
	return check_text(c, key, v, max, charset, ret);
}

static int get_bool(const struct ctx *c, struct json_object *o, const char *key, bool dflt,
		    bool *ret)
{
	struct json_object *v;

	*ret = dflt;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return fail(c, TUF_E_FORMAT, key, "must be true or false");
	*ret = json_object_get_boolean(v);
	return 0;
}

static int get_uint(const struct ctx *c, struct json_object *o, const char *key, uint64_t min,
		    uint64_t max, uint64_t *ret)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return fail(c, TUF_E_FORMAT, key, "must be an integer");
	n = json_object_get_int64(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max) {
		char msg[80];

		snprintf(msg, sizeof(msg), "must be between %" PRIu64 " and %" PRIu64, min, max);
		return fail(c, TUF_E_FORMAT, key, msg);
	}
	*ret = (uint64_t)n;
	return 0;
}

/* An array member of strings into out (at most CER_MANIFEST_MAX_LIST, no duplicates). */
static int get_list(const struct ctx *c, struct json_object *o, const char *key, bool required,
		    size_t max, const char *charset, const char **out, size_t *ret_n)
{
	struct json_object *arr;
	size_t n;

	*ret_n = 0;
	if (!json_object_object_get_ex(o, key, &arr))
		return required ? fail(c, TUF_E_FORMAT, key, "missing") : 0;
	if (!json_object_is_type(arr, json_type_array))
		return fail(c, TUF_E_FORMAT, key, "must be an array of strings");
	n = json_object_array_length(arr);
	if (n > CER_MANIFEST_MAX_LIST)
		return fail(c, SL_E_TOO_LARGE, key, "more than 64 entries");
	if (required && n == 0)
		return fail(c, TUF_E_FORMAT, key, "must not be empty");
	for (size_t i = 0; i < n; i++) {
		char k[80];
		int r;

		snprintf(k, sizeof(k), "%s[%zu]", key, i);
		r = check_text(c, k, json_object_array_get_idx(arr, i), max, charset, &out[i]);
		if (r < 0)
			return r;
		for (size_t j = 0; j < i; j++)
			if (strcmp(out[j], out[i]) == 0)
				return fail(c, TUF_E_FORMAT, k, "duplicate entry");
	}
	*ret_n = n;
	return 0;
}

/* A relative target path without empty, "." or ".." components or backslashes. */
static int check_target_path(const struct ctx *c, const char *path)
{
	const char *p = path;

	if (path[0] == '/' || strchr(path, '\\'))
		return fail(c, TUF_E_PATH, "target", "must be a relative path with '/' separators");
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return fail(c, TUF_E_PATH, "target", "empty, '.' or '..' path component");
		p += n;
		if (*p == '/' && *++p == '\0')
			return fail(c, TUF_E_PATH, "target", "ends with '/'");
	}
	return 0;
}

static int parse_delegation(const struct ctx *c, struct json_object *o,
			    struct cer_manifest_delegation *d)
{
	static const char *const members[] = {"name",  "keys",	      "threshold",
					      "paths", "terminating", NULL};
	static const char *const reserved[] = {"root", "targets", "snapshot", "timestamp", NULL};
	int r;

	if (!json_object_is_type(o, json_type_object))
		return fail(c, TUF_E_FORMAT, "delegation", "must be an object");
	r = only_members(c, o, members);
	if (r >= 0)
		r = get_text(c, o, "name", true, CER_MANIFEST_NAME_MAX, ROLE_CHARS, &d->name);
	if (r < 0)
		return r;
	if (d->name[0] == '.')
		return fail(c, TUF_E_FORMAT, "name", "must not start with '.'");
	for (const char *const *n = reserved; *n; n++)
		if (strcmp(*n, d->name) == 0)
			return fail(c, TUF_E_FORMAT, "name", "is a top-level role name");
	r = get_list(c, o, "keys", true, CER_MANIFEST_FILE_MAX, NULL, d->keys, &d->n_keys);
	if (r >= 0)
		r = get_list(c, o, "paths", true, CER_MANIFEST_TEXT_MAX, NULL, d->paths,
			     &d->n_paths);
	if (r < 0)
		return r;
	d->threshold = 1;
	r = get_uint(c, o, "threshold", 1, d->n_keys, &d->threshold);
	if (r >= 0)
		r = get_bool(c, o, "terminating", true, &d->terminating);
	return r;
}

static int parse_model(const struct ctx *c, struct json_object *o, struct cer_manifest_artifact *a)
{
	static const char *const members[] = {"name", "runtime", "accelerator", NULL};
	struct json_object *m;
	struct ctx mc = *c;
	int r;

	if (!json_object_object_get_ex(o, "model", &m))
		return a->kind == CER_ARTIFACT_MODEL ? fail(c, TUF_E_FORMAT, "model", "missing")
						     : 0;
	if (a->kind != CER_ARTIFACT_MODEL)
		return fail(c, TUF_E_FORMAT, "model", "only allowed for kind model");
	if (!json_object_is_type(m, json_type_object))
		return fail(c, TUF_E_FORMAT, "model", "must be an object");
	snprintf(mc.where, sizeof(mc.where), "%.50s.model", c->where);
	r = only_members(&mc, m, members);
	if (r >= 0)
		r = get_text(&mc, m, "name", true, CER_MANIFEST_NAME_MAX, NAME_CHARS,
			     &a->model_name);
	if (r >= 0)
		r = get_text(&mc, m, "runtime", false, CER_MANIFEST_TEXT_MAX, NULL,
			     &a->model_runtime);
	if (r >= 0)
		r = get_text(&mc, m, "accelerator", false, CER_MANIFEST_NAME_MAX, NAME_CHARS,
			     &a->model_accelerator);
	if (r >= 0 && !a->model_accelerator)
		a->model_accelerator = "any";
	return r;
}

static int parse_kind(const struct ctx *c, struct json_object *o, struct cer_manifest_artifact *a)
{
	const char *kind;
	int r;

	r = get_text(c, o, "kind", true, CER_MANIFEST_NAME_MAX, NULL, &kind);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(kind_names); i++)
		if (strcmp(kind, kind_names[i]) == 0) {
			a->kind = (enum cer_artifact_kind)i;
			return 0;
		}
	return fail(c, TUF_E_FORMAT, "kind", "is not image, model or file");
}

static int parse_artifact(const struct ctx *c, struct json_object *o,
			  struct cer_manifest_artifact *a)
{
	static const char *const members[] = {
	    "file",	  "target", "kind",    "hardware",	  "model",
	    "slot_class", "role",   "version", "allow_downgrade", NULL};
	int r;

	if (!json_object_is_type(o, json_type_object))
		return fail(c, TUF_E_FORMAT, "artifact", "must be an object");
	r = only_members(c, o, members);
	if (r >= 0)
		r = get_text(c, o, "file", true, CER_MANIFEST_FILE_MAX, NULL, &a->file);
	if (r >= 0)
		r = get_text(c, o, "target", true, TUF_MAX_TARGET_PATH, NULL, &a->target);
	if (r >= 0)
		r = check_target_path(c, a->target);
	if (r >= 0)
		r = parse_kind(c, o, a);
	if (r >= 0)
		r = get_list(c, o, "hardware", a->kind != CER_ARTIFACT_FILE, CER_MANIFEST_NAME_MAX,
			     NAME_CHARS, a->hardware, &a->n_hardware);
	if (r >= 0)
		r = get_text(c, o, "slot_class", a->kind == CER_ARTIFACT_IMAGE,
			     CER_MANIFEST_NAME_MAX, NAME_CHARS, &a->slot_class);
	if (r >= 0 && a->slot_class && a->kind != CER_ARTIFACT_IMAGE)
		r = fail(c, TUF_E_FORMAT, "slot_class", "only allowed for kind image");
	if (r >= 0)
		r = parse_model(c, o, a);
	if (r >= 0)
		r = get_text(c, o, "role", false, CER_MANIFEST_NAME_MAX, ROLE_CHARS, &a->role);
	if (r >= 0)
		r = get_text(c, o, "version", false, CER_MANIFEST_NAME_MAX, NAME_CHARS,
			     &a->version);
	if (r >= 0)
		r = get_bool(c, o, "allow_downgrade", false, &a->allow_downgrade);
	return r;
}

/* An array member of objects, each parsed by fn into elements of size elem_size. */
static int parse_array(struct ctx *c, struct json_object *doc, const char *key, bool required,
		       size_t max, size_t elem_size, void **ret, size_t *ret_n,
		       int (*fn)(const struct ctx *, struct json_object *, void *))
{
	_cleanup_free_ uint8_t *items = NULL;
	struct json_object *arr;
	size_t n;
	int r;

	if (!json_object_object_get_ex(doc, key, &arr))
		return required ? fail(c, TUF_E_FORMAT, key, "missing") : 0;
	if (!json_object_is_type(arr, json_type_array))
		return fail(c, TUF_E_FORMAT, key, "must be an array");
	n = json_object_array_length(arr);
	if (n > max)
		return fail(c, SL_E_TOO_LARGE, key, "too many entries");
	if (required && n == 0)
		return fail(c, TUF_E_FORMAT, key, "must not be empty");
	items = calloc(n ? n : 1, elem_size);
	if (!items)
		return sl_error(SL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		snprintf(c->where, sizeof(c->where), "%s[%zu]", key, i);
		r = fn(c, json_object_array_get_idx(arr, i), items + i * elem_size);
		if (r < 0)
			return r;
	}
	c->where[0] = '\0';
	*ret = TAKE_PTR(items);
	*ret_n = n;
	return 0;
}

static int parse_delegation_cb(const struct ctx *c, struct json_object *o, void *item)
{
	return parse_delegation(c, o, item);
}

static int parse_artifact_cb(const struct ctx *c, struct json_object *o, void *item)
{
	return parse_artifact(c, o, item);
}

const struct cer_manifest_delegation *cer_manifest_find_delegation(const struct cer_manifest *m,
								   const char *name)
{
	for (size_t i = 0; i < m->n_delegations; i++)
		if (strcmp(m->delegations[i].name, name) == 0)
			return &m->delegations[i];
	return NULL;
}

/* Cross-checks: unique targets and roles, declared roles, targets within their role's paths. */
static int check_consistency(struct ctx *c, const struct cer_manifest *m)
{
	for (size_t i = 0; i < m->n_delegations; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->delegations[i].name, m->delegations[j].name) == 0) {
				snprintf(c->where, sizeof(c->where), "delegations[%zu]", i);
				return fail(c, TUF_E_FORMAT, "name", "duplicate role");
			}
	for (size_t i = 0; i < m->n_artifacts; i++) {
		const struct cer_manifest_artifact *a = &m->artifacts[i];
		const struct cer_manifest_delegation *d;

		snprintf(c->where, sizeof(c->where), "artifacts[%zu]", i);
		for (size_t j = 0; j < i; j++)
			if (strcmp(a->target, m->artifacts[j].target) == 0)
				return fail(c, TUF_E_FORMAT, "target", "duplicate target path");
		if (!a->role)
			continue;
		d = cer_manifest_find_delegation(m, a->role);
		if (!d)
			return fail(c, TUF_E_FORMAT, "role", "not declared in delegations");
		struct tuf_delegated_role tr = {
		    .paths = (char **)d->paths,
		    .n_paths = d->n_paths,
		};
		if (!tuf_delegated_role_matches(&tr, a->target))
			return fail(c, TUF_E_FORMAT, "target",
				    "not matched by any path pattern of its role");
	}
	c->where[0] = '\0';
	return 0;
}

static int parse_top(struct ctx *c, struct json_object *doc, struct cer_manifest *m)
{
	static const char *const members[] = {
	    "sluice_manifest", "release",   "version", "expires_days",
	    "delegations",     "artifacts", NULL};
	uint64_t format = 0, days = 0;
	int r;

	if (!json_object_is_type(doc, json_type_object))
		return sl_error(TUF_E_FORMAT, "%s: not a JSON object", c->name);
	r = only_members(c, doc, members);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(doc, "sluice_manifest", NULL))
		return fail(c, TUF_E_FORMAT, "sluice_manifest", "missing (not a release manifest)");
	r = get_uint(c, doc, "sluice_manifest", CER_MANIFEST_FORMAT, CER_MANIFEST_FORMAT, &format);
	if (r >= 0)
		r = get_text(c, doc, "release", true, CER_MANIFEST_NAME_MAX, NAME_CHARS,
			     &m->release);
	if (r >= 0)
		r = get_text(c, doc, "version", false, CER_MANIFEST_NAME_MAX, NAME_CHARS,
			     &m->version);
	if (r >= 0)
		r = get_uint(c, doc, "expires_days", 1, CER_MANIFEST_MAX_DAYS, &days);
	if (r < 0)
		return r;
	m->version = m->version ? m->version : m->release;
	m->expires_days = (unsigned)days;
	r = parse_array(c, doc, "delegations", false, CER_MANIFEST_MAX_DELEGATIONS,
			sizeof(*m->delegations), (void **)&m->delegations, &m->n_delegations,
			parse_delegation_cb);
	if (r >= 0)
		r = parse_array(c, doc, "artifacts", true, CER_MANIFEST_MAX_ARTIFACTS,
				sizeof(*m->artifacts), (void **)&m->artifacts, &m->n_artifacts,
				parse_artifact_cb);
	if (r < 0)
		return r;
	for (size_t i = 0; i < m->n_artifacts; i++)
		if (!m->artifacts[i].version)
			m->artifacts[i].version = m->version;
	return check_consistency(c, m);
}

int cer_manifest_parse(const void *buf, size_t len, const char *name, struct cer_manifest **ret)
{
	_cleanup_(cer_manifest_freep) struct cer_manifest *m = NULL;
	struct ctx c = {.name = name};
	int r;

	assert(buf && name && ret);
	if (len > CER_MANIFEST_MAX)
		return sl_error(SL_E_TOO_LARGE, "%s: %zu bytes exceeds the manifest limit of %u",
				name, len, CER_MANIFEST_MAX);
	m = calloc(1, sizeof(*m));
	if (!m)
		return sl_error(SL_E_NOMEM, "out of memory");
	r = tuf_json_parse(buf, len, MANIFEST_MAX_DEPTH, &m->doc);
	if (r < 0) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", sl_error_message(r));
		return sl_error(r, "%s: %s", name, msg);
	}
	r = parse_top(&c, m->doc, m);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(m);
	return 0;
}

int cer_manifest_load(const char *path, struct cer_manifest **ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	r = sl_read_file_at(AT_FDCWD, path, CER_MANIFEST_MAX, &buf, &len);
	if (r == SL_E_TOO_LARGE || r == SL_E_INVALID)
		return r;
	if (r < 0)
		return sl_error(r, "%s: cannot read the manifest: %s", path, sl_strerror(r));
	return cer_manifest_parse(buf, len, path, ret);
}

struct cer_manifest *cer_manifest_free(struct cer_manifest *m)
{
	if (!m)
		return NULL;
	free(m->delegations);
	free(m->artifacts);
	json_object_put(m->doc);
	free(m);
	return NULL;
}

static int put(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return sl_error(SL_E_NOMEM, "out of memory");
	}
	return 0;
}

static int put_str(struct json_object *o, const char *key, const char *s)
{
	return s ? put(o, key, json_object_new_string(s)) : 0;
}

static int custom_model(const struct cer_manifest_artifact *a, struct json_object *s)
{
	struct json_object *model = json_object_new_object();
	int r;

	r = put(s, "model", model);
	if (r >= 0)
		r = put_str(model, "name", a->model_name);
	if (r >= 0)
		r = put_str(model, "runtime", a->model_runtime);
	if (r >= 0)
		r = put_str(model, "accelerator", a->model_accelerator);
	return r;
}

int cer_manifest_custom(const struct cer_manifest *m, const struct cer_manifest_artifact *a,
			struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *custom = json_object_new_object();
	struct json_object *s = json_object_new_object(), *hw = NULL;
	int r;

	if (!custom) {
		json_object_put(s);
		return sl_error(SL_E_NOMEM, "out of memory");
	}
	r = put(custom, "sluice", s);
	if (r >= 0)
		r = put_str(s, "kind", cer_artifact_kind_name(a->kind));
	if (r >= 0)
		r = put_str(s, "release", m->release);
	if (r >= 0)
		r = put_str(s, "version", a->version);
	if (r >= 0) {
		hw = json_object_new_array();
		r = put(s, "hardware", hw);
	}
	for (size_t i = 0; r >= 0 && i < a->n_hardware; i++)
		if (json_object_array_add(hw, json_object_new_string(a->hardware[i])) < 0)
			r = sl_error(SL_E_NOMEM, "out of memory");
	if (r >= 0)
		r = put_str(s, "slot_class", a->slot_class);
	if (r >= 0 && a->kind == CER_ARTIFACT_MODEL)
		r = custom_model(a, s);
	if (r >= 0)
		r = put(s, "allow_downgrade", json_object_new_boolean(a->allow_downgrade));
	if (r < 0)
		return r;
	*ret = TAKE_PTR(custom);
	return 0;
}
