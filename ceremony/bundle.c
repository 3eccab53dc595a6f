/* SPDX-License-Identifier: Apache-2.0 */
/* bundle.json: the index of a release bundle, written over a directory walk and checked. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bundle.h"
#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "transcript.h"
#include "tuf/json.h"

#define INDEX_DEPTH 5
#define PATH_MAX_LEN 4096

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cer_bundle *, cer_bundle_free)

/* The files found below a directory, relative paths (sorted after the walk). */
struct walk {
	char **paths;
	size_t n;
};

static void walk_clear(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->paths[i]);
	free(w->paths);
	*w = (struct walk){0};
}

static int walk_add(struct walk *w, const char *rel)
{
	char **p;

	if (w->n >= CER_BUNDLE_MAX_FILES)
		return sl_error(SL_E_TOO_LARGE, "more than %d files in the bundle",
				CER_BUNDLE_MAX_FILES);
	p = realloc(w->paths, (w->n + 1) * sizeof(*p));
	if (!p)
		return sl_error(SL_E_NOMEM, "out of memory");
	w->paths = p;
	w->paths[w->n] = strdup(rel);
	if (!w->paths[w->n])
		return sl_error(SL_E_NOMEM, "out of memory");
	w->n++;
	return 0;
}

static int walk_dir(const char *root, const char *rel, unsigned depth, struct walk *w)
{
	_cleanup_free_ char *abs = NULL;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (depth > CER_BUNDLE_MAX_DEPTH)
		return sl_error(SL_E_TOO_LARGE, "%s/%s: deeper than %d levels", root, rel,
				CER_BUNDLE_MAX_DEPTH);
	if (asprintf(&abs, "%s%s%s", root, rel[0] ? "/" : "", rel) < 0)
		return sl_error(SL_E_NOMEM, "out of memory");
	d = opendir(abs);
	if (!d)
		return sl_error(-errno, "%s: cannot open: %s", abs, strerror(errno));
	while (r >= 0 && (de = readdir(d))) {
		_cleanup_free_ char *child = NULL, *child_abs = NULL;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (asprintf(&child, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) < 0 ||
		    asprintf(&child_abs, "%s/%s", abs, de->d_name) < 0) {
			r = sl_error(SL_E_NOMEM, "out of memory");
			break;
		}
		if (lstat(child_abs, &st) < 0)
			r = sl_error(-errno, "%s: %s", child_abs, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			r = walk_dir(root, child, depth + 1, w);
		else if (!S_ISREG(st.st_mode))
			r = sl_error(SL_E_INVALID, "%s: not a regular file or directory",
				     child_abs);
		else if (depth > 0 || strcmp(child, CER_BUNDLE_INDEX_NAME) != 0)
			r = walk_add(w, child);
	}
	closedir(d);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(const char *dir, struct walk *w)
{
	int r = walk_dir(dir, "", 0, w);

	if (r < 0) {
		walk_clear(w);
		return r;
	}
	qsort(w->paths, w->n, sizeof(*w->paths), cmp_str);
	return 0;
}

/* Length and SHA-256 hex of dir/rel, a regular file (no symlink). */
static int file_facts(const char *dir, const char *rel, uint64_t *ret_len, char ret_hex[65])
{
	_cleanup_free_ char *abs = NULL;
	struct stat st;
	int r;

	if (asprintf(&abs, "%s/%s", dir, rel) < 0)
		return sl_error(SL_E_NOMEM, "out of memory");
	if (lstat(abs, &st) < 0)
		return sl_error(-errno, "%s: %s", abs, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return sl_error(SL_E_INVALID, "%s: not a regular file", abs);
	r = cer_transcript_hash_file(abs, ret_hex);
	if (r < 0)
		return r;
	*ret_len = (uint64_t)st.st_size;
	return 0;
}

static int put(struct json_object *o, const char *k, struct json_object *v)
{
	if (!v || json_object_object_add(o, k, v) < 0) {
		json_object_put(v);
		return sl_error(SL_E_NOMEM, "out of memory");
	}
	return 0;
}

static int append(struct json_object *arr, struct json_object *v)
{
	if (!v || json_object_array_add(arr, v) < 0) {
		json_object_put(v);
		return sl_error(SL_E_NOMEM, "out of memory");
	}
	return 0;
}

static int index_files(const char *dir, const struct walk *w, struct json_object *files)
{
	for (size_t i = 0; i < w->n; i++) {
		struct json_object *f = json_object_new_object();
		char hex[65];
		uint64_t len;
		int r;

		r = append(files, f);
		if (r >= 0)
			r = file_facts(dir, w->paths[i], &len, hex);
		if (r >= 0)
			r = put(f, "path", json_object_new_string(w->paths[i]));
		if (r >= 0)
			r = put(f, "length", json_object_new_int64((int64_t)len));
		if (r >= 0)
			r = put(f, "sha256", json_object_new_string(hex));
		if (r < 0)
			return r;
	}
	return 0;
}

static int index_meta(const struct cer_bundle_meta *meta, size_t n, struct json_object *arr)
{
	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_new_object();
		int r;

		r = append(arr, m);
		if (r >= 0)
			r = put(m, "role", json_object_new_string(meta[i].role));
		if (r >= 0)
			r = put(m, "version", json_object_new_int64((int64_t)meta[i].version));
		if (r >= 0)
			r = put(m, "path", json_object_new_string(meta[i].path));
		if (r < 0)
			return r;
	}
	return 0;
}

int cer_bundle_write_index(const char *dir, const char *release, const char *version,
			   const struct cer_bundle_meta *meta, size_t n)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	_cleanup_free_ char *text = NULL, *path = NULL;
	struct json_object *files = json_object_new_array(), *metas = json_object_new_array();
	struct walk w = {0};
	char created[21];
	int r;

	assert(dir && release && version);
	if (!o) {
		json_object_put(files);
		json_object_put(metas);
		return sl_error(SL_E_NOMEM, "out of memory");
	}
	tuf_json_format_time((int64_t)time(NULL), created);
	r = put(o, "sluice_bundle", json_object_new_int(CER_BUNDLE_FORMAT));
	if (r >= 0)
		r = put(o, "release", json_object_new_string(release));
	if (r >= 0)
		r = put(o, "version", json_object_new_string(version));
	if (r >= 0)
		r = put(o, "created", json_object_new_string(created));
	if (put(o, "metadata", metas) >= 0 && r >= 0)
		r = index_meta(meta, n, metas);
	if (put(o, "files", files) >= 0 && r >= 0)
		r = walk(dir, &w);
	if (r >= 0)
		r = index_files(dir, &w, files);
	walk_clear(&w);
	if (r < 0)
		return r;
	if (asprintf(&text, "%s\n",
		     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_SPACED |
							   JSON_C_TO_STRING_NOSLASHESCAPE)) < 0 ||
	    asprintf(&path, "%s/" CER_BUNDLE_INDEX_NAME, dir) < 0)
		return sl_error(SL_E_NOMEM, "out of memory");
	return sl_write_file_atomic(path, text, strlen(text), 0644);
}

