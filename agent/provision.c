/* SPDX-License-Identifier: Apache-2.0 */
/* Provisioning media import: hostile-media checks, certificate checks, one atomic commit. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "provision.h"
#include "state.h"
#include "tuf/json.h"
#include "tuf/updater.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free)

enum media_file { M_CRT, M_KEY, M_CA, M_ROOT, M_CONF, _M_MAX };

static const struct {
	const char *name;
	size_t max;
	mode_t mode;
} media_files[_M_MAX] = {
    [M_CRT] = {"device.crt", AGENT_MEDIA_CERT_MAX, 0644},
    [M_KEY] = {"device.key", AGENT_MEDIA_KEY_MAX, 0600},
    [M_CA] = {"ca.pem", AGENT_MEDIA_CA_MAX, 0644},
    [M_ROOT] = {"root.json", TUF_DEFAULT_ROOT_MAX, 0644},
    [M_CONF] = {"agent.conf", AGENT_MEDIA_CONF_MAX, 0644},
};

struct media {
	uint8_t *buf[_M_MAX];
	size_t len[_M_MAX];
	char device_id[AGENT_ID_MAX + 1];
	char hardware[AGENT_ID_MAX + 1];
};

static void media_clear(struct media *m)
{
	for (int i = 0; i < _M_MAX; i++) {
		if (m->buf[i])
			explicit_bzero(m->buf[i], m->len[i]);
		free(m->buf[i]);
	}
	*m = (struct media){};
}

/* Read one file of the medium: a regular file, not a symlink, within max bytes. */
static int read_media_file(int dirfd, const char *name, size_t max, uint8_t **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return sl_error(TUF_E_NOT_FOUND, "%s: missing from the medium", name);
		if (errno == ELOOP)
			return sl_error(TUF_E_PATH, "%s: is a symbolic link", name);
		return sl_error(-errno, "%s: cannot open: %s", name, strerror(errno));
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return sl_error(TUF_E_PATH, "%s: not a regular file", name);
	if ((uint64_t)st.st_size > max)
		return sl_error(SL_E_TOO_LARGE, "%s: %jd bytes exceed the limit of %zu", name,
				(intmax_t)st.st_size, max);
	r = sl_read_fd(fd, max, ret, ret_len);
	if (r == SL_E_TOO_LARGE)
		return sl_error(r, "%s: exceeds the limit of %zu bytes", name, max);
	if (r < 0)
		return sl_error(r, "%s: cannot read: %s", name, sl_strerror(r));
	return 0;
}

static int copy_id(struct json_object *o, const char *key, char *out)
{
	const char *s;

	if (tuf_json_get_string(o, key, &s) < 0 || !agent_name_is_safe(s))
		return sl_error(SL_E_INVALID, "manifest.json: \"%s\" missing or not a safe name",
				key);
	strcpy(out, s);
	return 0;
}

static int check_file_entry(struct json_object *files, enum media_file f, const struct media *m)
{
	const char *name = media_files[f].name, *sha;
	struct json_object *e;
	char have[65];
	int64_t len;
	int r;

	if (!json_object_object_get_ex(files, name, &e) ||
	    !json_object_is_type(e, json_type_object))
		return sl_error(TUF_E_NOT_FOUND, "manifest.json: does not list %s", name);
	if (tuf_json_get_string(e, "sha256", &sha) < 0 ||
	    tuf_json_get_int(e, "length", 0, &len) < 0)
		return sl_error(SL_E_INVALID, "manifest.json: %s lacks sha256 or length", name);
	if ((uint64_t)len != m->len[f])
		return sl_error(TUF_E_LENGTH, "%s: %zu bytes, the manifest records %jd", name,
				m->len[f], (intmax_t)len);
	r = tuf_sha256_hex(m->buf[f], m->len[f], have);
	if (r < 0)
		return r;
	if (strcasecmp(have, sha) != 0)
		return sl_error(TUF_E_HASH, "%s: SHA-256 %s differs from the manifest's %s", name,
				have, sha);
	return 0;
}

