/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of tuf/crypto: hash answers, Ed25519 vectors, ECDSA/RSA-PSS fixtures, key ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <json-c/json.h>
#include <sodium.h>

#include "error.h"
#include "fileio.h"
#include "test.h"
#include "tuf/crypto.h"

#define FIXTURE_MAX (64 * 1024)

struct blob {
	uint8_t *data;
	size_t len;
};

static struct blob fixture(const char *name)
{
	const char *dir = getenv("SLUICE_TEST_DATA");
	char path[4096];
	struct blob b = {};

	ASSERT_TRUE(dir);
	snprintf(path, sizeof(path), "%s/crypto/%s", dir, name);
	ASSERT_OK(sl_read_file_at(AT_FDCWD, path, FIXTURE_MAX, &b.data, &b.len));
	return b;
}

static void hex_to_bin(const char *hex, uint8_t *bin, size_t len)
{
	ASSERT_EQ_INT(sl_hex_decode(hex, strlen(hex), bin, len), (int)len);
}

static struct json_object *key_json(const char *keytype, const char *scheme, const char *public)
{
	struct json_object *o = json_object_new_object(), *kv = json_object_new_object();

	if (keytype)
		json_object_object_add(o, "keytype", json_object_new_string(keytype));
	if (scheme)
		json_object_object_add(o, "scheme", json_object_new_string(scheme));
	if (public)
		json_object_object_add(kv, "public", json_object_new_string(public));
	json_object_object_add(o, "keyval", kv);
	return o;
}

/* tuf_key_from_json() on a freshly built key object; returns its code, *ret on success. */
static int load_key(const char *keytype, const char *scheme, const char *public,
		    struct tuf_key **ret)
{
	struct json_object *o = key_json(keytype, scheme, public);
	struct tuf_key *k = NULL;
	int r;

	r = tuf_key_from_json(o, &k);
	json_object_put(o);
	if (r >= 0) {
		ASSERT_TRUE(k);
		if (ret)
			*ret = k;
		else
			tuf_key_free(k);
	}
	return r;
}

static struct tuf_key *load_pem(const char *keytype, const char *scheme, const char *file)
{
	struct blob pem = fixture(file);
	struct tuf_key *k = NULL;

	ASSERT_OK(load_key(keytype, scheme, (const char *)pem.data, &k));
	free(pem.data);
	return k;
}

static int load_pem_code(const char *keytype, const char *scheme, const char *file)
{
	struct blob pem = fixture(file);
	int r = load_key(keytype, scheme, (const char *)pem.data, NULL);

	free(pem.data);
	return r;
}

static void assert_hex_digest(enum tuf_hash_alg alg, const void *data, size_t len,
			      const char *expect)
{
	uint8_t out[TUF_HASH_MAX_SIZE];
	char hex[2 * TUF_HASH_MAX_SIZE + 1];

	ASSERT_OK(tuf_hash_buf(alg, data, len, out));
	sl_hex_encode(out, tuf_hash_alg_size(alg), hex);
	ASSERT_EQ_STR(hex, expect);
}

static const char sha256_empty[] =
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char sha256_abc[] =
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char sha256_million_a[] =
	"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
static const char sha512_empty[] =
	"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	"47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
static const char sha512_abc[] =
	"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
static const char sha512_million_a[] =
	"e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
	"de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b";

TEST(hash_names)
{
	enum tuf_hash_alg alg = TUF_HASH_SHA512;

	ASSERT_OK(tuf_hash_alg_from_name("sha256", &alg));
	ASSERT_EQ_INT(alg, TUF_HASH_SHA256);
	ASSERT_OK(tuf_hash_alg_from_name("sha512", &alg));
	ASSERT_EQ_INT(alg, TUF_HASH_SHA512);
	ASSERT_ERR(tuf_hash_alg_from_name("sha384", &alg), TUF_E_UNSUPPORTED);
	ASSERT_ERR(tuf_hash_alg_from_name("SHA256", &alg), TUF_E_UNSUPPORTED);
	ASSERT_ERR(tuf_hash_alg_from_name("md5", &alg), TUF_E_UNSUPPORTED);
	ASSERT_ERR(tuf_hash_alg_from_name("", &alg), TUF_E_UNSUPPORTED);
	ASSERT_EQ_INT(alg, TUF_HASH_SHA512);
	ASSERT_EQ_STR(tuf_hash_alg_name(TUF_HASH_SHA256), "sha256");
	ASSERT_EQ_STR(tuf_hash_alg_name(TUF_HASH_SHA512), "sha512");
	ASSERT_EQ_INT(tuf_hash_alg_size(TUF_HASH_SHA256), 32);
	ASSERT_EQ_INT(tuf_hash_alg_size(TUF_HASH_SHA512), 64);
}

