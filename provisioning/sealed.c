/* SPDX-License-Identifier: Apache-2.0 */
/* Sealed CA key files: Argon2id-derived key, XChaCha20-Poly1305 over the PKCS#8 DER. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "error.h"
#include "fileio.h"
#include "keyfile.h"
#include "macro.h"
#include "seal.h"
#include "sealed.h"
#include "secmem.h"
#include "tuf/crypto.h"
#include "tuf/json.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)

#define FORMAT_VERSION 1
#define KEYTYPE "ecdsa-p256"
#define KDF_ALG SL_SEAL_KDF_ALG
#define CIPHER_ALG SL_SEAL_CIPHER_ALG
#define SALT_BYTES SL_SEAL_SALT_BYTES
#define NONCE_BYTES SL_SEAL_NONCE_BYTES
#define TAG_BYTES SL_SEAL_TAG_BYTES
/* A P-256 PKCS#8 DER is about 138 bytes; anything much larger is not ours. */
#define DER_MAX 1024

struct header {
	char purpose[PROV_PURPOSE_MAX + 1];
	char public_sha256[65];
	char created[21];
	uint64_t opslimit, memlimit;
	uint8_t salt[SALT_BYTES];
	uint8_t nonce[NONCE_BYTES];
};

/* Every header member, length-prefixed, in a fixed order (all bounded: < SL_SEAL_AD_MAX). */
static void build_ad(const struct header *h, struct sl_seal_ad *ad)
{
	ad->len = 0;
	ad->prefix_bytes = 4;
	sl_seal_ad_put_str(ad, "sluice-sealed-key");
	sl_seal_ad_put_u64(ad, FORMAT_VERSION);
	sl_seal_ad_put_str(ad, KEYTYPE);
	sl_seal_ad_put_str(ad, h->purpose);
	sl_seal_ad_put_str(ad, h->public_sha256);
	sl_seal_ad_put_str(ad, h->created);
	sl_seal_ad_put_str(ad, KDF_ALG);
	sl_seal_ad_put_u64(ad, h->opslimit);
	sl_seal_ad_put_u64(ad, h->memlimit);
	sl_seal_ad_put(ad, h->salt, sizeof(h->salt));
	sl_seal_ad_put_str(ad, CIPHER_ALG);
	sl_seal_ad_put(ad, h->nonce, sizeof(h->nonce));
}

static int public_sha256(EVP_PKEY *key, char ret[static 65])
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key, &der);
	int r;

	if (n <= 0)
		return sl_error(TUF_E_CRYPTO, "cannot encode the public key");
	r = tuf_sha256_hex(der, (size_t)n, ret);
	OPENSSL_free(der);
	return r;
}

/* The PKCS#8 DER of key in secure memory. */
static int key_der(EVP_PKEY *key, uint8_t **ret, size_t *ret_len)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
	_cleanup_secure_free_ uint8_t *der = NULL;
	unsigned char *p;
	int n;

	if (!p8)
		return sl_error(TUF_E_CRYPTO, "cannot encode the private key");
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL);
	if (n <= 0 || n > DER_MAX || !(der = sl_secure_alloc((size_t)n))) {
		PKCS8_PRIV_KEY_INFO_free(p8);
		return sl_error(TUF_E_CRYPTO, "cannot encode the private key");
	}
	p = der;
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, &p);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (n <= 0)
		return sl_error(TUF_E_CRYPTO, "cannot encode the private key");
	*ret = TAKE_PTR(der);
	*ret_len = (size_t)n;
	return 0;
}

static int add(struct json_object *o, const char *k, struct json_object *v)
{
	if (!v || json_object_object_add(o, k, v) < 0) {
		json_object_put(v);
		return sl_error(SL_E_NOMEM, "out of memory");
	}
	return 0;
}

static struct json_object *hex_string(const uint8_t *bin, size_t n)
{
	_cleanup_free_ char *hex = malloc(2 * n + 1);

	if (!hex)
		return NULL;
	sl_hex_encode(bin, n, hex);
	return json_object_new_string(hex);
}

