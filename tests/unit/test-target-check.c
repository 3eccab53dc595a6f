/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of length and hash checks: one-shot for metadata files, streaming for targets. */
#include <fcntl.h>

#include "error.h"
#include "fileio.h"
#include "test.h"
#include "tuf/metadata.h"

/* The content of target "file1.txt" in targets.json (see gen.py). */
static const char file1[] = "This is an example target file.";
#define FILE1_LEN (sizeof(file1) - 1)

static struct tuf_metadata *targets;
static const struct tuf_target *t1;

static int check_all(const struct tuf_target *t, const void *data, size_t len, size_t chunk)
{
	struct tuf_target_check *c = NULL;
	const uint8_t *p = data;
	int r = 0;

	ASSERT_OK(tuf_target_check_new(t, &c));
	for (size_t off = 0; off < len && r == 0; off += chunk)
		r = tuf_target_check_update(c, p + off, len - off < chunk ? len - off : chunk);
	if (r == 0)
		r = tuf_target_check_final(c);
	tuf_target_check_free(c);
	return r;
}

/* A target whose sha256 and sha512 are those of data, length len. */
static struct tuf_target make_target(const void *data, size_t len)
{
	struct tuf_target t = {.path = (char *)"made.bin", .length = len};

	t.hashes.h[0].alg = TUF_HASH_SHA256;
	t.hashes.h[1].alg = TUF_HASH_SHA512;
	ASSERT_OK(tuf_hash_buf(TUF_HASH_SHA256, data, len, t.hashes.h[0].digest));
	ASSERT_OK(tuf_hash_buf(TUF_HASH_SHA512, data, len, t.hashes.h[1].digest));
	t.hashes.n = 2;
	return t;
}

TEST(fixture_target)
{
	const char *dir = getenv("SLUICE_TEST_DATA");
	char path[4096];
	uint8_t *buf = NULL;
	size_t len;

	ASSERT_TRUE(dir);
	snprintf(path, sizeof(path), "%s/metadata/targets.json", dir);
	ASSERT_OK(sl_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len));
	ASSERT_OK(tuf_metadata_parse(buf, len, TUF_ROLE_TARGETS, &targets));
	free(buf);
	t1 = tuf_targets_find(&targets->u.targets, "file1.txt");
	ASSERT_TRUE(t1);
	ASSERT_EQ_INT(t1->length, FILE1_LEN);
	ASSERT_EQ_INT(t1->hashes.n, 2);

	/* Hashes computed by python's hashlib match ours, in any chunking. */
	ASSERT_OK(check_all(t1, file1, FILE1_LEN, FILE1_LEN));
	ASSERT_OK(check_all(t1, file1, FILE1_LEN, 1));
	ASSERT_OK(check_all(t1, file1, FILE1_LEN, 7));
}

TEST(substituted_bytes)
{
	char copy[sizeof(file1)];

	memcpy(copy, file1, sizeof(file1));
	copy[0] = 't';
	ASSERT_ERR(check_all(t1, copy, FILE1_LEN, 5), TUF_E_HASH);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_HASH), "file1.txt"));
	copy[0] = 'T';
	copy[FILE1_LEN - 1] = '!';
	ASSERT_ERR(check_all(t1, copy, FILE1_LEN, FILE1_LEN), TUF_E_HASH);
}

TEST(too_long_stops_at_limit)
{
	struct tuf_target_check *c = NULL;
	char longer[64];

	snprintf(longer, sizeof(longer), "%sX", file1);
	/* One chunk crossing the limit is refused whole. */
	ASSERT_OK(tuf_target_check_new(t1, &c));
	ASSERT_ERR(tuf_target_check_update(c, longer, FILE1_LEN + 1), TUF_E_LENGTH);
	ASSERT_EQ_INT(tuf_target_check_bytes(c), 0);
	/* The failure is sticky. */
	ASSERT_ERR(tuf_target_check_update(c, "", 0), TUF_E_LENGTH);
	ASSERT_ERR(tuf_target_check_final(c), TUF_E_LENGTH);
	tuf_target_check_free(c);

	/* Exactly the length, then the first byte past it. */
	ASSERT_OK(tuf_target_check_new(t1, &c));
	ASSERT_OK(tuf_target_check_update(c, longer, FILE1_LEN));
	ASSERT_EQ_INT(tuf_target_check_bytes(c), FILE1_LEN);
	ASSERT_ERR(tuf_target_check_update(c, longer + FILE1_LEN, 1), TUF_E_LENGTH);
	ASSERT_EQ_INT(tuf_target_check_bytes(c), FILE1_LEN);
	ASSERT_ERR(tuf_target_check_final(c), TUF_E_LENGTH);
	tuf_target_check_free(c);

	ASSERT_ERR(check_all(t1, longer, FILE1_LEN + 1, 1), TUF_E_LENGTH);
}

