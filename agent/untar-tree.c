/* SPDX-License-Identifier: Apache-2.0 */
/* The tree side of untar: unpacking an archive under directory fds, comparing a tree with it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "untar-internal.h"

/* ---- unpacking ---- */

/*
 * Open the directory holding path's last component (*ret_last) below root, one O_NOFOLLOW
 * component at a time; create (0755) missing ones when create.
 */
static int open_parent(const struct reader *rd, int root, const char *path, bool create,
		       const char **ret_last)
{
	_cleanup_close_ int fd = fcntl(root, F_DUPFD_CLOEXEC, 3);
	const char *p = path, *slash;

	if (fd < 0)
		return sl_error(-errno, "%s: %s", rd->name, strerror(errno));
	while ((slash = strchr(p, '/'))) {
		char comp[AGENT_UNTAR_NAME_MAX + 1];
		int nfd;

		memcpy(comp, p, (size_t)(slash - p));
		comp[slash - p] = '\0';
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0700) < 0)
				return sl_error(-errno, "%s: %.*s: %s", rd->name, (int)(slash - path),
						path, strerror(errno));
			nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (nfd >= 0 && fchmod(nfd, 0755) < 0) {
				close(nfd);
				nfd = -1;
			}
		}
		if (nfd < 0)
			return sl_error(-errno, "%s: %.*s: %s", rd->name, (int)(slash - path), path,
					strerror(errno));
		close(fd);
		fd = nfd;
		p = slash + 1;
	}
	*ret_last = p;
	return TAKE_FD(fd);
}

static int copy_data(const struct reader *rd, const struct member *m, int fd, uint8_t *buf)
{
	for (uint64_t done = 0; done < m->size;) {
		size_t n = m->size - done < CHUNK ? (size_t)(m->size - done) : CHUNK;
		int r = untar_read_at(rd, buf, n, m->data + done);

		if (r >= 0)
			r = sl_write_all(fd, buf, n);
		if (r < 0)
			return sl_error(r, "%s: member '%s': %s", rd->name, m->label, sl_strerror(r));
		done += n;
	}
	return 0;
}

