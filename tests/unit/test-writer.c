/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the repository writer: repositories it builds must satisfy the library's own client. */
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "test.h"
#include "tuf/crypto.h"
#include "tuf/updater.h"
#include "tuf/writer.h"

#define FIRMWARE "firmware/board-a.img"
#define FIRMWARE2 "firmware/board-b.img"
#define MODEL "models/detector.onnx"
#define BIN_TARGET "data/file-7.bin"
#define BIG_SIZE (5u * 1024 * 1024)

/* Seeds of the test keys: the key for seed n has every seed byte equal to n. */
enum {
	K_ROOT1 = 1,
	K_ROOT2,
	K_ROOT3,
	K_ROOT4,
	K_TARGETS1,
	K_TARGETS2,
	K_SNAPSHOT,
	K_TIMESTAMP,
	K_MODELS,
	K_BINS,
	K_ROGUE,
	K_MAX,
};

static char *tmp;
static int64_t now;
static struct tuf_signer *signers[K_MAX];

/* A repository built by the writer, and the documents it is made of. */
struct repo {
	char dir[1024], meta[1100], targets[1100], client[1100], out[1100];
	struct json_object *root, *targets_doc, *snapshot, *timestamp, *models;
};

static char *join(const char *a, const char *b)
{
	static char buf[8][4096];
	static unsigned i;
	char *r = buf[i++ % 8];

	snprintf(r, sizeof(buf[0]), "%s/%s", a, b);
	return r;
}