/* manifest.json names only the files we know, by plain names; then every file matches it. */
static int check_manifest(int dirfd, struct media *m)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct json_object *files;
	const char *root_sha;
	char have[65];
	size_t len;
	int64_t ver;
	int r;

	r = read_media_file(dirfd, "manifest.json", AGENT_MEDIA_MANIFEST_MAX, &buf, &len);
	if (r < 0)
		return r;
	if (tuf_json_parse(buf, len, 8, &o) < 0)
		return sl_error(SL_E_INVALID, "manifest.json: %s", sl_error_message(TUF_E_FORMAT));
	if (tuf_json_get_int(o, "sluice_media", 1, &ver) < 0 || ver != 1)
		return sl_error(SL_E_INVALID, "manifest.json: \"sluice_media\" is not 1");
	r = copy_id(o, "device_id", m->device_id);
	if (r >= 0)
		r = copy_id(o, "hardware", m->hardware);
	if (r < 0)
		return r;
	if (tuf_json_get_object(o, "files", &files) < 0 ||
	    tuf_json_get_string(o, "root_sha256", &root_sha) < 0)
		return sl_error(SL_E_INVALID,
				"manifest.json: \"files\" or \"root_sha256\" missing");
	json_object_object_foreach(files, key, val)
	{
		bool known = false;

		(void)val;
		if (strchr(key, '/') || !strcmp(key, "..") || !strcmp(key, ".") || !key[0])
			return sl_error(TUF_E_PATH, "manifest.json: unsafe file name '%s'", key);
		for (int i = 0; i < _M_MAX; i++)
			known |= !strcmp(key, media_files[i].name);
		if (!known)
			return sl_error(SL_E_INVALID, "manifest.json: unexpected file '%s'", key);
	}
	for (int i = 0; i < _M_MAX; i++) {
		r = read_media_file(dirfd, media_files[i].name, media_files[i].max, &m->buf[i],
				    &m->len[i]);
		if (r < 0)
			return r;
		r = check_file_entry(files, (enum media_file)i, m);
		if (r < 0)
			return r;
	}
	r = tuf_sha256_hex(m->buf[M_ROOT], m->len[M_ROOT], have);
	if (r < 0)
		return r;
	if (strcasecmp(have, root_sha) != 0)
		return sl_error(TUF_E_HASH, "root.json: SHA-256 %s differs from root_sha256 %s",
				have, root_sha);
	return 0;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

static int check_identity(const struct media *m, int64_t now)
{
	_cleanup_(BIO_freep) BIO *bc = BIO_new_mem_buf(m->buf[M_CRT], (int)m->len[M_CRT]);
	_cleanup_(BIO_freep) BIO *bk = BIO_new_mem_buf(m->buf[M_KEY], (int)m->len[M_KEY]);
	_cleanup_(BIO_freep) BIO *ba = BIO_new_mem_buf(m->buf[M_CA], (int)m->len[M_CA]);
	_cleanup_(X509_freep) X509 *cert = NULL, *ca = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	char cn[256];
	time_t t = (time_t)now;

	if (!bc || !bk || !ba)
		return -ENOMEM;
	cert = PEM_read_bio_X509(bc, NULL, no_passphrase, NULL);
	if (!cert)
		return sl_error(SL_E_INVALID, "device.crt: not a PEM certificate");
	key = PEM_read_bio_PrivateKey(bk, NULL, no_passphrase, NULL);
	if (!key)
		return sl_error(SL_E_INVALID, "device.key: not an unencrypted PEM private key");
	ca = PEM_read_bio_X509(ba, NULL, no_passphrase, NULL);
	if (!ca)
		return sl_error(SL_E_INVALID, "ca.pem: not a PEM certificate");
	if (X509_check_private_key(cert, key) != 1)
		return sl_error(SL_E_INVALID, "device.key: does not match the key of device.crt");
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn)) <
	    0)
		return sl_error(SL_E_INVALID, "device.crt: subject has no common name");
	if (strcmp(cn, m->device_id) != 0)
		return sl_error(SL_E_INVALID,
				"device.crt: common name '%s' is not the device id '%s'", cn,
				m->device_id);
	if (!(X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT))
		return sl_error(SL_E_INVALID, "device.crt: extended key usage lacks clientAuth");
	if (X509_cmp_time(X509_get0_notAfter(cert), &t) <= 0)
		return sl_error(SL_E_INVALID, "device.crt: expired");
	return 0;
}

