/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of publish: a good bundle served and readable by the TUF client, every refusal leaving
 * the store byte-identical (invariant R), root rotation, and SIGKILL at random points. */
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "bundle.h"
#include "fileio.h"
#include "repo.h"
#include "state.h"
#include "test-cp-util.h"
#include "test.h"
#include "tuf/fetcher.h"
#include "tuf/updater.h"
#include "tuf/writer.h"

static const struct cpt_artifact arts[] = {
    {"images/rootfs.img", "rootfs image bytes v1", NULL},
    {"models/det.onnx", "model bytes v1", "models"},
};

static char *make(struct cpt_env *e, const char *name, uint64_t tv, uint64_t mv,
		  const struct cpt_artifact *a, size_t n)
{
	struct cpt_bundle_opts o = {.release = "2026.11.1", .targets_version = tv,
				    .models_version = mv};
	char *dir = cpt_path(e, name);

	ASSERT_OK(cpt_make_bundle(dir, &e->k, &o, a, n));
	return dir;
}

/* The TUF client refreshes from STATE/repo over file:// and downloads every target. */
static void client_check(struct cpt_env *e, uint64_t want_targets, const char *path,
			 const char *content)
{
	_cleanup_free_ char *mdir = cpt_path(e, "client-md"), *tdir = NULL, *murl = NULL,
			    *turl = NULL, *root = NULL, *out = cpt_path(e, "client-out");
	_cleanup_free_ uint8_t *buf = NULL, *got = NULL;
	struct tuf_fetcher *f = NULL;
	struct tuf_updater *u = NULL;
	const struct tuf_target *t;
	size_t len;

	sl_rm_rf(mdir);
	ASSERT_OK(sl_mkdir_p(mdir, 0700));
	ASSERT_TRUE(asprintf(&root, "%s/repo/metadata/1.root.json", e->state) > 0);
	ASSERT_OK(sl_read_file_at(AT_FDCWD, root, 1 << 20, &buf, &len));
	ASSERT_OK(tuf_updater_init_root(mdir, buf, len));
	ASSERT_TRUE(asprintf(&murl, "file://%s/repo/metadata/", e->state) > 0);
	ASSERT_TRUE(asprintf(&turl, "file://%s/repo/targets/", e->state) > 0);
	ASSERT_OK(tuf_fetcher_new(NULL, &f));
	struct tuf_updater_config cfg = {.metadata_dir = mdir, .metadata_base_url = murl,
					 .target_base_url = turl, .fetcher = f};
	ASSERT_OK(tuf_updater_new(&cfg, &u));
	ASSERT_OK(tuf_updater_refresh(u));
	ASSERT_EQ_INT(tuf_updater_trusted(u, TUF_ROLE_TARGETS)->version, want_targets);
	ASSERT_OK(tuf_updater_get_target(u, path, &t));
	unlink(out);
	ASSERT_OK(tuf_updater_download_target(u, t, out));
	ASSERT_OK(sl_read_file_at(AT_FDCWD, out, 1 << 20, &got, &len));
	ASSERT_EQ_INT(len, strlen(content));
	ASSERT_EQ_MEM(got, content, len);
	tuf_updater_free(u);
	tuf_fetcher_free(f);
}

