/* SPDX-License-Identifier: Apache-2.0 */
/* Offline media: export a release as a complete TUF repository, import signed install receipts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "db.h"
#include "error.h"
#include "fileio.h"
#include "offline.h"
#include "repo.h"
#include "state.h"
#include "tuf/crypto.h"
#include "tuf/json.h"
#include "tuf/updater.h"
#include "tuf/writer.h"

/* Copy buffer of the artifact copy. */
#define COPY_CHUNK (1024 * 1024)
/* Deepest target path handled (components). */
#define PATH_DEPTH_MAX 32

DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_target_check *, tuf_target_check_free)

/* ---- Paths that never follow a symlink ---- */

/*
 * Open the relative path below dirfd component by component with O_NOFOLLOW, refusing empty,
 * "." and ".." components (TUF_E_PATH). With create, missing directories are made (0755) and
 * the last component is created with O_EXCL; otherwise it is opened read-only.
 */
static int open_beneath(int dirfd, const char *path, bool create, int *ret_fd)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int cur = -1;
	char *save = NULL, *comp, *next;
	unsigned depth = 0;
	int fd;

	if (!copy)
		return -ENOMEM;
	if (!*path || path[0] == '/')
		return cp_error(TUF_E_PATH, "target file '%.256s': not a relative path", path);
	cur = dup(dirfd);
	if (cur < 0)
		return -errno;
	comp = strtok_r(copy, "/", &save);
	while (comp) {
		next = strtok_r(NULL, "/", &save);
		if (!strcmp(comp, ".") || !strcmp(comp, "..") || ++depth > PATH_DEPTH_MAX)
			return cp_error(TUF_E_PATH, "target file '%.256s': unsafe path", path);
		if (!next) {
			fd = create ? openat(cur, comp,
					     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
					     0644)
				    : openat(cur, comp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				return -errno;
			*ret_fd = fd;
			return 0;
		}
		if (create && mkdirat(cur, comp, 0755) < 0 && errno != EEXIST)
			return -errno;
		fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return errno == ELOOP || errno == ENOTDIR
				   ? cp_error(TUF_E_PATH,
					      "target file '%.256s': '%s' is not a "
					      "directory",
					      path, comp)
				   : -errno;
		close(cur);
		cur = fd;
		comp = next;
	}
	return cp_error(TUF_E_PATH, "target file '%.256s': empty path", path);
}

/* Open out_dir: created when absent (*ret_created), else an empty directory, never a symlink. */
static int open_out_dir(const char *out_dir, int *ret_fd, bool *ret_created)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int fd, dup_fd;

	*ret_created = false;
	if (lstat(out_dir, &st) < 0) {
		if (errno != ENOENT)
			return cp_error(-errno, "%s: %m", out_dir);
		if (mkdir(out_dir, 0755) < 0)
			return cp_error(-errno, "%s: cannot create: %m", out_dir);
		*ret_created = true;
	} else if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
		return cp_error(SL_E_INVALID,
				"%s: not a directory (symbolic links are not followed)", out_dir);
	}
	fd = open(out_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cp_error(-errno, "%s: %m", out_dir);
	dup_fd = dup(fd);
	d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			break;
	closedir(d);
	if (de) {
		close(fd);
		return cp_error(-ENOTEMPTY,
				"%s: not empty (export-offline writes into an empty "
				"directory only)",
				out_dir);
	}
	*ret_fd = fd;
	return 0;
}

/* ---- Export ---- */

struct export_item {
	const struct tuf_target *t; /* borrowed from the served metadata */
	char *name;		    /* "<dir>/<sha256>.<basename>" below targets/ */
};

struct export
{
	struct cp_state *s;
	struct cp_served v;
	const char *release;
	struct export_item *items;
	size_t n_items;
	bool other_releases;
	char *partial;	    /* out_dir/.partial-XXXXXXXX */
	char *partial_meta; /* partial/metadata */
	int partial_fd, meta_fd, targets_fd;
};

