/* SPDX-License-Identifier: Apache-2.0 */
/* X.509 for token enrollment: the CAs in STATE/tls, CSR checks, issuing certificates, the CRL. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "enroll-pki.h"
#include "error.h"
#include "fileio.h"
#include "state.h"
#include "tuf/crypto.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_CRL *, X509_CRL_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_TIME *, ASN1_TIME_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_INTEGER *, ASN1_INTEGER_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIGNUM *, BN_free)

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return 0;
}

static int crypto_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "unknown error";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return sl_error(TUF_E_CRYPTO, "%s: %s", what, buf);
}

void cp_enroll_ca_clear(struct cp_enroll_ca *ca)
{
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	*ca = (struct cp_enroll_ca){};
}

static X509 *cert_from_pem(const void *buf, size_t len)
{
	_cleanup_(BIO_freep) BIO *b = NULL;
	X509 *x;

	if (len > INT32_MAX)
		return NULL;
	b = BIO_new_mem_buf(buf, (int)len);
	x = b ? PEM_read_bio_X509(b, NULL, no_passphrase, NULL) : NULL;
	ERR_clear_error();
	return x;
}

int cp_enroll_ca_parse(const void *crt, size_t crt_len, const void *key, size_t key_len,
		       const char *what, struct cp_enroll_ca *ret)
{
	_cleanup_(X509_freep) X509 *cert = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	_cleanup_(BIO_freep) BIO *b = NULL;

	cert = cert_from_pem(crt, crt_len);
	if (!cert)
		return sl_error(SL_E_INVALID, "%s: not a PEM certificate", what);
	if (key_len > INT32_MAX || !(b = BIO_new_mem_buf(key, (int)key_len)))
		return sl_error(SL_E_INVALID, "%s: key too large", what);
	pkey = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
	ERR_clear_error();
	if (!pkey)
		return sl_error(SL_E_INVALID, "%s: key is not an unencrypted PEM private key",
				what);
	if (X509_check_private_key(cert, pkey) != 1) {
		ERR_clear_error();
		return sl_error(SL_E_INVALID, "%s: the key does not belong to the certificate",
				what);
	}
	if (X509_check_ca(cert) < 1 || ((X509_get_extension_flags(cert) & EXFLAG_KUSAGE) &&
					!(X509_get_key_usage(cert) & KU_KEY_CERT_SIGN)))
		return sl_error(SL_E_INVALID, "%s: not a CA certificate that may sign certificates",
				what);
	ret->cert = TAKE_PTR(cert);
	ret->key = TAKE_PTR(pkey);
	return 0;
}

static int read_tls_file(struct cp_state *s, const char *name, uint8_t **ret, size_t *ret_len)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if (asprintf(&path, "%s/%s", s->tls_dir, name) < 0)
		return -ENOMEM;
	r = sl_read_file_at(AT_FDCWD, path, CP_ENROLL_PEM_MAX, ret, ret_len);
	if (r == -ENOENT)
		return cp_error(CP_E_STATE,
				"%s: missing (token enrollment is not set up; see "
				"docs/provisioning.md)",
				path);
	if (r < 0)
		return cp_error(CP_E_STATE, "%s: %s", path, sl_strerror(r));
	return 0;
}

int cp_enroll_ca_load(struct cp_state *s, struct cp_enroll_ca *ret)
{
	_cleanup_free_ uint8_t *crt = NULL, *key = NULL;
	size_t crt_len, key_len = 0;
	int r;

	r = read_tls_file(s, CP_ENROLL_CA_CRT, &crt, &crt_len);
	if (r >= 0)
		r = read_tls_file(s, CP_ENROLL_CA_KEY, &key, &key_len);
	if (r >= 0)
		r = cp_enroll_ca_parse(crt, crt_len, key, key_len, CP_ENROLL_CA_CRT, ret);
	if (key)
		sodium_memzero(key, key_len);
	if (r == SL_E_INVALID)
		return cp_error(CP_E_STATE, "%s", sl_error_message(r));
	return r;
}

static int cert_sha256(X509 *cert, char ret[static 65])
{
	unsigned char *der = NULL;
	int n = i2d_X509(cert, &der);
	int r;

	if (n <= 0)
		return crypto_error("certificate: DER encoding");
	r = tuf_sha256_hex(der, (size_t)n, ret);
	OPENSSL_free(der);
	return r;
}

static int cert_pem(X509 *cert, char **ret)
{
	_cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;

	if (!b || PEM_write_bio_X509(b, cert) != 1)
		return crypto_error("certificate: PEM encoding");
	n = BIO_get_mem_data(b, &data);
	*ret = strndup(data, (size_t)n);
	return *ret ? 0 : -ENOMEM;
}

int cp_enroll_server_ca_load(struct cp_state *s, char **ret_pem, char ret_sha256[static 65])
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_(X509_freep) X509 *cert = NULL;
	size_t len;
	int r;

	r = read_tls_file(s, CP_SERVER_CA, &buf, &len);
	if (r < 0)
		return r;
	cert = cert_from_pem(buf, len);
	if (!cert)
		return cp_error(CP_E_STATE, "%s/%s: not a PEM certificate", s->tls_dir,
				CP_SERVER_CA);
	if (X509_check_ca(cert) < 1)
		return cp_error(CP_E_STATE, "%s/%s: not a CA certificate", s->tls_dir,
				CP_SERVER_CA);
	r = cert_sha256(cert, ret_sha256);
	if (r >= 0 && ret_pem)
		r = cert_pem(cert, ret_pem);
	return r;
}

static bool key_is_p256(EVP_PKEY *key)
{
	char group[64];
	size_t n = 0;

	if (!EVP_PKEY_is_a(key, "EC"))
		return false;
	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					   &n) != 1) {
		ERR_clear_error();
		return false;
	}
	return strcmp(group, SN_X9_62_prime256v1) == 0;
}

static int csr_common_name(X509_REQ *req, char ret[static CP_ENROLL_NAME_MAX + 1])
{
	X509_NAME *name = X509_REQ_get_subject_name(req);
	X509_NAME_ENTRY *e;
	unsigned char *utf8 = NULL;
	int len;

	if (!name || X509_NAME_entry_count(name) != 1)
		return sl_error(SL_E_INVALID, "csr: the subject must be exactly one CN");
	e = X509_NAME_get_entry(name, 0);
	if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) != NID_commonName)
		return sl_error(SL_E_INVALID, "csr: the subject must be exactly one CN");
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
	if (len < 1 || len > CP_ENROLL_NAME_MAX || memchr(utf8, '\0', (size_t)len)) {
		OPENSSL_free(utf8);
		ERR_clear_error();
		return sl_error(SL_E_INVALID,
				"csr: CN must be 1 to %d characters of "
				"[A-Za-z0-9._-]",
				CP_ENROLL_NAME_MAX);
	}
	memcpy(ret, utf8, (size_t)len);
	ret[len] = '\0';
	OPENSSL_free(utf8);
	if (!cp_enroll_name_valid(ret))
		return sl_error(SL_E_INVALID,
				"csr: CN must be 1 to %d characters of "
				"[A-Za-z0-9._-]",
				CP_ENROLL_NAME_MAX);
	return 0;
}

int cp_enroll_csr_check(const void *pem, size_t len, EVP_PKEY **ret_key,
			char ret_cn[static CP_ENROLL_NAME_MAX + 1])
{
	_cleanup_(BIO_freep) BIO *b = NULL;
	_cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	int r;

	if (len > CP_ENROLL_BODY_MAX || !(b = BIO_new_mem_buf(pem, (int)len)))
		return sl_error(SL_E_INVALID, "csr: too large");
	req = PEM_read_bio_X509_REQ(b, NULL, no_passphrase, NULL);
	ERR_clear_error();
	if (!req)
		return sl_error(SL_E_INVALID, "csr: not a PEM certificate request");
	key = X509_REQ_get_pubkey(req);
	if (!key)
		return sl_error(SL_E_INVALID, "csr: no usable public key");
	if (!key_is_p256(key))
		return sl_error(SL_E_INVALID, "csr: the key is not ECDSA P-256");
	if (X509_REQ_verify(req, key) != 1) {
		ERR_clear_error();
		return sl_error(SL_E_INVALID, "csr: the signature does not verify");
	}
	r = csr_common_name(req, ret_cn);
	if (r < 0)
		return r;
	*ret_key = TAKE_PTR(key);
	return 0;
}

static int64_t asn1_unix(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

static int add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (!ext)
		return crypto_error("certificate: extension");
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : crypto_error("certificate: extension");
}

static int set_serial(X509 *cert)
{
	uint8_t raw[16];
	_cleanup_(BN_freep) BIGNUM *bn = NULL;

	randombytes_buf(raw, sizeof(raw));
	raw[0] = (raw[0] & 0x7f) | 0x40; /* positive, and always 16 bytes long */
	bn = BN_bin2bn(raw, sizeof(raw), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)))
		return crypto_error("certificate: serial");
	return 0;
}

