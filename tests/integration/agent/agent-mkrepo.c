/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper: build or republish a small consistent-snapshot TUF repository with the tuf writer.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "tuf/json.h"
#include "tuf/writer.h"

/*
 * agent-mkrepo REPO SPEC.json
 *   SPEC = {"version": V, "targets": [{"path": P, "file": F, "custom": {...}}]}
 * Creates REPO/metadata/1.root.json on first use (Ed25519 keys from fixed seeds: root 1,
 * targets 2, snapshot 3, timestamp 4), then writes V.targets.json, V.snapshot.json and
 * timestamp.json (version V) and copies each file to REPO/targets/<dir>/<sha256>.<name>.
 */
enum { K_ROOT = 1, K_TARGETS, K_SNAPSHOT, K_TIMESTAMP, K_MAX };
static struct tuf_signer *signers[K_MAX];

static void die(int r, const char *what)
{
	fprintf(stderr, "agent-mkrepo: %s: %s\n", what, sl_error_message(r));
	exit(1);
}

#define CHECK(expr, what)                                                                          \
	do {                                                                                       \
		int r_ = (expr);                                                                   \
		if (r_ < 0)                                                                        \
			die(r_, what);                                                             \
	} while (0)

static void make_signers(void)
{
	for (int n = 1; n < K_MAX; n++) {
		uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES];
		uint8_t sk[crypto_sign_SECRETKEYBYTES];

		memset(seed, 0x40 + n, sizeof(seed));
		crypto_sign_seed_keypair(pk, sk, seed);
		CHECK(tuf_signer_ed25519_new(sk, &signers[n]), "signer");
		sodium_memzero(sk, sizeof(sk));
	}
}

static void write_role(struct json_object *doc, const char *role, struct json_object *auth,
		       const char *meta)
{
	char *name = NULL;
	uint64_t v;

	CHECK(tuf_writer_get_version(doc, &v), "version");
	CHECK(tuf_writer_metadata_filename(role, v, true, &name), "filename");
	CHECK(tuf_writer_write(doc, role, auth, true, meta, name), role);
	free(name);
}

static struct json_object *load_or_make_root(const char *meta)
{
	char path[4200];
	struct json_object *root;

	snprintf(path, sizeof(path), "%s/1.root.json", meta);
	if (access(path, F_OK) == 0) {
		CHECK(tuf_writer_load_file(path, TUF_ROLE_ROOT, &root), "root");
		return root;
	}
	CHECK(tuf_writer_new(TUF_ROLE_ROOT, 0, &root), "root");
	CHECK(tuf_writer_root_add_key(root, TUF_ROLE_ROOT, tuf_signer_key(signers[K_ROOT]), NULL),
	      "key");
	CHECK(tuf_writer_root_add_key(root, TUF_ROLE_TARGETS, tuf_signer_key(signers[K_TARGETS]),
				      NULL),
	      "key");
	CHECK(tuf_writer_root_add_key(root, TUF_ROLE_SNAPSHOT, tuf_signer_key(signers[K_SNAPSHOT]),
				      NULL),
	      "key");
	CHECK(tuf_writer_root_add_key(root, TUF_ROLE_TIMESTAMP,
				      tuf_signer_key(signers[K_TIMESTAMP]), NULL),
	      "key");
	CHECK(tuf_writer_sign(root, signers[K_ROOT]), "sign root");
	write_role(root, "root", NULL, meta);
	return root;
}

static void place_target(struct json_object *targets, const char *tdir, const char *path,
			 const char *file)
{
	char *name = NULL, full[8192], *slash;
	uint8_t *buf;
	size_t len;

	CHECK(tuf_writer_target_filename(targets, path, &name), "target name");
	snprintf(full, sizeof(full), "%s/%s", tdir, name);
	slash = strrchr(full, '/');
	*slash = '\0';
	CHECK(sl_mkdir_p(full, 0755), full);
	*slash = '/';
	CHECK(sl_read_file_at(AT_FDCWD, file, 1u << 30, &buf, &len), file);
	CHECK(sl_write_file_atomic(full, buf, len, 0644), full);
	free(buf);
	free(name);
}

