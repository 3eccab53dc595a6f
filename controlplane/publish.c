/* SPDX-License-Identifier: Apache-2.0 */
/* `publish`: verify a release bundle with the client verifier, then switch the repository. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "bundle.h"
#include "db.h"
#include "error.h"
#include "fileio.h"
#include "repo.h"
#include "state.h"
#include "tuf/crypto.h"
#include "tuf/updater.h"
#include "tuf/writer.h"

/*
 * Order of work, so that a refusal changes nothing and a SIGKILL at any instant leaves a
 * repository every client can use:
 *  1. verify (nothing written but STATE/tmp): the bundle index and tree, new roots (each
 *     N+1 signed by N's and its own thresholds), targets (signed by the newest root's
 *     targets role, newer than the served version), every delegated role (signed per its
 *     delegator, not rolled back), every artifact (copied into STATE/tmp while its length
 *     and hashes are checked against the signed targets and bundle.json);
 *  2. record the release as "pending" in the database;
 *  3. move artifacts into repo/targets (content addressed), write the delegated roles,
 *     V.targets.json, the new V.snapshot.json and new N.root.json files: all new names that
 *     nothing served refers to yet;
 *  4. atomically replace timestamp.json: the switch;
 *  5. mark the release published, bump the generation, audit, in one transaction.
 * A failure in 3 removes what 3 created; a crash between 4 and 5 is completed by
 * cp_repo_recover() under the next lock.
 */

/* Most targets handled in one publish (over all roles). */
#define PUBLISH_MAX_TARGETS 100000
/* Copy buffer. */
#define COPY_CHUNK (1024 * 1024)

DEFINE_TRIVIAL_CLEANUP_FUNC(struct cp_bundle *, cp_bundle_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_target_check *, tuf_target_check_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_hash *, tuf_hash_free)

struct pub_root {
	uint8_t *buf;
	size_t len;
	struct tuf_metadata *md;
};

struct pub_role {
	char *name;
	uint64_t version;
	const uint8_t *buf; /* borrowed from own_buf or from the served role */
	size_t len;
	const struct tuf_metadata *md; /* borrowed from own_md or the served role */
	uint8_t *own_buf;
	struct tuf_metadata *own_md;
	const struct tuf_delegated_role *dr; /* the delegation that named it; NULL: succinct */
	bool from_bundle;
};

struct pub_artifact {
	const struct tuf_target *t;
	const char *role;  /* borrowed */
	char *repo_name;   /* "<dir>/<sha256>.<basename>" below repo/targets */
	struct cp_bundle_file *file; /* in the bundle, or NULL when already in the repository */
	char *staged;      /* STATE/tmp/... once copied */
	bool dup;          /* same content address as an earlier artifact */
};

struct pub {
	struct cp_state *s;
	struct cp_bundle *b;
	struct cp_served v;
	int64_t now;
	struct pub_root roots[CP_REPO_MAX_ROOTS];
	size_t n_roots;
	const struct tuf_metadata *root; /* the newest root: v.root or the last new one */
	const uint8_t *root_buf;
	size_t root_len;
	struct tuf_metadata *targets;
	uint8_t *targets_buf;
	size_t targets_len;
	struct pub_role *roles;
	size_t n_roles;
	struct pub_artifact *arts;
	size_t n_arts;
	char *stage;
	char **created; /* repository files created by step 3, removed on failure */
	size_t n_created;
	int64_t release_id;
	const char *actor;
};

static void pub_clear(struct pub *p)
{
	cp_bundle_free(p->b);
	cp_served_clear(&p->v);
	for (size_t i = 0; i < p->n_roots; i++) {
		free(p->roots[i].buf);
		tuf_metadata_free(p->roots[i].md);
	}
	tuf_metadata_free(p->targets);
	free(p->targets_buf);
	for (size_t i = 0; i < p->n_roles; i++) {
		free(p->roles[i].name);
		free(p->roles[i].own_buf);
		tuf_metadata_free(p->roles[i].own_md);
	}
	free(p->roles);
	for (size_t i = 0; i < p->n_arts; i++) {
		free(p->arts[i].repo_name);
		free(p->arts[i].staged);
	}
	free(p->arts);
	if (p->stage)
		sl_rm_rf(p->stage);
	free(p->stage);
	for (size_t i = 0; i < p->n_created; i++)
		free(p->created[i]);
	free(p->created);
}

/* ---- 1. Verification ---- */

