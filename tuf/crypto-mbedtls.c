/* SPDX-License-Identifier: Apache-2.0 */
/* The mbedTLS 2.28 crypto backend: SHA-2 hashing, P-256 ECDSA and RSA-PSS verification. */
#include <string.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>

#include "crypto-backend.h"
#include "error.h"

/* Room for the DER SubjectPublicKeyInfo of the largest RSA key accepted. */
#define RSA_SPKI_MAX (TUF_RSA_MAX_BITS / 8 * 2 + 64)

struct tuf_backend_hash {
	enum tuf_hash_alg alg;
	union {
		mbedtls_sha256_context sha256;
		mbedtls_sha512_context sha512;
	};
};

struct tuf_backend_key {
	mbedtls_pk_context pk;
};

/* mbedTLS codes add a high-level and a low-level part; the low-level one is the bottom 7 bits. */
static bool mbed_out_of_memory(int r)
{
	int low = -((-r) & 0x7f);

	return r == MBEDTLS_ERR_PK_ALLOC_FAILED || r == MBEDTLS_ERR_ECP_ALLOC_FAILED ||
	       low == MBEDTLS_ERR_MPI_ALLOC_FAILED;
}

static int mbed_error(int code, const char *what, const char *reason, int r)
{
	char buf[128] = "";

	mbedtls_strerror(r, buf, sizeof(buf));
	return sl_error(code, "%s: %s: %s (-0x%04x)", what, reason, buf, (unsigned)-r);
}

int tuf_backend_hash_new(enum tuf_hash_alg alg, struct tuf_backend_hash **ret)
{
	struct tuf_backend_hash *h;
	int r;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->alg = alg;
	switch (alg) {
	case TUF_HASH_SHA256:
		mbedtls_sha256_init(&h->sha256);
		r = mbedtls_sha256_starts_ret(&h->sha256, 0);
		break;
	case TUF_HASH_SHA512:
		mbedtls_sha512_init(&h->sha512);
		r = mbedtls_sha512_starts_ret(&h->sha512, 0);
		break;
	default:
		free(h);
		return sl_error(TUF_E_UNSUPPORTED, "hash algorithm %d is not supported", (int)alg);
	}
	if (r != 0) {
		tuf_backend_hash_free(h);
		return mbed_error(TUF_E_CRYPTO, tuf_hash_alg_name(alg), "cannot start hash", r);
	}
	*ret = h;
	return 0;
}

int tuf_backend_hash_update(struct tuf_backend_hash *h, const void *data, size_t len)
{
	int r;

	if (h->alg == TUF_HASH_SHA256)
		r = mbedtls_sha256_update_ret(&h->sha256, data, len);
	else
		r = mbedtls_sha512_update_ret(&h->sha512, data, len);
	if (r != 0)
		return mbed_error(TUF_E_CRYPTO, tuf_hash_alg_name(h->alg), "update failed", r);
	return 0;
}

int tuf_backend_hash_final(struct tuf_backend_hash *h, uint8_t *out)
{
	int r;

	if (h->alg == TUF_HASH_SHA256)
		r = mbedtls_sha256_finish_ret(&h->sha256, out);
	else
		r = mbedtls_sha512_finish_ret(&h->sha512, out);
	if (r != 0)
		return mbed_error(TUF_E_CRYPTO, tuf_hash_alg_name(h->alg), "final failed", r);
	return 0;
}

void tuf_backend_hash_free(struct tuf_backend_hash *h)
{
	if (!h)
		return;
	if (h->alg == TUF_HASH_SHA256)
		mbedtls_sha256_free(&h->sha256);
	else
		mbedtls_sha512_free(&h->sha512);
	free(h);
}

/*
 * Parse errors that mean "a key this build cannot use" (unknown algorithm or curve, compressed
 * point) rather than "not a key": the OpenSSL backend parses those and refuses them by type.
 */
static bool parse_unsupported(int r)
{
	int high = -((-r) & 0xff80);

	return r == MBEDTLS_ERR_ECP_FEATURE_UNAVAILABLE || high == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG ||
	       high == MBEDTLS_ERR_PK_UNKNOWN_NAMED_CURVE ||
	       high == MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE;
}

