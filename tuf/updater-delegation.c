/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Target lookup (§5.6.7): pre-order depth-first search of delegations, loading delegated roles,
 * and the enumeration of delegated roles' targets over the same walk.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "macro.h"
#include "tuf/updater.h"
#include "updater-internal.h"

/* A role waiting to be visited, and the delegation that led to it. */
struct visit {
	char *role;      /* owned */
	char *delegator; /* owned: "root" for top-level targets */
	/* Both borrowed from the delegator's metadata; NULL for top-level targets. */
	const struct tuf_delegations *delegations;
	const struct tuf_role_keys *keys;
};

struct walk {
	struct visit *stack; /* owned */
	size_t n_stack;
	size_t cap_stack;
	struct visit *seen; /* (role, delegator) pairs visited; delegations/keys unused */
	size_t n_seen;
	size_t cap_seen;
};

static void visit_clear(struct visit *v)
{
	free(v->role);
	free(v->delegator);
	*v = (struct visit){};
}

static void walk_done(struct walk *w)
{
	for (size_t i = 0; i < w->n_stack; i++)
		visit_clear(&w->stack[i]);
	for (size_t i = 0; i < w->n_seen; i++)
		visit_clear(&w->seen[i]);
	free(w->stack);
	free(w->seen);
}

static void walk_clear_stack(struct walk *w)
{
	for (size_t i = 0; i < w->n_stack; i++)
		visit_clear(&w->stack[i]);
	w->n_stack = 0;
}

