/* SPDX-License-Identifier: Apache-2.0 */
/* Issuing one device's medium: key, certificate, temp dir, self-check, record, rename. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "pki-internal.h"
#include "secmem.h"
#include "tuf/crypto.h"
#include "tuf/json.h"

#define DAY 86400

/* The contents of a medium before it is written; index enum prov_media_file. */
struct media_files {
	char *data[_PROV_MEDIA_FILE_MAX]; /* device.key's in secure memory; root.json borrowed */
	size_t len[_PROV_MEDIA_FILE_MAX];
};

static void media_files_free(struct media_files *m)
{
	sl_secure_free(m->data[PROV_MEDIA_KEY]);
	for (int i = 0; i < _PROV_MEDIA_FILE_MAX; i++)
		if (i != PROV_MEDIA_KEY && i != PROV_MEDIA_ROOT)
			free(m->data[i]);
}

static int spec_check(const struct prov_device_spec *s)
{
	if (!prov_id_valid(s->id))
		return sl_error(SL_E_INVALID,
				"device id '%s' is not 1 to %d characters of "
				"[A-Za-z0-9._-]",
				s->id ? s->id : "", PROV_ID_MAX);
	if (!prov_id_valid(s->hardware))
		return sl_error(SL_E_INVALID,
				"%s: hardware '%s' is not 1 to %d characters of "
				"[A-Za-z0-9._-]",
				s->id, s->hardware ? s->hardware : "", PROV_ID_MAX);
	if (!prov_url_valid(s->controlplane_url))
		return sl_error(SL_E_INVALID,
				"control plane URL '%s' is not an https:// URL of at "
				"most %d bytes",
				s->controlplane_url ? s->controlplane_url : "", PROV_URL_MAX);
	if (s->days < 1 || s->days > PROV_DAYS_MAX)
		return sl_error(SL_E_INVALID, "validity must be 1 to %d days", PROV_DAYS_MAX);
	return prov_root_check(s->root, s->root_len, NULL, NULL);
}

/* Key, certificate and every file's contents, and the record of the certificate. */
static int build_media(struct prov_pki *p, const struct prov_device_spec *s, struct media_files *m,
		       struct prov_issued *rec)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	_cleanup_(X509_freep) X509 *cert = NULL;
	struct prov_media_manifest man = {{0}};
	struct prov_agent_conf conf = {{0}};
	int64_t now = pki_now();
	struct prov_cert_spec spec = {
	    .kind = PROV_CERT_DEVICE,
	    .common_name = s->id,
	    .not_before = now - PROV_BACKDATE,
	    .not_after = now + (int64_t)s->days * DAY,
	    .pathlen = -1,
	};
	int r;

	r = prov_key_generate(&key);
	if (r >= 0)
		r = prov_cert_issue(&spec, key, p->ca[PROV_CA_DEVICE], p->key[PROV_CA_DEVICE],
				    &cert);
	if (r >= 0)
		r = prov_cert_pem(cert, &m->data[PROV_MEDIA_CERT], &m->len[PROV_MEDIA_CERT]);
	if (r >= 0)
		r = prov_key_pem(key, &m->data[PROV_MEDIA_KEY], &m->len[PROV_MEDIA_KEY]);
	if (r >= 0)
		r = prov_cert_sha256(cert, rec->cert_sha256);
	if (r >= 0)
		r = prov_cert_serial_hex(cert, rec->serial);
	if (r < 0)
		return r;
	m->data[PROV_MEDIA_CA] = strdup(p->ca_pem[PROV_CA_SERVER]);
	if (!m->data[PROV_MEDIA_CA])
		return sl_error(SL_E_NOMEM, "out of memory");
	m->len[PROV_MEDIA_CA] = strlen(m->data[PROV_MEDIA_CA]);
	m->data[PROV_MEDIA_ROOT] = (char *)s->root;
	m->len[PROV_MEDIA_ROOT] = s->root_len;
	snprintf(conf.device_id, sizeof(conf.device_id), "%s", s->id);
	snprintf(conf.hardware, sizeof(conf.hardware), "%s", s->hardware);
	snprintf(conf.controlplane_url, sizeof(conf.controlplane_url), "%s", s->controlplane_url);
	r = prov_agent_conf_format(&conf, &m->data[PROV_MEDIA_CONF], &m->len[PROV_MEDIA_CONF]);
	if (r < 0)
		return r;
	memcpy(man.device_id, conf.device_id, sizeof(man.device_id));
	memcpy(man.hardware, conf.hardware, sizeof(man.hardware));
	tuf_json_format_time(now, man.created);
	for (int i = 0; i < PROV_MEDIA_MANIFEST; i++) {
		r = tuf_sha256_hex(m->data[i], m->len[i], man.sha256[i]);
		if (r < 0)
			return r;
		man.length[i] = m->len[i];
	}
	memcpy(man.root_sha256, man.sha256[PROV_MEDIA_ROOT], sizeof(man.root_sha256));
	r = prov_media_manifest_format(&man, &m->data[PROV_MEDIA_MANIFEST],
				       &m->len[PROV_MEDIA_MANIFEST]);
	if (r < 0)
		return r;
	snprintf(rec->id, sizeof(rec->id), "%s", s->id);
	snprintf(rec->hardware, sizeof(rec->hardware), "%s", s->hardware);
	tuf_json_format_time(spec.not_after, rec->not_after);
	memcpy(rec->issued, man.created, sizeof(rec->issued));
	return 0;
}