static int to_json(const struct header *h, const uint8_t *ct, size_t ct_len,
		   struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *doc = json_object_new_object();
	struct json_object *kdf = json_object_new_object(), *cipher = json_object_new_object();
	int r;

	if (!doc || !kdf || !cipher) {
		json_object_put(kdf);
		json_object_put(cipher);
		return sl_error(SL_E_NOMEM, "out of memory");
	}
	r = add(doc, "kdf", kdf);
	if (r < 0) {
		json_object_put(cipher);
		return r;
	}
	r = add(doc, "cipher", cipher);
	if (r >= 0)
		r = add(doc, "sluice_sealed_key", json_object_new_int(FORMAT_VERSION));
	if (r >= 0)
		r = add(doc, "keytype", json_object_new_string(KEYTYPE));
	if (r >= 0)
		r = add(doc, "purpose", json_object_new_string(h->purpose));
	if (r >= 0)
		r = add(doc, "public_sha256", json_object_new_string(h->public_sha256));
	if (r >= 0)
		r = add(doc, "created", json_object_new_string(h->created));
	if (r >= 0)
		r = add(kdf, "alg", json_object_new_string(KDF_ALG));
	if (r >= 0)
		r = add(kdf, "opslimit", json_object_new_int64((int64_t)h->opslimit));
	if (r >= 0)
		r = add(kdf, "memlimit", json_object_new_int64((int64_t)h->memlimit));
	if (r >= 0)
		r = add(kdf, "salt", hex_string(h->salt, sizeof(h->salt)));
	if (r >= 0)
		r = add(cipher, "alg", json_object_new_string(CIPHER_ALG));
	if (r >= 0)
		r = add(cipher, "nonce", hex_string(h->nonce, sizeof(h->nonce)));
	if (r >= 0)
		r = add(cipher, "ciphertext", hex_string(ct, ct_len));
	if (r < 0)
		return r;
	*ret = TAKE_PTR(doc);
	return 0;
}

int prov_sealed_key_write(const char *path, const char *purpose, EVP_PKEY *key,
			  const char *passphrase, size_t pass_len, uint64_t opslimit,
			  uint64_t memlimit)
{
	struct header h = {0};
	struct sl_seal_kdf kdf;
	_cleanup_secure_free_ uint8_t *der = NULL;
	_cleanup_free_ uint8_t *ct = NULL;
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	_cleanup_free_ char *text = NULL;
	struct sl_seal_ad ad;
	size_t der_len = 0;
	struct stat st;
	const char *s;
	int r;

	if (!purpose || strlen(purpose) < 1 || strlen(purpose) > PROV_PURPOSE_MAX)
		return sl_error(SL_E_INVALID, "invalid sealed key purpose");
	if (pass_len < 1 || pass_len > CER_PASSPHRASE_MAX)
		return sl_error(SL_E_INVALID, "%s: passphrase must be 1 to %d bytes", path,
				CER_PASSPHRASE_MAX);
	h.opslimit = opslimit ? opslimit : crypto_pwhash_OPSLIMIT_SENSITIVE;
	h.memlimit = memlimit ? memlimit : crypto_pwhash_MEMLIMIT_SENSITIVE;
	r = sl_seal_kdf_check(path, h.opslimit, h.memlimit, 0);
	if (r < 0)
		return r;
	if (lstat(path, &st) == 0)
		return sl_error(-EEXIST, "%s: already exists, refusing to overwrite", path);
	r = sl_secmem_init();
	if (r < 0)
		return r;
	snprintf(h.purpose, sizeof(h.purpose), "%s", purpose);
	tuf_json_format_time((int64_t)time(NULL), h.created);
	r = public_sha256(key, h.public_sha256);
	if (r >= 0)
		r = key_der(key, &der, &der_len);
	if (r < 0)
		return r;
	randombytes_buf(h.salt, sizeof(h.salt));
	randombytes_buf(h.nonce, sizeof(h.nonce));
	ct = malloc(der_len + TAG_BYTES);
	if (!ct)
		return sl_error(SL_E_NOMEM, "out of memory");
	build_ad(&h, &ad);
	kdf = (struct sl_seal_kdf){h.opslimit, h.memlimit, h.salt};
	r = sl_seal_encrypt(passphrase, pass_len, &kdf, h.nonce, ad.buf, ad.len, der, der_len, ct);
	if (r < 0)
		return r;
	r = to_json(&h, ct, der_len + TAG_BYTES, &doc);
	if (r < 0)
		return r;
	s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || asprintf(&text, "%s\n", s) < 0)
		return sl_error(SL_E_NOMEM, "out of memory");
	return sl_seal_write_file(path, text, strlen(text));
}

