/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of sealed CA key files: round trip, wrong passphrase, tampering, KDF limits, format. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "error.h"
#include "fileio.h"
#include "keyfile.h"
#include "sealed.h"
#include "secmem.h"
#include "test.h"
#include "x509.h"

#define PASS "correct horse battery staple"
#define OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define MEM crypto_pwhash_MEMLIMIT_INTERACTIVE

static char *tmpdir;

static char *path(const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", tmpdir, name);
	return buf;
}

static EVP_PKEY *key;

/* Write a sealed file name with key, and read its text back. */
static char *sealed_text(const char *name, size_t *ret_len)
{
	uint8_t *buf = NULL;

	ASSERT_OK(
	    prov_sealed_key_write(path(name), "device-ca", key, PASS, strlen(PASS), OPS, MEM));
	ASSERT_OK(sl_read_file_at(AT_FDCWD, path(name), PROV_SEALED_MAX, &buf, ret_len));
	return (char *)buf;
}

/* Replace the first occurrence of from with to (same buffer, result malloc'd). */
static char *replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	char *out = NULL;

	ASSERT_TRUE(at);
	ASSERT_TRUE(asprintf(&out, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from)) > 0);
	return out;
}

TEST(round_trip)
{
	EVP_PKEY *k = NULL;
	struct stat st;

	ASSERT_OK(
	    prov_sealed_key_write(path("a.key"), "device-ca", key, PASS, strlen(PASS), OPS, MEM));
	ASSERT_OK(stat(path("a.key"), &st));
	ASSERT_EQ_INT(st.st_mode & 0777, 0600);
	ASSERT_OK(prov_sealed_key_load(path("a.key"), "device-ca", PASS, strlen(PASS), &k));
	ASSERT_EQ_INT(EVP_PKEY_eq(k, key), 1);
	EVP_PKEY_free(k);
	/* never replaced */
	ASSERT_ERR(
	    prov_sealed_key_write(path("a.key"), "device-ca", key, PASS, strlen(PASS), OPS, MEM),
	    -EEXIST);
}

TEST(wrong_passphrase)
{
	EVP_PKEY *k = NULL;

	ASSERT_ERR(prov_sealed_key_load(path("a.key"), "device-ca", "wrong", 5, &k),
		   CER_E_PASSPHRASE);
	ASSERT_TRUE(k == NULL);
	ASSERT_ERR(prov_sealed_key_load(path("a.key"), "device-ca", "", 0, &k), SL_E_INVALID);
}

TEST(wrong_purpose)
{
	EVP_PKEY *k = NULL;

	ASSERT_ERR(prov_sealed_key_load(path("a.key"), "server-ca", PASS, strlen(PASS), &k),
		   SL_E_INVALID);
}

TEST(tampered_header)
{
	size_t len;
	char *text = sealed_text("b.key", &len);
	char *t1 = replace(text, "\"purpose\": \"device-ca\"", "\"purpose\": \"server-ca\"");
	char *t2 = replace(text, "\"created\": \"2", "\"created\": \"1");
	EVP_PKEY *k = NULL;

	/* every header member is bound by the AEAD additional data */
	ASSERT_ERR(prov_sealed_key_load_buf(t1, strlen(t1), "t1", NULL, PASS, strlen(PASS), &k),
		   CER_E_PASSPHRASE);
	ASSERT_ERR(prov_sealed_key_load_buf(t2, strlen(t2), "t2", NULL, PASS, strlen(PASS), &k),
		   CER_E_PASSPHRASE);
	ASSERT_OK(prov_sealed_key_load_buf(text, len, "ok", NULL, PASS, strlen(PASS), &k));
	EVP_PKEY_free(k);
	free(t1);
	free(t2);
	free(text);
}

TEST(kdf_limits)
{
	size_t len;
	char *text = sealed_text("c.key", &len);
	char mem[64];
	char *weak, *absurd;
	EVP_PKEY *k = NULL;

	ASSERT_ERR(
	    prov_sealed_key_write(path("d.key"), "device-ca", key, PASS, strlen(PASS), 1, MEM),
	    CER_E_KDF_WEAK);
	ASSERT_ERR(prov_sealed_key_write(path("d.key"), "device-ca", key, PASS, strlen(PASS), OPS,
					 8ull << 30),
		   CER_E_KDF_LIMIT);
	ASSERT_TRUE(access(path("d.key"), F_OK) < 0);
	snprintf(mem, sizeof(mem), "\"memlimit\": %llu", (unsigned long long)MEM);
	weak = replace(text, mem, "\"memlimit\": 8192");
	absurd = replace(text, mem, "\"memlimit\": 1099511627776");
	ASSERT_ERR(
	    prov_sealed_key_load_buf(weak, strlen(weak), "weak", NULL, PASS, strlen(PASS), &k),
	    CER_E_KDF_WEAK);
	ASSERT_ERR(prov_sealed_key_load_buf(absurd, strlen(absurd), "absurd", NULL, PASS,
					    strlen(PASS), &k),
		   CER_E_KDF_LIMIT);
	free(weak);
	free(absurd);
	free(text);
}

TEST(format)
{
	size_t len;
	char *text = sealed_text("e.key", &len);
	char *v2 = replace(text, "\"sluice_sealed_key\": 1", "\"sluice_sealed_key\": 2");
	char *extra = replace(text, "\"keytype\"", "\"extra\": 1, \"keytype\"");
	char *type = replace(text, "\"ecdsa-p256\"", "\"ed25519\"");
	char *dup = replace(text, "\"keytype\"", "\"keytype\": \"ecdsa-p256\", \"keytype\"");
	EVP_PKEY *k = NULL;

	ASSERT_ERR(prov_sealed_key_load_buf(v2, strlen(v2), "v2", NULL, PASS, 1, &k),
		   TUF_E_UNSUPPORTED);
	ASSERT_ERR(prov_sealed_key_load_buf(extra, strlen(extra), "extra", NULL, PASS, 1, &k),
		   TUF_E_FORMAT);
	ASSERT_ERR(prov_sealed_key_load_buf(type, strlen(type), "type", NULL, PASS, 1, &k),
		   TUF_E_UNSUPPORTED);
	ASSERT_ERR(prov_sealed_key_load_buf(dup, strlen(dup), "dup", NULL, PASS, 1, &k),
		   TUF_E_FORMAT);
	ASSERT_ERR(prov_sealed_key_load_buf("[]", 2, "array", NULL, PASS, 1, &k), TUF_E_FORMAT);
	ASSERT_ERR(prov_sealed_key_load(path("missing.key"), NULL, PASS, 1, &k), -ENOENT);
	{
		char target[4096];

		snprintf(target, sizeof(target), "%s", path("e.key"));
		ASSERT_OK(symlink(target, path("link.key")));
	}
	ASSERT_ERR(prov_sealed_key_load(path("link.key"), NULL, PASS, strlen(PASS), &k), -ELOOP);
	free(v2);
	free(extra);
	free(type);
	free(dup);
	free(text);
}

int main(void)
{
	ASSERT_OK(sl_secmem_init());
	ASSERT_OK(sl_mkdtemp_private(NULL, &tmpdir));
	ASSERT_OK(prov_key_generate(&key));
	RUN(round_trip);
	RUN(wrong_passphrase);
	RUN(wrong_purpose);
	RUN(tampered_header);
	RUN(kdf_limits);
	RUN(format);
	EVP_PKEY_free(key);
	sl_rm_rf(tmpdir);
	free(tmpdir);
	return 0;
}
