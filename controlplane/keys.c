/* SPDX-License-Identifier: Apache-2.0 */
/* The online snapshot and timestamp keys: generation at init, loading as signers, public halves. */
#include <fcntl.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "fileio.h"
#include "keys.h"
#include "secmem.h"
#include "state.h"
#include "tuf/json.h"
#include "tuf/writer.h"

/* Room for {"keytype":"ed25519","seed":"<64 hex>"} and a newline. */
#define KEY_TEXT_MAX 128

static int key_path(const char *keys_dir, const char *role, char **ret)
{
	if (strcmp(role, "snapshot") != 0 && strcmp(role, "timestamp") != 0)
		return cp_error(SL_E_INVALID, "'%s' is not an online role", role);
	if (asprintf(ret, "%s/%s.key", keys_dir, role) < 0)
		return -ENOMEM;
	return 0;
}

/* sk (seed + public key, 64 bytes of secure memory) from a fresh random seed. */
static int write_key_file(const char *path, const uint8_t *seed)
{
	_cleanup_close_ int fd = -1;
	_cleanup_secure_free_ char *text = sl_secure_alloc(KEY_TEXT_MAX);
	char *hex;
	int n, r;

	if (!text)
		return -ENOMEM;
	memcpy(text, "{\"keytype\":\"ed25519\",\"seed\":\"", 29);
	hex = text + 29;
	sl_hex_encode(seed, 32, hex);
	n = 29 + 64;
	memcpy(text + n, "\"}\n", 4);
	n += 3;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return cp_error(-errno, "%s: cannot create key file: %m", path);
	r = sl_write_all(fd, text, (size_t)n);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0) {
		unlink(path);
		return cp_error(r, "%s: cannot write key file: %s", path, strerror(-r));
	}
	return 0;
}

int cp_keys_generate(const char *keys_dir, const char *role, struct json_object **ret_pubkey)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_secure_free_ uint8_t *sk = NULL;
	uint8_t seed_pk[32];
	int r;

	r = key_path(keys_dir, role, &path);
	if (r < 0)
		return r;
	r = sl_secmem_init();
	if (r < 0)
		return r;
	sk = sl_secure_alloc(64);
	if (!sk)
		return -ENOMEM;
	/* crypto_sign_keypair() draws the seed from randombytes_buf() and keeps it in sk[0..32]. */
	if (crypto_sign_keypair(seed_pk, sk) != 0)
		return cp_error(TUF_E_CRYPTO, "%s: key generation failed", role);
	r = write_key_file(path, sk);
	if (r < 0)
		return r;
	r = sl_fsync_dir(keys_dir);
	if (r < 0)
		return cp_error(r, "%s: cannot sync: %s", keys_dir, strerror(-r));
	if (ret_pubkey) {
		r = tuf_writer_ed25519_key(sk + 32, ret_pubkey);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_key(const char *path, const uint8_t *buf, size_t len, uint8_t *seed)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	const char *type, *hex;
	int r;

	r = tuf_json_parse(buf, len, 4, &o);
	if (r < 0)
		return cp_error(CP_E_STATE, "%s: %s", path, sl_error_message(r));
	if (!json_object_is_type(o, json_type_object) || json_object_object_length(o) != 2 ||
	    tuf_json_get_string(o, "keytype", &type) < 0 ||
	    tuf_json_get_string(o, "seed", &hex) < 0 || strcmp(type, "ed25519") != 0)
		return cp_error(CP_E_STATE, "%s: not an ed25519 online key file", path);
	r = sl_hex_decode(hex, strlen(hex), seed, 32);
	if (r != 32)
		return cp_error(CP_E_STATE, "%s: seed is not 32 bytes of hex", path);
	return 0;
}

int cp_keys_load(const char *keys_dir, const char *role, struct tuf_signer **ret)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	_cleanup_secure_free_ uint8_t *sk = NULL;
	_cleanup_secure_free_ uint8_t *buf = NULL;
	_cleanup_secure_free_ uint8_t *seed = NULL;
	uint8_t pk[32];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int r;

	r = key_path(keys_dir, role, &path);
	if (r < 0)
		return r;
	r = sl_secmem_init();
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cp_error(CP_E_STATE, "%s: cannot open online key: %m", path);
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077))
		return cp_error(CP_E_STATE, "%s: not a regular file of mode 0600", path);
	sk = sl_secure_alloc(64);
	seed = sl_secure_alloc(32);
	buf = sl_secure_alloc(CP_KEY_FILE_MAX + 1);
	if (!sk || !seed || !buf)
		return -ENOMEM;
	while ((n = read(fd, buf + len, CP_KEY_FILE_MAX + 1 - len)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			len += (size_t)n;
	if (n < 0)
		return cp_error(-errno, "%s: read: %m", path);
	if (len > CP_KEY_FILE_MAX)
		return cp_error(CP_E_STATE, "%s: larger than %u bytes", path, CP_KEY_FILE_MAX);
	r = parse_key(path, buf, len, seed);
	if (r < 0)
		return r;
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0)
		return cp_error(TUF_E_CRYPTO, "%s: cannot derive the key pair", path);
	return tuf_signer_ed25519_new(sk, ret);
}

int cp_keys_online_doc(struct json_object *snapshot, struct json_object *timestamp,
		       struct json_object **ret)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "sluice_online_keys", json_object_new_int(CP_ONLINE_KEYS_FORMAT));
	json_object_object_add(o, "snapshot", json_object_get(snapshot));
	json_object_object_add(o, "timestamp", json_object_get(timestamp));
	*ret = o;
	return 0;
}
