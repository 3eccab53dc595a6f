/* SPDX-License-Identifier: Apache-2.0 */
/* The repository writer: build, edit, sign, check and write TUF metadata of every role. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tuf/metadata.h"

struct json_object;

/*
 * Documents are plain json-c objects of the form {"signatures": [...], "signed": {...}}.
 * Every function below that returns a document gives the caller one reference (release it
 * with json_object_put()); functions that take a document borrow it and edit it in place.
 *
 * Any edit of "signed" made through the writer drops every signature of the document first:
 * they covered the old bytes and would no longer verify. Signatures are then added one at a
 * time with tuf_writer_sign(), in any order, possibly by different people re-reading and
 * re-writing the same file (tuf_writer_load_file() and tuf_writer_write()).
 *
 * Every file the writer produces is re-parsed with the client's parser and its signatures
 * are checked with the client's verifier (tuf_metadata_parse(), tuf_metadata_verify())
 * before it is written: there is one verifier, not two.
 */

/* The specification version written into new documents. */
#define TUF_WRITER_SPEC_VERSION "1.0.31"

/* Default lifetimes of new documents, in days (DESIGN.md §2). */
#define TUF_WRITER_ROOT_DAYS 365
#define TUF_WRITER_TARGETS_DAYS 90
#define TUF_WRITER_SNAPSHOT_DAYS 7
#define TUF_WRITER_TIMESTAMP_DAYS 1

/* Largest succinct hash-bin bit length for which tuf_writer_succinct_bins_new() builds bins. */
#define TUF_WRITER_MAX_BIN_BITS 16

/* Largest "now + N days" accepted by tuf_writer_set_expires_days() (100 years). */
#define TUF_WRITER_MAX_DAYS 36500u

/* ---- Signers ---- */

/*
 * Produce the raw signature (not hex) of msg (len bytes) into sig, at most TUF_MAX_SIG_LEN
 * bytes, and its length into *ret_len. Returns >= 0 or a negative error code, which
 * tuf_writer_sign() passes on. userdata is the pointer given to tuf_signer_new().
 */
typedef int (*tuf_signer_sign_fn)(void *userdata, const void *msg, size_t len,
				  uint8_t sig[TUF_MAX_SIG_LEN], size_t *ret_len);

/* A private key behind a callback, with its TUF public key object and key id (opaque). */
struct tuf_signer;

/*
 * Create a signer from the TUF public key object key ({"keytype", "scheme", "keyval":
 * {"public"}}, borrowed: a deep copy is kept; it must be a key type the library verifies,
 * TUF_E_UNSUPPORTED otherwise), whose key id is computed with tuf_keyid_compute(), and a sign
 * callback. On success the signer owns userdata and calls free_userdata(userdata) (when not
 * NULL) from tuf_signer_free(); on failure the caller keeps userdata. *ret is owned by the
 * caller (tuf_signer_free()).
 */
int tuf_signer_new(struct json_object *key, tuf_signer_sign_fn sign, void *userdata,
		   void (*free_userdata)(void *userdata), struct tuf_signer **ret);

/*
 * An Ed25519 signer for a libsodium secret key sk (seed followed by the public key, as
 * crypto_sign_seed_keypair() produces it). sk is copied into sodium_malloc() memory that is
 * wiped when the signer is freed; the caller wipes its own copy. A secret key whose public
 * half does not match its seed is refused with SL_E_INVALID.
 */
int tuf_signer_ed25519_new(const uint8_t sk[64], struct tuf_signer **ret);

/* Accepts NULL, returns NULL. */
struct tuf_signer *tuf_signer_free(struct tuf_signer *s);

/* The signer's key id (64 lower-case hex characters), borrowed from s. */
const char *tuf_signer_keyid(const struct tuf_signer *s);

/* The signer's public key object, borrowed from s (take a reference to keep it). */
struct json_object *tuf_signer_key(const struct tuf_signer *s);

/* A new TUF Ed25519 public key object for pk; *ret is owned by the caller. */
int tuf_writer_ed25519_key(const uint8_t pk[32], struct json_object **ret);

/* ---- Documents and common fields ---- */

/*
 * A new document of role type type: version 1, spec_version TUF_WRITER_SPEC_VERSION, expiry
 * now + the role's default lifetime (now 0 = time(NULL)), no signatures, and empty contents:
 * root with consistent_snapshot true, no keys and the four roles with no key ids and
 * threshold 1; timestamp with "snapshot.json" version 1; snapshot with "targets.json"
 * version 1; targets with no targets.
 */
int tuf_writer_new(enum tuf_role_type type, int64_t now, struct json_object **ret);

