/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a release bundle directory safely: its index (bundle.json), tree walk, bounded reads. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle.h"
#include "error.h"
#include "fileio.h"
#include "state.h"
#include "tuf/crypto.h"
#include "tuf/json.h"
#include "tuf/writer.h"

struct cp_bundle *cp_bundle_free(struct cp_bundle *b)
{
	if (!b)
		return NULL;
	if (b->dirfd >= 0)
		close(b->dirfd);
	for (size_t i = 0; i < b->n_files; i++)
		free(b->files[i].path);
	for (size_t i = 0; i < b->n_meta; i++) {
		free(b->meta[i].role);
		free(b->meta[i].path);
	}
	free(b->files);
	free(b->meta);
	free(b->dir);
	free(b->release);
	free(b->version);
	free(b);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cp_bundle *, cp_bundle_free)

/* Relative, '/'-separated, no empty, "." or ".." component, no control characters. */
static int check_rel_path(const char *p)
{
	const char *c = p;

	if (!*p || strlen(p) > TUF_MAX_TARGET_PATH + 16)
		return cp_error(TUF_E_PATH, "bundle.json: path '%.64s' is empty or too long", p);
	for (const char *q = p; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f || *q == '\\')
			return cp_error(TUF_E_PATH, "bundle.json: path '%.256s' has a control or "
						    "backslash character", p);
	while (*c) {
		const char *e = strchrnul(c, '/');
		size_t n = (size_t)(e - c);

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return cp_error(TUF_E_PATH, "bundle.json: unsafe path '%.256s'", p);
		c = *e ? e + 1 : e;
		if (*e && !*c)
			return cp_error(TUF_E_PATH, "bundle.json: unsafe path '%.256s'", p);
	}
	return 0;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct cp_bundle_file *)a)->path,
		      ((const struct cp_bundle_file *)b)->path);
}

struct cp_bundle_file *cp_bundle_find(struct cp_bundle *b, const char *path)
{
	struct cp_bundle_file key = {.path = (char *)path};

	return bsearch(&key, b->files, b->n_files, sizeof(key), cmp_file);
}

static int parse_files(struct cp_bundle *b, struct json_object *arr)
{
	size_t n = json_object_array_length(arr);

	if (n > CP_BUNDLE_MAX_FILES)
		return cp_error(CP_E_BUNDLE, "bundle.json: %zu files exceed the limit of %u", n,
				CP_BUNDLE_MAX_FILES);
	b->files = calloc(n ? n : 1, sizeof(*b->files));
	if (!b->files)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *f = json_object_array_get_idx(arr, i);
		struct cp_bundle_file *e = &b->files[i];
		const char *path, *hash;
		int64_t len;
		int r;

		if (!json_object_is_type(f, json_type_object) ||
		    json_object_object_length(f) != 3 ||
		    tuf_json_get_string(f, "path", &path) < 0 ||
		    tuf_json_get_string(f, "sha256", &hash) < 0 ||
		    tuf_json_get_int(f, "length", 0, &len) < 0)
			return cp_error(TUF_E_FORMAT, "bundle.json: files[%zu] is not {path, length, "
						      "sha256}", i);
		r = check_rel_path(path);
		if (r < 0)
			return r;
		if (strlen(hash) != 64 || strspn(hash, "0123456789abcdef") != 64)
			return cp_error(TUF_E_FORMAT, "bundle.json: files[%zu].sha256 is not 64 "
						      "lower-case hex digits", i);
		if (strncmp(path, "metadata/", 9) != 0 && strncmp(path, "targets/", 8) != 0)
			return cp_error(CP_E_BUNDLE, "bundle.json: '%.256s' is neither under "
						     "metadata/ nor under targets/", path);
		e->path = strdup(path);
		if (!e->path)
			return -ENOMEM;
		e->length = (uint64_t)len;
		memcpy(e->sha256, hash, 65);
		b->n_files++;
		if (b->total_bytes + e->length > CP_BUNDLE_MAX_BYTES)
			return cp_error(CP_E_BUNDLE, "bundle.json: files exceed %" PRIu64 " bytes",
					CP_BUNDLE_MAX_BYTES);
		b->total_bytes += e->length;
	}
	qsort(b->files, b->n_files, sizeof(*b->files), cmp_file);
	for (size_t i = 1; i < b->n_files; i++)
		if (strcmp(b->files[i - 1].path, b->files[i].path) == 0)
			return cp_error(TUF_E_FORMAT, "bundle.json: '%.256s' listed twice",
					b->files[i].path);
	return 0;
}

