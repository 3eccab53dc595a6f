/* SPDX-License-Identifier: Apache-2.0 */
/* X.509 certificates, keys and CRLs for provisioning, written once on OpenSSL 3. */
#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "macro.h"
#include "secmem.h"
#include "x509.h"

#define CHAIN_MAX 16
#define DNS_NAME_MAX 253

DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free_all)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIGNUM *, BN_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_TIME *, ASN1_TIME_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_INTEGER *, ASN1_INTEGER_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_EXTENSION *, X509_EXTENSION_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(GENERAL_NAMES *, GENERAL_NAMES_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_REVOKED *, X509_REVOKED_free)

/* Translate the OpenSSL error queue into one recorded message. */
static int crypto_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "unknown error";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return sl_error(TUF_E_CRYPTO, "%s: %s", what, buf);
}

/* Refuse passphrase prompts: an encrypted PEM key is an error, never a terminal prompt. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

bool prov_id_valid(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n < 1 || n > PROV_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int prov_key_generate(EVP_PKEY **ret)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	if (!k)
		return crypto_error("cannot generate an ECDSA P-256 key");
	*ret = k;
	return 0;
}

static int set_time(ASN1_TIME *t, int64_t when)
{
	return ASN1_TIME_set(t, (time_t)when) ? 0 : crypto_error("cannot set a certificate time");
}

static int random_serial(X509 *x)
{
	uint8_t rnd[PROV_SERIAL_BYTES];
	_cleanup_(BN_freep) BIGNUM *bn = NULL;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return crypto_error("cannot draw a serial number");
	rnd[0] &= 0x7f; /* positive */
	rnd[0] |= 0x40; /* and always 16 bytes long, never zero */
	bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		return crypto_error("cannot set the serial number");
	return 0;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	_cleanup_(X509_EXTENSION_freep) X509_EXTENSION *ext = NULL;
	X509V3_CTX ctx;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext || !X509_add_ext(x, ext, -1))
		return crypto_error("cannot add a certificate extension");
	return 0;
}

static bool dns_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > DNS_NAME_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || (c == '*' && i == 0 && s[1] == '.')))
			return false;
	}
	return true;
}

static int add_gen(GENERAL_NAMES *gens, int type, const void *data, int len)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_STRING *str =
	    ASN1_STRING_type_new(type == GEN_DNS ? V_ASN1_IA5STRING : V_ASN1_OCTET_STRING);

	if (!g || !str || !ASN1_STRING_set(str, data, len)) {
		GENERAL_NAME_free(g);
		ASN1_STRING_free(str);
		return crypto_error("cannot build a subject alternative name");
	}
	GENERAL_NAME_set0_value(g, type, str);
	if (!sk_GENERAL_NAME_push(gens, g)) {
		GENERAL_NAME_free(g);
		return crypto_error("cannot build a subject alternative name");
	}
	return 0;
}

static int add_sans(X509 *x, const struct prov_cert_spec *spec)
{
	_cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	int r;

	if (!gens)
		return sl_error(SL_E_NOMEM, "out of memory");
	if (spec->n_dns + spec->n_ip == 0)
		return sl_error(SL_E_INVALID, "a server certificate needs at least one DNS name or "
					      "IP address");
	if (spec->n_dns + spec->n_ip > PROV_SAN_MAX)
		return sl_error(SL_E_INVALID, "more than %u subject alternative names",
				PROV_SAN_MAX);
	for (size_t i = 0; i < spec->n_dns; i++) {
		if (!dns_name_valid(spec->dns[i]))
			return sl_error(SL_E_INVALID, "'%s' is not a valid DNS name", spec->dns[i]);
		r = add_gen(gens, GEN_DNS, spec->dns[i], (int)strlen(spec->dns[i]));
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < spec->n_ip; i++) {
		uint8_t a[16];
		int len = 0;

		if (inet_pton(AF_INET, spec->ip[i], a) == 1)
			len = 4;
		else if (inet_pton(AF_INET6, spec->ip[i], a) == 1)
			len = 16;
		else
			return sl_error(SL_E_INVALID, "'%s' is not an IPv4 or IPv6 address",
					spec->ip[i]);
		r = add_gen(gens, GEN_IPADD, a, len);
		if (r < 0)
			return r;
	}
	if (!X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT))
		return crypto_error("cannot add the subject alternative names");
	return 0;
}

