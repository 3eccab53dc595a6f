/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of tuf_updater_list_delegated_targets() against repositories built with the writer. */
#include <fcntl.h>
#include <json-c/json.h>
#include <sodium.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "test.h"
#include "tuf/crypto.h"
#include "tuf/updater.h"
#include "tuf/writer.h"

#define MAX_ROLES 8
#define MAX_SEEN 32

enum { K_ROOT, K_TARGETS, K_SNAPSHOT, K_TIMESTAMP, K_MODELS, K_OTHER, K_WRONG, K_MAX };
static struct tuf_signer *signers[K_MAX];

static char *tmp;
static char repo[4096], meta[4200], mdir[4096], meta_url[4300];

static char *join_meta(const char *name)
{
	static char buf[4400];

	snprintf(buf, sizeof(buf), "%s/%s", meta, name);
	return buf;
}

/*
 * A delegated role: who delegates it and how, whose key the delegation lists (key), who
 * actually signs it (signer), and the target paths it lists, each with the content
 * "<role>:<path>" so that the same path listed by two roles has two different hashes.
 */
struct role_def {
	const char *name;
	const char *delegator; /* "targets" or an earlier role_def */
	const char *paths[4];  /* NULL-terminated; none: prefixes are used */
	const char *prefixes[17];
	bool terminating;
	int key;
	int signer;
	const char *targets[4];
};

static void make_signers(void)
{
	for (int n = 0; n < K_MAX; n++) {
		uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES];
		uint8_t sk[crypto_sign_SECRETKEYBYTES];

		memset(seed, 0x50 + n, sizeof(seed));
		crypto_sign_seed_keypair(pk, sk, seed);
		ASSERT_OK(tuf_signer_ed25519_new(sk, &signers[n]));
		sodium_memzero(sk, sizeof(sk));
	}
}

static size_t count(const char *const *v, size_t max)
{
	size_t n = 0;

	while (n < max && v[n])
		n++;
	return n;
}

static void write_doc(struct json_object *doc, const char *name, struct json_object *snapshot,
		      const char *role)
{
	char path[4400], *bytes;
	size_t len;

	ASSERT_OK(tuf_writer_serialize(doc, &bytes, &len));
	snprintf(path, sizeof(path), "%s", join_meta(name));
	ASSERT_OK(sl_write_file_atomic(path, bytes, len, 0644));
	if (snapshot)
		ASSERT_OK(tuf_writer_snapshot_set_meta(snapshot, role, 1, bytes, len));
	free(bytes);
}

static struct json_object *make_root(void)
{
	static const int role_key[] = {K_ROOT, K_TIMESTAMP, K_SNAPSHOT, K_TARGETS};
	struct json_object *root;

	ASSERT_OK(tuf_writer_new(TUF_ROLE_ROOT, 0, &root));
	for (enum tuf_role_type t = 0; t < _TUF_ROLE_TYPE_MAX; t++)
		ASSERT_OK(
		    tuf_writer_root_add_key(root, t, tuf_signer_key(signers[role_key[t]]), NULL));
	ASSERT_OK(tuf_writer_sign(root, signers[K_ROOT]));
	ASSERT_OK(tuf_writer_write(root, "root", NULL, true, meta, "1.root.json"));
	return root;
}

static void add_target(struct json_object *doc, const char *role, const char *path)
{
	char content[512];

	snprintf(content, sizeof(content), "%s:%s", role, path);
	ASSERT_OK(tuf_writer_targets_add_buf(doc, path, content, strlen(content), NULL));
}

static void delegate(struct json_object *delegator, const struct role_def *d)
{
	size_t np = count(d->paths, 4), nh = count(d->prefixes, 17);

	ASSERT_OK(tuf_writer_delegation_add_role(delegator, d->name, 1, d->terminating,
						 np ? d->paths : NULL, np, np ? NULL : d->prefixes,
						 nh));
	ASSERT_OK(tuf_writer_delegation_add_key(delegator, d->name, tuf_signer_key(signers[d->key]),
						NULL));
}

/* The index of the first def of role name (its document), or n. */
static size_t first_def(const struct role_def *defs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(defs[i].name, name))
			return i;
	return n;
}

