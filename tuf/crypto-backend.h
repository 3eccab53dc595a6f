/* SPDX-License-Identifier: Apache-2.0 */
/* Internal interface between crypto.c and the one crypto backend (OpenSSL or mbedTLS) built. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tuf/crypto.h"

/*
 * Each backend (crypto-openssl.c, crypto-mbedtls.c) implements every function below; meson
 * compiles exactly one of them. Backends translate their library's errors once, here, into
 * TUF_E_SIGNATURE (a signature that does not verify or cannot be decoded), TUF_E_FORMAT (key
 * material that does not parse), TUF_E_UNSUPPORTED (a well-formed key of another algorithm,
 * curve or size than its scheme requires) and TUF_E_CRYPTO (the library itself failed), and
 * record the message with sl_error(). Ed25519 never reaches a backend (libsodium, crypto.c).
 */

/* Smallest and largest RSA modulus accepted, in bits, and the largest public exponent. */
#define TUF_RSA_MIN_BITS 2048
#define TUF_RSA_MAX_BITS 8192
#define TUF_RSA_MAX_EXPONENT_BITS 64

/* Largest signature handed to a backend, in bytes (an 8192-bit RSA signature). */
#define TUF_BACKEND_MAX_SIG 1024

/*
 * DER SubjectPublicKeyInfo of a P-256 key with the named-curve OID, up to (not including) the
 * 65-byte uncompressed point. Normalised ECDSA key material is this prefix followed by the
 * point, whatever encoding (explicit parameters, compressed point) the key arrived in.
 */
#define TUF_P256_SPKI_PREFIX                                                                       \
	"\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01" \
	"\x07\x03\x42\x00"
#define TUF_P256_SPKI_PREFIX_LEN 26
#define TUF_P256_POINT_LEN 65
#define TUF_P256_SPKI_LEN (TUF_P256_SPKI_PREFIX_LEN + TUF_P256_POINT_LEN)

/* A streaming hash context of the backend (opaque). */
struct tuf_backend_hash;

/* Start a hash of alg; *ret is owned by the caller (tuf_backend_hash_free()). */
int tuf_backend_hash_new(enum tuf_hash_alg alg, struct tuf_backend_hash **ret);
int tuf_backend_hash_update(struct tuf_backend_hash *h, const void *data, size_t len);
/* Write tuf_hash_alg_size(alg) bytes to out. Called at most once per context. */
int tuf_backend_hash_final(struct tuf_backend_hash *h, uint8_t *out);
/* Accepts NULL. */
void tuf_backend_hash_free(struct tuf_backend_hash *h);

/* A parsed public key of the backend (opaque). */
struct tuf_backend_key;

/*
 * Parse der (der_len bytes of DER SubjectPublicKeyInfo, all of them) as a key of type
 * (TUF_KEY_ECDSA_P256 or TUF_KEY_RSA_PSS_SHA256) and check it fits the type: a P-256 point,
 * or an RSA key of TUF_RSA_MIN_BITS..TUF_RSA_MAX_BITS bits. what names the key in messages.
 * On success *ret_key (tuf_backend_key_free()) and the normalised DER of the key (malloc'd,
 * caller frees) in *ret_der and *ret_der_len: two encodings of the same key normalise to the
 * same bytes on every backend.
 */
int tuf_backend_key_load(enum tuf_key_type type, const uint8_t *der, size_t der_len,
			 const char *what, struct tuf_backend_key **ret_key, uint8_t **ret_der,
			 size_t *ret_der_len);

/*
 * Verify sig (1..TUF_BACKEND_MAX_SIG bytes) over msg with a key loaded for type: ECDSA with
 * SHA-256 and a DER ECDSA-Sig-Value, or RSASSA-PSS with SHA-256, MGF1-SHA256 and any salt
 * length (the signature must be exactly the modulus size). 0 when valid, TUF_E_SIGNATURE
 * when not, TUF_E_CRYPTO when the library failed.
 */
int tuf_backend_key_verify(struct tuf_backend_key *key, enum tuf_key_type type, const void *msg,
			   size_t msg_len, const uint8_t *sig, size_t sig_len);

/* Accepts NULL. */
void tuf_backend_key_free(struct tuf_backend_key *key);