static unsigned count_entries(const char *d)
{
	DIR *h = opendir(d);
	struct dirent *de;
	unsigned n = 0;

	ASSERT_TRUE(h);
	while ((de = readdir(h)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(h);
	return n;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void make_signers(void)
{
	for (int n = 1; n < K_MAX; n++) {
		uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES];
		uint8_t sk[crypto_sign_SECRETKEYBYTES];

		memset(seed, n, sizeof(seed));
		ASSERT_EQ_INT(crypto_sign_seed_keypair(pk, sk, seed), 0);
		ASSERT_OK(tuf_signer_ed25519_new(sk, &signers[n]));
		sodium_memzero(sk, sizeof(sk));
		ASSERT_EQ_INT(strlen(tuf_signer_keyid(signers[n])), 64);
	}
}

static struct json_object *key_of(int n)
{
	return tuf_signer_key(signers[n]);
}

static const char *id_of(int n)
{
	return tuf_signer_keyid(signers[n]);
}

static void repo_init(struct repo *rp, const char *name)
{
	*rp = (struct repo){};
	snprintf(rp->dir, sizeof(rp->dir), "%s/%s", tmp, name);
	snprintf(rp->meta, sizeof(rp->meta), "%s/metadata", rp->dir);
	snprintf(rp->targets, sizeof(rp->targets), "%s/targets", rp->dir);
	snprintf(rp->client, sizeof(rp->client), "%s/client", rp->dir);
	snprintf(rp->out, sizeof(rp->out), "%s/out", rp->dir);
	ASSERT_OK(sl_mkdir_p(rp->meta, 0755));
	ASSERT_OK(sl_mkdir_p(rp->targets, 0755));
	ASSERT_OK(sl_mkdir_p(rp->client, 0700));
	ASSERT_OK(sl_mkdir_p(rp->out, 0700));
}

static void repo_free(struct repo *rp)
{
	json_object_put(rp->root);
	json_object_put(rp->targets_doc);
	json_object_put(rp->snapshot);
	json_object_put(rp->timestamp);
	json_object_put(rp->models);
}

/* Root v1: root 2 of 3, targets 1 of 2, one snapshot and one timestamp key. */
static struct json_object *new_root(void)
{
	struct json_object *root;
	char keyid[65];

	ASSERT_OK(tuf_writer_new(TUF_ROLE_ROOT, now, &root));
	ASSERT_OK(tuf_writer_root_add_key(root, TUF_ROLE_ROOT, key_of(K_ROOT1), keyid));
	ASSERT_EQ_STR(keyid, id_of(K_ROOT1));
	ASSERT_OK(tuf_writer_root_add_key(root, TUF_ROLE_ROOT, key_of(K_ROOT2), NULL));
	ASSERT_OK(tuf_writer_root_add_key(root, TUF_ROLE_ROOT, key_of(K_ROOT3), NULL));
	ASSERT_ERR(tuf_writer_root_add_key(root, TUF_ROLE_ROOT, key_of(K_ROOT3), NULL),
		   SL_E_INVALID);
	ASSERT_OK(tuf_writer_root_set_threshold(root, TUF_ROLE_ROOT, 2));
	ASSERT_ERR(tuf_writer_root_set_threshold(root, TUF_ROLE_ROOT, 0), SL_E_INVALID);
	ASSERT_OK(tuf_writer_root_add_key(root, TUF_ROLE_TARGETS, key_of(K_TARGETS1), NULL));
	ASSERT_OK(tuf_writer_root_add_key(root, TUF_ROLE_TARGETS, key_of(K_TARGETS2), NULL));
	ASSERT_OK(tuf_writer_root_add_key(root, TUF_ROLE_SNAPSHOT, key_of(K_SNAPSHOT), NULL));
	ASSERT_OK(tuf_writer_root_add_key(root, TUF_ROLE_TIMESTAMP, key_of(K_TIMESTAMP), NULL));
	return root;
}

/* Write doc under its consistent-snapshot name, requiring the full threshold. */
static void write_role(struct repo *rp, struct json_object *doc, const char *role,
		       struct json_object *authority)
{
	_cleanup_free_ char *name = NULL;
	uint64_t v;

	ASSERT_OK(tuf_writer_get_version(doc, &v));
	ASSERT_OK(tuf_writer_metadata_filename(role, v, true, &name));
	ASSERT_OK(tuf_writer_write(doc, role, authority, true, rp->meta, name));
}

/* Record doc's exact bytes (version, length, sha256) in the snapshot. */
static void snapshot_add(struct repo *rp, const char *role, struct json_object *doc)
{
	_cleanup_free_ char *bytes = NULL;
	size_t len;
	uint64_t v;

	ASSERT_OK(tuf_writer_get_version(doc, &v));
	ASSERT_OK(tuf_writer_serialize(doc, &bytes, &len));
	ASSERT_OK(tuf_writer_snapshot_set_meta(rp->snapshot, role, v, bytes, len));
}

/* Place a target file under its consistent-snapshot name. */
static void publish_target(struct repo *rp, struct json_object *doc, const char *path,
			   const void *data, size_t len)
{
	_cleanup_free_ char *name = NULL;
	char full[4096], *slash;

	ASSERT_OK(tuf_writer_target_filename(doc, path, &name));
	snprintf(full, sizeof(full), "%s/%s", rp->targets, name);
	slash = strrchr(full, '/');
	*slash = '\0';
	ASSERT_OK(sl_mkdir_p(full, 0755));
	*slash = '/';
	ASSERT_OK(sl_write_file_atomic(full, data, len, 0644));
}

/* Sign and write snapshot and timestamp for the current targets (and delegated roles). */
static void publish_snapshot(struct repo *rp, struct json_object **extra, char **extra_names,
			     size_t n_extra)
{
	_cleanup_free_ char *bytes = NULL;
	size_t len;
	uint64_t v;

	json_object_put(rp->snapshot);
	ASSERT_OK(tuf_writer_new(TUF_ROLE_SNAPSHOT, now, &rp->snapshot));
	snapshot_add(rp, "targets", rp->targets_doc);
	if (rp->models)
		snapshot_add(rp, "models", rp->models);
	for (size_t i = 0; i < n_extra; i++)
		snapshot_add(rp, extra_names[i], extra[i]);
	ASSERT_OK(tuf_writer_sign(rp->snapshot, signers[K_SNAPSHOT]));
	write_role(rp, rp->snapshot, "snapshot", rp->root);

	if (!rp->timestamp)
		ASSERT_OK(tuf_writer_new(TUF_ROLE_TIMESTAMP, now, &rp->timestamp));
	else
		ASSERT_OK(tuf_writer_bump_version(rp->timestamp));
	ASSERT_OK(tuf_writer_get_version(rp->snapshot, &v));
	ASSERT_OK(tuf_writer_serialize(rp->snapshot, &bytes, &len));
	ASSERT_OK(tuf_writer_timestamp_set_snapshot(rp->timestamp, v, bytes, len));
	ASSERT_OK(tuf_writer_sign(rp->timestamp, signers[K_TIMESTAMP]));
	write_role(rp, rp->timestamp, "timestamp", rp->root);
}

static const char firmware[] = "firmware image for board a\n";
static const char firmware2[] = "firmware image for board b, second target\n";
static const char model[] = "onnx model bytes\n";

/* The full repository: root, targets (2 targets + "models" delegation), models, snapshot, ts. */
static void build_repo(struct repo *rp, const char *name)
{
	const char *paths[] = {"models/*"};
	struct json_object *custom;
	char keyid[65];

	repo_init(rp, name);
	rp->root = new_root();
	ASSERT_OK(tuf_writer_sign(rp->root, signers[K_ROOT1]));
	ASSERT_OK(tuf_writer_sign(rp->root, signers[K_ROOT2]));
	write_role(rp, rp->root, "root", NULL);

	ASSERT_OK(tuf_writer_new(TUF_ROLE_TARGETS, now, &rp->targets_doc));
	custom = json_tokener_parse("{\"sluice\": {\"kind\": \"image\", \"release\": \"1\"}}");
	ASSERT_TRUE(custom);
	ASSERT_OK(tuf_writer_targets_add_buf(rp->targets_doc, FIRMWARE, firmware,
					     sizeof(firmware) - 1, custom));
	json_object_put(custom);
	ASSERT_OK(tuf_writer_targets_add_buf(rp->targets_doc, FIRMWARE2, firmware2,
					     sizeof(firmware2) - 1, NULL));
	ASSERT_OK(
	    tuf_writer_delegation_add_role(rp->targets_doc, "models", 1, true, paths, 1, NULL, 0));
	ASSERT_OK(
	    tuf_writer_delegation_add_key(rp->targets_doc, "models", key_of(K_MODELS), keyid));
	ASSERT_EQ_STR(keyid, id_of(K_MODELS));
	ASSERT_OK(tuf_writer_sign(rp->targets_doc, signers[K_TARGETS2]));
	write_role(rp, rp->targets_doc, "targets", rp->root);

	ASSERT_OK(tuf_writer_new(TUF_ROLE_TARGETS, now, &rp->models));
	ASSERT_OK(tuf_writer_targets_add_buf(rp->models, MODEL, model, sizeof(model) - 1, NULL));
	ASSERT_OK(tuf_writer_sign(rp->models, signers[K_MODELS]));
	write_role(rp, rp->models, "models", rp->targets_doc);

	publish_snapshot(rp, NULL, NULL, 0);
	publish_target(rp, rp->targets_doc, FIRMWARE, firmware, sizeof(firmware) - 1);
	publish_target(rp, rp->targets_doc, FIRMWARE2, firmware2, sizeof(firmware2) - 1);
	publish_target(rp, rp->models, MODEL, model, sizeof(model) - 1);
}

/* Trust 1.root.json of rp in its client directory. */
static void client_init(struct repo *rp)
{
	uint8_t *buf;
	size_t len;

	ASSERT_OK(sl_read_file_at(AT_FDCWD, join(rp->meta, "1.root.json"), 1 << 20, &buf, &len));
	ASSERT_OK(tuf_updater_init_root(rp->client, buf, len));
	free(buf);
}

struct client {
	struct tuf_fetcher *f;
	struct tuf_updater *u;
	char meta_url[1200], target_url[1200];
};

static void client_open(struct client *c, struct repo *rp)
{
	struct tuf_updater_config cfg = {
	    .metadata_dir = rp->client,
	    .now = now,
	};

	snprintf(c->meta_url, sizeof(c->meta_url), "file://%s/", rp->meta);
	snprintf(c->target_url, sizeof(c->target_url), "file://%s/", rp->targets);
	cfg.metadata_base_url = c->meta_url;
	cfg.target_base_url = c->target_url;
	ASSERT_OK(tuf_fetcher_new(NULL, &c->f));
	cfg.fetcher = c->f;
	ASSERT_OK(tuf_updater_new(&cfg, &c->u));
}

static void client_close(struct client *c)
{
	tuf_updater_free(c->u);
	tuf_fetcher_free(c->f);
}

/* Find path with the library's updater, download it and compare with want. */
static void client_fetch(struct client *c, struct repo *rp, const char *path, const void *want,
			 size_t want_len)
{
	const struct tuf_target *t;
	char file[4096];
	uint8_t *buf;
	size_t len;

	ASSERT_OK(tuf_updater_get_target(c->u, path, &t));
	ASSERT_EQ_INT(t->length, want_len);
	snprintf(file, sizeof(file), "%s/%u", rp->out, count_entries(rp->out));
	ASSERT_OK(tuf_updater_download_target(c->u, t, file));
	ASSERT_OK(sl_read_file_at(AT_FDCWD, file, 1 << 20, &buf, &len));
	ASSERT_EQ_INT(len, want_len);
	ASSERT_EQ_MEM(buf, want, len);
	free(buf);
}

TEST(full_repository_accepted_by_updater)
{
	struct repo rp;
	struct client c;

	build_repo(&rp, "full");
	ASSERT_TRUE(exists(join(rp.meta, "1.root.json")));
	ASSERT_TRUE(exists(join(rp.meta, "1.targets.json")));
	ASSERT_TRUE(exists(join(rp.meta, "1.models.json")));
	ASSERT_TRUE(exists(join(rp.meta, "1.snapshot.json")));
	ASSERT_TRUE(exists(join(rp.meta, "timestamp.json")));
	client_init(&rp);
	client_open(&c, &rp);
	ASSERT_OK(tuf_updater_refresh(c.u));
	client_fetch(&c, &rp, FIRMWARE, firmware, sizeof(firmware) - 1);
	client_fetch(&c, &rp, FIRMWARE2, firmware2, sizeof(firmware2) - 1);
	client_fetch(&c, &rp, MODEL, model, sizeof(model) - 1);
	client_close(&c);
	repo_free(&rp);
}

TEST(signature_collection)
{
	char dir[1024];
	struct json_object *doc, *root = new_root();
	struct tuf_writer_status st;
	const char *file;

	snprintf(dir, sizeof(dir), "%s/collect", tmp);
	ASSERT_OK(sl_mkdir_p(dir, 0700));
	file = join(dir, "1.root.json");
	/* Unsigned version 1, as `root init` writes it. */
	ASSERT_OK(tuf_writer_write(root, "root", NULL, false, dir, "1.root.json"));
	ASSERT_ERR(tuf_writer_write(root, "root", NULL, true, dir, "x.json"), TUF_E_THRESHOLD);
	ASSERT_TRUE(!exists(join(dir, "x.json")));
	json_object_put(root);

	/* Holder 3 signs first. */
	ASSERT_OK(tuf_writer_load_file(file, TUF_ROLE_ROOT, &doc));
	ASSERT_OK(tuf_writer_sign(doc, signers[K_ROOT3]));
	/* Signing twice with the same key replaces the entry. */
	ASSERT_OK(tuf_writer_sign(doc, signers[K_ROOT3]));
	ASSERT_EQ_INT(json_object_array_length(json_object_object_get(doc, "signatures")), 1);
	ASSERT_OK(tuf_writer_write(doc, "root", NULL, false, dir, "1.root.json"));
	json_object_put(doc);

	ASSERT_OK(tuf_writer_load_file(file, TUF_ROLE_ROOT, &doc));
	ASSERT_OK(tuf_writer_status(doc, "root", NULL, &st));
	ASSERT_EQ_INT(st.threshold, 2);
	ASSERT_EQ_INT(st.n_valid, 1);
	ASSERT_EQ_STR(st.valid[0], id_of(K_ROOT3));
	ASSERT_EQ_INT(st.needed, 1);
	ASSERT_EQ_INT(st.n_missing, 2);
	ASSERT_EQ_STR(st.missing[0], id_of(K_ROOT1));
	ASSERT_EQ_STR(st.missing[1], id_of(K_ROOT2));
	ASSERT_EQ_INT(st.n_invalid, 0);
	ASSERT_EQ_INT(st.n_unauthorised, 0);
	tuf_writer_status_clear(&st);
	ASSERT_ERR(tuf_writer_check_complete(doc, "root", NULL), TUF_E_THRESHOLD);

	/* Holder 1 adds the second signature to the same file. */
	ASSERT_OK(tuf_writer_sign(doc, signers[K_ROOT1]));
	ASSERT_OK(tuf_writer_write(doc, "root", NULL, true, dir, "1.root.json"));
	json_object_put(doc);
	ASSERT_OK(tuf_writer_load_file(file, TUF_ROLE_ROOT, &doc));
	ASSERT_OK(tuf_writer_status(doc, "root", NULL, &st));
	ASSERT_EQ_INT(st.n_valid, 2);
	ASSERT_EQ_INT(st.needed, 0);
	ASSERT_EQ_INT(st.n_missing, 1);
	ASSERT_EQ_STR(st.missing[0], id_of(K_ROOT2));
	tuf_writer_status_clear(&st);
	ASSERT_OK(tuf_writer_check_complete(doc, "root", NULL));
	json_object_put(doc);
}

TEST(key_not_in_role_refused)
{
	struct repo rp;
	struct json_object *doc, *sigs, *entry;
	struct tuf_writer_status st;
	char *hex;

	repo_init(&rp, "rogue");
	rp.root = new_root();
	ASSERT_OK(tuf_writer_new(TUF_ROLE_TARGETS, now, &doc));
	ASSERT_OK(tuf_writer_targets_add_buf(doc, FIRMWARE, firmware, sizeof(firmware) - 1, NULL));

	/* A key from nowhere, and a key of another role. */
	ASSERT_OK(tuf_writer_sign(doc, signers[K_ROGUE]));
	ASSERT_ERR(tuf_writer_write(doc, "targets", rp.root, false, rp.meta, "1.targets.json"),
		   TUF_E_SIGNATURE);
	ASSERT_OK(tuf_writer_status(doc, "targets", rp.root, &st));
	ASSERT_EQ_INT(st.n_unauthorised, 1);
	ASSERT_EQ_STR(st.unauthorised[0], id_of(K_ROGUE));
	ASSERT_EQ_INT(st.needed, 1);
	tuf_writer_status_clear(&st);
	ASSERT_OK(tuf_writer_drop_signatures(doc));
	ASSERT_OK(tuf_writer_sign(doc, signers[K_SNAPSHOT]));
	ASSERT_ERR(tuf_writer_write(doc, "targets", rp.root, false, rp.meta, "1.targets.json"),
		   TUF_E_SIGNATURE);

	/* An authorised key whose signature was tampered with. */
	ASSERT_OK(tuf_writer_drop_signatures(doc));
	ASSERT_OK(tuf_writer_sign(doc, signers[K_TARGETS1]));
	ASSERT_OK(tuf_writer_check_complete(doc, "targets", rp.root));
	sigs = json_object_object_get(doc, "signatures");
	entry = json_object_array_get_idx(sigs, 0);
	hex = strdup(json_object_get_string(json_object_object_get(entry, "sig")));
	hex[0] = hex[0] == '0' ? '1' : '0';
	json_object_object_add(entry, "sig", json_object_new_string(hex));
	free(hex);
	ASSERT_ERR(tuf_writer_write(doc, "targets", rp.root, false, rp.meta, "1.targets.json"),
		   TUF_E_SIGNATURE);
	ASSERT_OK(tuf_writer_status(doc, "targets", rp.root, &st));
	ASSERT_EQ_INT(st.n_invalid, 1);
	ASSERT_EQ_STR(st.invalid[0], id_of(K_TARGETS1));
	ASSERT_EQ_INT(st.n_valid, 0);
	tuf_writer_status_clear(&st);

	/* The same key id twice: refused even though both entries verify. */
	ASSERT_OK(tuf_writer_drop_signatures(doc));
	ASSERT_OK(tuf_writer_sign(doc, signers[K_TARGETS1]));
	sigs = json_object_object_get(doc, "signatures");
	json_object_array_add(sigs, json_object_get(json_object_array_get_idx(sigs, 0)));
	ASSERT_ERR(tuf_writer_check_signatures(doc, "targets", rp.root), TUF_E_SIGNATURE);
	ASSERT_ERR(tuf_writer_write(doc, "targets", rp.root, false, rp.meta, "1.targets.json"),
		   TUF_E_SIGNATURE);

	/* Nothing was written, not even a temporary file. */
	ASSERT_EQ_INT(count_entries(rp.meta), 0);
	/* Without an authority, a targets role cannot be checked at all. */
	ASSERT_ERR(tuf_writer_check_signatures(doc, "targets", NULL), SL_E_INVALID);
	/* A role the delegator does not name is unknown. */
	ASSERT_ERR(tuf_writer_check_signatures(doc, "other", doc), TUF_E_NOT_FOUND);
	json_object_put(doc);
	repo_free(&rp);
}

TEST(edit_drops_signatures)
{
	struct json_object *doc, *root = new_root();
	struct tuf_writer_status st;

	ASSERT_OK(tuf_writer_new(TUF_ROLE_TARGETS, now, &doc));
	ASSERT_OK(tuf_writer_sign(doc, signers[K_TARGETS1]));
	ASSERT_OK(tuf_writer_check_complete(doc, "targets", root));
	ASSERT_OK(tuf_writer_targets_add_buf(doc, FIRMWARE, firmware, sizeof(firmware) - 1, NULL));
	ASSERT_EQ_INT(json_object_array_length(json_object_object_get(doc, "signatures")), 0);
	ASSERT_ERR(tuf_writer_check_complete(doc, "targets", root), TUF_E_THRESHOLD);

	ASSERT_OK(tuf_writer_sign(doc, signers[K_TARGETS1]));
	ASSERT_OK(tuf_writer_bump_version(doc));
	ASSERT_EQ_INT(json_object_array_length(json_object_object_get(doc, "signatures")), 0);
	ASSERT_OK(tuf_writer_sign(doc, signers[K_TARGETS1]));
	ASSERT_OK(tuf_writer_set_expires_days(doc, now, 30));
	ASSERT_EQ_INT(json_object_array_length(json_object_object_get(doc, "signatures")), 0);

	/* A signature that no longer matches (edited behind the writer's back) is invalid. */
	ASSERT_OK(tuf_writer_sign(doc, signers[K_TARGETS1]));
	json_object_object_add(json_object_object_get(doc, "signed"), "version",
			       json_object_new_int64(9));
	ASSERT_OK(tuf_writer_status(doc, "targets", root, &st));
	ASSERT_EQ_INT(st.n_invalid, 1);
	ASSERT_EQ_INT(st.needed, 1);
	tuf_writer_status_clear(&st);
	ASSERT_ERR(tuf_writer_check_signatures(doc, "targets", root), TUF_E_SIGNATURE);

	/* Failed edits leave signatures alone. */
	ASSERT_OK(tuf_writer_sign(doc, signers[K_TARGETS1]));
	ASSERT_ERR(tuf_writer_targets_add_buf(doc, "../escape", "x", 1, NULL), TUF_E_PATH);
	ASSERT_ERR(tuf_writer_targets_add_buf(doc, "/abs", "x", 1, NULL), TUF_E_PATH);
	ASSERT_ERR(tuf_writer_targets_add_buf(doc, "a//b", "x", 1, NULL), TUF_E_PATH);
	ASSERT_ERR(tuf_writer_targets_remove(doc, "absent"), TUF_E_NOT_FOUND);
	ASSERT_ERR(tuf_writer_set_version(doc, 0), SL_E_INVALID);
	ASSERT_EQ_INT(json_object_array_length(json_object_object_get(doc, "signatures")), 1);
	ASSERT_OK(tuf_writer_check_complete(doc, "targets", root));
	ASSERT_OK(tuf_writer_targets_remove(doc, FIRMWARE));
	ASSERT_EQ_INT(json_object_array_length(json_object_object_get(doc, "signatures")), 0);
	json_object_put(doc);
	json_object_put(root);
}

TEST(root_rotation)
{
	struct repo rp;
	struct client c;
	struct json_object *next, *bad;
	struct tuf_writer_status st;
	const struct tuf_metadata *trusted;
	char keyid[65];

	build_repo(&rp, "rotate");
	client_init(&rp);
	client_open(&c, &rp);
	ASSERT_OK(tuf_updater_refresh(c.u));
	client_close(&c);

	/* Version 2 replaces root key 3 by root key 4 and lives longer. */
	ASSERT_OK(tuf_writer_root_rotate(rp.root, &next));
	ASSERT_OK(tuf_writer_root_replace_key(next, TUF_ROLE_ROOT, id_of(K_ROOT3), key_of(K_ROOT4),
					      keyid));
	ASSERT_EQ_STR(keyid, id_of(K_ROOT4));
	ASSERT_OK(tuf_writer_set_expires_days(next, now, 400));

	/* Only the old threshold (keys 1 and 3): the new root role has one valid signature. */
	ASSERT_OK(tuf_writer_sign(next, signers[K_ROOT1]));
	ASSERT_OK(tuf_writer_sign(next, signers[K_ROOT3]));
	ASSERT_OK(tuf_writer_check_signatures(next, "root", rp.root));
	ASSERT_ERR(tuf_writer_check_complete(next, "root", rp.root), TUF_E_THRESHOLD);
	ASSERT_ERR(tuf_writer_write(next, "root", rp.root, true, rp.meta, "2.root.json"),
		   TUF_E_THRESHOLD);
	/* Key 3 is not in version 2: without the previous root it is not authorised at all. */
	ASSERT_ERR(tuf_writer_check_signatures(next, "root", NULL), TUF_E_SIGNATURE);

	/* Only the new threshold (keys 1 and 4): the old root role has one valid signature. */
	ASSERT_OK(tuf_writer_drop_signatures(next));
	ASSERT_OK(tuf_writer_sign(next, signers[K_ROOT4]));
	ASSERT_OK(tuf_writer_sign(next, signers[K_ROOT1]));
	ASSERT_OK(tuf_writer_check_complete(next, "root", NULL));
	ASSERT_ERR(tuf_writer_check_complete(next, "root", rp.root), TUF_E_THRESHOLD);
	ASSERT_ERR(tuf_writer_write(next, "root", rp.root, true, rp.meta, "2.root.json"),
		   TUF_E_THRESHOLD);
	ASSERT_TRUE(!exists(join(rp.meta, "2.root.json")));

	ASSERT_OK(tuf_writer_status(next, "root", rp.root, &st));
	ASSERT_EQ_INT(st.n_valid, 1);
	ASSERT_EQ_INT(st.needed, 1);
	ASSERT_EQ_INT(st.n_unauthorised, 1);
	ASSERT_EQ_STR(st.unauthorised[0], id_of(K_ROOT4));
	tuf_writer_status_clear(&st);
	ASSERT_OK(tuf_writer_status(next, "root", NULL, &st));
	ASSERT_EQ_INT(st.needed, 0);
	tuf_writer_status_clear(&st);

	/* A version that skips one is refused. */
	ASSERT_OK(tuf_writer_root_rotate(next, &bad));
	ASSERT_ERR(tuf_writer_check_signatures(bad, "root", rp.root), TUF_E_VERSION);
	json_object_put(bad);

	/* Key 2 completes both thresholds: written, and the updater rotates to it. */
	ASSERT_OK(tuf_writer_sign(next, signers[K_ROOT2]));
	ASSERT_OK(tuf_writer_write(next, "root", rp.root, true, rp.meta, "2.root.json"));
	client_open(&c, &rp);
	ASSERT_OK(tuf_updater_refresh(c.u));
	trusted = tuf_updater_trusted(c.u, TUF_ROLE_ROOT);
	ASSERT_TRUE(trusted);
	ASSERT_EQ_INT(trusted->version, 2);
	client_fetch(&c, &rp, MODEL, model, sizeof(model) - 1);
	client_close(&c);
	json_object_put(next);
	repo_free(&rp);
}

TEST(succinct_bins)
{
	struct repo rp;
	struct client c;
	struct json_object **bins;
	char **names, *bin;
	size_t n, idx = SIZE_MAX;
	const char *const paths[] = {"x"};
	static const char payload[] = "bin payload\n";

	repo_init(&rp, "bins");
	rp.root = new_root();
	ASSERT_OK(tuf_writer_sign(rp.root, signers[K_ROOT1]));
	ASSERT_OK(tuf_writer_sign(rp.root, signers[K_ROOT2]));
	write_role(&rp, rp.root, "root", NULL);

	ASSERT_OK(tuf_writer_new(TUF_ROLE_TARGETS, now, &rp.targets_doc));
	ASSERT_ERR(tuf_writer_succinct_bin_name(rp.targets_doc, BIN_TARGET, &bin), TUF_E_NOT_FOUND);
	ASSERT_OK(tuf_writer_delegation_set_succinct(rp.targets_doc, "bins", 4, 1));
	ASSERT_OK(tuf_writer_delegation_add_key(rp.targets_doc, NULL, key_of(K_BINS), NULL));
	ASSERT_ERR(
	    tuf_writer_delegation_add_role(rp.targets_doc, "named", 1, false, paths, 1, NULL, 0),
	    SL_E_INVALID);
	ASSERT_OK(tuf_writer_sign(rp.targets_doc, signers[K_TARGETS1]));
	write_role(&rp, rp.targets_doc, "targets", rp.root);

	ASSERT_OK(tuf_writer_succinct_bins_new(rp.targets_doc, now, &bins, &names, &n));
	ASSERT_EQ_INT(n, 16);
	ASSERT_EQ_STR(names[0], "bins-0");
	ASSERT_EQ_STR(names[15], "bins-f");
	ASSERT_OK(tuf_writer_succinct_bin_name(rp.targets_doc, BIN_TARGET, &bin));
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], bin) == 0)
			idx = i;
	ASSERT_TRUE(idx < n);
	ASSERT_OK(
	    tuf_writer_targets_add_buf(bins[idx], BIN_TARGET, payload, sizeof(payload) - 1, NULL));
	for (size_t i = 0; i < n; i++) {
		ASSERT_OK(tuf_writer_sign(bins[i], signers[K_BINS]));
		write_role(&rp, bins[i], names[i], rp.targets_doc);
	}
	/* The targets key may not sign a bin. */
	ASSERT_OK(tuf_writer_sign(bins[0], signers[K_TARGETS1]));
	ASSERT_ERR(tuf_writer_check_signatures(bins[0], names[0], rp.targets_doc), TUF_E_SIGNATURE);
	ASSERT_OK(tuf_writer_drop_signatures(bins[0]));
	ASSERT_OK(tuf_writer_sign(bins[0], signers[K_BINS]));

	publish_snapshot(&rp, bins, names, n);
	publish_target(&rp, bins[idx], BIN_TARGET, payload, sizeof(payload) - 1);
	client_init(&rp);
	client_open(&c, &rp);
	ASSERT_OK(tuf_updater_refresh(c.u));
	client_fetch(&c, &rp, BIN_TARGET, payload, sizeof(payload) - 1);
	ASSERT_ERR(tuf_updater_get_target(c.u, "data/absent", &(const struct tuf_target *){NULL}),
		   TUF_E_NOT_FOUND);
	client_close(&c);
	free(bin);
	tuf_writer_bins_free(bins, names, n);
	repo_free(&rp);
}