/* A string member copied into ret (size bytes): TUF_E_FORMAT when missing or too long. */
static int get_str(struct json_object *o, const char *key, const char *name, char *ret, size_t size)
{
	const char *s;
	int r = tuf_json_get_string(o, key, &s);

	if (r < 0)
		return sl_error(r, "%s: %s", name, sl_error_message(r));
	if (strlen(s) >= size)
		return sl_error(TUF_E_FORMAT, "%s: \"%s\" is too long", name, key);
	memcpy(ret, s, strlen(s) + 1);
	return 0;
}

static int get_hex(struct json_object *o, const char *key, const char *name, uint8_t *bin, size_t n)
{
	const char *s;
	int r = tuf_json_get_string(o, key, &s);

	if (r < 0)
		return sl_error(r, "%s: %s", name, sl_error_message(r));
	if (strlen(s) != 2 * n || sl_hex_decode(s, 2 * n, bin, n) != (int)n)
		return sl_error(TUF_E_FORMAT, "%s: \"%s\" must be %zu hex bytes", name, key, n);
	return 0;
}

static int get_u64(struct json_object *o, const char *key, const char *name, uint64_t *ret)
{
	int64_t v;
	int r = tuf_json_get_int(o, key, 0, &v);

	if (r < 0)
		return sl_error(r, "%s: %s", name, sl_error_message(r));
	*ret = (uint64_t)v;
	return 0;
}

static int expect_str(struct json_object *o, const char *key, const char *want, const char *name)
{
	const char *s;
	int r = tuf_json_get_string(o, key, &s);

	if (r < 0)
		return sl_error(r, "%s: %s", name, sl_error_message(r));
	if (strcmp(s, want) != 0)
		return sl_error(TUF_E_UNSUPPORTED, "%s: %s \"%.32s\" is not supported", name, key,
				s);
	return 0;
}

static int count_members(struct json_object *o, int n, const char *what, const char *name)
{
	if (json_object_object_length(o) != n)
		return sl_error(TUF_E_FORMAT, "%s: %s must have exactly %d members", name, what, n);
	return 0;
}

static int parse_header(struct json_object *doc, const char *name, struct header *h,
			const char **ret_ct)
{
	struct json_object *kdf, *cipher;
	int64_t version;
	int r;

	if (!json_object_is_type(doc, json_type_object))
		return sl_error(TUF_E_FORMAT, "%s: not a JSON object", name);
	r = tuf_json_get_int(doc, "sluice_sealed_key", 0, &version);
	if (r < 0)
		return sl_error(r, "%s: %s", name, sl_error_message(r));
	if (version != FORMAT_VERSION)
		return sl_error(TUF_E_UNSUPPORTED, "%s: sealed key version %" PRId64 " unsupported",
				name, version);
	r = count_members(doc, 7, "the file", name);
	if (r >= 0)
		r = expect_str(doc, "keytype", KEYTYPE, name);
	if (r >= 0)
		r = get_str(doc, "purpose", name, h->purpose, sizeof(h->purpose));
	if (r >= 0)
		r = get_str(doc, "public_sha256", name, h->public_sha256, sizeof(h->public_sha256));
	if (r >= 0)
		r = get_str(doc, "created", name, h->created, sizeof(h->created));
	if (r >= 0)
		r = tuf_json_get_object(doc, "kdf", &kdf);
	if (r >= 0)
		r = tuf_json_get_object(doc, "cipher", &cipher);
	if (r < 0)
		return sl_error(r, "%s: %s", name, sl_error_message(r));
	r = count_members(kdf, 4, "kdf", name);
	if (r >= 0)
		r = count_members(cipher, 3, "cipher", name);
	if (r >= 0)
		r = expect_str(kdf, "alg", KDF_ALG, name);
	if (r >= 0)
		r = get_u64(kdf, "opslimit", name, &h->opslimit);
	if (r >= 0)
		r = get_u64(kdf, "memlimit", name, &h->memlimit);
	if (r >= 0)
		r = get_hex(kdf, "salt", name, h->salt, sizeof(h->salt));
	if (r >= 0)
		r = expect_str(cipher, "alg", CIPHER_ALG, name);
	if (r >= 0)
		r = get_hex(cipher, "nonce", name, h->nonce, sizeof(h->nonce));
	if (r >= 0)
		r = tuf_json_get_string(cipher, "ciphertext", ret_ct);
	return r;
}