int main(int argc, char **argv)
{
	struct json_object *spec, *root, *targets, *snapshot, *timestamp, *arr;
	char meta[4096], tdir[4096];
	char *bytes;
	size_t len;
	int64_t version;
	uint8_t *sbuf;
	size_t slen;

	if (argc != 3) {
		fprintf(stderr, "usage: agent-mkrepo REPO SPEC.json\n");
		return 1;
	}
	if (sodium_init() < 0)
		return 1;
	make_signers();
	CHECK(sl_read_file_at(AT_FDCWD, argv[2], 1 << 20, &sbuf, &slen), argv[2]);
	CHECK(tuf_json_parse(sbuf, slen, 0, &spec), "spec");
	CHECK(tuf_json_get_int(spec, "version", 1, &version), "spec version");
	CHECK(tuf_json_get_array(spec, "targets", &arr), "spec targets");
	snprintf(meta, sizeof(meta), "%s/metadata", argv[1]);
	snprintf(tdir, sizeof(tdir), "%s/targets", argv[1]);
	CHECK(sl_mkdir_p(meta, 0755), meta);
	CHECK(sl_mkdir_p(tdir, 0755), tdir);
	root = load_or_make_root(meta);

	CHECK(tuf_writer_new(TUF_ROLE_TARGETS, 0, &targets), "targets");
	CHECK(tuf_writer_set_version(targets, (uint64_t)version), "targets version");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *t = json_object_array_get_idx(arr, i), *custom = NULL;
		const char *path, *file;

		CHECK(tuf_json_get_string(t, "path", &path), "target path");
		CHECK(tuf_json_get_string(t, "file", &file), "target file");
		json_object_object_get_ex(t, "custom", &custom);
		CHECK(tuf_writer_targets_add_file(targets, path, file, custom, NULL, NULL), path);
	}
	CHECK(tuf_writer_sign(targets, signers[K_TARGETS]), "sign targets");
	write_role(targets, "targets", root, meta);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *t = json_object_array_get_idx(arr, i);
		const char *path, *file;

		tuf_json_get_string(t, "path", &path);
		tuf_json_get_string(t, "file", &file);
		place_target(targets, tdir, path, file);
	}

	CHECK(tuf_writer_new(TUF_ROLE_SNAPSHOT, 0, &snapshot), "snapshot");
	CHECK(tuf_writer_set_version(snapshot, (uint64_t)version), "snapshot version");
	CHECK(tuf_writer_serialize(targets, &bytes, &len), "serialize");
	CHECK(tuf_writer_snapshot_set_meta(snapshot, "targets", (uint64_t)version, bytes, len),
	      "meta");
	free(bytes);
	CHECK(tuf_writer_sign(snapshot, signers[K_SNAPSHOT]), "sign snapshot");
	write_role(snapshot, "snapshot", root, meta);

	CHECK(tuf_writer_new(TUF_ROLE_TIMESTAMP, 0, &timestamp), "timestamp");
	CHECK(tuf_writer_set_version(timestamp, (uint64_t)version), "timestamp version");
	CHECK(tuf_writer_serialize(snapshot, &bytes, &len), "serialize");
	CHECK(tuf_writer_timestamp_set_snapshot(timestamp, (uint64_t)version, bytes, len),
	      "ts meta");
	free(bytes);
	CHECK(tuf_writer_sign(timestamp, signers[K_TIMESTAMP]), "sign timestamp");
	write_role(timestamp, "timestamp", root, meta);

	json_object_put(root);
	json_object_put(targets);
	json_object_put(snapshot);
	json_object_put(timestamp);
	json_object_put(spec);
	free(sbuf);
	for (int n = 1; n < K_MAX; n++)
		tuf_signer_free(signers[n]);
	return 0;
}
