/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test helper standing in for the control plane (not built yet) in the scripted ceremony:
 * publishes a release bundle into a consistent-snapshot TUF repository, adding snapshot and
 * timestamp signed with the online keys through the tuf writer.
 *
 *   repo-helper --repo DIR --bundle B --root N.root.json... --snapshot-key K
 *               --timestamp-key K [--passphrase-fd N]
 *
 * Roots are given in version order and copied as metadata/N.root.json; the bundle's metadata
 * are copied as they are; artifacts go to targets/<dir>/<sha256>.<name>; snapshot and
 * timestamp versions continue from the repository's current timestamp.json.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "bundle.h"
#include "error.h"
#include "fileio.h"
#include "keyfile.h"
#include "macro.h"
#include "passphrase.h"
#include "secmem.h"
#include "signer.h"
#include "tuf/json.h"
#include "tuf/updater.h"
#include "tuf/writer.h"

#define MAX_ROOTS 16
#define FILE_MAX (64u * 1024 * 1024)

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cer_bundle *, cer_bundle_free)

struct args {
	const char *repo, *bundle, *snapshot_key, *timestamp_key;
	const char *roots[MAX_ROOTS];
	size_t n_roots;
	int pass_fd;
};

static int die(int r, const char *what)
{
	fprintf(stderr, "repo-helper: %s: %s [%s]\n", what, sl_error_message(r), sl_error_name(r));
	return 1;
}

static int copy_bytes(const char *src, const char *dst)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_free_ char *dir = strdup(dst);
	size_t len;
	int r;

	if (!dir)
		return SL_E_NOMEM;
	*strrchr(dir, '/') = '\0';
	r = sl_mkdir_p(dir, 0755);
	if (r >= 0)
		r = sl_read_file_at(AT_FDCWD, src, FILE_MAX, &buf, &len);
	if (r >= 0)
		r = sl_write_file_atomic(dst, buf, len, 0644);
	return r;
}

static int load_signer(const char *path, int fd, struct cer_key **ret_key, struct tuf_signer **ret)
{
	char *pass = NULL;
	size_t len;
	int r;

	r = cer_passphrase_read_fd(fd, &pass, &len);
	if (r < 0)
		return r;
	r = cer_keyfile_load(path, pass, len, 0, ret_key);
	cer_passphrase_free(pass);
	if (r < 0)
		return r;
	return cer_signer_new(*ret_key, ret);
}