TEST(publish_good)
{
	struct cpt_env e;
	struct cp_publish_result res;
	_cleanup_free_ char *b1 = NULL, *b2 = NULL;
	int64_t bad = 0;
	const struct cpt_artifact v2[] = {
	    {"images/rootfs.img", "rootfs image bytes v2", NULL},
	    {"models/det.onnx", "model bytes v1", "models"},
	};

	ASSERT_OK(cpt_env_new(&e));
	b1 = make(&e, "b1", 1, 1, arts, 2);
	ASSERT_OK(cp_repo_publish(e.s, b1, "test", &res));
	ASSERT_EQ_INT(res.targets_version, 1);
	ASSERT_EQ_INT(res.snapshot_version, 1);
	ASSERT_EQ_INT(res.timestamp_version, 1);
	ASSERT_EQ_INT(res.n_artifacts, 2);
	ASSERT_EQ_INT(res.n_roles, 1);
	client_check(&e, 1, "models/det.onnx", "model bytes v1");
	client_check(&e, 1, "images/rootfs.img", "rootfs image bytes v1");

	/* The second release re-signs the models role (version 2) with the same model bytes. */
	b2 = make(&e, "b2", 2, 2, v2, 2);
	ASSERT_OK(cp_repo_publish(e.s, b2, "test", &res));
	ASSERT_EQ_INT(res.targets_version, 2);
	ASSERT_EQ_INT(res.snapshot_version, 2);
	ASSERT_EQ_INT(res.n_artifacts, 1);
	client_check(&e, 2, "images/rootfs.img", "rootfs image bytes v2");
	ASSERT_OK(cp_audit_verify(e.s, &bad, NULL));
	cpt_env_clear(&e);
}

/* Publish a refused bundle and check the code and invariant R; then a good one passes. */
static void refuse(struct cpt_env *e, const char *bundle, int code)
{
	struct cpt_snap snap = {};
	uint64_t g1, g2;

	ASSERT_OK(cpt_snap_take(e, &snap));
	ASSERT_OK(cp_state_repo_generation(e->s, &g1));
	ASSERT_ERR(cp_repo_publish(e->s, bundle, "test", NULL), code);
	fprintf(stderr, "   refused as expected: %s\n", sl_error_message(code));
	ASSERT_OK(cp_state_repo_generation(e->s, &g2));
	ASSERT_EQ_INT(g1, g2);
	cpt_snap_assert_same(e, &snap);
}

static struct cpt_env published_env(void)
{
	struct cpt_env e;
	_cleanup_free_ char *b = NULL;

	ASSERT_OK(cpt_env_new(&e));
	b = make(&e, "base", 5, 3, arts, 2);
	ASSERT_OK(cp_repo_publish(e.s, b, "test", NULL));
	return e;
}

TEST(refuse_bad_signature)
{
	struct cpt_env e = published_env();
	struct cpt_bundle_opts o = {.release = "bad", .targets_version = 6, .models_version = 3,
				    .sign_targets_with_models_key = true};
	_cleanup_free_ char *b = cpt_path(&e, "badsig");

	ASSERT_OK(cpt_make_bundle(b, &e.k, &o, arts, 2));
	refuse(&e, b, TUF_E_THRESHOLD);
	cpt_env_clear(&e);
}

TEST(refuse_rollback)
{
	struct cpt_env e = published_env();
	_cleanup_free_ char *older = make(&e, "older", 4, 3, arts, 2);
	_cleanup_free_ char *same = make(&e, "same", 5, 3, arts, 2);
	_cleanup_free_ char *role = make(&e, "role-older", 6, 2, arts, 2);

	refuse(&e, older, TUF_E_ROLLBACK);
	refuse(&e, same, TUF_E_ROLLBACK);
	refuse(&e, role, TUF_E_ROLLBACK);
	cpt_env_clear(&e);
}

TEST(refuse_same_role_version_other_content)
{
	struct cpt_env e = published_env();
	const struct cpt_artifact other[] = {
	    {"images/rootfs.img", "rootfs image bytes v1", NULL},
	    {"models/det.onnx", "another model", "models"},
	};
	_cleanup_free_ char *b = make(&e, "samerole", 6, 3, other, 2);

	refuse(&e, b, TUF_E_VERSION);
	cpt_env_clear(&e);
}

TEST(refuse_missing_artifact)
{
	struct cpt_env e = published_env();
	const struct cpt_artifact fresh[] = {{"images/new.img", "brand new image", NULL}};
	_cleanup_free_ char *b = make(&e, "missing", 6, 0, fresh, 1), *f = NULL;

	ASSERT_TRUE(asprintf(&f, "%s/targets/images/new.img", b) > 0);
	ASSERT_OK(unlink(f));
	ASSERT_OK(cpt_write_index(b, "missing", "6"));
	refuse(&e, b, CP_E_BUNDLE);
	cpt_env_clear(&e);
}