/*
 * A fresh consistent-snapshot repository (version 1 of everything) whose top-level targets
 * lists "top.txt" and delegates per defs, and a metadata dir trusting its root. Each def is
 * one delegation; a role delegated twice gets its document (targets, signer) from its first
 * def.
 */
static void build_repo(const struct role_def *defs, size_t n)
{
	struct json_object *root, *top, *snapshot, *timestamp, *docs[MAX_ROLES] = {};
	char *bytes;
	size_t len;
	uint8_t *rbuf;
	size_t rlen;

	ASSERT_TRUE(n <= MAX_ROLES);
	ASSERT_OK(sl_rm_rf(repo));
	ASSERT_OK(sl_rm_rf(mdir));
	ASSERT_OK(sl_mkdir_p(meta, 0700));
	ASSERT_OK(sl_mkdir_p(mdir, 0700));
	root = make_root();

	ASSERT_OK(tuf_writer_new(TUF_ROLE_TARGETS, 0, &top));
	add_target(top, "targets", "top.txt");
	for (size_t i = 0; i < n; i++) {
		if (first_def(defs, n, defs[i].name) != i)
			continue;
		ASSERT_OK(tuf_writer_new(TUF_ROLE_TARGETS, 0, &docs[i]));
		for (size_t j = 0; j < count(defs[i].targets, 4); j++)
			add_target(docs[i], defs[i].name, defs[i].targets[j]);
	}
	for (size_t i = 0; i < n; i++) {
		size_t j = first_def(defs, n, defs[i].delegator);

		ASSERT_TRUE(j < n || !strcmp(defs[i].delegator, "targets"));
		delegate(j < n ? docs[j] : top, &defs[i]);
	}

	ASSERT_OK(tuf_writer_new(TUF_ROLE_SNAPSHOT, 0, &snapshot));
	ASSERT_OK(tuf_writer_sign(top, signers[K_TARGETS]));
	write_doc(top, "1.targets.json", snapshot, "targets");
	for (size_t i = 0; i < n; i++) {
		char *name;

		if (!docs[i])
			continue;
		/* Written without the writer's checks: a wrongly signed role is the point. */
		ASSERT_OK(tuf_writer_sign(docs[i], signers[defs[i].signer]));
		ASSERT_OK(tuf_writer_metadata_filename(defs[i].name, 1, true, &name));
		write_doc(docs[i], name, snapshot, defs[i].name);
		free(name);
		json_object_put(docs[i]);
	}
	ASSERT_OK(tuf_writer_sign(snapshot, signers[K_SNAPSHOT]));
	ASSERT_OK(tuf_writer_write(snapshot, "snapshot", root, true, meta, "1.snapshot.json"));
	ASSERT_OK(tuf_writer_new(TUF_ROLE_TIMESTAMP, 0, &timestamp));
	ASSERT_OK(tuf_writer_serialize(snapshot, &bytes, &len));
	ASSERT_OK(tuf_writer_timestamp_set_snapshot(timestamp, 1, bytes, len));
	free(bytes);
	ASSERT_OK(tuf_writer_sign(timestamp, signers[K_TIMESTAMP]));
	ASSERT_OK(tuf_writer_write(timestamp, "timestamp", root, true, meta, "timestamp.json"));

	ASSERT_OK(sl_read_file_at(AT_FDCWD, join_meta("1.root.json"), 1 << 20, &rbuf, &rlen));
	ASSERT_OK(tuf_updater_init_root(mdir, rbuf, rlen));
	free(rbuf);
	json_object_put(root);
	json_object_put(top);
	json_object_put(snapshot);
	json_object_put(timestamp);
}

struct env {
	struct tuf_fetcher *f;
	struct tuf_updater *u;
};

/* An updater over the repository; max_delegations 0 = the default. */
static void open_env(struct env *e, unsigned max_delegations)
{
	struct tuf_updater_config cfg = {
	    .metadata_dir = mdir,
	    .metadata_base_url = meta_url,
	    .limits = {.max_delegations = max_delegations},
	};

	ASSERT_OK(tuf_fetcher_new(NULL, &e->f));
	cfg.fetcher = e->f;
	ASSERT_OK(tuf_updater_new(&cfg, &e->u));
}

static void close_env(struct env *e)
{
	tuf_updater_free(e->u);
	tuf_fetcher_free(e->f);
}

