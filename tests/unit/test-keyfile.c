/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of ceremony/keyfile: sealing, strict reading, tamper and KDF-limit refusals. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "keyfile.h"
#include "secmem.h"
#include "test.h"

/* The smallest KDF limits libsodium allows: the tests pass CER_KEYFILE_ALLOW_WEAK_KDF. */
#define OPS crypto_pwhash_argon2id_OPSLIMIT_MIN
#define MEM crypto_pwhash_argon2id_MEMLIMIT_MIN
#define WEAK CER_KEYFILE_ALLOW_WEAK_KDF
#define PASS "correct horse battery staple"

static char *tmpdir;

static char *tpath(const char *name)
{
	static char buf[8][4096];
	static unsigned n;
	char *p = buf[n++ % 8];

	snprintf(p, 4096, "%s/%s", tmpdir, name);
	return p;
}

static char *read_text(const char *path)
{
	uint8_t *buf;
	size_t len;

	ASSERT_OK(sl_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len));
	return (char *)buf;
}

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(sl_write_all(fd, text, strlen(text)));
	close(fd);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Copy src to dst replacing the first occurrence of old (which must occur) with new. */
static void tamper(const char *src, const char *dst, const char *old, const char *new)
{
	char *text = read_text(src);
	char *at = strstr(text, old);
	char *out;

	if (!at) {
		fprintf(stderr, "'%s' not found in:\n%s\n", old, text);
		ASSERT_TRUE(at);
	}
	ASSERT_TRUE(asprintf(&out, "%.*s%s%s", (int)(at - text), text, new, at + strlen(old)) > 0);
	write_text(dst, out);
	free(out);
	free(text);
}

/* Copy src to dst with the first character after prefix changed to another hex digit. */
static void flip_after(const char *src, const char *dst, const char *prefix)
{
	char *text = read_text(src);
	char *at = strstr(text, prefix);

	ASSERT_TRUE(at);
	at += strlen(prefix);
	*at = *at == '0' ? '1' : '0';
	write_text(dst, text);
	free(text);
}

static struct cer_key *must_generate(const char *name)
{
	struct cer_key *k = NULL;

	ASSERT_OK(
	    cer_keyfile_generate("root", PASS, strlen(PASS), OPS, MEM, WEAK, tpath(name), &k));
	ASSERT_TRUE(k);
	return k;
}

/* Load path expecting code; returns whether the KDF ran. */
static bool load_fails(const char *path, unsigned flags, int code)
{
	struct cer_key *k = NULL;
	unsigned long before = cer_keyfile_kdf_runs();

	ASSERT_ERR(cer_keyfile_load(path, PASS, strlen(PASS), flags, &k), code);
	ASSERT_TRUE(k == NULL);
	return cer_keyfile_kdf_runs() != before;
}