static void export_clear(struct export *e)
{
	for (size_t i = 0; i < e->n_items; i++)
		free(e->items[i].name);
	free(e->items);
	cp_served_clear(&e->v);
	if (e->partial_fd >= 0)
		close(e->partial_fd);
	if (e->meta_fd >= 0)
		close(e->meta_fd);
	if (e->targets_fd >= 0)
		close(e->targets_fd);
	if (e->partial)
		(void)sl_rm_rf(e->partial);
	free(e->partial);
	free(e->partial_meta);
}

/* custom.sluice.release of t, or NULL. */
static const char *target_release(const struct tuf_target *t)
{
	struct json_object *sl, *rel;

	if (!t->custom || !json_object_object_get_ex(t->custom, "sluice", &sl) ||
	    !json_object_object_get_ex(sl, "release", &rel) ||
	    !json_object_is_type(rel, json_type_string))
		return NULL;
	return json_object_get_string(rel);
}

/* Add the release's targets of one targets document (exact bytes buf) to e->items. */
static int collect_role(struct export *e, const struct tuf_metadata *md, const uint8_t *buf,
			size_t len, bool top)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	int r;

	for (size_t i = 0; i < md->u.targets.n_targets; i++) {
		const struct tuf_target *t = &md->u.targets.targets[i];
		const char *rel = target_release(t);
		struct export_item *it;

		if (!rel || strcmp(rel, e->release) != 0) {
			e->other_releases |= top && rel;
			continue;
		}
		if (e->n_items == CP_OFFLINE_MAX_ARTIFACTS)
			return cp_error(SL_E_TOO_LARGE, "release %s: more than %d artifacts",
					e->release, CP_OFFLINE_MAX_ARTIFACTS);
		if (!doc && (r = tuf_writer_load(buf, len, TUF_ROLE_TARGETS, &doc)) < 0)
			return r;
		it = &e->items[e->n_items];
		r = tuf_writer_target_filename(doc, t->path, &it->name);
		if (r < 0)
			return cp_error(r, "target %s: %s", t->path, sl_error_message(r));
		it->t = t;
		e->n_items++;
	}
	return 0;
}

static int collect(struct export *e)
{
	int r;

	e->items = calloc(CP_OFFLINE_MAX_ARTIFACTS, sizeof(*e->items));
	if (!e->items)
		return -ENOMEM;
	r = collect_role(e, e->v.targets, e->v.targets_buf, e->v.targets_len, true);
	for (size_t i = 0; r >= 0 && i < e->v.n_roles; i++)
		r = collect_role(e, e->v.roles[i].md, e->v.roles[i].buf, e->v.roles[i].len, false);
	if (r >= 0 && e->n_items == 0)
		r = cp_error(TUF_E_NOT_FOUND,
			     "release %s: no target of the served metadata "
			     "belongs to it",
			     e->release);
	return r;
}

/* The recorded SHA-256 of root version (roots table), to check the file being exported. */
static int root_recorded_sha256(struct cp_state *s, uint64_t version, char ret[65])
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	const unsigned char *txt;
	int r, rc;

	r = cp_db_prepare(s->db, "SELECT sha256 FROM roots WHERE version = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)version);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? cp_error(CP_E_STATE,
						    "root version %" PRIu64 " is not "
						    "recorded",
						    version)
					 : cp_db_error(s->db, rc, "database: roots");
	txt = sqlite3_column_text(st, 0);
	snprintf(ret, 65, "%s", txt ? (const char *)txt : "");
	return 0;
}

static int write_roots(struct export *e)
{
	for (uint64_t n = e->v.first_root; n <= e->v.root->version; n++) {
		_cleanup_free_ uint8_t *buf = NULL;
		char name[64], want[65], got[65];
		size_t len;
		int r;

		snprintf(name, sizeof(name), "%" PRIu64 ".root.json", n);
		r = cp_repo_read_meta(e->s, name, TUF_DEFAULT_ROOT_MAX, &buf, &len);
		if (r < 0)
			return cp_error(r, "repository %s: %s", name, sl_error_message(r));
		r = root_recorded_sha256(e->s, n, want);
		if (r < 0)
			return r;
		tuf_sha256_hex(buf, len, got);
		if (strcmp(want, got) != 0)
			return cp_error(CP_E_STATE,
					"repository %s: SHA-256 %s differs from the "
					"recorded %s",
					name, got, want);
		r = sl_write_file_atomic_at(e->meta_fd, name, buf, len, 0644);
		if (r < 0)
			return cp_error(r, "%s/%s: %s", e->partial_meta, name, sl_strerror(r));
	}
	return 0;
}

