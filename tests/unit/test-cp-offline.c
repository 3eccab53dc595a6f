/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of offline media: export-offline layout and refusals, receipt verification and import. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "db.h"
#include "devices.h"
#include "fileio.h"
#include "offline.h"
#include "repo.h"
#include "state.h"
#include "test-cp-util.h"
#include "test.h"
#include "tuf/crypto.h"
#include "tuf/fetcher.h"
#include "tuf/json.h"
#include "tuf/updater.h"

static const struct cpt_artifact arts[] = {
    {"images/rootfs.img", "rootfs image bytes r1", NULL},
    {"models/det.onnx", "model bytes r1", "models"},
};

static void publish(struct cpt_env *e, const char *name, const char *release, uint64_t tv,
		    const struct cpt_artifact *a, size_t n)
{
	struct cpt_bundle_opts o = {
	    .release = release, .targets_version = tv, .models_version = tv};
	_cleanup_free_ char *dir = cpt_path(e, name);
	struct cp_publish_result res;

	ASSERT_OK(cpt_make_bundle(dir, &e->k, &o, a, n));
	ASSERT_OK(cp_repo_publish(e->s, dir, "test", &res));
}

static bool exists(const char *dir, const char *name)
{
	_cleanup_free_ char *p = NULL;
	struct stat st;

	ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) > 0);
	return lstat(p, &st) == 0;
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

static char *content_name(const char *dir, const char *base, const char *content)
{
	char hex[65], *p = NULL;

	tuf_sha256_hex(content, strlen(content), hex);
	ASSERT_TRUE(asprintf(&p, "%s/%s.%s", dir, hex, base) > 0);
	return p;
}

/* The TUF client, from a fresh trusted 1.root.json, refreshes from out and downloads path. */
static void client_check(struct cpt_env *e, const char *out, const char *path, const char *content)
{
	_cleanup_free_ char *mdir = cpt_path(e, "client-md"), *murl = NULL, *turl = NULL,
			    *root = NULL, *file = cpt_path(e, "client-out");
	_cleanup_free_ uint8_t *buf = NULL, *got = NULL;
	struct tuf_fetcher *f = NULL;
	struct tuf_updater *u = NULL;
	const struct tuf_target *t;
	size_t len;

	sl_rm_rf(mdir);
	ASSERT_OK(sl_mkdir_p(mdir, 0700));
	ASSERT_TRUE(asprintf(&root, "%s/metadata/1.root.json", out) > 0);
	ASSERT_OK(sl_read_file_at(AT_FDCWD, root, 1 << 20, &buf, &len));
	ASSERT_OK(tuf_updater_init_root(mdir, buf, len));
	ASSERT_TRUE(asprintf(&murl, "file://%s/metadata/", out) > 0);
	ASSERT_TRUE(asprintf(&turl, "file://%s/targets/", out) > 0);
	ASSERT_OK(tuf_fetcher_new(NULL, &f));
	struct tuf_updater_config cfg = {
	    .metadata_dir = mdir, .metadata_base_url = murl, .target_base_url = turl, .fetcher = f};
	ASSERT_OK(tuf_updater_new(&cfg, &u));
	ASSERT_OK(tuf_updater_refresh(u));
	ASSERT_OK(tuf_updater_get_target(u, path, &t));
	unlink(file);
	ASSERT_OK(tuf_updater_download_target(u, t, file));
	ASSERT_OK(sl_read_file_at(AT_FDCWD, file, 1 << 20, &got, &len));
	ASSERT_EQ_INT(len, strlen(content));
	ASSERT_EQ_MEM(got, content, len);
	tuf_updater_free(u);
	tuf_fetcher_free(f);
}

static int64_t expires_of(const char *path, enum tuf_role_type type)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct tuf_metadata *md = NULL;
	size_t len;
	int64_t t;

	ASSERT_OK(sl_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len));
	ASSERT_OK(tuf_metadata_parse(buf, len, type, &md));
	t = md->expires;
	tuf_metadata_free(md);
	return t;
}

struct audit_count {
	int n;
	const char *action;
};

static int audit_cb(const struct cp_audit_row *row, void *userdata)
{
	struct audit_count *c = userdata;

	c->n += strcmp(row->action, c->action) == 0;
	return 0;
}

