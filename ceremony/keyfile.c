/* SPDX-License-Identifier: Apache-2.0 */
/* Passphrase-sealed Ed25519 key files: generation, strict reading, signing. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>
#include <sodium.h>

#include "error.h"
#include "fileio.h"
#include "keyfile.h"
#include "macro.h"
#include "seal.h"
#include "secmem.h"
#include "tuf/crypto.h"
#include "tuf/json.h"

#define KEYFILE_FORMAT 1
#define KEYFILE_MAX_DEPTH 4
#define KEYTYPE "ed25519"
#define SCHEME "ed25519"
#define KDF_ALG SL_SEAL_KDF_ALG
#define CIPHER_ALG SL_SEAL_CIPHER_ALG
#define SALT_BYTES SL_SEAL_SALT_BYTES
#define NONCE_BYTES SL_SEAL_NONCE_BYTES
#define SEED_BYTES crypto_sign_SEEDBYTES
#define SEALED_BYTES (SEED_BYTES + SL_SEAL_TAG_BYTES)
#define TIME_SIZE 21

_Static_assert(SALT_BYTES == 16, "argon2id salt is 16 bytes");
_Static_assert(NONCE_BYTES == 24, "xchacha20 nonce is 24 bytes");
_Static_assert(CER_PUBLIC_KEY_BYTES == crypto_sign_PUBLICKEYBYTES, "ed25519 public key size");
_Static_assert(CER_SIGNATURE_BYTES == crypto_sign_BYTES, "ed25519 signature size");

struct cer_key {
	uint8_t *sk; /* sodium_malloc'd crypto_sign_SECRETKEYBYTES, no access while idle */
	uint8_t pub[CER_PUBLIC_KEY_BYTES];
	char pub_hex[2 * CER_PUBLIC_KEY_BYTES + 1];
	char keyid[CER_KEYID_SIZE];
	char role[CER_ROLE_MAX + 1];
};

/* Everything in a key file except the sealed seed; the strings are borrowed. */
struct header {
	const char *role;
	const char *created;
	uint64_t opslimit;
	uint64_t memlimit;
	uint8_t pub[CER_PUBLIC_KEY_BYTES];
	char keyid[CER_KEYID_SIZE];
	uint8_t salt[SALT_BYTES];
	uint8_t nonce[NONCE_BYTES];
	uint8_t sealed[SEALED_BYTES];
};

static unsigned long kdf_runs;

unsigned long cer_keyfile_kdf_runs(void)
{
	return __atomic_load_n(&kdf_runs, __ATOMIC_RELAXED);
}

/* The TUF public key object of an Ed25519 key, members in canonical order. */
static int ed25519_key_json(const char *pub_hex, struct json_object **ret);

int cer_ed25519_keyid(const uint8_t pub[static CER_PUBLIC_KEY_BYTES],
		      char ret[static CER_KEYID_SIZE])
{
	struct json_object *key = NULL;
	char hex[2 * CER_PUBLIC_KEY_BYTES + 1];
	int r;

	/* One canonical JSON implementation: the library's, as the verifier computes key ids. */
	sl_hex_encode(pub, CER_PUBLIC_KEY_BYTES, hex);
	r = ed25519_key_json(hex, &key);
	if (r < 0)
		return r;
	r = tuf_keyid_compute(key, ret);
	json_object_put(key);
	return r;
}