static int write_meta(struct export *e, const char *role, uint64_t version, const uint8_t *buf,
		      size_t len)
{
	_cleanup_free_ char *name = NULL;
	int r;

	r = tuf_writer_metadata_filename(role, version, true, &name);
	if (r >= 0)
		r = sl_write_file_atomic_at(e->meta_fd, name, buf, len, 0644);
	if (r < 0)
		return cp_error(r, "%s/%s: %s", e->partial_meta, name ? name : role,
				sl_error_message(r));
	return 0;
}

/* The targets metadata as served, then a fresh snapshot and timestamp for the medium. */
static int write_metadata(struct export *e, int64_t now, unsigned days,
			  struct cp_export_result *res)
{
	_cleanup_(json_object_putp) struct json_object *root_doc = NULL;
	_cleanup_free_ struct cp_meta_entry *meta = NULL;
	_cleanup_free_ uint8_t *snap = NULL;
	unsigned snap_days = days > TUF_WRITER_SNAPSHOT_DAYS ? days : TUF_WRITER_SNAPSHOT_DAYS;
	size_t n = 0, snap_len;
	int r;

	r = write_roots(e);
	if (r >= 0)
		r = write_meta(e, "targets", e->v.targets->version, e->v.targets_buf,
			       e->v.targets_len);
	for (size_t i = 0; r >= 0 && i < e->v.n_roles; i++)
		r = write_meta(e, e->v.roles[i].name, e->v.roles[i].md->version, e->v.roles[i].buf,
			       e->v.roles[i].len);
	if (r < 0)
		return r;
	meta = calloc(e->v.n_roles + 1, sizeof(*meta));
	if (!meta)
		return -ENOMEM;
	meta[n++] = (struct cp_meta_entry){"targets", e->v.targets->version, e->v.targets_buf,
					   e->v.targets_len};
	for (size_t i = 0; i < e->v.n_roles; i++)
		meta[n++] = (struct cp_meta_entry){e->v.roles[i].name, e->v.roles[i].md->version,
						   e->v.roles[i].buf, e->v.roles[i].len};
	r = tuf_writer_load(e->v.root_buf, e->v.root_len, TUF_ROLE_ROOT, &root_doc);
	if (r >= 0)
		r = cp_repo_write_snapshot_to(e->s, &e->v, root_doc, meta, n, now, e->partial_meta,
					      snap_days, &res->snapshot_version, &snap, &snap_len);
	if (r >= 0)
		r = cp_repo_write_timestamp_to(e->s, &e->v, root_doc, res->snapshot_version, snap,
					       snap_len, now, e->partial_meta, days,
					       &res->timestamp_version);
	return r;
}