static int audit_rows(struct cpt_env *e, const char *action)
{
	struct audit_count c = {0, action};

	ASSERT_OK(cp_audit_foreach(e->s, audit_cb, &c));
	return c.n;
}

TEST(export_layout)
{
	const struct cpt_artifact r2[] = {
	    {"images/rootfs.img", "rootfs image bytes r2", NULL},
	    {"models/det.onnx", "model bytes r1", "models"},
	};
	struct cpt_env e;
	struct cp_export_result res;
	_cleanup_free_ char *out = NULL, *meta = NULL, *tg = NULL, *img = NULL, *model = NULL,
			    *old = NULL, *ts = NULL, *sn = NULL;
	char before[65], after[65];
	int64_t now;

	ASSERT_OK(cpt_env_new(&e));
	publish(&e, "b1", "r1", 1, arts, 2);
	publish(&e, "b2", "r2", 2, r2, 2);
	ASSERT_TRUE(asprintf(&old, "%s/repo", e.state) > 0);
	ASSERT_OK(cpt_hash_tree(old, before));
	out = cpt_path(&e, "usb");
	now = time(NULL);
	ASSERT_OK(cp_offline_export(e.s, "r2", out, 30, "test", NULL, &res));
	ASSERT_EQ_INT(res.first_root, 1);
	ASSERT_EQ_INT(res.root_version, 1);
	ASSERT_EQ_INT(res.targets_version, 2);
	ASSERT_EQ_INT(res.snapshot_version, 3); /* one above the served snapshot 2 */
	ASSERT_EQ_INT(res.timestamp_version, 3);
	ASSERT_EQ_INT(res.n_roles, 1);
	ASSERT_EQ_INT(res.n_artifacts, 2);
	ASSERT_EQ_INT(res.bytes, strlen(r2[0].content) + strlen(r2[1].content));

	/* Layout: metadata and the release's artifacts only, content addressed; no leftovers. */
	ASSERT_EQ_INT(count_entries(out), 2);
	ASSERT_TRUE(asprintf(&meta, "%s/metadata", out) > 0);
	ASSERT_TRUE(asprintf(&tg, "%s/targets", out) > 0);
	ASSERT_EQ_INT(count_entries(meta), 5);
	ASSERT_TRUE(exists(meta, "1.root.json") && exists(meta, "timestamp.json") &&
		    exists(meta, "3.snapshot.json") && exists(meta, "2.targets.json") &&
		    exists(meta, "2.models.json"));
	img = content_name("images", "rootfs.img", r2[0].content);
	model = content_name("models", "det.onnx", r2[1].content);
	ASSERT_TRUE(exists(tg, img) && exists(tg, model));
	ASSERT_TRUE(asprintf(&ts, "%s/images", tg) > 0);
	ASSERT_EQ_INT(count_entries(ts), 1); /* r1's image is not on the medium */
	free(ts);
	ts = NULL;

	/* Lifetimes: the timestamp 30 days, the snapshot at least as long. */
	ASSERT_TRUE(asprintf(&ts, "%s/timestamp.json", meta) > 0);
	ASSERT_TRUE(asprintf(&sn, "%s/3.snapshot.json", meta) > 0);
	ASSERT_TRUE(llabs(expires_of(ts, TUF_ROLE_TIMESTAMP) - (now + 30 * 86400)) < 60);
	ASSERT_TRUE(expires_of(sn, TUF_ROLE_SNAPSHOT) >= expires_of(ts, TUF_ROLE_TIMESTAMP));
	ASSERT_EQ_INT(res.timestamp_expires, expires_of(ts, TUF_ROLE_TIMESTAMP));

	/* The TUF client reads the medium like the served repository. */
	client_check(&e, out, "images/rootfs.img", r2[0].content);
	client_check(&e, out, "models/det.onnx", r2[1].content);

	/* The served repository is untouched; the export is audited. */
	ASSERT_OK(cpt_hash_tree(old, after));
	ASSERT_EQ_STR(before, after);
	ASSERT_EQ_INT(audit_rows(&e, "export-offline"), 1);
	cpt_env_clear(&e);
}