TEST(round_trip)
{
	struct cer_key *k = must_generate("rt.key"), *l = NULL;
	struct json_object *doc, *pub, *v;
	uint8_t sig[CER_SIGNATURE_BYTES];
	const char msg[] = "root.json canonical bytes";
	char fp[CER_FINGERPRINT_SIZE], want[CER_KEYID_SIZE], canon[256];
	uint8_t digest[32];
	struct stat st;

	ASSERT_OK(stat(tpath("rt.key"), &st));
	ASSERT_EQ_INT(st.st_mode & 07777, 0600);
	ASSERT_EQ_STR(cer_key_role(k), "root");
	ASSERT_OK(cer_ed25519_keyid(cer_key_public(k), want));
	ASSERT_EQ_STR(cer_key_keyid(k), want);

	ASSERT_OK(cer_keyfile_load(tpath("rt.key"), PASS, strlen(PASS), WEAK, &l));
	ASSERT_EQ_STR(cer_key_keyid(l), cer_key_keyid(k));
	ASSERT_EQ_STR(cer_key_public_hex(l), cer_key_public_hex(k));
	ASSERT_EQ_MEM(cer_key_public(l), cer_key_public(k), CER_PUBLIC_KEY_BYTES);
	ASSERT_EQ_STR(cer_key_role(l), "root");

	/* Signatures of the loaded key verify with libsodium against the public key. */
	ASSERT_OK(cer_key_sign(l, msg, sizeof(msg), sig));
	ASSERT_EQ_INT(
	    crypto_sign_verify_detached(sig, (const uint8_t *)msg, sizeof(msg), cer_key_public(k)),
	    0);
	ASSERT_EQ_INT(crypto_sign_verify_detached(sig, (const uint8_t *)msg, sizeof(msg) - 1,
						  cer_key_public(k)),
		      -1);
	ASSERT_OK(cer_key_sign(k, msg, sizeof(msg), sig));
	ASSERT_EQ_INT(
	    crypto_sign_verify_detached(sig, (const uint8_t *)msg, sizeof(msg), cer_key_public(l)),
	    0);

	cer_key_fingerprint(k, fp);
	ASSERT_EQ_INT(strlen(fp), 19);
	ASSERT_TRUE(fp[4] == ' ' && fp[9] == ' ' && fp[14] == ' ');
	ASSERT_TRUE(strncmp(fp, cer_key_keyid(k), 4) == 0 &&
		    strncmp(fp + 15, cer_key_keyid(k) + 12, 4) == 0);

	/* The TUF key object; serialised plainly it is the canonical form the key id hashes. */
	ASSERT_OK(cer_key_public_json(k, &pub));
	snprintf(canon, sizeof(canon),
		 "{\"keytype\":\"ed25519\",\"keyval\":{\"public\":\"%s\"},\"scheme\":\"ed25519\"}",
		 cer_key_public_hex(k));
	ASSERT_EQ_STR(json_object_to_json_string_ext(pub, JSON_C_TO_STRING_PLAIN), canon);
	crypto_hash_sha256(digest, (const uint8_t *)canon, strlen(canon));
	sl_hex_encode(digest, sizeof(digest), want);
	ASSERT_EQ_STR(cer_key_keyid(k), want);
	json_object_put(pub);

	/* The file says what the header says. */
	doc = json_object_from_file(tpath("rt.key"));
	ASSERT_TRUE(doc);
	ASSERT_TRUE(json_object_object_get_ex(doc, "keyid", &v));
	ASSERT_EQ_STR(json_object_get_string(v), cer_key_keyid(k));
	ASSERT_TRUE(json_object_object_get_ex(doc, "kdf", &v));
	ASSERT_TRUE(json_object_object_get_ex(v, "opslimit", &v));
	ASSERT_EQ_INT(json_object_get_int64(v), OPS);
	json_object_put(doc);

	cer_key_free(l);
	cer_key_free(k);
	ASSERT_TRUE(cer_key_free(NULL) == NULL);
}

/* RFC 8032 test 1 public key; the key id computed independently with Python. */
TEST(keyid_known_answer)
{
	uint8_t pub[CER_PUBLIC_KEY_BYTES];
	char id[CER_KEYID_SIZE];

	ASSERT_EQ_INT(
	    sl_hex_decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", 64,
			  pub, sizeof(pub)),
	    32);
	ASSERT_OK(cer_ed25519_keyid(pub, id));
	ASSERT_EQ_STR(id, "74c181c7ad8a0855d4b55e44d2ba87aabdddb196832571f15f92fece332e4916");
}