/*
 * Load a document from metadata bytes, parsed and checked by tuf_metadata_parse() as type
 * (signatures are kept, not verified). *ret is owned by the caller.
 */
int tuf_writer_load(const void *buf, size_t len, enum tuf_role_type type, struct json_object **ret);

/* As tuf_writer_load() from a file, read with the client's size cap for type. */
int tuf_writer_load_file(const char *path, enum tuf_role_type type, struct json_object **ret);

/* The "signed.version" of doc. */
int tuf_writer_get_version(struct json_object *doc, uint64_t *ret);

/* Set "signed.version" (1 .. INT64_MAX, SL_E_INVALID otherwise). Drops signatures. */
int tuf_writer_set_version(struct json_object *doc, uint64_t version);

/* Version + 1. Drops signatures. */
int tuf_writer_bump_version(struct json_object *doc);

/* Set "signed.expires" to t (seconds since the epoch, UTC, after 1970). Drops signatures. */
int tuf_writer_set_expires(struct json_object *doc, int64_t t);

/* Set "signed.expires" to now + days (now 0 = time(NULL); days 1..TUF_WRITER_MAX_DAYS). */
int tuf_writer_set_expires_days(struct json_object *doc, int64_t now, unsigned days);

/* Remove every signature of doc. */
int tuf_writer_drop_signatures(struct json_object *doc);

/* ---- Root ---- */

/*
 * Add key (borrowed; a deep copy goes into "keys", under its computed key id) to the root
 * role type of root document doc. A key already listed for that role is SL_E_INVALID;
 * the same key may serve several roles. ret_keyid (may be NULL) receives the key id.
 * Drops signatures.
 */
int tuf_writer_root_add_key(struct json_object *doc, enum tuf_role_type role,
			    struct json_object *key, char ret_keyid[65]);

/*
 * Remove keyid from role; the key leaves "keys" when no role uses it any more.
 * TUF_E_NOT_FOUND when the role does not list keyid. Drops signatures.
 */
int tuf_writer_root_remove_key(struct json_object *doc, enum tuf_role_type role, const char *keyid);

/* Remove old_keyid from role and add new_key to it (as the two calls above). */
int tuf_writer_root_replace_key(struct json_object *doc, enum tuf_role_type role,
				const char *old_keyid, struct json_object *new_key,
				char ret_keyid[65]);

/* Set the threshold of role (>= 1, at most INT64_MAX). Drops signatures. */
int tuf_writer_root_set_threshold(struct json_object *doc, enum tuf_role_type role,
				  uint64_t threshold);

/* Set "consistent_snapshot". Drops signatures. */
int tuf_writer_root_set_consistent_snapshot(struct json_object *doc, bool on);

/*
 * Start root version N+1 from root document prev (version N, borrowed): a deep copy without
 * signatures and with version N+1; keys, thresholds and expiry are then changed with the
 * functions above. Emit it with tuf_writer_write(..., "root", prev, true, ...), which
 * requires the thresholds of both prev's root role and its own. *ret is owned by the caller.
 */
int tuf_writer_root_rotate(struct json_object *prev, struct json_object **ret);

/* ---- Timestamp and snapshot ---- */

/*
 * Set the timestamp's "snapshot.json" entry to version; when snapshot_bytes is not NULL, also
 * its "length" and sha256 "hashes" computed over those len bytes (the exact file, as
 * tuf_writer_serialize() gives it). Drops signatures.
 */
int tuf_writer_timestamp_set_snapshot(struct json_object *doc, uint64_t version,
				      const void *snapshot_bytes, size_t len);

/*
 * Set the snapshot's "<role>.json" entry (role "targets" or a delegated role name) to
 * version, with "length" and sha256 "hashes" of bytes when bytes is not NULL.
 * Drops signatures.
 */
int tuf_writer_snapshot_set_meta(struct json_object *doc, const char *role, uint64_t version,
				 const void *bytes, size_t len);

/* Remove the "<role>.json" entry; TUF_E_NOT_FOUND when absent. Drops signatures. */
int tuf_writer_snapshot_remove_meta(struct json_object *doc, const char *role);

/* ---- Targets ---- */

/* Progress of hashing a large file: done of total bytes. */
typedef void (*tuf_writer_progress_fn)(void *userdata, uint64_t done, uint64_t total);

/*
 * Add (or replace) target target_path from the regular file file_path (opened with
 * O_NOFOLLOW), streamed through sha256 and sha512, with its length. custom (may be NULL;
 * borrowed, a deep copy is stored) becomes the target's "custom" object. progress (may be
 * NULL) is called as bytes are hashed. target_path must be relative, without empty, "." or
 * ".." components and at most TUF_MAX_TARGET_PATH bytes (TUF_E_PATH otherwise). A file that
 * changes size while it is read is refused with SL_E_IO. Drops signatures.
 */
