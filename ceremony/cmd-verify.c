/* SPDX-License-Identifier: Apache-2.0 */
/* Verb verify: a bundle or a repository, offline, with the verifier the device runs. */
#include <fcntl.h>
#include <stdarg.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bundle.h"
#include "verb.h"
#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "tuf/fetcher.h"
#include "tuf/updater.h"
#include "tuf/writer.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_metadata *, tuf_metadata_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cer_bundle *, cer_bundle_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_updater *, tuf_updater_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_fetcher *, tuf_fetcher_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_target_check *, tuf_target_check_free)

#define CHUNK (1024 * 1024)
/* Target paths collected from a repository's delegated roles. */
#define MAX_REPO_TARGETS 100000

enum { OPT_ROOT = 0x100, OPT_QUIET };

struct report {
	bool quiet;
	unsigned ok;
	size_t artifacts; /* targets whose file was checked */
};

static void ok(struct report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ok(struct report *rep, const char *fmt, ...)
{
	va_list ap;

	rep->ok++;
	if (rep->quiet)
		return;
	printf("  ok    ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static int fail_line(int r, const char *what)
{
	printf("  FAIL  %s: %s [%s]\n", what, sl_error_message(r), sl_error_name(r));
	return r;
}

static int parse_file(const char *path, enum tuf_role_type type, size_t max,
		      struct tuf_metadata **ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	r = sl_read_file_at(AT_FDCWD, path, max, &buf, &len);
	if (r < 0)
		return r == SL_E_TOO_LARGE || r == SL_E_INVALID
			   ? r
			   : sl_error(r, "%s: cannot read: %s", path, sl_strerror(r));
	return tuf_metadata_parse(buf, len, type, ret);
}

/* A root trusted as given: parsed and signed by its own threshold. */
static int load_anchor(const char *path, struct tuf_metadata **ret)
{
	_cleanup_(tuf_metadata_freep) struct tuf_metadata *md = NULL;
	int r;

	r = parse_file(path, TUF_ROLE_ROOT, TUF_DEFAULT_ROOT_MAX, &md);
	if (r >= 0)
		r = tuf_metadata_verify_root_role(md, &md->u.root, TUF_ROLE_ROOT);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(md);
	return 0;
}

/* Stream dir/targets/<path> through the target check of the client. */
static int check_artifact(const char *dir, const struct tuf_target *t)
{
	_cleanup_(tuf_target_check_freep) struct tuf_target_check *c = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ uint8_t *buf = malloc(CHUNK);
	_cleanup_close_ int fd = -1;
	struct stat st;
	ssize_t k;
	int r;

	if (!buf || asprintf(&path, "%s/targets/%s", dir, t->path) < 0)
		return sl_error(SL_E_NOMEM, "out of memory");
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sl_error(TUF_E_NOT_FOUND, "%s: missing from the bundle: %s", t->path,
				strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return sl_error(SL_E_INVALID, "%s: not a regular file", path);
	r = tuf_target_check_new(t, &c);
	while (r >= 0 && (k = read(fd, buf, CHUNK)) > 0)
		r = tuf_target_check_update(c, buf, (size_t)k);
	if (r >= 0 && k < 0)
		r = sl_error(-errno, "%s: %s", path, strerror(errno));
	if (r >= 0)
		r = tuf_target_check_final(c);
	return r;
}

/* Walk the root versions in the bundle newer than *trusted, as the client's §5.3 does. */
static int verify_root_chain(const char *dir, const struct cer_bundle *b,
			     struct tuf_metadata **trusted, struct report *rep)
{
	for (uint64_t next = (*trusted)->version + 1;; next++) {
		_cleanup_(tuf_metadata_freep) struct tuf_metadata *md = NULL;
		_cleanup_free_ char *path = NULL;
		const struct cer_bundle_meta *m = NULL;
		int r;

		for (size_t i = 0; i < b->n_meta && !m; i++)
			if (!strcmp(b->meta[i].role, "root") && b->meta[i].version == next)
				m = &b->meta[i];
		if (!m)
			return 0;
		if (asprintf(&path, "%s/%s", dir, m->path) < 0)
			return sl_error(SL_E_NOMEM, "out of memory");
		r = parse_file(path, TUF_ROLE_ROOT, TUF_DEFAULT_ROOT_MAX, &md);
		if (r >= 0 && md->version != next)
			r = sl_error(TUF_E_VERSION,
				     "%s: holds root version %" PRIu64 ", expected %" PRIu64,
				     m->path, md->version, next);
		if (r >= 0)
			r = tuf_metadata_verify_root_role(md, &(*trusted)->u.root, TUF_ROLE_ROOT);
		if (r >= 0)
			r = tuf_metadata_verify_root_role(md, &md->u.root, TUF_ROLE_ROOT);
		if (r < 0)
			return fail_line(r, m->path);
		ok(rep,
		   "root version %" PRIu64 " signed by the thresholds of versions %" PRIu64
		   " and %" PRIu64,
		   next, next - 1, next);
		tuf_metadata_free(*trusted);
		*trusted = TAKE_PTR(md);
	}
}

static int check_expiry(const struct tuf_metadata *md, const char *role, const char *file,
			struct report *rep)
{
	char date[11];
	int r = tuf_metadata_check_expiry(md, role, (int64_t)time(NULL));

	if (r < 0)
		return fail_line(r, file);
	cli_date(md->expires, date);
	ok(rep, "%s version %" PRIu64 " valid, expires %s", role, md->version, date);
	return 0;
}

static int check_targets_of(const char *dir, const struct tuf_metadata *md, const char *role,
			    const struct tuf_delegated_role *dr, struct report *rep)
{
	for (size_t i = 0; i < md->u.targets.n_targets; i++) {
		const struct tuf_target *t = &md->u.targets.targets[i];
		int r = 0;

		if (dr && !tuf_delegated_role_matches(dr, t->path))
			r = sl_error(TUF_E_PATH, "%s: role %s may not sign target %s", role, role,
				     t->path);
		if (r >= 0)
			r = check_artifact(dir, t);
		if (r < 0)
			return fail_line(r, t->path);
		rep->artifacts++;
		ok(rep, "%s (%" PRIu64 " bytes, signed by %s): length and hashes match", t->path,
		   t->length, role);
	}
	return 0;
}

static int verify_delegated(const char *dir, const struct cer_bundle_meta *m,
			    const struct tuf_metadata *targets, struct report *rep)
{
	_cleanup_(tuf_metadata_freep) struct tuf_metadata *md = NULL;
	_cleanup_free_ char *path = NULL;
	const struct tuf_delegations *d = targets->u.targets.delegations;
	const struct tuf_delegated_role *dr = NULL;
	int r;

	for (size_t i = 0; d && i < d->n_roles && !dr; i++)
		if (strcmp(d->roles[i].name, m->role) == 0)
			dr = &d->roles[i];
	if (!dr)
		return fail_line(
		    sl_error(TUF_E_DELEGATION, "targets does not delegate to '%s'", m->role),
		    m->path);
	if (asprintf(&path, "%s/%s", dir, m->path) < 0)
		return sl_error(SL_E_NOMEM, "out of memory");
	r = parse_file(path, TUF_ROLE_TARGETS, TUF_DEFAULT_TARGETS_MAX, &md);
	if (r >= 0 && md->version != m->version)
		r = sl_error(TUF_E_VERSION, "%s: version %" PRIu64 ", bundle.json says %" PRIu64,
			     m->path, md->version, m->version);
	if (r >= 0)
		r = tuf_metadata_verify_delegated(md, d, &dr->keys, dr->name);
	if (r < 0)
		return fail_line(r, m->path);
	r = check_expiry(md, m->role, m->path, rep);
	if (r >= 0)
		r = check_targets_of(dir, md, m->role, dr, rep);
	return r;
}

static const struct cer_bundle_meta *find_meta(const struct cer_bundle *b, const char *role)
{
	for (size_t i = 0; i < b->n_meta; i++)
		if (strcmp(b->meta[i].role, role) == 0)
			return &b->meta[i];
	return NULL;
}

static int verify_targets(const char *dir, const struct cer_bundle *b,
			  const struct tuf_metadata *root, struct report *rep)
{
	_cleanup_(tuf_metadata_freep) struct tuf_metadata *md = NULL;
	_cleanup_free_ char *path = NULL;
	const struct cer_bundle_meta *m = find_meta(b, "targets");
	int r;

	if (!m)
		return fail_line(sl_error(TUF_E_NOT_FOUND, "no targets metadata"), "bundle.json");
	if (asprintf(&path, "%s/%s", dir, m->path) < 0)
		return sl_error(SL_E_NOMEM, "out of memory");
	r = parse_file(path, TUF_ROLE_TARGETS, TUF_DEFAULT_TARGETS_MAX, &md);
	if (r >= 0 && md->version != m->version)
		r = sl_error(TUF_E_VERSION, "%s: version %" PRIu64 ", bundle.json says %" PRIu64,
			     m->path, md->version, m->version);
	if (r >= 0)
		r = tuf_metadata_verify_root_role(md, &root->u.root, TUF_ROLE_TARGETS);
	if (r < 0)
		return fail_line(r, m->path);
	r = check_expiry(md, "targets", m->path, rep);
	if (r >= 0)
		r = check_targets_of(dir, md, "targets", NULL, rep);
	for (size_t i = 0; r >= 0 && i < b->n_meta; i++)
		if (strcmp(b->meta[i].role, "root") && strcmp(b->meta[i].role, "targets"))
			r = verify_delegated(dir, &b->meta[i], md, rep);
	return r;
}

/* Every artifact file of the bundle must be a target of its metadata. */
static int count_artifacts(const struct cer_bundle *b, size_t *ret)
{
	struct json_object *files = json_object_object_get(b->doc, "files");
	size_t n = 0;

	for (size_t i = 0; i < json_object_array_length(files); i++) {
		const char *p = json_object_get_string(
		    json_object_object_get(json_object_array_get_idx(files, i), "path"));

		n += strncmp(p, "targets/", 8) == 0;
	}
	*ret = n;
	return 0;
}

static int trusted_root_of(const char *dir, const struct cer_bundle *b, const char *root_path,
			   struct tuf_metadata **ret)
{
	const struct cer_bundle_meta *newest = NULL;
	_cleanup_free_ char *path = NULL;

	if (root_path)
		return load_anchor(root_path, ret);
	for (size_t i = 0; i < b->n_meta; i++)
		if (!strcmp(b->meta[i].role, "root") &&
		    (!newest || b->meta[i].version > newest->version))
			newest = &b->meta[i];
	if (!newest)
		return sl_error(SL_E_INVALID, "the bundle holds no root: give --root ROOT.json");
	printf("  note  no --root given: trusting the bundle's own root version %" PRIu64
	       " (a consistency check, not a trust decision)\n",
	       newest->version);
	if (asprintf(&path, "%s/%s", dir, newest->path) < 0)
		return sl_error(SL_E_NOMEM, "out of memory");
	return load_anchor(path, ret);
}

int cli_verify_bundle(const char *dir, const char *root_path, bool quiet)
{
	_cleanup_(cer_bundle_freep) struct cer_bundle *b = NULL;
	_cleanup_(tuf_metadata_freep) struct tuf_metadata *root = NULL;
	struct report rep = {.quiet = quiet};
	size_t n_artifacts = 0;
	int r;

	r = cer_bundle_check(dir, &b);
	if (r < 0)
		return fail_line(r, "bundle.json");
	ok(&rep,
	   "bundle.json: release %s, %zu files, %" PRIu64 " bytes, every length and "
	   "sha256 matches",
	   b->release, b->n_files, b->total_bytes);
	r = trusted_root_of(dir, b, root_path, &root);
	if (r < 0)
		return fail_line(r, root_path ? root_path : "root");
	ok(&rep, "trusted root version %" PRIu64 " is signed by its own threshold", root->version);
	r = verify_root_chain(dir, b, &root, &rep);
	if (r >= 0)
		r = check_expiry(root, "root", "root", &rep);
	if (r < 0)
		return r;
	r = verify_targets(dir, b, root, &rep);
	if (r < 0)
		return r;
	count_artifacts(b, &n_artifacts);
	if (n_artifacts != rep.artifacts)
		return fail_line(sl_error(SL_E_INVALID,
					  "%zu files under targets/ but the metadata "
					  "signs %zu",
					  n_artifacts, rep.artifacts),
				 "targets/");
	if (!quiet)
		printf("bundle %s: VERIFIED (%u checks)\n", dir, rep.ok);
	return 0;
}

/* ---- repositories: the real updater over file:// ---- */

struct path_list {
	char **v;
	size_t n;
};

static void path_list_clear(struct path_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct path_list){0};
}

static int path_list_add(struct path_list *l, const char *p)
{
	char **v;

	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], p) == 0)
			return 0;
	if (l->n >= MAX_REPO_TARGETS)
		return sl_error(SL_E_TOO_LARGE, "more than %d targets", MAX_REPO_TARGETS);
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return sl_error(SL_E_NOMEM, "out of memory");
	l->v = v;
	l->v[l->n] = strdup(p);
	return l->v[l->n++] ? 0 : sl_error(SL_E_NOMEM, "out of memory");
}