/* basicConstraints, keyUsage and extendedKeyUsage per kind. */
static int add_kind_exts(X509 *x, X509 *issuer, const struct prov_cert_spec *spec)
{
	char bc[64];
	int r;

	switch (spec->kind) {
	case PROV_CERT_ROOT_CA:
	case PROV_CERT_SUB_CA:
		if (spec->pathlen >= 0)
			snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d", spec->pathlen);
		else
			snprintf(bc, sizeof(bc), "critical,CA:TRUE");
		r = add_ext(x, issuer, NID_basic_constraints, bc);
		if (r >= 0)
			r = add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
		return r;
	case PROV_CERT_SERVER:
		r = add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		if (r >= 0)
			r = add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
		if (r >= 0)
			r = add_ext(x, issuer, NID_ext_key_usage, "serverAuth");
		if (r >= 0)
			r = add_sans(x, spec);
		return r;
	case PROV_CERT_DEVICE:
		if (!prov_id_valid(spec->common_name))
			return sl_error(SL_E_INVALID, "'%s' is not a valid device id",
					spec->common_name);
		r = add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		if (r >= 0)
			r = add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
		if (r >= 0)
			r = add_ext(x, issuer, NID_ext_key_usage, "clientAuth");
		return r;
	}
	return sl_error(SL_E_INVALID, "unknown certificate kind");
}

static int set_names(X509 *x, X509 *issuer, const char *cn)
{
	X509_NAME *name = X509_get_subject_name(x);

	if (!cn || !cn[0] || strlen(cn) > 64)
		return sl_error(SL_E_INVALID, "certificate common name must be 1 to 64 bytes");
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
					-1, 0))
		return crypto_error("cannot set the subject name");
	if (!X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name))
		return crypto_error("cannot set the issuer name");
	return 0;
}

int prov_cert_issue(const struct prov_cert_spec *spec, EVP_PKEY *subject_key, X509 *issuer_cert,
		    EVP_PKEY *issuer_key, X509 **ret)
{
	_cleanup_(X509_freep) X509 *x = NULL;
	int r;

	if (spec->not_after <= spec->not_before)
		return sl_error(SL_E_INVALID, "certificate validity ends before it starts");
	if ((spec->kind == PROV_CERT_ROOT_CA) != (issuer_cert == NULL))
		return sl_error(SL_E_INVALID, "only a root CA certificate is self-signed");
	x = X509_new();
	if (!x)
		return sl_error(SL_E_NOMEM, "out of memory");
	if (!X509_set_version(x, X509_VERSION_3) || !X509_set_pubkey(x, subject_key))
		return crypto_error("cannot build a certificate");
	r = random_serial(x);
	if (r >= 0)
		r = set_time(X509_getm_notBefore(x), spec->not_before);
	if (r >= 0)
		r = set_time(X509_getm_notAfter(x), spec->not_after);
	if (r >= 0)
		r = set_names(x, issuer_cert, spec->common_name);
	if (r >= 0)
		r = add_kind_exts(x, issuer_cert, spec);
	if (r >= 0)
		r = add_ext(x, issuer_cert, NID_subject_key_identifier, "hash");
	if (r >= 0)
		r = add_ext(x, issuer_cert, NID_authority_key_identifier, "keyid:always");
	if (r < 0)
		return r;
	if (!X509_sign(x, issuer_cert ? issuer_key : subject_key, EVP_sha256()))
		return crypto_error("cannot sign the certificate");
	*ret = TAKE_PTR(x);
	return 0;
}

/* Copy a memory BIO's contents into malloc'd (or secure, for secret) NUL-terminated memory. */
static int bio_take(BIO *bio, bool secret, char **ret, size_t *ret_len)
{
	char *data = NULL, *out;
	long n = BIO_get_mem_data(bio, &data);

	if (n <= 0)
		return crypto_error("cannot encode PEM");
	out = secret ? sl_secure_alloc((size_t)n + 1) : malloc((size_t)n + 1);
	if (!out)
		return sl_error(SL_E_NOMEM, "out of memory");
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	*ret = out;
	*ret_len = (size_t)n;
	return 0;
}

