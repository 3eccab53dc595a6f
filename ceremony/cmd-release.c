/* SPDX-License-Identifier: Apache-2.0 */
/* Verb release: manifest -> signed targets (and delegated roles) -> a verified release bundle. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bundle.h"
#include "verb.h"
#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "manifest.h"
#include "progress.h"
#include "pubkey.h"
#include "signer.h"
#include "tuf/updater.h"
#include "tuf/writer.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cer_manifest *, cer_manifest_free)

#define MAX_KEYS 16
#define MAX_ROOTS 16
#define COPY_CHUNK (1024 * 1024)

enum {
	OPT_MANIFEST = 0x100,
	OPT_ROOT,
	OPT_PREV_TARGETS,
	OPT_KEY,
	OPT_INCLUDE_ROOT,
	OPT_EXPIRES_DAYS,
	OPT_OUT,
	OPT_PASS_FD,
	OPT_TRANSCRIPT,
	OPT_JSON,
};

struct release_args {
	const char *manifest, *root, *prev_targets, *out, *transcript;
	const char *keys[MAX_KEYS], *roots[MAX_ROOTS];
	size_t n_keys, n_roots;
	uint64_t expires_days;
	int pass_fd;
	bool json;
};

/* Everything one release builds; released by release_clear(). */
struct release {
	struct cer_manifest *m;
	char *manifest_dir;
	struct json_object *root;
	struct json_object *targets;
	struct json_object *deleg[CER_MANIFEST_MAX_DELEGATIONS];
	uint64_t version;
	unsigned days;
	struct cer_key *keys[MAX_KEYS];
	struct tuf_signer *signers[MAX_KEYS];
	struct cer_keyfile_info info[MAX_KEYS];
	char *tmp; /* the bundle under construction */
};

static void release_clear(struct release *rl)
{
	cer_manifest_free(rl->m);
	free(rl->manifest_dir);
	json_object_put(rl->root);
	json_object_put(rl->targets);
	for (size_t i = 0; i < CER_MANIFEST_MAX_DELEGATIONS; i++)
		json_object_put(rl->deleg[i]);
	for (size_t i = 0; i < MAX_KEYS; i++) {
		tuf_signer_free(rl->signers[i]);
		cer_key_free(rl->keys[i]);
	}
	if (rl->tmp) {
		sl_rm_rf(rl->tmp);
		free(rl->tmp);
	}
}

/* A manifest-relative path: absolute paths stay, others are joined to the manifest's dir. */
static char *manifest_path(const struct release *rl, const char *p)
{
	return p[0] == '/' ? strdup(p) : sl_cli_path_join(rl->manifest_dir, p);
}

static int new_targets_doc(const struct release *rl, struct json_object **ret)
{
	int r = tuf_writer_new(TUF_ROLE_TARGETS, 0, ret);

	if (r >= 0)
		r = tuf_writer_set_version(*ret, rl->version);
	if (r >= 0)
		r = tuf_writer_set_expires_days(*ret, 0, rl->days);
	return r;
}

static int add_delegation(struct release *rl, size_t i)
{
	const struct cer_manifest_delegation *d = &rl->m->delegations[i];
	int r;

	r = tuf_writer_delegation_add_role(rl->targets, d->name, d->threshold, d->terminating,
					   d->paths, d->n_paths, NULL, 0);
	for (size_t k = 0; r >= 0 && k < d->n_keys; k++) {
		_cleanup_(json_object_putp) struct json_object *key = NULL;
		_cleanup_free_ char *path = manifest_path(rl, d->keys[k]);

		r = path ? cer_pubkey_load(path, d->name, &key, NULL) : SL_E_NOMEM;
		if (r >= 0)
			r = tuf_writer_delegation_add_key(rl->targets, d->name, key, NULL);
	}
	if (r >= 0)
		r = new_targets_doc(rl, &rl->deleg[i]);
	return r;
}

/* Versions, expiry, the empty targets document and its delegations. */
static int release_prepare(struct release *rl, const struct release_args *a)
{
	_cleanup_free_ char *name = NULL;
	uint64_t prev = 0;
	int r;

	r = cer_manifest_load(a->manifest, &rl->m);
	if (r < 0)
		return r;
	r = cli_path_split(a->manifest, &rl->manifest_dir, &name);
	if (r < 0)
		return r;
	r = cli_load_doc(a->root, "root", &rl->root);
	if (r < 0)
		return r;
	if (a->prev_targets) {
		_cleanup_(json_object_putp) struct json_object *p = NULL;

		r = cli_load_doc(a->prev_targets, "targets", &p);
		if (r >= 0)
			r = tuf_writer_get_version(p, &prev);
		if (r < 0)
			return r;
	}
	rl->version = prev + 1;
	rl->days = a->expires_days	 ? (unsigned)a->expires_days
		   : rl->m->expires_days ? rl->m->expires_days
					 : TUF_WRITER_TARGETS_DAYS;
	r = new_targets_doc(rl, &rl->targets);
	for (size_t i = 0; r >= 0 && i < rl->m->n_delegations; i++)
		r = add_delegation(rl, i);
	return r;
}

