/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the metadata parser files (metadata*.c, delegation.c); not public API. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "tuf/metadata.h"

struct json_object;

/* A context string for messages: "root: keys.<id>"; long parts are truncated. */
#define TUF_MD_CTX_MAX 320

/* Format a context string; truncation is fine, it only ever ends up in a message. */
void tuf_md_ctx(char buf[static TUF_MD_CTX_MAX], const char *fmt, ...) _printf_(2, 3);

/*
 * Prefix the message recorded for r with ctx ("root: roles.root: \"threshold\": missing")
 * and return r unchanged; r >= 0 passes through untouched.
 */
int tuf_md_fail(int r, const char *ctx);

/* Whether obj (an object) has member key, null included. */
bool tuf_md_has(struct json_object *obj, const char *key);

/*
 * The JSON array arr as a new array of n strings (each checked to be a string of 1..max_len
 * bytes). With unique, a repeated string is TUF_E_FORMAT. *ret is NULL when arr is empty.
 */
int tuf_md_parse_strings(struct json_object *arr, const char *ctx, size_t max_len, bool unique,
			 char ***ret, size_t *ret_n);
void tuf_md_strings_free(char **v, size_t n);

/* A "hashes" object, as documented at struct tuf_hashes. */
int tuf_md_parse_hashes(struct json_object *obj, const char *ctx, struct tuf_hashes *ret);

/* A "keys" object (root or delegations): key id -> key; unsupported key types get key NULL. */
int tuf_md_parse_key_table(struct json_object *obj, const char *ctx, struct tuf_key_entry **ret,
			   size_t *ret_n);
void tuf_md_key_table_free(struct tuf_key_entry *keys, size_t n);

/* {"keyids": [unique strings], "threshold": integer >= 1}. */
int tuf_md_parse_role_keys(struct json_object *obj, const char *ctx, struct tuf_role_keys *ret);
void tuf_md_role_keys_clear(struct tuf_role_keys *k);

/* The role-specific part of "signed" for md->type, into md->u (metadata-roles.c). */
int tuf_md_parse_role(struct tuf_metadata *md, struct json_object *signed_obj);
void tuf_md_clear_role(struct tuf_metadata *md);

/* A "delegations" object (delegation.c). */
int tuf_md_parse_delegations(struct json_object *obj, struct tuf_delegations **ret);
struct tuf_delegations *tuf_md_delegations_free(struct tuf_delegations *d);
