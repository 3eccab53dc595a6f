/* SPDX-License-Identifier: Apache-2.0 */
/* Passphrase sealing: Argon2id key derivation and XChaCha20-Poly1305 with additional data. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "seal.h"
#include "secmem.h"

#define AEAD_KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES

_Static_assert(SL_SEAL_SALT_BYTES == crypto_pwhash_argon2id_SALTBYTES, "argon2id salt size");
_Static_assert(SL_SEAL_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	       "xchacha20 nonce size");
_Static_assert(SL_SEAL_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "poly1305 tag size");

void sl_seal_ad_put(struct sl_seal_ad *ad, const void *data, size_t n)
{
	unsigned w = ad->prefix_bytes;

	assert(w == 2 || w == 4);
	assert((w == 4 || n <= UINT16_MAX) && n <= UINT32_MAX);
	assert(ad->len + w + n <= sizeof(ad->buf));
	for (unsigned i = 0; i < w; i++)
		ad->buf[ad->len++] = (uint8_t)(n >> (8 * (w - 1 - i)));
	memcpy(ad->buf + ad->len, data, n);
	ad->len += n;
}

void sl_seal_ad_put_str(struct sl_seal_ad *ad, const char *s)
{
	sl_seal_ad_put(ad, s, strlen(s));
}

void sl_seal_ad_put_u64(struct sl_seal_ad *ad, uint64_t v)
{
	uint8_t be[8];

	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(v >> (56 - 8 * i));
	sl_seal_ad_put(ad, be, sizeof(be));
}

int sl_seal_kdf_check(const char *name, uint64_t opslimit, uint64_t memlimit, unsigned flags)
{
	uint64_t ops_floor = SL_SEAL_OPSLIMIT_FLOOR, mem_floor = SL_SEAL_MEMLIMIT_FLOOR;

	if (opslimit > SL_SEAL_OPSLIMIT_CEILING)
		return sl_error(CER_E_KDF_LIMIT,
				"%s: kdf.opslimit %" PRIu64
				" exceeds the ceiling of %u (refused before running the KDF)",
				name, opslimit, SL_SEAL_OPSLIMIT_CEILING);
	if (memlimit > SL_SEAL_MEMLIMIT_CEILING || memlimit > SIZE_MAX)
		return sl_error(CER_E_KDF_LIMIT,
				"%s: kdf.memlimit %" PRIu64
				" exceeds the ceiling of 4 GiB (refused before allocating)",
				name, memlimit);
	if (flags & SL_SEAL_ALLOW_WEAK_KDF) {
		ops_floor = crypto_pwhash_argon2id_OPSLIMIT_MIN;
		mem_floor = crypto_pwhash_argon2id_MEMLIMIT_MIN;
	}
	if (opslimit < ops_floor)
		return sl_error(CER_E_KDF_WEAK,
				"%s: kdf.opslimit %" PRIu64 " is below the floor of %" PRIu64
				" (too weak)",
				name, opslimit, ops_floor);
	if (memlimit < mem_floor)
		return sl_error(CER_E_KDF_WEAK,
				"%s: kdf.memlimit %" PRIu64 " is below the floor of %" PRIu64
				" (too weak)",
				name, memlimit, mem_floor);
	return 0;
}

/* Derive the sealing key from the passphrase into secure memory. */
static int derive(const char *passphrase, size_t pass_len, const struct sl_seal_kdf *kdf,
		  uint8_t **ret_key)
{
	_cleanup_secure_free_ uint8_t *key = NULL;

	assert(kdf->memlimit <= SIZE_MAX);
	key = sl_secure_alloc(AEAD_KEY_BYTES);
	if (!key)
		return sl_error(SL_E_NOMEM, "cannot allocate secure memory for the sealing key");
	if (crypto_pwhash(key, AEAD_KEY_BYTES, passphrase, pass_len, kdf->salt, kdf->opslimit,
			  (size_t)kdf->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return sl_error(SL_E_NOMEM,
				"argon2id with memlimit %" PRIu64 " failed: out of memory",
				kdf->memlimit);
	*ret_key = TAKE_PTR(key);
	return 0;
}

int sl_seal_encrypt(const char *passphrase, size_t pass_len, const struct sl_seal_kdf *kdf,
		    const uint8_t nonce[static SL_SEAL_NONCE_BYTES], const uint8_t *ad,
		    size_t ad_len, const uint8_t *plain, size_t len, uint8_t *ret_ct)
{
	_cleanup_secure_free_ uint8_t *key = NULL;
	int r;

	r = derive(passphrase, pass_len, kdf, &key);
	if (r < 0)
		return r;
	crypto_aead_xchacha20poly1305_ietf_encrypt(ret_ct, NULL, plain, len, ad, ad_len, NULL,
						   nonce, key);
	return 0;
}

int sl_seal_decrypt(const char *name, const char *passphrase, size_t pass_len,
		    const struct sl_seal_kdf *kdf, const uint8_t nonce[static SL_SEAL_NONCE_BYTES],
		    const uint8_t *ad, size_t ad_len, const uint8_t *ct, size_t ct_len,
		    uint8_t *ret_plain)
{
	_cleanup_secure_free_ uint8_t *key = NULL;
	int r;

	assert(ct_len > SL_SEAL_TAG_BYTES);
	r = derive(passphrase, pass_len, kdf, &key);
	if (r < 0)
		return r;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(ret_plain, NULL, NULL, ct, ct_len, ad,
						       ad_len, nonce, key) != 0)
		return sl_error(CER_E_PASSPHRASE, "%s: wrong passphrase or tampered key file",
				name);
	return 0;
}

int sl_seal_write_file(const char *path, const char *data, size_t len)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	dir = strdup(path);
	if (!dir)
		return sl_error(SL_E_NOMEM, "out of memory");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		r = -errno;
		return sl_error(r, "%s: cannot create the key file: %s", path, strerror(-r));
	}
	r = sl_write_all(fd, data, len);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && close(TAKE_FD(fd)) < 0)
		r = -errno;
	if (r >= 0)
		r = sl_fsync_dir(dirname(dir));
	if (r < 0) {
		unlink(path);
		return sl_error(r, "%s: cannot write the key file: %s", path, strerror(-r));
	}
	return 0;
}