TEST(export_refusals)
{
	struct cpt_env e;
	struct cp_export_result res;
	_cleanup_free_ char *out = NULL, *full = NULL, *link = NULL, *f = NULL;
	char before[65], after[65];
	struct cpt_snap snap;

	ASSERT_OK(cpt_env_new(&e));
	out = cpt_path(&e, "usb");

	/* Nothing published yet. */
	ASSERT_EQ_INT(cp_offline_export(e.s, "r1", out, 30, "test", NULL, &res), CP_E_STATE);
	ASSERT_TRUE(access(out, F_OK) < 0);

	publish(&e, "b1", "r1", 1, arts, 2);
	ASSERT_OK(cpt_snap_take(&e, &snap));

	/* An unknown release: nothing written, the directory it created removed again. */
	ASSERT_EQ_INT(cp_offline_export(e.s, "no-such-release", out, 30, "test", NULL, &res),
		      TUF_E_NOT_FOUND);
	ASSERT_TRUE(access(out, F_OK) < 0);

	/* A non-empty directory is left alone. */
	full = cpt_path(&e, "full");
	ASSERT_OK(sl_mkdir_p(full, 0755));
	ASSERT_TRUE(asprintf(&f, "%s/keep.txt", full) > 0);
	ASSERT_OK(cpt_write(f, "mine"));
	ASSERT_OK(cpt_hash_tree(full, before));
	ASSERT_EQ_INT(cp_offline_export(e.s, "r1", full, 30, "test", NULL, &res), -ENOTEMPTY);
	ASSERT_OK(cpt_hash_tree(full, after));
	ASSERT_EQ_STR(before, after);

	/* A symlink is never followed. */
	link = cpt_path(&e, "link");
	ASSERT_TRUE(symlink(out, link) == 0);
	ASSERT_EQ_INT(cp_offline_export(e.s, "r1", link, 30, "test", NULL, &res), SL_E_INVALID);
	ASSERT_TRUE(access(out, F_OK) < 0);

	/* Absurd lifetimes. */
	ASSERT_EQ_INT(cp_offline_export(e.s, "r1", out, 0, "test", NULL, &res), SL_E_INVALID);
	ASSERT_EQ_INT(cp_offline_export(e.s, "r1", out, 366, "test", NULL, &res), SL_E_INVALID);

	/* None of it changed the state, and none of it was audited. */
	cpt_snap_assert_same(&e, &snap);
	cpt_env_clear(&e);
}

TEST(export_corrupt_artifact)
{
	struct cpt_env e;
	struct cp_export_result res;
	_cleanup_free_ char *out = NULL, *dir = NULL, *img = NULL;

	ASSERT_OK(cpt_env_new(&e));
	publish(&e, "b1", "r1", 1, arts, 2);
	ASSERT_TRUE(asprintf(&dir, "%s/repo/targets/images", e.state) > 0);
	img = content_name(dir, "rootfs.img", arts[0].content);
	ASSERT_OK(cpt_write(img, "rootfs image bytes R1")); /* same length, other bytes */
	out = cpt_path(&e, "usb");
	ASSERT_OK(sl_mkdir_p(out, 0755));
	ASSERT_EQ_INT(cp_offline_export(e.s, "r1", out, 30, "test", NULL, &res), TUF_E_HASH);
	ASSERT_EQ_INT(count_entries(out), 0); /* no partial directory left behind */
	ASSERT_OK(cpt_write(img, "rootfs image bytes r1 and more"));
	ASSERT_EQ_INT(cp_offline_export(e.s, "r1", out, 30, "test", NULL, &res), TUF_E_LENGTH);
	ASSERT_EQ_INT(count_entries(out), 0);
	ASSERT_EQ_INT(audit_rows(&e, "export-offline"), 0);
	cpt_env_clear(&e);
}

/* ---- Receipts ---- */

struct ident {
	EVP_PKEY *key;
	X509 *cert;
	char sha256[65];
};