/* Copy every target of doc into the repository under its consistent-snapshot name. */
static int publish_targets(const struct args *a, struct json_object *doc)
{
	struct json_object *sig, *targets;

	json_object_object_get_ex(doc, "signed", &sig);
	if (!json_object_object_get_ex(sig, "targets", &targets))
		return 0;
	json_object_object_foreach(targets, path, v)
	{
		_cleanup_free_ char *name = NULL, *src = NULL, *dst = NULL;
		int r;

		(void)v;
		r = tuf_writer_target_filename(doc, path, &name);
		if (r < 0)
			return r;
		if (asprintf(&src, "%s/targets/%s", a->bundle, path) < 0 ||
		    asprintf(&dst, "%s/targets/%s", a->repo, name) < 0)
			return SL_E_NOMEM;
		r = copy_bytes(src, dst);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The repository's current snapshot and timestamp versions (0 when new). */
static void current_versions(const char *repo, uint64_t *snap, uint64_t *ts)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	_cleanup_free_ char *path = NULL;
	struct json_object *sig, *meta, *s, *v;

	*snap = *ts = 0;
	if (asprintf(&path, "%s/metadata/timestamp.json", repo) < 0 ||
	    tuf_writer_load_file(path, TUF_ROLE_TIMESTAMP, &doc) < 0)
		return;
	tuf_writer_get_version(doc, ts);
	if (json_object_object_get_ex(doc, "signed", &sig) &&
	    json_object_object_get_ex(sig, "meta", &meta) &&
	    json_object_object_get_ex(meta, "snapshot.json", &s) &&
	    json_object_object_get_ex(s, "version", &v))
		*snap = (uint64_t)json_object_get_int64(v);
}

static int write_signed(struct json_object *doc, const char *role, struct json_object *root,
			const struct tuf_signer *signer, const char *mdir, const char *name)
{
	int r = tuf_writer_sign(doc, signer);

	return r < 0 ? r : tuf_writer_write(doc, role, root, true, mdir, name);
}

static int publish(const struct args *a)
{
	_cleanup_(cer_bundle_freep) struct cer_bundle *b = NULL;
	_cleanup_(json_object_putp) struct json_object *root = NULL, *snap = NULL, *ts = NULL;
	_cleanup_free_ char *mdir = NULL, *snap_name = NULL, *snap_bytes = NULL;
	struct cer_key *sk = NULL, *tk = NULL;
	struct tuf_signer *ss = NULL, *tsig = NULL;
	uint64_t snap_v, ts_v;
	size_t snap_len;
	int r;

	if (asprintf(&mdir, "%s/metadata", a->repo) < 0)
		return SL_E_NOMEM;
	r = sl_mkdir_p(mdir, 0755);
	for (size_t i = 0; r >= 0 && i < a->n_roots; i++) {
		_cleanup_free_ char *dst = NULL, *name = NULL;
		uint64_t v;

		json_object_put(TAKE_PTR(root));
		r = tuf_writer_load_file(a->roots[i], TUF_ROLE_ROOT, &root);
		if (r >= 0)
			r = tuf_writer_get_version(root, &v);
		if (r >= 0)
			r = tuf_writer_metadata_filename("root", v, true, &name);
		if (r >= 0 && asprintf(&dst, "%s/%s", mdir, name) < 0)
			r = SL_E_NOMEM;
		if (r >= 0)
			r = copy_bytes(a->roots[i], dst);
	}
	if (r < 0)
		return die(r, "roots");
	r = cer_bundle_check(a->bundle, &b);
	if (r < 0)
		return die(r, a->bundle);
	current_versions(a->repo, &snap_v, &ts_v);
	r = tuf_writer_new(TUF_ROLE_SNAPSHOT, 0, &snap);
	if (r >= 0)
		r = tuf_writer_set_version(snap, snap_v + 1);
	for (size_t i = 0; r >= 0 && i < b->n_meta; i++) {
		_cleanup_(json_object_putp) struct json_object *doc = NULL;
		_cleanup_free_ char *src = NULL, *dst = NULL;
		_cleanup_free_ uint8_t *bytes = NULL;
		size_t len;

		if (strcmp(b->meta[i].role, "root") == 0)
			continue;
		if (asprintf(&src, "%s/%s", a->bundle, b->meta[i].path) < 0 ||
		    asprintf(&dst, "%s/%s", a->repo, b->meta[i].path) < 0)
			return die(SL_E_NOMEM, "paths");
		r = copy_bytes(src, dst);
		if (r >= 0)
			r = sl_read_file_at(AT_FDCWD, src, FILE_MAX, &bytes, &len);
		if (r >= 0)
			r = tuf_writer_load_file(src, TUF_ROLE_TARGETS, &doc);
		if (r >= 0)
			r = publish_targets(a, doc);
		if (r >= 0)
			r = tuf_writer_snapshot_set_meta(snap, b->meta[i].role, b->meta[i].version,
							 bytes, len);
	}
	if (r < 0)
		return die(r, "bundle metadata");
	r = load_signer(a->snapshot_key, a->pass_fd, &sk, &ss);
	if (r >= 0)
		r = load_signer(a->timestamp_key, a->pass_fd, &tk, &tsig);
	if (r >= 0)
		r = tuf_writer_metadata_filename("snapshot", snap_v + 1, true, &snap_name);
	if (r >= 0)
		r = write_signed(snap, "snapshot", root, ss, mdir, snap_name);
	if (r >= 0)
		r = tuf_writer_serialize(snap, &snap_bytes, &snap_len);
	if (r >= 0)
		r = tuf_writer_new(TUF_ROLE_TIMESTAMP, 0, &ts);
	if (r >= 0)
		r = tuf_writer_set_version(ts, ts_v + 1);
	if (r >= 0)
		r = tuf_writer_timestamp_set_snapshot(ts, snap_v + 1, snap_bytes, snap_len);
	if (r >= 0)
		r = write_signed(ts, "timestamp", root, tsig, mdir, "timestamp.json");
	tuf_signer_free(ss);
	tuf_signer_free(tsig);
	cer_key_free(sk);
	cer_key_free(tk);
	if (r < 0)
		return die(r, "snapshot/timestamp");
	printf("published %s into %s: snapshot version %" PRIu64 ", timestamp version %" PRIu64
	       "\n",
	       a->bundle, a->repo, snap_v + 1, ts_v + 1);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"repo", required_argument, NULL, 'r'},
	    {"bundle", required_argument, NULL, 'b'},
	    {"root", required_argument, NULL, 'R'},
	    {"snapshot-key", required_argument, NULL, 's'},
	    {"timestamp-key", required_argument, NULL, 't'},
	    {"passphrase-fd", required_argument, NULL, 'p'},
	    {},
	};
	struct args a = {.pass_fd = 0};
	int c;

	if (sl_secmem_init() < 0)
		return 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			a.repo = optarg;
			break;
		case 'b':
			a.bundle = optarg;
			break;
		case 'R':
			if (a.n_roots < MAX_ROOTS)
				a.roots[a.n_roots++] = optarg;
			break;
		case 's':
			a.snapshot_key = optarg;
			break;
		case 't':
			a.timestamp_key = optarg;
			break;
		case 'p':
			a.pass_fd = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (!a.repo || !a.bundle || !a.n_roots || !a.snapshot_key || !a.timestamp_key) {
		fprintf(stderr, "usage: repo-helper --repo DIR --bundle B --root ROOT... "
				"--snapshot-key K --timestamp-key K [--passphrase-fd N]\n");
		return 2;
	}
	return publish(&a);
}