/*
 * The target paths to check: top-level targets (trusted) and those listed by the delegated
 * roles the trusted snapshot names (read here only to learn the names; each one is then
 * looked up, verified and downloaded through the updater).
 */
static int collect_targets(struct tuf_updater *u, const char *repo, struct path_list *l)
{
	const struct tuf_metadata *t = tuf_updater_trusted(u, TUF_ROLE_TARGETS);
	const struct tuf_metadata *s = tuf_updater_trusted(u, TUF_ROLE_SNAPSHOT);
	bool consistent = tuf_updater_trusted(u, TUF_ROLE_ROOT)->u.root.consistent_snapshot;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < t->u.targets.n_targets; i++)
		r = path_list_add(l, t->u.targets.targets[i].path);
	for (size_t i = 0; r >= 0 && i < s->u.snapshot.n_meta; i++) {
		const struct tuf_meta_file *m = &s->u.snapshot.meta[i];
		_cleanup_(tuf_metadata_freep) struct tuf_metadata *md = NULL;
		_cleanup_free_ char *role = NULL, *name = NULL, *path = NULL;
		size_t n = strlen(m->name);

		if (strcmp(m->name, "targets.json") == 0 || n <= 5)
			continue;
		role = strndup(m->name, n - 5);
		if (!role ||
		    tuf_writer_metadata_filename(role, m->version, consistent, &name) < 0 ||
		    asprintf(&path, "%s/metadata/%s", repo, name) < 0)
			return sl_error(SL_E_NOMEM, "out of memory");
		if (parse_file(path, TUF_ROLE_TARGETS, TUF_DEFAULT_TARGETS_MAX, &md) < 0)
			continue; /* the updater reports it if a lookup needs it */
		for (size_t k = 0; r >= 0 && k < md->u.targets.n_targets; k++)
			r = path_list_add(l, md->u.targets.targets[k].path);
	}
	return r;
}