/* Which documents key i may sign: bit 0 targets, bit 1+j delegated role j. */
static uint64_t key_scope(const struct release *rl, size_t i)
{
	const char *id = rl->info[i].keyid;
	uint64_t scope = 0;

	if (cli_key_authorised(rl->targets, "targets", rl->root, id))
		scope |= 1;
	for (size_t j = 0; j < rl->m->n_delegations; j++)
		if (cli_key_authorised(rl->deleg[j], rl->m->delegations[j].name, rl->targets, id))
			scope |= 2ull << j;
	return scope;
}

/* Check every key may sign something (no passphrase yet), then open them all. */
static int release_keys(struct release *rl, const struct release_args *a)
{
	char fp[CER_FINGERPRINT_SIZE];
	int r;

	for (size_t i = 0; i < a->n_keys; i++) {
		r = cer_keyfile_inspect(a->keys[i], &rl->info[i]);
		if (r < 0)
			return r;
		if (!key_scope(rl, i))
			return sl_error(
			    TUF_E_SIGNATURE,
			    "%s: key %s (role %s) is neither a targets key of %s nor a "
			    "key of a delegated role of the manifest; nothing was signed",
			    a->keys[i], cli_fp(rl->info[i].keyid, fp), rl->info[i].role, a->root);
	}
	for (size_t i = 0; i < a->n_keys; i++) {
		r = cli_load_key(a->keys[i], a->pass_fd, &rl->keys[i]);
		if (r >= 0)
			r = cer_signer_new(rl->keys[i], &rl->signers[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Copy src into dst (created exclusively), fsynced, with a progress line on a terminal. */
static int copy_file(const char *src, const char *dst, const char *label)
{
	_cleanup_close_ int in = -1, out = -1;
	_cleanup_free_ uint8_t *buf = malloc(COPY_CHUNK);
	struct sl_progress p;
	struct stat st;
	ssize_t k;
	int r = 0;

	if (!buf)
		return sl_error(SL_E_NOMEM, "out of memory");
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return sl_error(-errno, "%s: cannot open: %s", src, strerror(errno));
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode))
		return sl_error(SL_E_INVALID, "%s: not a regular file", src);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (out < 0)
		return sl_error(-errno, "%s: cannot create: %s", dst, strerror(errno));
	sl_progress_begin(&p, label, (uint64_t)st.st_size);
	while (r >= 0 && (k = read(in, buf, COPY_CHUNK)) > 0) {
		r = sl_write_all(out, buf, (size_t)k);
		sl_progress_add(&p, (uint64_t)k);
	}
	sl_progress_end(&p);
	if (r >= 0 && k < 0)
		r = -errno;
	if (r >= 0 && fsync(out) < 0)
		r = -errno;
	if (r < 0)
		return sl_error(r, "%s: cannot copy to %s: %s", src, dst, strerror(-r));
	return 0;
}

struct hash_progress {
	struct sl_progress p;
	uint64_t last;
};

static void on_progress(void *userdata, uint64_t done, uint64_t total)
{
	struct hash_progress *h = userdata;

	(void)total;
	sl_progress_add(&h->p, done - h->last);
	h->last = done;
}

/* Copy artifact i into the bundle and add it, hashed from the bundle's copy, to its role. */
static int add_artifact(struct release *rl, size_t i)
{
	const struct cer_manifest_artifact *a = &rl->m->artifacts[i];
	_cleanup_(json_object_putp) struct json_object *custom = NULL;
	_cleanup_free_ char *src = manifest_path(rl, a->file), *dst = NULL, *dir = NULL,
			    *name = NULL, *label = NULL;
	struct json_object *doc = rl->targets;
	struct hash_progress h = {0};
	int r;

	if (!src || asprintf(&dst, "%s/targets/%s", rl->tmp, a->target) < 0 ||
	    asprintf(&label, "hash %s", a->target) < 0)
		return sl_error(SL_E_NOMEM, "out of memory");
	for (size_t j = 0; a->role && j < rl->m->n_delegations; j++)
		if (strcmp(rl->m->delegations[j].name, a->role) == 0)
			doc = rl->deleg[j];
	r = cli_path_split(dst, &dir, &name);
	if (r >= 0)
		r = sl_mkdir_p(dir, 0755);
	if (r >= 0)
		r = copy_file(src, dst, a->target);
	if (r >= 0)
		r = cer_manifest_custom(rl->m, a, &custom);
	if (r < 0)
		return r;
	sl_progress_begin(&h.p, label, 0);
	r = tuf_writer_targets_add_file(doc, a->target, dst, custom, on_progress, &h);
	sl_progress_end(&h.p);
	return r;
}

/* Sign with every key in its scope and write the metadata, each checked complete. */
static int release_sign(struct release *rl, size_t n_keys, struct cer_bundle_meta *meta,
			size_t *n_meta, char **names)
{
	_cleanup_free_ char *mdir = sl_cli_path_join(rl->tmp, "metadata");
	int r = mdir ? sl_mkdir_p(mdir, 0755) : SL_E_NOMEM;

	for (size_t i = 0; r >= 0 && i < n_keys; i++) {
		uint64_t scope = key_scope(rl, i);

		if (scope & 1)
			r = tuf_writer_sign(rl->targets, rl->signers[i]);
		for (size_t j = 0; r >= 0 && j < rl->m->n_delegations; j++)
			if (scope & (2ull << j))
				r = tuf_writer_sign(rl->deleg[j], rl->signers[i]);
	}
	for (size_t j = 0; r >= 0 && j <= rl->m->n_delegations; j++) {
		const char *role = j == 0 ? "targets" : rl->m->delegations[j - 1].name;
		struct json_object *doc = j == 0 ? rl->targets : rl->deleg[j - 1];

		r = tuf_writer_metadata_filename(role, rl->version, true, &names[j]);
		if (r >= 0)
			r = tuf_writer_write(doc, role, j == 0 ? rl->root : rl->targets, true, mdir,
					     names[j]);
		meta[(*n_meta)++] = (struct cer_bundle_meta){role, rl->version, NULL};
	}
	return r;
}

/* A root without its predecessor at hand: signed by its own threshold (client verifier). */
static int check_own_threshold(const char *path)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct tuf_metadata *md = NULL;
	size_t len;
	int r;

	r = sl_read_file_at(AT_FDCWD, path, TUF_DEFAULT_ROOT_MAX, &buf, &len);
	if (r >= 0)
		r = tuf_metadata_parse(buf, len, TUF_ROLE_ROOT, &md);
	if (r >= 0)
		r = tuf_metadata_verify_root_role(md, &md->u.root, TUF_ROLE_ROOT);
	tuf_metadata_free(md);
	return r;
}

/*
 * Copy included root files byte for byte as metadata/N.root.json: each complete against the
 * one before it in the list (both thresholds), the first against its own threshold.
 */
static int include_roots(struct release *rl, const struct release_args *a,
			 struct cer_bundle_meta *meta, size_t *n_meta, char **names)
{
	_cleanup_(json_object_putp) struct json_object *prev = NULL;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < a->n_roots; i++) {
		_cleanup_(json_object_putp) struct json_object *doc = NULL;
		_cleanup_free_ uint8_t *buf = NULL;
		_cleanup_free_ char *dst = NULL;
		size_t len;
		uint64_t v = 0;

		r = cli_load_doc(a->roots[i], "root", &doc);
		if (r >= 0)
			r = tuf_writer_get_version(doc, &v);
		if (r >= 0)
			r = prev ? tuf_writer_check_complete(doc, "root", prev)
				 : check_own_threshold(a->roots[i]);
		if (r >= 0)
			r = tuf_writer_metadata_filename("root", v, true, &names[i]);
		if (r >= 0 && asprintf(&dst, "%s/metadata/%s", rl->tmp, names[i]) < 0)
			r = sl_error(SL_E_NOMEM, "out of memory");
		if (r >= 0)
			r = sl_read_file_at(AT_FDCWD, a->roots[i], TUF_DEFAULT_ROOT_MAX, &buf,
					    &len);
		if (r >= 0)
			r = sl_write_file_atomic(dst, buf, len, 0644);
		meta[(*n_meta)++] = (struct cer_bundle_meta){"root", v, NULL};
		json_object_put(prev);
		prev = TAKE_PTR(doc);
	}
	return r;
}