static int parse_one_meta(struct cp_bundle *b, struct json_object *m, size_t i)
{
	struct cp_bundle_meta *e = &b->meta[i];
	_cleanup_free_ char *name = NULL;
	const char *role, *path;
	int64_t version;
	int r;

	if (!json_object_is_type(m, json_type_object) || json_object_object_length(m) != 3 ||
	    tuf_json_get_string(m, "role", &role) < 0 ||
	    tuf_json_get_string(m, "path", &path) < 0 ||
	    tuf_json_get_int(m, "version", 1, &version) < 0)
		return cp_error(TUF_E_FORMAT, "bundle.json: metadata[%zu] is not {role, version, "
					      "path}", i);
	if (!*role || strlen(role) > TUF_MAX_ROLENAME_LEN || strcmp(role, "timestamp") == 0 ||
	    strcmp(role, "snapshot") == 0)
		return cp_error(CP_E_BUNDLE, "bundle.json: metadata[%zu]: role '%.64s' cannot be "
					     "in a bundle", i, role);
	r = tuf_writer_metadata_filename(role, (uint64_t)version, true, &name);
	if (r < 0)
		return r;
	if (strncmp(path, "metadata/", 9) != 0 || strcmp(path + 9, name) != 0)
		return cp_error(CP_E_BUNDLE, "bundle.json: metadata[%zu]: path '%.256s' is not "
					     "metadata/%s", i, path, name);
	if (!cp_bundle_find(b, path))
		return cp_error(CP_E_BUNDLE, "bundle.json: metadata[%zu]: '%.256s' is not in "
					     "\"files\"", i, path);
	for (size_t j = 0; j < i; j++)
		if (strcmp(b->meta[j].path, path) == 0)
			return cp_error(TUF_E_FORMAT, "bundle.json: metadata '%.256s' listed twice",
					path);
	e->role = strdup(role);
	e->path = strdup(path);
	if (!e->role || !e->path)
		return -ENOMEM;
	e->version = (uint64_t)version;
	b->n_meta++;
	return 0;
}

static int parse_index(struct cp_bundle *b, const uint8_t *buf, size_t len)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct json_object *files, *meta;
	const char *release, *version;
	int64_t format;
	size_t n;
	int r;

	r = tuf_json_parse(buf, len, 8, &o);
	if (r < 0)
		return cp_error(r, "bundle.json: %s", sl_error_message(r));
	if (!json_object_is_type(o, json_type_object) ||
	    tuf_json_get_int(o, "sluice_bundle", 0, &format) < 0 ||
	    tuf_json_get_string(o, "release", &release) < 0 ||
	    tuf_json_get_string(o, "version", &version) < 0 ||
	    tuf_json_get_array(o, "metadata", &meta) < 0 ||
	    tuf_json_get_array(o, "files", &files) < 0)
		return cp_error(TUF_E_FORMAT, "bundle.json: %s", sl_error_message(TUF_E_FORMAT));
	json_object_object_foreach(o, key, val) {
		static const char *const known[] = {"sluice_bundle", "release", "version",
						    "created", "metadata", "files"};
		bool ok = false;

		(void)val;
		for (size_t i = 0; i < ELEMENTSOF(known); i++)
			ok = ok || strcmp(key, known[i]) == 0;
		if (!ok)
			return cp_error(TUF_E_FORMAT, "bundle.json: unknown member '%.64s'", key);
	}
	if (format != CP_BUNDLE_FORMAT)
		return cp_error(TUF_E_UNSUPPORTED, "bundle.json: format %" PRId64 " is not %d",
				format, CP_BUNDLE_FORMAT);
	if (!*release || strlen(release) > CP_BUNDLE_NAME_MAX || strlen(version) > CP_BUNDLE_NAME_MAX)
		return cp_error(TUF_E_FORMAT, "bundle.json: release or version empty or longer "
					      "than %d bytes", CP_BUNDLE_NAME_MAX);
	b->release = strdup(release);
	b->version = strdup(version);
	if (!b->release || !b->version)
		return -ENOMEM;
	r = parse_files(b, files);
	if (r < 0)
		return r;
	n = json_object_array_length(meta);
	if (n > CP_BUNDLE_MAX_FILES)
		return cp_error(CP_E_BUNDLE, "bundle.json: too many metadata entries");
	b->meta = calloc(n ? n : 1, sizeof(*b->meta));
	if (!b->meta)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = parse_one_meta(b, json_object_array_get_idx(meta, i), i);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- Tree walk: every entry is a directory or a listed regular file of the listed size ---- */