TEST(wrong_passphrase)
{
	struct cer_key *k = must_generate("wp.key"), *l = NULL;
	unsigned long before = cer_keyfile_kdf_runs();

	ASSERT_ERR(cer_keyfile_load(tpath("wp.key"), "wrong", 5, WEAK, &l), CER_E_PASSPHRASE);
	ASSERT_TRUE(l == NULL);
	ASSERT_TRUE(strstr(sl_error_message(CER_E_PASSPHRASE), "wrong passphrase"));
	ASSERT_EQ_INT(cer_keyfile_kdf_runs(), before + 1);
	/* A prefix of the right passphrase is just as wrong. */
	ASSERT_ERR(cer_keyfile_load(tpath("wp.key"), PASS, strlen(PASS) - 1, WEAK, &l),
		   CER_E_PASSPHRASE);
	ASSERT_ERR(cer_keyfile_load(tpath("wp.key"), "", 0, WEAK, &l), SL_E_INVALID);
	ASSERT_TRUE(l == NULL);
	cer_key_free(k);
}

/* Each header field changed to another well-formed value: refused, with the right code. */
TEST(tampered_fields)
{
	struct cer_key *k = must_generate("t.key"), *other = must_generate("t-other.key");
	const char *src = tpath("t.key"), *dst = tpath("t-bad.key");
	char from[128], to[128];

	/* Bound by the AEAD additional data only: the KDF runs, then decryption fails. */
	tamper(src, dst, "\"role\": \"root\"", "\"role\": \"targets\"");
	ASSERT_TRUE(load_fails(dst, WEAK, CER_E_PASSPHRASE));
	tamper(src, dst, "\"created\": \"2", "\"created\": \"3");
	ASSERT_TRUE(load_fails(dst, WEAK, CER_E_PASSPHRASE));
	tamper(src, dst, "\"opslimit\": 1,", "\"opslimit\": 2,");
	ASSERT_TRUE(load_fails(dst, WEAK, CER_E_PASSPHRASE));
	/* 8193 bytes is the same argon2 memory cost as 8192: only the additional data differs. */
	tamper(src, dst, "\"memlimit\": 8192,", "\"memlimit\": 8193,");
	ASSERT_TRUE(load_fails(dst, WEAK, CER_E_PASSPHRASE));
	flip_after(src, dst, "\"salt\": \"");
	ASSERT_TRUE(load_fails(dst, WEAK, CER_E_PASSPHRASE));
	flip_after(src, dst, "\"nonce\": \"");
	ASSERT_TRUE(load_fails(dst, WEAK, CER_E_PASSPHRASE));
	flip_after(src, dst, "\"ciphertext\": \"");
	ASSERT_TRUE(load_fails(dst, WEAK, CER_E_PASSPHRASE));

	/* Another key's public key and matching key id: consistent, but not what was sealed. */
	snprintf(from, sizeof(from), "\"public\": \"%s\"", cer_key_public_hex(k));
	snprintf(to, sizeof(to), "\"public\": \"%s\"", cer_key_public_hex(other));
	tamper(src, dst, from, to);
	snprintf(from, sizeof(from), "\"keyid\": \"%s\"", cer_key_keyid(k));
	snprintf(to, sizeof(to), "\"keyid\": \"%s\"", cer_key_keyid(other));
	tamper(dst, dst, from, to);
	ASSERT_TRUE(load_fails(dst, WEAK, CER_E_PASSPHRASE));

	/* Caught before the KDF: inconsistent, unsupported or unknown. */
	flip_after(src, dst, "\"public\": \"");
	ASSERT_TRUE(!load_fails(dst, WEAK, TUF_E_FORMAT));
	flip_after(src, dst, "\"keyid\": \"");
	ASSERT_TRUE(!load_fails(dst, WEAK, TUF_E_FORMAT));
	tamper(src, dst, "\"public\": \"", "\"public\": \"A");
	ASSERT_TRUE(!load_fails(dst, WEAK, TUF_E_FORMAT));
	tamper(src, dst, "\"role\": \"root\"", "\"role\": \"../root\"");
	ASSERT_TRUE(!load_fails(dst, WEAK, TUF_E_FORMAT));
	tamper(src, dst, "\"created\": \"2", "\"created\": \"x");
	ASSERT_TRUE(!load_fails(dst, WEAK, TUF_E_FORMAT));
	tamper(src, dst, "\"keytype\": \"ed25519\"", "\"keytype\": \"ed25518\"");
	ASSERT_TRUE(!load_fails(dst, WEAK, TUF_E_UNSUPPORTED));
	tamper(src, dst, "\"scheme\": \"ed25519\"", "\"scheme\": \"ecdsa\"");
	ASSERT_TRUE(!load_fails(dst, WEAK, TUF_E_UNSUPPORTED));
	tamper(src, dst, "\"sluice_key\": 1", "\"sluice_key\": 2");
	ASSERT_TRUE(!load_fails(dst, WEAK, TUF_E_UNSUPPORTED));
	tamper(src, dst, "\"argon2id13\"", "\"argon2i13\"");
	ASSERT_TRUE(!load_fails(dst, WEAK, TUF_E_UNSUPPORTED));
	tamper(src, dst, "\"xchacha20poly1305-ietf\"", "\"chacha20poly1305\"");
	ASSERT_TRUE(!load_fails(dst, WEAK, TUF_E_UNSUPPORTED));
	tamper(src, dst, "{", "{\"comment\": \"unauthenticated\",");
	ASSERT_TRUE(!load_fails(dst, WEAK, TUF_E_FORMAT));
	tamper(src, dst, "\"alg\": \"argon2id13\"", "\"alg\": \"argon2id13\", \"p\": 1");
	ASSERT_TRUE(!load_fails(dst, WEAK, TUF_E_FORMAT));
	tamper(src, dst, "\"salt\": \"", "\"salt\": \"00");
	ASSERT_TRUE(!load_fails(dst, WEAK, TUF_E_FORMAT));
	tamper(src, dst, "\"opslimit\": 1,", "\"opslimit\": \"1\",");
	ASSERT_TRUE(!load_fails(dst, WEAK, TUF_E_FORMAT));
	tamper(src, dst, "\"opslimit\": 1,", "\"opslimit\": -1,");
	ASSERT_TRUE(!load_fails(dst, WEAK, TUF_E_FORMAT));
	tamper(src, dst, "\"role\": \"root\",", "");
	ASSERT_TRUE(!load_fails(dst, WEAK, TUF_E_FORMAT));

	/* The original still opens. */
	cer_key_free(other);
	other = NULL;
	ASSERT_OK(cer_keyfile_load(src, PASS, strlen(PASS), WEAK, &other));
	cer_key_free(other);
	cer_key_free(k);
}

