/* SPDX-License-Identifier: Apache-2.0 */
/* The state directory (internal to the state modules): paths, database, lock, clock, init. */
#pragma once

#include <json-c/json.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "macro.h"
#include "tuf/metadata.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_metadata *, tuf_metadata_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cp_state *, cp_state_free)

/*
 * sl_error() whose arguments may include sl_error_message() (formatted into a local buffer
 * first, so a message can be prefixed with the file it concerns).
 */
int cp_error(int code, const char *fmt, ...) _printf_(2, 3);

/* The default state directory of every verb. */
#define CP_STATE_DIR_DEFAULT "/var/lib/sluice-controlplane"

struct cp_state {
	char *dir;          /* owned: STATE */
	char *db_path;      /* owned: STATE/controlplane.db */
	char *keys_dir;     /* owned: STATE/keys */
	char *metadata_dir; /* owned: STATE/repo/metadata */
	char *targets_dir;  /* owned: STATE/repo/targets */
	char *tmp_dir;      /* owned: STATE/tmp */
	char *tls_dir;      /* owned: STATE/tls */
	sqlite3 *db;        /* owned */
	sqlite3_stmt *generation_stmt; /* owned, cached for cp_state_repo_generation() */
	int64_t now;        /* fixed clock for tests; 0 = time(NULL) */
};

/*
 * Create and initialise STATE: the directory (0700; an existing one must be empty, else
 * -ENOTEMPTY), keys/ repo/metadata repo/targets tmp/ tls/, the database with every
 * migration, the two online keys and STATE/online-keys.json. The audit trail gets an "init"
 * row. On failure what was created is removed again (a pre-existing empty directory stays).
 * *ret_online_keys (may be NULL) receives the path of the online keys file (malloc'd).
 */
int cp_state_init(const char *state_dir, const char *actor, char **ret_online_keys);

/* The current time: s->now when set (tests), else time(NULL). */
int64_t cp_state_now(const struct cp_state *s);

/* Fix the clock of s (tests; 0 returns to the real clock). */
void cp_state_set_now(struct cp_state *s, int64_t now);

/* "YYYY-MM-DDTHH:MM:SSZ" of cp_state_now() into buf. */
void cp_state_now_text(const struct cp_state *s, char buf[static 21]);

/*
 * Take the repository lock (flock on STATE/lock) that serialises publishes and renewals
 * across processes. With wait false a held lock is -EWOULDBLOCK. *ret_fd is the lock; close
 * it to release. Once the lock is held, STATE/tmp is emptied (leftovers of a killed
 * operation) and an interrupted publish is completed or rolled back (cp_repo_recover()).
 */
int cp_state_lock(struct cp_state *s, bool wait, int *ret_fd);

/* Empty STATE/tmp (its contents, not the directory). */
int cp_state_clean_tmp(struct cp_state *s);

/* Bump the repository generation (inside the caller's transaction). */
int cp_state_bump_generation(struct cp_state *s);