static int download_all(struct tuf_updater *u, const struct path_list *l, const char *tmp,
			struct report *rep)
{
	for (size_t i = 0; i < l->n; i++) {
		_cleanup_free_ char *q = NULL, *file = NULL;
		const struct tuf_target *t = NULL;
		int r;

		r = tuf_updater_get_target(u, l->v[i], &t);
		if (r >= 0)
			r = tuf_path_quote(l->v[i], &q);
		if (r >= 0 && asprintf(&file, "%s/%s", tmp, q) < 0)
			r = sl_error(SL_E_NOMEM, "out of memory");
		if (r >= 0)
			r = tuf_updater_download_target(u, t, file);
		if (r < 0)
			return fail_line(r, l->v[i]);
		ok(rep, "%s (%" PRIu64 " bytes): found, downloaded and verified", l->v[i],
		   t->length);
	}
	return 0;
}

static int repo_updater(const char *repo, const char *meta_dir, struct tuf_fetcher *f,
			struct tuf_updater **ret)
{
	_cleanup_free_ char *abs = realpath(repo, NULL), *murl = NULL, *turl = NULL;
	struct tuf_updater_config cfg = {.metadata_dir = meta_dir, .fetcher = f};

	if (!abs)
		return sl_error(-errno, "%s: %s", repo, strerror(errno));
	if (asprintf(&murl, "file://%s/metadata/", abs) < 0 ||
	    asprintf(&turl, "file://%s/targets/", abs) < 0)
		return sl_error(SL_E_NOMEM, "out of memory");
	cfg.metadata_base_url = murl;
	cfg.target_base_url = turl;
	return tuf_updater_new(&cfg, ret);
}

