/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper: build or republish a small consistent-snapshot TUF repository with the tuf writer.
 */
#include <fcntl.h>
#include <stdbool.h>
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
 *   SPEC = {"version": V, "targets": [{"path": P, "file": F, "custom": {...}}],
 *           "delegations": [{"name": R, "paths": [PATTERN, ...], "terminating": false,
 *                            "wrong_key": false, "targets": [... as above]}]}
 * Creates REPO/metadata/1.root.json on first use (Ed25519 keys from fixed seeds: root 1,
 * targets 2, snapshot 3, timestamp 4), then writes V.targets.json, V.snapshot.json and
 * timestamp.json (version V) and copies each file to REPO/targets/<dir>/<sha256>.<name>.
 * "delegations" (optional) are delegated by top-level targets in that order, each to the
 * delegated key (seed 5) with threshold 1, and written as V.<R>.json (version V); a role with
 * "wrong_key" is signed by a key nobody delegated to (seed 6) instead. A role's targets are
 * not checked against its paths: a role listing a path outside them is a test case.
 */
enum { K_ROOT = 1, K_TARGETS, K_SNAPSHOT, K_TIMESTAMP, K_DELEGATED, K_WRONG, K_MAX };
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

static void add_targets(struct json_object *doc, struct json_object *arr)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *t = json_object_array_get_idx(arr, i), *custom = NULL;
		const char *path, *file;

		CHECK(tuf_json_get_string(t, "path", &path), "target path");
		CHECK(tuf_json_get_string(t, "file", &file), "target file");
		json_object_object_get_ex(t, "custom", &custom);
		CHECK(tuf_writer_targets_add_file(doc, path, file, custom, NULL, NULL), path);
	}
}

static void place_targets(struct json_object *doc, struct json_object *arr, const char *tdir)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *t = json_object_array_get_idx(arr, i);
		const char *path, *file;

		tuf_json_get_string(t, "path", &path);
		tuf_json_get_string(t, "file", &file);
		place_target(doc, tdir, path, file);
	}
}

static bool opt_bool(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* Delegate role d (a spec entry) from top-level targets doc top. */
static void delegate(struct json_object *top, struct json_object *d)
{
	const char *name, *paths[16];
	struct json_object *arr;
	size_t n;

	CHECK(tuf_json_get_string(d, "name", &name), "delegation name");
	CHECK(tuf_json_get_array(d, "paths", &arr), "delegation paths");
	n = json_object_array_length(arr);
	if (n > 16)
		die(SL_E_TOO_LARGE, "delegation paths");
	for (size_t i = 0; i < n; i++)
		paths[i] = json_object_get_string(json_object_array_get_idx(arr, i));
	CHECK(tuf_writer_delegation_add_role(top, name, 1, opt_bool(d, "terminating"), paths, n,
					     NULL, 0),
	      name);
	CHECK(tuf_writer_delegation_add_key(top, name, tuf_signer_key(signers[K_DELEGATED]), NULL),
	      name);
}

/* Write delegated role d (version V) and its targets; list it in snapshot. */
static void write_delegated(struct json_object *d, struct json_object *top,
			    struct json_object *snapshot, uint64_t version, const char *meta,
			    const char *tdir)
{
	struct json_object *doc, *arr;
	char *name = NULL, *bytes, path[8192];
	const char *role;
	size_t len;

	tuf_json_get_string(d, "name", &role);
	CHECK(tuf_json_get_array(d, "targets", &arr), "delegation targets");
	CHECK(tuf_writer_new(TUF_ROLE_TARGETS, 0, &doc), role);
	CHECK(tuf_writer_set_version(doc, version), role);
	add_targets(doc, arr);
	if (opt_bool(d, "wrong_key")) {
		/* The writer refuses an unauthorised signature: write the bytes as they are. */
		CHECK(tuf_writer_sign(doc, signers[K_WRONG]), role);
		CHECK(tuf_writer_metadata_filename(role, version, true, &name), role);
		CHECK(tuf_writer_serialize(doc, &bytes, &len), role);
		snprintf(path, sizeof(path), "%s/%s", meta, name);
		CHECK(sl_write_file_atomic(path, bytes, len, 0644), path);
		free(bytes);
		free(name);
	} else {
		CHECK(tuf_writer_sign(doc, signers[K_DELEGATED]), role);
		write_role(doc, role, top, meta);
	}
	place_targets(doc, arr, tdir);
	CHECK(tuf_writer_serialize(doc, &bytes, &len), role);
	CHECK(tuf_writer_snapshot_set_meta(snapshot, role, version, bytes, len), role);
	free(bytes);
	json_object_put(doc);
}

int main(int argc, char **argv)
{
	struct json_object *spec, *root, *targets, *snapshot, *timestamp, *arr, *dels;
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
	add_targets(targets, arr);
	if (!json_object_object_get_ex(spec, "delegations", &dels))
		dels = NULL;
	for (size_t i = 0; dels && i < json_object_array_length(dels); i++)
		delegate(targets, json_object_array_get_idx(dels, i));
	CHECK(tuf_writer_sign(targets, signers[K_TARGETS]), "sign targets");
	write_role(targets, "targets", root, meta);
	place_targets(targets, arr, tdir);

	CHECK(tuf_writer_new(TUF_ROLE_SNAPSHOT, 0, &snapshot), "snapshot");
	CHECK(tuf_writer_set_version(snapshot, (uint64_t)version), "snapshot version");
	CHECK(tuf_writer_serialize(targets, &bytes, &len), "serialize");
	CHECK(tuf_writer_snapshot_set_meta(snapshot, "targets", (uint64_t)version, bytes, len),
	      "meta");
	free(bytes);
	for (size_t i = 0; dels && i < json_object_array_length(dels); i++)
		write_delegated(json_object_array_get_idx(dels, i), targets, snapshot,
				(uint64_t)version, meta, tdir);
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