static int check_conf(const struct media *m)
{
	struct agent_config c;
	int r;

	agent_config_init(&c);
	r = agent_config_parse((const char *)m->buf[M_CONF], m->len[M_CONF], "agent.conf", true,
			       &c);
	if (r >= 0 && (!c.device_id || strcmp(c.device_id, m->device_id)))
		r = sl_error(SL_E_INVALID, "agent.conf: [device] id is not the manifest's '%s'",
			     m->device_id);
	if (r >= 0 && (!c.hardware || strcmp(c.hardware, m->hardware)))
		r = sl_error(SL_E_INVALID,
			     "agent.conf: [device] hardware is not the manifest's '%s'",
			     m->hardware);
	agent_config_clear(&c);
	return r;
}

/* ---- staging and the commit ---- */

static int write_generation(const char *dir, const char *gen)
{
	_cleanup_free_ char *p = agent_path(dir, "generation");

	if (!p)
		return -ENOMEM;
	return sl_write_file_atomic(p, gen, strlen(gen), 0644);
}

/* A fresh STATE/tuf-to-be in dir holding only the pinned root and the generation. */
static int stage_tuf(const char *dir, const void *root, size_t len, const char *gen)
{
	int r;

	if (mkdir(dir, 0755) < 0)
		return -errno;
	r = tuf_updater_init_root(dir, root, len);
	if (r < 0)
		return r;
	return write_generation(dir, gen);
}

static int stage_identity(const char *dir, const struct media *m, const char *gen)
{
	int r;

	if (mkdir(dir, 0700) < 0)
		return -errno;
	for (int i = 0; i < _M_MAX; i++) {
		_cleanup_free_ char *p = agent_path(dir, media_files[i].name);

		if (!p)
			return -ENOMEM;
		r = sl_write_file_atomic(p, m->buf[i], m->len[i], media_files[i].mode);
		if (r < 0)
			return r;
	}
	return write_generation(dir, gen);
}

/* Move staged into place as STATE/name: a plain rename, or an exchange with the old one. */
static int commit_dir(const char *state_dir, const char *staged, const char *name)
{
	_cleanup_free_ char *dest = agent_path(state_dir, name);
	struct stat st;

	if (!dest)
		return -ENOMEM;
	if (lstat(dest, &st) == 0) {
		if (renameat2(AT_FDCWD, staged, AT_FDCWD, dest, RENAME_EXCHANGE) < 0)
			return sl_error(-errno, "%s: cannot exchange: %s", dest, strerror(errno));
	} else if (renameat2(AT_FDCWD, staged, AT_FDCWD, dest, RENAME_NOREPLACE) < 0)
		return sl_error(-errno, "%s: cannot rename into place: %s", dest, strerror(errno));
	return sl_fsync_dir(state_dir);
}

static void remove_stale_staging(const char *state_dir)
{
	DIR *d = opendir(state_dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		_cleanup_free_ char *p = NULL;

		if (strncmp(de->d_name, "sluice-", 7) != 0)
			continue;
		p = agent_path(state_dir, de->d_name);
		if (p)
			sl_rm_rf(p);
	}
	closedir(d);
}

static int new_generation(char out[33])
{
	uint8_t raw[16];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	sl_hex_encode(raw, sizeof(raw), out);
	return 0;
}

