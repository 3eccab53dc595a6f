/* SPDX-License-Identifier: Apache-2.0 */
/* The TUF client workflow: trusted state, and the refresh of root, timestamp, snapshot, targets. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "tuf/updater.h"
#include "updater-internal.h"

#define METADATA_MODE 0644
#define FILENAME_MAX_LEN 64 /* "<uint64>.snapshot.json" and the like */

static void metadata_freep(struct tuf_metadata **md)
{
	tuf_metadata_free(*md);
}
#define _cleanup_metadata_ _cleanup_(metadata_freep)

static void set_limits(struct tuf_updater_limits *l, const struct tuf_updater_limits *in)
{
	*l = *in;
	if (!l->root_max)
		l->root_max = TUF_DEFAULT_ROOT_MAX;
	if (!l->timestamp_max)
		l->timestamp_max = TUF_DEFAULT_TIMESTAMP_MAX;
	if (!l->snapshot_max)
		l->snapshot_max = TUF_DEFAULT_SNAPSHOT_MAX;
	if (!l->targets_max)
		l->targets_max = TUF_DEFAULT_TARGETS_MAX;
	if (!l->max_root_rotations)
		l->max_root_rotations = TUF_DEFAULT_MAX_ROOT_ROTATIONS;
	if (!l->max_delegations)
		l->max_delegations = TUF_DEFAULT_MAX_DELEGATIONS;
}

/* Copy a base URL, adding the trailing '/' that file names are appended to. */
static int base_url_dup(const char *url, char **ret)
{
	size_t n;

	*ret = NULL;
	if (!url)
		return 0;
	n = strlen(url);
	if (n == 0)
		return sl_error(SL_E_INVALID, "empty base URL");
	if (asprintf(ret, "%s%s", url, url[n - 1] == '/' ? "" : "/") < 0) {
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}

int tuf_updater_fetch_metadata(struct tuf_updater *u, const char *filename, uint64_t max,
			       uint8_t **ret_buf, size_t *ret_len)
{
	_cleanup_free_ char *url = NULL;

	if (asprintf(&url, "%s%s", u->metadata_base_url, filename) < 0)
		return -ENOMEM;
	if (max > SIZE_MAX - 1)
		max = SIZE_MAX - 1;
	return tuf_fetcher_fetch_buf(u->fetcher, url, (size_t)max, ret_buf, ret_len);
}

int tuf_updater_persist(struct tuf_updater *u, const char *filename, const void *buf, size_t len)
{
	int r = sl_write_file_atomic_at(u->dir_fd, filename, buf, len, METADATA_MODE);

	if (r < 0)
		return sl_error(r, "%s/%s: cannot write: %s", u->metadata_dir, filename,
				sl_strerror(r));
	return 0;
}

int tuf_updater_read_local(struct tuf_updater *u, const char *filename, size_t max,
			   uint8_t **ret_buf, size_t *ret_len)
{
	return sl_read_file_at(u->dir_fd, filename, max, ret_buf, ret_len);
}

int tuf_updater_check_meta_version(const struct tuf_metadata *md, const struct tuf_meta_file *m,
				   const char *file, const char *listed_in)
{
	if (md->version != m->version)
		return sl_error(TUF_E_VERSION,
				"%s: version %" PRIu64 " does not match version %" PRIu64
				" listed in %s",
				file, md->version, m->version, listed_in);
	return 0;
}

uint64_t tuf_updater_meta_cap(const struct tuf_meta_file *m, size_t fallback)
{
	return m->has_length ? m->length : fallback;
}

/* Parse root bytes and check that the root role's own threshold signed them. */
static int parse_self_signed_root(const void *buf, size_t len, struct tuf_metadata **ret)
{
	_cleanup_metadata_ struct tuf_metadata *md = NULL;
	int r;

	r = tuf_metadata_parse(buf, len, TUF_ROLE_ROOT, &md);
	if (r < 0)
		return r;
	r = tuf_metadata_verify_root_role(md, &md->u.root, TUF_ROLE_ROOT);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(md);
	return 0;
}

static int load_trusted_root(struct tuf_updater *u)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	r = tuf_updater_read_local(u, "root.json", u->limits.root_max, &buf, &len);
	if (r == -ENOENT)
		return sl_error(TUF_E_STATE, "%s/root.json: missing (no trusted root)",
				u->metadata_dir);
	if (r < 0)
		return sl_error(TUF_E_STATE, "%s/root.json: cannot read: %s", u->metadata_dir,
				sl_strerror(r));
	return parse_self_signed_root(buf, len, &u->trusted[TUF_ROLE_ROOT]);
}

