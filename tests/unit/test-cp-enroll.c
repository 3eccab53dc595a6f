/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of token enrollment: token create/consume/expiry/single use/revoke, CSR checks, the
 * issued certificate, duplicate identities, the enrollment CA import and its CRL, and SIGKILL
 * during enrollment. */
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "devices.h"
#include "enroll.h"
#include "fileio.h"
#include "state.h"
#include "tuf/crypto.h"
#include "test-cp-util.h"
#include "test.h"

#define NOW 1800000000 /* 2027-01-15 */

/* ---- test PKI with the OpenSSL API ---- */

static EVP_PKEY *p256(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	ASSERT_TRUE(k);
	return k;
}

static void ext(X509 *c, X509 *issuer, int nid, const char *v)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, c, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, v);
	ASSERT_TRUE(e && X509_add_ext(c, e, -1) == 1);
	X509_EXTENSION_free(e);
}

/* A self-signed CA certificate for key (ca true) or a plain leaf (ca false). */
static X509 *self_signed(EVP_PKEY *key, const char *cn, bool ca)
{
	X509 *c = X509_new();

	ASSERT_TRUE(c);
	X509_set_version(c, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 7);
	X509_NAME_add_entry_by_NID(X509_get_subject_name(c), NID_commonName, MBSTRING_UTF8,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c, X509_get_subject_name(c));
	ASN1_TIME_set(X509_getm_notBefore(c), NOW - 86400);
	ASN1_TIME_set(X509_getm_notAfter(c), NOW + 3650L * 86400);
	X509_set_pubkey(c, key);
	ext(c, c, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	if (ca)
		ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign");
	ext(c, c, NID_subject_key_identifier, "hash");
	ASSERT_TRUE(X509_sign(c, key, EVP_sha256()) > 0);
	return c;
}

static char *pem_of(int (*wr)(BIO *, void *), void *obj)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	ASSERT_TRUE(b && wr(b, obj) == 1);
	n = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)n);
	BIO_free(b);
	return out;
}

static int wr_cert(BIO *b, void *o)
{
	return PEM_write_bio_X509(b, o);
}

static int wr_key(BIO *b, void *o)
{
	return PEM_write_bio_PrivateKey(b, o, NULL, NULL, 0, NULL, NULL);
}

static int wr_req(BIO *b, void *o)
{
	return PEM_write_bio_X509_REQ(b, o);
}

/* A CSR for key with the given CNs (NULL-terminated), signed by signer (NULL: key). */
static char *csr(EVP_PKEY *key, EVP_PKEY *signer, const char *const *cns)
{
	X509_REQ *r = X509_REQ_new();
	char *pem;

	X509_REQ_set_version(r, X509_REQ_VERSION_1);
	for (; *cns; cns++)
		X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(r), NID_commonName,
					   MBSTRING_UTF8, (const unsigned char *)*cns, -1, -1, 0);
	X509_REQ_set_pubkey(r, key);
	ASSERT_TRUE(X509_REQ_sign(r, signer ? signer : key, EVP_sha256()) > 0);
	pem = pem_of(wr_req, r);
	X509_REQ_free(r);
	return pem;
}

/* ---- environment ---- */

struct env {
	struct cpt_env e;
	EVP_PKEY *ca_key; /* the enrollment CA */
	X509 *ca;
	char *server_ca_pem;
	char fp[65];
};

static void write_file(const char *path, const char *text)
{
	ASSERT_OK(sl_write_file_atomic(path, text, strlen(text), 0600));
}

/* Write the PEM of obj to path. */
static void write_pem(const char *path, int (*wr)(BIO *, void *), void *obj)
{
	_cleanup_free_ char *pem = pem_of(wr, obj);

	write_file(path, pem);
}