static void ident_make(struct ident *id, const char *cn, const struct ident *issuer, bool ca)
{
	X509_NAME *name;
	X509_EXTENSION *ext;
	X509V3_CTX ctx;
	unsigned char *der = NULL;
	int n;

	id->key = EVP_EC_gen("P-256");
	id->cert = X509_new();
	ASSERT_TRUE(id->key && id->cert);
	X509_set_version(id->cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(id->cert), (long)(random() & 0xffffff) + 1);
	X509_gmtime_adj(X509_getm_notBefore(id->cert), -86400);
	X509_gmtime_adj(X509_getm_notAfter(id->cert), 86400L * 30);
	X509_set_pubkey(id->cert, id->key);
	name = X509_get_subject_name(id->cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(id->cert, issuer ? X509_get_subject_name(issuer->cert) : name);
	X509V3_set_ctx(&ctx, issuer ? issuer->cert : id->cert, id->cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
				  ca ? "critical,CA:TRUE" : "CA:FALSE");
	ASSERT_TRUE(ext && X509_add_ext(id->cert, ext, -1) == 1);
	X509_EXTENSION_free(ext);
	ASSERT_TRUE(X509_sign(id->cert, issuer ? issuer->key : id->key, EVP_sha256()) > 0);
	n = i2d_X509(id->cert, &der);
	ASSERT_TRUE(n > 0);
	tuf_sha256_hex(der, (size_t)n, id->sha256);
	OPENSSL_free(der);
}

static void ident_free(struct ident *id)
{
	EVP_PKEY_free(id->key);
	X509_free(id->cert);
}

static char *pem_of(X509 *cert)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *s;
	long n;

	ASSERT_TRUE(b && PEM_write_bio_X509(b, cert) == 1);
	n = BIO_get_mem_data(b, &data);
	s = strndup(data, (size_t)n);
	BIO_free(b);
	return s;
}

struct rcpt_opts {
	const char *device_id, *outcome, *release;
	const char *tamper_release; /* changed after signing */
	int64_t time;		    /* 0: now */
};

/* A receipt as the agent writes it, signed with id's key. */
static char *make_receipt(const struct ident *id, const struct rcpt_opts *o)
{
	struct json_object *body = json_object_new_object(), *env = json_object_new_object();
	struct json_object *sigs = json_object_new_array(), *sig = json_object_new_object();
	struct json_object *tgts = json_object_new_array(), *t = json_object_new_object();
	_cleanup_free_ char *canon = NULL, *pem = pem_of(id->cert), *hex = NULL;
	unsigned char s[256];
	size_t clen, slen = sizeof(s);
	char now[21];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char *text;

	tuf_json_format_time(o->time ? o->time : time(NULL), now);
	json_object_object_add(body, "sluice_receipt", json_object_new_int(1));
	json_object_object_add(body, "device_id", json_object_new_string(o->device_id));
	json_object_object_add(body, "hardware", json_object_new_string("board-a"));
	json_object_object_add(body, "outcome", json_object_new_string(o->outcome));
	json_object_object_add(body, "time", json_object_new_string(now));
	json_object_object_add(body, "release", json_object_new_string(o->release));
	json_object_object_add(body, "version", json_object_new_string(o->release));
	json_object_object_add(body, "phase", json_object_new_string("switched"));
	json_object_object_add(t, "path", json_object_new_string("images/rootfs.img"));
	json_object_object_add(t, "sha256", json_object_new_string(id->sha256));
	json_object_object_add(t, "length", json_object_new_int64(123));
	json_object_array_add(tgts, t);
	json_object_object_add(body, "targets", tgts);
	ASSERT_OK(tuf_json_canonical(body, &canon, &clen));
	ASSERT_TRUE(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, id->key) == 1);
	ASSERT_TRUE(EVP_DigestSign(ctx, s, &slen, (unsigned char *)canon, clen) == 1);
	EVP_MD_CTX_free(ctx);
	hex = malloc(2 * slen + 1);
	sl_hex_encode(s, slen, hex);
	if (o->tamper_release)
		json_object_object_add(body, "release", json_object_new_string(o->tamper_release));
	json_object_object_add(sig, "alg", json_object_new_string("ecdsa-sha256"));
	json_object_object_add(sig, "sig", json_object_new_string(hex));
	json_object_array_add(sigs, sig);
	json_object_object_add(env, "signed", body);
	json_object_object_add(env, "signatures", sigs);
	json_object_object_add(env, "certificate", json_object_new_string(pem));
	text = strdup(json_object_to_json_string_ext(env, JSON_C_TO_STRING_PRETTY));
	json_object_put(env);
	return text;
}