struct progress {
	unsigned calls;
	uint64_t done, total;
};

static void on_progress(void *userdata, uint64_t done, uint64_t total)
{
	struct progress *p = userdata;

	ASSERT_TRUE(done > p->done);
	p->calls++;
	p->done = done;
	p->total = total;
}

/* The hex digest of alg stored for path in doc. */
static const char *stored_hash(struct json_object *doc, const char *path, const char *alg)
{
	struct json_object *t = json_object_object_get(
	    json_object_object_get(json_object_object_get(doc, "signed"), "targets"), path);

	return json_object_get_string(
	    json_object_object_get(json_object_object_get(t, "hashes"), alg));
}

TEST(large_target_from_file)
{
	uint8_t *big = malloc(BIG_SIZE), digest[TUF_HASH_MAX_SIZE];
	char hex[2 * TUF_HASH_MAX_SIZE + 1], *file, *name;
	struct json_object *doc, *t, *doc2;
	struct progress p = {};

	ASSERT_TRUE(big);
	randombytes_buf_deterministic(big, BIG_SIZE, (const uint8_t[32]){7});
	file = strdup(join(tmp, "big.img"));
	ASSERT_OK(sl_write_file_atomic(file, big, BIG_SIZE, 0644));

	ASSERT_OK(tuf_writer_new(TUF_ROLE_TARGETS, now, &doc));
	ASSERT_OK(tuf_writer_targets_add_file(doc, "images/big.img", file, NULL, on_progress, &p));
	t = json_object_object_get(
	    json_object_object_get(json_object_object_get(doc, "signed"), "targets"),
	    "images/big.img");
	ASSERT_EQ_INT(json_object_get_int64(json_object_object_get(t, "length")), BIG_SIZE);
	ASSERT_OK(tuf_hash_buf(TUF_HASH_SHA256, big, BIG_SIZE, digest));
	sl_hex_encode(digest, 32, hex);
	ASSERT_EQ_STR(stored_hash(doc, "images/big.img", "sha256"), hex);
	ASSERT_OK(tuf_hash_buf(TUF_HASH_SHA512, big, BIG_SIZE, digest));
	sl_hex_encode(digest, 64, hex);
	ASSERT_EQ_STR(stored_hash(doc, "images/big.img", "sha512"), hex);
	ASSERT_TRUE(p.calls > 1);
	ASSERT_EQ_INT(p.done, BIG_SIZE);
	ASSERT_EQ_INT(p.total, BIG_SIZE);

	/* The same bytes from a buffer give the same entry. */
	ASSERT_OK(tuf_writer_new(TUF_ROLE_TARGETS, now, &doc2));
	ASSERT_OK(tuf_writer_targets_add_buf(doc2, "images/big.img", big, BIG_SIZE, NULL));
	ASSERT_TRUE(json_object_equal(
	    t, json_object_object_get(
		   json_object_object_get(json_object_object_get(doc2, "signed"), "targets"),
		   "images/big.img")));

	ASSERT_OK(tuf_writer_target_filename(doc, "images/big.img", &name));
	sl_hex_encode(digest, 32, hex);
	ASSERT_OK(tuf_hash_buf(TUF_HASH_SHA256, big, BIG_SIZE, digest));
	sl_hex_encode(digest, 32, hex);
	ASSERT_TRUE(strncmp(name, "images/", 7) == 0);
	ASSERT_TRUE(strncmp(name + 7, hex, 64) == 0);
	ASSERT_EQ_STR(name + 7 + 64, ".big.img");
	free(name);

	/* Not a regular file; a symlink is not followed. */
	ASSERT_ERR(tuf_writer_targets_add_file(doc, "x", tmp, NULL, NULL, NULL), SL_E_INVALID);
	ASSERT_OK(symlink(file, join(tmp, "link.img")));
	ASSERT_ERR(tuf_writer_targets_add_file(doc, "x", join(tmp, "link.img"), NULL, NULL, NULL),
		   -ELOOP);
	ASSERT_OK(unlink(join(tmp, "link.img")));
	ASSERT_OK(unlink(file));
	free(file);
	free(big);
	json_object_put(doc);
	json_object_put(doc2);
}

