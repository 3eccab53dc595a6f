/* SPDX-License-Identifier: Apache-2.0 */
/* Passphrase sealing: Argon2id key derivation and XChaCha20-Poly1305 with additional data. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * The primitive under the sealed file formats (ceremony key files, provisioning CA keys).
 * Each format keeps its own layout and builds its own additional data; this module checks
 * the KDF limits, derives the sealing key into sodium_malloc()'d memory, seals and opens,
 * and wipes the derived key before returning.
 */

#define SL_SEAL_KDF_ALG "argon2id13"
#define SL_SEAL_CIPHER_ALG "xchacha20poly1305-ietf"
#define SL_SEAL_SALT_BYTES 16u
#define SL_SEAL_NONCE_BYTES 24u
#define SL_SEAL_TAG_BYTES 16u

/*
 * KDF limits. Production reads and writes enforce the floor (libsodium's "interactive"
 * limits) and always enforce the ceiling.
 */
#define SL_SEAL_OPSLIMIT_FLOOR 2u			     /* OPSLIMIT_INTERACTIVE */
#define SL_SEAL_MEMLIMIT_FLOOR (64u * 1024 * 1024)	     /* MEMLIMIT_INTERACTIVE */
#define SL_SEAL_OPSLIMIT_CEILING (64u * 4)		     /* 64 x OPSLIMIT_SENSITIVE */
#define SL_SEAL_MEMLIMIT_CEILING (4ull * 1024 * 1024 * 1024) /* 4 GiB */

/*
 * Flag of sl_seal_kdf_check(): accept limits below the floor, down to libsodium's absolute
 * minimum. For tests and fuzz targets only.
 */
#define SL_SEAL_ALLOW_WEAK_KDF (1u << 0)

/* The KDF parameters of one sealed object; salt is borrowed (SL_SEAL_SALT_BYTES). */
struct sl_seal_kdf {
	uint64_t opslimit;
	uint64_t memlimit;
	const uint8_t *salt;
};

/* Room for additional data: the header fields of a sealed file, all of them bounded. */
#define SL_SEAL_AD_MAX 1024u

/*
 * Additional data under construction: fields appended in the caller's order, each prefixed
 * with its length, big-endian, in prefix_bytes (2 or 4: part of each file format).
 */
struct sl_seal_ad {
	uint8_t buf[SL_SEAL_AD_MAX];
	size_t len;
	unsigned prefix_bytes;
};

/* Append n bytes of data (the format's fields are bounded: overflowing is a programmer error). */
void sl_seal_ad_put(struct sl_seal_ad *ad, const void *data, size_t n);

/* Append the bytes of s without its NUL. */
void sl_seal_ad_put_str(struct sl_seal_ad *ad, const char *s);

/* Append v as 8 bytes, big-endian. */
void sl_seal_ad_put_u64(struct sl_seal_ad *ad, uint64_t v);

/*
 * Refuse KDF limits outside [floor, ceiling] before any KDF memory is allocated:
 * CER_E_KDF_LIMIT above the ceiling, CER_E_KDF_WEAK below the floor (unless flags has
 * SL_SEAL_ALLOW_WEAK_KDF). name prefixes the message.
 */
int sl_seal_kdf_check(const char *name, uint64_t opslimit, uint64_t memlimit, unsigned flags);

/*
 * Seal plain[0..len) with a key derived from the passphrase by kdf (limits already checked
 * with sl_seal_kdf_check()), the nonce and the additional data ad. Writes len +
 * SL_SEAL_TAG_BYTES bytes to ret_ct (caller's buffer). SL_E_NOMEM when the KDF cannot run.
 */
int sl_seal_encrypt(const char *passphrase, size_t pass_len, const struct sl_seal_kdf *kdf,
		    const uint8_t nonce[static SL_SEAL_NONCE_BYTES], const uint8_t *ad,
		    size_t ad_len, const uint8_t *plain, size_t len, uint8_t *ret_ct);

/*
 * Open ct[0..ct_len) (ct_len > SL_SEAL_TAG_BYTES) sealed by sl_seal_encrypt() into ret_plain
 * (caller's buffer of ct_len - SL_SEAL_TAG_BYTES bytes, secure memory for a secret).
 * CER_E_PASSPHRASE ("<name>: wrong passphrase or tampered key file") when the tag does not
 * verify, SL_E_NOMEM when the KDF cannot run.
 */
int sl_seal_decrypt(const char *name, const char *passphrase, size_t pass_len,
		    const struct sl_seal_kdf *kdf, const uint8_t nonce[static SL_SEAL_NONCE_BYTES],
		    const uint8_t *ad, size_t ad_len, const uint8_t *ct, size_t ct_len,
		    uint8_t *ret_plain);

/*
 * Create the sealed file path exclusively with mode 0600 (never through a symlink), write
 * data, fsync the file and its directory; on failure the file is removed. -EEXIST when path
 * exists, -errno otherwise, with a message naming path.
 */
int sl_seal_write_file(const char *path, const char *data, size_t len);