TEST(kdf_limits_refused_before_kdf)
{
	struct cer_key *k = must_generate("kdf.key");
	const char *src = tpath("kdf.key"), *dst = tpath("kdf-bad.key");
	unsigned long before;

	/* Absurd: refused even with the test flag, and the KDF never runs. */
	tamper(src, dst, "\"memlimit\": 8192,", "\"memlimit\": 1152921504606846976,");
	ASSERT_TRUE(!load_fails(dst, WEAK, CER_E_KDF_LIMIT));
	ASSERT_TRUE(!load_fails(dst, 0, CER_E_KDF_LIMIT));
	tamper(src, dst, "\"memlimit\": 8192,", "\"memlimit\": 4294967297,");
	ASSERT_TRUE(!load_fails(dst, WEAK, CER_E_KDF_LIMIT));
	tamper(src, dst, "\"opslimit\": 1,", "\"opslimit\": 1099511627776,");
	ASSERT_TRUE(!load_fails(dst, WEAK, CER_E_KDF_LIMIT));
	tamper(src, dst, "\"opslimit\": 1,", "\"opslimit\": 257,");
	ASSERT_TRUE(!load_fails(dst, WEAK, CER_E_KDF_LIMIT));

	/* Too weak: the test key itself is refused by a production load. */
	ASSERT_TRUE(!load_fails(src, 0, CER_E_KDF_WEAK));
	tamper(src, dst, "\"opslimit\": 1,", "\"opslimit\": 0,");
	ASSERT_TRUE(!load_fails(dst, WEAK, CER_E_KDF_WEAK));
	tamper(src, dst, "\"memlimit\": 8192,", "\"memlimit\": 8191,");
	ASSERT_TRUE(!load_fails(dst, WEAK, CER_E_KDF_WEAK));

	/* Generation refuses the same way, before any work, and leaves no file. */
	before = cer_keyfile_kdf_runs();
	ASSERT_ERR(cer_keyfile_generate("root", PASS, strlen(PASS), OPS, 1ull << 60, WEAK,
					tpath("g1.key"), NULL),
		   CER_E_KDF_LIMIT);
	ASSERT_ERR(cer_keyfile_generate("root", PASS, strlen(PASS), 1000, MEM, WEAK,
					tpath("g1.key"), NULL),
		   CER_E_KDF_LIMIT);
	ASSERT_ERR(
	    cer_keyfile_generate("root", PASS, strlen(PASS), OPS, MEM, 0, tpath("g1.key"), NULL),
	    CER_E_KDF_WEAK);
	ASSERT_ERR(cer_keyfile_generate("root", PASS, strlen(PASS), CER_KDF_OPSLIMIT_FLOOR,
					CER_KDF_MEMLIMIT_FLOOR - 1, 0, tpath("g1.key"), NULL),
		   CER_E_KDF_WEAK);
	ASSERT_EQ_INT(cer_keyfile_kdf_runs(), before);
	ASSERT_TRUE(!exists(tpath("g1.key")));
	cer_key_free(k);
}

