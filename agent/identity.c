/* SPDX-License-Identifier: Apache-2.0 */
/* Using the imported identity: its configuration, pinned root, certificate facts and key. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "provision.h"
#include "state.h"
#include "tuf/updater.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free)

#define GENERATION_MAX 64
#define SIG_MAX 1024

bool agent_identity_present(const char *state_dir)
{
	_cleanup_free_ char *p = agent_path(state_dir, "identity");
	struct stat st;

	return p && lstat(p, &st) == 0;
}

static int read_identity_file(const char *state_dir, const char *name, size_t max, uint8_t **ret,
			      size_t *ret_len)
{
	_cleanup_free_ char *p = NULL;
	int r;

	if (asprintf(&p, "%s/identity/%s", state_dir, name) < 0)
		return -ENOMEM;
	r = sl_read_file_at(AT_FDCWD, p, max, ret, ret_len);
	if (r == -ENOENT)
		return sl_error(TUF_E_STATE, "%s: missing: the device is not provisioned", p);
	if (r < 0)
		return sl_error(r, "%s: cannot read: %s", p, sl_strerror(r));
	return 0;
}

static int read_generation(const char *dir, char out[GENERATION_MAX + 1])
{
	_cleanup_free_ char *p = agent_path(dir, "generation");
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	if (!p)
		return -ENOMEM;
	r = sl_read_file_at(AT_FDCWD, p, GENERATION_MAX, &buf, &len);
	if (r < 0)
		return r;
	memcpy(out, buf, len);
	out[len] = '\0';
	return 0;
}

int agent_identity_tuf_ensure(const char *state_dir)
{
	_cleanup_free_ char *idir = agent_path(state_dir, "identity");
	_cleanup_free_ char *tdir = agent_path(state_dir, "tuf");
	_cleanup_free_ char *tmp = NULL, *stuf = NULL;
	_cleanup_free_ uint8_t *root = NULL;
	char gi[GENERATION_MAX + 1], gt[GENERATION_MAX + 1];
	struct stat st;
	size_t len;
	int r;

	if (!idir || !tdir)
		return -ENOMEM;
	r = read_generation(idir, gi);
	if (r == -ENOENT)
		return sl_error(TUF_E_STATE, "%s: the device is not provisioned", idir);
	if (r < 0)
		return sl_error(TUF_E_STATE, "%s/generation: unreadable", idir);
	if (read_generation(tdir, gt) == 0 && !strcmp(gi, gt))
		return 0;
	/* STATE/tuf is missing or from an earlier provisioning: rebuild it from the pinned root. */
	r = read_identity_file(state_dir, "root.json", TUF_DEFAULT_ROOT_MAX, &root, &len);
	if (r < 0)
		return r;
	r = sl_mkdtemp_private(state_dir, &tmp);
	if (r < 0)
		return r;
	stuf = agent_path(tmp, "tuf");
	r = stuf ? 0 : -ENOMEM;
	if (r >= 0 && mkdir(stuf, 0755) < 0)
		r = -errno;
	if (r >= 0)
		r = tuf_updater_init_root(stuf, root, len);
	if (r >= 0) {
		_cleanup_free_ char *g = agent_path(stuf, "generation");
		r = g ? sl_write_file_atomic(g, gi, strlen(gi), 0644) : -ENOMEM;
	}
	if (r >= 0 && lstat(tdir, &st) == 0)
		r = renameat2(AT_FDCWD, stuf, AT_FDCWD, tdir, RENAME_EXCHANGE) < 0 ? -errno : 0;
	else if (r >= 0)
		r = rename(stuf, tdir) < 0 ? -errno : 0;
	if (r >= 0)
		r = sl_fsync_dir(state_dir);
	sl_rm_rf(tmp);
	if (r < 0)
		return sl_error(r, "%s: cannot rebuild the trusted metadata: %s", tdir,
				sl_strerror(r));
	return 0;
}

int agent_identity_load_config(const char *state_dir, struct agent_config *cfg)
{
	_cleanup_free_ char *p = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	if (asprintf(&p, "%s/identity/agent.conf", state_dir) < 0)
		return -ENOMEM;
	r = sl_read_file_at(AT_FDCWD, p, AGENT_CONFIG_MAX, &buf, &len);
	if (r < 0)
		return r;
	return agent_config_parse((const char *)buf, len, p, true, cfg);
}