/* Decrypt ct_hex with the header's KDF and AD, and decode the PKCS#8 DER it holds. */
static int open_key(const struct header *h, const char *ct_hex, const char *name, const char *pass,
		    size_t pass_len, EVP_PKEY **ret)
{
	_cleanup_free_ uint8_t *ct = NULL;
	const struct sl_seal_kdf kdf = {h->opslimit, h->memlimit, h->salt};
	_cleanup_secure_free_ uint8_t *der = NULL;
	PKCS8_PRIV_KEY_INFO *p8;
	const unsigned char *p;
	struct sl_seal_ad ad;
	size_t ct_len = strlen(ct_hex) / 2;
	size_t der_len;
	EVP_PKEY *k;
	int r;

	if (strlen(ct_hex) % 2 || ct_len <= TAG_BYTES || ct_len > DER_MAX + TAG_BYTES)
		return sl_error(TUF_E_FORMAT, "%s: cipher.ciphertext has an invalid length", name);
	ct = malloc(ct_len);
	der = sl_secure_alloc(ct_len);
	if (!ct || !der)
		return sl_error(SL_E_NOMEM, "out of memory");
	if (sl_hex_decode(ct_hex, 2 * ct_len, ct, ct_len) != (int)ct_len)
		return sl_error(TUF_E_FORMAT, "%s: cipher.ciphertext is not hex", name);
	build_ad(h, &ad);
	r = sl_seal_decrypt(name, pass, pass_len, &kdf, h->nonce, ad.buf, ad.len, ct, ct_len, der);
	if (r < 0)
		return r;
	der_len = ct_len - TAG_BYTES;
	p = der;
	p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)der_len);
	k = p8 ? EVP_PKCS82PKEY(p8) : NULL;
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (!k) {
		ERR_clear_error();
		return sl_error(TUF_E_FORMAT, "%s: sealed content is not a PKCS#8 key", name);
	}
	*ret = k;
	return 0;
}

int prov_sealed_key_load_buf(const void *buf, size_t len, const char *name, const char *purpose,
			     const char *passphrase, size_t pass_len, EVP_PKEY **ret)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	struct header h = {0};
	const char *ct_hex = NULL;
	EVP_PKEY *k = NULL;
	char pub[65];
	int r;

	if (len > PROV_SEALED_MAX)
		return sl_error(SL_E_TOO_LARGE, "%s: larger than %u bytes", name, PROV_SEALED_MAX);
	r = tuf_json_parse(buf, len, 4, &doc);
	if (r < 0)
		return sl_error(r, "%s: %s", name, sl_error_message(r));
	r = parse_header(doc, name, &h, &ct_hex);
	if (r < 0)
		return r;
	if (purpose && strcmp(purpose, h.purpose) != 0)
		return sl_error(SL_E_INVALID, "%s: sealed key is for '%s', not '%s'", name,
				h.purpose, purpose);
	if (pass_len < 1 || pass_len > CER_PASSPHRASE_MAX)
		return sl_error(SL_E_INVALID, "%s: passphrase must be 1 to %d bytes", name,
				CER_PASSPHRASE_MAX);
	r = sl_seal_kdf_check(name, h.opslimit, h.memlimit, 0);
	if (r < 0)
		return r;
	r = sl_secmem_init();
	if (r < 0)
		return r;
	r = open_key(&h, ct_hex, name, passphrase, pass_len, &k);
	if (r < 0)
		return r;
	r = public_sha256(k, pub);
	if (r < 0 || strcmp(pub, h.public_sha256) != 0) {
		EVP_PKEY_free(k);
		return sl_error(CER_E_PASSPHRASE, "%s: sealed key does not match its public_sha256",
				name);
	}
	*ret = k;
	return 0;
}

int prov_sealed_key_load(const char *path, const char *purpose, const char *passphrase,
			 size_t pass_len, EVP_PKEY **ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	r = sl_read_file_at(AT_FDCWD, path, PROV_SEALED_MAX, &buf, &len);
	if (r < 0)
		return r == -ENOENT ? sl_error(r, "%s: missing", path)
		       : r > -1000  ? sl_error(r, "%s: cannot read: %s", path, strerror(-r))
				    : r;
	return prov_sealed_key_load_buf(buf, len, path, purpose, passphrase, pass_len, ret);
}