#define MAX_META (1 + CER_MANIFEST_MAX_DELEGATIONS + MAX_ROOTS)

static void release_print(const struct release *rl, const struct release_args *a)
{
	char fp[CER_FINGERPRINT_SIZE];

	if (a->json) {
		_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
		struct json_object *keys = json_object_new_array();

		json_object_object_add(o, "bundle", json_object_new_string(a->out));
		json_object_object_add(o, "release", json_object_new_string(rl->m->release));
		json_object_object_add(o, "targets_version",
				       json_object_new_int64((int64_t)rl->version));
		json_object_object_add(o, "artifacts",
				       json_object_new_int64((int64_t)rl->m->n_artifacts));
		for (size_t i = 0; i < a->n_keys; i++)
			json_object_array_add(keys, json_object_new_string(rl->info[i].keyid));
		json_object_object_add(o, "signed_by", keys);
		cli_print_json(o);
		return;
	}
	printf("release %s: targets version %" PRIu64 ", %zu artifact%s, %zu delegated role%s\n",
	       rl->m->release, rl->version, rl->m->n_artifacts, rl->m->n_artifacts == 1 ? "" : "s",
	       rl->m->n_delegations, rl->m->n_delegations == 1 ? "" : "s");
	for (size_t i = 0; i < a->n_keys; i++)
		printf("  signed by %s  (%s, role %s)\n", cli_fp(rl->info[i].keyid, fp), a->keys[i],
		       rl->info[i].role);
	printf("bundle %s written and verified with the client verifier\n", a->out);
}