static int verify_repo_in(const char *repo, const char *root_path, const char *tmp,
			  struct report *rep)
{
	_cleanup_(tuf_fetcher_freep) struct tuf_fetcher *f = NULL;
	_cleanup_(tuf_updater_freep) struct tuf_updater *u = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_free_ char *meta = sl_cli_path_join(tmp, "metadata");
	_cleanup_free_ char *targets = sl_cli_path_join(tmp, "targets");
	struct path_list l = {0};
	size_t len;
	int r;

	if (!meta || !targets)
		return sl_error(SL_E_NOMEM, "out of memory");
	r = sl_read_file_at(AT_FDCWD, root_path, TUF_DEFAULT_ROOT_MAX, &buf, &len);
	if (r >= 0)
		r = sl_mkdir_p(meta, 0700);
	if (r >= 0)
		r = sl_mkdir_p(targets, 0700);
	if (r >= 0)
		r = tuf_updater_init_root(meta, buf, len);
	if (r < 0)
		return fail_line(r, root_path);
	ok(rep, "trust anchor %s is signed by its own threshold", root_path);
	r = tuf_fetcher_new(NULL, &f);
	if (r >= 0)
		r = repo_updater(repo, meta, f, &u);
	if (r >= 0)
		r = tuf_updater_refresh(u);
	if (r < 0)
		return fail_line(r, repo);
	for (enum tuf_role_type t = TUF_ROLE_ROOT; t <= TUF_ROLE_TARGETS; t++) {
		const struct tuf_metadata *md = tuf_updater_trusted(u, t);
		char date[11];

		cli_date(md->expires, date);
		ok(rep, "%s version %" PRIu64 " verified by the client workflow, expires %s",
		   tuf_role_type_name(t), md->version, date);
	}
	r = collect_targets(u, repo, &l);
	if (r >= 0)
		r = download_all(u, &l, targets, rep);
	else
		fail_line(r, repo);
	path_list_clear(&l);
	return r;
}

