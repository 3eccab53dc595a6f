/* SPDX-License-Identifier: Apache-2.0 */
/* The TUF metadata model: parsing of the signed envelope and of each role, and verification. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tuf/crypto.h"

struct json_object;

enum tuf_role_type {
	TUF_ROLE_ROOT,
	TUF_ROLE_TIMESTAMP,
	TUF_ROLE_SNAPSHOT,
	TUF_ROLE_TARGETS, /* top-level targets and every delegated targets role */
	_TUF_ROLE_TYPE_MAX,
};

/* "root", "timestamp", "snapshot", "targets". */
const char *tuf_role_type_name(enum tuf_role_type t);

/* Model caps: anything larger is refused with TUF_E_FORMAT or TUF_E_TOO_LARGE. */
#define TUF_MAX_KEYID_LEN 256     /* bytes of a key id string */
#define TUF_MAX_ROLENAME_LEN 255  /* bytes of a delegated role name */
#define TUF_MAX_TARGET_PATH 4096  /* bytes of a target path */
#define TUF_MAX_SIG_LEN 1024      /* bytes of one decoded signature */
#define TUF_MAX_HASHES 8          /* entries in one "hashes" object */

/* The spec versions we accept: major version 1 ("1.0", "1.0.31", …). */
#define TUF_SPEC_MAJOR 1

struct tuf_hash_entry {
	enum tuf_hash_alg alg;
	uint8_t digest[TUF_HASH_MAX_SIZE];
};

/*
 * The "hashes" of a file. Entries with an algorithm we do not implement are skipped when
 * parsing (counted in n_unknown); a "hashes" object with no supported algorithm at all is
 * refused with TUF_E_UNSUPPORTED. Every supported entry must match.
 */
struct tuf_hashes {
	size_t n;
	size_t n_unknown;
	struct tuf_hash_entry h[TUF_MAX_HASHES];
};

struct tuf_signature {
	char *keyid;   /* owned */
	uint8_t *sig;  /* owned, decoded from hex */
	size_t sig_len;
};

/* A key listed in root "keys" or in "delegations.keys". */
struct tuf_key_entry {
	char *keyid;         /* owned */
	struct tuf_key *key; /* owned; NULL when its type is unsupported (it then never verifies) */
};

/* Who may sign a role, and how many distinct keys must. */
struct tuf_role_keys {
	char **keyids;  /* owned, n_keyids entries, no duplicates (duplicates are TUF_E_FORMAT) */
	size_t n_keyids;
	uint64_t threshold; /* >= 1; 0, negative and non-integer thresholds are TUF_E_FORMAT */
};

struct tuf_root {
	bool consistent_snapshot;
	struct tuf_key_entry *keys; /* owned */
	size_t n_keys;
	struct tuf_role_keys roles[TUF_ROLE_TARGETS + 1]; /* indexed by enum tuf_role_type */
};

/* An entry of timestamp "meta" (snapshot.json) or snapshot "meta" (<role>.json). */
struct tuf_meta_file {
	char *name;       /* owned: "snapshot.json", "targets.json", "<role>.json" */
	uint64_t version; /* >= 1 */
	bool has_length;
	uint64_t length;
	bool has_hashes;
	struct tuf_hashes hashes;
};

struct tuf_timestamp {
	struct tuf_meta_file snapshot; /* the one entry, named "snapshot.json" */
};

struct tuf_snapshot {
	struct tuf_meta_file *meta; /* owned */
	size_t n_meta;
};

struct tuf_target {
	char *path;        /* owned */
	uint64_t length;
	struct tuf_hashes hashes;
	struct json_object *custom; /* borrowed from the metadata document; NULL when absent */
};

struct tuf_delegated_role {
	char *name;              /* owned */
	struct tuf_role_keys keys;
	bool terminating;
	char **paths;             /* owned; NULL with path_hash_prefixes set or when absent */
	size_t n_paths;
	char **path_hash_prefixes; /* owned, lower-case hex */
	size_t n_path_hash_prefixes;
};

/* TAP 15 succinct hash-bin delegation. */
struct tuf_succinct_roles {
	struct tuf_role_keys keys;
	unsigned bit_length; /* 1..32 */
	char *name_prefix;   /* owned */
};

struct tuf_delegations {
	struct tuf_key_entry *keys; /* owned */
	size_t n_keys;
	struct tuf_delegated_role *roles; /* owned, in document order; NULL with succinct set */
	size_t n_roles;
	struct tuf_succinct_roles *succinct; /* owned; NULL unless "succinct_roles" is used */
};

struct tuf_targets {
	struct tuf_target *targets; /* owned */
	size_t n_targets;
	struct tuf_delegations *delegations; /* owned; NULL when absent */
};

struct tuf_metadata {
	enum tuf_role_type type;
	char *spec_version; /* owned */
	uint64_t version;   /* >= 1 */
	int64_t expires;    /* seconds since the epoch, UTC */
	struct tuf_signature *sigs; /* owned */
	size_t n_sigs;
	char *signed_bytes; /* owned: canonical JSON of "signed", the bytes signatures cover */
	size_t signed_len;
	struct json_object *doc; /* owned: the whole parsed document, unknown fields included */
	union {
		struct tuf_root root;
		struct tuf_timestamp timestamp;
		struct tuf_snapshot snapshot;
		struct tuf_targets targets;
	} u;
};