struct walk {
	struct cp_bundle *b;
	size_t seen;
};

static int walk_dir(struct walk *w, int dfd, const char *prefix, unsigned depth);

static int walk_entry(struct walk *w, int dfd, const char *prefix, const char *name,
		      unsigned depth)
{
	_cleanup_free_ char *rel = NULL;
	struct cp_bundle_file *f;
	struct stat st;

	if (asprintf(&rel, "%s%s", prefix, name) < 0)
		return -ENOMEM;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return cp_error(-errno, "bundle: %s: %m", rel);
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int sub = -1;
		_cleanup_free_ char *p = NULL;

		if (depth >= CP_BUNDLE_MAX_DEPTH)
			return cp_error(CP_E_BUNDLE, "bundle: %.256s: deeper than %d levels", rel,
					CP_BUNDLE_MAX_DEPTH);
		sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return cp_error(CP_E_BUNDLE, "bundle: %.256s: %m", rel);
		if (asprintf(&p, "%s/", rel) < 0)
			return -ENOMEM;
		return walk_dir(w, sub, p, depth + 1);
	}
	if (depth == 0 && strcmp(name, "bundle.json") == 0 && S_ISREG(st.st_mode))
		return 0;
	if (!S_ISREG(st.st_mode))
		return cp_error(CP_E_BUNDLE, "bundle: %.256s is a %s, not a regular file", rel,
				S_ISLNK(st.st_mode) ? "symlink" : S_ISFIFO(st.st_mode) ? "FIFO" :
				S_ISSOCK(st.st_mode) ? "socket" : "device");
	if (++w->seen > CP_BUNDLE_MAX_FILES)
		return cp_error(CP_E_BUNDLE, "bundle: more than %d files", CP_BUNDLE_MAX_FILES);
	f = cp_bundle_find(w->b, rel);
	if (!f)
		return cp_error(CP_E_BUNDLE, "bundle: %.256s is not listed in bundle.json", rel);
	if ((uint64_t)st.st_size != f->length)
		return cp_error(TUF_E_LENGTH, "bundle: %.256s is %jd bytes, bundle.json says %" PRIu64,
				rel, (intmax_t)st.st_size, f->length);
	return 0;
}

