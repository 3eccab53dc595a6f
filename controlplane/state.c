/* SPDX-License-Identifier: Apache-2.0 */
/* The state directory: opening, paths, the repository lock, the clock, and `init`. */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "audit.h"
#include "db.h"
#include "error.h"
#include "fileio.h"
#include "keys.h"
#include "repo.h"
#include "state.h"
#include "tuf/json.h"

/* Largest online-keys.json written (two public keys). */
#define ONLINE_KEYS_MAX 4096

int cp_error(int code, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return sl_error(code, "%s", buf);
}

static int state_paths(struct cp_state *s, const char *dir)
{
	s->dir = strdup(dir);
	if (!s->dir || asprintf(&s->db_path, "%s/controlplane.db", dir) < 0 ||
	    asprintf(&s->keys_dir, "%s/keys", dir) < 0 ||
	    asprintf(&s->metadata_dir, "%s/repo/metadata", dir) < 0 ||
	    asprintf(&s->targets_dir, "%s/repo/targets", dir) < 0 ||
	    asprintf(&s->tmp_dir, "%s/tmp", dir) < 0 || asprintf(&s->tls_dir, "%s/tls", dir) < 0)
		return -ENOMEM;
	return 0;
}

struct cp_state *cp_state_free(struct cp_state *s)
{
	if (!s)
		return NULL;
	sqlite3_finalize(s->generation_stmt);
	sqlite3_close(s->db);
	free(s->dir);
	free(s->db_path);
	free(s->keys_dir);
	free(s->metadata_dir);
	free(s->targets_dir);
	free(s->tmp_dir);
	free(s->tls_dir);
	free(s);
	return NULL;
}

int cp_state_open(const char *state_dir, struct cp_state **ret)
{
	_cleanup_(cp_state_freep) struct cp_state *s = NULL;
	struct stat st;
	int r;

	assert(state_dir && ret);
	if (lstat(state_dir, &st) < 0)
		return cp_error(CP_E_STATE, "%s: no state directory (run 'init' first): %m",
				state_dir);
	if (!S_ISDIR(st.st_mode))
		return cp_error(CP_E_STATE, "%s: not a directory", state_dir);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = state_paths(s, state_dir);
	if (r < 0)
		return r;
	r = cp_db_open(s->db_path, false, &s->db);
	if (r < 0)
		return r;
	r = cp_db_prepare(s->db, "SELECT value FROM meta WHERE key = 'generation'",
			  &s->generation_stmt);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

const char *cp_state_metadata_dir(const struct cp_state *s)
{
	return s->metadata_dir;
}

const char *cp_state_targets_dir(const struct cp_state *s)
{
	return s->targets_dir;
}

int64_t cp_state_now(const struct cp_state *s)
{
	return s->now ? s->now : (int64_t)time(NULL);
}

void cp_state_set_now(struct cp_state *s, int64_t now)
{
	s->now = now;
}

void cp_state_now_text(const struct cp_state *s, char buf[static 21])
{
	tuf_json_format_time(cp_state_now(s), buf);
}

int cp_state_repo_generation(struct cp_state *s, uint64_t *ret)
{
	int rc;

	sqlite3_reset(s->generation_stmt);
	rc = sqlite3_step(s->generation_stmt);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s->generation_stmt);
		return cp_db_error(s->db, rc, "database: generation");
	}
	*ret = (uint64_t)sqlite3_column_int64(s->generation_stmt, 0);
	sqlite3_reset(s->generation_stmt);
	return 0;
}

int cp_state_bump_generation(struct cp_state *s)
{
	return cp_db_exec(s->db, "UPDATE meta SET value = value + 1 WHERE key = 'generation'");
}