static void env_new(struct env *v, bool with_enroll_ca)
{
	EVP_PKEY *skey = p256();
	X509 *scert = self_signed(skey, "test server CA", true);
	_cleanup_free_ char *path = NULL, *crt = NULL, *key = NULL;
	unsigned char *der = NULL;
	int n;

	*v = (struct env){};
	ASSERT_OK(cpt_env_new(&v->e));
	cp_state_set_now(v->e.s, NOW);
	v->server_ca_pem = pem_of(wr_cert, scert);
	n = i2d_X509(scert, &der);
	ASSERT_OK(tuf_sha256_hex(der, (size_t)n, v->fp));
	OPENSSL_free(der);
	ASSERT_TRUE(asprintf(&path, "%s/tls/server-ca.pem", v->e.state) > 0);
	write_file(path, v->server_ca_pem);
	X509_free(scert);
	EVP_PKEY_free(skey);

	v->ca_key = p256();
	v->ca = self_signed(v->ca_key, "test enrollment CA", true);
	if (!with_enroll_ca)
		return;
	crt = cpt_path(&v->e, "enroll.crt");
	key = cpt_path(&v->e, "enroll.key");
	write_pem(crt, wr_cert, v->ca);
	write_pem(key, wr_key, v->ca_key);
	ASSERT_OK(cp_enroll_ca_import(v->e.s, crt, key, false, "test"));
}

static void env_clear(struct env *v)
{
	EVP_PKEY_free(v->ca_key);
	X509_free(v->ca);
	free(v->server_ca_pem);
	cpt_env_clear(&v->e);
}

static char *token(struct env *v, int64_t ttl, const char *hw, const char *id)
{
	char *t = NULL;

	ASSERT_OK(cp_enroll_token_create(v->e.s, ttl, hw, id, "test", &t, NULL));
	return t;
}

/* POST /v1/enroll; returns the status, *ret_body (may be NULL) the answer. */
static int enroll(struct env *v, const char *tok, const char *csr_pem, const char *hw,
		  char **ret_body)
{
	struct json_object *o = json_object_new_object();
	const char *text;
	char *body = NULL;
	size_t len;
	int st;

	json_object_object_add(o, "token", json_object_new_string(tok));
	json_object_object_add(o, "csr", json_object_new_string(csr_pem));
	json_object_object_add(o, "hardware", json_object_new_string(hw));
	text = json_object_to_json_string(o);
	st = cp_api_enroll(v->e.s, "test-peer", text, strlen(text), &body, &len);
	json_object_put(o);
	ASSERT_TRUE(st < 0 || (body && strlen(body) == len));
	if (ret_body)
		*ret_body = body;
	else
		free(body);
	return st;
}

static int enroll_new_key(struct env *v, const char *tok, const char *cn, const char *hw,
			  char **ret_body)
{
	EVP_PKEY *k = p256();
	const char *cns[] = {cn, NULL};
	_cleanup_free_ char *c = csr(k, NULL, cns);
	int st = enroll(v, tok, c, hw, ret_body);

	EVP_PKEY_free(k);
	return st;
}

struct find {
	int64_t n;
	const char *state;
};

static int last_token(const struct cp_enroll_token *t, void *userdata)
{
	struct find *f = userdata;

	f->n++;
	f->state = t->state; /* only compared inside the callback chain's lifetime */
	return 0;
}

static const char *token_state(struct env *v)
{
	static char buf[16];
	struct find f = {};

	ASSERT_OK(cp_enroll_token_foreach(v->e.s, last_token, &f));
	ASSERT_TRUE(f.n > 0);
	snprintf(buf, sizeof(buf), "%s", f.state);
	return buf;
}

struct count {
	const char *action;
	int n;
};

static int count_action(const struct cp_audit_row *row, void *userdata)
{
	struct count *c = userdata;

	c->n += strcmp(row->action, c->action) == 0;
	return 0;
}

static int audited(struct env *v, const char *action)
{
	struct count c = {action, 0};

	ASSERT_OK(cp_audit_foreach(v->e.s, count_action, &c));
	return c.n;
}

/* ---- tests ---- */

TEST(names)
{
	ASSERT_TRUE(cp_enroll_name_valid("dev-0042"));
	ASSERT_TRUE(cp_enroll_name_valid("a.b_c-D9"));
	ASSERT_TRUE(!cp_enroll_name_valid(""));
	ASSERT_TRUE(!cp_enroll_name_valid("a/b"));
	ASSERT_TRUE(!cp_enroll_name_valid("a b"));
	ASSERT_TRUE(!cp_enroll_name_valid(NULL));
	ASSERT_TRUE(!cp_enroll_name_valid(
	    "x1234567890123456789012345678901234567890123456789012345678901234"));
}