TEST(refuse_listed_but_missing)
{
	struct cpt_env e = published_env();
	const struct cpt_artifact fresh[] = {{"images/new.img", "brand new image", NULL}};
	_cleanup_free_ char *b = make(&e, "gone", 6, 0, fresh, 1), *f = NULL;

	ASSERT_TRUE(asprintf(&f, "%s/targets/images/new.img", b) > 0);
	ASSERT_OK(unlink(f)); /* bundle.json still lists it */
	refuse(&e, b, CP_E_BUNDLE);
	cpt_env_clear(&e);
}

TEST(refuse_hash_mismatch)
{
	struct cpt_env e = published_env();
	const struct cpt_artifact fresh[] = {{"images/new.img", "brand new image", NULL}};
	_cleanup_free_ char *b = make(&e, "hash", 6, 0, fresh, 1), *f = NULL;

	ASSERT_TRUE(asprintf(&f, "%s/targets/images/new.img", b) > 0);
	/* Same length, other bytes: first with the stale index, then with a matching index. */
	ASSERT_OK(cpt_write(f, "brand new imagE"));
	refuse(&e, b, TUF_E_HASH);
	ASSERT_OK(cpt_write_index(b, "hash", "6"));
	refuse(&e, b, TUF_E_HASH);
	/* Longer than the signed length. */
	ASSERT_OK(cpt_write(f, "brand new image, longer"));
	ASSERT_OK(cpt_write_index(b, "hash", "6"));
	refuse(&e, b, TUF_E_LENGTH);
	cpt_env_clear(&e);
}

TEST(refuse_symlink_fifo_unlisted)
{
	struct cpt_env e = published_env();
	const struct cpt_artifact fresh[] = {{"images/new.img", "brand new image", NULL}};
	_cleanup_free_ char *b = make(&e, "link", 6, 0, fresh, 1), *l = NULL, *x = NULL;

	ASSERT_TRUE(asprintf(&l, "%s/targets/images/evil", b) > 0);
	ASSERT_OK(symlink("/etc/passwd", l));
	refuse(&e, b, CP_E_BUNDLE);
	ASSERT_OK(unlink(l));
	ASSERT_OK(mkfifo(l, 0600));
	refuse(&e, b, CP_E_BUNDLE);
	ASSERT_OK(unlink(l));
	/* An unlisted file in metadata/. */
	ASSERT_TRUE(asprintf(&x, "%s/metadata/extra.json", b) > 0);
	ASSERT_OK(cpt_write(x, "{}"));
	refuse(&e, b, CP_E_BUNDLE);
	ASSERT_OK(cpt_write_index(b, "link", "6"));
	refuse(&e, b, CP_E_BUNDLE);
	ASSERT_OK(unlink(x));
	/* An artifact no signed target names. */
	free(l);
	ASSERT_TRUE(asprintf(&l, "%s/targets/images/stowaway", b) > 0);
	ASSERT_OK(cpt_write(l, "x"));
	ASSERT_OK(cpt_write_index(b, "link", "6"));
	refuse(&e, b, CP_E_BUNDLE);
	ASSERT_OK(unlink(l));
	ASSERT_OK(cpt_write_index(b, "link", "6"));
	ASSERT_OK(cp_repo_publish(e.s, b, "test", NULL));
	cpt_env_clear(&e);
}

TEST(refuse_oversized_index)
{
	struct cpt_env e = published_env();
	_cleanup_free_ char *b = make(&e, "big", 6, 0, arts, 1), *p = NULL;
	_cleanup_free_ char *text = malloc(CP_BUNDLE_INDEX_MAX + 2);

	ASSERT_TRUE(text);
	memset(text, ' ', CP_BUNDLE_INDEX_MAX + 1);
	text[CP_BUNDLE_INDEX_MAX + 1] = '\0';
	ASSERT_TRUE(asprintf(&p, "%s/bundle.json", b) > 0);
	ASSERT_OK(cpt_write(p, text));
	refuse(&e, b, SL_E_TOO_LARGE);
	cpt_env_clear(&e);
}

