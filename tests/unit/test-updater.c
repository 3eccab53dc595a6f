/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the client workflow against a file:// copy of tests/unit/data/updater/repo. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "test.h"
#include "tuf/crypto.h"
#include "tuf/updater.h"

#define NOW 1800000000 /* 2027-01-15: every fixture is valid until 2100 */
#define MODEL "models/detector.onnx"
#define MAX_FILES 32

static char *tmp;	/* private test directory */
static char data[4096]; /* tests/unit/data/updater */
static char repo[4096]; /* tmp/repo: a copy the tests may tamper with */
static char mdir[4096]; /* tmp/md: trusted metadata */
static char out[4096];	/* tmp/out: downloaded targets */
static char meta_url[4200], target_url[4200];

static char *join(const char *a, const char *b)
{
	static char buf[8][4096];
	static unsigned i;
	char *r = buf[i++ % 8];

	snprintf(r, sizeof(buf[0]), "%s/%s", a, b);
	return r;
}

static void copy_file(const char *from, const char *to)
{
	uint8_t *buf;
	size_t len;

	ASSERT_OK(sl_read_file_at(AT_FDCWD, from, 1 << 20, &buf, &len));
	ASSERT_OK(sl_write_file_atomic(to, buf, len, 0644));
	free(buf);
}

