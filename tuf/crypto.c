/* SPDX-License-Identifier: Apache-2.0 */
/* Hashes, TUF public keys and signature checks: Ed25519 via libsodium, the rest via a backend. */
#include <assert.h>
#include <string.h>

#include <sodium.h>

#include "crypto-backend.h"
#include "error.h"
#include "fileio.h"
#include "tuf/crypto.h"
#include "tuf/json.h"

/* Largest PEM text accepted for an ECDSA or RSA public key, in bytes. */
#define TUF_PEM_MAX 16384

/* Sizes of an Ed25519 public key and signature (libsodium's constants, as int). */
#define ED25519_KEY_LEN 32
#define ED25519_SIG_LEN 64
#define ED25519_HEX_LEN (2 * ED25519_KEY_LEN)
_Static_assert(ED25519_KEY_LEN == crypto_sign_PUBLICKEYBYTES, "Ed25519 public key size");
_Static_assert(ED25519_SIG_LEN == crypto_sign_BYTES, "Ed25519 signature size");

static const char pem_begin[] = "-----BEGIN PUBLIC KEY-----";
static const char pem_end[] = "-----END PUBLIC KEY-----";

struct tuf_hash {
	enum tuf_hash_alg alg;
	bool finished;
	struct tuf_backend_hash *ctx;
};

struct tuf_key {
	enum tuf_key_type type;
	/* Raw 32 bytes for Ed25519, normalised DER SubjectPublicKeyInfo otherwise. */
	uint8_t *material;
	size_t material_len;
	/* Backend handle for ECDSA and RSA; NULL for Ed25519. */
	struct tuf_backend_key *backend;
};

/* One supported (keytype, scheme) pair. */
struct key_form {
	const char *keytype;
	const char *scheme;
	enum tuf_key_type type;
};

static const struct key_form key_forms[] = {
	{"ed25519", "ed25519", TUF_KEY_ED25519},
	{"ecdsa", "ecdsa-sha2-nistp256", TUF_KEY_ECDSA_P256},
	{"ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", TUF_KEY_ECDSA_P256},
	{"rsa", "rsassa-pss-sha256", TUF_KEY_RSA_PSS_SHA256},
};

int tuf_hash_alg_from_name(const char *name, enum tuf_hash_alg *ret)
{
	assert(name);
	assert(ret);

	if (strcmp(name, "sha256") == 0)
		*ret = TUF_HASH_SHA256;
	else if (strcmp(name, "sha512") == 0)
		*ret = TUF_HASH_SHA512;
	else
		return sl_error(TUF_E_UNSUPPORTED, "hash algorithm '%s' is not supported", name);
	return 0;
}

const char *tuf_hash_alg_name(enum tuf_hash_alg alg)
{
	switch (alg) {
	case TUF_HASH_SHA256:
		return "sha256";
	case TUF_HASH_SHA512:
		return "sha512";
	}
	return NULL;
}

size_t tuf_hash_alg_size(enum tuf_hash_alg alg)
{
	switch (alg) {
	case TUF_HASH_SHA256:
		return 32;
	case TUF_HASH_SHA512:
		return 64;
	}
	return 0;
}

int tuf_hash_new(enum tuf_hash_alg alg, struct tuf_hash **ret)
{
	struct tuf_hash *h;
	int r;

	assert(ret);
	if (tuf_hash_alg_size(alg) == 0)
		return sl_error(TUF_E_UNSUPPORTED, "hash algorithm %d is not supported", (int)alg);

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->alg = alg;
	r = tuf_backend_hash_new(alg, &h->ctx);
	if (r < 0) {
		free(h);
		return r;
	}
	*ret = h;
	return 0;
}

int tuf_hash_update(struct tuf_hash *h, const void *data, size_t len)
{
	assert(h);
	assert(data || len == 0);

	if (h->finished)
		return sl_error(SL_E_INVALID, "%s: hash updated after it was finished",
				tuf_hash_alg_name(h->alg));
	if (len == 0)
		return 0;
	return tuf_backend_hash_update(h->ctx, data, len);
}

int tuf_hash_final(struct tuf_hash *h, uint8_t out[TUF_HASH_MAX_SIZE])
{
	assert(h);
	assert(out);

	if (h->finished)
		return sl_error(SL_E_INVALID, "%s: hash finished twice", tuf_hash_alg_name(h->alg));
	h->finished = true;
	return tuf_backend_hash_final(h->ctx, out);
}