TEST(create_needs_setup_and_valid_options)
{
	struct env v;
	char *t = NULL;

	env_new(&v, false);
	ASSERT_ERR(cp_enroll_token_create(v.e.s, 900, NULL, NULL, "test", &t, NULL), CP_E_STATE);
	env_clear(&v);

	env_new(&v, true);
	ASSERT_ERR(cp_enroll_token_create(v.e.s, 0, NULL, NULL, "test", &t, NULL), SL_E_INVALID);
	ASSERT_ERR(
	    cp_enroll_token_create(v.e.s, CP_ENROLL_TTL_MAX + 1, NULL, NULL, "test", &t, NULL),
	    SL_E_INVALID);
	ASSERT_ERR(cp_enroll_token_create(v.e.s, 900, "bad hw", NULL, "test", &t, NULL),
		   SL_E_INVALID);
	ASSERT_ERR(cp_enroll_token_create(v.e.s, 900, NULL, "../x", "test", &t, NULL),
		   SL_E_INVALID);
	t = token(&v, 900, NULL, NULL);
	ASSERT_EQ_INT(strlen(t), CP_ENROLL_TOKEN_LEN);
	ASSERT_TRUE(strncmp(t, "sl1.", 4) == 0);
	ASSERT_EQ_STR(t + CP_ENROLL_TOKEN_LEN - 64, v.fp);
	ASSERT_EQ_STR(token_state(&v), "active");
	ASSERT_EQ_INT(audited(&v, "enroll-token-create"), 1);
	free(t);
	env_clear(&v);
}

TEST(consume_issues_certificate_and_approves)
{
	struct env v;
	EVP_PKEY *k = p256();
	const char *cns[] = {"dev-1", NULL};
	_cleanup_free_ char *t = NULL, *c = NULL, *body = NULL;
	struct json_object *o, *m;
	X509 *cert;
	BIO *b;
	char cn[80];

	env_new(&v, true);
	ASSERT_ERR(cp_api_device_allowed(v.e.s, "dev-1"), CP_E_FORBIDDEN);
	t = token(&v, 900, "board-a", NULL);
	c = csr(k, NULL, cns);
	ASSERT_EQ_INT(enroll(&v, t, c, "board-a", &body), 200);
	o = json_tokener_parse(body);
	ASSERT_TRUE(o && json_object_object_get_ex(o, "certificate", &m));
	b = BIO_new_mem_buf(json_object_get_string(m), -1);
	cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ASSERT_TRUE(cert);
	ASSERT_TRUE(X509_verify(cert, v.ca_key) == 1);	   /* signed by the enrollment CA */
	ASSERT_TRUE(X509_check_private_key(cert, k) == 1); /* for the CSR's key */
	ASSERT_TRUE(X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT);
	ASSERT_TRUE(X509_check_ca(cert) == 0);
	X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
	ASSERT_EQ_STR(cn, "dev-1");
	ASSERT_TRUE(json_object_object_get_ex(o, "ca", &m));
	ASSERT_EQ_STR(json_object_get_string(m), v.server_ca_pem);
	ASSERT_TRUE(json_object_object_get_ex(o, "root", &m));
	ASSERT_TRUE(strstr(json_object_get_string(m), "\"_type\""));
	ASSERT_TRUE(json_object_object_get_ex(o, "hardware", &m));
	ASSERT_EQ_STR(json_object_get_string(m), "board-a");
	ASSERT_OK(cp_api_device_allowed(v.e.s, "dev-1"));
	ASSERT_EQ_STR(token_state(&v), "used");
	ASSERT_EQ_INT(audited(&v, "enroll"), 1);
	json_object_put(o);
	X509_free(cert);
	EVP_PKEY_free(k);
	env_clear(&v);
}