int tuf_writer_targets_add_file(struct json_object *doc, const char *target_path,
				const char *file_path, struct json_object *custom,
				tuf_writer_progress_fn progress, void *userdata);

/* As tuf_writer_targets_add_file() from len bytes of buf. */
int tuf_writer_targets_add_buf(struct json_object *doc, const char *target_path, const void *buf,
			       size_t len, struct json_object *custom);

/*
 * Replace the "custom" object of an existing target (custom borrowed and deep-copied; NULL
 * removes it). TUF_E_NOT_FOUND when the target is absent. Drops signatures.
 */
int tuf_writer_targets_set_custom(struct json_object *doc, const char *target_path,
				  struct json_object *custom);

/* Remove a target; TUF_E_NOT_FOUND when absent. Drops signatures. */
int tuf_writer_targets_remove(struct json_object *doc, const char *target_path);

/* ---- Delegations (in a targets document) ---- */

/*
 * Append delegated role name with threshold and terminating, responsible for paths
 * (n_paths shell-style patterns) or path_hash_prefixes (n_prefixes lower-case hex strings
 * of 1 to 64 digits): exactly one of the two arrays must be non-NULL (SL_E_INVALID
 * otherwise). Strings are copied. The role starts with no keys
 * (tuf_writer_delegation_add_key()). A role name that is empty, longer than
 * TUF_MAX_ROLENAME_LEN, a top-level role name or already delegated is SL_E_INVALID, as is a
 * document that uses succinct roles. Drops signatures.
 */
int tuf_writer_delegation_add_role(struct json_object *doc, const char *name, uint64_t threshold,
				   bool terminating, const char *const *paths, size_t n_paths,
				   const char *const *path_hash_prefixes, size_t n_prefixes);

/* Remove delegated role name (keys no other role uses go too); TUF_E_NOT_FOUND if absent. */
int tuf_writer_delegation_remove_role(struct json_object *doc, const char *name);

/*
 * Add key (borrowed, deep-copied into "delegations.keys") to delegated role name, or to the
 * succinct roles when name is NULL. TUF_E_NOT_FOUND when there is no such role; a key the
 * role already has is SL_E_INVALID. ret_keyid (may be NULL) receives the key id.
 * Drops signatures.
 */
int tuf_writer_delegation_add_key(struct json_object *doc, const char *name,
				  struct json_object *key, char ret_keyid[65]);

/* Remove keyid from role name (NULL: succinct roles). TUF_E_NOT_FOUND when not listed. */
int tuf_writer_delegation_remove_key(struct json_object *doc, const char *name, const char *keyid);

/*
 * Delegate with TAP 15 succinct hash bins: 2^bit_length roles "<name_prefix>-<hex>" (bit_length
 * 1..32) with one set of keys and threshold. Refused (SL_E_INVALID) when the document already
 * delegates to named roles or bin names would exceed TUF_MAX_ROLENAME_LEN. Replaces earlier
 * succinct settings (keys are kept). Drops signatures.
 */
int tuf_writer_delegation_set_succinct(struct json_object *doc, const char *name_prefix,
				       unsigned bit_length, uint64_t threshold);

/*
 * The bin role name responsible for target_path under doc's succinct roles (computed by the
 * client's tuf_succinct_role_name()). *ret_name is malloc'd. TUF_E_NOT_FOUND when doc has no
 * succinct roles.
 */
int tuf_writer_succinct_bin_name(struct json_object *doc, const char *target_path, char **ret_name);

/*
 * New empty targets documents for every bin of doc's succinct roles, in bin order, as
 * tuf_writer_new(TUF_ROLE_TARGETS, now) builds them; bit_length must be at most
 * TUF_WRITER_MAX_BIN_BITS (SL_E_TOO_LARGE). *ret_names[i] is the role name of (*ret_docs)[i].
 * Both arrays are owned by the caller: tuf_writer_bins_free().
 */
int tuf_writer_succinct_bins_new(struct json_object *doc, int64_t now,
				 struct json_object ***ret_docs, char ***ret_names, size_t *ret_n);

/* Release what tuf_writer_succinct_bins_new() returned. Accepts NULL arrays. */
void tuf_writer_bins_free(struct json_object **docs, char **names, size_t n);

/* ---- Signing ---- */

/*
 * Sign the canonical JSON of doc's "signed" (tuf_json_canonical()) with signer and add
 * {"keyid", "sig": hex} to "signatures", replacing any entry of the same key id. Whether the
 * key may sign this role is checked when the document is written (tuf_writer_write()).
 */