static int walk_dir(struct walk *w, int dfd, const char *prefix, unsigned depth)
{
	DIR *d;
	struct dirent *de;
	int r = 0, fd = dup(dfd);

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		r = walk_entry(w, dfd, prefix, de->d_name, depth);
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

/* Every metadata/ file listed must be a "metadata" entry. */
static int check_metadata_listed(struct cp_bundle *b)
{
	for (size_t i = 0; i < b->n_files; i++) {
		bool found = false;

		if (strncmp(b->files[i].path, "metadata/", 9) != 0)
			continue;
		if (strchr(b->files[i].path + 9, '/'))
			return cp_error(CP_E_BUNDLE, "bundle: %.256s: metadata/ has no "
						     "subdirectories", b->files[i].path);
		for (size_t j = 0; j < b->n_meta && !found; j++)
			found = strcmp(b->meta[j].path, b->files[i].path) == 0;
		if (!found)
			return cp_error(CP_E_BUNDLE, "bundle: %.256s is not a \"metadata\" entry of "
						     "bundle.json", b->files[i].path);
	}
	return 0;
}

int cp_bundle_open(const char *dir, struct cp_bundle **ret)
{
	_cleanup_(cp_bundle_freep) struct cp_bundle *b = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	struct walk w = {};
	size_t len;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->dirfd = -1;
	b->dir = strdup(dir);
	if (!b->dir)
		return -ENOMEM;
	b->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (b->dirfd < 0)
		return cp_error(CP_E_BUNDLE, "%s: cannot open bundle directory: %m", dir);
	r = sl_read_file_at(b->dirfd, "bundle.json", CP_BUNDLE_INDEX_MAX, &buf, &len);
	if (r == SL_E_TOO_LARGE)
		return cp_error(r, "%s/bundle.json: larger than %u bytes", dir, CP_BUNDLE_INDEX_MAX);
	if (r < 0)
		return cp_error(CP_E_BUNDLE, "%s/bundle.json: cannot read: %s", dir,
				r == -ELOOP ? "is a symlink" : sl_strerror(r));
	r = tuf_sha256_hex(buf, len, b->index_sha256);
	if (r < 0)
		return r;
	r = parse_index(b, buf, len);
	if (r < 0)
		return r;
	w.b = b;
	r = walk_dir(&w, b->dirfd, "", 0);
	if (r < 0)
		return r;
	if (w.seen != b->n_files)
		for (size_t i = 0; i < b->n_files; i++) {
			struct stat st;

			if (fstatat(b->dirfd, b->files[i].path, &st, AT_SYMLINK_NOFOLLOW) < 0)
				return cp_error(CP_E_BUNDLE, "bundle: %.256s is listed in "
							     "bundle.json but missing",
						b->files[i].path);
		}
	r = check_metadata_listed(b);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(b);
	return 0;
}

int cp_bundle_open_file(struct cp_bundle *b, const char *path, int *ret_fd)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int fd = -1;
	char *c, *slash;
	struct stat st;

	if (!copy)
		return -ENOMEM;
	fd = dup(b->dirfd);
	if (fd < 0)
		return -errno;
	for (c = copy; (slash = strchr(c, '/')); c = slash + 1) {
		int sub;

		*slash = '\0';
		sub = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return cp_error(CP_E_BUNDLE, "bundle: %.256s: %m", path);
		close(fd);
		fd = sub;
	}
	{
		int f = openat(fd, c, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

		if (f < 0)
			return cp_error(CP_E_BUNDLE, "bundle: %.256s: %m", path);
		close(fd);
		fd = f;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return cp_error(CP_E_BUNDLE, "bundle: %.256s is not a regular file", path);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int cp_bundle_read(struct cp_bundle *b, const char *path, size_t max, uint8_t **ret_buf,
		   size_t *ret_len)
{
	struct cp_bundle_file *f = cp_bundle_find(b, path);
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_close_ int fd = -1;
	char hex[65];
	size_t len;
	int r;

	if (!f)
		return cp_error(CP_E_BUNDLE, "bundle: %.256s is not listed in bundle.json", path);
	if (f->length > max)
		return cp_error(TUF_E_TOO_LARGE, "bundle: %.256s: %" PRIu64 " bytes exceed the limit "
				"of %zu", path, f->length, max);
	r = cp_bundle_open_file(b, path, &fd);
	if (r < 0)
		return r;
	r = sl_read_fd(fd, max, &buf, &len);
	if (r == SL_E_TOO_LARGE)
		return cp_error(TUF_E_TOO_LARGE, "bundle: %.256s: more than %zu bytes", path, max);
	if (r < 0)
		return cp_error(r, "bundle: %.256s: %s", path, sl_strerror(r));
	if (len != f->length)
		return cp_error(TUF_E_LENGTH, "bundle: %.256s is %zu bytes, bundle.json says %" PRIu64,
				path, len, f->length);
	r = tuf_sha256_hex(buf, len, hex);
	if (r < 0)
		return r;
	if (strcmp(hex, f->sha256) != 0)
		return cp_error(TUF_E_HASH, "bundle: %.256s: sha256 differs from bundle.json", path);
	*ret_buf = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}
