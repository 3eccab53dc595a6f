/* SPDX-License-Identifier: Apache-2.0 */
/* The provisioning station's CAs: creation, unlocking, enrollment CA, server certificate, CRL. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "pki-internal.h"
#include "sealed.h"
#include "secmem.h"

#define DAY 86400

static const char *const ca_crt[2] = {PKI_DEVICE_CA_CRT, PKI_SERVER_CA_CRT};
static const char *const ca_key[2] = {PKI_DEVICE_CA_KEY, PKI_SERVER_CA_KEY};
static const char *const ca_purpose[2] = {"device-ca", "server-ca"};

int64_t pki_now(void)
{
	return (int64_t)time(NULL);
}

static char *path_join(const char *dir, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

int pki_write_at(int dfd, const char *dir, const char *name, const void *data, size_t len,
		 mode_t mode)
{
	int r = sl_write_file_atomic_at(dfd, name, data, len, mode);

	if (r < 0)
		return sl_error(r, "%s/%s: cannot write: %s", dir, name, sl_strerror(r));
	return 0;
}

int pki_need_key(const struct prov_pki *p, enum prov_ca ca)
{
	if (!p->key[ca])
		return sl_error(SL_E_INVALID, "the %s key is not unlocked", ca_purpose[ca]);
	return 0;
}

static int ca_cert_new(const char *cn, int pathlen, uint32_t days, EVP_PKEY *key, X509 **ret)
{
	int64_t now = pki_now();
	struct prov_cert_spec spec = {
	    .kind = PROV_CERT_ROOT_CA,
	    .common_name = cn,
	    .not_before = now - PROV_BACKDATE,
	    .not_after = now + (int64_t)days * DAY,
	    .pathlen = pathlen,
	};

	return prov_cert_issue(&spec, key, NULL, NULL, ret);
}

/* A CRL of the device CA listing rv into dfd/crl.pem. */
static int write_crl(int dfd, const char *dir, X509 *ca, EVP_PKEY *key,
		     const struct prov_revoked *rv, size_t n, uint64_t number, uint32_t days)
{
	_cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
	_cleanup_free_ char *pem = NULL;
	int64_t now = pki_now();
	size_t len;
	int r;

	r = prov_crl_build(ca, key, rv, n, number, now - PROV_BACKDATE, now + (int64_t)days * DAY,
			   &crl);
	if (r >= 0)
		r = prov_crl_pem(crl, &pem, &len);
	if (r >= 0)
		r = pki_write_at(dfd, dir, PKI_CRL, pem, len, 0644);
	return r;
}

static int init_ca(int dfd, const char *dir, enum prov_ca which, const char *cn, int pathlen,
		   const char *pass, size_t pass_len, uint64_t ops, uint64_t mem, uint32_t days,
		   X509 **ret_cert, EVP_PKEY **ret_key)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	_cleanup_(X509_freep) X509 *cert = NULL;
	_cleanup_free_ char *pem = NULL;
	_cleanup_free_ char *key_path = path_join(dir, ca_key[which]);
	size_t len;
	int r;

	if (!key_path)
		return sl_error(SL_E_NOMEM, "out of memory");
	r = prov_key_generate(&key);
	if (r >= 0)
		r = ca_cert_new(cn, pathlen, days, key, &cert);
	if (r >= 0)
		r = prov_cert_pem(cert, &pem, &len);
	if (r < 0)
		return r;
	r = prov_sealed_key_write(key_path, ca_purpose[which], key, pass, pass_len, ops, mem);
	if (r < 0)
		return r;
	r = pki_write_at(dfd, dir, ca_crt[which], pem, len, 0644);
	if (r < 0)
		return r;
	*ret_cert = TAKE_PTR(cert);
	*ret_key = TAKE_PTR(key);
	return 0;
}

static void init_undo(int dfd)
{
	static const char *const names[] = {PKI_DEVICE_CA_CRT, PKI_DEVICE_CA_KEY, PKI_SERVER_CA_CRT,
					    PKI_SERVER_CA_KEY, PKI_CRL};

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		unlinkat(dfd, names[i], 0);
}