/* Copy one artifact from the served targets into the medium, checking it as a client would. */
static int copy_item(struct export *e, const struct export_item *it,
		     const struct cp_offline_progress *pr)
{
	_cleanup_(tuf_target_check_freep) struct tuf_target_check *c = NULL;
	_cleanup_close_ int src_dir = -1, src = -1, dst = -1;
	_cleanup_free_ uint8_t *buf = malloc(COPY_CHUNK);
	struct stat st;
	ssize_t k;
	int r;

	if (!buf)
		return -ENOMEM;
	src_dir = open(e->s->targets_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src_dir < 0)
		return cp_error(CP_E_STATE, "%s: %m", e->s->targets_dir);
	r = open_beneath(src_dir, it->name, false, &src);
	if (r < 0)
		return cp_error(r == -ENOENT ? CP_E_STATE : r, "repository targets/%s: %s",
				it->name, r == -ENOENT ? "missing" : sl_error_message(r));
	if (fstat(src, &st) < 0 || !S_ISREG(st.st_mode))
		return cp_error(CP_E_STATE, "repository targets/%s: not a regular file", it->name);
	r = open_beneath(e->targets_fd, it->name, true, &dst);
	if (r == -EEXIST)
		return 0; /* the same content address listed twice: one copy */
	if (r < 0)
		return cp_error(r, "%s/targets/%s: %s", e->partial, it->name, sl_error_message(r));
	r = tuf_target_check_new(it->t, &c);
	if (r < 0)
		return r;
	while ((k = read(src, buf, COPY_CHUNK)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return cp_error(-errno, "repository targets/%s: %m", it->name);
		}
		r = tuf_target_check_update(c, buf, (size_t)k);
		if (r >= 0)
			r = sl_write_all(dst, buf, (size_t)k);
		if (r < 0)
			return cp_error(r, "targets/%s: %s", it->name, sl_error_message(r));
		if (pr && pr->add)
			pr->add(pr->userdata, (uint64_t)k);
	}
	r = tuf_target_check_final(c);
	if (r < 0)
		return cp_error(r, "repository targets/%s: %s", it->name, sl_error_message(r));
	if (fsync(dst) < 0)
		return cp_error(-errno, "targets/%s: fsync: %m", it->name);
	return 1;
}

static int copy_items(struct export *e, const struct cp_offline_progress *pr,
		      struct cp_export_result *res)
{
	uint64_t total = 0;
	int r = 0;

	for (size_t i = 0; i < e->n_items; i++)
		total += e->items[i].t->length;
	if (pr && pr->begin)
		pr->begin(pr->userdata, total);
	for (size_t i = 0; r >= 0 && i < e->n_items; i++) {
		r = copy_item(e, &e->items[i], pr);
		if (r > 0) {
			res->n_artifacts++;
			res->bytes += e->items[i].t->length;
		}
	}
	if (pr && pr->end)
		pr->end(pr->userdata);
	return r < 0 ? r : 0;
}

