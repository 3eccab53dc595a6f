/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of ceremony/transcript: the hash chain, what breaks it, and seals. */
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
#include "transcript.h"

#define MAX_LINES 16

static char *tmpdir;
static struct cer_key *seal_key, *other_key;

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
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(sl_write_all(fd, text, strlen(text)));
	close(fd);
}

/* Split a transcript into its lines (without newlines); returns the count. */
static size_t split(const char *path, char *lines[MAX_LINES])
{
	char *text = read_text(path), *save = NULL;
	size_t n = 0;

	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		ASSERT_TRUE(n < MAX_LINES);
		lines[n++] = strdup(l);
	}
	free(text);
	return n;
}

/* Write lines in the given order (indexes into lines), each with a newline. */
static void join(const char *path, char *lines[], const int *order, size_t n)
{
	char *text = calloc(1, 1 << 16);

	for (size_t i = 0; i < n; i++) {
		strcat(text, lines[order[i]]);
		strcat(text, "\n");
	}
	write_text(path, text);
	free(text);
}

static void free_lines(char *lines[], size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
}

/* Build path with five records: keygen x2, sign x3 (version 1..3). */
static void make_five(const char *path)
{
	char hash[65];
	int64_t seq;

	write_text(tpath("root.json"), "{\"signed\": {}}");
	ASSERT_OK(cer_transcript_hash_file(tpath("root.json"), hash));
	for (int i = 0; i < 5; i++) {
		struct cer_transcript_record rec = {
		    .op = i < 2 ? "keygen" : "sign",
		    .keyid = cer_key_keyid(i % 2 ? other_key : seal_key),
		    .file = i < 2 ? "root-1.key" : "1.root.json",
		    .version = i < 2 ? 0 : i - 1,
		    .sha256 = hash,
		};

		ASSERT_OK(cer_transcript_append(path, &rec, &seq));
		ASSERT_EQ_INT(seq, i + 1);
	}
}

static void expect_broken(const char *path, const uint8_t *pub, unsigned flags, int code,
			  int64_t bad_seq)
{
	int64_t bad = -1;

	ASSERT_ERR(cer_transcript_verify(path, pub, flags, NULL, &bad), code);
	ASSERT_EQ_INT(bad, bad_seq);
}

TEST(chain_ok)
{
	const char *p = tpath("ok.jsonl");
	struct cer_transcript_status st;
	char *lines[MAX_LINES], hex[65];
	uint8_t h[32];
	int64_t bad = -1;
	size_t n;

	ASSERT_ERR(cer_transcript_verify(p, NULL, 0, &st, &bad), -ENOENT);
	make_five(p);
	ASSERT_OK(cer_transcript_verify(p, NULL, 0, &st, &bad));
	ASSERT_EQ_INT(bad, 0);
	ASSERT_EQ_INT(st.records, 5);
	ASSERT_EQ_INT(st.last_seal_seq, 0);

	/* The chain as documented: 64 zeros, then the SHA-256 of the previous line's bytes. */
	n = split(p, lines);
	ASSERT_EQ_INT(n, 5);
	ASSERT_TRUE(strstr(lines[0], "\"prev\": \"0000000000000000000000000000000000000000000000"
				     "000000000000000000\""));
	for (size_t i = 1; i < n; i++) {
		char want[80];

		crypto_hash_sha256(h, (const uint8_t *)lines[i - 1], strlen(lines[i - 1]));
		sl_hex_encode(h, sizeof(h), hex);
		snprintf(want, sizeof(want), "\"prev\": \"%s\"", hex);
		ASSERT_TRUE(strstr(lines[i], want));
	}
	ASSERT_TRUE(strstr(lines[2], "\"op\": \"sign\""));
	ASSERT_TRUE(strstr(lines[2], "\"version\": 1"));
	ASSERT_TRUE(strstr(lines[0], "\"file\": \"root-1.key\""));
	ASSERT_TRUE(!strstr(lines[0], "\"version\""));
	free_lines(lines, n);
}