int prov_pki_init(const char *dir, const char *name, const char *passphrase, size_t pass_len,
		  uint64_t opslimit, uint64_t memlimit, uint32_t days)
{
	_cleanup_(X509_freep) X509 *dev = NULL, *srv = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *dev_key = NULL, *srv_key = NULL;
	_cleanup_close_ int dfd = -1;
	char cn[2][80];
	struct stat st;
	int r;

	if (!name || !name[0] || strlen(name) > 48)
		return sl_error(SL_E_INVALID, "CA name must be 1 to 48 bytes");
	snprintf(cn[0], sizeof(cn[0]), "%s device CA", name);
	snprintf(cn[1], sizeof(cn[1]), "%s server CA", name);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return sl_error(-errno, "%s: cannot create: %s", dir, strerror(errno));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return sl_error(-errno, "%s: cannot open: %s", dir, strerror(errno));
	for (int i = 0; i < 2; i++)
		if (fstatat(dfd, ca_crt[i], &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		    fstatat(dfd, ca_key[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
			return sl_error(-EEXIST, "%s: already holds a %s, refusing to replace it",
					dir, ca_purpose[i]);
	r = init_ca(dfd, dir, PROV_CA_DEVICE, cn[0], 1, passphrase, pass_len, opslimit, memlimit,
		    days, &dev, &dev_key);
	if (r >= 0)
		r = init_ca(dfd, dir, PROV_CA_SERVER, cn[1], 0, passphrase, pass_len, opslimit,
			    memlimit, days, &srv, &srv_key);
	if (r >= 0)
		r = write_crl(dfd, dir, dev, dev_key, NULL, 0, 1, PROV_DAYS_CRL);
	if (r >= 0 && fsync(dfd) < 0)
		r = sl_error(-errno, "%s: cannot sync: %s", dir, strerror(errno));
	if (r < 0)
		init_undo(dfd);
	return r;
}

static int read_pem(struct prov_pki *p, const char *name, bool optional, char **ret_pem,
		    X509 **ret_cert)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	r = sl_read_file_at(p->dfd, name, PROV_PEM_MAX, &buf, &len);
	if (r == -ENOENT && optional)
		return 0;
	if (r == -ENOENT)
		return sl_error(TUF_E_STATE, "%s/%s: missing (run 'sluice-provision ca init')",
				p->dir, name);
	if (r < 0)
		return sl_error(r, "%s/%s: cannot read: %s", p->dir, name, sl_error_message(r));
	r = prov_cert_parse(buf, len, name, ret_cert);
	if (r < 0)
		return sl_error(TUF_E_STATE, "%s/%s: %s", p->dir, name, sl_error_message(r));
	*ret_pem = (char *)TAKE_PTR(buf);
	return 0;
}

int prov_pki_open(const char *dir, struct prov_pki **ret)
{
	struct prov_pki *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return sl_error(SL_E_NOMEM, "out of memory");
	p->lock_fd = -1;
	p->dir = strdup(dir);
	p->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!p->dir || p->dfd < 0) {
		r = p->dir ? sl_error(errno == ENOENT ? TUF_E_STATE : -errno,
				      "%s: no PKI here (%s; run 'sluice-provision ca init')", dir,
				      strerror(errno))
			   : sl_error(SL_E_NOMEM, "out of memory");
		goto fail;
	}
	p->lock_fd = openat(p->dfd, PKI_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (p->lock_fd < 0) {
		r = sl_error(-errno, "%s/%s: cannot open: %s", dir, PKI_LOCK, strerror(errno));
		goto fail;
	}
	if (flock(p->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = sl_error(CP_E_CONFLICT, "%s: in use by another sluice-provision", dir);
		goto fail;
	}
	for (int i = 0; i < 2; i++) {
		r = read_pem(p, ca_crt[i], false, &p->ca_pem[i], &p->ca[i]);
		if (r < 0)
			goto fail;
	}
	r = read_pem(p, PKI_ENROLLMENT_CA_CRT, true, &p->enrollment_pem, &p->enrollment);
	if (r < 0)
		goto fail;
	*ret = p;
	return 0;
fail:
	prov_pki_free(p);
	return r;
}

struct prov_pki *prov_pki_free(struct prov_pki *p)
{
	if (!p)
		return NULL;
	for (int i = 0; i < 2; i++) {
		X509_free(p->ca[i]);
		free(p->ca_pem[i]);
		EVP_PKEY_free(p->key[i]);
	}
	X509_free(p->enrollment);
	free(p->enrollment_pem);
	free(p->issued);
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	if (p->dfd >= 0)
		close(p->dfd);
	free(p->dir);
	free(p);
	return NULL;
}

int prov_pki_unlock(struct prov_pki *p, enum prov_ca ca, const char *passphrase, size_t pass_len)
{
	_cleanup_free_ char *path = path_join(p->dir, ca_key[ca]);
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	int r;

	if (!path)
		return sl_error(SL_E_NOMEM, "out of memory");
	if (p->key[ca])
		return 0;
	r = prov_sealed_key_load(path, ca_purpose[ca], passphrase, pass_len, &key);
	if (r < 0)
		return r;
	r = prov_cert_key_match(p->ca[ca], key);
	if (r < 0)
		return sl_error(TUF_E_STATE, "%s: does not belong to %s", path, ca_crt[ca]);
	p->key[ca] = TAKE_PTR(key);
	return 0;
}

const char *prov_pki_ca_pem(const struct prov_pki *p, enum prov_ca ca)
{
	return p->ca_pem[ca];
}

int prov_pki_device_chain_pem(const struct prov_pki *p, char **ret)
{
	const char *dev = p->ca_pem[PROV_CA_DEVICE];
	const char *enr = p->enrollment_pem ? p->enrollment_pem : "";
	const char *sep = enr[0] && dev[0] && dev[strlen(dev) - 1] != '\n' ? "\n" : "";

	if (asprintf(ret, "%s%s%s", dev, sep, enr) < 0)
		return sl_error(SL_E_NOMEM, "out of memory");
	return 0;
}

/* Open (creating 0700) an output directory and check that names do not exist there. */
static int out_open(const char *out_dir, const char *const *names, size_t n, unsigned flags,
		    int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	r = sl_mkdir_p(out_dir, 0700);
	if (r < 0)
		return sl_error(r, "%s: cannot create: %s", out_dir, sl_strerror(r));
	fd = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sl_error(-errno, "%s: cannot open: %s", out_dir, strerror(errno));
	for (size_t i = 0; i < n && !(flags & PROV_FORCE_OUT); i++)
		if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
			return sl_error(-EEXIST, "%s/%s: already exists (use --force to replace)",
					out_dir, names[i]);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static void enrollment_cn(X509 *dev, char ret[static 96])
{
	char cn[80] = "";
	size_t n;

	X509_NAME_get_text_by_NID(X509_get_subject_name(dev), NID_commonName, cn, sizeof(cn));
	n = strlen(cn);
	if (n > 10 && strcmp(cn + n - 10, " device CA") == 0)
		snprintf(ret, 96, "%.*s enrollment CA", (int)(n - 10), cn);
	else
		snprintf(ret, 96, "%s enrollment", cn[0] ? cn : "sluice");
}

int prov_pki_enrollment_ca(struct prov_pki *p, const char *out_dir, uint32_t days, unsigned flags)
{
	static const char *const names[] = {"enrollment-ca.crt", "enrollment-ca.key",
					    "device-ca.pem"};
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	_cleanup_(X509_freep) X509 *cert = NULL;
	_cleanup_free_ char *pem = NULL;
	_cleanup_free_ char *chain = NULL;
	_cleanup_secure_free_ char *key_pem = NULL;
	_cleanup_close_ int ofd = -1;
	int64_t now = pki_now();
	size_t len, key_len;
	char cn[96];
	struct prov_cert_spec spec = {
	    .kind = PROV_CERT_SUB_CA,
	    .common_name = cn,
	    .not_before = now - PROV_BACKDATE,
	    .not_after = now + (int64_t)days * DAY,
	    .pathlen = 0,
	};
	int r;

	r = pki_need_key(p, PROV_CA_DEVICE);
	if (r < 0)
		return r;
	if (p->enrollment && !(flags & PROV_FORCE_OUT))
		return sl_error(-EEXIST, "%s/%s: an enrollment CA exists (use --force to replace)",
				p->dir, PKI_ENROLLMENT_CA_CRT);
	r = out_open(out_dir, names, ELEMENTSOF(names), flags, &ofd);
	if (r < 0)
		return r;
	enrollment_cn(p->ca[PROV_CA_DEVICE], cn);
	r = prov_key_generate(&key);
	if (r >= 0)
		r = prov_cert_issue(&spec, key, p->ca[PROV_CA_DEVICE], p->key[PROV_CA_DEVICE],
				    &cert);
	if (r >= 0)
		r = prov_cert_pem(cert, &pem, &len);
	if (r >= 0)
		r = prov_key_pem(key, &key_pem, &key_len);
	if (r >= 0)
		r = pki_write_at(ofd, out_dir, "enrollment-ca.key", key_pem, key_len, 0600);
	if (r >= 0)
		r = pki_write_at(ofd, out_dir, "enrollment-ca.crt", pem, len, 0644);
	if (r >= 0)
		r = pki_write_at(p->dfd, p->dir, PKI_ENROLLMENT_CA_CRT, pem, len, 0644);
	if (r < 0)
		return r;
	X509_free(p->enrollment);
	free(p->enrollment_pem);
	p->enrollment = TAKE_PTR(cert);
	p->enrollment_pem = TAKE_PTR(pem);
	r = prov_pki_device_chain_pem(p, &chain);
	if (r >= 0)
		r = pki_write_at(ofd, out_dir, "device-ca.pem", chain, strlen(chain), 0644);
	return r;
}

static int copy_crl(struct prov_pki *p, int ofd, const char *out_dir)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	r = sl_read_file_at(p->dfd, PKI_CRL, PROV_PEM_MAX, &buf, &len);
	if (r < 0)
		return sl_error(TUF_E_STATE, "%s/%s: cannot read: %s", p->dir, PKI_CRL,
				sl_error_message(r));
	return pki_write_at(ofd, out_dir, PKI_CRL, buf, len, 0644);
}

int prov_pki_server_cert(struct prov_pki *p, const struct prov_server_spec *s, const char *out_dir,
			 unsigned flags)
{
	static const char *const names[] = {"server.crt", "server.key", "device-ca.pem", PKI_CRL};
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	_cleanup_(X509_freep) X509 *cert = NULL;
	_cleanup_free_ char *pem = NULL;
	_cleanup_free_ char *chain = NULL;
	_cleanup_secure_free_ char *key_pem = NULL;
	_cleanup_close_ int ofd = -1;
	int64_t now = pki_now();
	size_t len, key_len;
	struct prov_cert_spec spec = {
	    .kind = PROV_CERT_SERVER,
	    .common_name = s->n_dns  ? s->dns[0]
			   : s->n_ip ? s->ip[0]
				     : NULL,
	    .not_before = now - PROV_BACKDATE,
	    .not_after = now + (int64_t)s->days * DAY,
	    .pathlen = -1,
	    .dns = s->dns,
	    .n_dns = s->n_dns,
	    .ip = s->ip,
	    .n_ip = s->n_ip,
	};
	int r;

	r = pki_need_key(p, PROV_CA_SERVER);
	if (r < 0)
		return r;
	if (!spec.common_name)
		return sl_error(SL_E_INVALID, "a server certificate needs --dns or --ip");
	r = prov_key_generate(&key);
	if (r >= 0)
		r = prov_cert_issue(&spec, key, p->ca[PROV_CA_SERVER], p->key[PROV_CA_SERVER],
				    &cert);
	if (r >= 0)
		r = prov_cert_pem(cert, &pem, &len);
	if (r >= 0)
		r = prov_key_pem(key, &key_pem, &key_len);
	if (r >= 0)
		r = prov_pki_device_chain_pem(p, &chain);
	if (r >= 0)
		r = out_open(out_dir, names, ELEMENTSOF(names), flags, &ofd);
	if (r >= 0)
		r = pki_write_at(ofd, out_dir, "server.key", key_pem, key_len, 0600);
	if (r >= 0)
		r = pki_write_at(ofd, out_dir, "server.crt", pem, len, 0644);
	if (r >= 0)
		r = pki_write_at(ofd, out_dir, "device-ca.pem", chain, strlen(chain), 0644);
	if (r >= 0)
		r = copy_crl(p, ofd, out_dir);
	return r;
}

/* The CRL number of PKI/crl.pem plus one (1 when there is none). */
static int next_crl_number(struct prov_pki *p, uint64_t *ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_(X509_CRL_freep) X509_CRL *crl = NULL;
	ASN1_INTEGER *num;
	uint64_t v = 0;
	size_t len;
	int r;

	r = sl_read_file_at(p->dfd, PKI_CRL, PROV_PEM_MAX, &buf, &len);
	if (r == -ENOENT) {
		*ret = 1;
		return 0;
	}
	if (r >= 0)
		r = prov_crl_parse(buf, len, PKI_CRL, &crl);
	if (r < 0)
		return sl_error(TUF_E_STATE, "%s/%s: %s", p->dir, PKI_CRL, sl_error_message(r));
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	if (!num || !ASN1_INTEGER_get_uint64(&v, num) || v == UINT64_MAX) {
		ASN1_INTEGER_free(num);
		return sl_error(TUF_E_STATE, "%s/%s: no valid CRL number", p->dir, PKI_CRL);
	}
	ASN1_INTEGER_free(num);
	*ret = v + 1;
	return 0;
}

int pki_crl_write(struct prov_pki *p, const struct prov_revoked *rv, size_t n, uint32_t days)
{
	uint64_t number = 0;
	int r;

	r = pki_need_key(p, PROV_CA_DEVICE);
	if (r >= 0)
		r = next_crl_number(p, &number);
	if (r < 0)
		return r;
	return write_crl(p->dfd, p->dir, p->ca[PROV_CA_DEVICE], p->key[PROV_CA_DEVICE], rv, n,
			 number, days);
}

int pki_crl_copy(struct prov_pki *p, const char *out_dir)
{
	_cleanup_close_ int ofd = -1;
	int r;

	r = out_open(out_dir, NULL, 0, PROV_FORCE_OUT, &ofd);
	if (r < 0)
		return r;
	return copy_crl(p, ofd, out_dir);
}
