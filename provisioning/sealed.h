/* SPDX-License-Identifier: Apache-2.0 */
/* CA private keys sealed with a passphrase (Argon2id + XChaCha20-Poly1305), like ceremony keys. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/*
 * Sealed key file, version 1 (one JSON object, every member required, no others allowed):
 *
 *   {"sluice_sealed_key": 1, "keytype": "ecdsa-p256", "purpose": "device-ca",
 *    "public_sha256": "<hex SHA-256 of the SubjectPublicKeyInfo DER>",
 *    "created": "YYYY-MM-DDTHH:MM:SSZ",
 *    "kdf": {"alg": "argon2id13", "opslimit": N, "memlimit": N, "salt": "<hex 16 bytes>"},
 *    "cipher": {"alg": "xchacha20poly1305-ietf", "nonce": "<hex 24 bytes>",
 *               "ciphertext": "<hex: PKCS#8 DER of the private key + 16-byte tag>"}}
 *
 * The scheme of the ceremony's key files (ceremony/keyfile.h): the same KDF, cipher and
 * KDF floor/ceiling (CER_KDF_*), and AEAD additional data binding every other member.
 */

/* Largest sealed key file read. */
#define PROV_SEALED_MAX (16u * 1024)
/* Longest purpose name ("device-ca", "server-ca"). */
#define PROV_PURPOSE_MAX 32

/*
 * Seal key (ECDSA P-256) with passphrase (1 to CER_PASSPHRASE_MAX bytes) and write it to path,
 * created O_CREAT|O_EXCL|O_NOFOLLOW mode 0600 and fsynced with its directory; an existing
 * file is never replaced (-EEXIST). opslimit/memlimit 0 select libsodium's sensitive limits;
 * limits outside [CER_KDF_*_FLOOR, CER_KDF_*_CEILING] are refused (CER_E_KDF_WEAK,
 * CER_E_KDF_LIMIT) before the KDF runs. Nothing is left behind on failure.
 */
int prov_sealed_key_write(const char *path, const char *purpose, EVP_PKEY *key,
			  const char *passphrase, size_t pass_len, uint64_t opslimit,
			  uint64_t memlimit);

/*
 * Open the sealed key file at path (no symlink, at most PROV_SEALED_MAX bytes) with
 * passphrase. Errors: TUF_E_FORMAT (malformed, naming the member), TUF_E_UNSUPPORTED
 * (version, algorithm), CER_E_KDF_WEAK / CER_E_KDF_LIMIT (refused before the KDF runs),
 * CER_E_PASSPHRASE ("wrong passphrase or tampered key file"), SL_E_TOO_LARGE, -errno.
 * When purpose is not NULL the file must be for that purpose (SL_E_INVALID).
 * *ret (EVP_PKEY_free()) set only on success.
 */
int prov_sealed_key_load(const char *path, const char *purpose, const char *passphrase,
			 size_t pass_len, EVP_PKEY **ret);

/* As prov_sealed_key_load() for file contents in memory; name is used in messages only. */
int prov_sealed_key_load_buf(const void *buf, size_t len, const char *name, const char *purpose,
			     const char *passphrase, size_t pass_len, EVP_PKEY **ret);