/* What the callback saw, as "role path|role path|…". */
struct seen {
	struct tuf_updater *u;
	size_t n;
	size_t fail_at;	    /* return SL_E_INVALID from this call (1-based); 0 = never */
	bool only_resolved; /* record only candidates that get_target() resolves to themselves */
	char log[4096];
};

static bool same_target(const struct tuf_target *a, const struct tuf_target *b)
{
	return a->length == b->length && a->hashes.n == b->hashes.n &&
	       memcmp(&a->hashes, &b->hashes, sizeof(a->hashes)) == 0;
}

static int record(const struct tuf_target *t, const char *role, void *userdata)
{
	struct seen *s = userdata;
	size_t used = strlen(s->log);

	s->n++;
	ASSERT_TRUE(s->n <= MAX_SEEN);
	if (s->fail_at && s->n == s->fail_at)
		return sl_error(SL_E_INVALID, "stop at %zu", s->n);
	if (s->only_resolved) {
		const struct tuf_target *r;
		int k = tuf_updater_get_target(s->u, t->path, &r);

		if (k == TUF_E_NOT_FOUND)
			return 0;
		ASSERT_OK(k);
		if (!same_target(r, t))
			return 0;
	}
	snprintf(s->log + used, sizeof(s->log) - used, "%s%s %s", used ? "|" : "", role, t->path);
	return 0;
}

/* path resolves, through tuf_updater_get_target(), to the entry listed by role. */
static void expect_target(struct tuf_updater *u, const char *path, const char *role)
{
	const struct tuf_target *t;
	char content[512], want[65], got[65] = "";

	ASSERT_OK(tuf_updater_get_target(u, path, &t));
	ASSERT_EQ_STR(t->path, path);
	snprintf(content, sizeof(content), "%s:%s", role, path);
	ASSERT_OK(tuf_sha256_hex(content, strlen(content), want));
	for (size_t i = 0; i < t->hashes.n; i++)
		if (t->hashes.h[i].alg == TUF_HASH_SHA256)
			sl_hex_encode(t->hashes.h[i].digest, 32, got);
	ASSERT_EQ_STR(got, want);
	ASSERT_EQ_INT(t->length, strlen(content));
}

static bool trusted(const char *name)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/%s", mdir, name);
	return access(path, F_OK) == 0;
}

/*
 * models, for the files of models/ (it lists one path outside it); shadow-term, for shadow/,
 * terminating; shadow-late, listed after it, for shadow/ and late/; bins, by hash prefixes
 * covering every path.
 */
static const struct role_def main_roles[] = {
    {.name = "models",
     .delegator = "targets",
     .paths = {"models/*"},
     .key = K_MODELS,
     .signer = K_MODELS,
     .targets = {"firmware/evil.bin", "models/a.onnx"}},
    {.name = "shadow-term",
     .delegator = "targets",
     .paths = {"shadow/*"},
     .terminating = true,
     .key = K_OTHER,
     .signer = K_OTHER,
     .targets = {"shadow/x.bin"}},
    {.name = "shadow-late",
     .delegator = "targets",
     .paths = {"shadow/*", "late/*"},
     .key = K_OTHER,
     .signer = K_OTHER,
     .targets = {"late/ok.bin", "shadow/only-late.bin", "shadow/x.bin"}},
    {.name = "bins",
     .delegator = "targets",
     .prefixes = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"},
     .key = K_OTHER,
     .signer = K_OTHER,
     .targets = {"hashed/h.bin"}},
};

#define MAIN_LOG                                                                                   \
	"models firmware/evil.bin|models models/a.onnx|shadow-term shadow/x.bin|"                  \
	"shadow-late late/ok.bin|shadow-late shadow/only-late.bin|shadow-late shadow/x.bin"

TEST(requires_refresh)
{
	struct seen s = {};
	struct env e;

	build_repo(main_roles, ELEMENTSOF(main_roles));
	open_env(&e, 0);
	ASSERT_ERR(tuf_updater_list_delegated_targets(e.u, record, &s), TUF_E_STATE);
	ASSERT_EQ_INT(s.n, 0);
	close_env(&e);
}

