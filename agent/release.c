/* SPDX-License-Identifier: Apache-2.0 */
/* Release selection over the tuf/ updater: custom.sluice fields, hardware match, newest version. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "facts.h"
#include "provision.h"
#include "release.h"
#include "tuf/json.h"
#include "util.h"

int agent_dir_url(const char *dir, char **ret)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(dir);
	char *u, *p;

	if (dir[0] != '/')
		return sl_error(SL_E_INVALID, "%s: not an absolute path", dir);
	u = malloc(strlen("file://") + 3 * n + 2);
	if (!u)
		return -ENOMEM;
	p = stpcpy(u, "file://");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)dir[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("/._~-", c))
			*p++ = (char)c;
		else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	if (p[-1] != '/')
		*p++ = '/';
	*p = '\0';
	*ret = u;
	return 0;
}

int agent_repo_open(const char *state_dir, const char *base_url,
		    const struct tuf_fetcher_options *fopts, struct agent_repo **ret)
{
	_cleanup_free_ char *tufdir = agent_path(state_dir, "tuf");
	_cleanup_free_ char *meta = NULL, *targets = NULL;
	struct agent_repo *r;
	int k;

	if (!tufdir)
		return -ENOMEM;
	k = agent_identity_tuf_ensure(state_dir);
	if (k < 0)
		return k;
	if (asprintf(&meta, "%smetadata/", base_url) < 0 ||
	    asprintf(&targets, "%stargets/", base_url) < 0)
		return -ENOMEM;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->base = strdup(base_url);
	k = r->base ? tuf_fetcher_new(fopts, &r->fetcher) : -ENOMEM;
	if (k >= 0) {
		struct tuf_updater_config uc = {
		    .metadata_dir = tufdir,
		    .metadata_base_url = meta,
		    .target_base_url = targets,
		    .fetcher = r->fetcher,
		};
		k = tuf_updater_new(&uc, &r->updater);
	}
	if (k < 0) {
		agent_repo_free(r);
		return k;
	}
	*ret = r;
	return 0;
}

struct agent_repo *agent_repo_free(struct agent_repo *r)
{
	if (!r)
		return NULL;
	tuf_updater_free(r->updater);
	tuf_fetcher_free(r->fetcher);
	free(r->base);
	free(r);
	return NULL;
}

static const char *opt_string(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool hardware_matches(struct json_object *sl, const char *hardware)
{
	struct json_object *hw;

	if (!json_object_object_get_ex(sl, "hardware", &hw) ||
	    !json_object_is_type(hw, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(hw); i++) {
		struct json_object *e = json_object_array_get_idx(hw, i);
		if (json_object_is_type(e, json_type_string) &&
		    !strcmp(json_object_get_string(e), hardware))
			return true;
	}
	return false;
}

/* Parse custom.sluice of t; 1 when it is a sluice target for hardware, 0 when not. */
static int parse_target(const struct tuf_target *t, const char *hardware, struct agent_rtarget *ret)
{
	struct json_object *sl, *model = NULL, *v;

	if (!t->custom || !json_object_object_get_ex(t->custom, "sluice", &sl) ||
	    !json_object_is_type(sl, json_type_object))
		return 0;
	if (!hardware_matches(sl, hardware))
		return 0;
	*ret = (struct agent_rtarget){.t = t};
	ret->kind = opt_string(sl, "kind");
	ret->release = opt_string(sl, "release");
	ret->version = opt_string(sl, "version");
	if (!ret->version)
		ret->version = ret->release;
	if (!ret->kind || !ret->release)
		return sl_error(TUF_E_FORMAT, "target %s: custom.sluice lacks kind or release",
				t->path);
	if (json_object_object_get_ex(sl, "allow_downgrade", &v))
		ret->allow_downgrade =
		    json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
	ret->slot_class = opt_string(sl, "slot_class");
	if (json_object_object_get_ex(sl, "model", &model) &&
	    json_object_is_type(model, json_type_object)) {
		ret->model = opt_string(model, "name");
		ret->runtime = opt_string(model, "runtime");
		ret->accelerator = opt_string(model, "accelerator");
	}
	return 1;
}

static int check_release(const struct agent_config *cfg, struct agent_release *rel)
{
	bool image = false;

	rel->allow_downgrade = true;
	for (size_t i = 0; i < rel->n; i++) {
		struct agent_rtarget *it = &rel->items[i];

		rel->allow_downgrade &= it->allow_downgrade;
		if (strcmp(it->version, rel->version) != 0)
			return sl_error(TUF_E_FORMAT,
					"release %s: targets disagree on the version (%s, %s)",
					rel->release, it->version, rel->version);
		if (!strcmp(it->kind, "image")) {
			if (!it->slot_class || !cfg->slot_class ||
			    strcmp(it->slot_class, cfg->slot_class))
				return sl_error(
				    TUF_E_UNSUPPORTED,
				    "target %s: slot class '%s' is not configured on this device",
				    it->t->path, it->slot_class ? it->slot_class : "(none)");
			if (image)
				return sl_error(TUF_E_UNSUPPORTED,
						"release %s: more than one image", rel->release);
			image = true;
		} else if (!strcmp(it->kind, "model")) {
			if (!agent_name_is_safe(it->model))
				return sl_error(TUF_E_FORMAT,
						"target %s: missing or unsafe model name",
						it->t->path);
		} else {
			return sl_error(TUF_E_UNSUPPORTED,
					"target %s: kind '%s' is not supported by this agent",
					it->t->path, it->kind);
		}
	}
	return 0;
}

