/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the writer files (writer*.c); not public API. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tuf/metadata.h"

struct json_object;

/* The role type whose metadata a role name is: one of the four, or targets for a delegation. */
enum tuf_role_type tuf_wr_role_type(const char *role);

/*
 * doc's "signed" object (borrowed) after checking that doc is an object holding a
 * "signatures" array and a "signed" object, and, when type is not NULL, that "_type" is type.
 * TUF_E_FORMAT / TUF_E_TYPE otherwise.
 */
int tuf_wr_signed(struct json_object *doc, const char *type, struct json_object **ret);

/* As tuf_wr_signed(), then drop every signature: the start of each edit of "signed". */
int tuf_wr_edit(struct json_object *doc, const char *type, struct json_object **ret);

/* Add val (a new reference, taken even on failure; NULL means allocation failed) as key. */
int tuf_wr_put(struct json_object *obj, const char *key, struct json_object *val);

/* Append val (taken even on failure; NULL means allocation failed) to arr. */
int tuf_wr_append(struct json_object *arr, struct json_object *val);

/* Whether the array of strings arr holds s. */
bool tuf_wr_strv_has(struct json_object *arr, const char *s);

/* Remove every element equal to s from the array of strings arr; TUF_E_NOT_FOUND if none. */
int tuf_wr_strv_remove(struct json_object *arr, const char *s);

/*
 * Check key as a TUF public key object the library can verify with (TUF_E_UNSUPPORTED,
 * TUF_E_FORMAT otherwise) and compute its key id into keyid.
 */
int tuf_wr_key_id(struct json_object *key, char keyid[65]);

/* Put a deep copy of key into the key table object table under keyid. */
int tuf_wr_table_put(struct json_object *table, const char *keyid, struct json_object *key);

/* The checked array of strings at obj[key] (TUF_E_FORMAT when missing or of another type). */
int tuf_wr_get_strv(struct json_object *obj, const char *key, struct json_object **ret);

/* A meta file entry {"version", ("length", "hashes": {"sha256"})} for bytes (may be NULL). */
int tuf_wr_meta_entry(uint64_t version, const void *bytes, size_t len, struct json_object **ret);

/* Check a version or threshold for JSON: 1 .. INT64_MAX (SL_E_INVALID naming what). */
int tuf_wr_check_count(uint64_t v, const char *what);

/*
 * A target path a client can store safely: 1..TUF_MAX_TARGET_PATH bytes, relative, without
 * empty, "." or ".." components (TUF_E_PATH otherwise).
 */
int tuf_wr_check_target_path(const char *path);

/* A delegated role name: 1..TUF_MAX_ROLENAME_LEN bytes, not a top-level role (SL_E_INVALID). */
int tuf_wr_check_role_name(const char *name);
