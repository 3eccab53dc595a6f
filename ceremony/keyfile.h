/* SPDX-License-Identifier: Apache-2.0 */
/* Ed25519 private keys sealed with a passphrase (Argon2id, XChaCha20-Poly1305) in JSON files. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "seal.h"

struct json_object;

/*
 * Key file format, version 1 (one JSON object, every member required, no others allowed):
 *
 *   {"sluice_key": 1, "keytype": "ed25519", "scheme": "ed25519", "role": "root",
 *    "public": "<hex 32 bytes>", "keyid": "<hex sha256 of the TUF canonical key object>",
 *    "created": "YYYY-MM-DDTHH:MM:SSZ",
 *    "kdf": {"alg": "argon2id13", "opslimit": N, "memlimit": N, "salt": "<hex 16 bytes>"},
 *    "cipher": {"alg": "xchacha20poly1305-ietf", "nonce": "<hex 24 bytes>",
 *               "ciphertext": "<hex: the 32-byte Ed25519 seed + 16-byte tag>"}}
 *
 * The AEAD additional data binds every other member (format version, keytype, scheme,
 * role, public, keyid, created, the KDF and cipher parameters), so that editing any of
 * them makes decryption fail.
 */

/* Largest key file accepted by the reader. */
#define CER_KEYFILE_MAX (64u * 1024)
/* Longest role name (characters [A-Za-z0-9._-], not starting with '.'). */
#define CER_ROLE_MAX 64
/* Longest passphrase accepted (bytes). */
#define CER_PASSPHRASE_MAX 1024
/* Size of a key id in hex with its NUL. */
#define CER_KEYID_SIZE 65
/* Size of a fingerprint "ab12 cd34 ef56 7890" with its NUL. */
#define CER_FINGERPRINT_SIZE 20
/* Size of an Ed25519 public key and of a signature. */
#define CER_PUBLIC_KEY_BYTES 32
#define CER_SIGNATURE_BYTES 64

/*
 * KDF limits. Production reads and writes enforce the floor (libsodium's "interactive"
 * limits) and always enforce the ceiling; 0 passed to cer_keyfile_generate() selects
 * libsodium's "sensitive" limits, the default for real keys.
 */
#define CER_KDF_OPSLIMIT_FLOOR SL_SEAL_OPSLIMIT_FLOOR
#define CER_KDF_MEMLIMIT_FLOOR SL_SEAL_MEMLIMIT_FLOOR
#define CER_KDF_OPSLIMIT_CEILING SL_SEAL_OPSLIMIT_CEILING
#define CER_KDF_MEMLIMIT_CEILING SL_SEAL_MEMLIMIT_CEILING

/*
 * Flags of cer_keyfile_generate() and cer_keyfile_load().
 * CER_KEYFILE_ALLOW_WEAK_KDF: accept KDF limits below the floor, down to libsodium's
 * absolute minimum. For tests and the fuzz target only, so that they run fast; never set it
 * in a program that handles real keys.
 */
#define CER_KEYFILE_ALLOW_WEAK_KDF SL_SEAL_ALLOW_WEAK_KDF

/* A decrypted key pair. The secret part lives only in sodium_malloc()'d memory. */
struct cer_key;

/*
 * Generate an Ed25519 key pair for role, seal it with passphrase (pass_len bytes, 1 to
 * CER_PASSPHRASE_MAX) and write it to out_path, created with O_CREAT|O_EXCL|O_NOFOLLOW and
 * mode 0600, then fsync the file and its directory. An existing file or a symlink at out_path
 * is never replaced (-EEXIST). opslimit/memlimit 0 select libsodium's sensitive limits.
 * Limits outside [floor, ceiling] are refused before anything is computed: CER_E_KDF_LIMIT
 * above the ceiling, CER_E_KDF_WEAK below the floor (unless CER_KEYFILE_ALLOW_WEAK_KDF).
 * On failure no file is left behind. On success *ret_key (optional, may be NULL) owns the key
 * pair; free it with cer_key_free().
 */
int cer_keyfile_generate(const char *role, const char *passphrase, size_t pass_len,
			 uint64_t opslimit, uint64_t memlimit, unsigned flags, const char *out_path,
			 struct cer_key **ret_key);