TEST(refuse_path_traversal_index)
{
	struct cpt_env e = published_env();
	_cleanup_free_ char *b = make(&e, "trav", 6, 0, arts, 1), *p = NULL;
	const char *text = "{\"sluice_bundle\":1,\"release\":\"r\",\"version\":\"6\",\"metadata\":[],"
			   "\"files\":[{\"path\":\"targets/../../etc/passwd\",\"length\":1,"
			   "\"sha256\":\"0000000000000000000000000000000000000000000000000000000000000000\"}]}";

	ASSERT_TRUE(asprintf(&p, "%s/bundle.json", b) > 0);
	ASSERT_OK(cpt_write(p, text));
	refuse(&e, b, TUF_E_PATH);
	cpt_env_clear(&e);
}

TEST(delegated_role_carried)
{
	struct cpt_env e = published_env();
	const struct cpt_artifact img[] = {{"images/rootfs.img", "rootfs image bytes v7", NULL}};
	struct cpt_bundle_opts o = {.release = "carry", .targets_version = 7, .models_version = 3,
				    .omit_models_file = true};
	_cleanup_free_ char *b = cpt_path(&e, "carry");
	struct cp_publish_result res;

	/* The bundle delegates to "models" without carrying it: the published role stays. */
	ASSERT_OK(cpt_make_bundle(b, &e.k, &o, img, 1));
	ASSERT_OK(cp_repo_publish(e.s, b, "test", &res));
	ASSERT_EQ_INT(res.n_roles, 1);
	client_check(&e, 7, "models/det.onnx", "model bytes v1");
	client_check(&e, 7, "images/rootfs.img", "rootfs image bytes v7");
	cpt_env_clear(&e);
}

TEST(root_rotation)
{
	struct cpt_env e = published_env();
	_cleanup_(json_object_putp) struct json_object *r2 = NULL, *r1 = NULL;
	_cleanup_free_ char *bad = cpt_path(&e, "rot-bad"), *good = cpt_path(&e, "rot-good");
	struct cpt_keys newk;
	struct cp_publish_result res;
	struct cpt_bundle_opts o = {.release = "rot", .targets_version = 6, .models_version = 4};
	char keyid[65];

	/* Root 2 with a new root key, signed only by the new key: not by root 1's threshold. */
	ASSERT_OK(cpt_keys_new(&newk, NULL));
	ASSERT_OK(cpt_make_root(e.state, &e.k, 1, NULL, &r1));
	ASSERT_OK(tuf_writer_root_rotate(r1, &r2));
	ASSERT_OK(tuf_writer_root_replace_key(r2, TUF_ROLE_ROOT, tuf_signer_keyid(e.k.root),
					      tuf_signer_key(newk.root), keyid));
	ASSERT_OK(tuf_writer_sign(r2, newk.root));
	o.new_root = r2;
	ASSERT_OK(cpt_make_bundle(bad, &e.k, &o, arts, 2));
	refuse(&e, bad, TUF_E_THRESHOLD);
	/* Signed by old and new: accepted, and the client follows the rotation. */
	ASSERT_OK(tuf_writer_sign(r2, e.k.root));
	ASSERT_OK(cpt_make_bundle(good, &e.k, &o, arts, 2));
	ASSERT_OK(cp_repo_publish(e.s, good, "test", &res));
	ASSERT_EQ_INT(res.root_version, 2);
	ASSERT_EQ_INT(res.n_new_roots, 1);
	client_check(&e, 6, "images/rootfs.img", "rootfs image bytes v1");
	cpt_keys_clear(&newk);
	cpt_env_clear(&e);
}

