/* SPDX-License-Identifier: Apache-2.0 */
/* Slot I/O: capacity, streaming writes through the TUF target check, and re-reading. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "slot.h"

int agent_slot_capacity(int fd, const char *path, uint64_t length, uint64_t *ret)
{
	struct statvfs vfs;
	struct stat st;
	uint64_t size, allocated;

	if (fstat(fd, &st) < 0)
		return sl_error(-errno, "%s: %s", path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0)
			return sl_error(-errno, "%s: cannot get the device size: %s", path,
					strerror(errno));
		*ret = size;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return sl_error(SL_E_CONFIG, "%s: a slot must be a block device or a regular file",
				path);
	size = (uint64_t)st.st_size;
	allocated = (uint64_t)st.st_blocks * 512;
	if (allocated < length && length <= size) {
		if (fstatvfs(fd, &vfs) < 0)
			return sl_error(-errno, "%s: %s", path, strerror(errno));
		if ((uint64_t)vfs.f_bavail * vfs.f_frsize < length - allocated)
			return sl_error(
			    -ENOSPC,
			    "%s: sparse slot needs %ju more bytes, the file system has %ju", path,
			    (uintmax_t)(length - allocated),
			    (uintmax_t)((uint64_t)vfs.f_bavail * vfs.f_frsize));
	}
	*ret = size;
	return 0;
}

int agent_hash_fd(int fd, uint64_t len, struct tuf_target_check *check, agent_progress_fn progress,
		  void *userdata)
{
	_cleanup_free_ uint8_t *buf = malloc(AGENT_IO_CHUNK);
	uint64_t off = 0;
	int r;

	if (!buf)
		return -ENOMEM;
	(void)posix_fadvise(fd, 0, (off_t)len, POSIX_FADV_DONTNEED);
	while (off < len) {
		size_t want = len - off < AGENT_IO_CHUNK ? (size_t)(len - off) : AGENT_IO_CHUNK;
		ssize_t k = pread(fd, buf, want, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return sl_error(-errno, "re-reading at %ju: %s", (uintmax_t)off,
					strerror(errno));
		if (k == 0)
			return sl_error(TUF_E_LENGTH, "re-reading: end of data at %ju of %ju bytes",
					(uintmax_t)off, (uintmax_t)len);
		r = tuf_target_check_update(check, buf, (size_t)k);
		if (r < 0)
			return r;
		off += (uint64_t)k;
		if (progress)
			progress(userdata, (uint64_t)k);
	}
	return 0;
}

static int sink(void *userdata, const void *data, size_t len)
{
	struct agent_stream *s = userdata;
	const uint8_t *p = data;
	uint64_t before = s->off;
	int r;

	r = tuf_target_check_update(s->check, data, len);
	if (r < 0)
		return r;
	for (size_t done = 0; done < len;) {
		ssize_t k = pwrite(s->fd, p + done, len - done, (off_t)(s->off + done));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return sl_error(-errno, "writing at %ju: %s", (uintmax_t)(s->off + done),
					strerror(errno));
		done += (size_t)k;
	}
	s->off += len;
	if (s->progress)
		s->progress(s->progress_userdata, len);
	if (s->checkpoint && s->off / AGENT_CHECKPOINT_BYTES != before / AGENT_CHECKPOINT_BYTES) {
		if (fdatasync(s->fd) < 0)
			return sl_error(-errno, "fdatasync: %s", strerror(errno));
		r = s->checkpoint(s->checkpoint_userdata, s->off);
		if (r < 0)
			return r;
	}
	return 0;
}

int agent_stream_fetch(struct tuf_fetcher *f, const char *url, uint64_t length,
		       struct agent_stream *s)
{
	int r;

	if (s->off < length) {
		r = tuf_fetcher_fetch(f, url, s->off, length - s->off, sink, s);
		if (r < 0)
			return r;
	}
	if (fdatasync(s->fd) < 0)
		return sl_error(-errno, "fdatasync: %s", strerror(errno));
	return 0;
}
