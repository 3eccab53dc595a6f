/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for agent/untar.c: archives written byte by byte here, and by GNU tar and Python. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "test.h"
#include "untar.h"

#define RESERVED "m.tar"

/* ---- writing archives ---- */

struct tarb {
	uint8_t *buf;
	size_t len, cap;
};

static void put(struct tarb *t, const void *p, size_t n)
{
	if (n == 0) /* a member without data passes p == NULL */
		return;
	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2;
		t->buf = realloc(t->buf, t->cap);
		ASSERT_TRUE(t->buf);
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

static void put_zeros(struct tarb *t, size_t n)
{
	static const uint8_t z[512];

	while (n) {
		size_t k = n < sizeof(z) ? n : sizeof(z);
		put(t, z, k);
		n -= k;
	}
}

/* A POSIX ustar header with mode 0644 and a zero mtime; call seal() after any change. */
static void hdr(uint8_t h[512], const char *name, char type, uint64_t size)
{
	memset(h, 0, 512);
	memcpy(h, name, strnlen(name, 100));
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	for (int i = 10; i >= 0; i--, size >>= 3)
		h[124 + i] = (uint8_t)('0' + (size & 7));
	memcpy(h + 136, "00000000000", 11);
	h[156] = (uint8_t)type;
	memcpy(h + 257, "ustar\0" "00", 8);
}

static void seal(uint8_t h[512])
{
	unsigned sum = 0;

	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

static void put_data(struct tarb *t, const void *data, size_t n)
{
	put(t, data, n);
	put_zeros(t, (512 - n % 512) % 512);
}

static void member(struct tarb *t, const char *name, char type, const char *mode,
		   const void *data, size_t n)
{
	uint8_t h[512];

	hdr(h, name, type, n);
	if (mode)
		memcpy(h + 100, mode, 7);
	seal(h);
	put(t, h, 512);
	put_data(t, data, n);
}

static void file(struct tarb *t, const char *name, const char *content)
{
	member(t, name, '0', NULL, content, strlen(content));
}

static void dir(struct tarb *t, const char *name)
{
	member(t, name, '5', "0000755", NULL, 0);
}

/* A pax extended header ('x' or 'g') holding the records of text. */
static void pax(struct tarb *t, char type, const char *text, size_t n)
{
	member(t, "PaxHeaders/x", type, NULL, text, n);
}

static void pax_record(char *out, size_t cap, const char *key, const char *value)
{
	size_t body = strlen(key) + strlen(value) + 3, len = body + 1;

	while (snprintf(NULL, 0, "%zu", len) + body != len)
		len++;
	snprintf(out, cap, "%zu %s=%s\n", len, key, value);
}

static void end(struct tarb *t)
{
	put_zeros(t, 1024);
}

static void tarb_free(struct tarb *t)
{
	free(t->buf);
	*t = (struct tarb){};
}

/* ---- running them ---- */

static char *tmp_root;

static int memfd_of(const struct tarb *t)
{
	int fd = memfd_create("t.tar", MFD_CLOEXEC);

	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(sl_write_all(fd, t->buf, t->len));
	return fd;
}

/* A fresh destination directory holding only the reserved name (an empty file). */
static int fresh_dir(char **ret_path)
{
	static int n;
	char *p;
	int dfd, fd;

	ASSERT_TRUE(asprintf(&p, "%s/d%d", tmp_root, n++) > 0);
	ASSERT_TRUE(mkdir(p, 0755) == 0);
	dfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_TRUE(dfd >= 0);
	fd = openat(dfd, RESERVED, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ASSERT_TRUE(fd >= 0);
	close(fd);
	*ret_path = p;
	return dfd;
}

static size_t count_entries(int dfd)
{
	DIR *d = fdopendir(fcntl(dfd, F_DUPFD_CLOEXEC, 3));
	struct dirent *de;
	size_t n = 0;

	ASSERT_TRUE(d);
	rewinddir(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/*
 * Extract t with lim (NULL: defaults) into a fresh directory; a rejection must leave the
 * directory as it was (the scan refuses before anything is written). Returns the code.
 */
static int run_lim(struct tarb *t, const struct agent_untar_limits *lim)
{
	_cleanup_free_ char *path = NULL;
	int fd = memfd_of(t), dfd = fresh_dir(&path);
	int r, s;

	s = agent_untar_scan(fd, "t.tar", RESERVED, lim, NULL);
	r = agent_untar_extract(fd, "t.tar", dfd, RESERVED, lim, NULL);
	ASSERT_EQ_INT(r, s);
	if (r < 0)
		ASSERT_EQ_INT(count_entries(dfd), 1);
	else
		ASSERT_OK(agent_untar_verify(fd, "t.tar", dfd, RESERVED, lim));
	close(fd);
	close(dfd);
	tarb_free(t);
	return r;
}

static int run(struct tarb *t)
{
	return run_lim(t, NULL);
}

static void assert_message(int code, const char *fragment)
{
	const char *m = sl_error_message(code);

	if (!strstr(m, fragment)) {
		fprintf(stderr, "message '%s' lacks '%s'\n", m, fragment);
		abort();
	}
}

static char *read_at_path(int dfd, const char *path, mode_t *ret_mode)
{
	uint8_t *buf = NULL;
	size_t len;
	struct stat st;

	ASSERT_TRUE(fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0);
	*ret_mode = st.st_mode;
	ASSERT_OK(sl_read_file_at(dfd, path, 1 << 20, &buf, &len));
	return (char *)buf;
}

static mode_t mode_of(int dfd, const char *path)
{
	struct stat st;

	ASSERT_TRUE(fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0);
	return st.st_mode;
}

/* ---- accepted archives ---- */

TEST(is_archive)
{
	ASSERT_TRUE(agent_untar_is_archive("det.tar"));
	ASSERT_TRUE(!agent_untar_is_archive("det.onnx"));
	ASSERT_TRUE(!agent_untar_is_archive(".tar"));
	ASSERT_TRUE(!agent_untar_is_archive("det.tar.gz"));
	ASSERT_TRUE(!agent_untar_is_archive(NULL));
}

TEST(basic_tree_modes_and_verify)
{
	struct tarb t = {};
	_cleanup_free_ char *path = NULL, *a = NULL, *b = NULL, *c = NULL;
	struct agent_untar_stats st;
	uint8_t weights[3000];
	mode_t m;
	int fd, dfd;

	for (size_t i = 0; i < sizeof(weights); i++)
		weights[i] = (uint8_t)(i * 7);
	member(&t, "model/", '5', "0000700", NULL, 0);
	member(&t, "model/weights.bin", '0', "0000600", weights, sizeof(weights));
	file(&t, "model/labels.txt", "GOODMODEL\ncat\n");
	member(&t, "run.sh", '0', "0004755", "#!/bin/sh\n", 10); /* setuid dropped */
	member(&t, "empty", '\0', "0002644", NULL, 0);		  /* old type, setgid dropped */
	member(&t, "sticky/", '5', "0001777", NULL, 0);
	end(&t);
	fd = memfd_of(&t);
	dfd = fresh_dir(&path);
	ASSERT_OK(agent_untar_extract(fd, "t.tar", dfd, RESERVED, NULL, &st));
	ASSERT_EQ_INT(st.files, 4);
	ASSERT_EQ_INT(st.dirs, 2);
	ASSERT_EQ_INT(st.bytes, sizeof(weights) + 14 + 10);
	a = read_at_path(dfd, "model/labels.txt", &m);
	ASSERT_EQ_STR(a, "GOODMODEL\ncat\n");
	ASSERT_EQ_INT(m, S_IFREG | 0644);
	b = read_at_path(dfd, "run.sh", &m);
	ASSERT_EQ_INT(m, S_IFREG | 0755);
	c = read_at_path(dfd, "model/weights.bin", &m);
	ASSERT_EQ_MEM(c, weights, sizeof(weights));
	ASSERT_EQ_INT(m, S_IFREG | 0644);
	ASSERT_EQ_INT(mode_of(dfd, "empty"), S_IFREG | 0644);
	ASSERT_EQ_INT(mode_of(dfd, "model"), S_IFDIR | 0755);
	ASSERT_EQ_INT(mode_of(dfd, "sticky"), S_IFDIR | 0755);
	ASSERT_OK(agent_untar_verify(fd, "t.tar", dfd, RESERVED, NULL));
	ASSERT_EQ_INT(count_entries(dfd), 5);
	close(fd);
	close(dfd);
	tarb_free(&t);
}

TEST(dot_prefix_implied_parents_and_late_dir)
{
	struct tarb t = {};

	dir(&t, "./");
	file(&t, "./a/b/c.txt", "x");
	file(&t, "a/./d.txt", "y");
	dir(&t, "a/");	/* after its children: the implied directory, not a duplicate */
	dir(&t, "a/b"); /* without the trailing slash */
	dir(&t, ".");
	end(&t);
	ASSERT_OK(run(&t));
}

TEST(prefix_field)
{
	struct tarb t = {};
	uint8_t h[512];

	hdr(h, "name.txt", '0', 2);
	memcpy(h + 345, "some/prefix", 11);
	seal(h);
	put(&t, h, 512);
	put_data(&t, "hi", 2);
	end(&t);

	_cleanup_free_ char *path = NULL, *s = NULL;
	int fd = memfd_of(&t), dfd = fresh_dir(&path);
	mode_t m;

	ASSERT_OK(agent_untar_extract(fd, "t.tar", dfd, RESERVED, NULL, NULL));
	s = read_at_path(dfd, "some/prefix/name.txt", &m);
	ASSERT_EQ_STR(s, "hi");
	close(fd);
	close(dfd);
	tarb_free(&t);
}

TEST(pax_path_size_and_ignored_keywords)
{
	struct tarb t = {};
	char rec[600], all[2000] = "", longname[300];
	_cleanup_free_ char *path = NULL, *s = NULL;
	uint8_t h[512];
	mode_t m;
	int fd, dfd;

	memset(longname, 'p', 150);
	strcpy(longname + 150, "/file.txt");
	pax_record(rec, sizeof(rec), "path", longname);
	strcat(all, rec);
	pax_record(rec, sizeof(rec), "mtime", "1700000000.5");
	strcat(all, rec);
	pax_record(rec, sizeof(rec), "SCHILY.xattr.user.x", "y");
	strcat(all, rec);
	pax_record(rec, sizeof(rec), "size", "5");
	strcat(all, rec);
	pax(&t, 'x', all, strlen(all));
	hdr(h, "truncated-name", '0', 0); /* the pax size (5) wins */
	seal(h);
	put(&t, h, 512);
	put_data(&t, "hello", 5);
	pax_record(rec, sizeof(rec), "comment", "global");
	pax(&t, 'g', rec, strlen(rec));
	file(&t, "after-global", "z");
	end(&t);
	put_zeros(&t, 8192); /* record padding */
	fd = memfd_of(&t);
	dfd = fresh_dir(&path);
	ASSERT_OK(agent_untar_extract(fd, "t.tar", dfd, RESERVED, NULL, NULL));
	s = read_at_path(dfd, longname, &m);
	ASSERT_EQ_STR(s, "hello");
	ASSERT_TRUE(faccessat(dfd, "truncated-name", F_OK, AT_SYMLINK_NOFOLLOW) < 0);
	ASSERT_TRUE(faccessat(dfd, "after-global", F_OK, AT_SYMLINK_NOFOLLOW) == 0);
	close(fd);
	close(dfd);
	tarb_free(&t);
}

TEST(gnu_long_name)
{
	struct tarb t = {};
	char longname[200];
	uint8_t h[512];

	memset(longname, 'g', 120);
	strcpy(longname + 120, "/f");
	hdr(h, "././@LongLink", 'L', strlen(longname) + 1);
	memcpy(h + 257, "ustar  \0", 8);
	seal(h);
	put(&t, h, 512);
	put_data(&t, longname, strlen(longname) + 1);
	hdr(h, "ggg-truncated", '0', 1);
	memcpy(h + 257, "ustar  \0", 8);
	memcpy(h + 345, "junk-atime", 10); /* GNU: no prefix field; never read as a name */
	seal(h);
	put(&t, h, 512);
	put_data(&t, "1", 1);
	end(&t);
	ASSERT_OK(run(&t));
}

/* Archives from GNU tar and Python's tarfile (tests/unit/data/agent-untar/make-fixtures.sh). */
TEST(fixtures_from_real_tools)
{
	static const char *const names[] = {"gnu.tar",	      "posix.tar",  "ustar.tar",
					    "python-pax.tar", "python-gnu.tar", "python-global.tar"};
	const char *data = getenv("SLUICE_TEST_DATA");

	ASSERT_TRUE(data);
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		_cleanup_free_ char *src = NULL, *path = NULL, *s = NULL;
		struct agent_untar_stats st;
		int fd, dfd;
		mode_t m;

		ASSERT_TRUE(asprintf(&src, "%s/agent-untar/%s", data, names[i]) > 0);
		fd = open(src, O_RDONLY | O_CLOEXEC);
		ASSERT_TRUE(fd >= 0);
		dfd = fresh_dir(&path);
		ASSERT_OK(agent_untar_extract(fd, names[i], dfd, RESERVED, NULL, &st));
		ASSERT_OK(agent_untar_verify(fd, names[i], dfd, RESERVED, NULL));
		s = read_at_path(dfd, "model/labels.txt", &m);
		ASSERT_EQ_STR(s, "GOODMODEL\ncat\ndog\n");
		ASSERT_EQ_INT(mode_of(dfd, "model/run.sh"), S_IFREG | 0755);
		ASSERT_EQ_INT(st.bytes, 1024 + 28 + 18 + 18 + (strcmp(names[i], "ustar.tar") ? 5 : 0));
		close(fd);
		close(dfd);
	}
}

/* ---- malformed archives: SL_E_INVALID ---- */

TEST(bad_magic_and_checksum)
{
	struct tarb t = {};
	uint8_t h[512];

	hdr(h, "a", '0', 0);
	memcpy(h + 257, "ustar\0" "01", 8);
	seal(h);
	put(&t, h, 512);
	end(&t);
	ASSERT_ERR(run(&t), SL_E_INVALID);
	assert_message(SL_E_INVALID, "not a ustar header");

	hdr(h, "a", '0', 0);
	memset(h + 257, 0, 8); /* V7: no magic */
	seal(h);
	put(&t, h, 512);
	end(&t);
	ASSERT_ERR(run(&t), SL_E_INVALID);

	hdr(h, "a", '0', 0);
	seal(h);
	h[0] = 'b';
	put(&t, h, 512);
	end(&t);
	ASSERT_ERR(run(&t), SL_E_INVALID);
	assert_message(SL_E_INVALID, "checksum mismatch");

	hdr(h, "a", '0', 0);
	seal(h);
	h[150] = '9';
	put(&t, h, 512);
	end(&t);
	ASSERT_ERR(run(&t), SL_E_INVALID);
}

static int with_field(size_t off, const char *value, size_t n)
{
	struct tarb t = {};
	uint8_t h[512];

	hdr(h, "a", '0', 0);
	memcpy(h + off, value, n);
	seal(h);
	put(&t, h, 512);
	end(&t);
	return run(&t);
}

TEST(strict_octal)
{
	ASSERT_ERR(with_field(124, "0000000008\0", 12), SL_E_INVALID);	/* not octal */
	ASSERT_ERR(with_field(124, " 0000000000\0", 12), SL_E_INVALID); /* leading blank */
	ASSERT_ERR(with_field(124, "\x80\0\0\0\0\0\0\0\0\0\0\0", 12), SL_E_INVALID); /* base-256 */
	ASSERT_ERR(with_field(124, "\0\0\0\0\0\0\0\0\0\0\0\0", 12), SL_E_INVALID); /* empty */
	ASSERT_ERR(with_field(124, "00000 00000\0", 12), SL_E_INVALID);	       /* inner blank */
	assert_message(SL_E_INVALID, "bad size field");
	ASSERT_ERR(with_field(100, "06x4\0\0\0\0", 8), SL_E_INVALID);
	assert_message(SL_E_INVALID, "bad mode field");
	ASSERT_OK(with_field(124, "0 \0\0\0\0\0\0\0\0\0\0", 12)); /* terminators are fine */
}

TEST(truncation_and_end_of_archive)
{
	struct tarb t = {};
	uint8_t h[512];

	hdr(h, "a", '0', 1000); /* data cut short */
	seal(h);
	put(&t, h, 512);
	put_zeros(&t, 512);
	ASSERT_ERR(run(&t), SL_E_INVALID);
	assert_message(SL_E_INVALID, "truncated");

	file(&t, "a", "x"); /* no end blocks */
	ASSERT_ERR(run(&t), SL_E_INVALID);
	assert_message(SL_E_INVALID, "no end-of-archive blocks");

	file(&t, "a", "x");
	put_zeros(&t, 512); /* one zero block only */
	ASSERT_ERR(run(&t), SL_E_INVALID);
	assert_message(SL_E_INVALID, "two end an archive");

	file(&t, "a", "x");
	put_zeros(&t, 512);
	file(&t, "b", "y"); /* a lone zero block, then more members */
	end(&t);
	ASSERT_ERR(run(&t), SL_E_INVALID);
	assert_message(SL_E_INVALID, "lone zero block");

	file(&t, "a", "x");
	end(&t);
	put_zeros(&t, 1024);
	put(&t, "garbage", 7);
	put_zeros(&t, 512 - 7);
	ASSERT_ERR(run(&t), SL_E_INVALID);
	assert_message(SL_E_INVALID, "data after the end of the archive");

	file(&t, "a", "x");
	end(&t);
	put(&t, "\0\0\0", 3); /* not a whole number of blocks */
	ASSERT_ERR(run(&t), SL_E_INVALID);
	assert_message(SL_E_INVALID, "512-byte blocks");

	ASSERT_ERR(run(&t), SL_E_INVALID); /* an empty file */
}

TEST(padding_and_directory_data)
{
	struct tarb t = {};
	uint8_t h[512];

	hdr(h, "a", '0', 3);
	seal(h);
	put(&t, h, 512);
	put(&t, "abcX", 4); /* padding must be zero */
	put_zeros(&t, 508);
	end(&t);
	ASSERT_ERR(run(&t), SL_E_INVALID);
	assert_message(SL_E_INVALID, "non-zero padding");

	member(&t, "d/", '5', "0000755", "data", 4);
	end(&t);
	ASSERT_ERR(run(&t), SL_E_INVALID);
	assert_message(SL_E_INVALID, "a directory with data");
}

TEST(bad_extended_headers)
{
	struct tarb t = {};
	char rec[300];

	pax(&t, 'x', "13 path=abc\n", 12); /* length off by one */
	file(&t, "a", "x");
	end(&t);
	ASSERT_ERR(run(&t), SL_E_INVALID);
	assert_message(SL_E_INVALID, "malformed record");

	pax(&t, 'x', "010 path=a\n", 11); /* leading zero */
	file(&t, "a", "x");
	end(&t);
	ASSERT_ERR(run(&t), SL_E_INVALID);

	pax(&t, 'x', "7 =abc\n", 7); /* empty keyword */
	file(&t, "a", "x");
	end(&t);
	ASSERT_ERR(run(&t), SL_E_INVALID);

	pax(&t, 'x', "9 pathab\n", 9); /* no '=' */
	file(&t, "a", "x");
	end(&t);
	ASSERT_ERR(run(&t), SL_E_INVALID);

	pax_record(rec, sizeof(rec), "size", "-1");
	pax(&t, 'x', rec, strlen(rec));
	file(&t, "a", "x");
	end(&t);
	ASSERT_ERR(run(&t), SL_E_INVALID);

	pax_record(rec, sizeof(rec), "path", "a");
	pax(&t, 'x', rec, strlen(rec));
	end(&t);
	ASSERT_ERR(run(&t), SL_E_INVALID);
	assert_message(SL_E_INVALID, "extended header without a member");

	pax(&t, 'x', rec, strlen(rec));
	pax(&t, 'x', rec, strlen(rec));
	file(&t, "a", "x");
	end(&t);
	ASSERT_ERR(run(&t), SL_E_INVALID);
	assert_message(SL_E_INVALID, "two extended headers");
}

/* ---- member types: TUF_E_PATH (links, special files), TUF_E_UNSUPPORTED ---- */

TEST(only_files_and_directories)
{
	static const struct {
		char type;
		const char *what;
		int code;
	} cases[] = {{'1', "hard link", TUF_E_PATH},
		     {'2', "symbolic link", TUF_E_PATH},
		     {'3', "character device", TUF_E_PATH},
		     {'4', "block device", TUF_E_PATH},
		     {'6', "FIFO", TUF_E_PATH},
		     {'7', "contiguous file", TUF_E_UNSUPPORTED},
		     {'K', "long link", TUF_E_UNSUPPORTED},
		     {'S', "sparse", TUF_E_UNSUPPORTED},
		     {'M', "multi-volume", TUF_E_UNSUPPORTED},
		     {'V', "volume label", TUF_E_UNSUPPORTED},
		     {'D', "dump directory", TUF_E_UNSUPPORTED},
		     {'L', "long name in a POSIX", TUF_E_UNSUPPORTED},
		     {'Z', "unknown type", TUF_E_UNSUPPORTED},
		     {'A', "unknown type", TUF_E_UNSUPPORTED}};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct tarb t = {};
		uint8_t h[512];

		file(&t, "ok", "fine");
		hdr(h, "evil-member", cases[i].type, 0);
		memcpy(h + 157, "/etc/shadow", 11);
		seal(h);
		put(&t, h, 512);
		end(&t);
		ASSERT_ERR(run(&t), cases[i].code);
		assert_message(cases[i].code, "'evil-member'");
		assert_message(cases[i].code, cases[i].what);
	}
}

TEST(unsupported_pax_keywords)
{
	struct tarb t = {};
	char rec[300];

	pax_record(rec, sizeof(rec), "GNU.sparse.major", "1");
	pax(&t, 'x', rec, strlen(rec));
	file(&t, "a", "x");
	end(&t);
	ASSERT_ERR(run(&t), TUF_E_UNSUPPORTED);
	assert_message(TUF_E_UNSUPPORTED, "sparse");

	pax_record(rec, sizeof(rec), "frobnicate", "1");
	pax(&t, 'x', rec, strlen(rec));
	file(&t, "a", "x");
	end(&t);
	ASSERT_ERR(run(&t), TUF_E_UNSUPPORTED);
	assert_message(TUF_E_UNSUPPORTED, "'frobnicate'");

	pax_record(rec, sizeof(rec), "path", "everything/");
	pax(&t, 'g', rec, strlen(rec));
	file(&t, "a", "x");
	end(&t);
	ASSERT_ERR(run(&t), TUF_E_UNSUPPORTED);
	assert_message(TUF_E_UNSUPPORTED, "global");
}

/* ---- names: TUF_E_PATH ---- */

static int one_file(const char *name)
{
	struct tarb t = {};

	file(&t, name, "x");
	end(&t);
	return run(&t);
}

TEST(unsafe_names)
{
	ASSERT_ERR(one_file("/etc/passwd"), TUF_E_PATH);
	assert_message(TUF_E_PATH, "absolute path");
	ASSERT_ERR(one_file("../escape"), TUF_E_PATH);
	assert_message(TUF_E_PATH, "'..'");
	ASSERT_ERR(one_file("a/../../escape"), TUF_E_PATH);
	ASSERT_ERR(one_file("a/.."), TUF_E_PATH);
	ASSERT_ERR(one_file(""), TUF_E_PATH);
	assert_message(TUF_E_PATH, "empty name");
	ASSERT_ERR(one_file("."), TUF_E_PATH);
	ASSERT_ERR(one_file("a//b"), TUF_E_PATH);
	assert_message(TUF_E_PATH, "empty path component");
	ASSERT_ERR(one_file("a\nb"), TUF_E_PATH);
	assert_message(TUF_E_PATH, "control character");
	ASSERT_ERR(one_file("tab\there"), TUF_E_PATH);
	ASSERT_ERR(one_file("dir/"), TUF_E_PATH);
	assert_message(TUF_E_PATH, "ends in '/'");
	ASSERT_ERR(one_file(RESERVED), TUF_E_PATH);
	assert_message(TUF_E_PATH, "reserved");
	ASSERT_ERR(one_file("./" RESERVED), TUF_E_PATH);
	ASSERT_OK(one_file("sub/" RESERVED)); /* reserved at the top only */
	ASSERT_OK(one_file("..dots..")); /* not a ".." component */

	struct tarb t = {};
	char rec[64];

	memcpy(rec, "12 path=a\0b\n", 13); /* NUL inside a pax path */
	pax(&t, 'x', rec, 12);
	file(&t, "a", "x");
	end(&t);
	ASSERT_ERR(run(&t), TUF_E_PATH);
	assert_message(TUF_E_PATH, "NUL");

	pax_record(rec, sizeof(rec), "path", "/abs");
	pax(&t, 'x', rec, strlen(rec));
	file(&t, "harmless", "x");
	end(&t);
	ASSERT_ERR(run(&t), TUF_E_PATH);
}

TEST(duplicates_and_files_as_parents)
{
	struct tarb t = {};

	file(&t, "a", "1");
	file(&t, "a", "2");
	end(&t);
	ASSERT_ERR(run(&t), TUF_E_PATH);
	assert_message(TUF_E_PATH, "duplicate member");

	file(&t, "a", "1");
	file(&t, "./a", "2"); /* the same after normalisation */
	end(&t);
	ASSERT_ERR(run(&t), TUF_E_PATH);

	dir(&t, "d/");
	dir(&t, "d");
	end(&t);
	ASSERT_ERR(run(&t), TUF_E_PATH);

	file(&t, "d/f", "1");
	file(&t, "d", "2"); /* a file where a directory was implied */
	end(&t);
	ASSERT_ERR(run(&t), TUF_E_PATH);

	file(&t, "f", "1");
	dir(&t, "f/");
	end(&t);
	ASSERT_ERR(run(&t), TUF_E_PATH);

	file(&t, "f", "1");
	file(&t, "f/g", "2"); /* below a regular file */
	end(&t);
	ASSERT_ERR(run(&t), TUF_E_PATH);
	assert_message(TUF_E_PATH, "is a regular file");
}

/* ---- limits: SL_E_TOO_LARGE ---- */

TEST(limits)
{
	struct agent_untar_limits lim = {.max_members = 3, .max_bytes = 10, .max_path = 20,
					 .max_depth = 3};
	struct tarb t = {};
	char name[400];

	file(&t, "a", "1");
	file(&t, "b", "2");
	file(&t, "c", "3");
	end(&t);
	ASSERT_OK(run_lim(&t, &lim));
	file(&t, "a", "1");
	file(&t, "b", "2");
	file(&t, "c", "3");
	file(&t, "d", "4");
	end(&t);
	ASSERT_ERR(run_lim(&t, &lim), SL_E_TOO_LARGE);
	assert_message(SL_E_TOO_LARGE, "more than 3 files and directories");
	file(&t, "x/y/z", "1"); /* two implied directories count */
	file(&t, "w", "2");
	end(&t);
	ASSERT_ERR(run_lim(&t, &lim), SL_E_TOO_LARGE);

	file(&t, "a", "12345");
	file(&t, "b", "12345");
	end(&t);
	ASSERT_OK(run_lim(&t, &lim));
	file(&t, "a", "12345");
	file(&t, "b", "123456");
	end(&t);
	ASSERT_ERR(run_lim(&t, &lim), SL_E_TOO_LARGE);
	assert_message(SL_E_TOO_LARGE, "bytes unpacked");

	file(&t, "aaaaaaaaa/bbbbbbbbbb", "1"); /* 20 bytes */
	end(&t);
	ASSERT_OK(run_lim(&t, &lim));
	file(&t, "aaaaaaaaa/bbbbbbbbbbb", "1");
	end(&t);
	ASSERT_ERR(run_lim(&t, &lim), SL_E_TOO_LARGE);
	assert_message(SL_E_TOO_LARGE, "path longer");

	file(&t, "a/b/c", "1");
	end(&t);
	ASSERT_OK(run_lim(&t, &lim));
	dir(&t, "a/b/c/d/");
	end(&t);
	ASSERT_ERR(run_lim(&t, &lim), SL_E_TOO_LARGE);
	assert_message(SL_E_TOO_LARGE, "deeper");

	memset(name, 'n', 256);
	name[256] = '\0';
	char rec[400];
	pax_record(rec, sizeof(rec), "path", name);
	pax(&t, 'x', rec, strlen(rec));
	file(&t, "x", "1");
	end(&t);
	ASSERT_ERR(run(&t), SL_E_TOO_LARGE);
	assert_message(SL_E_TOO_LARGE, "255 bytes");
}

TEST(extension_caps)
{
	struct tarb t = {};
	_cleanup_free_ char *big = malloc(AGENT_UNTAR_MAX_EXT + 16);
	uint8_t h[512];
	size_t n = AGENT_UNTAR_MAX_EXT + 1;

	ASSERT_TRUE(big);
	memset(big, 'a', n);
	pax(&t, 'x', big, n);
	file(&t, "a", "x");
	end(&t);
	ASSERT_ERR(run(&t), SL_E_TOO_LARGE);
	assert_message(SL_E_TOO_LARGE, "extended header of");

	n = AGENT_UNTAR_MAX_PATH + 2;
	memset(big, 'l', n);
	big[n - 1] = '\0';
	hdr(h, "././@LongLink", 'L', n);
	memcpy(h + 257, "ustar  \0", 8);
	seal(h);
	put(&t, h, 512);
	put_data(&t, big, n);
	file(&t, "a", "x");
	end(&t);
	ASSERT_ERR(run(&t), SL_E_TOO_LARGE);
}

TEST(default_member_cap)
{
	struct tarb t = {};
	char name[32];

	for (unsigned i = 0; i <= AGENT_UNTAR_MAX_MEMBERS; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		member(&t, name, '0', NULL, NULL, 0);
	}
	end(&t);
	int fd = memfd_of(&t);
	ASSERT_ERR(agent_untar_scan(fd, "t.tar", NULL, NULL, NULL), SL_E_TOO_LARGE);
	close(fd);
	tarb_free(&t);
}

/* A sparse archive claiming one TiB of zeros: refused for room before anything is written. */
TEST(no_room)
{
	const struct agent_untar_limits lim = {.max_members = 10, .max_bytes = UINT64_MAX,
					       .max_path = 100, .max_depth = 4};
	const uint64_t huge = 1ull << 40;
	_cleanup_free_ char *path = NULL;
	struct tarb t = {};
	struct statvfs v;
	char rec[64];
	uint8_t h[512];
	int fd, dfd;

	pax_record(rec, sizeof(rec), "size", "1099511627776");
	pax(&t, 'x', rec, strlen(rec));
	hdr(h, "huge.bin", '0', 0);
	seal(h);
	put(&t, h, 512);
	fd = memfd_of(&t);
	ASSERT_TRUE(ftruncate(fd, (off_t)(t.len + huge + 1024)) == 0);
	dfd = fresh_dir(&path);
	ASSERT_TRUE(fstatvfs(dfd, &v) == 0);
	if ((uint64_t)v.f_bavail * v.f_frsize > huge) {
		fprintf(stderr, "skipping no_room: more than 1 TiB free\n");
	} else {
		ASSERT_ERR(agent_untar_extract(fd, "t.tar", dfd, RESERVED, &lim, NULL), -ENOSPC);
		assert_message(-ENOSPC, "unpacking needs");
		ASSERT_EQ_INT(count_entries(dfd), 1);
	}
	close(fd);
	close(dfd);
	tarb_free(&t);
}

TEST(destination_must_be_fresh)
{
	_cleanup_free_ char *path = NULL;
	struct tarb t = {};
	int fd, dfd;

	file(&t, "a", "x");
	end(&t);
	fd = memfd_of(&t);
	dfd = fresh_dir(&path);
	ASSERT_ERR(agent_untar_extract(fd, "t.tar", dfd, NULL, NULL, NULL), -ENOTEMPTY);
	ASSERT_OK(agent_untar_extract(fd, "t.tar", dfd, RESERVED, NULL, NULL));
	ASSERT_ERR(agent_untar_extract(fd, "t.tar", dfd, RESERVED, NULL, NULL), -ENOTEMPTY);
	close(fd);
	close(dfd);
	tarb_free(&t);
}

/* ---- verify: TUF_E_HASH for every way the tree can differ ---- */

static void tamper_case(void (*tamper)(int dfd))
{
	_cleanup_free_ char *path = NULL;
	struct tarb t = {};
	int fd, dfd;

	dir(&t, "d/");
	dir(&t, "d/empty/");
	file(&t, "d/f.txt", "content");
	member(&t, "x.sh", '0', "0000755", "#!", 2);
	end(&t);
	fd = memfd_of(&t);
	dfd = fresh_dir(&path);
	ASSERT_OK(agent_untar_extract(fd, "t.tar", dfd, RESERVED, NULL, NULL));
	ASSERT_OK(agent_untar_verify(fd, "t.tar", dfd, RESERVED, NULL));
	tamper(dfd);
	ASSERT_ERR(agent_untar_verify(fd, "t.tar", dfd, RESERVED, NULL), TUF_E_HASH);
	close(fd);
	close(dfd);
	tarb_free(&t);
}

static void overwrite(int dfd)
{
	int fd = openat(dfd, "d/f.txt", O_WRONLY);

	ASSERT_TRUE(fd >= 0 && pwrite(fd, "C", 1, 0) == 1);
	close(fd);
}

static void shorten(int dfd)
{
	int fd = openat(dfd, "d/f.txt", O_WRONLY);

	ASSERT_TRUE(fd >= 0 && ftruncate(fd, 3) == 0);
	close(fd);
}

static void chmod_file(int dfd)
{
	ASSERT_TRUE(fchmodat(dfd, "x.sh", 0644, 0) == 0);
}

static void chmod_dir(int dfd)
{
	ASSERT_TRUE(fchmodat(dfd, "d/empty", 0777, 0) == 0);
}

static void extra_file(int dfd)
{
	int fd = openat(dfd, "d/empty/new", O_WRONLY | O_CREAT | O_EXCL, 0644);

	ASSERT_TRUE(fd >= 0);
	close(fd);
}

static void missing_dir(int dfd)
{
	ASSERT_TRUE(unlinkat(dfd, "d/empty", AT_REMOVEDIR) == 0);
}

static void missing_file(int dfd)
{
	ASSERT_TRUE(unlinkat(dfd, "x.sh", 0) == 0);
}

static void symlinked(int dfd)
{
	ASSERT_TRUE(renameat(dfd, "d/f.txt", dfd, "moved") == 0);
	ASSERT_TRUE(symlinkat("../moved", dfd, "d/f.txt") == 0);
}

static void symlinked_dir(int dfd)
{
	ASSERT_TRUE(renameat(dfd, "d", dfd, "real") == 0);
	ASSERT_TRUE(symlinkat("real", dfd, "d") == 0);
}

TEST(verify_catches_changes)
{
	tamper_case(overwrite);
	assert_message(TUF_E_HASH, "'d/f.txt' has other content");
	tamper_case(shorten);
	tamper_case(chmod_file);
	tamper_case(chmod_dir);
	tamper_case(extra_file);
	assert_message(TUF_E_HASH, "'d/empty/new' is not in the archive");
	tamper_case(missing_dir);
	assert_message(TUF_E_HASH, "1 entries missing");
	tamper_case(missing_file);
	tamper_case(symlinked);
	tamper_case(symlinked_dir);
}

/* ---- the model slot's form ---- */

TEST(unpack_dir_and_verify_dir)
{
	_cleanup_free_ char *dir_path = NULL, *s = NULL;
	struct tarb t = {};
	int dfd;
	mode_t m;

	file(&t, "labels.txt", "GOODMODEL\n");
	end(&t);
	ASSERT_TRUE(asprintf(&dir_path, "%s/slot", tmp_root) > 0);
	ASSERT_TRUE(mkdir(dir_path, 0700) == 0);
	dfd = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_TRUE(dfd >= 0);
	ASSERT_OK(sl_write_file_atomic_at(dfd, "det.tar", t.buf, t.len, 0644));
	ASSERT_OK(agent_untar_unpack_dir(dir_path, "det.tar"));
	ASSERT_OK(agent_untar_verify_dir(dir_path, "det.tar"));
	s = read_at_path(dfd, "labels.txt", &m);
	ASSERT_EQ_STR(s, "GOODMODEL\n");
	ASSERT_ERR(agent_untar_unpack_dir(dir_path, "missing.tar"), -ENOENT);
	ASSERT_TRUE(symlinkat("det.tar", dfd, "link.tar") == 0);
	ASSERT_ERR(agent_untar_verify_dir(dir_path, "link.tar"), -ELOOP);
	close(dfd);
	tarb_free(&t);
}

int main(void)
{
	ASSERT_OK(sl_mkdtemp_private(NULL, &tmp_root));
	RUN(is_archive);
	RUN(basic_tree_modes_and_verify);
	RUN(dot_prefix_implied_parents_and_late_dir);
	RUN(prefix_field);
	RUN(pax_path_size_and_ignored_keywords);
	RUN(gnu_long_name);
	RUN(fixtures_from_real_tools);
	RUN(bad_magic_and_checksum);
	RUN(strict_octal);
	RUN(truncation_and_end_of_archive);
	RUN(padding_and_directory_data);
	RUN(bad_extended_headers);
	RUN(only_files_and_directories);
	RUN(unsupported_pax_keywords);
	RUN(unsafe_names);
	RUN(duplicates_and_files_as_parents);
	RUN(limits);
	RUN(extension_caps);
	RUN(default_member_cap);
	RUN(no_room);
	RUN(destination_must_be_fresh);
	RUN(verify_catches_changes);
	RUN(unpack_dir_and_verify_dir);
	ASSERT_OK(sl_rm_rf(tmp_root));
	free(tmp_root);
	return 0;
}