static void release_record(const struct release *rl, const struct release_args *a,
			   const char *outdir, char **names, size_t n_meta)
{
	_cleanup_free_ char *def = sl_cli_path_join(outdir, "transcript.jsonl");
	_cleanup_free_ char *index = sl_cli_path_join(a->out, CER_BUNDLE_INDEX_NAME);
	const char *t = a->transcript ? a->transcript : def;

	if (!t || !index)
		return;
	for (size_t i = 0; i < a->n_keys; i++) {
		uint64_t scope = key_scope(rl, i);

		for (size_t j = 0; j <= rl->m->n_delegations && j < n_meta; j++) {
			_cleanup_free_ char *file = NULL;

			if (!(scope & (1ull << j)) ||
			    asprintf(&file, "%s/metadata/%s", a->out, names[j]) < 0)
				continue;
			cli_record(t, file, "sign", rl->info[i].keyid, (int64_t)rl->version);
		}
	}
	cli_record(t, index, "release", NULL, (int64_t)rl->version);
}

/* Turn the file names into bundle-relative paths for bundle.json. */
static int meta_paths(struct cer_bundle_meta *meta, char **names, char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (asprintf(&paths[i], "metadata/%s", names[i]) < 0)
			return sl_error(SL_E_NOMEM, "out of memory");
		meta[i].path = paths[i];
	}
	return 0;
}

static int release_build(struct release *rl, const struct release_args *a, const char *outdir,
			 char **names, char **paths, size_t *n_meta)
{
	struct cer_bundle_meta meta[MAX_META];
	int r;

	r = release_prepare(rl, a);
	if (r >= 0)
		r = release_keys(rl, a);
	if (r >= 0)
		r = sl_mkdtemp_private(outdir, &rl->tmp);
	for (size_t i = 0; r >= 0 && i < rl->m->n_artifacts; i++)
		r = add_artifact(rl, i);
	if (r >= 0)
		r = release_sign(rl, a->n_keys, meta, n_meta, names);
	if (r >= 0)
		r = include_roots(rl, a, meta, n_meta, names + *n_meta);
	if (r >= 0)
		r = meta_paths(meta, names, paths, *n_meta);
	if (r >= 0)
		r = cer_bundle_write_index(rl->tmp, rl->m->release, rl->m->version, meta, *n_meta);
	if (r >= 0)
		r = cli_verify_bundle(rl->tmp, a->root, true);
	if (r >= 0 && renameat2(AT_FDCWD, rl->tmp, AT_FDCWD, a->out, RENAME_NOREPLACE) < 0)
		r = sl_error(-errno, "%s: cannot move the bundle into place: %s", a->out,
			     strerror(errno));
	if (r >= 0) {
		free(TAKE_PTR(rl->tmp));
		r = sl_fsync_dir(outdir);
	}
	return r;
}