static int verify_repo(const char *repo, const char *root_path)
{
	_cleanup_free_ char *tmp = NULL, *anchor = NULL;
	struct report rep = {0};
	int r;

	if (!root_path) {
		anchor = sl_cli_path_join(repo, "metadata/1.root.json");
		if (!anchor)
			return sl_error(SL_E_NOMEM, "out of memory");
		printf("  note  no --root given: trusting the repository's own 1.root.json (a "
		       "consistency check, not a trust decision)\n");
		root_path = anchor;
	}
	r = sl_mkdtemp_private(NULL, &tmp);
	if (r < 0)
		return fail_line(r, "temporary directory");
	r = verify_repo_in(repo, root_path, tmp, &rep);
	sl_rm_rf(tmp);
	if (r >= 0)
		printf("repository %s: VERIFIED (%u checks)\n", repo, rep.ok);
	return r;
}

static void verify_help(void)
{
	printf("Usage: sluice-ceremony verify BUNDLE|REPOSITORY [--root ROOT.json]\n\n"
	       "Verify offline, with the verifier the device uses. A bundle (a directory with\n"
	       "bundle.json): the index, every file's length and sha256, the root chain from\n"
	       "ROOT.json, targets and delegated metadata, every artifact against the signed\n"
	       "targets. A repository (metadata/ and targets/): the device's client workflow\n"
	       "over file:// from ROOT.json, then every target is looked up and downloaded.\n"
	       "Without --root, the bundle's newest root or the repository's 1.root.json is\n"
	       "trusted (a consistency check only). Exit 0 when everything verifies.\n");
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"root", required_argument, NULL, OPT_ROOT},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	_cleanup_free_ char *index = NULL;
	const char *root = NULL, *dir;
	struct stat st;
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			root = optarg;
			break;
		case 'h':
			verify_help();
			return SL_CLI_EXIT_OK;
		default:
			return sl_cli_bad_option(argv[0], argv);
		}
	}
	if (optind + 1 != argc)
		return sl_cli_usage(argv[0], "exactly one bundle or repository directory is required");
	dir = argv[optind];
	index = sl_cli_path_join(dir, CER_BUNDLE_INDEX_NAME);
	if (!index)
		return SL_CLI_EXIT_FAIL;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return sl_cli_fail(sl_error(-ENOTDIR, "%s: not a directory", dir), "verify", dir);
	printf("verifying %s\n", dir);
	if (lstat(index, &st) == 0)
		r = cli_verify_bundle(dir, root, false);
	else
		r = verify_repo(dir, root);
	if (r < 0)
		return sl_cli_fail(r, "verify", dir);
	return SL_CLI_EXIT_OK;
}
