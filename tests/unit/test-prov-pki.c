/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the provisioning station's PKI: CAs, issuing, duplicates, export, revocation, CRL. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "error.h"
#include "fileio.h"
#include "media.h"
#include "pki.h"
#include "secmem.h"
#include "test.h"
#include "tuf/json.h"
#include "x509.h"

#define PASS "pki test passphrase"
#define URL "https://cp.example"
#define OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define MEM crypto_pwhash_MEMLIMIT_INTERACTIVE

static char *tmpdir, *pki_dir;
static uint8_t *root;
static size_t root_len;

static char *join(const char *dir, const char *name)
{
	char *p = NULL;

	ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static uint8_t *read_path(const char *dir, const char *name, size_t *ret_len)
{
	char *p = join(dir, name);
	uint8_t *buf = NULL;

	ASSERT_OK(sl_read_file_at(AT_FDCWD, p, 64u * 1024 * 1024, &buf, ret_len));
	free(p);
	return buf;
}

static size_t count_lines(const char *dir, const char *name)
{
	size_t len, n = 0;
	char *p = join(dir, name);
	uint8_t *buf = NULL;

	if (sl_read_file_at(AT_FDCWD, p, 1u << 26, &buf, &len) < 0) {
		free(p);
		return 0;
	}
	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	free(buf);
	free(p);
	return n;
}

/* Entries of dir (but . and ..). */
static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	ASSERT_TRUE(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static struct prov_pki *open_unlocked(void)
{
	struct prov_pki *p = NULL;

	ASSERT_OK(prov_pki_open(pki_dir, &p));
	ASSERT_OK(prov_pki_unlock(p, PROV_CA_DEVICE, PASS, strlen(PASS)));
	return p;
}

static int issue(struct prov_pki *p, const char *id, const char *out, unsigned flags,
		 struct prov_issued *rec)
{
	struct prov_device_spec spec = {.id = id,
					.hardware = "board-a",
					.controlplane_url = URL,
					.root = root,
					.root_len = root_len,
					.days = 365};

	return prov_pki_issue_device(p, &spec, out, flags, rec);
}

TEST(init)
{
	struct stat st;
	char *key = join(pki_dir, "device-ca.key");
	struct prov_pki *p = NULL;

	ASSERT_OK(prov_pki_init(pki_dir, "unit", PASS, strlen(PASS), OPS, MEM, 3650));
	ASSERT_OK(stat(pki_dir, &st));
	ASSERT_EQ_INT(st.st_mode & 0777, 0700);
	ASSERT_OK(stat(key, &st));
	ASSERT_EQ_INT(st.st_mode & 0777, 0600);
	ASSERT_ERR(prov_pki_init(pki_dir, "unit", PASS, strlen(PASS), OPS, MEM, 3650), -EEXIST);
	ASSERT_OK(prov_pki_open(pki_dir, &p));
	ASSERT_ERR(prov_pki_unlock(p, PROV_CA_DEVICE, "nope", 4), CER_E_PASSPHRASE);
	ASSERT_OK(prov_pki_unlock(p, PROV_CA_SERVER, PASS, strlen(PASS)));
	prov_pki_free(p);
	ASSERT_ERR(prov_pki_open("/nonexistent/pki", &p), TUF_E_STATE);
	free(key);
}

TEST(lock)
{
	struct prov_pki *a = NULL, *b = NULL;

	ASSERT_OK(prov_pki_open(pki_dir, &a));
	ASSERT_ERR(prov_pki_open(pki_dir, &b), CP_E_CONFLICT);
	prov_pki_free(a);
	ASSERT_OK(prov_pki_open(pki_dir, &b));
	prov_pki_free(b);
}

TEST(issue_and_duplicates)
{
	struct prov_pki *p = open_unlocked();
	char *out = join(tmpdir, "m1"), *out2 = join(tmpdir, "m1-again");
	struct prov_issued a, b;
	size_t before;
	uint8_t *crt1, *crt2;
	size_t l1, l2;

	ASSERT_OK(issue(p, "dev-1", out, 0, &a));
	ASSERT_EQ_STR(a.id, "dev-1");
	ASSERT_EQ_INT(count_lines(pki_dir, "issued.jsonl"), 1);
	before = count_entries(tmpdir);
	/* the same identity again, even into a new directory: refused, nothing left behind */
	ASSERT_ERR(issue(p, "dev-1", out2, 0, NULL), CP_E_CONFLICT);
	ASSERT_TRUE(access(out2, F_OK) < 0);
	ASSERT_EQ_INT(count_entries(tmpdir), before);
	/* re-issue allowed with the flag, but not over an existing medium */
	ASSERT_ERR(issue(p, "dev-1", out, PROV_FORCE_ID, NULL), -EEXIST);
	ASSERT_EQ_INT(count_lines(pki_dir, "issued.jsonl"), 1);
	/* a new id into an existing directory is refused too */
	ASSERT_ERR(issue(p, "dev-2", out, 0, NULL), -EEXIST);
	ASSERT_EQ_INT(count_entries(tmpdir), before);
	/* both: the medium is replaced atomically by a new certificate */
	crt1 = read_path(out, "device.crt", &l1);
	ASSERT_OK(issue(p, "dev-1", out, PROV_FORCE_ID | PROV_FORCE_OUT, &b));
	crt2 = read_path(out, "device.crt", &l2);
	ASSERT_TRUE(l1 != l2 || memcmp(crt1, crt2, l1) != 0);
	ASSERT_TRUE(strcmp(a.serial, b.serial) != 0);
	ASSERT_EQ_INT(count_lines(pki_dir, "issued.jsonl"), 2);
	ASSERT_EQ_INT(count_entries(tmpdir), before);
	free(crt1);
	free(crt2);
	prov_pki_free(p);
	/* the record survives: a new process refuses the duplicate too */
	p = open_unlocked();
	ASSERT_ERR(issue(p, "dev-1", out2, 0, NULL), CP_E_CONFLICT);
	prov_pki_free(p);
	free(out);
	free(out2);
}

TEST(issue_refusals)
{
	struct prov_pki *p = NULL;
	char *out = join(tmpdir, "bad"), *bad_root = malloc(root_len + 1);
	struct prov_device_spec spec = {.id = "dev-x",
					.hardware = "board-a",
					.controlplane_url = URL,
					.root = bad_root,
					.root_len = root_len,
					.days = 365};
	size_t before;

	memcpy(bad_root, root, root_len + 1);
	strstr(bad_root, "2031-01-01")[3] = '9';
	ASSERT_OK(prov_pki_open(pki_dir, &p));
	/* locked CA key */
	ASSERT_ERR(issue(p, "dev-x", out, 0, NULL), SL_E_INVALID);
	ASSERT_OK(prov_pki_unlock(p, PROV_CA_DEVICE, PASS, strlen(PASS)));
	before = count_lines(pki_dir, "issued.jsonl");
	ASSERT_ERR(prov_pki_issue_device(p, &spec, out, 0, NULL), TUF_E_THRESHOLD);
	spec.root = "{}";
	spec.root_len = 2;
	ASSERT_ERR(prov_pki_issue_device(p, &spec, out, 0, NULL), TUF_E_FORMAT);
	ASSERT_ERR(issue(p, "../evil", out, 0, NULL), SL_E_INVALID);
	ASSERT_ERR(issue(p, "", out, 0, NULL), SL_E_INVALID);
	ASSERT_ERR(issue(p, "a/b", out, 0, NULL), SL_E_INVALID);
	spec.root = root;
	spec.root_len = root_len;
	spec.controlplane_url = "http://cp.example";
	ASSERT_ERR(prov_pki_issue_device(p, &spec, out, 0, NULL), SL_E_INVALID);
	ASSERT_EQ_INT(count_lines(pki_dir, "issued.jsonl"), before);
	ASSERT_TRUE(access(out, F_OK) < 0);
	prov_pki_free(p);
	free(bad_root);
	free(out);
}

/* The approval file: exactly the members the control plane reads. */
TEST(export)
{
	struct prov_pki *p = open_unlocked();
	char *out = join(tmpdir, "m3"), *file = join(tmpdir, "approve.jsonl");
	struct prov_issued rec;
	uint8_t *buf, *crt;
	size_t len, clen, n = 0;
	X509 *x = NULL;
	char sha[65];
	bool found = false;

	ASSERT_OK(issue(p, "dev-3", out, 0, &rec));
	ASSERT_OK(prov_pki_export(p, file, &n));
	ASSERT_EQ_INT(n, 2); /* dev-1 once (newest of two), dev-3 */
	crt = read_path(out, "device.crt", &clen);
	ASSERT_OK(prov_cert_parse(crt, clen, "device.crt", &x));
	ASSERT_OK(prov_cert_sha256(x, sha));
	buf = read_path(tmpdir, "approve.jsonl", &len);
	for (char *line = strtok((char *)buf, "\n"); line; line = strtok(NULL, "\n")) {
		struct json_object *o = NULL;
		const char *s;
		int64_t t;

		ASSERT_OK(tuf_json_parse(line, strlen(line), 4, &o));
		ASSERT_EQ_INT(json_object_object_length(o), 4);
		ASSERT_OK(tuf_json_get_string(o, "not_after", &s));
		ASSERT_OK(tuf_json_parse_time(s, &t));
		ASSERT_OK(tuf_json_get_string(o, "hardware", &s));
		ASSERT_EQ_STR(s, "board-a");
		ASSERT_OK(tuf_json_get_string(o, "id", &s));
		if (strcmp(s, "dev-3") == 0) {
			ASSERT_OK(tuf_json_get_string(o, "cert_sha256", &s));
			ASSERT_EQ_STR(s, sha);
			ASSERT_EQ_STR(s, rec.cert_sha256);
			found = true;
		}
		json_object_put(o);
	}
	ASSERT_TRUE(found);
	X509_free(x);
	free(crt);
	free(buf);
	prov_pki_free(p);
	free(out);
	free(file);
}

static X509_CRL *read_crl(const char *dir)
{
	size_t len;
	uint8_t *buf = read_path(dir, "crl.pem", &len);
	X509_CRL *crl = NULL;

	ASSERT_OK(prov_crl_parse(buf, len, "crl.pem", &crl));
	free(buf);
	return crl;
}

static uint64_t crl_number(X509_CRL *crl)
{
	ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	uint64_t v = 0;

	ASSERT_TRUE(num && ASN1_INTEGER_get_uint64(&v, num));
	ASN1_INTEGER_free(num);
	return v;
}

TEST(revoke)
{
	struct prov_pki *p = open_unlocked();
	char *tls = join(tmpdir, "tls"), *file = join(tmpdir, "approve2.jsonl");
	struct prov_issued *v = NULL;
	size_t n = 0, count = 0, revoked = 0;
	X509_CRL *before = read_crl(pki_dir), *after;
	int reason = -1;

	ASSERT_OK(prov_crl_reason_from_name("keyCompromise", &reason));
	ASSERT_OK(prov_pki_revoke(p, "dev-1", reason, 30, tls, &count));
	ASSERT_EQ_INT(count, 2); /* both certificates ever issued to dev-1 */
	ASSERT_ERR(prov_pki_revoke(p, "dev-1", -1, 30, NULL, NULL), TUF_E_NOT_FOUND);
	ASSERT_ERR(prov_pki_revoke(p, "never-issued", -1, 30, NULL, NULL), TUF_E_NOT_FOUND);
	after = read_crl(pki_dir);
	ASSERT_EQ_INT(crl_number(after), crl_number(before) + 1);
	ASSERT_EQ_INT(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(after)), 2);
	{
		size_t len;
		uint8_t *buf = read_path(pki_dir, "device-ca.crt", &len);
		X509 *ca = NULL;

		ASSERT_OK(prov_cert_parse(buf, len, "device-ca.crt", &ca));
		ASSERT_EQ_INT(X509_CRL_verify(after, X509_get0_pubkey(ca)), 1);
		X509_free(ca);
		free(buf);
	}
	X509_CRL_free(after);
	after = read_crl(tls);
	ASSERT_EQ_INT(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(after)), 2);
	ASSERT_OK(prov_pki_issued_list(p, &v, &n));
	for (size_t i = 0; i < n; i++)
		revoked += v[i].revoked;
	ASSERT_EQ_INT(revoked, 2);
	ASSERT_OK(prov_pki_export(p, file, &count));
	ASSERT_EQ_INT(count, 1); /* only dev-3 is left */
	/* re-signing keeps the entries and counts up */
	ASSERT_OK(prov_pki_crl_update(p, 30, NULL));
	X509_CRL_free(before);
	before = read_crl(pki_dir);
	ASSERT_EQ_INT(crl_number(before), crl_number(after) + 1);
	ASSERT_EQ_INT(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(before)), 2);
	X509_CRL_free(before);
	X509_CRL_free(after);
	free(v);
	prov_pki_free(p);
	free(tls);
	free(file);
}