/*
 * Read the key file at path (at most CER_KEYFILE_MAX bytes, no symlink) and open it with
 * passphrase. Errors: TUF_E_FORMAT for a malformed file (the message names the member),
 * TUF_E_UNSUPPORTED for an unknown format version or algorithm, CER_E_KDF_WEAK for KDF
 * limits below the floor, CER_E_KDF_LIMIT for absurd KDF limits above the ceiling (both
 * refused before the KDF runs or any KDF memory is allocated), CER_E_PASSPHRASE for "wrong
 * passphrase or tampered key file", SL_E_TOO_LARGE for a file over CER_KEYFILE_MAX, -errno
 * for I/O.
 * *ret_key is set only on success; free it with cer_key_free().
 */
int cer_keyfile_load(const char *path, const char *passphrase, size_t pass_len, unsigned flags,
		     struct cer_key **ret_key);

/*
 * As cer_keyfile_load() for a key file already in memory (buf, len bytes); name is used in
 * error messages only.
 */
int cer_keyfile_load_buf(const void *buf, size_t len, const char *name, const char *passphrase,
			 size_t pass_len, unsigned flags, struct cer_key **ret_key);

/* Wipe and free a key. Accepts NULL, returns NULL. */
struct cer_key *cer_key_free(struct cer_key *key);

/*
 * Ed25519 signature of msg (len bytes) into sig. The secret key is made readable only for
 * the duration of the call, so one key must not sign from two threads at once.
 * Returns 0 or TUF_E_CRYPTO.
 */
int cer_key_sign(const struct cer_key *key, const void *msg, size_t len,
		 uint8_t sig[CER_SIGNATURE_BYTES]);

/* The key id (64 lower-case hex characters), borrowed from key. */
const char *cer_key_keyid(const struct cer_key *key);

/* The role named in the key file, borrowed from key. */
const char *cer_key_role(const struct cer_key *key);

/* The raw public key (CER_PUBLIC_KEY_BYTES), borrowed from key. */
const uint8_t *cer_key_public(const struct cer_key *key);

/* The public key in lower-case hex, borrowed from key. */
const char *cer_key_public_hex(const struct cer_key *key);

/*
 * The TUF public key object for root's "keys" map:
 * {"keytype": "ed25519", "keyval": {"public": "<hex>"}, "scheme": "ed25519"}.
 * Returns 0 and a new reference in *ret (caller puts it), or SL_E_NOMEM.
 */
int cer_key_public_json(const struct cer_key *key, struct json_object **ret);

/* A short fingerprint to read aloud: the first 16 hex digits of the key id, "ab12 cd34 ..". */
void cer_key_fingerprint(const struct cer_key *key, char buf[static CER_FINGERPRINT_SIZE]);

/*
 * The TUF key id of an Ed25519 public key: tuf_keyid_compute() of the key object
 * {"keytype":"ed25519","keyval":{"public":"<hex>"},"scheme":"ed25519"}, the library's one
 * canonical JSON implementation. Returns 0, or SL_E_NOMEM.
 */
int cer_ed25519_keyid(const uint8_t pub[static CER_PUBLIC_KEY_BYTES],
		      char ret[static CER_KEYID_SIZE]);

/* The public part of a key file, read without the passphrase. */
struct cer_keyfile_info {
	char role[CER_ROLE_MAX + 1];
	char keyid[CER_KEYID_SIZE];
	char public_hex[2 * CER_PUBLIC_KEY_BYTES + 1];
	char created[21];
	uint64_t opslimit;
	uint64_t memlimit;
};

/*
 * Read the key file at path with every check of cer_keyfile_load() that needs no passphrase
 * (format, members, key id matching the public key, KDF limits within [floor, ceiling]) and
 * fill *ret with its public part. Nothing is decrypted and no KDF runs. Errors as
 * cer_keyfile_load() except CER_E_PASSPHRASE.
 */
int cer_keyfile_inspect(const char *path, struct cer_keyfile_info *ret);

/* As cer_keyfile_inspect() for a key file in memory; name is used in messages only. */
int cer_keyfile_inspect_buf(const void *buf, size_t len, const char *name,
			    struct cer_keyfile_info *ret);

/* The read-aloud fingerprint of a key id (its first 16 hex digits in groups of four). */
void cer_keyid_fingerprint(const char *keyid, char buf[static CER_FINGERPRINT_SIZE]);

/*
 * How many times this process has run the password KDF. For tests that check that a
 * refusal happened before any KDF work.
 */
unsigned long cer_keyfile_kdf_runs(void);