static void copy_tree(const char *from_arg, const char *to_arg)
{
	char from[4096], to[4096];
	struct dirent *de;
	DIR *d;

	/* Own copies: the arguments may live in join()'s rotating buffers. */
	snprintf(from, sizeof(from), "%s", from_arg);
	snprintf(to, sizeof(to), "%s", to_arg);
	d = opendir(from);
	ASSERT_TRUE(d);
	ASSERT_OK(sl_mkdir_p(to, 0700));
	while ((de = readdir(d))) {
		char src[4400], dst[4400];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(src, sizeof(src), "%s/%s", from, de->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", to, de->d_name);
		ASSERT_TRUE(lstat(src, &st) == 0);
		if (S_ISDIR(st.st_mode))
			copy_tree(src, dst);
		else
			copy_file(src, dst);
	}
	closedir(d);
}

/* A fresh repository copy, an empty target dir and a metadata dir trusting 1.root.json. */
static void setup(void)
{
	uint8_t *buf;
	size_t len;

	ASSERT_OK(sl_rm_rf(repo));
	ASSERT_OK(sl_rm_rf(mdir));
	ASSERT_OK(sl_rm_rf(out));
	copy_tree(join(data, "repo"), repo);
	ASSERT_OK(sl_mkdir_p(mdir, 0700));
	ASSERT_OK(sl_mkdir_p(out, 0700));
	ASSERT_OK(
	    sl_read_file_at(AT_FDCWD, join(repo, "metadata/1.root.json"), 1 << 20, &buf, &len));
	ASSERT_OK(tuf_updater_init_root(mdir, buf, len));
	free(buf);
}

struct env {
	struct tuf_fetcher *f;
	struct tuf_updater *u;
};

static int open_env_at(struct env *e, int64_t now, const struct tuf_updater_limits *limits)
{
	struct tuf_updater_config cfg = {
	    .metadata_dir = mdir,
	    .metadata_base_url = meta_url,
	    .target_base_url = target_url,
	    .now = now,
	};

	if (limits)
		cfg.limits = *limits;
	ASSERT_OK(tuf_fetcher_new(NULL, &e->f));
	cfg.fetcher = e->f;
	e->u = NULL;
	return tuf_updater_new(&cfg, &e->u);
}

static void open_env(struct env *e)
{
	ASSERT_OK(open_env_at(e, NOW, NULL));
}

static void close_env(struct env *e)
{
	tuf_updater_free(e->u);
	tuf_fetcher_free(e->f);
}

/* Name, SHA-256 and inode of every file of a directory, sorted by readdir order. */
struct dir_state {
	size_t n;
	char name[MAX_FILES][256];
	char sha[MAX_FILES][65];
	ino_t ino[MAX_FILES];
};

static void dir_state(const char *path, struct dir_state *s)
{
	DIR *d = opendir(path);
	struct dirent *de;

	ASSERT_TRUE(d);
	memset(s, 0, sizeof(*s));
	while ((de = readdir(d))) {
		uint8_t *buf;
		size_t len;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ASSERT_TRUE(s->n < MAX_FILES);
		snprintf(s->name[s->n], sizeof(s->name[0]), "%s", de->d_name);
		ASSERT_OK(sl_read_file_at(AT_FDCWD, join(path, de->d_name), 1 << 24, &buf, &len));
		ASSERT_OK(tuf_sha256_hex(buf, len, s->sha[s->n]));
		ASSERT_OK(stat(join(path, de->d_name), &st));
		s->ino[s->n] = st.st_ino;
		free(buf);
		s->n++;
	}
	closedir(d);
}

/* Same files, same bytes; with same_inodes also never rewritten. */
static void assert_same_state(const struct dir_state *a, const struct dir_state *b,
			      bool same_inodes)
{
	ASSERT_EQ_INT(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		ASSERT_EQ_STR(a->name[i], b->name[i]);
		ASSERT_EQ_STR(a->sha[i], b->sha[i]);
		if (same_inodes)
			ASSERT_EQ_INT(a->ino[i], b->ino[i]);
	}
}

static bool file_exists(const char *dir, const char *name)
{
	return access(join(dir, name), F_OK) == 0;
}

static void assert_same_file(const char *a, const char *b)
{
	uint8_t *x, *y;
	size_t xl, yl;

	ASSERT_OK(sl_read_file_at(AT_FDCWD, a, 1 << 24, &x, &xl));
	ASSERT_OK(sl_read_file_at(AT_FDCWD, b, 1 << 24, &y, &yl));
	ASSERT_EQ_INT(xl, yl);
	ASSERT_EQ_MEM(x, y, xl);
	free(x);
	free(y);
}

static void refresh_ok(void)
{
	struct env e;

	open_env(&e);
	ASSERT_OK(tuf_updater_refresh(e.u));
	close_env(&e);
}

TEST(refresh)
{
	struct env e;

	setup();
	open_env(&e);
	ASSERT_EQ_INT(tuf_updater_trusted(e.u, TUF_ROLE_ROOT)->version, 1);
	ASSERT_TRUE(tuf_updater_trusted(e.u, TUF_ROLE_TIMESTAMP) == NULL);
	ASSERT_OK(tuf_updater_refresh(e.u));
	ASSERT_EQ_INT(tuf_updater_trusted(e.u, TUF_ROLE_ROOT)->version, 2);
	ASSERT_EQ_INT(tuf_updater_trusted(e.u, TUF_ROLE_TIMESTAMP)->version, 2);
	ASSERT_EQ_INT(tuf_updater_trusted(e.u, TUF_ROLE_SNAPSHOT)->version, 1);
	ASSERT_EQ_INT(tuf_updater_trusted(e.u, TUF_ROLE_TARGETS)->version, 1);
	/* 2.root, 3.root (absent), timestamp, 1.snapshot, 1.targets */
	ASSERT_EQ_INT(tuf_fetcher_requests(e.f), 5);
	close_env(&e);

	/* Non-versioned names, the exact bytes served, nothing else (no temporary files). */
	assert_same_file(join(mdir, "root.json"), join(repo, "metadata/2.root.json"));
	assert_same_file(join(mdir, "timestamp.json"), join(repo, "metadata/timestamp.json"));
	assert_same_file(join(mdir, "snapshot.json"), join(repo, "metadata/1.snapshot.json"));
	assert_same_file(join(mdir, "targets.json"), join(repo, "metadata/1.targets.json"));
	struct dir_state s;
	dir_state(mdir, &s);
	ASSERT_EQ_INT(s.n, 4);
}

TEST(refresh_again_writes_nothing)
{
	struct dir_state before, after;
	struct env e;

	setup();
	refresh_ok();
	dir_state(mdir, &before);
	open_env(&e);
	ASSERT_EQ_INT(tuf_updater_trusted(e.u, TUF_ROLE_TIMESTAMP)->version, 2);
	ASSERT_OK(tuf_updater_refresh(e.u));
	/* 3.root (absent) and timestamp only: snapshot and targets are current. */
	ASSERT_EQ_INT(tuf_fetcher_requests(e.f), 2);
	/* A second refresh on the same updater is just as quiet. */
	ASSERT_OK(tuf_updater_refresh(e.u));
	ASSERT_EQ_INT(tuf_fetcher_requests(e.f), 4);
	close_env(&e);
	dir_state(mdir, &after);
	assert_same_state(&before, &after, true);
}

TEST(get_target)
{
	const struct tuf_target *t;
	struct env e;

	setup();
	open_env(&e);
	ASSERT_ERR(tuf_updater_get_target(e.u, "top.txt", &t), TUF_E_STATE);
	ASSERT_OK(tuf_updater_refresh(e.u));
	ASSERT_OK(tuf_updater_get_target(e.u, "top.txt", &t));
	ASSERT_EQ_STR(t->path, "top.txt");
	ASSERT_EQ_INT(t->length, 17);
	ASSERT_TRUE(!file_exists(mdir, "ml%20models.json"));

	ASSERT_OK(tuf_updater_get_target(e.u, MODEL, &t));
	ASSERT_EQ_STR(t->path, MODEL);
	ASSERT_EQ_INT(t->length, 29);
	ASSERT_TRUE(t->custom != NULL);
	/* The delegated role is stored under its percent-encoded name. */
	assert_same_file(join(mdir, "ml%20models.json"), join(repo, "metadata/1.ml models.json"));

	/* Loaded once per refresh: a second lookup makes no request. */
	uint64_t n = tuf_fetcher_requests(e.f);
	ASSERT_OK(tuf_updater_get_target(e.u, MODEL, &t));
	ASSERT_EQ_INT(tuf_fetcher_requests(e.f), n);

	ASSERT_ERR(tuf_updater_get_target(e.u, "missing.txt", &t), TUF_E_NOT_FOUND);
	ASSERT_ERR(tuf_updater_get_target(e.u, "models/other.onnx", &t), TUF_E_NOT_FOUND);
	ASSERT_ERR(tuf_updater_get_target(e.u, "", &t), TUF_E_PATH);
	close_env(&e);

	/* A new updater uses the trusted copy of the delegated role without fetching it. */
	open_env(&e);
	ASSERT_OK(tuf_updater_refresh(e.u));
	n = tuf_fetcher_requests(e.f);
	ASSERT_OK(tuf_updater_get_target(e.u, MODEL, &t));
	ASSERT_EQ_INT(tuf_fetcher_requests(e.f), n);
	close_env(&e);
}

TEST(delegation_limit)
{
	struct tuf_updater_limits l = {.max_delegations = 1};
	const struct tuf_target *t;
	struct env e;

	setup();
	ASSERT_OK(open_env_at(&e, NOW, &l));
	ASSERT_OK(tuf_updater_refresh(e.u));
	ASSERT_OK(tuf_updater_get_target(e.u, "top.txt", &t));
	ASSERT_ERR(tuf_updater_get_target(e.u, MODEL, &t), TUF_E_DELEGATION);
	close_env(&e);
}

TEST(download_and_cache)
{
	const struct tuf_target *t;
	char expect[8300], *url;
	struct env e;

	setup();
	open_env(&e);
	ASSERT_OK(tuf_updater_refresh(e.u));
	ASSERT_OK(tuf_updater_get_target(e.u, MODEL, &t));

	/* Consistent snapshots: the hash prefixes the last component. */
	ASSERT_OK(tuf_updater_target_url(e.u, t, &url));
	snprintf(expect, sizeof(expect),
		 "%s/models/8686c0bf0479327127e93425db524900247270eaf76"
		 "295ba041dda071925d2c7.detector.onnx",
		 target_url);
	ASSERT_EQ_STR(url, expect);
	free(url);

	ASSERT_ERR(tuf_updater_find_cached_target(e.u, t, join(out, "model")), TUF_E_NOT_FOUND);
	ASSERT_OK(tuf_updater_download_target(e.u, t, join(out, "model")));
	assert_same_file(join(out, "model"),
			 join(repo, "targets/models/8686c0bf0479327127e93425d"
				    "b524900247270eaf76295ba041dda071925d2c7.detector.onnx"));
	ASSERT_OK(tuf_updater_find_cached_target(e.u, t, join(out, "model")));

	/* A cached copy that differs is reported, not trusted. */
	ASSERT_OK(sl_write_file_atomic(join(out, "model"), "x", 1, 0644));
	ASSERT_ERR(tuf_updater_find_cached_target(e.u, t, join(out, "model")), TUF_E_LENGTH);
	ASSERT_OK(
	    sl_write_file_atomic(join(out, "model"), "model bytes: not really onnX\n", 29, 0644));
	ASSERT_ERR(tuf_updater_find_cached_target(e.u, t, join(out, "model")), TUF_E_HASH);
	/* A new download replaces it. */
	ASSERT_OK(tuf_updater_download_target(e.u, t, join(out, "model")));
	ASSERT_OK(tuf_updater_find_cached_target(e.u, t, join(out, "model")));
	close_env(&e);
}

TEST(tampered_target)
{
	const char *served =
	    "targets/d3239586e66e69fec1dd26472b9b352364c094111a7fd038d74ca9a59d1e6536"
	    ".top.txt";
	const struct tuf_target *t;
	struct dir_state s;
	struct env e;

	setup();
	open_env(&e);
	ASSERT_OK(tuf_updater_refresh(e.u));
	ASSERT_OK(tuf_updater_get_target(e.u, "top.txt", &t));

	/* Same length, other bytes. */
	ASSERT_OK(sl_write_file_atomic(join(repo, served), "top-level TARGET\n", 17, 0644));
	ASSERT_ERR(tuf_updater_download_target(e.u, t, join(out, "top.txt")), TUF_E_HASH);
	dir_state(out, &s);
	ASSERT_EQ_INT(s.n, 0);

	/* Longer: reading stops at the signed length. */
	ASSERT_OK(sl_write_file_atomic(join(repo, served), "top-level target\nmore", 21, 0644));
	ASSERT_ERR(tuf_updater_download_target(e.u, t, join(out, "top.txt")), TUF_E_TOO_LARGE);
	dir_state(out, &s);
	ASSERT_EQ_INT(s.n, 0);

	/* Shorter. */
	ASSERT_OK(sl_write_file_atomic(join(repo, served), "top", 3, 0644));
	ASSERT_ERR(tuf_updater_download_target(e.u, t, join(out, "top.txt")), TUF_E_LENGTH);
	dir_state(out, &s);
	ASSERT_EQ_INT(s.n, 0);

	/* Missing. */
	ASSERT_OK(unlink(join(repo, served)));
	ASSERT_ERR(tuf_updater_download_target(e.u, t, join(out, "top.txt")), TUF_E_NOT_FOUND);
	dir_state(out, &s);
	ASSERT_EQ_INT(s.n, 0);
	close_env(&e);
}

TEST(timestamp_rollback)
{
	struct dir_state before, after;
	struct env e;

	setup();
	refresh_ok();
	copy_file(join(data, "extra/timestamp-v1.json"), join(repo, "metadata/timestamp.json"));
	dir_state(mdir, &before);
	open_env(&e);
	ASSERT_ERR(tuf_updater_refresh(e.u), TUF_E_ROLLBACK);
	close_env(&e);
	dir_state(mdir, &after);
	assert_same_state(&before, &after, true);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_ROLLBACK), "timestamp.json") != NULL);
}