/* A P-256 key; normalised DER from the uncompressed point, as the OpenSSL backend does. */
static int ec_p256_normalise(mbedtls_pk_context *pk, const char *what, uint8_t **ret_der,
			     size_t *ret_der_len)
{
	mbedtls_ecp_keypair *ec;
	size_t olen = 0;
	uint8_t *der;
	int r;

	if (mbedtls_pk_get_type(pk) != MBEDTLS_PK_ECKEY)
		return sl_error(TUF_E_UNSUPPORTED, "%s: public key is not an EC key", what);
	ec = mbedtls_pk_ec(*pk);
	if (ec->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
		const mbedtls_ecp_curve_info *info = mbedtls_ecp_curve_info_from_grp_id(ec->grp.id);

		return sl_error(TUF_E_UNSUPPORTED, "%s: curve '%s' is not P-256", what,
				info ? info->name : "(unnamed)");
	}

	der = malloc(TUF_P256_SPKI_LEN);
	if (!der)
		return -ENOMEM;
	memcpy(der, TUF_P256_SPKI_PREFIX, TUF_P256_SPKI_PREFIX_LEN);
	r = mbedtls_ecp_point_write_binary(&ec->grp, &ec->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen,
					   der + TUF_P256_SPKI_PREFIX_LEN, TUF_P256_POINT_LEN);
	if (r != 0 || olen != TUF_P256_POINT_LEN) {
		free(der);
		return mbed_error(TUF_E_CRYPTO, what, "cannot encode the public point", r);
	}
	*ret_der = der;
	*ret_der_len = TUF_P256_SPKI_LEN;
	return 0;
}

static int rsa_check(mbedtls_pk_context *pk, const char *what)
{
	mbedtls_mpi e;
	size_t bits, ebits;
	int r;

	if (mbedtls_pk_get_type(pk) != MBEDTLS_PK_RSA)
		return sl_error(TUF_E_UNSUPPORTED, "%s: public key is not an rsaEncryption key",
				what);
	bits = mbedtls_pk_get_bitlen(pk);
	if (bits < TUF_RSA_MIN_BITS || bits > TUF_RSA_MAX_BITS)
		return sl_error(TUF_E_UNSUPPORTED, "%s: modulus of %zu bits is outside %d..%d",
				what, bits, TUF_RSA_MIN_BITS, TUF_RSA_MAX_BITS);

	/* The parser already refused an even exponent or one below 3 (mbedtls_rsa_check_pubkey). */
	mbedtls_mpi_init(&e);
	r = mbedtls_rsa_export(mbedtls_pk_rsa(*pk), NULL, NULL, NULL, NULL, &e);
	ebits = mbedtls_mpi_bitlen(&e);
	mbedtls_mpi_free(&e);
	if (r != 0)
		return mbed_error(TUF_E_CRYPTO, what, "cannot read the public exponent", r);
	if (ebits > TUF_RSA_MAX_EXPONENT_BITS)
		return sl_error(TUF_E_UNSUPPORTED, "%s: public exponent is longer than %d bits",
				what, TUF_RSA_MAX_EXPONENT_BITS);
	return 0;
}

static int rsa_normalise(mbedtls_pk_context *pk, const char *what, uint8_t **ret_der,
			 size_t *ret_der_len)
{
	_cleanup_free_ uint8_t *buf = malloc(RSA_SPKI_MAX);
	uint8_t *der;
	int len;

	if (!buf)
		return -ENOMEM;
	/* mbedtls_pk_write_pubkey_der() writes at the end of buf and returns the length. */
	len = mbedtls_pk_write_pubkey_der(pk, buf, RSA_SPKI_MAX);
	if (len <= 0)
		return mbed_error(TUF_E_CRYPTO, what, "cannot encode the public key", len);
	der = malloc((size_t)len);
	if (!der)
		return -ENOMEM;
	memcpy(der, buf + RSA_SPKI_MAX - len, (size_t)len);
	*ret_der = der;
	*ret_der_len = (size_t)len;
	return 0;
}

