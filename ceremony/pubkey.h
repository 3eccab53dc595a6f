/* SPDX-License-Identifier: Apache-2.0 */
/* Public keys brought into the ceremony: key files, TUF key objects, the online keys file. */
#pragma once

#include <stddef.h>

struct json_object;

/* Largest public key file and online keys file read. */
#define CER_PUBKEY_FILE_MAX (64u * 1024)

/* The format version of the online keys file (docs/bundle-format.md). */
#define CER_ONLINE_KEYS_FORMAT 1

/*
 * Check a TUF public key object and return a clean copy of it: exactly the members
 * "keytype", "keyval" (with exactly "public") and "scheme", all strings, of a key type the
 * tuf library verifies (tuf_key_from_json()). name is used in messages. Errors: TUF_E_FORMAT
 * for a malformed object or unknown member, TUF_E_UNSUPPORTED for a key type the library does
 * not verify. *ret is a new reference owned by the caller; ret_keyid (65 bytes, may be NULL)
 * receives its key id (tuf_keyid_compute()).
 */
int cer_pubkey_from_json(struct json_object *obj, const char *name, struct json_object **ret,
			 char *ret_keyid);

/*
 * Load a public key from path: either a sealed key file (keyfile.h; only its public part is
 * read, no passphrase needed; when want_role is not NULL its role must be want_role, else
 * SL_E_INVALID) or a file holding one TUF public key object (as `sluice-ceremony pubkey`
 * writes it). Results as cer_pubkey_from_json().
 */
int cer_pubkey_load(const char *path, const char *want_role, struct json_object **ret,
		    char *ret_keyid);

/*
 * Parse the online keys file the control plane exports (at most CER_PUBKEY_FILE_MAX bytes):
 *   {"sluice_online_keys": 1, "snapshot": <TUF key object>, "timestamp": <TUF key object>}
 * Unknown members are refused (TUF_E_FORMAT), another format version is TUF_E_UNSUPPORTED.
 * *ret_snapshot and *ret_timestamp are new references owned by the caller.
 */
int cer_online_keys_parse(const void *buf, size_t len, const char *name,
			  struct json_object **ret_snapshot, struct json_object **ret_timestamp);

/* As cer_online_keys_parse() from the file at path (no symlink). */
int cer_online_keys_load(const char *path, struct json_object **ret_snapshot,
			 struct json_object **ret_timestamp);