/* Delegated candidates (paths) for one device, from tuf_updater_list_delegated_targets(). */
struct candidates {
	const struct tuf_targets *top; /* borrowed: the top-level targets */
	const char *hardware;
	char **paths; /* owned, each owned */
	size_t n;
	size_t cap;
};

static void candidates_clear(struct candidates *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->paths[i]);
	free(c->paths);
}

static bool for_hardware(const struct tuf_target *t, const char *hardware)
{
	struct json_object *sl;

	return t->custom && json_object_object_get_ex(t->custom, "sluice", &sl) &&
	       json_object_is_type(sl, json_type_object) && hardware_matches(sl, hardware);
}

/*
 * Keep a path a delegated role lists for this hardware, once. Entries for other hardware are
 * left out: when the role trusted for a path is walked, its own entry is a candidate too.
 * A top-level path resolves to the top-level entry, which is taken from there.
 */
static int add_candidate(const struct tuf_target *t, const char *role, void *userdata)
{
	struct candidates *c = userdata;
	char *p;

	if (!for_hardware(t, c->hardware) || tuf_targets_find(c->top, t->path))
		return 0;
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->paths[i], t->path))
			return 0;
	if (c->n == AGENT_MAX_CANDIDATES)
		return sl_error(SL_E_TOO_LARGE,
				"role %s: more than %d delegated targets for hardware %s", role,
				AGENT_MAX_CANDIDATES, c->hardware);
	if (c->n == c->cap) {
		size_t ncap = c->cap ? 2 * c->cap : 16;
		char **np = reallocarray(c->paths, ncap, sizeof(*np));

		if (!np)
			return -ENOMEM;
		c->paths = np;
		c->cap = ncap;
	}
	p = strdup(t->path);
	if (!p)
		return -ENOMEM;
	c->paths[c->n++] = p;
	return 0;
}

/*
 * The targets a release is chosen from (*ret malloc'd, entries borrowed from the updater):
 * top-level targets in document order, then each delegated candidate as
 * tuf_updater_get_target() resolves it (path patterns, terminating delegations, pre-order
 * precedence); a candidate that does not resolve is ignored.
 */
static int collect_targets(struct agent_repo *r, const struct tuf_metadata *md,
			   const char *hardware, const struct tuf_target ***ret, size_t *ret_n)
{
	struct candidates c = {.top = &md->u.targets, .hardware = hardware};
	const struct tuf_target **all;
	size_t n = 0;
	int k;

	k = tuf_updater_list_delegated_targets(r->updater, add_candidate, &c);
	all = k < 0 ? NULL : calloc(md->u.targets.n_targets + c.n + 1, sizeof(*all));
	if (k >= 0 && !all)
		k = -ENOMEM;
	for (size_t i = 0; k >= 0 && i < md->u.targets.n_targets; i++)
		all[n++] = &md->u.targets.targets[i];
	for (size_t i = 0; k >= 0 && i < c.n; i++) {
		k = tuf_updater_get_target(r->updater, c.paths[i], &all[n]);
		if (k == TUF_E_NOT_FOUND) {
			k = 0; /* listed outside the role's paths, or shadowed */
			continue;
		}
		n += k >= 0;
	}
	candidates_clear(&c);
	if (k < 0) {
		free(all);
		return k;
	}
	*ret = all;
	*ret_n = n;
	return 0;
}

int agent_release_select(struct agent_repo *r, const struct agent_config *cfg, const char *want,
			 struct agent_release *ret)
{
	const struct tuf_metadata *md = tuf_updater_trusted(r->updater, TUF_ROLE_TARGETS);
	_cleanup_free_ const struct tuf_target **all = NULL;
	struct agent_release rel = {};
	struct agent_rtarget rt;
	size_t n;
	int k;

	if (!md)
		return sl_error(TUF_E_STATE, "targets metadata not loaded (refresh first)");
	k = collect_targets(r, md, cfg->hardware, &all, &n);
	if (k < 0)
		return k;
	/* First pass: the release name (want, or the newest version for this hardware). */
	for (size_t i = 0; i < n; i++) {
		k = parse_target(all[i], cfg->hardware, &rt);
		if (k < 0)
			return k;
		if (k == 0)
			continue;
		if (want ? !strcmp(rt.release, want)
			 : (!rel.release || agent_version_compare(rt.version, rel.version) > 0)) {
			rel.release = rt.release;
			rel.version = rt.version;
		}
	}
	if (!rel.release)
		return sl_error(TUF_E_NOT_FOUND,
				"no release%s%s for hardware %s in the targets metadata",
				want ? " " : "", want ? want : "", cfg->hardware);
	for (size_t i = 0; i < n; i++) {
		k = parse_target(all[i], cfg->hardware, &rt);
		if (k <= 0 || strcmp(rt.release, rel.release) != 0)
			continue;
		if (rel.n == AGENT_MAX_ITEMS)
			return sl_error(TUF_E_UNSUPPORTED, "release %s: more than %d targets",
					rel.release, AGENT_MAX_ITEMS);
		rel.items[rel.n++] = rt;
	}
	k = check_release(cfg, &rel);
	if (k < 0)
		return k;
	*ret = rel;
	return 0;
}