static int fill_cert(X509 *cert, const struct cp_enroll_ca *ca, EVP_PKEY *key, const char *id,
		     int64_t now, unsigned days)
{
	int64_t not_after = now + (int64_t)days * 86400;
	int64_t ca_after = asn1_unix(X509_get0_notAfter(ca->cert));
	X509V3_CTX v3;
	int r;

	if (ca_after && ca_after < not_after)
		not_after = ca_after;
	if (not_after <= now)
		return cp_error(CP_E_STATE, "the enrollment CA has expired");
	if (X509_set_version(cert, X509_VERSION_3) != 1 ||
	    X509_set_issuer_name(cert, X509_get_subject_name(ca->cert)) != 1 ||
	    X509_NAME_add_entry_by_NID(X509_get_subject_name(cert), NID_commonName, MBSTRING_UTF8,
				       (const unsigned char *)id, -1, -1, 0) != 1 ||
	    !ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)(now - 60)) ||
	    !ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)not_after) ||
	    X509_set_pubkey(cert, key) != 1)
		return crypto_error("certificate");
	r = set_serial(cert);
	if (r < 0)
		return r;
	X509V3_set_ctx(&v3, ca->cert, cert, NULL, NULL, 0);
	if ((r = add_ext(cert, &v3, NID_basic_constraints, "critical,CA:FALSE")) < 0 ||
	    (r = add_ext(cert, &v3, NID_key_usage, "critical,digitalSignature")) < 0 ||
	    (r = add_ext(cert, &v3, NID_ext_key_usage, "clientAuth")) < 0 ||
	    (r = add_ext(cert, &v3, NID_subject_key_identifier, "hash")) < 0 ||
	    (r = add_ext(cert, &v3, NID_authority_key_identifier, "keyid:always")) < 0)
		return r;
	if (X509_sign(cert, ca->key, EVP_sha256()) <= 0)
		return crypto_error("certificate: signing");
	return 0;
}