/* A relative path of safe components. */
static bool safe_path(const char *p)
{
	if (!p[0] || p[0] == '/' || strlen(p) > PATH_MAX_LEN)
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/' && *++p == '\0')
			return false;
	}
	return true;
}

static int check_file_entry(const char *dir, struct json_object *f, size_t i, const char **ret)
{
	const char *path, *sha;
	char hex[65];
	int64_t len;
	uint64_t real_len;
	int r;

	if (!json_object_is_type(f, json_type_object) || tuf_json_get_string(f, "path", &path) ||
	    tuf_json_get_int(f, "length", 0, &len) || tuf_json_get_string(f, "sha256", &sha) ||
	    json_object_object_length(f) != 3)
		return sl_error(TUF_E_FORMAT,
				CER_BUNDLE_INDEX_NAME ": files[%zu] is not "
						      "{path, length, sha256}",
				i);
	if (!safe_path(path))
		return sl_error(TUF_E_PATH, CER_BUNDLE_INDEX_NAME ": files[%zu]: unsafe path '%s'",
				i, path);
	r = file_facts(dir, path, &real_len, hex);
	if (r < 0)
		return r;
	if (real_len != (uint64_t)len)
		return sl_error(TUF_E_LENGTH, "%s: %" PRIu64 " bytes, bundle.json says %" PRId64,
				path, real_len, len);
	if (strcmp(hex, sha) != 0)
		return sl_error(TUF_E_HASH, "%s: sha256 %.16s… differs from bundle.json's %.16s…",
				path, hex, sha);
	*ret = path;
	return 0;
}

/* Check every listed file, and that the listing equals the directory's files. */
static int check_files(const char *dir, struct json_object *files, struct cer_bundle *b)
{
	_cleanup_free_ const char **listed = NULL;
	struct walk w = {0};
	size_t n = json_object_array_length(files);
	int r = 0;

	if (n > CER_BUNDLE_MAX_FILES)
		return sl_error(SL_E_TOO_LARGE, CER_BUNDLE_INDEX_NAME ": more than %d files",
				CER_BUNDLE_MAX_FILES);
	listed = calloc(n ? n : 1, sizeof(*listed));
	if (!listed)
		return sl_error(SL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n && r >= 0; i++) {
		r = check_file_entry(dir, json_object_array_get_idx(files, i), i, &listed[i]);
		if (r >= 0)
			b->total_bytes += (uint64_t)json_object_get_int64(
			    json_object_object_get(json_object_array_get_idx(files, i), "length"));
	}
	if (r >= 0)
		r = walk(dir, &w);
	if (r < 0)
		return r;
	qsort(listed, n, sizeof(*listed), cmp_str);
	for (size_t i = 0; i < w.n && r >= 0; i++)
		if (i >= n || strcmp(w.paths[i], listed[i]) != 0)
			r = sl_error(
			    SL_E_INVALID, "%s: not listed in bundle.json (or listed twice)",
			    i < n && strcmp(w.paths[i], listed[i]) > 0 ? listed[i] : w.paths[i]);
	if (r >= 0 && w.n != n)
		r = sl_error(SL_E_INVALID,
			     CER_BUNDLE_INDEX_NAME ": lists %zu files, the bundle "
						   "holds %zu",
			     n, w.n);
	walk_clear(&w);
	b->n_files = n;
	return r;
}