TEST(single_use_expiry_revocation_forgery)
{
	struct env v;
	_cleanup_free_ char *t = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL, *b1 = NULL, *b2 = NULL;
	char forged[CP_ENROLL_TOKEN_LEN + 1];

	env_new(&v, true);
	t = token(&v, 900, NULL, NULL);
	ASSERT_EQ_INT(enroll_new_key(&v, t, "dev-a", "hw", NULL), 200);
	ASSERT_EQ_INT(enroll_new_key(&v, t, "dev-b", "hw", &b1), 403); /* used */
	ASSERT_ERR(cp_api_device_allowed(v.e.s, "dev-b"), CP_E_FORBIDDEN);

	/* Expiry at the state's clock: valid until NOW + ttl - 1, refused from NOW + ttl. */
	t2 = token(&v, 60, NULL, NULL);
	t3 = token(&v, 60, NULL, NULL);
	cp_state_set_now(v.e.s, NOW + 59);
	ASSERT_EQ_INT(enroll_new_key(&v, t2, "dev-c", "hw", NULL), 200);
	cp_state_set_now(v.e.s, NOW + 60);
	ASSERT_EQ_INT(enroll_new_key(&v, t3, "dev-d", "hw", NULL), 403);
	ASSERT_EQ_STR(token_state(&v), "expired");
	cp_state_set_now(v.e.s, NOW);

	/* Revoked; revoking twice or a used token is not found. */
	t4 = token(&v, 900, NULL, NULL);
	ASSERT_OK(cp_enroll_token_revoke(v.e.s, 4, "test"));
	ASSERT_ERR(cp_enroll_token_revoke(v.e.s, 4, "test"), TUF_E_NOT_FOUND);
	ASSERT_ERR(cp_enroll_token_revoke(v.e.s, 1, "test"), TUF_E_NOT_FOUND);
	ASSERT_EQ_INT(enroll_new_key(&v, t4, "dev-e", "hw", NULL), 403);

	/* A random secret, a malformed token, a real secret with another fingerprint. */
	memcpy(forged, t4, sizeof(forged));
	memset(forged + 4, 'Q', CP_ENROLL_SECRET_B64);
	ASSERT_EQ_INT(enroll_new_key(&v, forged, "dev-e", "hw", &b2), 403);
	ASSERT_EQ_STR(b1, b2); /* the same answer for every token failure */
	ASSERT_EQ_INT(enroll_new_key(&v, "sl1.short", "dev-e", "hw", NULL), 403);
	free(t4);
	t4 = token(&v, 900, NULL, NULL);
	memcpy(forged, t4, sizeof(forged));
	forged[CP_ENROLL_TOKEN_LEN - 1] = forged[CP_ENROLL_TOKEN_LEN - 1] == '0' ? '1' : '0';
	ASSERT_EQ_INT(enroll_new_key(&v, forged, "dev-e", "hw", NULL), 403);
	ASSERT_EQ_STR(token_state(&v), "active");
	ASSERT_EQ_INT(enroll_new_key(&v, t4, "dev-e", "hw", NULL), 200);

	ASSERT_EQ_INT(audited(&v, "enroll"), 3);
	ASSERT_EQ_INT(audited(&v, "enroll_failure"), 6);
	ASSERT_OK(cp_audit_verify(v.e.s, NULL, NULL));
	env_clear(&v);
}

TEST(bound_hardware_and_id)
{
	struct env v;
	_cleanup_free_ char *t = NULL, *t2 = NULL, *body = NULL;
	struct json_object *o, *m;

	env_new(&v, true);
	t = token(&v, 900, "board-a", NULL);
	ASSERT_EQ_INT(enroll_new_key(&v, t, "dev-1", "board-b", NULL), 403);
	ASSERT_EQ_STR(token_state(&v), "active");
	ASSERT_EQ_INT(enroll_new_key(&v, t, "dev-1", "board-a", NULL), 200);

	t2 = token(&v, 900, NULL, "dev-bound");
	ASSERT_EQ_INT(enroll_new_key(&v, t2, "whatever", "board-a", &body), 200);
	o = json_tokener_parse(body);
	ASSERT_TRUE(o && json_object_object_get_ex(o, "id", &m));
	ASSERT_EQ_STR(json_object_get_string(m), "dev-bound");
	ASSERT_OK(cp_api_device_allowed(v.e.s, "dev-bound"));
	ASSERT_ERR(cp_api_device_allowed(v.e.s, "whatever"), CP_E_FORBIDDEN);
	json_object_put(o);
	/* A token bound to an id that exists is refused at creation. */
	ASSERT_ERR(cp_enroll_token_create(v.e.s, 900, NULL, "dev-bound", "test", &t, NULL),
		   CP_E_CONFLICT);
	env_clear(&v);
}