TEST(fast_forward_recovery)
{
	struct dir_state s;
	struct env e;

	/* A timestamp at version 99 signed by the old timestamp key is trusted with root 1... */
	setup();
	copy_file(join(data, "extra/timestamp-ff.json"), join(mdir, "timestamp.json"));
	open_env(&e);
	ASSERT_EQ_INT(tuf_updater_trusted(e.u, TUF_ROLE_TIMESTAMP)->version, 99);
	/* ...and dropped when root 2 rotates that key, so version 2 is accepted (§5.3.11). */
	ASSERT_OK(tuf_updater_refresh(e.u));
	ASSERT_EQ_INT(tuf_updater_trusted(e.u, TUF_ROLE_TIMESTAMP)->version, 2);
	close_env(&e);
	dir_state(mdir, &s);
	ASSERT_EQ_INT(s.n, 4);
	assert_same_file(join(mdir, "timestamp.json"), join(repo, "metadata/timestamp.json"));

	/* The file itself is deleted with the key rotation, even when the refresh fails later. */
	setup();
	copy_file(join(data, "extra/timestamp-ff.json"), join(mdir, "timestamp.json"));
	ASSERT_OK(unlink(join(repo, "metadata/timestamp.json")));
	open_env(&e);
	ASSERT_ERR(tuf_updater_refresh(e.u), TUF_E_NOT_FOUND);
	close_env(&e);
	ASSERT_TRUE(!file_exists(mdir, "timestamp.json"));
	assert_same_file(join(mdir, "root.json"), join(repo, "metadata/2.root.json"));
	copy_file(join(data, "repo/metadata/timestamp.json"),
		  join(repo, "metadata/timestamp.json"));
	refresh_ok();

	/* Once root 2 is trusted, a local file signed by the old key is simply not used. */
	copy_file(join(data, "extra/timestamp-ff.json"), join(mdir, "timestamp.json"));
	open_env(&e);
	ASSERT_TRUE(tuf_updater_trusted(e.u, TUF_ROLE_TIMESTAMP) == NULL);
	ASSERT_OK(tuf_updater_refresh(e.u));
	close_env(&e);
	assert_same_file(join(mdir, "timestamp.json"), join(repo, "metadata/timestamp.json"));
}