TEST(hash_known_answers)
{
	char hex[65];

	assert_hex_digest(TUF_HASH_SHA256, "", 0, sha256_empty);
	assert_hex_digest(TUF_HASH_SHA256, NULL, 0, sha256_empty);
	assert_hex_digest(TUF_HASH_SHA256, "abc", 3, sha256_abc);
	assert_hex_digest(TUF_HASH_SHA512, "", 0, sha512_empty);
	assert_hex_digest(TUF_HASH_SHA512, "abc", 3, sha512_abc);

	ASSERT_OK(tuf_sha256_hex("abc", 3, hex));
	ASSERT_EQ_STR(hex, sha256_abc);
	ASSERT_OK(tuf_sha256_hex("", 0, hex));
	ASSERT_EQ_STR(hex, sha256_empty);
}

/* One million 'a' fed in odd-sized chunks equals the one-shot digest and the known answer. */
static void stream_one(enum tuf_hash_alg alg, const char *expect)
{
	static const size_t chunks[] = {1, 7, 63, 64, 65, 127, 4093, 65537, 3};
	const size_t total = 1000000;
	uint8_t *data = malloc(total), one[TUF_HASH_MAX_SIZE], streamed[TUF_HASH_MAX_SIZE];
	struct tuf_hash *h = NULL;
	char hex[2 * TUF_HASH_MAX_SIZE + 1];
	size_t off = 0;

	ASSERT_TRUE(data);
	memset(data, 'a', total);
	ASSERT_OK(tuf_hash_buf(alg, data, total, one));

	ASSERT_OK(tuf_hash_new(alg, &h));
	ASSERT_OK(tuf_hash_update(h, data, 0));
	for (size_t i = 0; off < total; i++) {
		size_t n = chunks[i % ELEMENTSOF(chunks)];

		if (n > total - off)
			n = total - off;
		ASSERT_OK(tuf_hash_update(h, data + off, n));
		off += n;
	}
	ASSERT_OK(tuf_hash_final(h, streamed));
	ASSERT_EQ_MEM(one, streamed, tuf_hash_alg_size(alg));
	sl_hex_encode(streamed, tuf_hash_alg_size(alg), hex);
	ASSERT_EQ_STR(hex, expect);

	/* A finished context refuses more work. */
	ASSERT_ERR(tuf_hash_update(h, "a", 1), SL_E_INVALID);
	ASSERT_ERR(tuf_hash_final(h, streamed), SL_E_INVALID);
	ASSERT_TRUE(tuf_hash_free(h) == NULL);
	ASSERT_TRUE(tuf_hash_free(NULL) == NULL);
	free(data);
}

TEST(hash_stream)
{
	stream_one(TUF_HASH_SHA256, sha256_million_a);
	stream_one(TUF_HASH_SHA512, sha512_million_a);
}