TEST(duplicate_identity_keeps_the_token)
{
	struct env v;
	_cleanup_free_ char *t = NULL, *t2 = NULL;

	env_new(&v, true);
	t = token(&v, 900, NULL, NULL);
	ASSERT_EQ_INT(enroll_new_key(&v, t, "dev-1", "hw", NULL), 200);
	t2 = token(&v, 900, NULL, NULL);
	ASSERT_EQ_INT(enroll_new_key(&v, t2, "dev-1", "hw", NULL), 409);
	ASSERT_EQ_STR(token_state(&v), "active");
	ASSERT_OK(cp_devices_decommission(v.e.s, "dev-1", "test"));
	ASSERT_EQ_INT(enroll_new_key(&v, t2, "dev-1", "hw", NULL), 409); /* never reused */
	ASSERT_OK(cp_devices_approve(v.e.s, "dev-media", "hw", NULL, NULL, "test"));
	ASSERT_EQ_INT(enroll_new_key(&v, t2, "dev-media", "hw", NULL), 409);
	ASSERT_EQ_STR(token_state(&v), "active");
	ASSERT_EQ_INT(enroll_new_key(&v, t2, "dev-2", "hw", NULL), 200);
	env_clear(&v);
}

TEST(csr_checks)
{
	struct env v;
	EVP_PKEY *k = p256(), *other = p256(), *rsa = EVP_RSA_gen(2048);
	const char *one[] = {"dev-1", NULL}, *two[] = {"dev-1", "dev-2", NULL};
	const char *slash[] = {"dev/1", NULL}, *none[] = {NULL};
	_cleanup_free_ char *t = NULL, *badsig = NULL, *rsacsr = NULL, *twocn = NULL;
	_cleanup_free_ char *slashcn = NULL, *nocn = NULL, *body = NULL;
	const char *text;
	size_t len;

	env_new(&v, true);
	t = token(&v, 900, NULL, NULL);
	badsig = csr(k, other, one);
	ASSERT_TRUE(rsa);
	rsacsr = csr(rsa, NULL, one);
	twocn = csr(k, NULL, two);
	slashcn = csr(k, NULL, slash);
	nocn = csr(k, NULL, none);
	ASSERT_EQ_INT(enroll(&v, t, badsig, "hw", &body), 400);
	ASSERT_TRUE(strstr(body, "signature"));
	free(body);
	ASSERT_EQ_INT(enroll(&v, t, rsacsr, "hw", &body), 400);
	ASSERT_TRUE(strstr(body, "P-256"));
	ASSERT_EQ_INT(enroll(&v, t, twocn, "hw", NULL), 400);
	ASSERT_EQ_INT(enroll(&v, t, slashcn, "hw", NULL), 400);
	ASSERT_EQ_INT(enroll(&v, t, nocn, "hw", NULL), 400);
	ASSERT_EQ_INT(enroll(&v, t, "not a csr", "hw", NULL), 400);
	ASSERT_EQ_INT(enroll(&v, t, badsig + 1, "hw", NULL), 400);
	ASSERT_EQ_INT(enroll_new_key(&v, t, "dev-1", "bad hw", NULL), 400);

	/* Malformed bodies: not JSON, wrong types, unknown or missing members, too large. */
	text = "{\"token\": 1}";
	free(body);
	body = NULL;
	ASSERT_EQ_INT(cp_api_enroll(v.e.s, "p", text, strlen(text), &body, &len), 400);
	free(body);
	text = "{\"token\": \"x\", \"csr\": \"y\", \"hardware\": \"h\", \"x\": \"\"}";
	ASSERT_EQ_INT(cp_api_enroll(v.e.s, "p", text, strlen(text), &body, &len), 400);
	free(body);
	text = "[1]";
	ASSERT_EQ_INT(cp_api_enroll(v.e.s, "p", text, strlen(text), &body, &len), 400);
	free(body);
	ASSERT_EQ_INT(cp_api_enroll(v.e.s, "p", "{}", CP_ENROLL_BODY_MAX + 1, &body, &len), 400);
	free(body);
	body = NULL;
	/* None of it used the token, and every refusal was audited. */
	ASSERT_EQ_STR(token_state(&v), "active");
	ASSERT_EQ_INT(audited(&v, "enroll_failure"), 12);
	free(twocn);
	twocn = csr(k, NULL, one);
	ASSERT_EQ_INT(enroll(&v, t, twocn, "hw", NULL), 200);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	EVP_PKEY_free(rsa);
	env_clear(&v);
}