static int import(struct cpt_env *e, const char *text, struct cp_receipt_report *rep)
{
	return cp_offline_receipt_import(e->s, "r.json", (const uint8_t *)text, strlen(text),
					 "test", rep);
}

static int64_t count_rows(struct cpt_env *e, const char *table)
{
	_cleanup_free_ char *sql = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n;

	ASSERT_TRUE(asprintf(&sql, "SELECT COUNT(*) FROM %s", table) > 0);
	ASSERT_OK(cp_db_prepare(e->s->db, sql, &st));
	ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

struct hist {
	int n;
	char type[32], release[64];
	int64_t seq;
};

static int hist_cb(const struct cp_event *ev, void *userdata)
{
	struct hist *h = userdata;

	h->n++;
	snprintf(h->type, sizeof(h->type), "%s", ev->type);
	snprintf(h->release, sizeof(h->release), "%s", ev->release);
	h->seq = ev->seq;
	return 0;
}

/* A control plane with devices dev-1 (certificate recorded) and a CA-issued identity. */
struct rworld {
	struct cpt_env e;
	struct ident ca, dev1, dev2;
};

static void rworld_new(struct rworld *w)
{
	ASSERT_OK(cpt_env_new(&w->e));
	ident_make(&w->ca, "Test Device CA", NULL, true);
	ident_make(&w->dev1, "dev-1", &w->ca, false);
	ident_make(&w->dev2, "dev-2", &w->ca, false);
	ASSERT_OK(cp_devices_approve(w->e.s, "dev-1", "board-a", NULL, w->dev1.sha256, "test"));
}

static void rworld_free(struct rworld *w)
{
	ident_free(&w->ca);
	ident_free(&w->dev1);
	ident_free(&w->dev2);
	cpt_env_clear(&w->e);
}

TEST(receipt_good_and_duplicate)
{
	struct rworld w;
	struct cp_receipt_report rep;
	struct hist h = {};
	_cleanup_free_ char *r1 = NULL, *r2 = NULL;
	int64_t bad = 0;

	rworld_new(&w);
	r1 = make_receipt(&w.dev1, &(struct rcpt_opts){"dev-1", "reboot", "r1", NULL, 0});
	ASSERT_EQ_INT(import(&w.e, r1, &rep), 0);
	ASSERT_EQ_INT(rep.status, CP_RECEIPT_ACCEPTED);
	ASSERT_EQ_STR(rep.device_id, "dev-1");
	ASSERT_EQ_STR(rep.outcome, "reboot");
	ASSERT_TRUE(rep.event_added && strlen(rep.sha256) == 64);
	ASSERT_OK(cp_history_foreach(w.e.s, "dev-1", hist_cb, &h));
	ASSERT_EQ_INT(h.n, 1);
	ASSERT_EQ_STR(h.type, "switched");
	ASSERT_EQ_STR(h.release, "r1");
	ASSERT_TRUE(h.seq > CP_RECEIPT_SEQ_BASE);
	ASSERT_EQ_INT(audit_rows(&w.e, "receipt-import"), 1);

	/* The same receipt again: reported, nothing added. */
	ASSERT_EQ_INT(import(&w.e, r1, &rep), 1);
	ASSERT_EQ_INT(rep.status, CP_RECEIPT_DUPLICATE);
	ASSERT_EQ_INT(count_rows(&w.e, "receipts"), 1);
	ASSERT_EQ_INT(count_rows(&w.e, "events"), 1);
	ASSERT_EQ_INT(audit_rows(&w.e, "receipt-import"), 1);

	/* The commit decided at boot: a second event; a noop adds a receipt but no event. */
	r2 = make_receipt(&w.dev1, &(struct rcpt_opts){"dev-1", "committed", "r1", NULL, 0});
	ASSERT_EQ_INT(import(&w.e, r2, &rep), 0);
	free(r2);
	r2 = make_receipt(&w.dev1, &(struct rcpt_opts){"dev-1", "noop", "r1", NULL, 0});
	ASSERT_EQ_INT(import(&w.e, r2, &rep), 0);
	ASSERT_TRUE(!rep.event_added);
	h = (struct hist){};
	ASSERT_OK(cp_history_foreach(w.e.s, "dev-1", hist_cb, &h));
	ASSERT_EQ_INT(h.n, 2);
	ASSERT_EQ_STR(h.type, "committed");
	ASSERT_EQ_INT(count_rows(&w.e, "receipts"), 3);
	ASSERT_OK(cp_audit_verify(w.e.s, &bad, NULL));
	rworld_free(&w);
}

/* A refusal with code; the database is row-identical afterwards. */
static void refused(struct rworld *w, const char *text, int code, const char *fragment)
{
	struct cp_receipt_report rep;
	_cleanup_free_ char *before = NULL, *after = NULL;

	ASSERT_OK(cpt_dump_db(w->e.s->db_path, &before));
	ASSERT_EQ_INT(import(&w->e, text, &rep), code);
	ASSERT_EQ_INT(rep.status, CP_RECEIPT_REFUSED);
	ASSERT_EQ_INT(rep.error, code);
	if (!strstr(sl_error_message(code), fragment)) {
		fprintf(stderr, "message '%s' lacks '%s'\n", sl_error_message(code), fragment);
		abort();
	}
	ASSERT_OK(cpt_dump_db(w->e.s->db_path, &after));
	ASSERT_EQ_STR(before, after);
}

TEST(receipt_tampered)
{
	struct rworld w;
	_cleanup_free_ char *r = NULL, *cut = NULL;

	rworld_new(&w);
	r = make_receipt(&w.dev1, &(struct rcpt_opts){"dev-1", "committed", "r1", "r9", 0});
	refused(&w, r, TUF_E_SIGNATURE, "does not verify");
	cut = strndup(r, strlen(r) / 2);
	refused(&w, cut, TUF_E_FORMAT, "r.json");
	refused(&w, "{\"signed\": {}, \"signatures\": [], \"certificate\": \"x\", \"more\": 1}",
		TUF_E_FORMAT, "must be");
	rworld_free(&w);
}

TEST(receipt_wrong_device)
{
	struct rworld w;
	struct ident other;
	_cleanup_free_ char *r = NULL, *r2 = NULL;

	rworld_new(&w);
	/* dev-2's certificate signing a receipt that claims to be dev-1's. */
	r = make_receipt(&w.dev2, &(struct rcpt_opts){"dev-1", "committed", "r1", NULL, 0});
	refused(&w, r, TUF_E_SIGNATURE, "CN");
	/* A valid dev-1 certificate from the CA, but not the one recorded for dev-1. */
	ident_make(&other, "dev-1", &w.ca, false);
	r2 = make_receipt(&other, &(struct rcpt_opts){"dev-1", "committed", "r1", NULL, 0});
	refused(&w, r2, TUF_E_SIGNATURE, "recorded certificate");
	ident_free(&other);
	rworld_free(&w);
}

TEST(receipt_unknown_device)
{
	struct rworld w;
	_cleanup_free_ char *r = NULL;

	rworld_new(&w);
	r = make_receipt(&w.dev2, &(struct rcpt_opts){"dev-2", "committed", "r1", NULL, 0});
	refused(&w, r, CP_E_FORBIDDEN, "unknown device");
	ASSERT_OK(cp_devices_approve(w.e.s, "dev-2", "board-a", NULL, w.dev2.sha256, "test"));
	ASSERT_OK(cp_devices_decommission(w.e.s, "dev-2", "test"));
	refused(&w, r, CP_E_FORBIDDEN, "decommissioned");
	rworld_free(&w);
}

TEST(receipt_chain_fallback)
{
	struct rworld w;
	struct ident ca2, dev3b;
	struct cp_receipt_report rep;
	_cleanup_free_ char *r = NULL, *rb = NULL, *capath = NULL, *pem = NULL;

	rworld_new(&w);
	ident_make(&ca2, "Other CA", NULL, true);
	ident_make(&dev3b, "dev-3", &ca2, false);
	struct ident dev3;
	ident_make(&dev3, "dev-3", &w.ca, false);
	/* Approved without a recorded certificate: only the device CA can vouch for it. */
	ASSERT_OK(cp_devices_approve(w.e.s, "dev-3", "board-a", NULL, NULL, "test"));
	r = make_receipt(&dev3, &(struct rcpt_opts){"dev-3", "committed", "r1", NULL, 0});
	refused(&w, r, TUF_E_SIGNATURE, "absent");
	ASSERT_TRUE(asprintf(&capath, "%s/device-ca.pem", w.e.s->tls_dir) > 0);
	pem = pem_of(w.ca.cert);
	ASSERT_OK(cpt_write(capath, pem));
	rb = make_receipt(&dev3b, &(struct rcpt_opts){"dev-3", "committed", "r1", NULL, 0});
	refused(&w, rb, TUF_E_SIGNATURE, "does not chain");
	ASSERT_EQ_INT(import(&w.e, r, &rep), 0);
	ident_free(&ca2);
	ident_free(&dev3b);
	ident_free(&dev3);
	rworld_free(&w);
}

TEST(import_directory)
{
	struct rworld w;
	struct cp_receipt_counts n;
	_cleanup_free_ char *medium = NULL, *dir = NULL, *a = NULL, *b = NULL, *c = NULL, *d = NULL,
			    *big = NULL, *r = NULL, *t = NULL;
	char before[65], after[65], link[PATH_MAX];

	rworld_new(&w);
	medium = cpt_path(&w.e, "usb");
	ASSERT_TRUE(asprintf(&dir, "%s/receipts", medium) > 0);
	ASSERT_OK(sl_mkdir_p(dir, 0755));
	ASSERT_EQ_INT(cp_offline_import_receipts(w.e.s, w.e.tmp, "test", NULL, NULL, &n), -ENOENT);
	r = make_receipt(&w.dev1, &(struct rcpt_opts){"dev-1", "reboot", "r1", NULL, 0});
	t = make_receipt(&w.dev1, &(struct rcpt_opts){"dev-1", "committed", "r1", "r0", 0});
	ASSERT_TRUE(asprintf(&a, "%s/dev-1-a.json", dir) > 0);
	ASSERT_TRUE(asprintf(&b, "%s/dev-1-b.json", dir) > 0);
	ASSERT_TRUE(asprintf(&c, "%s/dev-1-c.json", dir) > 0);
	ASSERT_TRUE(asprintf(&d, "%s/dev-1-d.json", dir) > 0);
	ASSERT_OK(cpt_write(a, r));
	ASSERT_OK(cpt_write(b, t));
	big = calloc(1, CP_RECEIPT_MAX + 2);
	memset(big, ' ', CP_RECEIPT_MAX + 1);
	ASSERT_OK(cpt_write(d, big));
	ASSERT_OK(cpt_hash_tree(medium, before));
	ASSERT_TRUE(symlink(a, c) == 0);
	ASSERT_OK(cp_offline_import_receipts(w.e.s, medium, "test", NULL, NULL, &n));
	ASSERT_EQ_INT(n.accepted, 1);
	ASSERT_EQ_INT(n.refused, 3);
	ASSERT_OK(cp_offline_import_receipts(w.e.s, medium, "test", NULL, NULL, &n));
	ASSERT_EQ_INT(n.accepted, 0);
	ASSERT_EQ_INT(n.duplicate, 1);
	ASSERT_EQ_INT(n.refused, 3);
	/* Nothing moved or deleted (the symlink was not followed, and is still there). */
	ASSERT_TRUE(readlink(c, link, sizeof(link)) == (ssize_t)strlen(a));
	ASSERT_TRUE(unlink(c) == 0);
	ASSERT_OK(cpt_hash_tree(medium, after));
	ASSERT_EQ_STR(before, after);
	ASSERT_EQ_INT(count_rows(&w.e, "receipts"), 1);
	rworld_free(&w);
}

int main(void)
{
	RUN(export_layout);
	RUN(export_refusals);
	RUN(export_corrupt_artifact);
	RUN(receipt_good_and_duplicate);
	RUN(receipt_tampered);
	RUN(receipt_wrong_device);
	RUN(receipt_unknown_device);
	RUN(receipt_chain_fallback);
	RUN(import_directory);
	return 0;
}