TEST(too_short)
{
	struct tuf_target_check *c = NULL;

	ASSERT_ERR(check_all(t1, file1, FILE1_LEN - 1, 4), TUF_E_LENGTH);
	ASSERT_ERR(check_all(t1, file1, 0, 1), TUF_E_LENGTH);
	ASSERT_OK(tuf_target_check_new(t1, &c));
	ASSERT_ERR(tuf_target_check_final(c), TUF_E_LENGTH);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_LENGTH), "file1.txt: 0 bytes, expected 31"));
	tuf_target_check_free(c);
}

TEST(every_hash_checked)
{
	struct tuf_target t = make_target(file1, FILE1_LEN);

	ASSERT_OK(check_all(&t, file1, FILE1_LEN, 3));
	/* Only the second (sha512) digest is wrong. */
	t.hashes.h[1].digest[63] ^= 0x80;
	ASSERT_ERR(check_all(&t, file1, FILE1_LEN, 3), TUF_E_HASH);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_HASH), "sha512"));
	/* Only the first. */
	t = make_target(file1, FILE1_LEN);
	t.hashes.h[0].digest[0] ^= 1;
	ASSERT_ERR(check_all(&t, file1, FILE1_LEN, 3), TUF_E_HASH);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_HASH), "sha256"));
}

TEST(empty_and_unhashed_targets)
{
	struct tuf_target t = make_target("", 0);
	struct tuf_target_check *c = NULL;
	const struct tuf_target *u;

	ASSERT_OK(check_all(&t, "", 0, 1));
	ASSERT_ERR(check_all(&t, "x", 1, 1), TUF_E_LENGTH);
	/* Unknown algorithms are skipped; the known one is still checked. */
	u = tuf_targets_find(&targets->u.targets, "unknown-alg.bin");
	ASSERT_TRUE(u);
	ASSERT_OK(check_all(u, "second file\n", 12, 5));
	ASSERT_ERR(check_all(u, "second File\n", 12, 5), TUF_E_HASH);
	/* A target with no supported hash cannot be checked at all. */
	t.hashes.n = 0;
	ASSERT_ERR(tuf_target_check_new(&t, &c), TUF_E_UNSUPPORTED);
	ASSERT_TRUE(c == NULL);
}

TEST(final_twice)
{
	struct tuf_target_check *c = NULL;

	ASSERT_OK(tuf_target_check_new(t1, &c));
	ASSERT_OK(tuf_target_check_update(c, file1, FILE1_LEN));
	ASSERT_OK(tuf_target_check_final(c));
	ASSERT_OK(tuf_target_check_final(c));
	tuf_target_check_free(c);
	ASSERT_TRUE(tuf_target_check_free(NULL) == NULL);
}

TEST(meta_file_check)
{
	struct tuf_target t = make_target(file1, FILE1_LEN);
	struct tuf_meta_file m = {.name = (char *)"x.json", .version = 1};

	/* Neither length nor hashes: anything goes (the version is checked elsewhere). */
	ASSERT_OK(tuf_meta_file_check(&m, "whatever", 8, "x.json"));
	ASSERT_OK(tuf_meta_file_check(&m, NULL, 0, "x.json"));
	m.has_length = true;
	m.length = FILE1_LEN;
	ASSERT_OK(tuf_meta_file_check(&m, file1, FILE1_LEN, "x.json"));
	ASSERT_ERR(tuf_meta_file_check(&m, file1, FILE1_LEN - 1, "x.json"), TUF_E_LENGTH);
	ASSERT_EQ_STR(sl_error_message(TUF_E_LENGTH),
		      "x.json: length 30 does not match expected 31");
	/* Same length, other bytes: only the length is known. */
	ASSERT_OK(tuf_meta_file_check(&m, "This is an example target file!", FILE1_LEN, "x.json"));
	m.has_hashes = true;
	m.hashes = t.hashes;
	ASSERT_OK(tuf_meta_file_check(&m, file1, FILE1_LEN, "x.json"));
	ASSERT_ERR(tuf_meta_file_check(&m, "This is an example target file!", FILE1_LEN, "x.json"),
		   TUF_E_HASH);
	ASSERT_EQ_STR(sl_error_message(TUF_E_HASH), "x.json: sha256 hash does not match");
	/* Hashes without a length. */
	m.has_length = false;
	ASSERT_ERR(tuf_meta_file_check(&m, file1, FILE1_LEN - 1, "x.json"), TUF_E_HASH);
	m.hashes.h[1].digest[5] ^= 4;
	ASSERT_ERR(tuf_meta_file_check(&m, file1, FILE1_LEN, "x.json"), TUF_E_HASH);
}

int main(void)
{
	RUN(fixture_target);
	RUN(substituted_bytes);
	RUN(too_long_stops_at_limit);
	RUN(too_short);
	RUN(every_hash_checked);
	RUN(empty_and_unhashed_targets);
	RUN(final_twice);
	RUN(meta_file_check);
	tuf_metadata_free(targets);
	return 0;
}
