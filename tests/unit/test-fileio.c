/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of bounded reads, atomic writes and hex helpers. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "test.h"

static char *dir;

/* A path inside the test directory; four rotating buffers so two can be used in one call. */
static char *path_in(const char *name)
{
	static char buf[4][4096];
	static unsigned i;
	char *b = buf[i++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", dir, name);
	return b;
}

static unsigned count_entries(const char *d)
{
	DIR *h = opendir(d);
	struct dirent *de;
	unsigned n = 0;

	ASSERT_TRUE(h);
	while ((de = readdir(h)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(h);
	return n;
}

TEST(atomic_write_and_read)
{
	uint8_t *buf;
	size_t len;
	struct stat st;

	ASSERT_OK(sl_write_file_atomic(path_in("a.json"), "hello", 5, 0640));
	ASSERT_OK(sl_read_file_at(AT_FDCWD, path_in("a.json"), 5, &buf, &len));
	ASSERT_EQ_INT(len, 5);
	ASSERT_EQ_MEM(buf, "hello", 5);
	ASSERT_EQ_INT(buf[5], 0);
	free(buf);
	ASSERT_OK(stat(path_in("a.json"), &st));
	ASSERT_EQ_INT(st.st_mode & 0777, 0640);
	/* Replace: old content gone, no temporary left behind. */
	ASSERT_OK(sl_write_file_atomic(path_in("a.json"), "bye", 3, 0644));
	ASSERT_OK(sl_read_file_at(AT_FDCWD, path_in("a.json"), 100, &buf, &len));
	ASSERT_EQ_INT(len, 3);
	free(buf);
	ASSERT_EQ_INT(count_entries(dir), 1);
	ASSERT_ERR(sl_write_file_atomic_at(AT_FDCWD, "x/y", "", 0, 0644), SL_E_INVALID);
}

TEST(bounded_read)
{
	uint8_t *buf = NULL;
	size_t len;
	char big[200000];

	memset(big, 'x', sizeof(big));
	ASSERT_OK(sl_write_file_atomic(path_in("big"), big, sizeof(big), 0644));
	ASSERT_ERR(sl_read_file_at(AT_FDCWD, path_in("big"), sizeof(big) - 1, &buf, &len), SL_E_TOO_LARGE);
	ASSERT_TRUE(buf == NULL);
	ASSERT_OK(sl_read_file_at(AT_FDCWD, path_in("big"), sizeof(big), &buf, &len));
	ASSERT_EQ_INT(len, sizeof(big));
	free(buf);

	/* A pipe has no size in stat: the cap must hold while reading. */
	int p[2];
	ASSERT_OK(pipe(p));
	ASSERT_OK(sl_write_all(p[1], big, 60000));
	close(p[1]);
	ASSERT_ERR(sl_read_fd(p[0], 1000, &buf, &len), SL_E_TOO_LARGE);
	close(p[0]);

	/* Symlinks and non-regular files are refused. */
	ASSERT_OK(symlink(path_in("big"), path_in("link")));
	ASSERT_ERR(sl_read_file_at(AT_FDCWD, path_in("link"), sizeof(big), &buf, &len), -ELOOP);
	ASSERT_OK(mkfifo(path_in("fifo"), 0600));
	ASSERT_ERR(sl_read_file_at(AT_FDCWD, path_in("fifo"), 10, &buf, &len), SL_E_INVALID);
	ASSERT_ERR(sl_read_file_at(AT_FDCWD, path_in("missing"), 10, &buf, &len), -ENOENT);
}

TEST(hex)
{
	uint8_t bin[4];
	char out[9];

	ASSERT_EQ_INT(sl_hex_decode("00fFa1", 6, bin, sizeof(bin)), 3);
	sl_hex_encode(bin, 3, out);
	ASSERT_EQ_STR(out, "00ffa1");
	ASSERT_ERR(sl_hex_decode("abc", 3, bin, sizeof(bin)), SL_E_INVALID);
	ASSERT_ERR(sl_hex_decode("zz", 2, bin, sizeof(bin)), SL_E_INVALID);
	ASSERT_ERR(sl_hex_decode("0011223344", 10, bin, sizeof(bin)), SL_E_INVALID);
}

TEST(mkdir_and_rm)
{
	struct stat st;

	ASSERT_OK(sl_mkdir_p(path_in("d1/d2/d3"), 0700));
	ASSERT_OK(stat(path_in("d1/d2/d3"), &st));
	ASSERT_TRUE(S_ISDIR(st.st_mode));
	ASSERT_OK(sl_write_file_atomic(path_in("d1/d2/f"), "x", 1, 0600));
	ASSERT_OK(symlink("/etc/passwd", path_in("d1/l")));
	ASSERT_OK(sl_rm_rf(path_in("d1")));
	ASSERT_ERR(stat(path_in("d1"), &st) < 0 ? -errno : 0, -ENOENT);
	ASSERT_OK(stat("/etc/passwd", &st)); /* the symlink target is untouched */
	ASSERT_OK(sl_rm_rf(path_in("never-existed")));
}

int main(void)
{
	ASSERT_OK(sl_mkdtemp_private(NULL, &dir));
	RUN(atomic_write_and_read);
	RUN(bounded_read);
	RUN(hex);
	RUN(mkdir_and_rm);
	ASSERT_OK(sl_rm_rf(dir));
	free(dir);
	return 0;
}