/*
 * A trusted timestamp, snapshot or targets file from an earlier refresh. It only serves as
 * the reference for rollback checks (and to skip a download when still current), so a file
 * that is missing, unreadable or not signed per the trusted root is simply not used.
 */
static void load_trusted_optional(struct tuf_updater *u, enum tuf_role_type type, size_t max)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_free_ char *name = NULL;
	_cleanup_metadata_ struct tuf_metadata *md = NULL;
	size_t len;

	if (asprintf(&name, "%s.json", tuf_role_type_name(type)) < 0)
		return;
	if (tuf_updater_read_local(u, name, max, &buf, &len) < 0)
		return;
	if (tuf_metadata_parse(buf, len, type, &md) < 0)
		return;
	if (tuf_metadata_verify_root_role(md, &u->trusted[TUF_ROLE_ROOT]->u.root, type) < 0)
		return;
	u->trusted[type] = TAKE_PTR(md);
}

int tuf_updater_new(const struct tuf_updater_config *cfg, struct tuf_updater **ret)
{
	struct tuf_updater *u;
	int r;

	if (!cfg || !cfg->metadata_dir)
		return sl_error(SL_E_INVALID, "updater: no metadata directory");
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->dir_fd = -1;
	set_limits(&u->limits, &cfg->limits);
	u->fetcher = cfg->fetcher;
	u->now = cfg->now ? cfg->now : (int64_t)time(NULL);
	u->metadata_dir = strdup(cfg->metadata_dir);
	r = u->metadata_dir ? 0 : -ENOMEM;
	if (r >= 0)
		r = base_url_dup(cfg->metadata_base_url, &u->metadata_base_url);
	if (r >= 0)
		r = base_url_dup(cfg->target_base_url, &u->target_base_url);
	if (r >= 0) {
		u->dir_fd = open(cfg->metadata_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (u->dir_fd < 0)
			r = sl_error(TUF_E_STATE, "%s: cannot open metadata directory: %s",
				     cfg->metadata_dir, strerror(errno));
	}
	if (r >= 0)
		r = load_trusted_root(u);
	if (r < 0) {
		tuf_updater_free(u);
		return r;
	}
	load_trusted_optional(u, TUF_ROLE_TIMESTAMP, u->limits.timestamp_max);
	load_trusted_optional(u, TUF_ROLE_SNAPSHOT, u->limits.snapshot_max);
	load_trusted_optional(u, TUF_ROLE_TARGETS, u->limits.targets_max);
	*ret = u;
	return 0;
}

void tuf_updater_clear_delegated(struct tuf_updater *u)
{
	for (size_t i = 0; i < u->n_delegated; i++) {
		struct tuf_delegated_entry *e = u->delegated[i];

		free(e->name);
		free(e->verified_by);
		tuf_metadata_free(e->md);
		free(e);
	}
	free(u->delegated);
	u->delegated = NULL;
	u->n_delegated = 0;
}

struct tuf_updater *tuf_updater_free(struct tuf_updater *u)
{
	if (!u)
		return NULL;
	tuf_updater_clear_delegated(u);
	for (size_t i = 0; i < ELEMENTSOF(u->trusted); i++)
		tuf_metadata_free(u->trusted[i]);
	if (u->dir_fd >= 0)
		close(u->dir_fd);
	free(u->metadata_dir);
	free(u->metadata_base_url);
	free(u->target_base_url);
	free(u);
	return NULL;
}

const struct tuf_metadata *tuf_updater_trusted(const struct tuf_updater *u, enum tuf_role_type t)
{
	if ((unsigned)t >= ELEMENTSOF(u->trusted))
		return NULL;
	return u->trusted[t];
}

/* §5.3 root ---------------------------------------------------------------------------------- */

/* Verify root N+1 (signed by the trusted root and by itself, version exactly N+1). */
static int check_new_root(struct tuf_updater *u, const char *name, const void *buf, size_t len,
			  struct tuf_metadata **ret)
{
	const struct tuf_metadata *trusted = u->trusted[TUF_ROLE_ROOT];
	_cleanup_metadata_ struct tuf_metadata *md = NULL;
	uint64_t want = trusted->version + 1;
	char why[256];
	int r;

	r = tuf_metadata_parse(buf, len, TUF_ROLE_ROOT, &md);
	if (r < 0)
		return r;
	r = tuf_metadata_verify_root_role(md, &trusted->u.root, TUF_ROLE_ROOT);
	if (r < 0) {
		snprintf(why, sizeof(why), "%s", sl_error_message(r));
		return sl_error(r, "%s: not signed by trusted root version %" PRIu64 ": %s", name,
				trusted->version, why);
	}
	r = tuf_metadata_verify_root_role(md, &md->u.root, TUF_ROLE_ROOT);
	if (r < 0) {
		snprintf(why, sizeof(why), "%s", sl_error_message(r));
		return sl_error(r, "%s: not signed by its own root keys: %s", name, why);
	}
	if (md->version != want)
		return sl_error(TUF_E_VERSION, "%s: version %" PRIu64 ", expected %" PRIu64, name,
				md->version, want);
	*ret = TAKE_PTR(md);
	return 0;
}

/*
 * Fetch N+1.root.json … while the repository has them, at most max_root_rotations times.
 * As python-tuf does, reaching the cap is not an error: the client goes on with the newest
 * root it verified (later roots are picked up by the next refresh).
 */
static int rotate_roots(struct tuf_updater *u)
{
	for (unsigned i = 0; i < u->limits.max_root_rotations; i++) {
		_cleanup_free_ uint8_t *buf = NULL;
		struct tuf_metadata *md = NULL;
		char name[FILENAME_MAX_LEN];
		size_t len;
		int r;

		snprintf(name, sizeof(name), "%" PRIu64 ".root.json",
			 u->trusted[TUF_ROLE_ROOT]->version + 1);
		r = tuf_updater_fetch_metadata(u, name, u->limits.root_max, &buf, &len);
		if (r == TUF_E_NOT_FOUND)
			return 0; /* the trusted root is the newest */
		if (r < 0)
			return r;
		r = check_new_root(u, name, buf, len, &md);
		if (r >= 0)
			r = tuf_updater_persist(u, "root.json", buf, len);
		if (r < 0) {
			tuf_metadata_free(md);
			return r;
		}
		/* The root we started from is still owned by the caller (for 5.3.11). */
		if (i > 0)
			tuf_metadata_free(u->trusted[TUF_ROLE_ROOT]);
		u->trusted[TUF_ROLE_ROOT] = md;
	}
	return 0;
}

static bool role_keys_equal(const struct tuf_role_keys *a, const struct tuf_role_keys *b)
{
	if (a->threshold != b->threshold || a->n_keyids != b->n_keyids)
		return false;
	for (size_t i = 0; i < a->n_keyids; i++) {
		bool found = false;

		for (size_t j = 0; j < b->n_keyids && !found; j++)
			found = strcmp(a->keyids[i], b->keyids[j]) == 0;
		if (!found)
			return false;
	}
	return true;
}

static void drop_trusted(struct tuf_updater *u, enum tuf_role_type t)
{
	u->trusted[t] = tuf_metadata_free(u->trusted[t]);
}

/*
 * After a root change. §5.3.11: when the timestamp or snapshot keys were rotated, delete the
 * trusted timestamp and snapshot files (fast-forward attack recovery). Any other trusted
 * file that no longer verifies under the new root stops being used as well (python-tuf
 * reaches the same state by loading local files only against the final root).
 */
static int recover_after_rotation(struct tuf_updater *u, const struct tuf_root *old)
{
	const struct tuf_root *root = &u->trusted[TUF_ROLE_ROOT]->u.root;
	static const char *const stale[] = {"timestamp.json", "snapshot.json"};

	if (!role_keys_equal(&old->roles[TUF_ROLE_TIMESTAMP], &root->roles[TUF_ROLE_TIMESTAMP]) ||
	    !role_keys_equal(&old->roles[TUF_ROLE_SNAPSHOT], &root->roles[TUF_ROLE_SNAPSHOT])) {
		for (size_t i = 0; i < ELEMENTSOF(stale); i++)
			if (unlinkat(u->dir_fd, stale[i], 0) < 0 && errno != ENOENT)
				return sl_error(-errno, "%s/%s: cannot delete: %s", u->metadata_dir,
						stale[i], strerror(errno));
		if (fsync(u->dir_fd) < 0)
			return sl_error(-errno, "%s: fsync: %s", u->metadata_dir, strerror(errno));
		drop_trusted(u, TUF_ROLE_TIMESTAMP);
		drop_trusted(u, TUF_ROLE_SNAPSHOT);
	}
	for (enum tuf_role_type t = TUF_ROLE_TIMESTAMP; t <= TUF_ROLE_TARGETS; t++)
		if (u->trusted[t] && tuf_metadata_verify_root_role(u->trusted[t], root, t) < 0)
			drop_trusted(u, t);
	return 0;
}

static int update_root(struct tuf_updater *u)
{
	struct tuf_metadata *start = u->trusted[TUF_ROLE_ROOT];
	int r, k;

	r = rotate_roots(u);
	if (u->trusted[TUF_ROLE_ROOT] != start) {
		/* Roots that were accepted stay accepted even when a later one failed. */
		k = recover_after_rotation(u, &start->u.root);
		tuf_metadata_free(start);
		if (r >= 0)
			r = k;
	}
	if (r < 0)
		return r;
	/* §5.3.10: only the final root must be unexpired. */
	return tuf_metadata_check_expiry(u->trusted[TUF_ROLE_ROOT], "root.json", u->now);
}

/* §5.4 timestamp ----------------------------------------------------------------------------- */

static int update_timestamp(struct tuf_updater *u)
{
	const struct tuf_metadata *old = u->trusted[TUF_ROLE_TIMESTAMP];
	_cleanup_metadata_ struct tuf_metadata *md = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	r = tuf_updater_fetch_metadata(u, "timestamp.json", u->limits.timestamp_max, &buf, &len);
	if (r < 0)
		return r;
	r = tuf_metadata_parse(buf, len, TUF_ROLE_TIMESTAMP, &md);
	if (r < 0)
		return r;
	r = tuf_metadata_verify_root_role(md, &u->trusted[TUF_ROLE_ROOT]->u.root,
					  TUF_ROLE_TIMESTAMP);
	if (r < 0)
		return r;
	if (old) {
		uint64_t sv = md->u.timestamp.snapshot.version;
		uint64_t old_sv = old->u.timestamp.snapshot.version;

		if (md->version < old->version)
			return sl_error(TUF_E_ROLLBACK,
					"timestamp.json: version %" PRIu64
					" is older than trusted version %" PRIu64,
					md->version, old->version);
		/* Same version: keep the trusted file untouched (as python-tuf does). */
		if (md->version == old->version)
			return tuf_metadata_check_expiry(old, "timestamp.json", u->now);
		if (sv < old_sv)
			return sl_error(TUF_E_ROLLBACK,
					"timestamp.json: snapshot version %" PRIu64
					" is older than trusted snapshot version %" PRIu64,
					sv, old_sv);
	}
	r = tuf_metadata_check_expiry(md, "timestamp.json", u->now);
	if (r < 0)
		return r;
	r = tuf_updater_persist(u, "timestamp.json", buf, len);
	if (r < 0)
		return r;
	tuf_metadata_free(u->trusted[TUF_ROLE_TIMESTAMP]);
	u->trusted[TUF_ROLE_TIMESTAMP] = TAKE_PTR(md);
	return 0;
}

/* §5.5 snapshot ------------------------------------------------------------------------------ */

/* Every role of the trusted snapshot must still be listed, none with a lower version. */
static int check_snapshot_rollback(const struct tuf_snapshot *old, const struct tuf_snapshot *new)
{
	for (size_t i = 0; i < old->n_meta; i++) {
		const struct tuf_meta_file *o = &old->meta[i];
		const struct tuf_meta_file *n = tuf_snapshot_find(new, o->name);
		size_t nl = strlen(o->name);
		int rl = nl > 5 && strcmp(o->name + nl - 5, ".json") == 0 ? (int)(nl - 5) : (int)nl;

		if (!n)
			return sl_error(TUF_E_ROLLBACK,
					"snapshot.json: role %.*s removed from snapshot", rl,
					o->name);
		if (n->version < o->version)
			return sl_error(TUF_E_ROLLBACK,
					"snapshot.json: %s version %" PRIu64
					" is older than trusted version %" PRIu64,
					o->name, n->version, o->version);
	}
	return 0;
}

/* The trusted file is still the one timestamp names, and unexpired: no download needed. */
static bool trusted_is_current(const struct tuf_metadata *md, const struct tuf_meta_file *m,
			       int64_t now)
{
	return md && md->version == m->version && md->expires > now;
}

static int update_snapshot(struct tuf_updater *u)
{
	const struct tuf_meta_file *m = &u->trusted[TUF_ROLE_TIMESTAMP]->u.timestamp.snapshot;
	const struct tuf_metadata *old = u->trusted[TUF_ROLE_SNAPSHOT];
	_cleanup_metadata_ struct tuf_metadata *md = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	char name[FILENAME_MAX_LEN];
	size_t len;
	int r;

	if (trusted_is_current(old, m, u->now))
		return 0;
	if (u->trusted[TUF_ROLE_ROOT]->u.root.consistent_snapshot)
		snprintf(name, sizeof(name), "%" PRIu64 ".snapshot.json", m->version);
	else
		snprintf(name, sizeof(name), "snapshot.json");
	r = tuf_updater_fetch_metadata(u, name, tuf_updater_meta_cap(m, u->limits.snapshot_max),
				       &buf, &len);
	if (r < 0)
		return r;
	r = tuf_meta_file_check(m, buf, len, "snapshot.json");
	if (r < 0)
		return r;
	r = tuf_metadata_parse(buf, len, TUF_ROLE_SNAPSHOT, &md);
	if (r < 0)
		return r;
	r = tuf_metadata_verify_root_role(md, &u->trusted[TUF_ROLE_ROOT]->u.root,
					  TUF_ROLE_SNAPSHOT);
	if (r < 0)
		return r;
	r = tuf_updater_check_meta_version(md, m, "snapshot.json", "timestamp.json");
	if (r < 0)
		return r;
	if (old) {
		r = check_snapshot_rollback(&old->u.snapshot, &md->u.snapshot);
		if (r < 0)
			return r;
	}
	r = tuf_metadata_check_expiry(md, "snapshot.json", u->now);
	if (r < 0)
		return r;
	r = tuf_updater_persist(u, "snapshot.json", buf, len);
	if (r < 0)
		return r;
	tuf_metadata_free(u->trusted[TUF_ROLE_SNAPSHOT]);
	u->trusted[TUF_ROLE_SNAPSHOT] = TAKE_PTR(md);
	return 0;
}

/* §5.6 targets ------------------------------------------------------------------------------- */

static int update_targets(struct tuf_updater *u)
{
	const struct tuf_meta_file *m;
	_cleanup_metadata_ struct tuf_metadata *md = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	char name[FILENAME_MAX_LEN];
	size_t len;
	int r;

	m = tuf_snapshot_find(&u->trusted[TUF_ROLE_SNAPSHOT]->u.snapshot, "targets.json");
	if (!m)
		return sl_error(TUF_E_FORMAT, "snapshot.json: no entry for targets.json");
	if (trusted_is_current(u->trusted[TUF_ROLE_TARGETS], m, u->now))
		return 0;
	if (u->trusted[TUF_ROLE_ROOT]->u.root.consistent_snapshot)
		snprintf(name, sizeof(name), "%" PRIu64 ".targets.json", m->version);
	else
		snprintf(name, sizeof(name), "targets.json");
	r = tuf_updater_fetch_metadata(u, name, tuf_updater_meta_cap(m, u->limits.targets_max),
				       &buf, &len);
	if (r < 0)
		return r;
	r = tuf_meta_file_check(m, buf, len, "targets.json");
	if (r < 0)
		return r;
	r = tuf_metadata_parse(buf, len, TUF_ROLE_TARGETS, &md);
	if (r < 0)
		return r;
	r = tuf_metadata_verify_root_role(md, &u->trusted[TUF_ROLE_ROOT]->u.root, TUF_ROLE_TARGETS);
	if (r < 0)
		return r;
	r = tuf_updater_check_meta_version(md, m, "targets.json", "snapshot.json");
	if (r < 0)
		return r;
	r = tuf_metadata_check_expiry(md, "targets.json", u->now);
	if (r < 0)
		return r;
	r = tuf_updater_persist(u, "targets.json", buf, len);
	if (r < 0)
		return r;
	tuf_metadata_free(u->trusted[TUF_ROLE_TARGETS]);
	u->trusted[TUF_ROLE_TARGETS] = TAKE_PTR(md);
	return 0;
}

int tuf_updater_refresh(struct tuf_updater *u)
{
	int r;

	if (!u->metadata_base_url || !u->fetcher)
		return sl_error(SL_E_INVALID, "refresh needs a metadata URL and a fetcher");
	u->refreshed = false;
	tuf_updater_clear_delegated(u);
	r = update_root(u);
	if (r >= 0)
		r = update_timestamp(u);
	if (r >= 0)
		r = update_snapshot(u);
	if (r >= 0)
		r = update_targets(u);
	if (r < 0)
		return r;
	u->refreshed = true;
	return 0;
}

int tuf_updater_init_root(const char *metadata_dir, const void *buf, size_t len)
{
	_cleanup_metadata_ struct tuf_metadata *md = NULL;
	_cleanup_close_ int dfd = -1;
	int r;

	r = parse_self_signed_root(buf, len, &md);
	if (r < 0)
		return r;
	dfd = open(metadata_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return sl_error(-errno, "%s: cannot open: %s", metadata_dir, strerror(errno));
	r = sl_write_file_atomic_at(dfd, "root.json", buf, len, METADATA_MODE);
	if (r < 0)
		return sl_error(r, "%s/root.json: cannot write: %s", metadata_dir, sl_strerror(r));
	return 0;
}