static int load_cert(const char *state_dir, X509 **ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_(BIO_freep) BIO *b = NULL;
	size_t len;
	int r;

	r = read_identity_file(state_dir, "device.crt", AGENT_MEDIA_CERT_MAX, &buf, &len);
	if (r < 0)
		return r;
	b = BIO_new_mem_buf(buf, (int)len);
	if (!b)
		return -ENOMEM;
	*ret = PEM_read_bio_X509(b, NULL, NULL, NULL);
	if (!*ret)
		return sl_error(TUF_E_STATE, "identity/device.crt: not a PEM certificate");
	return 0;
}

int agent_identity_info(const char *state_dir, struct agent_identity_info *ret)
{
	_cleanup_(X509_freep) X509 *cert = NULL;
	_cleanup_free_ unsigned char *der = NULL;
	struct tm tm;
	char cn[256];
	int r, n;

	*ret = (struct agent_identity_info){};
	r = load_cert(state_dir, &cert);
	if (r < 0)
		return r;
	ret->subject = X509_NAME_oneline(X509_get_subject_name(cert), NULL, 0);
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
				      sizeof(cn)) >= 0)
		ret->common_name = strdup(cn);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
		ret->not_after = (int64_t)timegm(&tm);
	n = i2d_X509(cert, &der);
	if (n > 0)
		tuf_sha256_hex(der, (size_t)n, ret->sha256);
	if (!ret->subject) {
		agent_identity_info_clear(ret);
		return -ENOMEM;
	}
	return 0;
}

void agent_identity_info_clear(struct agent_identity_info *i)
{
	OPENSSL_free(i->subject);
	free(i->common_name);
	*i = (struct agent_identity_info){};
}

int agent_identity_cert_pem(const char *state_dir, char **ret)
{
	uint8_t *buf;
	size_t len;
	int r;

	r = read_identity_file(state_dir, "device.crt", AGENT_MEDIA_CERT_MAX, &buf, &len);
	if (r < 0)
		return r;
	*ret = (char *)buf;
	return 0;
}

static int load_key(const char *state_dir, EVP_PKEY **ret)
{
	_cleanup_(BIO_freep) BIO *b = NULL;
	uint8_t *buf = NULL;
	size_t len;
	int r;

	r = read_identity_file(state_dir, "device.key", AGENT_MEDIA_KEY_MAX, &buf, &len);
	if (r < 0)
		return r;
	b = BIO_new_mem_buf(buf, (int)len);
	*ret = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	explicit_bzero(buf, len);
	free(buf);
	if (!*ret)
		return sl_error(TUF_E_STATE, "identity/device.key: not a PEM private key");
	return 0;
}

int agent_identity_sign(const char *state_dir, const void *msg, size_t len, const char **ret_alg,
			char **ret_sig_hex)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *md = EVP_sha256();
	unsigned char sig[SIG_MAX];
	size_t siglen = sizeof(sig);
	const char *alg;
	char *hex;
	int r;

	if (!ctx)
		return -ENOMEM;
	r = load_key(state_dir, &key);
	if (r < 0)
		return r;
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_EC:
		alg = "ecdsa-sha256";
		break;
	case EVP_PKEY_ED25519:
		alg = "ed25519";
		md = NULL;
		break;
	case EVP_PKEY_RSA:
		alg = "rsa-pss-sha256";
		break;
	default:
		return sl_error(TUF_E_UNSUPPORTED, "identity/device.key: unsupported key type");
	}
	if (EVP_DigestSignInit(ctx, &pctx, md, NULL, key) != 1 ||
	    (!strcmp(alg, "rsa-pss-sha256") &&
	     EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1) ||
	    EVP_DigestSign(ctx, sig, &siglen, msg, len) != 1)
		return sl_error(TUF_E_CRYPTO, "identity/device.key: signing failed");
	hex = malloc(2 * siglen + 1);
	if (!hex)
		return -ENOMEM;
	sl_hex_encode(sig, siglen, hex);
	*ret_alg = alg;
	*ret_sig_hex = hex;
	return 0;
}