/* Replace the served snapshot by its bytes with one changed, or with one byte appended. */
static void tamper_snapshot(bool append)
{
	char *path = join(repo, "metadata/1.snapshot.json");
	uint8_t *buf, *n;
	size_t len;

	ASSERT_OK(sl_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len));
	n = realloc(buf, len + 1);
	ASSERT_TRUE(n);
	if (append)
		n[len++] = ' ';
	else
		n[len - 1] = n[len - 1] == '\n' ? ' ' : '\n';
	ASSERT_OK(sl_write_file_atomic(path, n, len, 0644));
	free(n);
}

TEST(snapshot_mismatch)
{
	struct env e;

	/* Hashes from timestamp are checked before the snapshot is even parsed. */
	setup();
	tamper_snapshot(false);
	open_env(&e);
	ASSERT_ERR(tuf_updater_refresh(e.u), TUF_E_HASH);
	close_env(&e);
	/* The valid timestamp was kept, the rejected snapshot never written. */
	ASSERT_TRUE(file_exists(mdir, "timestamp.json"));
	ASSERT_TRUE(!file_exists(mdir, "snapshot.json"));

	/* Longer than the length timestamp gives: reading stops at the limit. */
	setup();
	tamper_snapshot(true);
	open_env(&e);
	ASSERT_ERR(tuf_updater_refresh(e.u), TUF_E_TOO_LARGE);
	close_env(&e);
	ASSERT_TRUE(!file_exists(mdir, "snapshot.json"));
}