TEST(candidates_and_resolution)
{
	struct seen s = {};
	struct env e;
	uint64_t n;

	build_repo(main_roles, ELEMENTSOF(main_roles));
	open_env(&e, 0);
	ASSERT_OK(tuf_updater_refresh(e.u));
	n = tuf_fetcher_requests(e.f);
	ASSERT_OK(tuf_updater_list_delegated_targets(e.u, record, &s));
	/* Pre-order, document order; the hash-prefix role is not walked (nor fetched). */
	ASSERT_EQ_STR(s.log, MAIN_LOG);
	ASSERT_EQ_INT(tuf_fetcher_requests(e.f), n + 3);
	ASSERT_TRUE(trusted("models.json") && trusted("shadow-term.json") &&
		    trusted("shadow-late.json") && !trusted("bins.json"));

	/* Walked again: every role comes from the cache. */
	s = (struct seen){};
	ASSERT_OK(tuf_updater_list_delegated_targets(e.u, record, &s));
	ASSERT_EQ_STR(s.log, MAIN_LOG);
	ASSERT_EQ_INT(tuf_fetcher_requests(e.f), n + 3);

	/* A target under the skipped hash-prefix role is still found by name. */
	expect_target(e.u, "hashed/h.bin", "bins");
	ASSERT_EQ_INT(tuf_fetcher_requests(e.f), n + 4);
	ASSERT_TRUE(trusted("bins.json"));

	/* Candidates are only candidates: get_target applies patterns and terminating roles. */
	expect_target(e.u, "models/a.onnx", "models");
	ASSERT_ERR(
	    tuf_updater_get_target(e.u, "firmware/evil.bin", &(const struct tuf_target *){0}),
	    TUF_E_NOT_FOUND);
	expect_target(e.u, "shadow/x.bin", "shadow-term");
	ASSERT_ERR(
	    tuf_updater_get_target(e.u, "shadow/only-late.bin", &(const struct tuf_target *){0}),
	    TUF_E_NOT_FOUND);
	expect_target(e.u, "late/ok.bin", "shadow-late");
	ASSERT_EQ_INT(tuf_fetcher_requests(e.f), n + 4);
	close_env(&e);

	/* A new updater walks the trusted copies without fetching them again. */
	open_env(&e, 0);
	ASSERT_OK(tuf_updater_refresh(e.u));
	n = tuf_fetcher_requests(e.f);
	s = (struct seen){};
	ASSERT_OK(tuf_updater_list_delegated_targets(e.u, record, &s));
	ASSERT_EQ_STR(s.log, MAIN_LOG);
	ASSERT_EQ_INT(tuf_fetcher_requests(e.f), n);
	close_env(&e);
}

TEST(resolve_in_callback)
{
	struct env e;
	struct seen s = {.only_resolved = true};

	build_repo(main_roles, ELEMENTSOF(main_roles));
	open_env(&e, 0);
	s.u = e.u;
	ASSERT_OK(tuf_updater_refresh(e.u));
	ASSERT_OK(tuf_updater_list_delegated_targets(e.u, record, &s));
	/* The outside path, the shadowed entry and the shadowed-only path are gone. */
	ASSERT_EQ_STR(s.log,
		      "models models/a.onnx|shadow-term shadow/x.bin|shadow-late late/ok.bin");
	ASSERT_EQ_INT(s.n, 6);
	close_env(&e);
}

TEST(callback_error_stops)
{
	struct seen s = {.fail_at = 2};
	struct env e;

	build_repo(main_roles, ELEMENTSOF(main_roles));
	open_env(&e, 0);
	ASSERT_OK(tuf_updater_refresh(e.u));
	ASSERT_ERR(tuf_updater_list_delegated_targets(e.u, record, &s), SL_E_INVALID);
	ASSERT_EQ_INT(s.n, 2);
	ASSERT_EQ_STR(s.log, "models firmware/evil.bin");
	ASSERT_TRUE(!trusted("shadow-term.json"));
	close_env(&e);
}

