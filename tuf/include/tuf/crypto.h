/* SPDX-License-Identifier: Apache-2.0 */
/* Hashes, public keys and signature verification, over a configure-time crypto backend. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

enum tuf_hash_alg {
	TUF_HASH_SHA256,
	TUF_HASH_SHA512,
};

#define TUF_HASH_MAX_SIZE 64

/* Map "sha256"/"sha512" to an algorithm; TUF_E_UNSUPPORTED for any other name. */
int tuf_hash_alg_from_name(const char *name, enum tuf_hash_alg *ret);
const char *tuf_hash_alg_name(enum tuf_hash_alg alg);
size_t tuf_hash_alg_size(enum tuf_hash_alg alg);

/* Streaming hash context (opaque). */
struct tuf_hash;

int tuf_hash_new(enum tuf_hash_alg alg, struct tuf_hash **ret);
int tuf_hash_update(struct tuf_hash *h, const void *data, size_t len);
/* Write the digest (tuf_hash_alg_size() bytes) to out; the context cannot be updated after. */
int tuf_hash_final(struct tuf_hash *h, uint8_t out[TUF_HASH_MAX_SIZE]);
/* Accepts NULL, returns NULL. */
struct tuf_hash *tuf_hash_free(struct tuf_hash *h);

/* One-shot helpers. */
int tuf_hash_buf(enum tuf_hash_alg alg, const void *data, size_t len, uint8_t out[TUF_HASH_MAX_SIZE]);
/* Lower-case hex SHA-256 of data into ret (65 bytes). */
int tuf_sha256_hex(const void *data, size_t len, char ret[65]);

enum tuf_key_type {
	TUF_KEY_ED25519,
	TUF_KEY_ECDSA_P256,
	TUF_KEY_RSA_PSS_SHA256,
};

/* A verified-format public key (opaque). */
struct tuf_key;

/*
 * Build a key from its TUF JSON form {"keytype", "scheme", "keyval": {"public"}}:
 *  - keytype "ed25519", scheme "ed25519": 64 hex characters;
 *  - keytype "ecdsa" or "ecdsa-sha2-nistp256", scheme "ecdsa-sha2-nistp256": PEM
 *    SubjectPublicKeyInfo of a P-256 key; signatures are DER ECDSA-Sig-Value;
 *  - keytype "rsa", scheme "rsassa-pss-sha256": PEM SubjectPublicKeyInfo (2048 bits or
 *    more); signatures are PSS with MGF1-SHA256 and any salt length.
 * Unknown keytype or scheme: TUF_E_UNSUPPORTED (callers treat such keys as unusable, not
 * as fatal, per the specification). Malformed key material: TUF_E_FORMAT.
 * The JSON is not kept. *ret is owned by the caller (tuf_key_free()).
 */
int tuf_key_from_json(struct json_object *keyobj, struct tuf_key **ret);

/* Accepts NULL, returns NULL. */
struct tuf_key *tuf_key_free(struct tuf_key *k);

enum tuf_key_type tuf_key_type(const struct tuf_key *k);

/*
 * True when a and b are the same public key (same type and the same normalised key
 * material: raw 32 bytes for Ed25519, DER SubjectPublicKeyInfo otherwise), whatever their
 * key ids or PEM whitespace. Thresholds count distinct keys with this.
 */
bool tuf_key_equal(const struct tuf_key *a, const struct tuf_key *b);

/*
 * Verify sig (raw bytes, already hex-decoded) over msg. Returns 0 when valid,
 * TUF_E_SIGNATURE when not (including malformed signature encodings), TUF_E_CRYPTO when the
 * library itself failed.
 */
int tuf_key_verify(const struct tuf_key *k, const void *msg, size_t msg_len, const uint8_t *sig,
		   size_t sig_len);

/* The TUF key id of a key object: lower-case hex SHA-256 of its canonical JSON. */
int tuf_keyid_compute(struct json_object *keyobj, char ret[65]);