static bool role_valid(const char *role)
{
	size_t n = strlen(role);

	if (n == 0 || n > CER_ROLE_MAX || role[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = role[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int passphrase_check(const char *name, const char *passphrase, size_t pass_len)
{
	if (!passphrase || pass_len == 0)
		return sl_error(SL_E_INVALID, "%s: empty passphrase", name);
	if (pass_len > CER_PASSPHRASE_MAX)
		return sl_error(SL_E_TOO_LARGE, "%s: passphrase longer than %u bytes", name,
				CER_PASSPHRASE_MAX);
	return 0;
}

/* The AEAD additional data: every header field of the key file, in a fixed order. */
static void build_ad(const struct header *h, struct sl_seal_ad *ad)
{
	ad->len = 0;
	ad->prefix_bytes = 2;
	sl_seal_ad_put_str(ad, "sluice-key");
	sl_seal_ad_put_u64(ad, KEYFILE_FORMAT);
	sl_seal_ad_put_str(ad, KEYTYPE);
	sl_seal_ad_put_str(ad, SCHEME);
	sl_seal_ad_put_str(ad, h->role);
	sl_seal_ad_put(ad, h->pub, sizeof(h->pub));
	sl_seal_ad_put_str(ad, h->keyid);
	sl_seal_ad_put_str(ad, h->created);
	sl_seal_ad_put_str(ad, KDF_ALG);
	sl_seal_ad_put_u64(ad, h->opslimit);
	sl_seal_ad_put_u64(ad, h->memlimit);
	sl_seal_ad_put(ad, h->salt, sizeof(h->salt));
	sl_seal_ad_put_str(ad, CIPHER_ALG);
	sl_seal_ad_put(ad, h->nonce, sizeof(h->nonce));
}

static int key_new(const char *role, const uint8_t *seed, struct cer_key **ret)
{
	_cleanup_free_ struct cer_key *k = NULL;
	int r;

	k = calloc(1, sizeof(*k));
	if (!k)
		return sl_error(SL_E_NOMEM, "out of memory");
	k->sk = sl_secure_alloc(crypto_sign_SECRETKEYBYTES);
	if (!k->sk)
		return sl_error(SL_E_NOMEM, "cannot allocate secure memory for the secret key");
	if (crypto_sign_seed_keypair(k->pub, k->sk, seed) != 0) {
		sl_secure_free(k->sk);
		return sl_error(TUF_E_CRYPTO, "ed25519 key derivation failed");
	}
	sodium_mprotect_noaccess(k->sk);
	sl_hex_encode(k->pub, sizeof(k->pub), k->pub_hex);
	r = cer_ed25519_keyid(k->pub, k->keyid);
	if (r < 0) {
		sl_secure_free(k->sk);
		return r;
	}
	snprintf(k->role, sizeof(k->role), "%s", role);
	*ret = TAKE_PTR(k);
	return 0;
}

struct cer_key *cer_key_free(struct cer_key *key)
{
	if (!key)
		return NULL;
	sl_secure_free(key->sk);
	sl_memzero(key, sizeof(*key));
	free(key);
	return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct cer_key *, cer_key_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)

int cer_key_sign(const struct cer_key *key, const void *msg, size_t len,
		 uint8_t sig[CER_SIGNATURE_BYTES])
{
	int r;

	assert(key);
	sodium_mprotect_readonly(key->sk);
	r = crypto_sign_detached(sig, NULL, msg, len, key->sk);
	sodium_mprotect_noaccess(key->sk);
	if (r != 0)
		return sl_error(TUF_E_CRYPTO, "ed25519 signing failed");
	return 0;
}

const char *cer_key_keyid(const struct cer_key *key)
{
	return key->keyid;
}

const char *cer_key_role(const struct cer_key *key)
{
	return key->role;
}

const uint8_t *cer_key_public(const struct cer_key *key)
{
	return key->pub;
}

const char *cer_key_public_hex(const struct cer_key *key)
{
	return key->pub_hex;
}

void cer_key_fingerprint(const struct cer_key *key, char buf[static CER_FINGERPRINT_SIZE])
{
	cer_keyid_fingerprint(key->keyid, buf);
}

/* ---- writing ---- */

static int add_str(struct json_object *o, const char *k, const char *v)
{
	struct json_object *s = json_object_new_string(v);

	if (!s || json_object_object_add(o, k, s) < 0) {
		json_object_put(s);
		return sl_error(SL_E_NOMEM, "out of memory");
	}
	return 0;
}

static int add_int(struct json_object *o, const char *k, int64_t v)
{
	struct json_object *i = json_object_new_int64(v);

	if (!i || json_object_object_add(o, k, i) < 0) {
		json_object_put(i);
		return sl_error(SL_E_NOMEM, "out of memory");
	}
	return 0;
}

static int add_hex(struct json_object *o, const char *k, const uint8_t *bin, size_t n)
{
	char hex[2 * SEALED_BYTES + 1];

	assert(n <= SEALED_BYTES);
	sl_hex_encode(bin, n, hex);
	return add_str(o, k, hex);
}

static int add_obj(struct json_object *o, const char *k, struct json_object **ret)
{
	struct json_object *c = json_object_new_object();

	if (!c || json_object_object_add(o, k, c) < 0) {
		json_object_put(c);
		return sl_error(SL_E_NOMEM, "out of memory");
	}
	*ret = c;
	return 0;
}

static int ed25519_key_json(const char *pub_hex, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *keyval = NULL;

	if (!o)
		return sl_error(SL_E_NOMEM, "out of memory");
	if (add_str(o, "keytype", KEYTYPE) < 0 || add_obj(o, "keyval", &keyval) < 0 ||
	    add_str(keyval, "public", pub_hex) < 0 || add_str(o, "scheme", SCHEME) < 0)
		return SL_E_NOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

int cer_key_public_json(const struct cer_key *key, struct json_object **ret)
{
	return ed25519_key_json(key->pub_hex, ret);
}

static int header_to_json(const struct header *h, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *kdf = NULL, *cipher = NULL;

	if (!o)
		return sl_error(SL_E_NOMEM, "out of memory");
	if (add_int(o, "sluice_key", KEYFILE_FORMAT) < 0 || add_str(o, "keytype", KEYTYPE) < 0 ||
	    add_str(o, "scheme", SCHEME) < 0 || add_str(o, "role", h->role) < 0 ||
	    add_hex(o, "public", h->pub, sizeof(h->pub)) < 0 || add_str(o, "keyid", h->keyid) < 0 ||
	    add_str(o, "created", h->created) < 0 || add_obj(o, "kdf", &kdf) < 0 ||
	    add_str(kdf, "alg", KDF_ALG) < 0 ||
	    add_int(kdf, "opslimit", (int64_t)h->opslimit) < 0 ||
	    add_int(kdf, "memlimit", (int64_t)h->memlimit) < 0 ||
	    add_hex(kdf, "salt", h->salt, sizeof(h->salt)) < 0 ||
	    add_obj(o, "cipher", &cipher) < 0 || add_str(cipher, "alg", CIPHER_ALG) < 0 ||
	    add_hex(cipher, "nonce", h->nonce, sizeof(h->nonce)) < 0 ||
	    add_hex(cipher, "ciphertext", h->sealed, sizeof(h->sealed)) < 0)
		return SL_E_NOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

static int seal_and_write(struct header *h, const uint8_t *seed, const char *passphrase,
			  size_t pass_len, const char *out_path)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	_cleanup_free_ char *text = NULL;
	const struct sl_seal_kdf kdf = {h->opslimit, h->memlimit, h->salt};
	struct sl_seal_ad ad;
	const char *s;
	int r;

	randombytes_buf(h->salt, sizeof(h->salt));
	randombytes_buf(h->nonce, sizeof(h->nonce));
	build_ad(h, &ad);
	__atomic_add_fetch(&kdf_runs, 1, __ATOMIC_RELAXED);
	r = sl_seal_encrypt(passphrase, pass_len, &kdf, h->nonce, ad.buf, ad.len, seed, SEED_BYTES,
			    h->sealed);
	if (r < 0)
		return r;
	r = header_to_json(h, &doc);
	if (r < 0)
		return r;
	s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || asprintf(&text, "%s\n", s) < 0)
		return sl_error(SL_E_NOMEM, "out of memory");
	return sl_seal_write_file(out_path, text, strlen(text));
}

int cer_keyfile_generate(const char *role, const char *passphrase, size_t pass_len,
			 uint64_t opslimit, uint64_t memlimit, unsigned flags, const char *out_path,
			 struct cer_key **ret_key)
{
	_cleanup_secure_free_ uint8_t *seed = NULL;
	_cleanup_(cer_key_freep) struct cer_key *key = NULL;
	struct header h = {.role = role};
	char created[TIME_SIZE];
	struct stat st;
	int r;

	assert(role && out_path);
	if (!role_valid(role))
		return sl_error(SL_E_INVALID,
				"role name '%s' is not 1-%d characters of "
				"[A-Za-z0-9._-] not starting with '.'",
				role, CER_ROLE_MAX);
	r = passphrase_check(out_path, passphrase, pass_len);
	if (r < 0)
		return r;
	h.opslimit = opslimit ? opslimit : crypto_pwhash_OPSLIMIT_SENSITIVE;
	h.memlimit = memlimit ? memlimit : crypto_pwhash_MEMLIMIT_SENSITIVE;
	r = sl_seal_kdf_check(out_path, h.opslimit, h.memlimit, flags);
	if (r < 0)
		return r;
	/* Fail early, before the slow KDF; O_EXCL at the end is what actually guarantees it. */
	if (lstat(out_path, &st) == 0)
		return sl_error(-EEXIST, "%s: already exists, refusing to overwrite", out_path);
	r = sl_secmem_init();
	if (r < 0)
		return r;

	seed = sl_secure_alloc(SEED_BYTES);
	if (!seed)
		return sl_error(SL_E_NOMEM, "cannot allocate secure memory for the seed");
	randombytes_buf(seed, SEED_BYTES);
	r = key_new(role, seed, &key);
	if (r < 0)
		return r;
	memcpy(h.pub, key->pub, sizeof(h.pub));
	memcpy(h.keyid, key->keyid, sizeof(h.keyid));
	tuf_json_format_time((int64_t)time(NULL), created);
	h.created = created;

	r = seal_and_write(&h, seed, passphrase, pass_len, out_path);
	if (r < 0)
		return r;
	if (ret_key)
		*ret_key = TAKE_PTR(key);
	return 0;
}

/* ---- reading ---- */

/* Prefix the message recorded for r with the file name (copied first: they share a buffer). */
static int error_in(int r, const char *name)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s", sl_error_message(r));
	return sl_error(r, "%s: %s", name, msg);
}

/* A member that must be exactly 2*n lower-case hex digits, decoded into bin. */
static int get_hex(struct json_object *o, const char *name, const char *key, uint8_t *bin, size_t n,
		   const char **ret_str)
{
	const char *s;
	int r;

	r = tuf_json_get_string(o, key, &s);
	if (r < 0)
		return error_in(r, name);
	if (strlen(s) != 2 * n || strspn(s, "0123456789abcdef") != 2 * n ||
	    sl_hex_decode(s, 2 * n, bin, n) != (int)n)
		return sl_error(TUF_E_FORMAT, "%s: '%s' must be %zu lower-case hex digits", name,
				key, 2 * n);
	if (ret_str)
		*ret_str = s;
	return 0;
}

static int get_str(struct json_object *o, const char *name, const char *key, const char **ret)
{
	int r = tuf_json_get_string(o, key, ret);

	return r < 0 ? error_in(r, name) : 0;
}

static int get_int(struct json_object *o, const char *name, const char *key, int64_t *ret)
{
	int r = tuf_json_get_int(o, key, 0, ret);

	return r < 0 ? error_in(r, name) : 0;
}

static int get_obj(struct json_object *o, const char *name, const char *key,
		   struct json_object **ret)
{
	int r = tuf_json_get_object(o, key, ret);

	return r < 0 ? error_in(r, name) : 0;
}

/* Refuse members outside allowed (a NULL-terminated list): they would not be authenticated. */
static int only_members(struct json_object *o, const char *name, const char *where,
			const char *const *allowed)
{
	json_object_object_foreach(o, k, v)
	{
		bool found = false;

		(void)v;
		for (const char *const *a = allowed; *a && !found; a++)
			found = strcmp(*a, k) == 0;
		if (!found)
			return sl_error(TUF_E_FORMAT, "%s: unknown member '%s' in %s", name, k,
					where);
	}
	return 0;
}

static int expect_str(struct json_object *o, const char *name, const char *key, const char *want)
{
	const char *s;
	int r;

	r = get_str(o, name, key, &s);
	if (r < 0)
		return r;
	if (strcmp(s, want) != 0)
		return sl_error(TUF_E_UNSUPPORTED, "%s: %s '%s' is not supported (only '%s')", name,
				key, s, want);
	return 0;
}

static int parse_kdf(struct json_object *doc, const char *name, unsigned flags, struct header *h)
{
	static const char *const members[] = {"alg", "opslimit", "memlimit", "salt", NULL};
	struct json_object *kdf;
	int64_t ops, mem;
	int r;

	r = get_obj(doc, name, "kdf", &kdf);
	if (r < 0)
		return r;
	r = only_members(kdf, name, "kdf", members);
	if (r < 0)
		return r;
	r = expect_str(kdf, name, "alg", KDF_ALG);
	if (r < 0)
		return r;
	r = get_int(kdf, name, "opslimit", &ops);
	if (r < 0)
		return r;
	r = get_int(kdf, name, "memlimit", &mem);
	if (r < 0)
		return r;
	h->opslimit = (uint64_t)ops;
	h->memlimit = (uint64_t)mem;
	r = sl_seal_kdf_check(name, h->opslimit, h->memlimit, flags);
	if (r < 0)
		return r;
	return get_hex(kdf, name, "salt", h->salt, sizeof(h->salt), NULL);
}

static int parse_cipher(struct json_object *doc, const char *name, struct header *h)
{
	static const char *const members[] = {"alg", "nonce", "ciphertext", NULL};
	struct json_object *cipher;
	int r;

	r = get_obj(doc, name, "cipher", &cipher);
	if (r < 0)
		return r;
	r = only_members(cipher, name, "cipher", members);
	if (r < 0)
		return r;
	r = expect_str(cipher, name, "alg", CIPHER_ALG);
	if (r < 0)
		return r;
	r = get_hex(cipher, name, "nonce", h->nonce, sizeof(h->nonce), NULL);
	if (r < 0)
		return r;
	return get_hex(cipher, name, "ciphertext", h->sealed, sizeof(h->sealed), NULL);
}

static int parse_identity(struct json_object *doc, const char *name, struct header *h)
{
	const char *keyid;
	int64_t version, t;
	int r;

	r = get_int(doc, name, "sluice_key", &version);
	if (r < 0)
		return r;
	if (version != KEYFILE_FORMAT)
		return sl_error(TUF_E_UNSUPPORTED,
				"%s: key file format %" PRId64 " is not supported (only %d)", name,
				version, KEYFILE_FORMAT);
	r = expect_str(doc, name, "keytype", KEYTYPE);
	if (r < 0)
		return r;
	r = expect_str(doc, name, "scheme", SCHEME);
	if (r < 0)
		return r;
	r = get_str(doc, name, "role", &h->role);
	if (r < 0)
		return r;
	if (!role_valid(h->role))
		return sl_error(TUF_E_FORMAT, "%s: invalid role name", name);
	r = get_hex(doc, name, "public", h->pub, sizeof(h->pub), NULL);
	if (r < 0)
		return r;
	r = get_str(doc, name, "keyid", &keyid);
	if (r < 0)
		return r;
	r = cer_ed25519_keyid(h->pub, h->keyid);
	if (r < 0)
		return r;
	if (strcmp(keyid, h->keyid) != 0)
		return sl_error(TUF_E_FORMAT, "%s: keyid does not match the public key", name);
	r = get_str(doc, name, "created", &h->created);
	if (r < 0)
		return r;
	if (strlen(h->created) != TIME_SIZE - 1 || tuf_json_parse_time(h->created, &t) < 0)
		return sl_error(TUF_E_FORMAT, "%s: 'created' is not YYYY-MM-DDTHH:MM:SSZ", name);
	return 0;
}

/* Everything but the secret: all checks that need no KDF run here, in order. */
static int parse_header(struct json_object *doc, const char *name, unsigned flags, struct header *h)
{
	static const char *const members[] = {"sluice_key", "keytype", "scheme", "role",   "public",
					      "keyid",	    "created", "kdf",	 "cipher", NULL};
	int r;

	if (!json_object_is_type(doc, json_type_object))
		return sl_error(TUF_E_FORMAT, "%s: not a JSON object", name);
	r = only_members(doc, name, "the key file", members);
	if (r < 0)
		return r;
	r = parse_identity(doc, name, h);
	if (r < 0)
		return r;
	r = parse_kdf(doc, name, flags, h);
	if (r < 0)
		return r;
	return parse_cipher(doc, name, h);
}

static int unseal(const struct header *h, const char *name, const char *passphrase, size_t pass_len,
		  struct cer_key **ret)
{
	const struct sl_seal_kdf kdf = {h->opslimit, h->memlimit, h->salt};
	_cleanup_secure_free_ uint8_t *seed = NULL;
	_cleanup_(cer_key_freep) struct cer_key *key = NULL;
	struct sl_seal_ad ad;
	int r;

	seed = sl_secure_alloc(SEED_BYTES);
	if (!seed)
		return sl_error(SL_E_NOMEM, "cannot allocate secure memory for the seed");
	build_ad(h, &ad);
	__atomic_add_fetch(&kdf_runs, 1, __ATOMIC_RELAXED);
	r = sl_seal_decrypt(name, passphrase, pass_len, &kdf, h->nonce, ad.buf, ad.len, h->sealed,
			    sizeof(h->sealed), seed);
	if (r < 0)
		return r;
	r = key_new(h->role, seed, &key);
	if (r < 0)
		return r;
	if (sodium_memcmp(key->pub, h->pub, sizeof(h->pub)) != 0)
		return sl_error(CER_E_PASSPHRASE,
				"%s: sealed key does not match its public key "
				"(tampered key file)",
				name);
	*ret = TAKE_PTR(key);
	return 0;
}

int cer_keyfile_load_buf(const void *buf, size_t len, const char *name, const char *passphrase,
			 size_t pass_len, unsigned flags, struct cer_key **ret_key)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	struct header h = {0};
	int r;

	assert(buf && name && ret_key);
	if (len > CER_KEYFILE_MAX)
		return sl_error(SL_E_TOO_LARGE, "%s: %zu bytes exceeds the key file limit of %u",
				name, len, CER_KEYFILE_MAX);
	r = passphrase_check(name, passphrase, pass_len);
	if (r < 0)
		return r;
	r = tuf_json_parse(buf, len, KEYFILE_MAX_DEPTH, &doc);
	if (r < 0)
		return error_in(r, name);
	r = parse_header(doc, name, flags, &h);
	if (r < 0)
		return r;
	r = sl_secmem_init();
	if (r < 0)
		return r;
	return unseal(&h, name, passphrase, pass_len, ret_key);
}

int cer_keyfile_load(const char *path, const char *passphrase, size_t pass_len, unsigned flags,
		     struct cer_key **ret_key)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	assert(path && ret_key);
	r = sl_read_file_at(AT_FDCWD, path, CER_KEYFILE_MAX, &buf, &len);
	if (r == SL_E_TOO_LARGE || r == SL_E_INVALID)
		return r; /* the message names the path already */
	if (r < 0)
		return sl_error(r, "%s: cannot read the key file: %s", path, sl_strerror(r));
	return cer_keyfile_load_buf(buf, len, path, passphrase, pass_len, flags, ret_key);
}

int cer_keyfile_inspect_buf(const void *buf, size_t len, const char *name,
			    struct cer_keyfile_info *ret)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	struct header h = {0};
	int r;

	assert(buf && name && ret);
	if (len > CER_KEYFILE_MAX)
		return sl_error(SL_E_TOO_LARGE, "%s: %zu bytes exceeds the key file limit of %u",
				name, len, CER_KEYFILE_MAX);
	r = tuf_json_parse(buf, len, KEYFILE_MAX_DEPTH, &doc);
	if (r < 0)
		return error_in(r, name);
	r = parse_header(doc, name, 0, &h);
	if (r < 0)
		return r;
	*ret = (struct cer_keyfile_info){.opslimit = h.opslimit, .memlimit = h.memlimit};
	snprintf(ret->role, sizeof(ret->role), "%s", h.role);
	memcpy(ret->keyid, h.keyid, sizeof(ret->keyid));
	sl_hex_encode(h.pub, sizeof(h.pub), ret->public_hex);
	snprintf(ret->created, sizeof(ret->created), "%s", h.created);
	return 0;
}

int cer_keyfile_inspect(const char *path, struct cer_keyfile_info *ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	assert(path && ret);
	r = sl_read_file_at(AT_FDCWD, path, CER_KEYFILE_MAX, &buf, &len);
	if (r == SL_E_TOO_LARGE || r == SL_E_INVALID)
		return r;
	if (r < 0)
		return sl_error(r, "%s: cannot read the key file: %s", path, sl_strerror(r));
	return cer_keyfile_inspect_buf(buf, len, path, ret);
}

void cer_keyid_fingerprint(const char *keyid, char buf[static CER_FINGERPRINT_SIZE])
{
	size_t o = 0;

	for (size_t i = 0; i < 16 && keyid[i]; i++) {
		if (i > 0 && i % 4 == 0)
			buf[o++] = ' ';
		buf[o++] = keyid[i];
	}
	buf[o] = '\0';
}