TEST(delegation_limit)
{
	struct seen s = {};
	struct env e;

	build_repo(main_roles, ELEMENTSOF(main_roles));
	/* targets, models and shadow-term fit; shadow-late would be the fourth role. */
	open_env(&e, 3);
	ASSERT_OK(tuf_updater_refresh(e.u));
	ASSERT_ERR(tuf_updater_list_delegated_targets(e.u, record, &s), TUF_E_DELEGATION);
	ASSERT_EQ_STR(sl_error_message(TUF_E_DELEGATION),
		      "delegated targets: role 'shadow-late' (delegated by targets) is beyond the "
		      "limit of 3 roles visited");
	close_env(&e);
	/* The skipped hash-prefix role does not count. */
	open_env(&e, 4);
	ASSERT_OK(tuf_updater_refresh(e.u));
	s = (struct seen){};
	ASSERT_OK(tuf_updater_list_delegated_targets(e.u, record, &s));
	ASSERT_EQ_STR(s.log, MAIN_LOG);
	close_env(&e);
}

TEST(wrong_key)
{
	static const struct role_def roles[] = {
	    {.name = "models",
	     .delegator = "targets",
	     .paths = {"models/*"},
	     .key = K_MODELS,
	     .signer = K_WRONG,
	     .targets = {"models/a.onnx"}},
	};
	const struct tuf_target *t;
	struct seen s = {};
	struct env e;

	build_repo(roles, ELEMENTSOF(roles));
	open_env(&e, 0);
	ASSERT_OK(tuf_updater_refresh(e.u));
	ASSERT_ERR(tuf_updater_list_delegated_targets(e.u, record, &s), TUF_E_THRESHOLD);
	ASSERT_EQ_STR(sl_error_message(TUF_E_THRESHOLD),
		      "models: 0 of 1 required signatures are valid");
	ASSERT_EQ_INT(s.n, 0);
	ASSERT_TRUE(!trusted("models.json"));
	ASSERT_ERR(tuf_updater_get_target(e.u, "models/a.onnx", &t), TUF_E_THRESHOLD);
	ASSERT_OK(tuf_updater_get_target(e.u, "top.txt", &t));
	close_env(&e);
}

TEST(graph_walked_once_in_preorder)
{
	/* a -> c -> a (a cycle) and b delegated by both targets and a; b also lists a.txt. */
	static const struct role_def roles[] = {
	    {.name = "a",
	     .delegator = "targets",
	     .paths = {"*"},
	     .key = K_OTHER,
	     .signer = K_OTHER,
	     .targets = {"a.txt"}},
	    {.name = "b",
	     .delegator = "targets",
	     .paths = {"*"},
	     .key = K_MODELS,
	     .signer = K_MODELS,
	     .targets = {"a.txt", "b.txt"}},
	    {.name = "c",
	     .delegator = "a",
	     .paths = {"*"},
	     .key = K_OTHER,
	     .signer = K_OTHER,
	     .targets = {"c.txt"}},
	    {.name = "b", .delegator = "a", .paths = {"*"}, .key = K_MODELS, .signer = K_MODELS},
	    {.name = "a", .delegator = "c", .paths = {"*"}, .key = K_OTHER, .signer = K_OTHER},
	};
	struct seen s = {};
	struct env e;

	build_repo(roles, ELEMENTSOF(roles));
	open_env(&e, 0);
	ASSERT_OK(tuf_updater_refresh(e.u));
	ASSERT_OK(tuf_updater_list_delegated_targets(e.u, record, &s));
	ASSERT_EQ_STR(s.log, "a a.txt|c c.txt|b a.txt|b b.txt");
	/* Pre-order precedence: a.txt is a's, not b's. */
	expect_target(e.u, "a.txt", "a");
	expect_target(e.u, "b.txt", "b");
	expect_target(e.u, "c.txt", "c");
	close_env(&e);
}

int main(void)
{
	ASSERT_TRUE(sodium_init() >= 0);
	make_signers();
	ASSERT_OK(sl_mkdtemp_private(NULL, &tmp));
	snprintf(repo, sizeof(repo), "%s/repo", tmp);
	snprintf(meta, sizeof(meta), "%s/metadata", repo);
	snprintf(mdir, sizeof(mdir), "%s/md", tmp);
	snprintf(meta_url, sizeof(meta_url), "file://%s/", meta);

	RUN(requires_refresh);
	RUN(candidates_and_resolution);
	RUN(resolve_in_callback);
	RUN(callback_error_stops);
	RUN(delegation_limit);
	RUN(wrong_key);
	RUN(graph_walked_once_in_preorder);
	ASSERT_OK(sl_rm_rf(tmp));
	free(tmp);
	for (int n = 0; n < K_MAX; n++)
		tuf_signer_free(signers[n]);
	return 0;
}