TEST(not_set_up_is_503)
{
	struct env v;
	_cleanup_free_ char *t = NULL, *path = NULL;

	env_new(&v, true);
	t = token(&v, 900, NULL, NULL);
	ASSERT_TRUE(asprintf(&path, "%s/tls/%s", v.e.state, CP_ENROLL_CA_KEY) > 0);
	ASSERT_TRUE(unlink(path) == 0);
	ASSERT_EQ_INT(enroll_new_key(&v, t, "dev-1", "hw", NULL), 503);
	ASSERT_EQ_STR(token_state(&v), "active");
	env_clear(&v);
}

TEST(ca_import_and_crl)
{
	struct env v;
	_cleanup_free_ char *crt = NULL, *key = NULL, *leaf = NULL, *crlpath = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	EVP_PKEY *k = p256(), *k2 = p256();
	X509 *notca = self_signed(k, "not a CA", false);
	X509_CRL *crl;
	ASN1_INTEGER *num;
	struct stat st;
	int64_t next = 0;
	size_t len;
	BIO *b;

	env_new(&v, false);
	crt = cpt_path(&v.e, "ca.crt");
	key = cpt_path(&v.e, "ca.key");
	leaf = cpt_path(&v.e, "leaf.crt");
	write_pem(crt, wr_cert, v.ca);
	write_pem(leaf, wr_cert, notca);
	write_pem(key, wr_key, k2);
	ASSERT_ERR(cp_enroll_ca_import(v.e.s, crt, key, false, "t"), SL_E_INVALID); /* other key */
	write_pem(key, wr_key, k);
	ASSERT_ERR(cp_enroll_ca_import(v.e.s, leaf, key, false, "t"), SL_E_INVALID); /* not a CA */
	ASSERT_ERR(cp_enroll_crl_write(v.e.s, 30, "t", NULL), CP_E_STATE);
	write_pem(key, wr_key, v.ca_key);
	ASSERT_OK(cp_enroll_ca_import(v.e.s, crt, key, false, "t"));
	ASSERT_ERR(cp_enroll_ca_import(v.e.s, crt, key, false, "t"), CP_E_CONFLICT);
	ASSERT_OK(cp_enroll_ca_import(v.e.s, crt, key, true, "t"));
	ASSERT_TRUE(asprintf(&crlpath, "%s/tls/%s", v.e.state, CP_ENROLL_CA_KEY) > 0);
	ASSERT_TRUE(stat(crlpath, &st) == 0 && (st.st_mode & 0777) == 0600);
	free(crlpath);

	ASSERT_OK(cp_enroll_crl_write(v.e.s, 30, "t", &next));
	ASSERT_EQ_INT(next, NOW + 30 * 86400);
	ASSERT_TRUE(asprintf(&crlpath, "%s/tls/%s", v.e.state, CP_ENROLL_CRL) > 0);
	ASSERT_OK(sl_read_file_at(AT_FDCWD, crlpath, 65536, &buf, &len));
	b = BIO_new_mem_buf(buf, (int)len);
	crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
	BIO_free(b);
	ASSERT_TRUE(crl && X509_CRL_verify(crl, v.ca_key) == 1);
	ASSERT_TRUE(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(v.ca)) == 0);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	ASSERT_EQ_INT(ASN1_INTEGER_get(num), 3); /* two imports, then this one */
	ASSERT_TRUE(!X509_CRL_get_REVOKED(crl) ||
		    sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) == 0);
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
	ASSERT_EQ_INT(audited(&v, "enroll-crl"), 3);
	ASSERT_EQ_INT(audited(&v, "enroll-ca-import"), 2);
	X509_free(notca);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
	env_clear(&v);
}

