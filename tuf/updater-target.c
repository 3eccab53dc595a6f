/* SPDX-License-Identifier: Apache-2.0 */
/* Target files (§5.7): URLs, verified downloads into place, checks of cached copies. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "tuf/updater.h"
#include "updater-internal.h"

#define TARGET_MODE 0644
#define TARGET_READ_CHUNK 65536

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '~' || c == '-';
}

/* Append the percent-encoding of len bytes of s to out (room for 3 * len bytes). */
static char *quote_into(char *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_unreserved(c)) {
			*out++ = (char)c;
		} else {
			*out++ = '%';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		}
	}
	return out;
}

int tuf_path_quote(const char *name, char **ret)
{
	size_t n = strlen(name);
	char *out, *end;

	if (n > (SIZE_MAX - 1) / 3)
		return -ENOMEM;
	out = malloc(3 * n + 1);
	if (!out)
		return -ENOMEM;
	end = quote_into(out, name, n);
	*end = '\0';
	*ret = out;
	return 0;
}

/* The hash named in consistent-snapshot target URLs: SHA-256 when listed, else the first. */
static const struct tuf_hash_entry *url_hash(const struct tuf_target *t)
{
	for (size_t i = 0; i < t->hashes.n; i++)
		if (t->hashes.h[i].alg == TUF_HASH_SHA256)
			return &t->hashes.h[i];
	return t->hashes.n > 0 ? &t->hashes.h[0] : NULL;
}

/*
 * A target path becomes URL path components, each percent-encoded. Components that a URL
 * would resolve ("." and ".."), empty ones and a leading '/' are refused, so a path can never
 * address anything outside target_base_url.
 */
static int check_target_path(const char *path)
{
	const char *p = path;

	if (!*p || *p == '/')
		return sl_error(TUF_E_PATH, "target path '%s': empty or absolute", path);
	for (;;) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return sl_error(TUF_E_PATH,
					"target path '%s': empty, '.' or '..' component", path);
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

int tuf_updater_target_url(struct tuf_updater *u, const struct tuf_target *t, char **ret_url)
{
	const struct tuf_hash_entry *h = NULL;
	char hexbuf[2 * TUF_HASH_MAX_SIZE + 1];
	size_t n = strlen(t->path), blen;
	const char *p = t->path;
	char *url, *o;
	int r;

	if (!u->target_base_url)
		return sl_error(SL_E_INVALID, "no target base URL configured");
	r = check_target_path(t->path);
	if (r < 0)
		return r;
	if (u->trusted[TUF_ROLE_ROOT]->u.root.consistent_snapshot) {
		h = url_hash(t);
		if (!h)
			return sl_error(TUF_E_FORMAT, "target '%s': no hash for its URL", t->path);
		sl_hex_encode(h->digest, tuf_hash_alg_size(h->alg), hexbuf);
	}
	blen = strlen(u->target_base_url);
	url = malloc(blen + 3 * n + sizeof(hexbuf) + 2);
	if (!url)
		return -ENOMEM;
	o = stpcpy(url, u->target_base_url);
	for (;;) {
		size_t k = strcspn(p, "/");

		if (!p[k] && h) /* the last component carries the hash prefix */
			o += sprintf(o, "%s.", hexbuf);
		o = quote_into(o, p, k);
		if (!p[k])
			break;
		*o++ = '/';
		p += k + 1;
	}
	*o = '\0';
	*ret_url = url;
	return 0;
}

static void target_check_freep(struct tuf_target_check **c)
{
	tuf_target_check_free(*c);
}

int tuf_updater_find_cached_target(struct tuf_updater *u, const struct tuf_target *t,
				   const char *filepath)
{
	_cleanup_(target_check_freep) struct tuf_target_check *c = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	fd = open(filepath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return sl_error(TUF_E_NOT_FOUND, "%s: not downloaded yet", filepath);
		return sl_error(-errno, "%s: %s", filepath, strerror(errno));
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return sl_error(TUF_E_PATH, "%s: not a regular file", filepath);
	if ((uint64_t)st.st_size != t->length)
		return sl_error(TUF_E_LENGTH, "%s: %jd bytes, target '%s' has %ju", filepath,
				(intmax_t)st.st_size, t->path, (uintmax_t)t->length);
	r = tuf_target_check_new(t, &c);
	if (r < 0)
		return r;
	buf = malloc(TARGET_READ_CHUNK);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t k = read(fd, buf, TARGET_READ_CHUNK);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return sl_error(-errno, "%s: %s", filepath, strerror(errno));
		}
		if (k == 0)
			break;
		r = tuf_target_check_update(c, buf, (size_t)k);
		if (r < 0)
			return r;
	}
	return tuf_target_check_final(c);
}

struct download {
	int fd;
	struct tuf_target_check *check;
};

/* Every byte is checked against the target's length before it is written. */
static int download_sink(void *userdata, const void *data, size_t len)
{
	struct download *d = userdata;
	int r;

	r = tuf_target_check_update(d->check, data, len);
	if (r < 0)
		return r;
	return sl_write_all(d->fd, data, len);
}

/* Split filepath into a malloc'd directory ("." when it has none). */
static int dir_of(const char *filepath, char **ret)
{
	const char *slash = strrchr(filepath, '/');

	if (!slash)
		*ret = strdup(".");
	else if (slash == filepath)
		*ret = strdup("/");
	else
		*ret = strndup(filepath, (size_t)(slash - filepath));
	return *ret ? 0 : -ENOMEM;
}

/* Fetch into the open temporary file, verify, and move it over filepath. */
static int download_into(struct tuf_updater *u, const struct tuf_target *t, const char *url, int fd,
			 const char *tmp, const char *filepath, const char *dir)
{
	struct download d = {.fd = fd};
	int r;

	r = tuf_target_check_new(t, &d.check);
	if (r < 0)
		return r;
	r = tuf_fetcher_fetch(u->fetcher, url, 0, t->length, download_sink, &d);
	if (r >= 0)
		r = tuf_target_check_final(d.check);
	tuf_target_check_free(d.check);
	if (r < 0)
		return r;
	if (fchmod(fd, TARGET_MODE) < 0 || fsync(fd) < 0)
		return sl_error(-errno, "%s: %s", tmp, strerror(errno));
	if (rename(tmp, filepath) < 0)
		return sl_error(-errno, "%s: cannot rename into place: %s", filepath,
				strerror(errno));
	r = sl_fsync_dir(dir);
	if (r < 0)
		return sl_error(r, "%s: fsync: %s", dir, sl_strerror(r));
	return 0;
}

int tuf_updater_download_target(struct tuf_updater *u, const struct tuf_target *t,
				const char *filepath)
{
	_cleanup_free_ char *url = NULL, *dir = NULL, *tmp = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (!u->fetcher)
		return sl_error(SL_E_INVALID, "no fetcher configured");
	r = tuf_updater_target_url(u, t, &url);
	if (r < 0)
		return r;
	r = dir_of(filepath, &dir);
	if (r < 0)
		return r;
	if (asprintf(&tmp, "%s/.sluice-download-XXXXXX", dir) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	fd = mkostemp(tmp, O_CLOEXEC); /* O_EXCL, mode 0600 until verified */
	if (fd < 0)
		return sl_error(-errno, "%s: cannot create a temporary file: %s", dir,
				strerror(errno));
	r = download_into(u, t, url, fd, tmp, filepath, dir);
	if (r < 0) {
		(void)unlink(tmp);
		return r;
	}
	return 0;
}