struct tuf_hash *tuf_hash_free(struct tuf_hash *h)
{
	if (!h)
		return NULL;
	tuf_backend_hash_free(h->ctx);
	free(h);
	return NULL;
}

int tuf_hash_buf(enum tuf_hash_alg alg, const void *data, size_t len,
		 uint8_t out[TUF_HASH_MAX_SIZE])
{
	struct tuf_hash *h = NULL;
	int r;

	r = tuf_hash_new(alg, &h);
	if (r < 0)
		return r;
	r = tuf_hash_update(h, data, len);
	if (r >= 0)
		r = tuf_hash_final(h, out);
	tuf_hash_free(h);
	return r < 0 ? r : 0;
}

int tuf_sha256_hex(const void *data, size_t len, char ret[65])
{
	uint8_t digest[TUF_HASH_MAX_SIZE];
	int r;

	r = tuf_hash_buf(TUF_HASH_SHA256, data, len, digest);
	if (r < 0)
		return r;
	sl_hex_encode(digest, 32, ret);
	return 0;
}

static bool is_pem_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Decode the PEM text of one SubjectPublicKeyInfo ("PUBLIC KEY" label, nothing but whitespace
 * around it, any line breaks inside) to DER. *ret_der is malloc'd.
 */
static int pem_decode_spki(const char *what, const char *pem, size_t len, uint8_t **ret_der,
			   size_t *ret_der_len)
{
	const char *body;
	size_t body_len, der_len = 0;
	uint8_t *der;

	while (len > 0 && is_pem_space(pem[0])) {
		pem++;
		len--;
	}
	while (len > 0 && is_pem_space(pem[len - 1]))
		len--;

	if (len < strlen(pem_begin) + strlen(pem_end) ||
	    memcmp(pem, pem_begin, strlen(pem_begin)) != 0 ||
	    memcmp(pem + len - strlen(pem_end), pem_end, strlen(pem_end)) != 0)
		return sl_error(TUF_E_FORMAT, "%s: keyval.public is not a PEM \"PUBLIC KEY\"",
				what);

	body = pem + strlen(pem_begin);
	body_len = len - strlen(pem_begin) - strlen(pem_end);
	der = malloc(body_len / 4 * 3 + 3);
	if (!der)
		return -ENOMEM;
	if (sodium_base642bin(der, body_len / 4 * 3 + 3, body, body_len, " \t\r\n", &der_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    der_len == 0) {
		free(der);
		return sl_error(TUF_E_FORMAT, "%s: keyval.public has invalid PEM base64", what);
	}
	*ret_der = der;
	*ret_der_len = der_len;
	return 0;
}

static int key_form_lookup(const char *keytype, const char *scheme, enum tuf_key_type *ret)
{
	bool known_keytype = false;

	for (size_t i = 0; i < ELEMENTSOF(key_forms); i++) {
		if (strcmp(key_forms[i].keytype, keytype) != 0)
			continue;
		known_keytype = true;
		if (strcmp(key_forms[i].scheme, scheme) == 0) {
			*ret = key_forms[i].type;
			return 0;
		}
	}
	if (known_keytype)
		return sl_error(TUF_E_UNSUPPORTED,
				"key: scheme '%s' is not supported for keytype '%s'", scheme,
				keytype);
	return sl_error(TUF_E_UNSUPPORTED, "key: keytype '%s' is not supported", keytype);
}

static int key_load_ed25519(const char *public, struct tuf_key *k)
{
	size_t len = strnlen(public, ED25519_HEX_LEN + 1);

	if (len > ED25519_HEX_LEN)
		return sl_error(TUF_E_FORMAT,
				"ed25519 key: keyval.public is longer than %d hex characters",
				ED25519_HEX_LEN);
	if (len != ED25519_HEX_LEN)
		return sl_error(TUF_E_FORMAT,
				"ed25519 key: keyval.public is %zu hex characters, not %d", len,
				ED25519_HEX_LEN);

	k->material = malloc(ED25519_KEY_LEN);
	if (!k->material)
		return -ENOMEM;
	if (sl_hex_decode(public, len, k->material, ED25519_KEY_LEN) != ED25519_KEY_LEN)
		return sl_error(TUF_E_FORMAT, "ed25519 key: keyval.public is not hex");
	k->material_len = ED25519_KEY_LEN;
	return 0;
}

static int key_load_spki(const char *public, struct tuf_key *k)
{
	const char *what = k->type == TUF_KEY_ECDSA_P256 ? "ecdsa key" : "rsa key";
	_cleanup_free_ uint8_t *der = NULL;
	size_t len, der_len = 0;
	int r;

	len = strnlen(public, TUF_PEM_MAX + 1);
	if (len > TUF_PEM_MAX)
		return sl_error(TUF_E_FORMAT, "%s: keyval.public is longer than %d bytes", what,
				TUF_PEM_MAX);
	r = pem_decode_spki(what, public, len, &der, &der_len);
	if (r < 0)
		return r;
	return tuf_backend_key_load(k->type, der, der_len, what, &k->backend, &k->material,
				    &k->material_len);
}

int tuf_key_from_json(struct json_object *keyobj, struct tuf_key **ret)
{
	struct json_object *keyval;
	const char *keytype, *scheme, *public;
	struct tuf_key *k;
	enum tuf_key_type type = TUF_KEY_ED25519;
	int r;

	assert(keyobj);
	assert(ret);

	r = tuf_json_get_string(keyobj, "keytype", &keytype);
	if (r < 0)
		return r;
	r = tuf_json_get_string(keyobj, "scheme", &scheme);
	if (r < 0)
		return r;
	/* Unknown forms first: their keyval may be shaped differently and is not ours to judge. */
	r = key_form_lookup(keytype, scheme, &type);
	if (r < 0)
		return r;
	r = tuf_json_get_object(keyobj, "keyval", &keyval);
	if (r < 0)
		return r;
	r = tuf_json_get_string(keyval, "public", &public);
	if (r < 0)
		return r;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->type = type;
	if (type == TUF_KEY_ED25519)
		r = key_load_ed25519(public, k);
	else
		r = key_load_spki(public, k);
	if (r < 0) {
		tuf_key_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

struct tuf_key *tuf_key_free(struct tuf_key *k)
{
	if (!k)
		return NULL;
	tuf_backend_key_free(k->backend);
	free(k->material);
	free(k);
	return NULL;
}

enum tuf_key_type tuf_key_type(const struct tuf_key *k)
{
	assert(k);
	return k->type;
}

bool tuf_key_equal(const struct tuf_key *a, const struct tuf_key *b)
{
	assert(a);
	assert(b);

	return a->type == b->type && a->material_len == b->material_len &&
	       memcmp(a->material, b->material, a->material_len) == 0;
}

static int verify_ed25519(const struct tuf_key *k, const void *msg, size_t msg_len,
			  const uint8_t *sig, size_t sig_len)
{
	if (sodium_init() < 0)
		return sl_error(TUF_E_CRYPTO, "ed25519: libsodium failed to initialise");
	if (sig_len != ED25519_SIG_LEN)
		return sl_error(TUF_E_SIGNATURE, "ed25519 signature is %zu bytes, not %d", sig_len,
				ED25519_SIG_LEN);
	if (crypto_sign_verify_detached(sig, msg, msg_len, k->material) != 0)
		return sl_error(TUF_E_SIGNATURE, "ed25519 signature does not verify");
	return 0;
}

int tuf_key_verify(const struct tuf_key *k, const void *msg, size_t msg_len, const uint8_t *sig,
		   size_t sig_len)
{
	assert(k);
	assert(msg || msg_len == 0);
	assert(sig || sig_len == 0);

	if (sig_len == 0 || sig_len > TUF_BACKEND_MAX_SIG)
		return sl_error(TUF_E_SIGNATURE, "signature length %zu is out of range 1..%d",
				sig_len, TUF_BACKEND_MAX_SIG);
	if (k->type == TUF_KEY_ED25519)
		return verify_ed25519(k, msg ? msg : "", msg_len, sig, sig_len);
	return tuf_backend_key_verify(k->backend, k->type, msg ? msg : "", msg_len, sig, sig_len);
}

int tuf_keyid_compute(struct json_object *keyobj, char ret[65])
{
	_cleanup_free_ char *canon = NULL;
	size_t len = 0;
	int r;

	assert(keyobj);
	assert(ret);

	r = tuf_json_canonical(keyobj, &canon, &len);
	if (r < 0)
		return r;
	return tuf_sha256_hex(canon, len, ret);
}
