/* SPDX-License-Identifier: Apache-2.0 */
/* The OpenSSL 3 crypto backend: SHA-2 hashing, P-256 ECDSA and RSA-PSS verification via EVP. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto-backend.h"
#include "error.h"

struct tuf_backend_hash {
	EVP_MD_CTX *ctx;
};

struct tuf_backend_key {
	EVP_PKEY *pkey;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIGNUM *, BN_free)

/* Record a library failure and drop OpenSSL's error queue so it never leaks into later calls. */
static int openssl_error(int code, const char *what, const char *reason)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return sl_error(code, "%s: %s%s%s", what, reason, buf[0] ? ": " : "", buf);
}

static const EVP_MD *hash_md(enum tuf_hash_alg alg)
{
	switch (alg) {
	case TUF_HASH_SHA256:
		return EVP_sha256();
	case TUF_HASH_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

int tuf_backend_hash_new(enum tuf_hash_alg alg, struct tuf_backend_hash **ret)
{
	const EVP_MD *md = hash_md(alg);
	struct tuf_backend_hash *h;

	if (!md)
		return sl_error(TUF_E_UNSUPPORTED, "hash algorithm %d is not supported", (int)alg);
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, md, NULL) != 1) {
		tuf_backend_hash_free(h);
		return openssl_error(TUF_E_CRYPTO, tuf_hash_alg_name(alg), "cannot start hash");
	}
	*ret = h;
	return 0;
}

int tuf_backend_hash_update(struct tuf_backend_hash *h, const void *data, size_t len)
{
	if (EVP_DigestUpdate(h->ctx, data, len) != 1)
		return openssl_error(TUF_E_CRYPTO, "hash", "update failed");
	return 0;
}

int tuf_backend_hash_final(struct tuf_backend_hash *h, uint8_t *out)
{
	if (EVP_DigestFinal_ex(h->ctx, out, NULL) != 1)
		return openssl_error(TUF_E_CRYPTO, "hash", "final failed");
	return 0;
}

void tuf_backend_hash_free(struct tuf_backend_hash *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

/* A named-curve P-256 key with an uncompressed point; normalised DER from the point alone. */
static int ec_p256_normalise(EVP_PKEY *pkey, const char *what, uint8_t **ret_der,
			     size_t *ret_der_len)
{
	char name[64] = "", form[32] = "";
	uint8_t point[TUF_P256_POINT_LEN + 1];
	size_t point_len = 0;
	uint8_t *der;

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC)
		return sl_error(TUF_E_UNSUPPORTED, "%s: public key is not an EC key", what);
	/* RFC 5480 forbids explicit curve parameters and mbedTLS refuses them as malformed. */
	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING, form, sizeof(form),
					   NULL) != 1 ||
	    strcmp(form, OSSL_PKEY_EC_ENCODING_GROUP) != 0) {
		ERR_clear_error();
		return sl_error(TUF_E_FORMAT, "%s: curve parameters are not a named curve", what);
	}
	if (EVP_PKEY_get_group_name(pkey, name, sizeof(name), NULL) != 1 ||
	    (strcmp(name, "prime256v1") != 0 && strcmp(name, "P-256") != 0)) {
		ERR_clear_error();
		return sl_error(TUF_E_UNSUPPORTED, "%s: curve '%s' is not P-256", what,
				name[0] ? name : "(unnamed)");
	}
	/* mbedTLS cannot read compressed points: refuse them here too, both backends agree. */
	form[0] = '\0';
	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, form,
					   sizeof(form), NULL) != 1 ||
	    strcmp(form, OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) != 0) {
		ERR_clear_error();
		return sl_error(TUF_E_UNSUPPORTED, "%s: point format '%s' is not uncompressed",
				what, form);
	}
	if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
					    sizeof(point), &point_len) != 1 ||
	    point_len != TUF_P256_POINT_LEN || point[0] != 0x04)
		return openssl_error(TUF_E_FORMAT, what, "cannot read the public point");

	der = malloc(TUF_P256_SPKI_LEN);
	if (!der)
		return -ENOMEM;
	memcpy(der, TUF_P256_SPKI_PREFIX, TUF_P256_SPKI_PREFIX_LEN);
	memcpy(der + TUF_P256_SPKI_PREFIX_LEN, point, TUF_P256_POINT_LEN);
	*ret_der = der;
	*ret_der_len = TUF_P256_SPKI_LEN;
	return 0;
}