int cp_state_clean_tmp(struct cp_state *s)
{
	_cleanup_close_ int fd = -1;
	DIR *d;
	struct dirent *de;
	int r = 0;

	fd = open(s->tmp_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cp_error(CP_E_STATE, "%s: %m", s->tmp_dir);
	d = fdopendir(fd);
	if (!d)
		return -errno;
	fd = -1;
	while ((de = readdir(d))) {
		_cleanup_free_ char *p = NULL;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (asprintf(&p, "%s/%s", s->tmp_dir, de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		r = sl_rm_rf(p);
		if (r < 0)
			break;
	}
	closedir(d);
	return r < 0 ? cp_error(r, "%s: cannot empty: %s", s->tmp_dir, strerror(-r)) : 0;
}

int cp_state_lock(struct cp_state *s, bool wait, int *ret_fd)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (asprintf(&path, "%s/lock", s->dir) < 0)
		return -ENOMEM;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return cp_error(CP_E_STATE, "%s: %m", path);
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			return cp_error(-EWOULDBLOCK, "%s: another operation holds the lock", path);
		return cp_error(-errno, "%s: flock: %m", path);
	}
	r = cp_state_clean_tmp(s);
	if (r >= 0)
		r = cp_repo_recover(s);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* ---- init ---- */

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n == 0;
}

static int make_state_dir(const char *dir, bool *ret_created)
{
	struct stat st;
	int r;

	if (mkdir(dir, 0700) == 0) {
		*ret_created = true;
		return 0;
	}
	if (errno != EEXIST)
		return cp_error(-errno, "%s: cannot create: %m", dir);
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return cp_error(-ENOTDIR, "%s: exists and is not a directory", dir);
	r = dir_is_empty(dir);
	if (r < 0)
		return cp_error(r, "%s: %s", dir, strerror(-r));
	if (r == 0)
		return cp_error(-ENOTEMPTY, "%s: exists and is not empty; refusing to initialise",
				dir);
	if (chmod(dir, 0700) < 0)
		return cp_error(-errno, "%s: chmod: %m", dir);
	*ret_created = false;
	return 0;
}

static int init_contents(struct cp_state *s, const char *actor, char **ret_online_keys)
{
	_cleanup_(json_object_putp) struct json_object *snap = NULL, *ts = NULL, *doc = NULL;
	_cleanup_free_ char *keys_path = NULL, *sub = NULL;
	const char *subdirs[] = {"keys", "repo", "repo/metadata", "repo/targets", "tmp", "tls"};
	const char *text;
	char detail[256];
	int r;

	for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
		free(sub);
		if (asprintf(&sub, "%s/%s", s->dir, subdirs[i]) < 0)
			return -ENOMEM;
		if (mkdir(sub, strncmp(subdirs[i], "repo", 4) == 0 ? 0755 : 0700) < 0)
			return cp_error(-errno, "%s: cannot create: %m", sub);
	}
	r = cp_db_open(s->db_path, true, &s->db);
	if (r < 0)
		return r;
	if (chmod(s->db_path, 0600) < 0)
		return cp_error(-errno, "%s: chmod: %m", s->db_path);
	r = cp_keys_generate(s->keys_dir, "snapshot", &snap);
	if (r >= 0)
		r = cp_keys_generate(s->keys_dir, "timestamp", &ts);
	if (r >= 0)
		r = cp_keys_online_doc(snap, ts, &doc);
	if (r < 0)
		return r;
	text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	if (asprintf(&keys_path, "%s/online-keys.json", s->dir) < 0)
		return -ENOMEM;
	r = sl_write_file_atomic(keys_path, text, strlen(text), 0644);
	if (r < 0)
		return cp_error(r, "%s: cannot write: %s", keys_path, strerror(-r));
	snprintf(detail, sizeof(detail), "state directory initialised; online keys in %s",
		 "online-keys.json");
	r = cp_audit_append(s, actor, "init", detail);
	if (r < 0)
		return r;
	if (ret_online_keys)
		*ret_online_keys = TAKE_PTR(keys_path);
	return 0;
}

/* Remove what init_contents() put into a directory that existed (and was empty) before. */
static void undo_init(const struct cp_state *s)
{
	static const char *const names[] = {"keys", "repo", "tmp", "tls", "controlplane.db",
					    "controlplane.db-wal", "controlplane.db-shm",
					    "online-keys.json", "lock"};

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		_cleanup_free_ char *p = NULL;

		if (asprintf(&p, "%s/%s", s->dir, names[i]) >= 0)
			sl_rm_rf(p);
	}
}

int cp_state_init(const char *state_dir, const char *actor, char **ret_online_keys)
{
	_cleanup_(cp_state_freep) struct cp_state *s = NULL;
	_cleanup_free_ char *msg = NULL;
	bool created = false;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = state_paths(s, state_dir);
	if (r < 0)
		return r;
	r = make_state_dir(state_dir, &created);
	if (r < 0)
		return r;
	r = init_contents(s, actor, ret_online_keys);
	if (r >= 0)
		return 0;
	msg = strdup(sl_error_message(r));
	sqlite3_close(s->db);
	s->db = NULL;
	if (created)
		sl_rm_rf(state_dir);
	else
		undo_init(s);
	return cp_error(r, "%s", msg ? msg : sl_strerror(r));
}