static int check_meta(struct json_object *arr, struct json_object *files, struct cer_bundle *b)
{
	size_t n = json_object_array_length(arr);

	if (n > CER_BUNDLE_MAX_FILES)
		return sl_error(SL_E_TOO_LARGE,
				CER_BUNDLE_INDEX_NAME ": too many metadata entries");
	b->meta = calloc(n ? n : 1, sizeof(*b->meta));
	if (!b->meta)
		return sl_error(SL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(arr, i);
		struct cer_bundle_meta *e = &b->meta[i];
		bool found = false;
		int64_t v;

		if (!json_object_is_type(m, json_type_object) ||
		    tuf_json_get_string(m, "role", &e->role) ||
		    tuf_json_get_int(m, "version", 1, &v) ||
		    tuf_json_get_string(m, "path", &e->path) || json_object_object_length(m) != 3)
			return sl_error(TUF_E_FORMAT,
					CER_BUNDLE_INDEX_NAME ": metadata[%zu] is not "
							      "{role, version, path}",
					i);
		e->version = (uint64_t)v;
		for (size_t k = 0; k < json_object_array_length(files) && !found; k++)
			found = strcmp(json_object_get_string(json_object_object_get(
					   json_object_array_get_idx(files, k), "path")),
				       e->path) == 0;
		if (!found)
			return sl_error(TUF_E_FORMAT,
					CER_BUNDLE_INDEX_NAME ": metadata[%zu] names "
							      "'%s', which is not in files",
					i, e->path);
		b->n_meta++;
	}
	return 0;
}

int cer_bundle_check(const char *dir, struct cer_bundle **ret)
{
	static const char *const members[] = {"sluice_bundle", "release", "version", "created",
					      "metadata",      "files",	  NULL};
	_cleanup_(cer_bundle_freep) struct cer_bundle *b = calloc(1, sizeof(*b));
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_free_ char *path = NULL;
	struct json_object *metas, *files;
	const char *created;
	int64_t format, t;
	size_t len;
	int r;

	if (!b || asprintf(&path, "%s/" CER_BUNDLE_INDEX_NAME, dir) < 0)
		return sl_error(SL_E_NOMEM, "out of memory");
	r = sl_read_file_at(AT_FDCWD, path, CER_BUNDLE_INDEX_MAX, &buf, &len);
	if (r < 0)
		return r == SL_E_TOO_LARGE || r == SL_E_INVALID
			   ? r
			   : sl_error(r, "%s: cannot read: %s", path, sl_strerror(r));
	r = tuf_json_parse(buf, len, INDEX_DEPTH, &b->doc);
	if (r < 0)
		return sl_error(r, "%s: not valid JSON", path);
	if (!json_object_is_type(b->doc, json_type_object) ||
	    json_object_object_length(b->doc) != ELEMENTSOF(members) - 1 ||
	    tuf_json_get_int(b->doc, "sluice_bundle", 1, &format) ||
	    tuf_json_get_string(b->doc, "release", &b->release) ||
	    tuf_json_get_string(b->doc, "version", &b->version) ||
	    tuf_json_get_string(b->doc, "created", &created) || tuf_json_parse_time(created, &t) ||
	    tuf_json_get_array(b->doc, "metadata", &metas) ||
	    tuf_json_get_array(b->doc, "files", &files))
		return sl_error(TUF_E_FORMAT, "%s: not a bundle index (members: %s, ...)", path,
				"sluice_bundle, release, version, created, metadata, files");
	if (format != CER_BUNDLE_FORMAT)
		return sl_error(TUF_E_UNSUPPORTED, "%s: bundle format %" PRId64 " is not supported",
				path, format);
	r = check_files(dir, files, b);
	if (r >= 0)
		r = check_meta(metas, files, b);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(b);
	return 0;
}

struct cer_bundle *cer_bundle_free(struct cer_bundle *b)
{
	if (!b)
		return NULL;
	free(b->meta);
	json_object_put(b->doc);
	free(b);
	return NULL;
}