/* The floor itself (libsodium's interactive limits) is accepted without the test flag. */
TEST(floor_accepted_in_production)
{
	struct cer_key *k = NULL, *l = NULL;

	ASSERT_OK(cer_keyfile_generate("targets", PASS, strlen(PASS), CER_KDF_OPSLIMIT_FLOOR,
				       CER_KDF_MEMLIMIT_FLOOR, 0, tpath("floor.key"), &k));
	ASSERT_OK(cer_keyfile_load(tpath("floor.key"), PASS, strlen(PASS), 0, &l));
	ASSERT_EQ_STR(cer_key_keyid(l), cer_key_keyid(k));
	ASSERT_EQ_STR(cer_key_role(l), "targets");
	cer_key_free(l);
	cer_key_free(k);
}

TEST(never_overwrite)
{
	struct cer_key *k = NULL;
	unsigned long before;
	char *text;
	struct stat st;

	write_text(tpath("exists.key"), "precious");
	before = cer_keyfile_kdf_runs();
	ASSERT_ERR(cer_keyfile_generate("root", PASS, strlen(PASS), OPS, MEM, WEAK,
					tpath("exists.key"), &k),
		   -EEXIST);
	ASSERT_TRUE(k == NULL);
	ASSERT_EQ_INT(cer_keyfile_kdf_runs(), before); /* refused before the slow part */
	text = read_text(tpath("exists.key"));
	ASSERT_EQ_STR(text, "precious");
	free(text);

	/* A dangling symlink: not followed, its target is not created. */
	ASSERT_OK(symlink(tpath("target.key"), tpath("link.key")));
	ASSERT_ERR(cer_keyfile_generate("root", PASS, strlen(PASS), OPS, MEM, WEAK,
					tpath("link.key"), NULL),
		   -EEXIST);
	ASSERT_TRUE(!exists(tpath("target.key")));
	/* A symlink to an existing file: left alone. */
	ASSERT_OK(symlink(tpath("exists.key"), tpath("link2.key")));
	ASSERT_ERR(cer_keyfile_generate("root", PASS, strlen(PASS), OPS, MEM, WEAK,
					tpath("link2.key"), NULL),
		   -EEXIST);
	text = read_text(tpath("exists.key"));
	ASSERT_EQ_STR(text, "precious");
	free(text);
	ASSERT_OK(lstat(tpath("link2.key"), &st));
	ASSERT_TRUE(S_ISLNK(st.st_mode));

	/* Reading through a symlink is refused too. */
	cer_key_free(must_generate("real.key"));
	ASSERT_OK(symlink(tpath("real.key"), tpath("real-link.key")));
	ASSERT_TRUE(!load_fails(tpath("real-link.key"), WEAK, -ELOOP));
	/* A missing directory: nothing created, -ENOENT. */
	ASSERT_ERR(cer_keyfile_generate("root", PASS, strlen(PASS), OPS, MEM, WEAK,
					tpath("nodir/x.key"), NULL),
		   -ENOENT);
}