int tuf_backend_key_load(enum tuf_key_type type, const uint8_t *der, size_t der_len,
			 const char *what, struct tuf_backend_key **ret_key, uint8_t **ret_der,
			 size_t *ret_der_len)
{
	_cleanup_free_ uint8_t *copy = NULL;
	struct tuf_backend_key *k;
	unsigned char *p;
	int r;

	/* mbedtls_pk_parse_subpubkey() wants a mutable cursor; give it a private copy. */
	copy = malloc(der_len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, der, der_len);

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	mbedtls_pk_init(&k->pk);
	p = copy;
	/* Not mbedtls_pk_parse_public_key(): it also takes a bare PKCS#1 key, OpenSSL does not. */
	r = mbedtls_pk_parse_subpubkey(&p, copy + der_len, &k->pk);
	if (r != 0) {
		tuf_backend_key_free(k);
		if (parse_unsupported(r))
			return mbed_error(TUF_E_UNSUPPORTED, what, "unsupported public key", r);
		return mbed_error(TUF_E_FORMAT, what, "not a DER SubjectPublicKeyInfo", r);
	}
	/* The parser stops at the end of the outer SEQUENCE and does not look beyond it. */
	if (p != copy + der_len) {
		tuf_backend_key_free(k);
		return sl_error(TUF_E_FORMAT, "%s: %zu bytes after the SubjectPublicKeyInfo", what,
				(size_t)(copy + der_len - p));
	}

	if (type == TUF_KEY_ECDSA_P256) {
		r = ec_p256_normalise(&k->pk, what, ret_der, ret_der_len);
	} else {
		r = rsa_check(&k->pk, what);
		if (r >= 0)
			r = rsa_normalise(&k->pk, what, ret_der, ret_der_len);
	}
	if (r < 0) {
		tuf_backend_key_free(k);
		return r;
	}
	*ret_key = k;
	return 0;
}

static int verify_error(const char *what, int r)
{
	if (mbed_out_of_memory(r))
		return mbed_error(TUF_E_CRYPTO, what, "verification failed", r);
	return mbed_error(TUF_E_SIGNATURE, what, "signature does not verify", r);
}

int tuf_backend_key_verify(struct tuf_backend_key *key, enum tuf_key_type type, const void *msg,
			   size_t msg_len, const uint8_t *sig, size_t sig_len)
{
	const char *what = type == TUF_KEY_ECDSA_P256 ? "ecdsa" : "rsassa-pss";
	uint8_t hash[32];
	mbedtls_rsa_context *rsa;
	int r;

	r = mbedtls_sha256_ret(msg, msg_len, hash, 0);
	if (r != 0)
		return mbed_error(TUF_E_CRYPTO, what, "cannot hash the message", r);

	if (type == TUF_KEY_ECDSA_P256) {
		r = mbedtls_pk_verify(&key->pk, MBEDTLS_MD_SHA256, hash, sizeof(hash), sig,
				      sig_len);
		return r == 0 ? 0 : verify_error(what, r);
	}

	/* The PSS verifier reads exactly the modulus size from sig. */
	rsa = mbedtls_pk_rsa(key->pk);
	if (sig_len != mbedtls_rsa_get_len(rsa))
		return sl_error(TUF_E_SIGNATURE, "rsassa-pss signature is %zu bytes, not %zu",
				sig_len, mbedtls_rsa_get_len(rsa));
	r = mbedtls_rsa_rsassa_pss_verify_ext(rsa, NULL, NULL, MBEDTLS_RSA_PUBLIC,
					      MBEDTLS_MD_SHA256, sizeof(hash), hash,
					      MBEDTLS_MD_SHA256, MBEDTLS_RSA_SALT_LEN_ANY, sig);
	return r == 0 ? 0 : verify_error(what, r);
}

void tuf_backend_key_free(struct tuf_backend_key *key)
{
	if (!key)
		return;
	mbedtls_pk_free(&key->pk);
	free(key);
}