static int release_run(const struct release_args *a)
{
	_cleanup_free_ char *outdir = NULL, *outname = NULL;
	char *names[MAX_META] = {0}, *paths[MAX_META] = {0};
	struct release rl = {0};
	size_t n_meta = 0;
	int r;

	r = cli_check_absent(a->out);
	if (r >= 0)
		r = cli_path_split(a->out, &outdir, &outname);
	if (r >= 0)
		r = release_build(&rl, a, outdir, names, paths, &n_meta);
	if (r >= 0) {
		release_print(&rl, a);
		release_record(&rl, a, outdir, names, n_meta);
	}
	release_clear(&rl);
	for (size_t i = 0; i < MAX_META; i++) {
		free(names[i]);
		free(paths[i]);
	}
	return r < 0 ? sl_cli_fail(r, "build the release bundle", a->out) : SL_CLI_EXIT_OK;
}

static void release_help(void)
{
	printf("Usage: sluice-ceremony release --manifest M --root ROOT.json --key KEY...\n"
	       "         --out BUNDLE [OPTIONS]\n\n"
	       "Build the release bundle BUNDLE (a new directory) from manifest M: copy and hash\n"
	       "the artifacts, write the next targets version and the delegated roles with\n"
	       "custom.sluice fields, sign them with the given keys (each key signs what it may),\n"
	       "write bundle.json, verify the whole bundle with the client verifier, and only\n"
	       "then move it into place. Nothing is left behind on failure.\n\n"
	       "  --manifest M            the release manifest (docs/bundle-format.md)\n"
	       "  --root ROOT.json        the current root (lists the targets keys)\n"
	       "  --previous-targets T    the last targets metadata (new version = its + 1)\n"
	       "  --key KEYFILE           a targets or delegated-role key (repeat)\n"
	       "  --include-root N.json   a new root version to carry to the control plane\n"
	       "                          (repeat, in version order)\n"
	       "  --expires-days D        targets lifetime (default: manifest, else 90)\n"
	       "  --passphrase-fd N       read the passphrases, one line per key, from fd N\n"
	       "  --transcript FILE       transcript to append to (default: next to BUNDLE)\n"
	       "  --json                  print the result as JSON\n");
}

int cmd_release(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"manifest", required_argument, NULL, OPT_MANIFEST},
	    {"root", required_argument, NULL, OPT_ROOT},
	    {"previous-targets", required_argument, NULL, OPT_PREV_TARGETS},
	    {"key", required_argument, NULL, OPT_KEY},
	    {"include-root", required_argument, NULL, OPT_INCLUDE_ROOT},
	    {"expires-days", required_argument, NULL, OPT_EXPIRES_DAYS},
	    {"out", required_argument, NULL, OPT_OUT},
	    {"passphrase-fd", required_argument, NULL, OPT_PASS_FD},
	    {"transcript", required_argument, NULL, OPT_TRANSCRIPT},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct release_args a = {.pass_fd = -1};
	const char *v = argv[0];
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_MANIFEST:
			a.manifest = optarg;
			break;
		case OPT_ROOT:
			a.root = optarg;
			break;
		case OPT_PREV_TARGETS:
			a.prev_targets = optarg;
			break;
		case OPT_KEY:
			if (a.n_keys >= MAX_KEYS)
				return sl_cli_usage(v, "--key: at most %d keys", MAX_KEYS);
			a.keys[a.n_keys++] = optarg;
			break;
		case OPT_INCLUDE_ROOT:
			if (a.n_roots >= MAX_ROOTS)
				return sl_cli_usage(v, "--include-root: at most %d roots", MAX_ROOTS);
			a.roots[a.n_roots++] = optarg;
			break;
		case OPT_EXPIRES_DAYS:
			if (sl_cli_parse_uint(v, "--expires-days", optarg, 1, TUF_WRITER_MAX_DAYS,
					   &a.expires_days))
				return SL_CLI_EXIT_FAIL;
			break;
		case OPT_OUT:
			a.out = optarg;
			break;
		case OPT_PASS_FD:
			if (sl_cli_parse_fd(v, optarg, &a.pass_fd) != 0)
				return SL_CLI_EXIT_FAIL;
			break;
		case OPT_TRANSCRIPT:
			a.transcript = optarg;
			break;
		case OPT_JSON:
			a.json = true;
			break;
		case 'h':
			release_help();
			return SL_CLI_EXIT_OK;
		default:
			return sl_cli_bad_option(v, argv);
		}
	}
	if (optind < argc)
		return sl_cli_usage(v, "unexpected argument '%s'", argv[optind]);
	if (!a.manifest || !a.root || !a.out)
		return sl_cli_usage(v, "--manifest, --root and --out are required");
	if (a.n_keys == 0)
		return sl_cli_usage(v, "at least one --key is required");
	return release_run(&a);
}