TEST(bad_arguments)
{
	char big[CER_PASSPHRASE_MAX + 1];
	struct cer_key *k = NULL;

	memset(big, 'p', sizeof(big));
	ASSERT_ERR(cer_keyfile_generate("root", "", 0, OPS, MEM, WEAK, tpath("a.key"), &k),
		   SL_E_INVALID);
	ASSERT_ERR(
	    cer_keyfile_generate("root", big, sizeof(big), OPS, MEM, WEAK, tpath("a.key"), &k),
	    SL_E_TOO_LARGE);
	ASSERT_OK(cer_keyfile_generate("root", big, sizeof(big) - 1, OPS, MEM, WEAK,
				       tpath("max-pass.key"), &k));
	cer_key_free(k);
	k = NULL;
	ASSERT_ERR(cer_keyfile_generate("", PASS, strlen(PASS), OPS, MEM, WEAK, tpath("a.key"), &k),
		   SL_E_INVALID);
	ASSERT_ERR(
	    cer_keyfile_generate("a/b", PASS, strlen(PASS), OPS, MEM, WEAK, tpath("a.key"), &k),
	    SL_E_INVALID);
	ASSERT_ERR(
	    cer_keyfile_generate(".hidden", PASS, strlen(PASS), OPS, MEM, WEAK, tpath("a.key"), &k),
	    SL_E_INVALID);
	ASSERT_TRUE(k == NULL);
	ASSERT_TRUE(!exists(tpath("a.key")));
}

TEST(malformed_files)
{
	char *big = malloc(CER_KEYFILE_MAX + 2);

	write_text(tpath("m1.key"), "not json");
	ASSERT_TRUE(!load_fails(tpath("m1.key"), WEAK, TUF_E_FORMAT));
	write_text(tpath("m2.key"), "[1, 2]");
	ASSERT_TRUE(!load_fails(tpath("m2.key"), WEAK, TUF_E_FORMAT));
	write_text(tpath("m3.key"), "{}");
	ASSERT_TRUE(!load_fails(tpath("m3.key"), WEAK, TUF_E_FORMAT));
	write_text(tpath("m4.key"), "");
	ASSERT_TRUE(!load_fails(tpath("m4.key"), WEAK, TUF_E_FORMAT));
	memset(big, ' ', CER_KEYFILE_MAX + 1);
	big[CER_KEYFILE_MAX + 1] = '\0';
	big[0] = '{';
	write_text(tpath("m5.key"), big);
	ASSERT_TRUE(!load_fails(tpath("m5.key"), WEAK, SL_E_TOO_LARGE));
	free(big);
	ASSERT_TRUE(!load_fails(tpath("missing.key"), WEAK, -ENOENT));
	ASSERT_TRUE(!load_fails(tmpdir, WEAK, SL_E_INVALID));
}

int main(void)
{
	ASSERT_OK(sl_secmem_init());
	ASSERT_OK(sl_mkdtemp_private(NULL, &tmpdir));
	RUN(round_trip);
	RUN(keyid_known_answer);
	RUN(wrong_passphrase);
	RUN(tampered_fields);
	RUN(kdf_limits_refused_before_kdf);
	RUN(floor_accepted_in_production);
	RUN(never_overwrite);
	RUN(bad_arguments);
	RUN(malformed_files);
	ASSERT_OK(sl_rm_rf(tmpdir));
	free(tmpdir);
	return 0;
}