/* ---- SIGKILL during enrollment ---- */

struct enroll_audit {
	const char *id;
	int n;
	char sha[65];
};

static int find_enroll_row(const struct cp_audit_row *row, void *userdata)
{
	struct enroll_audit *a = userdata;
	const char *p;

	if (strcmp(row->action, "enroll") != 0 || strcmp(row->actor, a->id) != 0)
		return 0;
	a->n++;
	p = strstr(row->detail, "certificate sha256 ");
	ASSERT_TRUE(p);
	snprintf(a->sha, sizeof(a->sha), "%s", p + strlen("certificate sha256 "));
	return 0;
}

/*
 * Open STATE afresh, as the next process would, and check it: the database passes
 * integrity_check, token tid is either unused with no device row for id, or used by id with
 * exactly one approved device row that records the certificate hash also named by exactly
 * one "enroll" audit row; the audit chain verifies. Returns whether the token was used.
 */
static bool enroll_consistent(struct env *v, int64_t tid, const char *id)
{
	_cleanup_(cp_state_freep) struct cp_state *s = NULL;
	struct enroll_audit a = {id, 0, ""};
	sqlite3_stmt *st;
	bool used;
	int devices;

	ASSERT_OK(cp_state_open(v->e.state, &s));
	ASSERT_EQ_INT(sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st, NULL),
		      SQLITE_OK);
	ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
	ASSERT_EQ_STR((const char *)sqlite3_column_text(st, 0), "ok");
	ASSERT_EQ_INT(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);

	ASSERT_EQ_INT(sqlite3_prepare_v2(s->db,
					 "SELECT used, used_by, revoked FROM enroll_tokens WHERE id = ?1",
					 -1, &st, NULL),
		      SQLITE_OK);
	sqlite3_bind_int64(st, 1, tid);
	ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
	used = sqlite3_column_type(st, 0) != SQLITE_NULL;
	ASSERT_TRUE(sqlite3_column_type(st, 2) == SQLITE_NULL);
	if (used)
		ASSERT_EQ_STR((const char *)sqlite3_column_text(st, 1), id);
	else
		ASSERT_TRUE(sqlite3_column_type(st, 1) == SQLITE_NULL);
	sqlite3_finalize(st);

	ASSERT_EQ_INT(sqlite3_prepare_v2(s->db,
					 "SELECT state, cert_sha256 FROM devices WHERE id = ?1", -1,
					 &st, NULL),
		      SQLITE_OK);
	ASSERT_EQ_INT(sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT), SQLITE_OK);
	ASSERT_OK(cp_audit_foreach(s, find_enroll_row, &a));
	for (devices = 0; sqlite3_step(st) == SQLITE_ROW; devices++) {
		const char *sha = (const char *)sqlite3_column_text(st, 1);

		ASSERT_EQ_STR((const char *)sqlite3_column_text(st, 0), "approved");
		ASSERT_TRUE(sha && strlen(sha) == 64 && strspn(sha, "0123456789abcdef") == 64);
		ASSERT_EQ_STR(sha, a.sha);
	}
	sqlite3_finalize(st);
	/* Never the token without the device, or the device without the token. */
	ASSERT_EQ_INT(devices, used ? 1 : 0);
	ASSERT_EQ_INT(a.n, used ? 1 : 0);
	ASSERT_OK(cp_audit_verify(s, NULL, NULL));
	return used;
}

/* Fork a process that opens STATE afresh and posts body to /v1/enroll: exit 0 on 200. */
static pid_t enroll_child(struct env *v, const char *body)
{
	pid_t pid = fork();

	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		struct cp_state *s = NULL;
		char *answer = NULL;
		size_t len;

		if (cp_state_open(v->e.state, &s) < 0)
			_exit(2);
		cp_state_set_now(s, NOW);
		_exit(cp_api_enroll(s, "kill-peer", body, strlen(body), &answer, &len) == 200 ? 0
											     : 1);
	}
	return pid;
}

/* Microseconds from fork to exit of one undisturbed enrollment of a fresh token (id "calib"),
 * which must have used the token. */