/* out_dir/.partial-<16 hex>, 0700, with metadata/ and targets/ inside. */
static int make_partial(struct export *e, int out_fd, const char *out_dir)
{
	uint8_t rnd[8];
	char name[32], hex[17];

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -errno;
	sl_hex_encode(rnd, sizeof(rnd), hex);
	snprintf(name, sizeof(name), ".partial-%s", hex);
	if (mkdirat(out_fd, name, 0700) < 0)
		return cp_error(-errno, "%s/%s: %m", out_dir, name);
	if (asprintf(&e->partial, "%s/%s", out_dir, name) < 0 ||
	    asprintf(&e->partial_meta, "%s/metadata", e->partial) < 0)
		return -ENOMEM;
	e->partial_fd = openat(out_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (e->partial_fd < 0 || mkdirat(e->partial_fd, "metadata", 0755) < 0 ||
	    mkdirat(e->partial_fd, "targets", 0755) < 0)
		return cp_error(-errno, "%s: %m", e->partial);
	e->meta_fd = openat(e->partial_fd, "metadata", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	e->targets_fd = openat(e->partial_fd, "targets", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (e->meta_fd < 0 || e->targets_fd < 0)
		return cp_error(-errno, "%s: %m", e->partial);
	return 0;
}

/* Move targets/ then metadata/ (the part that makes the medium usable) into out_dir. */
static int finish(struct export *e, int out_fd, const char *out_dir)
{
	if (fsync(e->targets_fd) < 0 || fsync(e->meta_fd) < 0 || fsync(e->partial_fd) < 0)
		return cp_error(-errno, "%s: fsync: %m", e->partial);
	if (renameat(e->partial_fd, "targets", out_fd, "targets") < 0)
		return cp_error(-errno, "%s/targets: %m", out_dir);
	if (renameat(e->partial_fd, "metadata", out_fd, "metadata") < 0) {
		int r = -errno;

		(void)renameat(out_fd, "targets", e->partial_fd, "targets");
		return cp_error(r, "%s/metadata: %s", out_dir, strerror(-r));
	}
	if (fsync(out_fd) < 0)
		return cp_error(-errno, "%s: fsync: %m", out_dir);
	return 0;
}

static void result_expiry(const struct export *e, struct cp_export_result *res)
{
	int64_t min = res->timestamp_expires;

	if (e->v.root->expires < min)
		min = e->v.root->expires;
	if (e->v.targets->expires < min)
		min = e->v.targets->expires;
	for (size_t i = 0; i < e->v.n_roles; i++)
		if (e->v.roles[i].md->expires < min)
			min = e->v.roles[i].md->expires;
	res->usable_until = min;
}

static int export_locked(struct export *e, const char *out_dir, int out_fd, unsigned days,
			 const char *actor, const struct cp_offline_progress *pr,
			 struct cp_export_result *res)
{
	int64_t now = cp_state_now(e->s);
	char detail[1024], exp[21];
	int r;

	r = cp_repo_load(e->s, &e->v);
	if (r < 0)
		return r;
	if (!e->v.timestamp)
		return cp_error(CP_E_STATE, "nothing is published yet");
	r = collect(e);
	if (r >= 0)
		r = make_partial(e, out_fd, out_dir);
	if (r >= 0)
		r = write_metadata(e, now, days, res);
	if (r >= 0)
		r = copy_items(e, pr, res);
	if (r >= 0)
		r = finish(e, out_fd, out_dir);
	if (r < 0)
		return r;
	res->first_root = e->v.first_root;
	res->root_version = e->v.root->version;
	res->targets_version = e->v.targets->version;
	res->n_roles = e->v.n_roles;
	res->timestamp_expires = now + (int64_t)days * 86400;
	res->other_releases = e->other_releases;
	result_expiry(e, res);
	tuf_json_format_time(res->timestamp_expires, exp);
	snprintf(detail, sizeof(detail),
		 "release %.128s to %.512s: %zu artifacts, root %" PRIu64 "..%" PRIu64
		 ", targets %" PRIu64 ", snapshot %" PRIu64 ", timestamp %" PRIu64 " expiring %s",
		 e->release, out_dir, res->n_artifacts, res->first_root, res->root_version,
		 res->targets_version, res->snapshot_version, res->timestamp_version, exp);
	r = cp_audit_append(e->s, actor, "export-offline", detail);
	if (r < 0) {
		/* Not audited, not exported: take the medium's contents back out. */
		(void)renameat(out_fd, "metadata", e->partial_fd, "metadata");
		(void)renameat(out_fd, "targets", e->partial_fd, "targets");
	}
	return r;
}

int cp_offline_export(struct cp_state *s, const char *release, const char *out_dir,
		      unsigned timestamp_days, const char *actor,
		      const struct cp_offline_progress *progress, struct cp_export_result *ret)
{
	struct export e = {
	    .s = s, .release = release, .partial_fd = -1, .meta_fd = -1, .targets_fd = -1};
	struct cp_export_result res = {};
	_cleanup_close_ int lock = -1, out_fd = -1;
	bool created = false;
	int r;

	if (!release || !*release || strlen(release) > CP_OFFLINE_RELEASE_MAX)
		return cp_error(SL_E_INVALID, "release name: 1 to %d bytes",
				CP_OFFLINE_RELEASE_MAX);
	if (timestamp_days < 1 || timestamp_days > CP_OFFLINE_TIMESTAMP_DAYS_MAX)
		return cp_error(SL_E_INVALID, "timestamp lifetime: 1 to %d days",
				CP_OFFLINE_TIMESTAMP_DAYS_MAX);
	r = cp_state_lock(s, true, &lock);
	if (r < 0)
		return r;
	r = open_out_dir(out_dir, &out_fd, &created);
	if (r < 0)
		return r;
	r = export_locked(&e, out_dir, out_fd, timestamp_days, actor, progress, &res);
	export_clear(&e);
	if (r < 0) {
		if (created)
			(void)rmdir(out_dir);
		return r;
	}
	*ret = res;
	return 0;
}