int prov_cert_pem(X509 *cert, char **ret, size_t *ret_len)
{
	_cleanup_(BIO_free_allp) BIO *bio = BIO_new(BIO_s_mem());

	if (!bio || !PEM_write_bio_X509(bio, cert))
		return crypto_error("cannot encode the certificate");
	return bio_take(bio, false, ret, ret_len);
}

int prov_key_pem(EVP_PKEY *key, char **ret, size_t *ret_len)
{
	_cleanup_(BIO_free_allp) BIO *bio = BIO_new(BIO_s_secmem());

	if (!bio || !PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
		return crypto_error("cannot encode the private key");
	return bio_take(bio, true, ret, ret_len);
}

int prov_crl_pem(X509_CRL *crl, char **ret, size_t *ret_len)
{
	_cleanup_(BIO_free_allp) BIO *bio = BIO_new(BIO_s_mem());

	if (!bio || !PEM_write_bio_X509_CRL(bio, crl))
		return crypto_error("cannot encode the CRL");
	return bio_take(bio, false, ret, ret_len);
}

static BIO *mem_bio(const void *buf, size_t len)
{
	if (len > PROV_PEM_MAX)
		return NULL;
	return BIO_new_mem_buf(buf, (int)len);
}

int prov_cert_parse(const void *buf, size_t len, const char *name, X509 **ret)
{
	_cleanup_(BIO_free_allp) BIO *bio = mem_bio(buf, len);
	X509 *x;

	if (!bio)
		return sl_error(TUF_E_FORMAT, "%s: not a PEM certificate", name);
	x = PEM_read_bio_X509(bio, NULL, no_password, NULL);
	if (!x) {
		ERR_clear_error();
		return sl_error(TUF_E_FORMAT, "%s: not a PEM certificate", name);
	}
	*ret = x;
	return 0;
}

int prov_certs_parse(const void *buf, size_t len, const char *name, STACK_OF(X509) * *ret)
{
	_cleanup_(BIO_free_allp) BIO *bio = mem_bio(buf, len);
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x;

	if (!bio || !sk) {
		sk_X509_free(sk);
		return sl_error(TUF_E_FORMAT, "%s: not a PEM certificate", name);
	}
	while ((x = PEM_read_bio_X509(bio, NULL, no_password, NULL))) {
		if (sk_X509_num(sk) >= CHAIN_MAX || !sk_X509_push(sk, x)) {
			X509_free(x);
			sk_X509_pop_free(sk, X509_free);
			return sl_error(TUF_E_FORMAT, "%s: more than %d certificates", name,
					CHAIN_MAX);
		}
	}
	ERR_clear_error();
	if (sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		return sl_error(TUF_E_FORMAT, "%s: no PEM certificate", name);
	}
	*ret = sk;
	return 0;
}

int prov_key_parse(const void *buf, size_t len, const char *name, EVP_PKEY **ret)
{
	_cleanup_(BIO_free_allp) BIO *bio = mem_bio(buf, len);
	EVP_PKEY *k;

	if (!bio)
		return sl_error(TUF_E_FORMAT, "%s: not a PEM private key", name);
	k = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	if (!k) {
		ERR_clear_error();
		return sl_error(TUF_E_FORMAT, "%s: not an unencrypted PEM private key", name);
	}
	*ret = k;
	return 0;
}

int prov_crl_parse(const void *buf, size_t len, const char *name, X509_CRL **ret)
{
	_cleanup_(BIO_free_allp) BIO *bio = mem_bio(buf, len);
	X509_CRL *c;

	if (!bio)
		return sl_error(TUF_E_FORMAT, "%s: not a PEM CRL", name);
	c = PEM_read_bio_X509_CRL(bio, NULL, no_password, NULL);
	if (!c) {
		ERR_clear_error();
		return sl_error(TUF_E_FORMAT, "%s: not a PEM CRL", name);
	}
	*ret = c;
	return 0;
}

int prov_cert_sha256(X509 *cert, char ret[static 65])
{
	uint8_t md[32];
	unsigned n = 0;
	static const char hex[] = "0123456789abcdef";

	if (!X509_digest(cert, EVP_sha256(), md, &n) || n != sizeof(md))
		return crypto_error("cannot hash the certificate");
	for (unsigned i = 0; i < n; i++) {
		ret[2 * i] = hex[md[i] >> 4];
		ret[2 * i + 1] = hex[md[i] & 15];
	}
	ret[64] = '\0';
	return 0;
}

int prov_cert_serial_hex(X509 *cert, char ret[static PROV_SERIAL_HEX_SIZE + 2])
{
	_cleanup_(BN_freep) BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *h;
	size_t n;

	if (!bn || BN_is_negative(bn))
		return sl_error(TUF_E_FORMAT, "certificate serial number is negative or invalid");
	h = BN_bn2hex(bn);
	if (!h)
		return crypto_error("cannot encode the serial number");
	n = strlen(h);
	if (n > PROV_SERIAL_HEX_SIZE + 1) {
		OPENSSL_free(h);
		return sl_error(TUF_E_FORMAT, "certificate serial number longer than %d bits",
				8 * PROV_SERIAL_BYTES);
	}
	for (size_t i = 0; i <= n; i++)
		ret[i] = (char)(h[i] >= 'A' && h[i] <= 'F' ? h[i] - 'A' + 'a' : h[i]);
	OPENSSL_free(h);
	return 0;
}

int prov_cert_common_name(X509 *cert, char *ret, size_t size)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	const ASN1_STRING *s;
	int len;

	if (i < 0)
		return sl_error(SL_E_INVALID, "certificate has no subject CN");
	if (X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0)
		return sl_error(SL_E_INVALID, "certificate has more than one subject CN");
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	len = ASN1_STRING_length(s);
	if (len < 0 || (size_t)len >= size || memchr(ASN1_STRING_get0_data(s), '\0', (size_t)len))
		return sl_error(SL_E_INVALID,
				"certificate subject CN is too long or has a NUL byte");
	memcpy(ret, ASN1_STRING_get0_data(s), (size_t)len);
	ret[len] = '\0';
	return 0;
}

