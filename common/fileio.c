/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded reads and atomic writes. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "macro.h"

#define READ_CHUNK 65536

int sl_read_fd(int fd, size_t max, uint8_t **ret_buf, size_t *ret_len)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0, cap = 0;

	if (max > SIZE_MAX / 4)
		return -EINVAL;
	for (;;) {
		if (len + 1 >= cap) {
			/* Room for max + 1 bytes (to see that the limit is passed) and a NUL. */
			size_t ncap = cap ? cap * 2 : READ_CHUNK;
			uint8_t *n;

			if (ncap > max + 2)
				ncap = max + 2;
			n = realloc(buf, ncap);
			if (!n)
				return -ENOMEM;
			buf = n;
			cap = ncap;
		}
		ssize_t k = read(fd, buf + len, cap - len - 1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		len += (size_t)k;
		if (len > max)
			return sl_error(SL_E_TOO_LARGE, "file exceeds the limit of %zu bytes", max);
	}
	buf[len] = '\0';
	*ret_buf = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int sl_read_file_at(int dirfd, const char *path, size_t max, uint8_t **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return sl_error(SL_E_INVALID, "%s: not a regular file", path);
	if ((uintmax_t)st.st_size > max)
		return sl_error(SL_E_TOO_LARGE, "%s: %jd bytes exceeds the limit of %zu bytes", path,
				(intmax_t)st.st_size, max);
	return sl_read_fd(fd, max, ret_buf, ret_len);
}

int sl_write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t k = write(fd, p, len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

int sl_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	char tmp[NAME_MAX + 1];
	_cleanup_close_ int fd = -1;
	uint8_t rnd[6];
	char rhex[13];
	int r;

	if (!name[0] || strchr(name, '/') || strlen(name) > NAME_MAX - 20)
		return sl_error(SL_E_INVALID, "'%s': not a plain file name", name);
	/* A random suffix; the name starts with '.' so directory listings of served files skip it. */
	{
		_cleanup_close_ int ufd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		if (ufd < 0 || read(ufd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd))
			return -EIO;
	}
	sl_hex_encode(rnd, sizeof(rnd), rhex);
	snprintf(tmp, sizeof(tmp), ".%s.tmp-%s", name, rhex);

	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	r = sl_write_all(fd, data, len);
	if (r >= 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	if (fsync(dirfd) < 0)
		return -errno;
	return 0;
}

int sl_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	_cleanup_free_ char *dir = strdup(path);
	_cleanup_close_ int dfd = -1;
	const char *base;
	char *slash;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		base = slash + 1;
		dfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		base = dir;
		dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dfd < 0)
		return -errno;
	return sl_write_file_atomic_at(dfd, base, data, len, mode);
}

int sl_fsync_dir(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		return -errno;
	return 0;
}

int sl_mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int sl_mkdtemp_private(const char *parent, char **ret_path)
{
	const char *base = parent ? parent : getenv("TMPDIR");
	_cleanup_free_ char *p = NULL;

	if (!base || !base[0])
		base = "/tmp";
	if (asprintf(&p, "%s/sluice-XXXXXX", base) < 0)
		return -ENOMEM;
	if (!mkdtemp(p)) /* mkdtemp creates with 0700 */
		return -errno;
	*ret_path = TAKE_PTR(p);
	return 0;
}

static int rm_rf_at(int parent_fd, const char *name)
{
	_cleanup_close_ int fd = -1;
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d)
		return -errno;
	fd = -1; /* owned by d now */
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int k = rm_rf_at(dirfd(d), de->d_name);
		if (k < 0 && r == 0)
			r = k;
	}
	closedir(d);
	if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
		r = -errno;
	return r;
}

int sl_rm_rf(const char *path)
{
	return rm_rf_at(AT_FDCWD, path);
}

void sl_hex_encode(const uint8_t *bin, size_t len, char *ret)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		ret[2 * i] = hex[bin[i] >> 4];
		ret[2 * i + 1] = hex[bin[i] & 15];
	}
	ret[2 * len] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int sl_hex_decode(const char *hex, size_t hex_len, uint8_t *bin, size_t max_len)
{
	if (hex_len % 2 || hex_len / 2 > max_len)
		return SL_E_INVALID;
	for (size_t i = 0; i < hex_len / 2; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return SL_E_INVALID;
		bin[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(hex_len / 2);
}