TEST(chain_broken)
{
	const char *p = tpath("b.jsonl"), *q = tpath("b-bad.jsonl");
	char *lines[MAX_LINES], *text, *before;
	const int deleted[] = {0, 1, 3, 4}, swapped[] = {0, 1, 3, 2, 4}, dup[] = {0, 1, 2, 2, 3};
	const int all[] = {0, 1, 2, 3, 4};
	struct cer_transcript_record rec = {.op = "sign"};
	size_t n;
	char *at;

	make_five(p);
	n = split(p, lines);

	/* A record edited in place (still valid JSON): the next record's prev catches it. */
	at = strstr(lines[2], "\"version\": 1");
	ASSERT_TRUE(at);
	at[11] = '7';
	join(q, lines, all, 5);
	expect_broken(q, NULL, 0, CER_E_CHAIN, 4);
	free_lines(lines, n);

	/* A record made unreadable: named itself. */
	n = split(p, lines);
	lines[2][0] = '[';
	join(q, lines, all, 5);
	expect_broken(q, NULL, 0, TUF_E_FORMAT, 3);
	free_lines(lines, n);

	n = split(p, lines);
	join(q, lines, deleted, 4);
	expect_broken(q, NULL, 0, CER_E_CHAIN, 3);
	join(q, lines, swapped, 5);
	expect_broken(q, NULL, 0, CER_E_CHAIN, 3);
	join(q, lines, dup, 5);
	expect_broken(q, NULL, 0, CER_E_CHAIN, 4);
	/* The last record deleted: the chain is still a valid (shorter) chain; seals cover that. */
	join(q, lines, all, 4);
	ASSERT_OK(cer_transcript_verify(q, NULL, 0, NULL, NULL));
	free_lines(lines, n);

	/* A torn last line (crash mid-write). */
	text = read_text(p);
	text[strlen(text) - 1] = '\0';
	write_text(q, text);
	expect_broken(q, NULL, 0, TUF_E_FORMAT, 5);
	/* A broken transcript is never extended, and stays byte-identical. */
	before = read_text(q);
	ASSERT_ERR(cer_transcript_append(q, &rec, NULL), TUF_E_FORMAT);
	free(text);
	text = read_text(q);
	ASSERT_EQ_STR(text, before);
	free(text);
	free(before);

	/* Unknown members are refused, so nothing unchained hides in a record. */
	n = split(p, lines);
	at = strstr(lines[1], "\"op\"");
	ASSERT_TRUE(at);
	memcpy(at, "\"xx\"", 4);
	join(q, lines, all, 5);
	expect_broken(q, NULL, 0, TUF_E_FORMAT, 2);
	free_lines(lines, n);
}

TEST(seal)
{
	const char *p = tpath("s.jsonl"), *q = tpath("s-bad.jsonl");
	struct cer_transcript_record rec = {.op = "sign", .version = 9};
	struct cer_transcript_status st;
	char *lines[MAX_LINES], *at;
	const int all[] = {0, 1, 2, 3, 4, 5};
	int64_t seq;
	size_t n;

	make_five(p);
	expect_broken(p, cer_key_public(seal_key), CER_TRANSCRIPT_REQUIRE_SEAL, TUF_E_SIGNATURE, 1);
	ASSERT_OK(cer_transcript_seal(p, seal_key, &seq));
	ASSERT_EQ_INT(seq, 6);
	ASSERT_OK(cer_transcript_verify(p, cer_key_public(seal_key), CER_TRANSCRIPT_REQUIRE_SEAL,
					&st, NULL));
	ASSERT_EQ_INT(st.records, 6);
	ASSERT_EQ_INT(st.last_seal_seq, 6);
	ASSERT_EQ_STR(st.last_seal_keyid, cer_key_keyid(seal_key));
	/* The wrong key: refused, naming the seal. */
	expect_broken(p, cer_key_public(other_key), 0, TUF_E_SIGNATURE, 6);
	/* Without a key only the form is checked. */
	ASSERT_OK(cer_transcript_verify(p, NULL, CER_TRANSCRIPT_REQUIRE_SEAL, NULL, NULL));

	/* A forged signature byte, and a seal re-dated: the signature no longer verifies. */
	n = split(p, lines);
	at = strstr(lines[5], "\"sig\": \"") + 8;
	*at = *at == '0' ? '1' : '0';
	join(q, lines, all, 6);
	expect_broken(q, cer_key_public(seal_key), 0, TUF_E_SIGNATURE, 6);
	ASSERT_OK(cer_transcript_verify(q, NULL, 0, NULL, NULL));
	free_lines(lines, n);
	n = split(p, lines);
	at = strstr(lines[5], "\"time\": \"") + 9;
	*at = *at == '2' ? '3' : '2';
	join(q, lines, all, 6);
	expect_broken(q, cer_key_public(seal_key), 0, TUF_E_SIGNATURE, 6);
	free_lines(lines, n);

	/* Records after the seal are fine, but no longer sealed. */
	ASSERT_OK(cer_transcript_append(p, &rec, &seq));
	ASSERT_EQ_INT(seq, 7);
	ASSERT_OK(cer_transcript_verify(p, cer_key_public(seal_key), 0, &st, NULL));
	ASSERT_EQ_INT(st.last_seal_seq, 6);
	expect_broken(p, cer_key_public(seal_key), CER_TRANSCRIPT_REQUIRE_SEAL, TUF_E_SIGNATURE, 7);
	ASSERT_OK(cer_transcript_seal(p, other_key, &seq));
	ASSERT_EQ_INT(seq, 8);
	/* Two seals by different keys: each must be by the given key. */
	expect_broken(p, cer_key_public(other_key), 0, TUF_E_SIGNATURE, 6);
}

/* Recompute every prev from line index first on, as an attacker would. */
static void rechain(char *lines[], size_t first, size_t n)
{
	uint8_t h[32];
	char hex[65];

	for (size_t i = first; i < n; i++) {
		char *at = strstr(lines[i], "\"prev\": \"") + 9;

		crypto_hash_sha256(h, (const uint8_t *)lines[i - 1], strlen(lines[i - 1]));
		sl_hex_encode(h, sizeof(h), hex);
		memcpy(at, hex, 64);
	}
}