TEST(renew)
{
	struct cpt_env e = published_env();
	struct cp_served v = {};
	int64_t now = time(NULL);
	uint64_t g1, g2;

	ASSERT_OK(cp_state_repo_generation(e.s, &g1));
	ASSERT_EQ_INT(cp_repo_renew_if_needed(e.s, now), 0);
	ASSERT_EQ_INT(cp_repo_renew_if_needed(e.s, now + 13 * 3600), 1);
	ASSERT_OK(cp_state_repo_generation(e.s, &g2));
	ASSERT_TRUE(g2 > g1);
	ASSERT_OK(cp_repo_load(e.s, &v));
	ASSERT_EQ_INT(v.timestamp->version, 2);
	ASSERT_EQ_INT(v.snapshot->version, 1);
	cp_served_clear(&v);
	/* Four days later the snapshot is past half its life too. */
	ASSERT_EQ_INT(cp_repo_renew_if_needed(e.s, now + 4 * 86400), 1);
	ASSERT_OK(cp_repo_load(e.s, &v));
	ASSERT_EQ_INT(v.timestamp->version, 3);
	ASSERT_EQ_INT(v.snapshot->version, 2);
	cp_served_clear(&v);
	cpt_env_clear(&e);
}

TEST(root_import_refusals)
{
	_cleanup_free_ char *tmp = cpt_tmpdir(), *state = NULL, *root = NULL, *other = NULL;
	struct cp_state *s = NULL;
	struct cpt_keys k;
	struct cp_root_info info;
	_cleanup_(json_object_putp) struct json_object *doc = NULL;

	ASSERT_TRUE(asprintf(&state, "%s/state", tmp) > 0);
	ASSERT_TRUE(asprintf(&root, "%s/root.json", tmp) > 0);
	ASSERT_TRUE(asprintf(&other, "%s/other.json", tmp) > 0);
	ASSERT_OK(cp_state_init(state, "test", NULL));
	ASSERT_ERR(cp_state_init(state, "test", NULL), -ENOTEMPTY);
	ASSERT_OK(cp_state_open(state, &s));
	ASSERT_OK(cpt_keys_new(&k, NULL));
	/* Unsigned root. */
	ASSERT_OK(cpt_make_root(state, &k, 1, NULL, &doc));
	ASSERT_OK(tuf_writer_drop_signatures(doc));
	ASSERT_OK(tuf_writer_write(doc, "root", NULL, false, tmp, "other.json"));
	ASSERT_ERR(cp_repo_root_import(s, other, "test", &info), TUF_E_THRESHOLD);
	/* Online keys not ours: the snapshot role gets the targets key. */
	ASSERT_OK(tuf_writer_root_add_key(doc, TUF_ROLE_SNAPSHOT, tuf_signer_key(k.targets), NULL));
	ASSERT_OK(tuf_writer_sign(doc, k.root));
	ASSERT_OK(tuf_writer_write(doc, "root", NULL, true, tmp, "other.json"));
	ASSERT_ERR(cp_repo_root_import(s, other, "test", &info), SL_E_INVALID);
	/* Good, then a second import is refused. */
	ASSERT_OK(cpt_make_root(state, &k, 1, root, NULL));
	ASSERT_OK(cp_repo_root_import(s, root, "test", &info));
	ASSERT_EQ_INT(info.version, 1);
	ASSERT_ERR(cp_repo_root_import(s, root, "test", &info), CP_E_CONFLICT);
	cpt_keys_clear(&k);
	cp_state_free(s);
	sl_rm_rf(tmp);
}

/* ---- SIGKILL during publish ---- */