static int visits_append(struct visit **v, size_t *n, size_t *cap, const char *role,
			 const char *delegator, const struct tuf_delegations *d,
			 const struct tuf_role_keys *keys)
{
	struct visit x = {.delegations = d, .keys = keys};

	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct visit *nv = reallocarray(*v, ncap, sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	x.role = strdup(role);
	x.delegator = strdup(delegator);
	if (!x.role || !x.delegator) {
		visit_clear(&x);
		return -ENOMEM;
	}
	(*v)[(*n)++] = x;
	return 0;
}

static bool walk_seen(const struct walk *w, const struct visit *v)
{
	for (size_t i = 0; i < w->n_seen; i++)
		if (strcmp(w->seen[i].role, v->role) == 0 &&
		    strcmp(w->seen[i].delegator, v->delegator) == 0)
			return true;
	return false;
}

static struct tuf_delegated_entry *cache_find(struct tuf_updater *u, const char *role)
{
	for (size_t i = 0; i < u->n_delegated; i++)
		if (strcmp(u->delegated[i]->name, role) == 0)
			return u->delegated[i];
	return NULL;
}

static int cache_add(struct tuf_updater *u, const char *role, const char *delegator,
		     struct tuf_metadata *md)
{
	struct tuf_delegated_entry **n, *e;

	n = reallocarray(u->delegated, u->n_delegated + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	u->delegated = n;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->name = strdup(role);
	e->verified_by = strdup(delegator);
	if (!e->name || !e->verified_by) {
		free(e->name);
		free(e->verified_by);
		free(e);
		return -ENOMEM;
	}
	e->md = md;
	u->delegated[u->n_delegated++] = e;
	return 0;
}

/* Checks common to a local and a downloaded delegated role, after parsing. */
static int check_delegated(struct tuf_updater *u, const struct visit *v,
			   const struct tuf_meta_file *m, const struct tuf_metadata *md,
			   const char *file)
{
	int r;

	r = tuf_metadata_verify_delegated(md, v->delegations, v->keys, v->role);
	if (r < 0)
		return r;
	r = tuf_updater_check_meta_version(md, m, file, "snapshot.json");
	if (r < 0)
		return r;
	return tuf_metadata_check_expiry(md, file, u->now);
}

/* The trusted copy in metadata_dir, when it is still the version snapshot names and valid. */
static struct tuf_metadata *load_delegated_local(struct tuf_updater *u, const struct visit *v,
						 const struct tuf_meta_file *m, const char *local)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct tuf_metadata *md = NULL;
	size_t len;

	if (tuf_updater_read_local(u, local, u->limits.targets_max, &buf, &len) < 0)
		return NULL;
	if (tuf_metadata_parse(buf, len, TUF_ROLE_TARGETS, &md) < 0)
		return NULL;
	if (check_delegated(u, v, m, md, local) < 0)
		return tuf_metadata_free(md);
	return md;
}

static int load_delegated_remote(struct tuf_updater *u, const struct visit *v,
				 const struct tuf_meta_file *m, const char *local,
				 struct tuf_metadata **ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_free_ char *name = NULL;
	struct tuf_metadata *md = NULL;
	size_t len;
	int r;

	if (u->trusted[TUF_ROLE_ROOT]->u.root.consistent_snapshot)
		r = asprintf(&name, "%" PRIu64 ".%s", m->version, local);
	else
		r = asprintf(&name, "%s", local);
	if (r < 0) {
		name = NULL;
		return -ENOMEM;
	}
	r = tuf_updater_fetch_metadata(u, name, tuf_updater_meta_cap(m, u->limits.targets_max),
				       &buf, &len);
	if (r < 0)
		return r;
	r = tuf_meta_file_check(m, buf, len, local);
	if (r < 0)
		return r;
	r = tuf_metadata_parse(buf, len, TUF_ROLE_TARGETS, &md);
	if (r >= 0)
		r = check_delegated(u, v, m, md, local);
	if (r >= 0)
		r = tuf_updater_persist(u, local, buf, len);
	if (r < 0) {
		tuf_metadata_free(md);
		return r;
	}
	*ret = md;
	return 0;
}

static bool is_top_level_name(const char *role)
{
	for (enum tuf_role_type t = 0; t < _TUF_ROLE_TYPE_MAX; t++)
		if (strcmp(role, tuf_role_type_name(t)) == 0)
			return true;
	return false;
}

/*
 * The metadata of delegated role v->role, verified against the delegator that led to it on
 * this path: a role loaded earlier through another delegator is verified again.
 */
static int load_delegated(struct tuf_updater *u, const struct visit *v,
			  const struct tuf_metadata **ret)
{
	struct tuf_delegated_entry *e = cache_find(u, v->role);
	_cleanup_free_ char *quoted = NULL, *local = NULL, *metaname = NULL;
	const struct tuf_meta_file *m;
	struct tuf_metadata *md;
	int r;

	if (e) {
		if (strcmp(e->verified_by, v->delegator) != 0) {
			char *d = strdup(v->delegator);

			if (!d)
				return -ENOMEM;
			r = tuf_metadata_verify_delegated(e->md, v->delegations, v->keys, v->role);
			if (r < 0) {
				free(d);
				return r;
			}
			free(e->verified_by);
			e->verified_by = d;
		}
		*ret = e->md;
		return 0;
	}
	if (is_top_level_name(v->role))
		return sl_error(TUF_E_FORMAT,
				"%s: delegated role name '%s' is a top-level role name",
				v->delegator, v->role);
	if (asprintf(&metaname, "%s.json", v->role) < 0) {
		metaname = NULL;
		return -ENOMEM;
	}
	m = tuf_snapshot_find(&u->trusted[TUF_ROLE_SNAPSHOT]->u.snapshot, metaname);
	if (!m)
		return sl_error(TUF_E_FORMAT, "snapshot.json: no entry for role '%s'", v->role);
	r = tuf_path_quote(v->role, &quoted);
	if (r < 0)
		return r;
	if (asprintf(&local, "%s.json", quoted) < 0) {
		local = NULL;
		return -ENOMEM;
	}
	md = load_delegated_local(u, v, m, local);
	if (!md) {
		r = load_delegated_remote(u, v, m, local, &md);
		if (r < 0)
			return r;
	}
	r = cache_add(u, v->role, v->delegator, md);
	if (r < 0) {
		tuf_metadata_free(md);
		return r;
	}
	*ret = md;
	return 0;
}

/*
 * Push the roles role delegates path to, first listed on top. A matching terminating role
 * ends the search after it: no later sibling and nothing pushed before is visited.
 */
static int push_children(struct walk *w, const struct visit *v, const struct tuf_metadata *md,
			 const char *path)
{
	const struct tuf_delegations *d = md->u.targets.delegations;
	size_t n = 0;
	int r;

	if (!d)
		return 0;
	if (d->succinct) {
		_cleanup_free_ char *bin = NULL;

		r = tuf_succinct_role_name(d->succinct, path, &bin);
		if (r < 0)
			return r;
		return visits_append(&w->stack, &w->n_stack, &w->cap_stack, bin, v->role, d,
				     &d->succinct->keys);
	}
	for (size_t i = 0; i < d->n_roles; i++) {
		if (!tuf_delegated_role_matches(&d->roles[i], path))
			continue;
		n = i + 1;
		if (d->roles[i].terminating) {
			walk_clear_stack(w);
			break;
		}
	}
	/* Push matching roles in reverse order so that the first listed is popped first. */
	for (size_t i = n; i-- > 0;) {
		const struct tuf_delegated_role *c = &d->roles[i];

		if (!tuf_delegated_role_matches(c, path))
			continue;
		r = visits_append(&w->stack, &w->n_stack, &w->cap_stack, c->name, v->role, d,
				  &c->keys);
		if (r < 0)
			return r;
	}
	return 0;
}

static int walk_visit(struct tuf_updater *u, struct walk *w, struct visit *v, const char *path,
		      const struct tuf_target **ret)
{
	const struct tuf_metadata *md = u->trusted[TUF_ROLE_TARGETS];
	int r;

	if (v->delegations) {
		r = load_delegated(u, v, &md);
		if (r < 0)
			return r;
	}
	*ret = tuf_targets_find(&md->u.targets, path);
	if (*ret)
		return 1;
	r = visits_append(&w->seen, &w->n_seen, &w->cap_seen, v->role, v->delegator, NULL, NULL);
	if (r < 0)
		return r;
	return push_children(w, v, md, path);
}

int tuf_updater_get_target(struct tuf_updater *u, const char *path, const struct tuf_target **ret)
{
	struct walk w = {};
	const struct tuf_target *t = NULL;
	int r;

	if (!u->refreshed)
		return sl_error(TUF_E_STATE, "target '%s': metadata was not refreshed", path);
	if (!path[0] || strlen(path) > TUF_MAX_TARGET_PATH)
		return sl_error(TUF_E_PATH, "target path empty or longer than %d bytes",
				TUF_MAX_TARGET_PATH);
	r = visits_append(&w.stack, &w.n_stack, &w.cap_stack, "targets", "root", NULL, NULL);
	while (r >= 0 && w.n_stack > 0) {
		struct visit v = w.stack[--w.n_stack];

		/* A (role, delegator) pair seen before is a cycle or a repeated delegation. */
		if (!walk_seen(&w, &v)) {
			if (w.n_seen < u->limits.max_delegations)
				r = walk_visit(u, &w, &v, path, &t);
			else
				r = sl_error(TUF_E_DELEGATION,
					     "target '%s': not found within the "
					     "limit of %u roles visited",
					     path, u->limits.max_delegations);
		}
		visit_clear(&v);
		if (r > 0)
			break;
	}
	walk_done(&w);
	if (r < 0)
		return r;
	if (!t)
		return sl_error(TUF_E_NOT_FOUND, "target '%s': no trusted role lists it", path);
	*ret = t;
	return 0;
}

/* ---- enumeration of candidate targets ---- */

static bool walk_seen_role(const struct walk *w, const char *role)
{
	for (size_t i = 0; i < w->n_seen; i++)
		if (strcmp(w->seen[i].role, role) == 0)
			return true;
	return false;
}

/*
 * Push every role md delegates to by "paths", first listed on top. Hash-prefix delegations,
 * succinct bins and roles with no paths are not walked (see the header).
 */
static int push_listed_children(struct walk *w, const struct visit *v,
				const struct tuf_metadata *md)
{
	const struct tuf_delegations *d = md->u.targets.delegations;
	int r;

	if (!d || d->succinct)
		return 0;
	for (size_t i = d->n_roles; i-- > 0;) {
		const struct tuf_delegated_role *c = &d->roles[i];

		if (c->n_paths == 0)
			continue;
		r = visits_append(&w->stack, &w->n_stack, &w->cap_stack, c->name, v->role, d,
				  &c->keys);
		if (r < 0)
			return r;
	}
	return 0;
}

static int list_visit(struct tuf_updater *u, struct walk *w, const struct visit *v,
		      tuf_updater_list_fn cb, void *userdata)
{
	const struct tuf_metadata *md = u->trusted[TUF_ROLE_TARGETS];
	int r;

	if (v->delegations) {
		r = load_delegated(u, v, &md);
		if (r < 0)
			return r;
		for (size_t i = 0; i < md->u.targets.n_targets; i++) {
			r = cb(&md->u.targets.targets[i], v->role, userdata);
			if (r < 0)
				return r;
		}
	}
	r = visits_append(&w->seen, &w->n_seen, &w->cap_seen, v->role, v->delegator, NULL, NULL);
	if (r < 0)
		return r;
	return push_listed_children(w, v, md);
}

int tuf_updater_list_delegated_targets(struct tuf_updater *u, tuf_updater_list_fn cb,
				       void *userdata)
{
	struct walk w = {};
	int r;

	assert(cb);
	if (!u->refreshed)
		return sl_error(TUF_E_STATE, "delegated targets: metadata was not refreshed");
	r = visits_append(&w.stack, &w.n_stack, &w.cap_stack, "targets", "root", NULL, NULL);
	while (r >= 0 && w.n_stack > 0) {
		struct visit v = w.stack[--w.n_stack];

		/* Each role once, whichever delegator leads to it again (or in a cycle). */
		if (!walk_seen_role(&w, v.role)) {
			if (w.n_seen < u->limits.max_delegations)
				r = list_visit(u, &w, &v, cb, userdata);
			else
				r = sl_error(TUF_E_DELEGATION,
					     "delegated targets: role '%s' (delegated by %s) is "
					     "beyond the limit of %u roles visited",
					     v.role, v.delegator, u->limits.max_delegations);
		}
		visit_clear(&v);
	}
	walk_done(&w);
	return r < 0 ? r : 0;
}