static int asn1_time_epoch(const ASN1_TIME *t, int64_t *ret)
{
	struct tm tm = {0};

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return sl_error(TUF_E_FORMAT, "certificate has an invalid time");
	*ret = (int64_t)timegm(&tm);
	return 0;
}

int prov_cert_validity(X509 *cert, int64_t *ret_not_before, int64_t *ret_not_after)
{
	int64_t a, b;
	int r;

	r = asn1_time_epoch(X509_get0_notBefore(cert), &a);
	if (r >= 0)
		r = asn1_time_epoch(X509_get0_notAfter(cert), &b);
	if (r < 0)
		return r;
	*ret_not_before = a;
	*ret_not_after = b;
	return 0;
}

int prov_cert_key_match(X509 *cert, EVP_PKEY *key)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert);

	if (!pub || EVP_PKEY_eq(pub, key) != 1) {
		ERR_clear_error();
		return sl_error(SL_E_INVALID, "private key does not match the certificate");
	}
	return 0;
}

static int revoked_entry(const struct prov_revoked *rv, X509_REVOKED **ret)
{
	_cleanup_(X509_REVOKED_freep) X509_REVOKED *e = X509_REVOKED_new();
	_cleanup_(BN_freep) BIGNUM *bn = NULL;
	_cleanup_(ASN1_INTEGER_freep) ASN1_INTEGER *serial = NULL;
	_cleanup_(ASN1_TIME_freep) ASN1_TIME *t = ASN1_TIME_new();

	if (!e || !t)
		return sl_error(SL_E_NOMEM, "out of memory");
	if (!BN_hex2bn(&bn, rv->serial) || strlen(rv->serial) != (size_t)BN_num_bytes(bn) * 2 ||
	    !(serial = BN_to_ASN1_INTEGER(bn, NULL)))
		return sl_error(SL_E_INVALID, "'%s' is not a serial number", rv->serial);
	if (!ASN1_TIME_set(t, (time_t)rv->when) || !X509_REVOKED_set_serialNumber(e, serial) ||
	    !X509_REVOKED_set_revocationDate(e, t))
		return crypto_error("cannot build a CRL entry");
	if (rv->reason >= 0) {
		ASN1_ENUMERATED *en = ASN1_ENUMERATED_new();
		int ok = en && ASN1_ENUMERATED_set(en, rv->reason) &&
			 X509_REVOKED_add1_ext_i2d(e, NID_crl_reason, en, 0, 0);

		ASN1_ENUMERATED_free(en);
		if (!ok)
			return crypto_error("cannot set a revocation reason");
	}
	*ret = TAKE_PTR(e);
	return 0;
}

