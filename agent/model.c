/* SPDX-License-Identifier: Apache-2.0 */
/* Model slots: staging verified model files and swapping the `current` symlink atomically. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "model.h"
#include "untar.h"
#include "util.h"

#define LINK_MAX_LEN 128

static char *model_dir(const char *models_dir, const char *name, const char *sub)
{
	char *p;

	if (asprintf(&p, "%s/%s%s%s", models_dir, name, sub ? "/" : "", sub ? sub : "") < 0)
		return NULL;
	return p;
}

char *agent_model_file_path(const char *models_dir, const struct agent_item *it)
{
	char *p;

	if (asprintf(&p, "%s/%s/%s/%s", models_dir, it->model, it->sha256, it->file) < 0)
		return NULL;
	return p;
}

static int verify_file(const char *path, const struct tuf_target *t)
{
	_cleanup_(tuf_target_check_freep) struct tuf_target_check *c = NULL;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int r;

	if (fd < 0)
		return sl_error(-errno, "%s: %s", path, strerror(errno));
	r = tuf_target_check_new(t, &c);
	if (r < 0)
		return r;
	r = agent_hash_fd(fd, t->length, c, NULL, NULL);
	if (r >= 0) {
		char extra;
		if (pread(fd, &extra, 1, (off_t)t->length) > 0)
			r = sl_error(TUF_E_LENGTH, "%s: longer than %ju bytes", path,
				     (uintmax_t)t->length);
	}
	if (r >= 0)
		r = tuf_target_check_final(c);
	if (r < 0)
		return sl_error(r, "%s: %s", path, sl_error_message(r));
	return 0;
}

int agent_model_verify(const char *models_dir, const struct agent_item *it,
		       const struct tuf_target *t)
{
	_cleanup_free_ char *p = agent_model_file_path(models_dir, it);
	_cleanup_free_ char *d = model_dir(models_dir, it->model, it->sha256);
	int r;

	if (!p || !d)
		return -ENOMEM;
	r = verify_file(p, t);
	if (r >= 0 && agent_untar_is_archive(it->file))
		r = agent_untar_verify_dir(d, it->file); /* the tree unpacked next to it */
	return r;
}

static int check_space(const char *dir, uint64_t need)
{
	struct statvfs vfs;

	if (statvfs(dir, &vfs) < 0)
		return sl_error(-errno, "%s: %s", dir, strerror(errno));
	if ((uint64_t)vfs.f_bavail * vfs.f_frsize < need)
		return sl_error(-ENOSPC, "%s: the model needs %ju bytes, %ju are free", dir,
				(uintmax_t)need,
				(uintmax_t)((uint64_t)vfs.f_bavail * vfs.f_frsize));
	return 0;
}

int agent_model_check_space(const char *models_dir, const struct agent_release *rel)
{
	_cleanup_free_ char *at = strdup(models_dir);
	struct statvfs vfs;
	uint64_t need = 0, avail, block;

	if (!at)
		return -ENOMEM;
	/* models_dir may not exist yet: ask the file system it will be created on. */
	while (statvfs(at, &vfs) < 0) {
		char *slash = strrchr(at, '/');

		if (errno != ENOENT || !slash || !at[1])
			return sl_error(-errno, "%s: %s", models_dir, strerror(errno));
		slash[slash == at] = '\0'; /* the parent; "/x" becomes "/" */
	}
	block = vfs.f_frsize ? vfs.f_frsize : 1;
	for (size_t i = 0; i < rel->n; i++) {
		const struct agent_rtarget *it = &rel->items[i];
		const char *base = strrchr(it->t->path, '/');
		_cleanup_free_ char *dest = NULL;
		char hex[65] = "";
		uint64_t len = it->t->length;
		struct stat st;

		if (strcmp(it->kind, "model") != 0)
			continue;
		for (size_t h = 0; h < it->t->hashes.n; h++)
			if (it->t->hashes.h[h].alg == TUF_HASH_SHA256)
				sl_hex_encode(it->t->hashes.h[h].digest, 32, hex);
		dest = model_dir(models_dir, it->model, hex);
		if (!dest)
			return -ENOMEM;
		if (hex[0] && lstat(dest, &st) == 0)
			continue; /* already staged: kept when it verifies, re-checked when staged */
		/* An archive is kept next to the tree unpacked from it (at most its size again). */
		if (agent_untar_is_archive(base ? base + 1 : it->t->path))
			len = len > UINT64_MAX / 2 ? UINT64_MAX : 2 * len;
		len = len > UINT64_MAX - block ? UINT64_MAX : (len + block - 1) / block * block;
		need = need > UINT64_MAX - len ? UINT64_MAX : need + len;
	}
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (need > avail)
		return sl_error(-ENOSPC,
				"%s: release %s needs %ju bytes for its models, the file system has "
				"%ju free",
				models_dir, rel->release, (uintmax_t)need, (uintmax_t)avail);
	return 0;
}