/* RFC 8032 section 7.1, tests 1 to 3. */
static const struct {
	const char *public, *msg, *sig;
} rfc8032[] = {
	{"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
	 "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	 "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
	{"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
	 "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	 "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
	{"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
	 "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	 "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

TEST(ed25519_vectors)
{
	for (size_t i = 0; i < ELEMENTSOF(rfc8032); i++) {
		struct tuf_key *k = NULL, *flipped = NULL;
		uint8_t msg[8] = {}, sig[65], pub[32];
		size_t msg_len = strlen(rfc8032[i].msg) / 2;
		char pub_hex[65];

		hex_to_bin(rfc8032[i].msg, msg, msg_len);
		hex_to_bin(rfc8032[i].sig, sig, 64);
		ASSERT_OK(load_key("ed25519", "ed25519", rfc8032[i].public, &k));
		ASSERT_EQ_INT(tuf_key_type(k), TUF_KEY_ED25519);
		ASSERT_OK(tuf_key_verify(k, msg, msg_len, sig, 64));

		/* One flipped bit in the message, or one byte more or less of it. */
		msg[0] ^= 0x01;
		ASSERT_ERR(tuf_key_verify(k, msg, msg_len ? msg_len : 1, sig, 64),
			   TUF_E_SIGNATURE);
		msg[0] ^= 0x01;
		ASSERT_ERR(tuf_key_verify(k, msg, msg_len + 1, sig, 64), TUF_E_SIGNATURE);

		/* One flipped bit in R, in S. */
		sig[3] ^= 0x10;
		ASSERT_ERR(tuf_key_verify(k, msg, msg_len, sig, 64), TUF_E_SIGNATURE);
		sig[3] ^= 0x10;
		sig[40] ^= 0x01;
		ASSERT_ERR(tuf_key_verify(k, msg, msg_len, sig, 64), TUF_E_SIGNATURE);
		sig[40] ^= 0x01;

		/* Wrong signature lengths. */
		sig[64] = 0;
		ASSERT_ERR(tuf_key_verify(k, msg, msg_len, sig, 63), TUF_E_SIGNATURE);
		ASSERT_ERR(tuf_key_verify(k, msg, msg_len, sig, 65), TUF_E_SIGNATURE);
		ASSERT_ERR(tuf_key_verify(k, msg, msg_len, sig, 0), TUF_E_SIGNATURE);
		ASSERT_OK(tuf_key_verify(k, msg, msg_len, sig, 64));

		/* One flipped bit in the public key. */
		hex_to_bin(rfc8032[i].public, pub, 32);
		pub[7] ^= 0x04;
		sl_hex_encode(pub, 32, pub_hex);
		ASSERT_OK(load_key("ed25519", "ed25519", pub_hex, &flipped));
		ASSERT_ERR(tuf_key_verify(flipped, msg, msg_len, sig, 64), TUF_E_SIGNATURE);
		ASSERT_TRUE(!tuf_key_equal(k, flipped));

		tuf_key_free(flipped);
		tuf_key_free(k);
	}
	/* A vector's signature under another vector's key. */
	{
		struct tuf_key *k = NULL;
		uint8_t sig[64];

		hex_to_bin(rfc8032[0].sig, sig, 64);
		ASSERT_OK(load_key("ed25519", "ed25519", rfc8032[1].public, &k));
		ASSERT_ERR(tuf_key_verify(k, "", 0, sig, 64), TUF_E_SIGNATURE);
		tuf_key_free(k);
	}
}

TEST(ed25519_key_format)
{
	const char *good = rfc8032[0].public;
	char buf[128];
	struct tuf_key *a = NULL, *b = NULL;
	struct json_object *o;

	/* 63 and 65 characters, empty, one non-hex character, 66 characters. */
	snprintf(buf, sizeof(buf), "%.63s", good);
	ASSERT_ERR(load_key("ed25519", "ed25519", buf, NULL), TUF_E_FORMAT);
	snprintf(buf, sizeof(buf), "%s0", good);
	ASSERT_ERR(load_key("ed25519", "ed25519", buf, NULL), TUF_E_FORMAT);
	snprintf(buf, sizeof(buf), "%s00", good);
	ASSERT_ERR(load_key("ed25519", "ed25519", buf, NULL), TUF_E_FORMAT);
	ASSERT_ERR(load_key("ed25519", "ed25519", "", NULL), TUF_E_FORMAT);
	snprintf(buf, sizeof(buf), "%s", good);
	buf[10] = 'g';
	ASSERT_ERR(load_key("ed25519", "ed25519", buf, NULL), TUF_E_FORMAT);
	buf[10] = ' ';
	ASSERT_ERR(load_key("ed25519", "ed25519", buf, NULL), TUF_E_FORMAT);
	snprintf(buf, sizeof(buf), " %.63s", good);
	ASSERT_ERR(load_key("ed25519", "ed25519", buf, NULL), TUF_E_FORMAT);

	/* Upper-case hex is the same key. */
	snprintf(buf, sizeof(buf), "%s", good);
	for (char *c = buf; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	ASSERT_OK(load_key("ed25519", "ed25519", good, &a));
	ASSERT_OK(load_key("ed25519", "ed25519", buf, &b));
	ASSERT_TRUE(tuf_key_equal(a, b));
	tuf_key_free(b);
	tuf_key_free(a);

	/* keyval.public missing or not a string, keyval missing or not an object. */
	ASSERT_ERR(load_key("ed25519", "ed25519", NULL, NULL), TUF_E_FORMAT);
	o = key_json("ed25519", "ed25519", NULL);
	json_object_object_add(json_object_object_get(o, "keyval"), "public",
			       json_object_new_int(5));
	ASSERT_ERR(tuf_key_from_json(o, &a), TUF_E_FORMAT);
	json_object_object_add(o, "keyval", json_object_new_string(good));
	ASSERT_ERR(tuf_key_from_json(o, &a), TUF_E_FORMAT);
	json_object_object_del(o, "keyval");
	ASSERT_ERR(tuf_key_from_json(o, &a), TUF_E_FORMAT);
	json_object_put(o);

	/* Other members of keyval are ignored. */
	o = key_json("ed25519", "ed25519", good);
	json_object_object_add(json_object_object_get(o, "keyval"), "private",
			       json_object_new_string(""));
	ASSERT_OK(tuf_key_from_json(o, &a));
	tuf_key_free(a);
	json_object_put(o);
}

TEST(key_forms)
{
	struct blob p256 = fixture("ecdsa-p256.pem"), rsa = fixture("rsa2048.pem");
	const char *ed = rfc8032[0].public;
	const char *ec = (const char *)p256.data, *rs = (const char *)rsa.data;
	struct tuf_key *k = NULL;
	struct json_object *o;

	ASSERT_ERR(load_key("dsa", "dsa-sha256", ed, NULL), TUF_E_UNSUPPORTED);
	ASSERT_ERR(load_key("dsa", "ed25519", ed, NULL), TUF_E_UNSUPPORTED);
	ASSERT_ERR(load_key("ed448", "ed448", ed, NULL), TUF_E_UNSUPPORTED);
	ASSERT_ERR(load_key("ED25519", "ed25519", ed, NULL), TUF_E_UNSUPPORTED);
	ASSERT_ERR(load_key("ed25519", "ecdsa-sha2-nistp256", ed, NULL), TUF_E_UNSUPPORTED);
	ASSERT_ERR(load_key("ecdsa", "ed25519", ec, NULL), TUF_E_UNSUPPORTED);
	ASSERT_ERR(load_key("ecdsa", "ecdsa-sha2-nistp384", ec, NULL), TUF_E_UNSUPPORTED);
	ASSERT_ERR(load_key("ecdsa-sha2-nistp256", "ecdsa", ec, NULL), TUF_E_UNSUPPORTED);
	ASSERT_ERR(load_key("rsa", "rsassa-pss-sha512", rs, NULL), TUF_E_UNSUPPORTED);
	ASSERT_ERR(load_key("rsa", "rsa-pkcs1v15-sha256", rs, NULL), TUF_E_UNSUPPORTED);
	ASSERT_ERR(load_key("rsa", "ecdsa-sha2-nistp256", ec, NULL), TUF_E_UNSUPPORTED);

	/* An unsupported form is refused before its keyval is looked at. */
	ASSERT_ERR(load_key("sigstore-oidc", "Fulcio", NULL, NULL), TUF_E_UNSUPPORTED);

	/* keytype or scheme missing or not strings. */
	ASSERT_ERR(load_key(NULL, "ed25519", ed, NULL), TUF_E_FORMAT);
	ASSERT_ERR(load_key("ed25519", NULL, ed, NULL), TUF_E_FORMAT);
	o = key_json("ed25519", "ed25519", ed);
	json_object_object_add(o, "scheme", json_object_new_int(1));
	ASSERT_ERR(tuf_key_from_json(o, &k), TUF_E_FORMAT);
	json_object_put(o);

	ASSERT_OK(load_key("ecdsa", "ecdsa-sha2-nistp256", ec, &k));
	ASSERT_EQ_INT(tuf_key_type(k), TUF_KEY_ECDSA_P256);
	tuf_key_free(k);
	ASSERT_OK(load_key("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", ec, &k));
	ASSERT_EQ_INT(tuf_key_type(k), TUF_KEY_ECDSA_P256);
	tuf_key_free(k);
	ASSERT_OK(load_key("rsa", "rsassa-pss-sha256", rs, &k));
	ASSERT_EQ_INT(tuf_key_type(k), TUF_KEY_RSA_PSS_SHA256);
	ASSERT_TRUE(tuf_key_free(k) == NULL);
	ASSERT_TRUE(tuf_key_free(NULL) == NULL);

	free(p256.data);
	free(rsa.data);
}

/* Verify a fixture signature over msg.bin, then tampered copies of message and signature. */
static void check_fixture_sig(struct tuf_key *k, const char *sig_file)
{
	struct blob msg = fixture("msg.bin"), sig = fixture(sig_file);
	uint8_t *longer = malloc(sig.len + 1);

	ASSERT_TRUE(longer);
	ASSERT_OK(tuf_key_verify(k, msg.data, msg.len, sig.data, sig.len));

	msg.data[msg.len / 2] ^= 0x20;
	ASSERT_ERR(tuf_key_verify(k, msg.data, msg.len, sig.data, sig.len), TUF_E_SIGNATURE);
	msg.data[msg.len / 2] ^= 0x20;
	ASSERT_ERR(tuf_key_verify(k, msg.data, msg.len - 1, sig.data, sig.len), TUF_E_SIGNATURE);
	ASSERT_ERR(tuf_key_verify(k, "", 0, sig.data, sig.len), TUF_E_SIGNATURE);

	for (size_t i = 0; i < sig.len; i += sig.len / 5) {
		sig.data[sig.len - 1 - i] ^= 0x01;
		ASSERT_ERR(tuf_key_verify(k, msg.data, msg.len, sig.data, sig.len),
			   TUF_E_SIGNATURE);
		sig.data[sig.len - 1 - i] ^= 0x01;
	}
	ASSERT_ERR(tuf_key_verify(k, msg.data, msg.len, sig.data, sig.len - 1), TUF_E_SIGNATURE);
	memcpy(longer, sig.data, sig.len);
	longer[sig.len] = 0;
	ASSERT_ERR(tuf_key_verify(k, msg.data, msg.len, longer, sig.len + 1), TUF_E_SIGNATURE);
	ASSERT_ERR(tuf_key_verify(k, msg.data, msg.len, sig.data, 0), TUF_E_SIGNATURE);
	memset(longer, 0, sig.len);
	ASSERT_ERR(tuf_key_verify(k, msg.data, msg.len, longer, sig.len), TUF_E_SIGNATURE);
	memset(longer, 0xff, sig.len);
	ASSERT_ERR(tuf_key_verify(k, msg.data, msg.len, longer, sig.len), TUF_E_SIGNATURE);

	/* Still good after all that. */
	ASSERT_OK(tuf_key_verify(k, msg.data, msg.len, sig.data, sig.len));
	free(longer);
	free(sig.data);
	free(msg.data);
}

static void check_wrong_sig(struct tuf_key *k, const char *sig_file)
{
	struct blob msg = fixture("msg.bin"), sig = fixture(sig_file);

	ASSERT_ERR(tuf_key_verify(k, msg.data, msg.len, sig.data, sig.len), TUF_E_SIGNATURE);
	free(sig.data);
	free(msg.data);
}

TEST(ecdsa_p256)
{
	struct tuf_key *k = load_pem("ecdsa", "ecdsa-sha2-nistp256", "ecdsa-p256.pem");
	struct tuf_key *other = load_pem("ecdsa", "ecdsa-sha2-nistp256", "ecdsa-p256-other.pem");
	uint8_t big[1025] = {};

	check_fixture_sig(k, "ecdsa-p256.sig");
	check_wrong_sig(k, "ecdsa-p256-sha384.sig");
	check_wrong_sig(other, "ecdsa-p256.sig");
	check_wrong_sig(k, "rsa2048-salt32.sig");
	ASSERT_ERR(tuf_key_verify(k, "", 0, big, sizeof(big)), TUF_E_SIGNATURE);
	tuf_key_free(other);
	tuf_key_free(k);
}

TEST(ecdsa_refused)
{
	ASSERT_ERR(load_pem_code("ecdsa", "ecdsa-sha2-nistp256", "ecdsa-p384.pem"),
		   TUF_E_UNSUPPORTED);
	ASSERT_ERR(load_pem_code("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", "ecdsa-p384.pem"),
		   TUF_E_UNSUPPORTED);
	ASSERT_ERR(load_pem_code("ecdsa", "ecdsa-sha2-nistp256", "ecdsa-secp256k1.pem"),
		   TUF_E_UNSUPPORTED);
	ASSERT_ERR(load_pem_code("ecdsa", "ecdsa-sha2-nistp256", "rsa2048.pem"),
		   TUF_E_UNSUPPORTED);
	/* mbedTLS cannot read compressed points, so neither backend takes them. */
	ASSERT_ERR(load_pem_code("ecdsa", "ecdsa-sha2-nistp256", "ecdsa-p256-compressed.pem"),
		   TUF_E_UNSUPPORTED);
	/* RFC 5480 forbids explicit curve parameters; mbedTLS cannot parse them either. */
	ASSERT_ERR(load_pem_code("ecdsa", "ecdsa-sha2-nistp256", "ecdsa-p256-explicit.pem"),
		   TUF_E_FORMAT);
}

TEST(rsa_pss)
{
	static const char *const sizes[] = {"2048", "3072"};

	for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
		char pem[64], sig[64];
		struct tuf_key *k;

		snprintf(pem, sizeof(pem), "rsa%s.pem", sizes[i]);
		k = load_pem("rsa", "rsassa-pss-sha256", pem);
		snprintf(sig, sizeof(sig), "rsa%s-salt32.sig", sizes[i]);
		check_fixture_sig(k, sig);
		snprintf(sig, sizeof(sig), "rsa%s-saltmax.sig", sizes[i]);
		check_fixture_sig(k, sig);
		/* The other key's signature, and an ECDSA signature. */
		snprintf(sig, sizeof(sig), "rsa%s-saltmax.sig", sizes[1 - i]);
		check_wrong_sig(k, sig);
		check_wrong_sig(k, "ecdsa-p256.sig");
		tuf_key_free(k);
	}
	{
		struct tuf_key *k = load_pem("rsa", "rsassa-pss-sha256", "rsa2048.pem");

		/* PKCS#1 v1.5 by the same key is not PSS. */
		check_wrong_sig(k, "rsa2048-pkcs1.sig");
		tuf_key_free(k);
	}
}

TEST(rsa_refused)
{
	ASSERT_ERR(load_pem_code("rsa", "rsassa-pss-sha256", "rsa1024.pem"), TUF_E_UNSUPPORTED);
	ASSERT_ERR(load_pem_code("rsa", "rsassa-pss-sha256", "ecdsa-p256.pem"),
		   TUF_E_UNSUPPORTED);
}

/* Base64 of der framed as a PUBLIC KEY PEM, on one line; malloc'd. */
static char *pem_from_der(const uint8_t *der, size_t len, const char *label)
{
	size_t b64 = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(b64 + 128);

	ASSERT_TRUE(out);
	int n = sprintf(out, "-----BEGIN %s-----\n", label);
	sodium_bin2base64(out + n, b64, der, len, sodium_base64_VARIANT_ORIGINAL);
	sprintf(out + strlen(out), "\n-----END %s-----\n", label);
	return out;
}

/* The DER inside a fixture PEM; malloc'd. */
static uint8_t *der_of_fixture(const char *file, size_t *ret_len)
{
	struct blob pem = fixture(file);
	const char *b = strstr((char *)pem.data, "-----\n") + 6;
	const char *e = strstr(b, "-----END");
	uint8_t *der = malloc(pem.len);

	ASSERT_TRUE(der);
	ASSERT_TRUE(sodium_base642bin(der, pem.len, b, (size_t)(e - b), "\n", ret_len, NULL,
				      sodium_base64_VARIANT_ORIGINAL) == 0);
	free(pem.data);
	return der;
}

TEST(pem_format)
{
	static const char *const bad[] = {
		"",
		"hello",
		"-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n",
		"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n",
		"-----BEGIN PUBLIC KEY-----\nMFkw*wYHKoZIzj0C\n-----END PUBLIC KEY-----\n",
		"-----BEGIN PUBLIC KEY-----\nMFkwEwY\n-----END PUBLIC KEY-----\n",
		"-----BEGIN PUBLIC KEY-----\nAAAAAAAA\n-----END PUBLIC KEY-----\n",
		"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n"
		"-----END PUBLIC KEY-----\n",
	};
	struct blob p256 = fixture("ecdsa-p256.pem");
	size_t der_len = 0;
	uint8_t *der = der_of_fixture("ecdsa-p256.pem", &der_len), *longer;
	char *pem, *huge;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		ASSERT_ERR(load_key("ecdsa", "ecdsa-sha2-nistp256", bad[i], NULL), TUF_E_FORMAT);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		ASSERT_ERR(load_key("rsa", "rsassa-pss-sha256", bad[i], NULL), TUF_E_FORMAT);

	/* The good DER under another label, with text before it, with a byte after the DER. */
	pem = pem_from_der(der, der_len, "RSA PUBLIC KEY");
	ASSERT_ERR(load_key("ecdsa", "ecdsa-sha2-nistp256", pem, NULL), TUF_E_FORMAT);
	free(pem);
	pem = pem_from_der(der, der_len, "PUBLIC KEY");
	ASSERT_OK(load_key("ecdsa", "ecdsa-sha2-nistp256", pem, NULL));
	huge = malloc(strlen(pem) + 16);
	ASSERT_TRUE(huge);
	sprintf(huge, "key:\n%s", pem);
	ASSERT_ERR(load_key("ecdsa", "ecdsa-sha2-nistp256", huge, NULL), TUF_E_FORMAT);
	sprintf(huge, "%sx", pem);
	ASSERT_ERR(load_key("ecdsa", "ecdsa-sha2-nistp256", huge, NULL), TUF_E_FORMAT);
	free(huge);
	free(pem);
	longer = malloc(der_len + 1);
	ASSERT_TRUE(longer);
	memcpy(longer, der, der_len);
	longer[der_len] = 0;
	pem = pem_from_der(longer, der_len + 1, "PUBLIC KEY");
	ASSERT_ERR(load_key("ecdsa", "ecdsa-sha2-nistp256", pem, NULL), TUF_E_FORMAT);
	free(pem);
	/* A damaged point: not on the curve. */
	longer[der_len - 1] ^= 0x01;
	pem = pem_from_der(longer, der_len, "PUBLIC KEY");
	ASSERT_ERR(load_key("ecdsa", "ecdsa-sha2-nistp256", pem, NULL), TUF_E_FORMAT);
	free(pem);
	free(longer);

	/* More than 16 KiB of PEM text, even if only whitespace makes it so. */
	huge = malloc(17 * 1024 + p256.len + 1);
	ASSERT_TRUE(huge);
	memset(huge, '\n', 17 * 1024);
	memcpy(huge + 17 * 1024, p256.data, p256.len + 1);
	ASSERT_ERR(load_key("ecdsa", "ecdsa-sha2-nistp256", huge, NULL), TUF_E_FORMAT);
	memmove(huge, huge + 2 * 1024, 15 * 1024 + p256.len + 1);
	ASSERT_OK(load_key("ecdsa", "ecdsa-sha2-nistp256", huge, NULL));
	free(huge);

	free(der);
	free(p256.data);
}

/* The fixture PEM with \r\n line ends, rewrapped to 16 characters, inside whitespace. */
static char *pem_mangled(const char *file)
{
	struct blob pem = fixture(file);
	char *out = malloc(pem.len * 3 + 16), *o = out;
	size_t col = 0;
	bool in_body = false;

	ASSERT_TRUE(out);
	o += sprintf(o, " \r\n\t");
	for (size_t i = 0; i < pem.len; i++) {
		char c = (char)pem.data[i];

		if (c == '\n') {
			if (!in_body || pem.data[i + 1] == '-') {
				*o++ = '\r';
				*o++ = '\n';
				col = 0;
			}
			in_body = pem.data[i + 1] != '-';
			continue;
		}
		if (in_body && col == 16) {
			*o++ = '\r';
			*o++ = '\n';
			col = 0;
		}
		*o++ = c;
		col++;
	}
	o += sprintf(o, "\r\n  \n");
	free(pem.data);
	return out;
}

TEST(key_equal)
{
	static const char *const files[] = {"ecdsa-p256.pem", "rsa2048.pem", "rsa3072.pem"};
	struct tuf_key *ec = load_pem("ecdsa", "ecdsa-sha2-nistp256", "ecdsa-p256.pem");
	struct tuf_key *ec2 = load_pem("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256",
				       "ecdsa-p256.pem");
	struct tuf_key *ec_other = load_pem("ecdsa", "ecdsa-sha2-nistp256", "ecdsa-p256-other.pem");
	struct tuf_key *rsa = load_pem("rsa", "rsassa-pss-sha256", "rsa2048.pem");
	struct tuf_key *rsa3 = load_pem("rsa", "rsassa-pss-sha256", "rsa3072.pem");
	struct tuf_key *ed = NULL, *ed2 = NULL;

	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		const char *keytype = i == 0 ? "ecdsa" : "rsa";
		const char *scheme = i == 0 ? "ecdsa-sha2-nistp256" : "rsassa-pss-sha256";
		struct tuf_key *a = load_pem(keytype, scheme, files[i]), *b = NULL;
		char *mangled = pem_mangled(files[i]);

		ASSERT_TRUE(strstr(mangled, "\r\n"));
		ASSERT_OK(load_key(keytype, scheme, mangled, &b));
		ASSERT_TRUE(tuf_key_equal(a, b));
		ASSERT_TRUE(tuf_key_equal(b, a));
		free(mangled);
		tuf_key_free(b);
		tuf_key_free(a);
	}

	ASSERT_TRUE(tuf_key_equal(ec, ec));
	ASSERT_TRUE(tuf_key_equal(ec, ec2));
	ASSERT_TRUE(!tuf_key_equal(ec, ec_other));
	ASSERT_TRUE(!tuf_key_equal(ec, rsa));
	ASSERT_TRUE(!tuf_key_equal(rsa, rsa3));

	ASSERT_OK(load_key("ed25519", "ed25519", rfc8032[0].public, &ed));
	ASSERT_OK(load_key("ed25519", "ed25519", rfc8032[1].public, &ed2));
	ASSERT_TRUE(!tuf_key_equal(ed, ed2));
	ASSERT_TRUE(!tuf_key_equal(ed, ec));
	ASSERT_TRUE(!tuf_key_equal(rsa, ed));

	tuf_key_free(ed2);
	tuf_key_free(ed);
	tuf_key_free(rsa3);
	tuf_key_free(rsa);
	tuf_key_free(ec_other);
	tuf_key_free(ec2);
	tuf_key_free(ec);
}

TEST(keyid)
{
	struct blob b = fixture("keyids.json");
	struct json_object *all = json_tokener_parse((const char *)b.data);
	size_t n;

	ASSERT_TRUE(all && json_object_is_type(all, json_type_array));
	n = json_object_array_length(all);
	ASSERT_EQ_INT(n, 4);
	for (size_t i = 0; i < n; i++) {
		struct json_object *entry = json_object_array_get_idx(all, i);
		struct json_object *key = json_object_object_get(entry, "key");
		const char *expect = json_object_get_string(json_object_object_get(entry, "keyid"));
		struct tuf_key *k = NULL;
		char id[65];

		ASSERT_OK(tuf_keyid_compute(key, id));
		ASSERT_EQ_STR(id, expect);
		ASSERT_OK(tuf_key_from_json(key, &k));
		tuf_key_free(k);

		/* Any change to the object changes the id. */
		json_object_object_add(key, "x", json_object_new_int(1));
		ASSERT_OK(tuf_keyid_compute(key, id));
		ASSERT_TRUE(strcmp(id, expect) != 0);
	}
	json_object_put(all);
	free(b.data);
}

int main(void)
{
	RUN(hash_names);
	RUN(hash_known_answers);
	RUN(hash_stream);
	RUN(ed25519_vectors);
	RUN(ed25519_key_format);
	RUN(key_forms);
	RUN(ecdsa_p256);
	RUN(ecdsa_refused);
	RUN(rsa_pss);
	RUN(rsa_refused);
	RUN(pem_format);
	RUN(key_equal);
	RUN(keyid);
	return 0;
}