static int crl_extensions(X509_CRL *crl, X509 *ca_cert, uint64_t number)
{
	_cleanup_(ASN1_INTEGER_freep) ASN1_INTEGER *num = ASN1_INTEGER_new();
	_cleanup_(X509_EXTENSION_freep) X509_EXTENSION *aki = NULL;
	X509V3_CTX ctx;

	if (!num || !ASN1_INTEGER_set_uint64(num, number) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0))
		return crypto_error("cannot set the CRL number");
	X509V3_set_ctx(&ctx, ca_cert, NULL, NULL, crl, 0);
	aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	if (!aki || !X509_CRL_add_ext(crl, aki, -1))
		return crypto_error("cannot set the CRL authority key identifier");
	return 0;
}

int prov_crl_build(X509 *ca_cert, EVP_PKEY *ca_key, const struct prov_revoked *revoked,
		   size_t n_revoked, uint64_t number, int64_t this_update, int64_t next_update,
		   X509_CRL **ret)
{
	_cleanup_(X509_CRL_freep) X509_CRL *crl = X509_CRL_new();
	_cleanup_(ASN1_TIME_freep) ASN1_TIME *t1 = ASN1_TIME_new();
	_cleanup_(ASN1_TIME_freep) ASN1_TIME *t2 = ASN1_TIME_new();
	int r;

	if (!crl || !t1 || !t2)
		return sl_error(SL_E_NOMEM, "out of memory");
	if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca_cert)) ||
	    !ASN1_TIME_set(t1, (time_t)this_update) || !ASN1_TIME_set(t2, (time_t)next_update) ||
	    !X509_CRL_set1_lastUpdate(crl, t1) || !X509_CRL_set1_nextUpdate(crl, t2))
		return crypto_error("cannot build the CRL");
	for (size_t i = 0; i < n_revoked; i++) {
		X509_REVOKED *e = NULL;

		r = revoked_entry(&revoked[i], &e);
		if (r < 0)
			return r;
		if (!X509_CRL_add0_revoked(crl, e)) {
			X509_REVOKED_free(e);
			return crypto_error("cannot add a CRL entry");
		}
	}
	r = crl_extensions(crl, ca_cert, number);
	if (r < 0)
		return r;
	if (!X509_CRL_sort(crl) || !X509_CRL_sign(crl, ca_key, EVP_sha256()))
		return crypto_error("cannot sign the CRL");
	*ret = TAKE_PTR(crl);
	return 0;
}

static const struct {
	const char *name;
	int reason;
} reasons[] = {
    {"unspecified", CRL_REASON_UNSPECIFIED},
    {"keyCompromise", CRL_REASON_KEY_COMPROMISE},
    {"affiliationChanged", CRL_REASON_AFFILIATION_CHANGED},
    {"superseded", CRL_REASON_SUPERSEDED},
    {"cessationOfOperation", CRL_REASON_CESSATION_OF_OPERATION},
    {"certificateHold", CRL_REASON_CERTIFICATE_HOLD},
    {"privilegeWithdrawn", CRL_REASON_PRIVILEGE_WITHDRAWN},
};

int prov_crl_reason_from_name(const char *name, int *ret)
{
	for (size_t i = 0; i < ELEMENTSOF(reasons); i++)
		if (strcmp(reasons[i].name, name) == 0) {
			*ret = reasons[i].reason;
			return 0;
		}
	return sl_error(SL_E_INVALID,
			"'%s' is not a revocation reason (keyCompromise, "
			"superseded, cessationOfOperation, ...)",
			name);
}

const char *prov_crl_reason_name(int reason)
{
	for (size_t i = 0; i < ELEMENTSOF(reasons); i++)
		if (reasons[i].reason == reason)
			return reasons[i].name;
	return NULL;
}