TEST(expired)
{
	struct dir_state before, after;
	struct env e;

	setup();
	refresh_ok();
	dir_state(mdir, &before);
	ASSERT_OK(open_env_at(&e, 4200000000LL, NULL));
	ASSERT_ERR(tuf_updater_refresh(e.u), TUF_E_EXPIRED);
	close_env(&e);
	dir_state(mdir, &after);
	assert_same_state(&before, &after, true);
}

TEST(root_rotation_cap)
{
	struct tuf_updater_limits l = {.max_root_rotations = 1};
	struct env e;

	setup();
	ASSERT_OK(open_env_at(&e, NOW, &l));
	ASSERT_OK(tuf_updater_refresh(e.u));
	ASSERT_EQ_INT(tuf_updater_trusted(e.u, TUF_ROLE_ROOT)->version, 2);
	/* 2.root, then no probe for 3.root: the cap was reached. */
	ASSERT_EQ_INT(tuf_fetcher_requests(e.f), 4);
	close_env(&e);
}

TEST(bad_trusted_root)
{
	struct env e;
	uint8_t *buf;
	size_t len;
	char *p;

	setup();
	ASSERT_OK(unlink(join(mdir, "root.json")));
	ASSERT_ERR(open_env_at(&e, NOW, NULL), TUF_E_STATE);
	ASSERT_TRUE(e.u == NULL);
	tuf_fetcher_free(e.f);

	/* A root whose signed part was changed is not signed by its own threshold. */
	ASSERT_OK(
	    sl_read_file_at(AT_FDCWD, join(repo, "metadata/1.root.json"), 1 << 20, &buf, &len));
	p = strstr((char *)buf, "\"version\": 1");
	ASSERT_TRUE(p);
	p[strlen("\"version\": ")] = '3';
	ASSERT_ERR(tuf_updater_init_root(mdir, buf, len), TUF_E_THRESHOLD);
	ASSERT_TRUE(!file_exists(mdir, "root.json"));
	free(buf);
}