int tuf_writer_sign(struct json_object *doc, const struct tuf_signer *signer);

/* ---- Authority, status, checks and output ---- */

/*
 * The "authority" of a document, which says whose keys may sign it, depends on role:
 *  - "root": the previous root document (version N for doc N+1), or NULL for a first root.
 *    A root is always also authorised by its own root role;
 *  - "timestamp", "snapshot", "targets": the trusted root document (required);
 *  - any other name, a delegated role: the delegating targets document (required), which
 *    names it in "delegations.roles" or covers it with "succinct_roles".
 * Authority documents are borrowed and are not required to be signed.
 */

/* Signature status of a document against one role's keys. Arrays are owned by the struct. */
struct tuf_writer_status {
	uint64_t threshold;
	char **valid; /* authorised key ids whose signature verifies */
	size_t n_valid;
	char **missing; /* authorised key ids without a valid signature */
	size_t n_missing;
	size_t needed;	/* valid signatures from distinct keys still needed; 0 = met */
	char **invalid; /* signature entries of authorised key ids that do not verify */
	size_t n_invalid;
	char **unauthorised; /* signature entries whose key id the role does not list */
	size_t n_unauthorised;
};

/*
 * Status of doc (as role) against role keys keys, looking keys up in table (n_table entries).
 * Each key id is checked with the client's tuf_metadata_verify(). ret is filled on success;
 * release it with tuf_writer_status_clear().
 */
int tuf_writer_status_keys(struct json_object *doc, const char *role,
			   const struct tuf_role_keys *keys, const struct tuf_key_entry *table,
			   size_t n_table, struct tuf_writer_status *ret);

/*
 * Status of doc (as role) against its authority (see above). For "root", authority selects
 * which root role is evaluated: the previous root's (authority = root N) or the document's
 * own (authority NULL); a root N+1 needs both, so call this twice.
 */
int tuf_writer_status(struct json_object *doc, const char *role, struct json_object *authority,
		      struct tuf_writer_status *ret);

/* Release the arrays of s and zero it. */
void tuf_writer_status_clear(struct tuf_writer_status *s);

/*
 * Check the bytes doc would be written as: they must parse with tuf_metadata_parse() as
 * role's type, and every signature present must be from a key authorised for role whose
 * signature verifies with tuf_metadata_verify() (TUF_E_SIGNATURE naming the key id
 * otherwise; a key id signing twice is TUF_E_SIGNATURE too). A root with an authority must be
 * exactly one version newer (TUF_E_VERSION). Unsigned documents pass.
 */
int tuf_writer_check_signatures(struct json_object *doc, const char *role,
				struct json_object *authority);

/*
 * tuf_writer_check_signatures() plus the full threshold: TUF_E_THRESHOLD unless the role's
 * threshold of distinct keys have signed; for a root, both its own root role's threshold and
 * (with an authority) the previous root's, and every role of the new root must have at least
 * threshold keys.
 */
int tuf_writer_check_complete(struct json_object *doc, const char *role,
			      struct json_object *authority);

/*
 * The exact bytes tuf_writer_write() writes for doc: json-c pretty printing plus a newline.
 * *ret_buf is malloc'd (NUL-terminated), caller frees.
 */
int tuf_writer_serialize(struct json_object *doc, char **ret_buf, size_t *ret_len);

/*
 * Write doc atomically (0644) as dir/name (name a plain file name), after checking the exact
 * bytes written with tuf_writer_check_signatures(), or tuf_writer_check_complete() when
 * complete is true, and refusing files larger than the client's default size cap for the role
 * (TUF_E_TOO_LARGE). Nothing is written when a check fails.
 */
int tuf_writer_write(struct json_object *doc, const char *role, struct json_object *authority,
		     bool complete, const char *dir, const char *name);

/* ---- Consistent-snapshot file names ---- */

/*
 * The repository file name of role's metadata at version: "N.root.json" for root (always),
 * "timestamp.json" for timestamp, "V.snapshot.json", "V.targets.json" and
 * "V.<percent-encoded role>.json" when consistent, otherwise "<percent-encoded role>.json".
 * *ret is malloc'd.
 */
int tuf_writer_metadata_filename(const char *role, uint64_t version, bool consistent, char **ret);

/*
 * The consistent-snapshot file name of target target_path of targets document doc, relative
 * to the targets directory: "<dir>/<sha256 hex>.<basename>" ("<sha256 hex>.<basename>" when
 * the path has no directory part). TUF_E_NOT_FOUND when doc does not list the target or it
 * has no sha256 hash. *ret is malloc'd.
 */
int tuf_writer_target_filename(struct json_object *doc, const char *target_path, char **ret);