int cp_enroll_cert_issue(const struct cp_enroll_ca *ca, EVP_PKEY *key, const char *id, int64_t now,
			 unsigned days, char **ret_pem, char ret_sha256[static 65])
{
	_cleanup_(X509_freep) X509 *cert = X509_new();
	int r;

	if (!cert)
		return -ENOMEM;
	r = fill_cert(cert, ca, key, id, now, days);
	if (r >= 0)
		r = cert_sha256(cert, ret_sha256);
	if (r >= 0)
		r = cert_pem(cert, ret_pem);
	return r;
}

static int crl_fill(X509_CRL *crl, const struct cp_enroll_ca *ca, uint64_t number, int64_t now,
		    int64_t next)
{
	_cleanup_(ASN1_TIME_freep) ASN1_TIME *t = ASN1_TIME_new();
	_cleanup_(ASN1_INTEGER_freep) ASN1_INTEGER *num = ASN1_INTEGER_new();
	X509_EXTENSION *aki;
	X509V3_CTX v3;
	int ok;

	if (!t || !num || X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) != 1 ||
	    !ASN1_TIME_set(t, (time_t)now) || X509_CRL_set1_lastUpdate(crl, t) != 1 ||
	    !ASN1_TIME_set(t, (time_t)next) || X509_CRL_set1_nextUpdate(crl, t) != 1 ||
	    ASN1_INTEGER_set_uint64(num, number) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1)
		return crypto_error("CRL");
	X509V3_set_ctx(&v3, ca->cert, NULL, NULL, crl, 0);
	aki = X509V3_EXT_conf_nid(NULL, &v3, NID_authority_key_identifier, "keyid:always");
	if (!aki)
		return crypto_error("CRL: authority key identifier");
	ok = X509_CRL_add_ext(crl, aki, -1);
	X509_EXTENSION_free(aki);
	if (ok != 1 || X509_CRL_sort(crl) != 1 || X509_CRL_sign(crl, ca->key, EVP_sha256()) <= 0)
		return crypto_error("CRL: signing");
	return 0;
}

int cp_enroll_crl_pem(const struct cp_enroll_ca *ca, uint64_t number, int64_t now, int64_t next,
		      char **ret, size_t *ret_len)
{
	_cleanup_(X509_CRL_freep) X509_CRL *crl = X509_CRL_new();
	_cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int r;

	if (!crl || !b)
		return -ENOMEM;
	r = crl_fill(crl, ca, number, now, next);
	if (r < 0)
		return r;
	if (PEM_write_bio_X509_CRL(b, crl) != 1)
		return crypto_error("CRL: PEM encoding");
	n = BIO_get_mem_data(b, &data);
	*ret = strndup(data, (size_t)n);
	if (!*ret)
		return -ENOMEM;
	*ret_len = (size_t)n;
	return 0;
}