static int read_bundle_md(struct pub *p, const struct cp_bundle_meta *m, enum tuf_role_type type,
			  size_t max, uint8_t **ret_buf, size_t *ret_len, struct tuf_metadata **ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	r = cp_bundle_read(p->b, m->path, max, &buf, &len);
	if (r < 0)
		return r;
	r = tuf_metadata_parse(buf, len, type, ret);
	if (r < 0)
		return cp_error(r, "bundle %s: %s", m->path, sl_error_message(r));
	if ((*ret)->version != m->version) {
		*ret = tuf_metadata_free(*ret);
		return cp_error(TUF_E_VERSION, "bundle %s: signed version differs from its name",
				m->path);
	}
	*ret_buf = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static int cmp_meta_version(const void *a, const void *b)
{
	const struct cp_bundle_meta *x = *(const struct cp_bundle_meta *const *)a;
	const struct cp_bundle_meta *y = *(const struct cp_bundle_meta *const *)b;

	return x->version < y->version ? -1 : x->version > y->version;
}

/* A bundle root at or below the trusted version must be the very file already served. */
static int check_old_root(struct pub *p, const struct cp_bundle_meta *m)
{
	_cleanup_free_ uint8_t *have = NULL, *buf = NULL;
	size_t have_len, len;
	int r;

	r = cp_bundle_read(p->b, m->path, TUF_DEFAULT_ROOT_MAX, &buf, &len);
	if (r < 0)
		return r;
	r = cp_repo_read_meta(p->s, m->path + 9, TUF_DEFAULT_ROOT_MAX, &have, &have_len);
	if (r < 0 || have_len != len || memcmp(have, buf, len) != 0)
		return cp_error(TUF_E_ROLLBACK, "bundle %s: version %" PRIu64 " is not newer than "
				"the trusted root version %" PRIu64 " and differs from it", m->path,
				m->version, p->v.root->version);
	return 0;
}

static int verify_new_root(struct pub *p, const struct cp_bundle_meta *m)
{
	struct pub_root *n = &p->roots[p->n_roots];
	int r;

	if (m->version != p->root->version + 1)
		return cp_error(TUF_E_VERSION, "bundle %s: root version %" PRIu64 " does not follow "
				"trusted version %" PRIu64, m->path, m->version, p->root->version);
	r = read_bundle_md(p, m, TUF_ROLE_ROOT, TUF_DEFAULT_ROOT_MAX, &n->buf, &n->len, &n->md);
	if (r < 0)
		return r;
	p->n_roots++;
	r = tuf_metadata_verify_root_role(n->md, &p->root->u.root, TUF_ROLE_ROOT);
	if (r >= 0)
		r = tuf_metadata_verify_root_role(n->md, &n->md->u.root, TUF_ROLE_ROOT);
	if (r >= 0)
		r = cp_repo_check_new_root(p->s, n->md, m->path);
	if (r < 0)
		return cp_error(r, "bundle %s: %s", m->path, sl_error_message(r));
	p->root = n->md;
	p->root_buf = n->buf;
	p->root_len = n->len;
	return 0;
}

static int verify_roots(struct pub *p)
{
	const struct cp_bundle_meta *list[CP_REPO_MAX_ROOTS];
	size_t n = 0;
	int r;

	p->root = p->v.root;
	p->root_buf = p->v.root_buf;
	p->root_len = p->v.root_len;
	for (size_t i = 0; i < p->b->n_meta; i++) {
		if (strcmp(p->b->meta[i].role, "root") != 0)
			continue;
		if (n == CP_REPO_MAX_ROOTS)
			return cp_error(TUF_E_ROTATION_LIMIT, "bundle: more than %d roots",
					CP_REPO_MAX_ROOTS);
		list[n++] = &p->b->meta[i];
	}
	qsort(list, n, sizeof(list[0]), cmp_meta_version);
	for (size_t i = 0; i < n; i++) {
		r = list[i]->version <= p->v.root->version ? check_old_root(p, list[i]) :
							     verify_new_root(p, list[i]);
		if (r < 0)
			return r;
	}
	r = tuf_metadata_check_expiry(p->root, "root", p->now);
	if (r < 0)
		return cp_error(r, "root version %" PRIu64 ": %s", p->root->version,
				sl_error_message(r));
	return 0;
}

static int verify_targets(struct pub *p)
{
	const struct cp_bundle_meta *m = NULL;
	int r;

	for (size_t i = 0; i < p->b->n_meta; i++)
		if (strcmp(p->b->meta[i].role, "targets") == 0) {
			if (m)
				return cp_error(CP_E_BUNDLE, "bundle: more than one targets metadata");
			m = &p->b->meta[i];
		}
	if (!m)
		return cp_error(CP_E_BUNDLE, "bundle: no targets metadata");
	r = read_bundle_md(p, m, TUF_ROLE_TARGETS, TUF_DEFAULT_TARGETS_MAX, &p->targets_buf,
			   &p->targets_len, &p->targets);
	if (r < 0)
		return r;
	r = tuf_metadata_verify_root_role(p->targets, &p->root->u.root, TUF_ROLE_TARGETS);
	if (r >= 0)
		r = tuf_metadata_check_expiry(p->targets, "targets", p->now);
	if (r < 0)
		return cp_error(r, "bundle %s: %s", m->path, sl_error_message(r));
	if (p->v.targets && p->targets->version <= p->v.targets->version)
		return cp_error(TUF_E_ROLLBACK, "bundle %s: targets version %" PRIu64 " is not newer "
				"than the published version %" PRIu64, m->path, p->targets->version,
				p->v.targets->version);
	return 0;
}

static const struct cp_bundle_meta *bundle_meta_find(struct cp_bundle *b, const char *role)
{
	for (size_t i = 0; i < b->n_meta; i++)
		if (strcmp(b->meta[i].role, role) == 0)
			return &b->meta[i];
	return NULL;
}

static struct cp_served_role *served_role(struct pub *p, const char *name)
{
	for (size_t i = 0; i < p->v.n_roles; i++)
		if (strcmp(p->v.roles[i].name, name) == 0)
			return &p->v.roles[i];
	return NULL;
}

static struct pub_role *pub_role_find(struct pub *p, const char *name)
{
	for (size_t i = 0; i < p->n_roles; i++)
		if (strcmp(p->roles[i].name, name) == 0)
			return &p->roles[i];
	return NULL;
}

/* Load role name from the bundle (or carry the served one) and verify it against d/keys. */
static int load_role(struct pub *p, struct pub_role *e, const struct tuf_delegations *d,
		     const struct tuf_role_keys *keys, bool named)
{
	const struct cp_bundle_meta *m = bundle_meta_find(p->b, e->name);
	struct cp_served_role *old = served_role(p, e->name);
	int r;

	if (m) {
		r = read_bundle_md(p, m, TUF_ROLE_TARGETS, TUF_DEFAULT_TARGETS_MAX, &e->own_buf,
				   &e->len, &e->own_md);
		if (r < 0)
			return r;
		e->buf = e->own_buf;
		e->md = e->own_md;
		e->from_bundle = true;
	} else if (old) {
		e->buf = old->buf;
		e->len = old->len;
		e->md = old->md;
	} else if (named) {
		return cp_error(CP_E_BUNDLE, "bundle: delegated role '%.256s' is neither in the "
					     "bundle nor published", e->name);
	} else {
		return 0; /* an empty succinct bin */
	}
	e->version = e->md->version;
	r = tuf_metadata_verify_delegated(e->md, d, keys, e->name);
	if (r >= 0 && e->from_bundle)
		r = tuf_metadata_check_expiry(e->md, e->name, p->now);
	if (r < 0)
		return cp_error(r, "delegated role '%.256s': %s", e->name, sl_error_message(r));
	if (e->from_bundle && old && e->version < old->md->version)
		return cp_error(TUF_E_ROLLBACK, "delegated role '%.256s': version %" PRIu64 " is "
				"older than the published version %" PRIu64, e->name, e->version,
				old->md->version);
	if (e->from_bundle && old && e->version == old->md->version &&
	    (e->len != old->len || memcmp(e->buf, old->buf, e->len) != 0))
		return cp_error(TUF_E_VERSION, "delegated role '%.256s': version %" PRIu64 " is "
				"published with different content", e->name, e->version);
	return 0;
}

static int add_role(struct pub *p, const char *name, const struct tuf_delegations *d,
		    const struct tuf_role_keys *keys, const struct tuf_delegated_role *dr)
{
	struct pub_role *e = pub_role_find(p, name);
	int r;

	if (e) {
		/* Reached through a second delegator: it must verify there too. */
		r = e->md ? tuf_metadata_verify_delegated(e->md, d, keys, name) : 0;
		return r < 0 ? cp_error(r, "delegated role '%.256s': %s", name,
					sl_error_message(r)) : 0;
	}
	if (p->n_roles == CP_REPO_MAX_ROLES)
		return cp_error(TUF_E_DELEGATION, "bundle: more than %d delegated roles",
				CP_REPO_MAX_ROLES);
	e = &p->roles[p->n_roles];
	*e = (struct pub_role){.name = strdup(name), .dr = dr};
	if (!e->name)
		return -ENOMEM;
	p->n_roles++;
	r = load_role(p, e, d, keys, dr != NULL);
	if (r >= 0 && !e->md) {
		free(e->name);
		p->n_roles--;
	}
	return r;
}

static int add_delegations(struct pub *p, const struct tuf_delegations *d)
{
	int r;

	if (!d)
		return 0;
	for (size_t i = 0; i < d->n_roles; i++) {
		r = add_role(p, d->roles[i].name, d, &d->roles[i].keys, &d->roles[i]);
		if (r < 0)
			return r;
	}
	if (d->succinct) {
		uint64_t n = tuf_succinct_roles_count(d->succinct);

		for (uint64_t i = 0; i < n; i++) {
			_cleanup_free_ char *bin = NULL;

			r = tuf_succinct_role_name_at(d->succinct, i, &bin);
			if (r < 0)
				return r;
			if (!bundle_meta_find(p->b, bin) && !served_role(p, bin))
				continue;
			r = add_role(p, bin, d, &d->succinct->keys, NULL);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int verify_roles(struct pub *p)
{
	int r;

	p->roles = calloc(CP_REPO_MAX_ROLES, sizeof(*p->roles));
	if (!p->roles)
		return -ENOMEM;
	r = add_delegations(p, p->targets->u.targets.delegations);
	/* Breadth first: roles appended while walking are walked too. */
	for (size_t i = 0; r >= 0 && i < p->n_roles; i++)
		r = add_delegations(p, p->roles[i].md->u.targets.delegations);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->b->n_meta; i++) {
		const char *role = p->b->meta[i].role;

		if (strcmp(role, "root") != 0 && strcmp(role, "targets") != 0 &&
		    !pub_role_find(p, role))
			return cp_error(CP_E_BUNDLE, "bundle %s: role '%.256s' is not delegated by "
						     "the signed targets", p->b->meta[i].path, role);
	}
	return 0;
}

/* "<dir>/<sha256>.<basename>" for t. */
static int content_name(const struct tuf_target *t, char **ret)
{
	const char *base = strrchr(t->path, '/');
	char hex[65] = "";

	for (size_t i = 0; i < t->hashes.n; i++)
		if (t->hashes.h[i].alg == TUF_HASH_SHA256)
			sl_hex_encode(t->hashes.h[i].digest, 32, hex);
	if (!hex[0])
		return cp_error(CP_E_BUNDLE, "target '%.256s' has no sha256 hash", t->path);
	if (base)
		return asprintf(ret, "%.*s/%s.%s", (int)(base - t->path), t->path, hex, base + 1) < 0 ?
			       -ENOMEM : 0;
	return asprintf(ret, "%s.%s", hex, t->path) < 0 ? -ENOMEM : 0;
}

static int check_target_path(const char *path)
{
	const char *c = path;

	if (!*path || *path == '/' || strlen(path) > TUF_MAX_TARGET_PATH)
		return cp_error(TUF_E_PATH, "target '%.256s': unsafe path", path);
	while (*c) {
		const char *e = strchrnul(c, '/');
		size_t n = (size_t)(e - c);

		if (n == 0 || (n == 1 && *c == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return cp_error(TUF_E_PATH, "target '%.256s': unsafe path", path);
		c = *e ? e + 1 : e;
		if (*e && !*c)
			return cp_error(TUF_E_PATH, "target '%.256s': unsafe path", path);
	}
	for (c = path; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return cp_error(TUF_E_PATH, "target '%.256s': control character", path);
	return 0;
}

static int add_artifact(struct pub *p, const struct tuf_target *t, const char *role)
{
	_cleanup_free_ char *bpath = NULL;
	struct pub_artifact *a;
	struct stat st;
	int r;

	if (p->n_arts == PUBLISH_MAX_TARGETS)
		return cp_error(CP_E_BUNDLE, "bundle: more than %d targets", PUBLISH_MAX_TARGETS);
	r = check_target_path(t->path);
	if (r < 0)
		return r;
	a = &p->arts[p->n_arts];
	*a = (struct pub_artifact){.t = t, .role = role};
	r = content_name(t, &a->repo_name);
	if (r < 0)
		return r;
	p->n_arts++;
	for (size_t i = 0; i + 1 < p->n_arts; i++)
		if (strcmp(p->arts[i].repo_name, a->repo_name) == 0) {
			a->dup = true;
			return 0;
		}
	if (asprintf(&bpath, "targets/%s", t->path) < 0)
		return -ENOMEM;
	a->file = cp_bundle_find(p->b, bpath);
	if (a->file) {
		a->file->claimed = true;
		return 0;
	}
	{
		_cleanup_close_ int dfd = open(p->s->targets_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0 && fstatat(dfd, a->repo_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && (uint64_t)st.st_size == t->length)
			return 0;
	}
	return cp_error(CP_E_BUNDLE, "target '%.256s' (%s): missing from the bundle and not in "
				     "the repository", t->path, role);
}

static int collect_artifacts(struct pub *p)
{
	size_t n = p->targets->u.targets.n_targets;
	int r;

	for (size_t i = 0; i < p->n_roles; i++)
		n += p->roles[i].md->u.targets.n_targets;
	if (n > PUBLISH_MAX_TARGETS)
		return cp_error(CP_E_BUNDLE, "bundle: %zu targets exceed the limit of %d", n,
				PUBLISH_MAX_TARGETS);
	p->arts = calloc(n ? n : 1, sizeof(*p->arts));
	if (!p->arts)
		return -ENOMEM;
	for (size_t i = 0; i < p->targets->u.targets.n_targets; i++) {
		r = add_artifact(p, &p->targets->u.targets.targets[i], "targets");
		if (r < 0)
			return r;
	}
	for (size_t j = 0; j < p->n_roles; j++) {
		const struct pub_role *e = &p->roles[j];

		for (size_t i = 0; i < e->md->u.targets.n_targets; i++) {
			const struct tuf_target *t = &e->md->u.targets.targets[i];

			if (e->dr && !tuf_delegated_role_matches(e->dr, t->path))
				return cp_error(CP_E_BUNDLE, "delegated role '%.256s' lists target "
							     "'%.256s' outside its delegated paths",
						e->name, t->path);
			r = add_artifact(p, t, e->name);
			if (r < 0)
				return r;
		}
	}
	for (size_t i = 0; i < p->b->n_files; i++)
		if (strncmp(p->b->files[i].path, "targets/", 8) == 0 && !p->b->files[i].claimed)
			return cp_error(CP_E_BUNDLE, "bundle: %.256s is not a target of the signed "
						     "metadata", p->b->files[i].path);
	return 0;
}

/* Copy one artifact into the staging directory, checking it against TUF and the index. */
static int stage_one(struct pub *p, struct pub_artifact *a, size_t idx, uint8_t *chunk)
{
	_cleanup_(tuf_target_check_freep) struct tuf_target_check *check = NULL;
	_cleanup_(tuf_hash_freep) struct tuf_hash *h = NULL;
	_cleanup_close_ int in = -1, out = -1;
	uint8_t digest[TUF_HASH_MAX_SIZE];
	char hex[65];
	ssize_t n;
	int r;

	if (asprintf(&a->staged, "%s/%zu", p->stage, idx) < 0)
		return -ENOMEM;
	r = cp_bundle_open_file(p->b, a->file->path, &in);
	if (r >= 0)
		r = tuf_target_check_new(a->t, &check);
	if (r >= 0)
		r = tuf_hash_new(TUF_HASH_SHA256, &h);
	if (r < 0)
		return r;
	out = open(a->staged, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (out < 0)
		return cp_error(-errno, "%s: %m", a->staged);
	while ((n = read(in, chunk, COPY_CHUNK)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return cp_error(-errno, "bundle %s: read: %m", a->file->path);
		}
		r = tuf_target_check_update(check, chunk, (size_t)n);
		if (r < 0)
			return cp_error(r, "bundle %s: %s", a->file->path, sl_error_message(r));
		if ((r = tuf_hash_update(h, chunk, (size_t)n)) < 0 ||
		    (r = sl_write_all(out, chunk, (size_t)n)) < 0)
			return cp_error(r, "%s: %s", a->staged, sl_strerror(r));
	}
	r = tuf_target_check_final(check);
	if (r < 0)
		return cp_error(r, "bundle %s: %s", a->file->path, sl_error_message(r));
	r = tuf_hash_final(h, digest);
	if (r < 0)
		return r;
	sl_hex_encode(digest, 32, hex);
	if (strcmp(hex, a->file->sha256) != 0)
		return cp_error(TUF_E_HASH, "bundle %s: sha256 differs from bundle.json",
				a->file->path);
	if (fsync(out) < 0)
		return cp_error(-errno, "%s: fsync: %m", a->staged);
	return 0;
}

static int stage_artifacts(struct pub *p)
{
	_cleanup_free_ uint8_t *chunk = malloc(COPY_CHUNK);
	int r;

	if (!chunk)
		return -ENOMEM;
	r = sl_mkdtemp_private(p->s->tmp_dir, &p->stage);
	if (r < 0)
		return cp_error(r, "%s: cannot create a staging directory: %s", p->s->tmp_dir,
				strerror(-r));
	for (size_t i = 0; i < p->n_arts; i++) {
		if (!p->arts[i].file || p->arts[i].dup)
			continue;
		r = stage_one(p, &p->arts[i], i, chunk);
		if (r < 0)
			return r;
	}
	return 0;
}

static int verify_all(struct pub *p)
{
	int r;

	r = verify_roots(p);
	if (r >= 0)
		r = verify_targets(p);
	if (r >= 0)
		r = verify_roles(p);
	if (r >= 0)
		r = collect_artifacts(p);
	if (r >= 0)
		r = stage_artifacts(p);
	return r;
}

/* ---- 2. and 5. Database ---- */

static int insert_artifact(struct pub *p, sqlite3_stmt *st, const struct pub_artifact *a)
{
	struct json_object *sluice = NULL, *v;
	char hex[65] = "";
	const char *kind = NULL, *rel = NULL, *ver = NULL, *hw = NULL, *custom = NULL;
	int r;

	if (a->dup)
		return 0;
	for (size_t i = 0; i < a->t->hashes.n; i++)
		if (a->t->hashes.h[i].alg == TUF_HASH_SHA256)
			sl_hex_encode(a->t->hashes.h[i].digest, 32, hex);
	if (a->t->custom) {
		custom = json_object_to_json_string_ext(a->t->custom, JSON_C_TO_STRING_PLAIN);
		if (json_object_object_get_ex(a->t->custom, "sluice", &sluice) &&
		    json_object_is_type(sluice, json_type_object)) {
			if (json_object_object_get_ex(sluice, "kind", &v) &&
			    json_object_is_type(v, json_type_string))
				kind = json_object_get_string(v);
			if (json_object_object_get_ex(sluice, "release", &v) &&
			    json_object_is_type(v, json_type_string))
				rel = json_object_get_string(v);
			if (json_object_object_get_ex(sluice, "version", &v) &&
			    json_object_is_type(v, json_type_string))
				ver = json_object_get_string(v);
			if (json_object_object_get_ex(sluice, "hardware", &v))
				hw = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		}
	}
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, p->release_id);
	sqlite3_bind_int64(st, 4, (int64_t)a->t->length);
	if ((r = cp_db_bind_text(st, 2, a->t->path)) < 0 || (r = cp_db_bind_text(st, 3, a->role)) < 0 ||
	    (r = cp_db_bind_text(st, 5, hex)) < 0 || (r = cp_db_bind_text(st, 6, kind)) < 0 ||
	    (r = cp_db_bind_text(st, 7, rel)) < 0 || (r = cp_db_bind_text(st, 8, ver)) < 0 ||
	    (r = cp_db_bind_text(st, 9, hw)) < 0 || (r = cp_db_bind_text(st, 10, custom)) < 0)
		return r;
	return cp_db_step_done(p->s->db, st, "database: artifacts");
}

static int record_pending_tx(struct pub *p)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL, *ast = NULL;
	char now[21];
	int r;

	cp_state_now_text(p->s, now);
	r = cp_db_prepare(p->s->db, "INSERT INTO releases (name, targets_version, snapshot_version, "
				    "timestamp_version, bundle_sha256, state, created) "
				    "VALUES (?1, ?2, 0, 0, ?3, 'pending', ?4)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 2, (int64_t)p->targets->version);
	if ((r = cp_db_bind_text(st, 1, p->b->release)) < 0 ||
	    (r = cp_db_bind_text(st, 3, p->b->index_sha256)) < 0 ||
	    (r = cp_db_bind_text(st, 4, now)) < 0)
		return r;
	r = cp_db_step_done(p->s->db, st, "database: releases");
	if (r < 0)
		return r;
	p->release_id = sqlite3_last_insert_rowid(p->s->db);
	r = cp_db_prepare(p->s->db, "INSERT OR IGNORE INTO artifacts (release_id, path, role, "
				    "length, sha256, kind, release, version, hardware, custom) "
				    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", &ast);
	for (size_t i = 0; r >= 0 && i < p->n_arts; i++)
		r = insert_artifact(p, ast, &p->arts[i]);
	return r;
}

static int record_pending(struct pub *p)
{
	int r = cp_db_begin(p->s->db);

	if (r < 0)
		return r;
	r = record_pending_tx(p);
	if (r >= 0)
		return cp_db_commit(p->s->db);
	cp_db_rollback(p->s->db);
	return r;
}

static int drop_pending(struct pub *p)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	r = cp_db_prepare(p->s->db, "DELETE FROM releases WHERE id = ?1 AND state = 'pending'", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, p->release_id);
	return cp_db_step_done(p->s->db, st, "database: releases");
}

static int record_published_tx(struct pub *p, const struct cp_publish_result *res)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char now[21], detail[512];
	int r;

	cp_state_now_text(p->s, now);
	r = cp_db_prepare(p->s->db, "UPDATE releases SET state = 'published', published = ?2, "
				    "snapshot_version = ?3, timestamp_version = ?4 WHERE id = ?1",
			  &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, p->release_id);
	sqlite3_bind_int64(st, 3, (int64_t)res->snapshot_version);
	sqlite3_bind_int64(st, 4, (int64_t)res->timestamp_version);
	r = cp_db_bind_text(st, 2, now);
	if (r >= 0)
		r = cp_db_step_done(p->s->db, st, "database: releases");
	for (size_t i = 0; r >= 0 && i < p->n_roots; i++)
		r = cp_repo_record_root(p->s, p->roots[i].md, p->roots[i].buf, p->roots[i].len);
	if (r >= 0)
		r = cp_state_bump_generation(p->s);
	if (r < 0)
		return r;
	snprintf(detail, sizeof(detail), "release '%.64s' targets version %" PRIu64 " snapshot %"
		 PRIu64 " timestamp %" PRIu64 " root %" PRIu64 " (%zu new) artifacts %zu roles %zu "
		 "bundle.json sha256 %s", res->release, res->targets_version,
		 res->snapshot_version, res->timestamp_version, res->root_version,
		 res->n_new_roots, res->n_artifacts, res->n_roles, p->b->index_sha256);
	return cp_audit_append(p->s, p->actor, "publish", detail);
}

/* ---- 3. and 4. The switch ---- */

static int note_created(struct pub *p, const char *dir, const char *name)
{
	char **n = reallocarray(p->created, p->n_created + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	p->created = n;
	if (asprintf(&p->created[p->n_created], "%s/%s", dir, name) < 0)
		return -ENOMEM;
	p->n_created++;
	return 0;
}

static void undo_created(struct pub *p)
{
	for (size_t i = p->n_created; i-- > 0;)
		unlink(p->created[i]);
}

static int move_artifact(struct pub *p, int tfd, const struct pub_artifact *a)
{
	_cleanup_free_ char *dir = NULL;
	const char *slash = strrchr(a->repo_name, '/');
	struct stat st;
	int r;

	if (slash) {
		if (asprintf(&dir, "%s/%.*s", p->s->targets_dir, (int)(slash - a->repo_name),
			     a->repo_name) < 0)
			return -ENOMEM;
		r = sl_mkdir_p(dir, 0755);
		if (r < 0)
			return cp_error(r, "%s: %s", dir, strerror(-r));
	}
	if (fstatat(tfd, a->repo_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == a->t->length)
		return 0; /* content addressed: the same bytes are already there */
	if (renameat(AT_FDCWD, a->staged, tfd, a->repo_name) < 0)
		return cp_error(-errno, "%s/%s: %m", p->s->targets_dir, a->repo_name);
	r = note_created(p, p->s->targets_dir, a->repo_name);
	if (r < 0)
		return r;
	r = sl_fsync_dir(dir ? dir : p->s->targets_dir);
	return r < 0 ? cp_error(r, "fsync %s: %s", dir ? dir : p->s->targets_dir, strerror(-r)) : 1;
}

/* Write a metadata file unless the identical bytes are already there. */
static int put_meta(struct pub *p, int mfd, const char *name, const uint8_t *buf, size_t len)
{
	_cleanup_free_ uint8_t *have = NULL;
	size_t have_len;
	bool existed;
	int r;

	r = sl_read_file_at(mfd, name, len + 1, &have, &have_len);
	if (r >= 0 && have_len == len && memcmp(have, buf, len) == 0)
		return 0;
	existed = r != -ENOENT;
	r = sl_write_file_atomic_at(mfd, name, buf, len, 0644);
	if (r < 0)
		return cp_error(r, "%s/%s: %s", p->s->metadata_dir, name, strerror(-r));
	return existed ? 0 : note_created(p, p->s->metadata_dir, name);
}

static int write_roles_and_targets(struct pub *p, int mfd)
{
	_cleanup_free_ char *name = NULL;
	int r;

	for (size_t i = 0; i < p->n_roles; i++) {
		_cleanup_free_ char *rn = NULL;

		if (!p->roles[i].from_bundle)
			continue;
		r = tuf_writer_metadata_filename(p->roles[i].name, p->roles[i].version, true, &rn);
		if (r >= 0)
			r = put_meta(p, mfd, rn, p->roles[i].buf, p->roles[i].len);
		if (r < 0)
			return r;
	}
	r = tuf_writer_metadata_filename("targets", p->targets->version, true, &name);
	if (r < 0)
		return r;
	return put_meta(p, mfd, name, p->targets_buf, p->targets_len);
}

static int write_snapshot(struct pub *p, struct json_object *root_doc, uint64_t *ret_version,
			  uint8_t **ret_buf, size_t *ret_len)
{
	_cleanup_free_ struct cp_meta_entry *meta = NULL;
	_cleanup_free_ char *name = NULL;
	size_t n = 0;
	int r;

	meta = calloc(1 + p->n_roles + p->v.n_roles, sizeof(*meta));
	if (!meta)
		return -ENOMEM;
	meta[n++] = (struct cp_meta_entry){"targets", p->targets->version, p->targets_buf,
					   p->targets_len};
	for (size_t i = 0; i < p->n_roles; i++)
		meta[n++] = (struct cp_meta_entry){p->roles[i].name, p->roles[i].version,
						   p->roles[i].buf, p->roles[i].len};
	/* A role no longer delegated stays listed: clients refuse a snapshot that drops one. */
	for (size_t i = 0; i < p->v.n_roles; i++)
		if (!pub_role_find(p, p->v.roles[i].name))
			meta[n++] = (struct cp_meta_entry){p->v.roles[i].name,
							   p->v.roles[i].md->version,
							   p->v.roles[i].buf, p->v.roles[i].len};
	r = cp_repo_write_snapshot(p->s, &p->v, root_doc, meta, n, p->now, ret_version, ret_buf,
				   ret_len);
	if (r < 0)
		return r;
	r = tuf_writer_metadata_filename("snapshot", *ret_version, true, &name);
	return r < 0 ? r : note_created(p, p->s->metadata_dir, name);
}

static int switch_repo(struct pub *p, struct cp_publish_result *res)
{
	_cleanup_(json_object_putp) struct json_object *root_doc = NULL;
	_cleanup_close_ int tfd = -1, mfd = -1;
	_cleanup_free_ uint8_t *snap = NULL;
	size_t snap_len;
	int r;

	tfd = open(p->s->targets_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mfd = open(p->s->metadata_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0 || mfd < 0)
		return cp_error(CP_E_STATE, "repository directories: %m");
	for (size_t i = 0; i < p->n_arts; i++) {
		if (!p->arts[i].staged)
			continue;
		r = move_artifact(p, tfd, &p->arts[i]);
		if (r < 0)
			return r;
		res->n_artifacts += r;
	}
	r = write_roles_and_targets(p, mfd);
	if (r < 0)
		return r;
	r = tuf_writer_load(p->root_buf, p->root_len, TUF_ROLE_ROOT, &root_doc);
	if (r < 0)
		return r;
	r = write_snapshot(p, root_doc, &res->snapshot_version, &snap, &snap_len);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n_roots; i++) {
		_cleanup_free_ char *name = NULL;

		if (asprintf(&name, "%" PRIu64 ".root.json", p->roots[i].md->version) < 0)
			return -ENOMEM;
		r = put_meta(p, mfd, name, p->roots[i].buf, p->roots[i].len);
		if (r < 0)
			return r;
	}
	return cp_repo_write_timestamp(p->s, &p->v, root_doc, res->snapshot_version, snap,
				       snap_len, p->now, &res->timestamp_version);
}

static int publish_locked(struct pub *p, const char *bundle_dir, struct cp_publish_result *res)
{
	int r;

	r = cp_repo_load(p->s, &p->v);
	if (r < 0)
		return r;
	r = cp_bundle_open(bundle_dir, &p->b);
	if (r < 0)
		return r;
	r = verify_all(p);
	if (r < 0)
		return r;
	r = record_pending(p);
	if (r < 0)
		return r;
	*res = (struct cp_publish_result){
	    .targets_version = p->targets->version,
	    .root_version = p->root->version,
	    .n_new_roots = p->n_roots,
	    .n_roles = p->n_roles,
	};
	snprintf(res->release, sizeof(res->release), "%s", p->b->release);
	r = switch_repo(p, res);
	if (r < 0) {
		int saved = r;
		_cleanup_free_ char *msg = strdup(sl_error_message(r));

		undo_created(p);
		(void)drop_pending(p);
		return cp_error(saved, "%s", msg ? msg : sl_strerror(saved));
	}
	r = cp_db_begin(p->s->db);
	if (r >= 0)
		r = record_published_tx(p, res);
	if (r >= 0)
		r = cp_db_commit(p->s->db);
	if (r < 0) {
		/* Served already; the next lock holder records it (cp_repo_recover()). */
		cp_db_rollback(p->s->db);
		return cp_error(r, "published, but recording it failed (it is completed at the next "
				   "operation): %s", sl_error_message(r));
	}
	return 0;
}

int cp_repo_publish(struct cp_state *s, const char *bundle_dir, const char *actor,
		    struct cp_publish_result *ret)
{
	_cleanup_close_ int lock = -1;
	struct cp_publish_result res = {};
	struct pub p = {.s = s, .now = cp_state_now(s), .actor = actor};
	int r;

	r = cp_state_lock(s, true, &lock);
	if (r < 0)
		return r;
	r = publish_locked(&p, bundle_dir, &res);
	pub_clear(&p);
	if (r >= 0 && ret)
		*ret = res;
	return r;
}