static int write_new(int dfd, const char *dir, const char *name, const void *data, size_t len,
		     mode_t mode)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return sl_error(-errno, "%s/%s: cannot create: %s", dir, name, strerror(errno));
	r = sl_write_all(fd, data, len);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && close(TAKE_FD(fd)) < 0)
		r = -errno;
	if (r < 0)
		return sl_error(r, "%s/%s: cannot write: %s", dir, name, strerror(-r));
	return 0;
}

static int write_media(const char *tmp, const struct media_files *m)
{
	_cleanup_close_ int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r = 0;

	if (dfd < 0)
		return sl_error(-errno, "%s: cannot open: %s", tmp, strerror(errno));
	for (int i = 0; i < _PROV_MEDIA_FILE_MAX && r >= 0; i++)
		r = write_new(dfd, tmp, prov_media_file_name(i), m->data[i], m->len[i],
			      i == PROV_MEDIA_KEY ? 0600 : 0644);
	if (r >= 0 && fsync(dfd) < 0)
		r = sl_error(-errno, "%s: cannot sync: %s", tmp, strerror(errno));
	return r;
}

/* The medium just written must pass the device's own check, chain included. */
static int self_check(struct prov_pki *p, const char *tmp, const char *id)
{
	_cleanup_free_ char *chain = NULL;
	_cleanup_free_ struct prov_media_report *rep = calloc(1, sizeof(*rep));
	int r;

	if (!rep)
		return sl_error(SL_E_NOMEM, "out of memory");
	r = prov_pki_device_chain_pem(p, &chain);
	if (r < 0)
		return r;
	r = prov_media_check(tmp, chain, 0, rep);
	if (r < 0)
		return sl_error(r, "%s: the new medium fails its own check: %s", id,
				sl_error_message(r));
	return 0;
}

/* Move tmp to out_dir: a plain rename, or an atomic exchange with an existing out_dir. */
static int put_in_place(const char *tmp, const char *out_dir, bool replace)
{
	int r;

	if (!replace) {
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out_dir, RENAME_NOREPLACE) < 0)
			return sl_error(-errno, "%s: cannot move the medium into place: %s",
					out_dir, strerror(errno));
		return 0;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out_dir, RENAME_EXCHANGE) < 0)
		return sl_error(-errno, "%s: cannot replace the medium: %s", out_dir,
				strerror(errno));
	/* tmp now holds the old medium */
	r = sl_rm_rf(tmp);
	if (r < 0)
		return sl_error(r, "%s: cannot remove the replaced medium: %s", tmp, strerror(-r));
	return 0;
}

static int check_free(struct prov_pki *p, const struct prov_device_spec *s, const char *out_dir,
		      unsigned flags, bool *ret_exists)
{
	struct stat st;
	bool issued = false;
	int r;

	if (!(flags & PROV_FORCE_ID)) {
		r = pki_issued_has(p, s->id, &issued);
		if (r < 0)
			return r;
		if (issued)
			return sl_error(CP_E_CONFLICT,
					"%s: a certificate was already issued to this "
					"device id (use --force to re-issue)",
					s->id);
	}
	*ret_exists = lstat(out_dir, &st) == 0;
	if (*ret_exists && !(flags & PROV_FORCE_OUT))
		return sl_error(-EEXIST, "%s: already exists (use --force to replace)", out_dir);
	return 0;
}

static int issue_in(struct prov_pki *p, const struct prov_device_spec *s, const char *tmp,
		    const char *out_dir, bool exists, struct prov_issued *rec)
{
	struct media_files m = {{0}};
	_cleanup_free_ char *line = NULL;
	off_t old;
	int r;

	r = build_media(p, s, &m, rec);
	if (r >= 0)
		r = write_media(tmp, &m);
	media_files_free(&m);
	if (r >= 0)
		r = self_check(p, tmp, s->id);
	if (r >= 0)
		r = pki_issued_line(rec, &line);
	if (r >= 0)
		r = pki_registry_append(p, PKI_ISSUED, line, &old);
	if (r < 0)
		return r;
	r = put_in_place(tmp, out_dir, exists);
	if (r < 0) {
		pki_registry_undo(p, PKI_ISSUED, old);
		return r;
	}
	return pki_issued_remember(p, rec);
}

int prov_pki_issue_device(struct prov_pki *p, const struct prov_device_spec *s, const char *out_dir,
			  unsigned flags, struct prov_issued *ret)
{
	_cleanup_free_ char *copy = strdup(out_dir);
	_cleanup_free_ char *tmp = NULL;
	const char *parent;
	struct prov_issued rec = {{0}};
	bool exists = false;
	int r;

	if (!copy)
		return sl_error(SL_E_NOMEM, "out of memory");
	parent = dirname(copy); /* may point into copy or to a static "." */
	r = pki_need_key(p, PROV_CA_DEVICE);
	if (r >= 0)
		r = spec_check(s);
	if (r >= 0)
		r = check_free(p, s, out_dir, flags, &exists);
	if (r < 0)
		return r;
	r = sl_mkdir_p(parent, 0700);
	if (r >= 0)
		r = sl_mkdtemp_private(parent, &tmp);
	if (r < 0)
		return sl_error(r, "%s: cannot create a temporary directory: %s", parent,
				sl_strerror(r));
	r = issue_in(p, s, tmp, out_dir, exists, &rec);
	sl_rm_rf(tmp); /* empty or gone after success; the partial medium after a failure */
	if (r < 0)
		return r;
	r = sl_fsync_dir(parent);
	if (r < 0)
		return sl_error(r, "%s: cannot sync: %s", parent, strerror(-r));
	if (ret)
		*ret = rec;
	return 0;
}