TEST(file_names)
{
	char *s;

	ASSERT_OK(tuf_writer_metadata_filename("root", 3, true, &s));
	ASSERT_EQ_STR(s, "3.root.json");
	free(s);
	ASSERT_OK(tuf_writer_metadata_filename("root", 3, false, &s));
	ASSERT_EQ_STR(s, "3.root.json");
	free(s);
	ASSERT_OK(tuf_writer_metadata_filename("timestamp", 9, true, &s));
	ASSERT_EQ_STR(s, "timestamp.json");
	free(s);
	ASSERT_OK(tuf_writer_metadata_filename("snapshot", 4, true, &s));
	ASSERT_EQ_STR(s, "4.snapshot.json");
	free(s);
	ASSERT_OK(tuf_writer_metadata_filename("targets", 5, true, &s));
	ASSERT_EQ_STR(s, "5.targets.json");
	free(s);
	ASSERT_OK(tuf_writer_metadata_filename("team/models v2", 2, true, &s));
	ASSERT_EQ_STR(s, "2.team%2Fmodels%20v2.json");
	free(s);
	ASSERT_OK(tuf_writer_metadata_filename("models", 2, false, &s));
	ASSERT_EQ_STR(s, "models.json");
	free(s);
	ASSERT_ERR(tuf_writer_metadata_filename("", 2, true, &s), SL_E_INVALID);
	ASSERT_ERR(tuf_writer_metadata_filename("snapshot", 0, true, &s), SL_E_INVALID);
}