static int stage_and_commit(const char *state_dir, const struct media *m)
{
	_cleanup_free_ char *tmp = NULL, *sid = NULL, *stuf = NULL;
	char gen[33];
	int r;

	r = new_generation(gen);
	if (r < 0)
		return r;
	r = sl_mkdtemp_private(state_dir, &tmp);
	if (r < 0)
		return sl_error(r, "%s: cannot create a staging directory: %s", state_dir,
				sl_strerror(r));
	sid = agent_path(tmp, "identity");
	stuf = agent_path(tmp, "tuf");
	if (!sid || !stuf) {
		r = -ENOMEM;
		goto out;
	}
	r = stage_identity(sid, m, gen);
	if (r >= 0)
		r = stage_tuf(stuf, m->buf[M_ROOT], m->len[M_ROOT], gen);
	if (r >= 0)
		r = sl_fsync_dir(tmp);
	if (r >= 0)
		r = commit_dir(state_dir, sid, "identity"); /* the commit point */
	if (r >= 0)
		r = commit_dir(state_dir, stuf, "tuf"); /* redone by agent_identity_tuf_ensure() */
out:
	sl_rm_rf(tmp);
	return r;
}

int agent_provision(const char *state_dir, const char *media_dir, bool force, int64_t now)
{
	_cleanup_close_ int dirfd = -1;
	struct media m = {};
	int r;

	if (agent_identity_present(state_dir) && !force)
		return sl_error(
		    CP_E_CONFLICT,
		    "%s/identity: the device is provisioned already (use --force to replace it)",
		    state_dir);
	dirfd = open(media_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return sl_error(-errno, "%s: cannot open the medium: %s", media_dir,
				strerror(errno));
	r = check_manifest(dirfd, &m);
	if (r >= 0)
		r = check_conf(&m);
	if (r >= 0)
		r = check_identity(&m, now);
	if (r >= 0) {
		remove_stale_staging(state_dir);
		r = stage_and_commit(state_dir, &m);
	}
	media_clear(&m);
	return r;
}

static int media_copy(struct media *m, enum media_file f, const void *buf, size_t len)
{
	if (len > media_files[f].max)
		return sl_error(SL_E_TOO_LARGE, "%s: %zu bytes exceed the limit of %zu",
				media_files[f].name, len, media_files[f].max);
	m->buf[f] = malloc(len + 1);
	if (!m->buf[f])
		return -ENOMEM;
	memcpy(m->buf[f], buf, len);
	m->buf[f][len] = 0;
	m->len[f] = len;
	return 0;
}

int agent_identity_install(const char *state_dir, const struct agent_identity_files *f,
			   bool force, int64_t now)
{
	struct media m = {};
	int r = 0;

	if (agent_identity_present(state_dir) && !force)
		return sl_error(
		    CP_E_CONFLICT,
		    "%s/identity: the device is provisioned already (use --force to replace it)",
		    state_dir);
	if (!agent_name_is_safe(f->device_id) || !agent_name_is_safe(f->hardware))
		return sl_error(SL_E_INVALID, "device id or hardware is not a safe name");
	strcpy(m.device_id, f->device_id);
	strcpy(m.hardware, f->hardware);
	if ((r = media_copy(&m, M_CRT, f->cert, f->cert_len)) >= 0 &&
	    (r = media_copy(&m, M_KEY, f->key, f->key_len)) >= 0 &&
	    (r = media_copy(&m, M_CA, f->ca, f->ca_len)) >= 0 &&
	    (r = media_copy(&m, M_ROOT, f->root, f->root_len)) >= 0)
		r = media_copy(&m, M_CONF, f->conf, f->conf_len);
	if (r >= 0)
		r = check_conf(&m);
	if (r >= 0)
		r = check_identity(&m, now);
	if (r >= 0) {
		remove_stale_staging(state_dir);
		r = stage_and_commit(state_dir, &m);
	}
	media_clear(&m);
	return r;
}