TEST(enrollment_and_server)
{
	struct prov_pki *p = open_unlocked();
	char *enr = join(tmpdir, "enroll"), *tls = join(tmpdir, "tls2"), *chain = NULL;
	const char *dns[] = {"cp.example", "cp"}, *ip[] = {"127.0.0.1", "::1"};
	struct prov_server_spec spec = {.dns = dns, .n_dns = 2, .ip = ip, .n_ip = 2, .days = 90};
	STACK_OF(X509) *sk = NULL;
	struct stat st;
	char *key;

	ASSERT_OK(prov_pki_enrollment_ca(p, enr, 365, 0));
	ASSERT_ERR(prov_pki_enrollment_ca(p, enr, 365, 0), -EEXIST);
	key = join(enr, "enrollment-ca.key");
	ASSERT_OK(stat(key, &st));
	ASSERT_EQ_INT(st.st_mode & 0777, 0600);
	free(key);
	ASSERT_OK(prov_pki_device_chain_pem(p, &chain));
	ASSERT_OK(prov_certs_parse(chain, strlen(chain), "chain", &sk));
	ASSERT_EQ_INT(sk_X509_num(sk), 2);
	sk_X509_pop_free(sk, X509_free);
	free(chain);
	/* the server CA is still locked */
	ASSERT_ERR(prov_pki_server_cert(p, &spec, tls, 0), SL_E_INVALID);
	ASSERT_OK(prov_pki_unlock(p, PROV_CA_SERVER, PASS, strlen(PASS)));
	ASSERT_OK(prov_pki_server_cert(p, &spec, tls, 0));
	ASSERT_ERR(prov_pki_server_cert(p, &spec, tls, 0), -EEXIST);
	ASSERT_OK(prov_pki_server_cert(p, &spec, tls, PROV_FORCE_OUT));
	key = join(tls, "server.key");
	ASSERT_OK(stat(key, &st));
	ASSERT_EQ_INT(st.st_mode & 0777, 0600);
	free(key);
	spec.ip = (const char *[]){"not-an-ip"};
	spec.n_ip = 1;
	ASSERT_ERR(prov_pki_server_cert(p, &spec, tls, PROV_FORCE_OUT), SL_E_INVALID);
	spec.n_dns = 0;
	spec.n_ip = 0;
	ASSERT_ERR(prov_pki_server_cert(p, &spec, tls, PROV_FORCE_OUT), SL_E_INVALID);
	prov_pki_free(p);
	free(enr);
	free(tls);
}

int main(void)
{
	const char *data = getenv("SLUICE_TEST_DATA");
	char p[4096];

	ASSERT_TRUE(data);
	snprintf(p, sizeof(p), "%s/metadata/root.json", data);
	ASSERT_OK(sl_secmem_init());
	ASSERT_OK(sl_read_file_at(AT_FDCWD, p, PROV_MEDIA_ROOT_MAX, &root, &root_len));
	ASSERT_OK(sl_mkdtemp_private(NULL, &tmpdir));
	pki_dir = join(tmpdir, "pki");
	RUN(init);
	RUN(lock);
	RUN(issue_and_duplicates);
	RUN(issue_refusals);
	RUN(export);
	RUN(revoke);
	RUN(enrollment_and_server);
	sl_rm_rf(tmpdir);
	free(pki_dir);
	free(tmpdir);
	free(root);
	return 0;
}