static int rsa_check(EVP_PKEY *pkey, const char *what)
{
	_cleanup_(BN_freep) BIGNUM *e = NULL;
	int bits;

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
		return sl_error(TUF_E_UNSUPPORTED, "%s: public key is not an rsaEncryption key",
				what);
	bits = EVP_PKEY_get_bits(pkey);
	if (bits < TUF_RSA_MIN_BITS || bits > TUF_RSA_MAX_BITS)
		return sl_error(TUF_E_UNSUPPORTED, "%s: modulus of %d bits is outside %d..%d", what,
				bits, TUF_RSA_MIN_BITS, TUF_RSA_MAX_BITS);
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
		return openssl_error(TUF_E_FORMAT, what, "cannot read the public exponent");
	if (!BN_is_odd(e) || BN_num_bits(e) < 2)
		return sl_error(TUF_E_FORMAT, "%s: public exponent is invalid", what);
	if (BN_num_bits(e) > TUF_RSA_MAX_EXPONENT_BITS)
		return sl_error(TUF_E_UNSUPPORTED, "%s: public exponent is longer than %d bits",
				what, TUF_RSA_MAX_EXPONENT_BITS);
	return 0;
}

static int rsa_normalise(EVP_PKEY *pkey, const char *what, uint8_t **ret_der,
			 size_t *ret_der_len)
{
	unsigned char *der = NULL;
	uint8_t *copy;
	int len;

	len = i2d_PUBKEY(pkey, &der);
	if (len <= 0)
		return openssl_error(TUF_E_CRYPTO, what, "cannot encode the public key");
	copy = malloc((size_t)len);
	if (copy)
		memcpy(copy, der, (size_t)len);
	OPENSSL_free(der);
	if (!copy)
		return -ENOMEM;
	*ret_der = copy;
	*ret_der_len = (size_t)len;
	return 0;
}

int tuf_backend_key_load(enum tuf_key_type type, const uint8_t *der, size_t der_len,
			 const char *what, struct tuf_backend_key **ret_key, uint8_t **ret_der,
			 size_t *ret_der_len)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	const unsigned char *p = der;
	struct tuf_backend_key *k;
	int r;

	pkey = d2i_PUBKEY(NULL, &p, (long)der_len);
	if (!pkey)
		return openssl_error(TUF_E_FORMAT, what, "not a DER SubjectPublicKeyInfo");
	if (p != der + der_len)
		return sl_error(TUF_E_FORMAT, "%s: %zu bytes after the SubjectPublicKeyInfo", what,
				(size_t)(der + der_len - p));

	if (type == TUF_KEY_ECDSA_P256) {
		r = ec_p256_normalise(pkey, what, ret_der, ret_der_len);
	} else {
		r = rsa_check(pkey, what);
		if (r >= 0)
			r = rsa_normalise(pkey, what, ret_der, ret_der_len);
	}
	if (r < 0)
		return r;

	k = calloc(1, sizeof(*k));
	if (!k) {
		free(*ret_der);
		return -ENOMEM;
	}
	k->pkey = TAKE_PTR(pkey);
	*ret_key = k;
	return 0;
}

/* Set up PSS with MGF1-SHA256 and salt length auto-detected from the signature. */
static int rsa_pss_params(EVP_PKEY_CTX *pctx)
{
	if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) <= 0)
		return openssl_error(TUF_E_CRYPTO, "rsa", "cannot set PSS parameters");
	return 0;
}

int tuf_backend_key_verify(struct tuf_backend_key *key, enum tuf_key_type type, const void *msg,
			   size_t msg_len, const uint8_t *sig, size_t sig_len)
{
	const char *what = type == TUF_KEY_ECDSA_P256 ? "ecdsa" : "rsassa-pss";
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int r;

	if (type == TUF_KEY_RSA_PSS_SHA256 && sig_len != (size_t)EVP_PKEY_get_size(key->pkey))
		return sl_error(TUF_E_SIGNATURE, "rsassa-pss signature is %zu bytes, not %d",
				sig_len, EVP_PKEY_get_size(key->pkey));

	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, key->pkey) != 1)
		return openssl_error(TUF_E_CRYPTO, what, "cannot start verification");
	if (type == TUF_KEY_RSA_PSS_SHA256) {
		r = rsa_pss_params(pctx);
		if (r < 0)
			return r;
	}
	/* 0 is a wrong signature, < 0 mostly a malformed one (bad DER, wrong size): both refuse. */
	r = EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len);
	ERR_clear_error();
	if (r != 1)
		return sl_error(TUF_E_SIGNATURE, "%s signature does not verify", what);
	return 0;
}

void tuf_backend_key_free(struct tuf_backend_key *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}
