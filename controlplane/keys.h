/* SPDX-License-Identifier: Apache-2.0 */
/* The online snapshot and timestamp keys: generation at init, loading as signers, public halves. */
#pragma once

struct json_object;
struct tuf_signer;

/* Largest key file read (it holds a small JSON object). */
#define CP_KEY_FILE_MAX 4096

/* The format version of STATE/online-keys.json (docs/bundle-format.md). */
#define CP_ONLINE_KEYS_FORMAT 1

/*
 * Generate an Ed25519 key for role ("snapshot" or "timestamp") from libsodium's random
 * generator and write keys_dir/<role>.key as {"keytype":"ed25519","seed":"<hex 32>"},
 * 0600, O_CREAT|O_EXCL|O_NOFOLLOW, fsynced with its directory. The seed only ever lives in
 * sodium_malloc() memory. An existing file is -EEXIST. *ret_pubkey (a new reference, may be
 * NULL) receives the TUF public key object.
 */
int cp_keys_generate(const char *keys_dir, const char *role, struct json_object **ret_pubkey);

/*
 * Load keys_dir/<role>.key (no symlink, a regular file of at most CP_KEY_FILE_MAX bytes,
 * mode not readable by group or others, else CP_E_STATE) as a signer. *ret is owned by the
 * caller (tuf_signer_free()).
 */
int cp_keys_load(const char *keys_dir, const char *role, struct tuf_signer **ret);

/*
 * The online keys document {"sluice_online_keys": 1, "snapshot": KEY, "timestamp": KEY}
 * for the two public key objects (borrowed). *ret is a new reference.
 */
int cp_keys_online_doc(struct json_object *snapshot, struct json_object *timestamp,
		       struct json_object **ret);