static long enroll_span_us(struct env *v)
{
	EVP_PKEY *k = p256();
	const char *cns[] = {"calib", NULL};
	_cleanup_free_ char *t = NULL, *c = csr(k, NULL, cns);
	struct json_object *o = json_object_new_object();
	struct timespec a, b;
	const char *text;
	int64_t tid = 0;
	int status;
	pid_t pid;

	ASSERT_OK(cp_enroll_token_create(v->e.s, 900, NULL, NULL, "test", &t, &tid));

	json_object_object_add(o, "token", json_object_new_string(t));
	json_object_object_add(o, "csr", json_object_new_string(c));
	json_object_object_add(o, "hardware", json_object_new_string("hw"));
	text = json_object_to_json_string(o);
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid = enroll_child(v, text);
	ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_TRUE(enroll_consistent(v, tid, "calib"));
	json_object_put(o);
	EVP_PKEY_free(k);
	return (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000;
}

TEST(sigkill_during_enrollment)
{
	struct env v;
	unsigned seed = (unsigned)time(NULL);
	int killed = 0, finished = 0, enrolled = 0;
	long span_us;

	fprintf(stderr, "   seed %u\n", seed);
	srand(seed);
	env_new(&v, true);
	/* Kill after a random delay up to the time a whole enrollment takes here (at most 20 ms),
	 * so that most children die somewhere inside it whatever the machine's speed. */
	span_us = enroll_span_us(&v);
	if (span_us > 20000)
		span_us = 20000;
	fprintf(stderr, "   one enrollment takes %ld us\n", span_us);
	for (int i = 0; i < 20; i++) {
		EVP_PKEY *k = p256();
		char id[32], next[32];
		const char *cns[] = {id, NULL};
		_cleanup_free_ char *t = NULL, *t2 = NULL, *c = NULL;
		struct json_object *o = json_object_new_object();
		const char *text;
		int64_t tid = 0, tid2 = 0;
		pid_t pid;
		int status;

		snprintf(id, sizeof(id), "kill-%d", i);
		snprintf(next, sizeof(next), "next-%d", i);
		ASSERT_OK(cp_enroll_token_create(v.e.s, 900, NULL, NULL, "test", &t, &tid));
		c = csr(k, NULL, cns);
		json_object_object_add(o, "token", json_object_new_string(t));
		json_object_object_add(o, "csr", json_object_new_string(c));
		json_object_object_add(o, "hardware", json_object_new_string("hw"));
		text = json_object_to_json_string(o);
		pid = enroll_child(&v, text);
		usleep((useconds_t)(rand() % (span_us + 1)));
		kill(pid, SIGKILL);
		ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
		if (WIFSIGNALED(status)) {
			ASSERT_EQ_INT(WTERMSIG(status), SIGKILL);
			killed++;
		} else {
			ASSERT_EQ_INT(WEXITSTATUS(status), 0); /* an enrollment that ran is a 200 */
			finished++;
		}
		if (enroll_consistent(&v, tid, id))
			enrolled++;
		else
			ASSERT_TRUE(WIFSIGNALED(status));
		/* Whatever happened, the next enrollment with a new token succeeds. */
		ASSERT_OK(cp_enroll_token_create(v.e.s, 900, NULL, NULL, "test", &t2, &tid2));
		ASSERT_EQ_INT(enroll_new_key(&v, t2, next, "hw", NULL), 200);
		ASSERT_TRUE(enroll_consistent(&v, tid2, next));
		json_object_put(o);
		EVP_PKEY_free(k);
	}
	fprintf(stderr, "   %d killed, %d finished first, %d of 20 tokens used\n", killed, finished,
		enrolled);
	ASSERT_TRUE(killed > 0);
	env_clear(&v);
}

int main(void)
{
	RUN(names);
	RUN(create_needs_setup_and_valid_options);
	RUN(consume_issues_certificate_and_approves);
	RUN(single_use_expiry_revocation_forgery);
	RUN(bound_hardware_and_id);
	RUN(duplicate_identity_keeps_the_token);
	RUN(csr_checks);
	RUN(not_set_up_is_503);
	RUN(ca_import_and_crl);
	RUN(sigkill_during_enrollment);
	return 0;
}