TEST(documents_and_keys)
{
	struct json_object *root = new_root(), *doc, *ts, *snap, *custom, *t;
	uint8_t seed[32], pk[32], sk[64];
	struct tuf_signer *s;
	const char *hash_prefixes[] = {"0a", "ff"}, *bad_prefixes[] = {"XY"};
	char *bytes;
	size_t len;
	uint64_t v;

	/* A secret key whose public half was swapped is refused. */
	memset(seed, 42, sizeof(seed));
	ASSERT_EQ_INT(crypto_sign_seed_keypair(pk, sk, seed), 0);
	sk[40] ^= 1;
	ASSERT_ERR(tuf_signer_ed25519_new(sk, &s), SL_E_INVALID);
	sodium_memzero(sk, sizeof(sk));

	/* Root key removal garbage-collects the key table. */
	ASSERT_OK(tuf_writer_root_add_key(root, TUF_ROLE_SNAPSHOT, key_of(K_ROOT1), NULL));
	ASSERT_OK(tuf_writer_root_remove_key(root, TUF_ROLE_ROOT, id_of(K_ROOT1)));
	ASSERT_TRUE(json_object_object_get_ex(
	    json_object_object_get(json_object_object_get(root, "signed"), "keys"), id_of(K_ROOT1),
	    NULL));
	ASSERT_OK(tuf_writer_root_remove_key(root, TUF_ROLE_SNAPSHOT, id_of(K_ROOT1)));
	ASSERT_TRUE(!json_object_object_get_ex(
	    json_object_object_get(json_object_object_get(root, "signed"), "keys"), id_of(K_ROOT1),
	    NULL));
	ASSERT_ERR(tuf_writer_root_remove_key(root, TUF_ROLE_ROOT, id_of(K_ROOT1)),
		   TUF_E_NOT_FOUND);
	/* Threshold 2 with two keys left is fine; 3 cannot be reached. */
	ASSERT_OK(tuf_writer_sign(root, signers[K_ROOT2]));
	ASSERT_OK(tuf_writer_sign(root, signers[K_ROOT3]));
	ASSERT_OK(tuf_writer_check_complete(root, "root", NULL));
	ASSERT_OK(tuf_writer_root_set_threshold(root, TUF_ROLE_SNAPSHOT, 2));
	ASSERT_OK(tuf_writer_sign(root, signers[K_ROOT2]));
	ASSERT_OK(tuf_writer_sign(root, signers[K_ROOT3]));
	ASSERT_ERR(tuf_writer_check_complete(root, "root", NULL), TUF_E_THRESHOLD);
	ASSERT_OK(tuf_writer_root_set_threshold(root, TUF_ROLE_SNAPSHOT, 1));

	/* Wrong document types. */
	ASSERT_OK(tuf_writer_new(TUF_ROLE_TARGETS, now, &doc));
	ASSERT_ERR(tuf_writer_root_add_key(doc, TUF_ROLE_ROOT, key_of(K_ROOT1), NULL), TUF_E_TYPE);
	ASSERT_ERR(tuf_writer_timestamp_set_snapshot(doc, 1, NULL, 0), TUF_E_TYPE);
	ASSERT_ERR(tuf_writer_write(doc, "root", NULL, false, tmp, "t.json"), TUF_E_TYPE);
	ASSERT_ERR(tuf_writer_write(doc, "targets", root, false, tmp, "a/b.json"), SL_E_INVALID);

	/* Delegations by hash prefix, and their validation. */
	ASSERT_ERR(
	    tuf_writer_delegation_add_role(doc, "snapshot", 1, false, NULL, 0, hash_prefixes, 2),
	    SL_E_INVALID);
	ASSERT_ERR(tuf_writer_delegation_add_role(doc, "p", 1, false, NULL, 0, bad_prefixes, 1),
		   SL_E_INVALID);
	ASSERT_ERR(tuf_writer_delegation_add_role(doc, "p", 1, false, NULL, 0, NULL, 0),
		   SL_E_INVALID);
	ASSERT_OK(tuf_writer_delegation_add_role(doc, "p", 1, false, NULL, 0, hash_prefixes, 2));
	ASSERT_ERR(tuf_writer_delegation_add_role(doc, "p", 1, false, NULL, 0, hash_prefixes, 2),
		   SL_E_INVALID);
	ASSERT_ERR(tuf_writer_delegation_add_key(doc, "q", key_of(K_MODELS), NULL),
		   TUF_E_NOT_FOUND);
	ASSERT_OK(tuf_writer_delegation_add_key(doc, "p", key_of(K_MODELS), NULL));
	ASSERT_ERR(tuf_writer_delegation_set_succinct(doc, "bins", 4, 1), SL_E_INVALID);
	ASSERT_OK(tuf_writer_sign(doc, signers[K_TARGETS1]));
	ASSERT_OK(tuf_writer_check_complete(doc, "targets", root));
	ASSERT_OK(tuf_writer_delegation_remove_role(doc, "p"));
	ASSERT_TRUE(
	    json_object_object_length(json_object_object_get(
		json_object_object_get(json_object_object_get(doc, "signed"), "delegations"),
		"keys")) == 0);
	ASSERT_ERR(tuf_writer_delegation_remove_role(doc, "p"), TUF_E_NOT_FOUND);
	/* Now empty of roles, it may switch to succinct bins. */
	ASSERT_OK(tuf_writer_delegation_set_succinct(doc, "bins", 4, 1));
	ASSERT_ERR(tuf_writer_delegation_set_succinct(doc, "bins", 33, 1), SL_E_INVALID);

	/* Custom objects are copied, replaced and removed. */
	custom = json_tokener_parse("{\"sluice\": {\"kind\": \"model\"}}");
	ASSERT_TRUE(custom);
	ASSERT_OK(tuf_writer_targets_add_buf(doc, MODEL, model, sizeof(model) - 1, NULL));
	ASSERT_ERR(tuf_writer_targets_set_custom(doc, "absent", custom), TUF_E_NOT_FOUND);
	ASSERT_OK(tuf_writer_targets_set_custom(doc, MODEL, custom));
	json_object_object_add(custom, "changed", json_object_new_int(1));
	t = json_object_object_get(
	    json_object_object_get(json_object_object_get(doc, "signed"), "targets"), MODEL);
	ASSERT_EQ_INT(json_object_object_length(json_object_object_get(t, "custom")), 1);
	ASSERT_ERR(
	    tuf_writer_targets_set_custom(doc, MODEL, json_object_object_get(custom, "changed")),
	    SL_E_INVALID);
	ASSERT_OK(tuf_writer_targets_set_custom(doc, MODEL, NULL));
	ASSERT_TRUE(!json_object_object_get_ex(t, "custom", NULL));
	json_object_put(custom);

	/* Round trip through bytes, and timestamp / snapshot entries. */
	ASSERT_OK(tuf_writer_serialize(doc, &bytes, &len));
	json_object_put(doc);
	ASSERT_OK(tuf_writer_load(bytes, len, TUF_ROLE_TARGETS, &doc));
	ASSERT_ERR(tuf_writer_load(bytes, len, TUF_ROLE_SNAPSHOT, &snap), TUF_E_TYPE);
	ASSERT_OK(tuf_writer_new(TUF_ROLE_SNAPSHOT, now, &snap));
	ASSERT_OK(tuf_writer_snapshot_set_meta(snap, "targets", 3, bytes, len));
	ASSERT_OK(tuf_writer_snapshot_set_meta(snap, "bins-0", 1, NULL, 0));
	ASSERT_OK(tuf_writer_snapshot_remove_meta(snap, "bins-0"));
	ASSERT_ERR(tuf_writer_snapshot_remove_meta(snap, "bins-0"), TUF_E_NOT_FOUND);
	ASSERT_OK(tuf_writer_new(TUF_ROLE_TIMESTAMP, now, &ts));
	ASSERT_ERR(tuf_writer_timestamp_set_snapshot(ts, 0, NULL, 0), SL_E_INVALID);
	ASSERT_OK(tuf_writer_timestamp_set_snapshot(ts, 7, bytes, len));
	ASSERT_OK(tuf_writer_sign(ts, signers[K_TIMESTAMP]));
	ASSERT_OK(tuf_writer_check_complete(ts, "timestamp", root));
	ASSERT_ERR(tuf_writer_check_complete(ts, "snapshot", root), TUF_E_TYPE);
	ASSERT_OK(tuf_writer_set_version(ts, 41));
	ASSERT_OK(tuf_writer_bump_version(ts));
	ASSERT_OK(tuf_writer_get_version(ts, &v));
	ASSERT_EQ_INT(v, 42);
	ASSERT_ERR(tuf_writer_set_expires(ts, 0), SL_E_INVALID);
	ASSERT_ERR(tuf_writer_set_expires_days(ts, now, 0), SL_E_INVALID);
	free(bytes);
	json_object_put(ts);
	json_object_put(snap);
	json_object_put(doc);
	json_object_put(root);
}

int main(void)
{
	ASSERT_TRUE(sodium_init() >= 0);
	now = (int64_t)time(NULL);
	ASSERT_OK(sl_mkdtemp_private(NULL, &tmp));
	make_signers();

	RUN(full_repository_accepted_by_updater);
	RUN(signature_collection);
	RUN(key_not_in_role_refused);
	RUN(edit_drops_signatures);
	RUN(root_rotation);
	RUN(succinct_bins);
	RUN(large_target_from_file);
	RUN(file_names);
	RUN(documents_and_keys);

	for (int n = 1; n < K_MAX; n++)
		tuf_signer_free(signers[n]);
	ASSERT_OK(sl_rm_rf(tmp));
	free(tmp);
	return 0;
}