static int fetch_into(const char *tmpdir, const struct agent_item *it, struct tuf_fetcher *f,
		      const char *url, const struct tuf_target *t, agent_progress_fn progress,
		      void *userdata)
{
	_cleanup_(tuf_target_check_freep) struct tuf_target_check *c = NULL;
	_cleanup_free_ char *p = agent_path(tmpdir, it->file);
	_cleanup_close_ int fd = -1;
	struct agent_stream s = {.progress = progress, .progress_userdata = userdata};
	int r;

	if (!p)
		return -ENOMEM;
	fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return sl_error(-errno, "%s: %s", p, strerror(errno));
	r = tuf_target_check_new(t, &c);
	if (r < 0)
		return r;
	s.fd = fd;
	s.check = c;
	r = agent_stream_fetch(f, url, t->length, &s);
	if (r >= 0)
		r = tuf_target_check_final(c);
	if (r < 0)
		return r;
	if (fsync(fd) < 0)
		return -errno;
	return sl_fsync_dir(tmpdir);
}

int agent_model_stage(const char *models_dir, const struct agent_item *it, struct tuf_fetcher *f,
		      const char *url, const struct tuf_target *t, agent_progress_fn progress,
		      void *userdata)
{
	_cleanup_free_ char *dir = model_dir(models_dir, it->model, NULL);
	_cleanup_free_ char *dest = model_dir(models_dir, it->model, it->sha256);
	_cleanup_free_ char *tmp = NULL;
	struct stat st;
	int r;

	if (!dir || !dest)
		return -ENOMEM;
	r = sl_mkdir_p(dir, 0755);
	if (r < 0)
		return sl_error(r, "%s: cannot create: %s", dir, sl_strerror(r));
	if (lstat(dest, &st) == 0) {
		if (agent_model_verify(models_dir, it, t) >= 0)
			return 0; /* staged by an earlier, interrupted run */
		r = sl_rm_rf(dest);
		if (r < 0)
			return r;
	}
	r = check_space(dir, t->length);
	if (r < 0)
		return r;
	r = sl_mkdtemp_private(dir, &tmp);
	if (r < 0)
		return sl_error(r, "%s: cannot create a staging directory: %s", dir,
				sl_strerror(r));
	r = fetch_into(tmp, it, f, url, t, progress, userdata);
	if (r >= 0 && agent_untar_is_archive(it->file))
		r = agent_untar_unpack_dir(tmp, it->file);
	if (r >= 0 && chmod(tmp, 0755) < 0)
		r = -errno;
	if (r >= 0 && rename(tmp, dest) < 0)
		r = sl_error(-errno, "%s: cannot rename into place: %s", dest, strerror(errno));
	if (r >= 0)
		r = sl_fsync_dir(dir);
	if (r < 0)
		sl_rm_rf(tmp);
	return r;
}

int agent_model_current(const char *models_dir, const char *name, char **ret_sha256)
{
	_cleanup_free_ char *link = model_dir(models_dir, name, "current");
	char buf[LINK_MAX_LEN + 1];
	ssize_t n;

	if (!link)
		return -ENOMEM;
	n = readlink(link, buf, LINK_MAX_LEN);
	if (n < 0)
		return errno == ENOENT ? -ENOENT
				       : sl_error(-errno, "%s: %s", link, strerror(errno));
	if (n == LINK_MAX_LEN)
		return sl_error(TUF_E_STATE, "%s: link target too long", link);
	buf[n] = '\0';
	*ret_sha256 = strdup(buf);
	return *ret_sha256 ? 0 : -ENOMEM;
}

int agent_model_point(const char *models_dir, const char *name, const char *sha256)
{
	_cleanup_free_ char *dir = model_dir(models_dir, name, NULL);
	_cleanup_free_ char *link = model_dir(models_dir, name, "current");
	_cleanup_free_ char *tmp = model_dir(models_dir, name, ".current.tmp");
	int r;

	if (!dir || !link || !tmp)
		return -ENOMEM;
	r = sl_mkdir_p(dir, 0755);
	if (r < 0)
		return r;
	if (!sha256) {
		if (unlink(link) < 0 && errno != ENOENT)
			return sl_error(-errno, "%s: %s", link, strerror(errno));
		return sl_fsync_dir(dir);
	}
	(void)unlink(tmp);
	if (symlink(sha256, tmp) < 0)
		return sl_error(-errno, "%s: %s", tmp, strerror(errno));
	if (rename(tmp, link) < 0) {
		r = -errno;
		(void)unlink(tmp);
		return sl_error(r, "%s: cannot swap: %s", link, strerror(-r));
	}
	return sl_fsync_dir(dir);
}

int agent_model_remove(const char *models_dir, const char *name, const char *sha256)
{
	_cleanup_free_ char *d = model_dir(models_dir, name, sha256);

	return d ? sl_rm_rf(d) : -ENOMEM;
}