static void consistent(struct cpt_env *e, uint64_t *ret_targets)
{
	struct cp_state *s = NULL;
	struct cp_served v = {};
	sqlite3_stmt *st;
	int lock = -1;

	/* A fresh handle, as the next process would open it; the lock runs recovery. */
	ASSERT_OK(cp_state_open(e->state, &s));
	ASSERT_OK(cp_state_lock(s, true, &lock));
	close(lock);
	ASSERT_OK(cp_repo_load(s, &v)); /* every file timestamp references exists and verifies */
	ASSERT_TRUE(v.targets);
	for (size_t i = 0; i < v.targets->u.targets.n_targets; i++) {
		const struct tuf_target *t = &v.targets->u.targets.targets[i];
		char hex[65], *p = NULL;
		struct stat sb;

		sl_hex_encode(t->hashes.h[0].digest, 32, hex);
		ASSERT_TRUE(asprintf(&p, "%s/repo/targets/images/%s.%s", e->state, hex,
				     strrchr(t->path, '/') + 1) > 0);
		ASSERT_OK(stat(p, &sb));
		ASSERT_EQ_INT(sb.st_size, t->length);
		free(p);
	}
	ASSERT_OK(sqlite3_prepare_v2(s->db, "SELECT MAX(targets_version), SUM(state = 'pending') "
					    "FROM releases", -1, &st, NULL) == SQLITE_OK ? 0 : -1);
	ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
	ASSERT_EQ_INT(sqlite3_column_int64(st, 0), v.targets->version);
	ASSERT_EQ_INT(sqlite3_column_int64(st, 1), 0);
	sqlite3_finalize(st);
	ASSERT_OK(cp_audit_verify(s, NULL, NULL));
	*ret_targets = v.targets->version;
	cp_served_clear(&v);
	cp_state_free(s);
}

TEST(sigkill_during_publish)
{
	struct cpt_env e = published_env();
	_cleanup_free_ char *big = malloc(4 << 20);
	unsigned seed = (unsigned)time(NULL);
	int killed = 0, finished = 0;

	ASSERT_TRUE(big);
	fprintf(stderr, "   seed %u\n", seed);
	srand(seed);
	for (int i = 0; i < 24; i++) {
		char name[32];
		_cleanup_free_ char *b = NULL;
		struct cpt_artifact a[1] = {{"images/big.img", big, NULL}};
		uint64_t served;
		pid_t pid;
		int status;

		/* Different content each time, so every publish copies a new 4 MiB file. */
		memset(big, 'a' + i % 26, (4 << 20) - 1);
		big[(4 << 20) - 1] = '\0';
		snprintf(name, sizeof(name), "kill-%d", i);
		b = make(&e, name, 6 + (uint64_t)i, 0, a, 1);
		pid = fork();
		ASSERT_TRUE(pid >= 0);
		if (pid == 0) {
			struct cp_state *s = NULL;

			if (cp_state_open(e.state, &s) < 0 || cp_repo_publish(s, b, "test", NULL) < 0)
				_exit(1);
			_exit(0);
		}
		usleep((useconds_t)(rand() % 60000));
		kill(pid, SIGKILL);
		ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
		if (WIFSIGNALED(status))
			killed++;
		else
			finished += WEXITSTATUS(status) == 0;
		consistent(&e, &served);
		ASSERT_TRUE(served == 6 + (uint64_t)i || served == 5 + (uint64_t)i);
		/* Whatever happened, publishing the same bundle again converges. */
		if (served != 6 + (uint64_t)i)
			ASSERT_OK(cp_repo_publish(e.s, b, "test", NULL));
		consistent(&e, &served);
		ASSERT_EQ_INT(served, 6 + (uint64_t)i);
	}
	fprintf(stderr, "   %d killed mid-way, %d finished first\n", killed, finished);
	ASSERT_TRUE(killed > 0);
	cpt_env_clear(&e);
}

int main(void)
{
	RUN(publish_good);
	RUN(refuse_bad_signature);
	RUN(refuse_rollback);
	RUN(refuse_same_role_version_other_content);
	RUN(refuse_missing_artifact);
	RUN(refuse_listed_but_missing);
	RUN(refuse_hash_mismatch);
	RUN(refuse_symlink_fifo_unlisted);
	RUN(refuse_oversized_index);
	RUN(refuse_path_traversal_index);
	RUN(delegated_role_carried);
	RUN(root_rotation);
	RUN(renew);
	RUN(root_import_refusals);
	RUN(sigkill_during_publish);
	return 0;
}