TEST(path_quote)
{
	char *q;

	ASSERT_OK(tuf_path_quote("ml models", &q));
	ASSERT_EQ_STR(q, "ml%20models");
	free(q);
	ASSERT_OK(tuf_path_quote("../x/y?#%", &q));
	ASSERT_EQ_STR(q, "..%2Fx%2Fy%3F%23%25");
	free(q);
	ASSERT_OK(tuf_path_quote("Az09._~-", &q));
	ASSERT_EQ_STR(q, "Az09._~-");
	free(q);
	ASSERT_OK(tuf_path_quote("\xc3\xa9", &q));
	ASSERT_EQ_STR(q, "%C3%A9");
	free(q);
	ASSERT_OK(tuf_path_quote("", &q));
	ASSERT_EQ_STR(q, "");
	free(q);
}

int main(void)
{
	const char *d = getenv("SLUICE_TEST_DATA");

	ASSERT_TRUE(d);
	snprintf(data, sizeof(data), "%s/updater", d);
	ASSERT_OK(sl_mkdtemp_private(NULL, &tmp));
	snprintf(repo, sizeof(repo), "%s/repo", tmp);
	snprintf(mdir, sizeof(mdir), "%s/md", tmp);
	snprintf(out, sizeof(out), "%s/out", tmp);
	snprintf(meta_url, sizeof(meta_url), "file://%s/metadata", repo);
	snprintf(target_url, sizeof(target_url), "file://%s/targets", repo);

	RUN(refresh);
	RUN(refresh_again_writes_nothing);
	RUN(get_target);
	RUN(delegation_limit);
	RUN(download_and_cache);
	RUN(tampered_target);
	RUN(timestamp_rollback);
	RUN(fast_forward_recovery);
	RUN(snapshot_mismatch);
	RUN(expired);
	RUN(root_rotation_cap);
	RUN(bad_trusted_root);
	RUN(path_quote);
	ASSERT_OK(sl_rm_rf(tmp));
	free(tmp);
	return 0;
}