/*
 * Parse metadata bytes (strict JSON, tuf_json_parse()) whose "signed._type" must be
 * expected (TUF_E_TYPE otherwise: a timestamp served as snapshot is refused here).
 * Checks types and ranges of every field the specification defines, refuses spec versions
 * with a major other than TUF_SPEC_MAJOR (TUF_E_UNSUPPORTED), keeps unknown fields in doc.
 * Signatures are decoded but not verified. *ret is owned by the caller.
 */
int tuf_metadata_parse(const void *buf, size_t len, enum tuf_role_type expected,
		       struct tuf_metadata **ret);

/* Accepts NULL, returns NULL. */
struct tuf_metadata *tuf_metadata_free(struct tuf_metadata *md);

/*
 * Verify that md carries valid signatures from at least keys->threshold distinct keys
 * among keys->keyids, looking key ids up in the key table (n_table entries).
 * A signature counts only if its key id is authorised for the role, the key is in the
 * table and supported, and the signature verifies over md->signed_bytes. The same key
 * counts once however many key ids or signature entries it appears under; extra invalid or
 * unknown signatures are ignored. Returns 0, or TUF_E_THRESHOLD with a message naming
 * role and counts ("timestamp: 0 of 1 required signatures are valid").
 */
int tuf_metadata_verify(const struct tuf_metadata *md, const char *role,
			const struct tuf_role_keys *keys, const struct tuf_key_entry *table,
			size_t n_table);

/* Verify md as top-level role type signed per root (a struct tuf_root). */
int tuf_metadata_verify_root_role(const struct tuf_metadata *md, const struct tuf_root *root,
				  enum tuf_role_type type);

/* Verify md as delegated role `role` of delegator's delegations. */
int tuf_metadata_verify_delegated(const struct tuf_metadata *md,
				  const struct tuf_delegations *delegations,
				  const struct tuf_role_keys *role_keys, const char *role_name);

/* TUF_E_EXPIRED ("<role>: expired at <time>") when md->expires <= now. */
int tuf_metadata_check_expiry(const struct tuf_metadata *md, const char *role, int64_t now);

/* Look up an entry of snapshot meta by file name ("targets.json"); NULL when absent. */
const struct tuf_meta_file *tuf_snapshot_find(const struct tuf_snapshot *s, const char *name);

/* Look up a target by path; NULL when absent. */
const struct tuf_target *tuf_targets_find(const struct tuf_targets *t, const char *path);

/*
 * Verify bytes against a meta file entry's length (when given) and hashes (when given):
 * TUF_E_LENGTH or TUF_E_HASH, with what naming the file in the message.
 */
int tuf_meta_file_check(const struct tuf_meta_file *m, const void *data, size_t len,
			const char *what);

/*
 * Whether a delegated role is responsible for target_path: any "paths" pattern matches
 * (shell-style, where '*' and '?' never match '/', and the pattern must have as many '/'
 * separated components as the path) or the lower-case hex SHA-256 of target_path starts
 * with any of "path_hash_prefixes".
 */
bool tuf_delegated_role_matches(const struct tuf_delegated_role *r, const char *target_path);

/*
 * The succinct bin role for target_path: the first bit_length bits of SHA-256(target_path)
 * as a number i, name "<name_prefix>-<i in lower-case hex, zero-padded to the width of
 * the largest bin number>". *ret_name is malloc'd.
 */
int tuf_succinct_role_name(const struct tuf_succinct_roles *s, const char *target_path,
			   char **ret_name);

/* Number of bins, 2^bit_length, and the name of bin i (malloc'd). */
uint64_t tuf_succinct_roles_count(const struct tuf_succinct_roles *s);
int tuf_succinct_role_name_at(const struct tuf_succinct_roles *s, uint64_t i, char **ret_name);

/* Whether name is one of the bins of s. */
bool tuf_succinct_roles_has(const struct tuf_succinct_roles *s, const char *name);

/*
 * Streaming check of a target's bytes against its TUF length and hashes, for downloads
 * and for slot writes: update() refuses the first byte past t->length (TUF_E_LENGTH) so a
 * caller can stop reading at the limit; final() refuses a short file (TUF_E_LENGTH) and
 * any hash mismatch (TUF_E_HASH). The check keeps a pointer to t (borrowed).
 */
struct tuf_target_check;

int tuf_target_check_new(const struct tuf_target *t, struct tuf_target_check **ret);
int tuf_target_check_update(struct tuf_target_check *c, const void *data, size_t len);
int tuf_target_check_final(struct tuf_target_check *c);
/* Bytes accepted so far. */
uint64_t tuf_target_check_bytes(const struct tuf_target_check *c);
/* Accepts NULL, returns NULL. */
struct tuf_target_check *tuf_target_check_free(struct tuf_target_check *c);