/* An attacker edits an early record and recomputes every prev: only the seal catches it. */
TEST(seal_catches_rechained_edit)
{
	const char *p = tpath("r.jsonl"), *q = tpath("r-bad.jsonl");
	char *lines[MAX_LINES], *at;
	const int all[] = {0, 1, 2, 3, 4, 5};
	size_t n;

	make_five(p);
	ASSERT_OK(cer_transcript_seal(p, seal_key, NULL));
	n = split(p, lines);
	ASSERT_EQ_INT(n, 6);
	at = strstr(lines[2], "\"version\": 1");
	at[11] = '5';
	rechain(lines, 3, n);
	join(q, lines, all, 6);
	ASSERT_OK(cer_transcript_verify(q, NULL, 0, NULL, NULL));
	expect_broken(q, cer_key_public(seal_key), 0, TUF_E_SIGNATURE, 6);
	free_lines(lines, n);

	/* A record renumbered and the chain recomputed: the seq gap is named. */
	n = split(p, lines);
	at = strstr(lines[2], "\"seq\": 3");
	at[7] = '9';
	rechain(lines, 3, n);
	join(q, lines, all, 6);
	expect_broken(q, NULL, 0, CER_E_CHAIN, 3);
	free_lines(lines, n);
}

TEST(bad_records_and_paths)
{
	const char *p = tpath("x.jsonl");
	struct cer_transcript_record rec = {.op = "sign"};
	char bad_utf8[] = {'a', (char)0xff, 'b', 0};
	struct stat st;

	rec.op = "seal";
	ASSERT_ERR(cer_transcript_append(p, &rec, NULL), SL_E_INVALID);
	rec.op = "Sign Off";
	ASSERT_ERR(cer_transcript_append(p, &rec, NULL), SL_E_INVALID);
	rec.op = "";
	ASSERT_ERR(cer_transcript_append(p, &rec, NULL), SL_E_INVALID);
	rec.op = "sign";
	rec.keyid = "ABCD";
	ASSERT_ERR(cer_transcript_append(p, &rec, NULL), SL_E_INVALID);
	rec.keyid = NULL;
	rec.sha256 = "00";
	ASSERT_ERR(cer_transcript_append(p, &rec, NULL), SL_E_INVALID);
	rec.sha256 = NULL;
	rec.version = -1;
	ASSERT_ERR(cer_transcript_append(p, &rec, NULL), SL_E_INVALID);
	rec.version = 0;
	ASSERT_TRUE(lstat(p, &st) < 0 && errno == ENOENT);

	/* A file name that would not read back is refused, leaving an empty transcript. */
	rec.file = bad_utf8;
	ASSERT_ERR(cer_transcript_append(p, &rec, NULL), SL_E_INVALID);
	ASSERT_OK(lstat(p, &st));
	ASSERT_EQ_INT(st.st_size, 0);
	/* Quotes, backslashes and control characters are escaped and read back. */
	rec.file = "we\"ird\\na\tme/é.json";
	ASSERT_OK(cer_transcript_append(p, &rec, NULL));
	ASSERT_OK(cer_transcript_verify(p, NULL, 0, NULL, NULL));

	/* Symlinks are not followed, for appending or verifying. */
	ASSERT_OK(symlink(p, tpath("link.jsonl")));
	ASSERT_ERR(cer_transcript_append(tpath("link.jsonl"), &rec, NULL), -ELOOP);
	ASSERT_ERR(cer_transcript_verify(tpath("link.jsonl"), NULL, 0, NULL, NULL), -ELOOP);
	ASSERT_ERR(cer_transcript_verify(tpath("none.jsonl"), NULL, 0, NULL, NULL), -ENOENT);
	ASSERT_ERR(cer_transcript_hash_file(tmpdir, (char[65]){0}), SL_E_INVALID);
}

TEST(hash_file)
{
	char hex[65];

	write_text(tpath("abc"), "abc");
	ASSERT_OK(cer_transcript_hash_file(tpath("abc"), hex));
	ASSERT_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
	ASSERT_OK(sl_secmem_init());
	ASSERT_OK(sl_mkdtemp_private(NULL, &tmpdir));
	ASSERT_OK(cer_keyfile_generate("root", "pw", 2, crypto_pwhash_argon2id_OPSLIMIT_MIN,
				       crypto_pwhash_argon2id_MEMLIMIT_MIN,
				       CER_KEYFILE_ALLOW_WEAK_KDF, tpath("seal.key"), &seal_key));
	ASSERT_OK(cer_keyfile_generate("root", "pw", 2, crypto_pwhash_argon2id_OPSLIMIT_MIN,
				       crypto_pwhash_argon2id_MEMLIMIT_MIN,
				       CER_KEYFILE_ALLOW_WEAK_KDF, tpath("other.key"), &other_key));
	RUN(chain_ok);
	RUN(chain_broken);
	RUN(seal);
	RUN(seal_catches_rechained_edit);
	RUN(bad_records_and_paths);
	RUN(hash_file);
	cer_key_free(seal_key);
	cer_key_free(other_key);
	ASSERT_OK(sl_rm_rf(tmpdir));
	free(tmpdir);
	return 0;
}