static int write_member(const struct reader *rd, int root, const struct member *m, uint8_t *buf)
{
	_cleanup_close_ int parent = -1, fd = -1;
	const char *last;
	int r;

	parent = open_parent(rd, root, m->path, true, &last);
	if (parent < 0)
		return parent;
	if (m->dir) {
		if (mkdirat(parent, last, 0700) < 0 && !(errno == EEXIST && m->existed))
			return sl_error(-errno, "%s: member '%s': %s", rd->name, m->label,
					strerror(errno));
		fd = openat(parent, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	} else {
		fd = openat(parent, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return sl_error(-errno, "%s: member '%s': %s", rd->name, m->label, strerror(errno));
	r = m->dir ? 0 : copy_data(rd, m, fd, buf);
	if (r >= 0 && fchmod(fd, m->mode) < 0)
		r = -errno;
	if (r >= 0 && !m->dir && fsync(fd) < 0)
		r = -errno;
	if (r < 0)
		return sl_error(r, "%s: member '%s': %s", rd->name, m->label, sl_strerror(r));
	return 0;
}

/* fsync every directory of the tree, the root last. */
static int sync_dirs(const struct reader *rd, int root)
{
	for (size_t i = 0; i < rd->set.cap; i++) {
		const struct entry *e = &rd->set.e[i];
		_cleanup_close_ int parent = -1, fd = -1;
		const char *last;

		if (!e->path || e->kind == E_FILE)
			continue;
		parent = open_parent(rd, root, e->path, false, &last);
		if (parent < 0)
			return parent;
		fd = openat(parent, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0)
			return sl_error(-errno, "%s: %s: %s", rd->name, e->path, strerror(errno));
	}
	if (fsync(root) < 0)
		return sl_error(-errno, "%s: %s", rd->name, strerror(errno));
	return 0;
}

/* dirfd holds nothing but reserved. */
static int check_fresh(const char *name, int dirfd, const char *reserved)
{
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (fd < 0 || !(d = fdopendir(fd))) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		return sl_error(r, "%s: destination: %s", name, strerror(-r));
	}
	rewinddir(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    !(reserved && !strcmp(de->d_name, reserved))) {
			r = sl_error(-ENOTEMPTY, "%s: destination is not empty ('%s')", name,
				     de->d_name);
			break;
		}
	closedir(d);
	return r;
}

static int check_room(const char *name, int dirfd, const struct agent_untar_stats *st)
{
	uint64_t entries = st->files + st->dirs, need, avail, bsize;
	struct statvfs v;

	if (fstatvfs(dirfd, &v) < 0)
		return sl_error(-errno, "%s: %s", name, strerror(errno));
	bsize = v.f_bsize ? v.f_bsize : 4096;
	need = st->bytes + (entries + 1) * bsize; /* a partial block per file, a block per dir */
	avail = (uint64_t)v.f_bavail * v.f_frsize;
	if (avail < need)
		return sl_error(-ENOSPC, "%s: unpacking needs %ju bytes, %ju are free", name,
				(uintmax_t)need, (uintmax_t)avail);
	if (v.f_files && (uint64_t)v.f_favail < entries)
		return sl_error(-ENOSPC, "%s: unpacking needs %ju inodes, %ju are free", name,
				(uintmax_t)entries, (uintmax_t)v.f_favail);
	return 0;
}

int agent_untar_extract(int fd, const char *name, int dirfd, const char *reserved,
			const struct agent_untar_limits *lim, struct agent_untar_stats *ret)
{
	_cleanup_(untar_reader_clear) struct reader rd;
	_cleanup_(untar_member_clear) struct member m = {};
	_cleanup_free_ uint8_t *buf = malloc(CHUNK);
	struct agent_untar_stats st;
	int r;

	r = untar_reader_init(&rd, fd, name, reserved, lim);
	while (r >= 0 && (r = untar_next_member(&rd, &m)) > 0)
		;
	if (r < 0)
		return r;
	if (!buf)
		return -ENOMEM;
	st = rd.st;
	r = check_fresh(name, dirfd, reserved);
	if (r >= 0)
		r = check_room(name, dirfd, &st);
	if (r < 0)
		return r;
	untar_reader_rewind(&rd);
	while ((r = untar_next_member(&rd, &m)) > 0) {
		r = write_member(&rd, dirfd, &m, buf);
		if (r < 0)
			return r;
	}
	if (r >= 0)
		r = sync_dirs(&rd, dirfd);
	if (r >= 0 && ret)
		*ret = st;
	return r;
}

/* ---- comparing an unpacked tree with its archive ---- */

static int differs(const struct reader *rd, const char *path, const char *why)
{
	return sl_error(TUF_E_HASH, "%s: the unpacked tree differs from the archive: '%s' %s",
			rd->name, path, why);
}

static int compare_file(const struct reader *rd, int root, const struct member *m, uint8_t *a,
			uint8_t *b)
{
	_cleanup_close_ int parent = -1, fd = -1;
	const char *last;
	struct stat st;
	int r;

	parent = open_parent(rd, root, m->path, false, &last);
	if (parent >= 0)
		fd = openat(parent, last, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (parent < 0 || fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return differs(rd, m->label, "is missing or not a regular file");
	if ((st.st_mode & 07777) != m->mode || (uint64_t)st.st_size != m->size)
		return differs(rd, m->label, "has another mode or size");
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	for (uint64_t done = 0; done < m->size;) {
		size_t n = m->size - done < CHUNK ? (size_t)(m->size - done) : CHUNK;
		ssize_t k = pread(fd, b, n, (off_t)done);

		r = untar_read_at(rd, a, n, m->data + done);
		if (r < 0)
			return r;
		if (k < 0)
			return sl_error(-errno, "%s: %s: %s", rd->name, m->label, strerror(errno));
		if ((size_t)k != n || memcmp(a, b, n) != 0)
			return differs(rd, m->label, "has other content");
		done += n;
	}
	return 0;
}

/* Every entry below dfd (path, len bytes, names it) must be in the set; returns the count. */
static int walk(const struct reader *rd, int dfd, char *path, size_t len, uint64_t *count)
{
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (fd < 0 || !(d = fdopendir(fd))) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		return sl_error(r, "%s: %s", rd->name, strerror(-r));
	}
	rewinddir(d);
	while (r >= 0 && (de = readdir(d))) {
		size_t n = strlen(de->d_name), plen = len ? len + 1 + n : n;
		const struct entry *e;
		_cleanup_close_ int sub = -1;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!len && rd->reserved && !strcmp(de->d_name, rd->reserved))
			continue;
		if (plen > rd->lim.max_path) {
			r = differs(rd, de->d_name, "is not in the archive");
			break;
		}
		if (len)
			path[len] = '/';
		memcpy(path + (len ? len + 1 : 0), de->d_name, n + 1);
		e = untar_set_find(&rd->set, path, plen);
		if (!e) {
			r = differs(rd, path, "is not in the archive");
			break;
		}
		(*count)++;
		if (e->kind == E_FILE)
			continue;
		sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 || fstat(sub, &st) < 0 || (st.st_mode & 07777) != 0755)
			r = differs(rd, path, "is not a 0755 directory");
		else
			r = walk(rd, sub, path, plen, count);
		path[len] = '\0';
	}
	closedir(d);
	return r;
}

int agent_untar_verify(int fd, const char *name, int dirfd, const char *reserved,
		       const struct agent_untar_limits *lim)
{
	_cleanup_(untar_reader_clear) struct reader rd;
	_cleanup_(untar_member_clear) struct member m = {};
	_cleanup_free_ uint8_t *a = malloc(CHUNK), *b = malloc(CHUNK);
	_cleanup_free_ char *path = NULL;
	uint64_t count = 0;
	int r;

	r = untar_reader_init(&rd, fd, name, reserved, lim);
	if (r < 0)
		return r;
	if (!a || !b || !(path = malloc(rd.lim.max_path + AGENT_UNTAR_NAME_MAX + 2)))
		return -ENOMEM;
	while ((r = untar_next_member(&rd, &m)) > 0)
		if (!m.dir && (r = compare_file(&rd, dirfd, &m, a, b)) < 0)
			return r;
	if (r < 0)
		return r;
	path[0] = '\0';
	r = walk(&rd, dirfd, path, 0, &count);
	if (r >= 0 && count != rd.set.n)
		r = sl_error(TUF_E_HASH,
			     "%s: the unpacked tree differs from the archive: %ju entries missing",
			     name, (uintmax_t)(rd.set.n - count));
	return r;
}

/* ---- the model slot's form ---- */

static int open_dir_and_archive(const char *dir, const char *archive, int *ret_dfd, int *ret_afd)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int afd;

	if (dfd < 0)
		return sl_error(-errno, "%s: %s", dir, strerror(errno));
	afd = openat(dfd, archive, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (afd < 0)
		return sl_error(-errno, "%s/%s: %s", dir, archive, strerror(errno));
	*ret_dfd = TAKE_FD(dfd);
	*ret_afd = afd;
	return 0;
}

int agent_untar_unpack_dir(const char *dir, const char *archive)
{
	_cleanup_close_ int dfd = -1, afd = -1;
	int r = open_dir_and_archive(dir, archive, &dfd, &afd);

	return r < 0 ? r : agent_untar_extract(afd, archive, dfd, archive, NULL, NULL);
}

int agent_untar_verify_dir(const char *dir, const char *archive)
{
	_cleanup_close_ int dfd = -1, afd = -1;
	int r = open_dir_and_archive(dir, archive, &dfd, &afd);

	return r < 0 ? r : agent_untar_verify(afd, archive, dfd, archive, NULL);
}
