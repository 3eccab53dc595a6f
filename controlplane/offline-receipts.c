/* SPDX-License-Identifier: Apache-2.0 */
/* Offline media: verify signed install receipts and add them to the history and audit trail. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "audit.h"
#include "db.h"
#include "error.h"
#include "fileio.h"
#include "offline.h"
#include "rollout.h"
#include "state.h"
#include "tuf/crypto.h"
#include "tuf/json.h"

/* ---- Receipts ---- */

/* Largest decoded receipt signature (RSA 8192). */
#define RECEIPT_SIG_MAX 1024

DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE *, X509_STORE_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE_CTX *, X509_STORE_CTX_free)

/* The members of "signed" (docs/agent.md), all strings but sluice_receipt and targets. */
struct receipt {
	const char *device_id, *hardware, *outcome, *phase, *time, *release, *version;
	const char *installed_release, *installed_version, *error;
	int64_t t;
};

static const struct {
	const char *name;
	size_t offset;
	size_t max;
	bool required;
} receipt_fields[] = {
#define RF(f, max, req)                                                                            \
	{                                                                                          \
#f, offsetof(struct receipt, f), max, req                                          \
	}
    RF(device_id, CP_DEVICE_ID_MAX, true),
    RF(hardware, CP_RECEIPT_FIELD_MAX, false),
    RF(outcome, 31, true),
    RF(phase, CP_RECEIPT_FIELD_MAX, false),
    RF(time, 20, true),
    RF(release, CP_RECEIPT_FIELD_MAX, false),
    RF(version, CP_RECEIPT_FIELD_MAX, false),
    RF(installed_release, CP_RECEIPT_FIELD_MAX, false),
    RF(installed_version, CP_RECEIPT_FIELD_MAX, false),
    RF(error, CP_RECEIPT_ERROR_MAX, false),
#undef RF
};

/* Receipt outcomes and the history event each adds (NULL: none). */
static const struct {
	const char *outcome, *event;
} outcomes[] = {
    {"reboot", "switched"},
    {"pending", "switched"},
    {"committed", "committed"},
    {"rolled_back", "rolled_back"},
    {"failed", "failed"},
    {"refused", "failed"},
    {"noop", NULL},
    {"nothing", NULL},
};

static int check_targets(const char *name, struct json_object *arr)
{
	size_t n;

	if (!json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) > CP_RECEIPT_TARGETS_MAX)
		return cp_error(TUF_E_FORMAT,
				"%s: \"targets\" must be an array of at most %d "
				"entries",
				name, CP_RECEIPT_TARGETS_MAX);
	for (size_t i = 0; i < n; i++) {
		struct json_object *t = json_object_array_get_idx(arr, i), *v;
		const char *str;
		int64_t len;

		if (!json_object_is_type(t, json_type_object) ||
		    json_object_object_length(t) != 3 || tuf_json_get_string(t, "path", &str) < 0 ||
		    strlen(str) > CP_RECEIPT_FIELD_MAX ||
		    tuf_json_get_string(t, "sha256", &str) < 0 || strlen(str) != 64 ||
		    tuf_json_get_int(t, "length", 0, &len) < 0 ||
		    !json_object_object_get_ex(t, "length", &v))
			return cp_error(TUF_E_FORMAT,
					"%s: targets[%zu] must be {\"path\", \"sha256\", "
					"\"length\"}",
					name, i);
	}
	return 0;
}

/* Strict parse of "signed": known members only, each of its type and size. */
static int parse_signed(const char *name, struct json_object *sig, struct receipt *rc,
			const char **ret_event)
{
	int64_t version;
	size_t k;

	*rc = (struct receipt){};
	if (!json_object_is_type(sig, json_type_object))
		return cp_error(TUF_E_FORMAT, "%s: \"signed\" is not an object", name);
	json_object_object_foreach(sig, key, val)
	{
		if (!strcmp(key, "sluice_receipt")) {
			if (tuf_json_get_int(sig, key, 1, &version) < 0 || version != 1)
				return cp_error(TUF_E_UNSUPPORTED, "%s: sluice_receipt must be 1",
						name);
			continue;
		}
		if (!strcmp(key, "targets")) {
			int r = check_targets(name, val);

			if (r < 0)
				return r;
			continue;
		}
		for (k = 0; k < ELEMENTSOF(receipt_fields); k++)
			if (!strcmp(key, receipt_fields[k].name))
				break;
		if (k == ELEMENTSOF(receipt_fields))
			return cp_error(TUF_E_FORMAT, "%s: unknown member \"%.64s\" in \"signed\"",
					name, key);
		if (!json_object_is_type(val, json_type_string) ||
		    (size_t)json_object_get_string_len(val) > receipt_fields[k].max ||
		    strlen(json_object_get_string(val)) != (size_t)json_object_get_string_len(val))
			return cp_error(TUF_E_FORMAT,
					"%s: \"%s\" must be a string of at most %zu "
					"bytes",
					name, key, receipt_fields[k].max);
		*(const char **)((char *)rc + receipt_fields[k].offset) =
		    json_object_get_string(val);
	}
	if (!json_object_object_get_ex(sig, "sluice_receipt", NULL))
		return cp_error(TUF_E_FORMAT, "%s: not a sluice receipt (no sluice_receipt)", name);
	for (k = 0; k < ELEMENTSOF(receipt_fields); k++)
		if (receipt_fields[k].required &&
		    !*(const char **)((char *)rc + receipt_fields[k].offset))
			return cp_error(TUF_E_FORMAT, "%s: \"signed\" lacks \"%s\"", name,
					receipt_fields[k].name);
	if (!*rc->device_id)
		return cp_error(TUF_E_FORMAT, "%s: empty device_id", name);
	if (tuf_json_parse_time(rc->time, &rc->t) < 0)
		return cp_error(TUF_E_FORMAT, "%s: \"time\" is not YYYY-MM-DDTHH:MM:SSZ", name);
	for (k = 0; k < ELEMENTSOF(outcomes); k++)
		if (!strcmp(rc->outcome, outcomes[k].outcome))
			break;
	if (k == ELEMENTSOF(outcomes))
		return cp_error(TUF_E_FORMAT, "%s: unknown outcome \"%.32s\"", name, rc->outcome);
	*ret_event = outcomes[k].event;
	return 0;
}

static int load_cert(const char *name, const char *pem, X509 **ret)
{
	_cleanup_(BIO_freep) BIO *b = BIO_new_mem_buf(pem, (int)strlen(pem));

	if (!b)
		return -ENOMEM;
	*ret = PEM_read_bio_X509(b, NULL, NULL, NULL);
	if (!*ret)
		return cp_error(TUF_E_FORMAT, "%s: \"certificate\" is not a PEM certificate", name);
	return 0;
}

/* Verify the one signature over the canonical bytes with the certificate's public key. */
static int verify_signature(const char *name, X509 *cert, const char *alg, const char *sig_hex,
			    const char *msg, size_t len)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY *key = X509_get0_pubkey(cert);
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *md = EVP_sha256();
	uint8_t sig[RECEIPT_SIG_MAX];
	size_t hl = strlen(sig_hex);
	int id, n;

	if (!ctx)
		return -ENOMEM;
	if (!key)
		return cp_error(TUF_E_UNSUPPORTED, "%s: certificate key not readable", name);
	id = EVP_PKEY_get_base_id(key);
	if (!strcmp(alg, "ed25519") && id == EVP_PKEY_ED25519)
		md = NULL;
	else if (!(!strcmp(alg, "ecdsa-sha256") && id == EVP_PKEY_EC) &&
		 !(!strcmp(alg, "rsa-pss-sha256") && id == EVP_PKEY_RSA))
		return cp_error(TUF_E_SIGNATURE,
				"%s: signature algorithm \"%.32s\" does not match "
				"the certificate's key",
				name, alg);
	if (hl == 0 || hl % 2 || hl > 2 * sizeof(sig) ||
	    (n = sl_hex_decode(sig_hex, hl, sig, sizeof(sig))) < 0)
		return cp_error(TUF_E_FORMAT, "%s: signature is not hex of at most %zu bytes", name,
				sizeof(sig));
	if (EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key) != 1 ||
	    (id == EVP_PKEY_RSA && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1))
		return cp_error(TUF_E_CRYPTO, "%s: cannot set up signature verification", name);
	if (EVP_DigestVerify(ctx, sig, (size_t)n, (const unsigned char *)msg, len) != 1)
		return cp_error(TUF_E_SIGNATURE,
				"%s: the signature does not verify with the "
				"certificate's key (receipt altered?)",
				name);
	return 0;
}

/* The certificate's subject CN must be exactly device_id (binary safe). */
static int check_cn(const char *name, X509 *cert, const char *device_id)
{
	X509_NAME *subj = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	const ASN1_STRING *cn;

	if (i < 0 || X509_NAME_get_index_by_NID(subj, NID_commonName, i) >= 0)
		return cp_error(TUF_E_SIGNATURE, "%s: the certificate needs exactly one CN", name);
	cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
	if ((size_t)ASN1_STRING_length(cn) != strlen(device_id) ||
	    memcmp(ASN1_STRING_get0_data(cn), device_id, strlen(device_id)) != 0)
		return cp_error(TUF_E_SIGNATURE,
				"%s: the certificate's CN is not the receipt's "
				"device_id",
				name);
	return 0;
}

/* Chain cert to STATE/tls/device-ca.pem (and its CRL when present) as of time t. */
static int check_chain(struct cp_state *s, const char *name, X509 *cert, int64_t t)
{
	_cleanup_free_ char *ca = NULL, *crl = NULL;
	_cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();
	_cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();

	if (!store || !ctx || asprintf(&ca, "%s/device-ca.pem", s->tls_dir) < 0 ||
	    asprintf(&crl, "%s/crl.pem", s->tls_dir) < 0)
		return -ENOMEM;
	if (access(ca, F_OK) < 0)
		return cp_error(TUF_E_SIGNATURE,
				"%s: the device has no recorded certificate and "
				"%s is absent",
				name, ca);
	if (X509_STORE_load_file(store, ca) != 1)
		return cp_error(CP_E_STATE, "%s: not a PEM certificate file", ca);
	if (access(crl, F_OK) == 0) {
		if (X509_STORE_load_file(store, crl) != 1)
			return cp_error(CP_E_STATE, "%s: not a PEM CRL file", crl);
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	}
	if (X509_STORE_CTX_init(ctx, store, cert, NULL) != 1)
		return -ENOMEM;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)t);
	if (X509_verify_cert(ctx) != 1)
		return cp_error(TUF_E_SIGNATURE, "%s: the certificate does not chain to %s: %s",
				name, ca,
				X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	return 0;
}

/* The device must be approved; its certificate the recorded one, or one the device CA issued. */
static int check_device(struct cp_state *s, const char *name, const struct receipt *rc, X509 *cert,
			char ret_fpr[65])
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ unsigned char *der = NULL;
	const char *state, *recorded;
	int r, rc_, n;

	n = i2d_X509(cert, &der);
	if (n <= 0)
		return cp_error(TUF_E_FORMAT, "%s: certificate cannot be encoded", name);
	tuf_sha256_hex(der, (size_t)n, ret_fpr);
	r = cp_db_prepare(s->db, "SELECT state, cert_sha256 FROM devices WHERE id = ?1", &st);
	if (r >= 0)
		r = cp_db_bind_text(st, 1, rc->device_id);
	if (r < 0)
		return r;
	rc_ = sqlite3_step(st);
	if (rc_ == SQLITE_DONE)
		return cp_error(CP_E_FORBIDDEN, "%s: unknown device (not in the registry)", name);
	if (rc_ != SQLITE_ROW)
		return cp_db_error(s->db, rc_, "database: devices");
	state = (const char *)sqlite3_column_text(st, 0);
	recorded = (const char *)sqlite3_column_text(st, 1);
	if (!state || strcmp(state, "approved") != 0)
		return cp_error(CP_E_FORBIDDEN, "%s: device is %s, not approved", name,
				state ? state : "?");
	if (recorded && *recorded) {
		if (strcasecmp(recorded, ret_fpr) != 0)
			return cp_error(TUF_E_SIGNATURE,
					"%s: certificate %.16s… is not the device's "
					"recorded certificate %.16s…",
					name, ret_fpr, recorded);
		return 0;
	}
	return check_chain(s, name, cert, rc->t);
}

static int receipt_exists(struct cp_state *s, const char *sha256)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = cp_db_prepare(s->db, "SELECT 1 FROM receipts WHERE sha256 = ?1", &st);
	if (r >= 0)
		r = cp_db_bind_text(st, 1, sha256);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : cp_db_error(s->db, rc, "database: receipts");
}

static int insert_receipt(struct cp_state *s, const struct receipt *rc, const char *sha256,
			  const char *fpr, const char *body, int64_t *ret_rowid)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char now[21];
	int r;

	cp_state_now_text(s, now);
	r = cp_db_prepare(s->db,
			  "INSERT INTO receipts (sha256, device_id, time, imported, outcome, "
			  "release, version, error, cert_sha256, body) VALUES "
			  "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
			  &st);
	if (r < 0)
		return r;
	if ((r = cp_db_bind_text(st, 1, sha256)) < 0 ||
	    (r = cp_db_bind_text(st, 2, rc->device_id)) < 0 ||
	    (r = cp_db_bind_text(st, 3, rc->time)) < 0 || (r = cp_db_bind_text(st, 4, now)) < 0 ||
	    (r = cp_db_bind_text(st, 5, rc->outcome)) < 0 ||
	    (r = cp_db_bind_text(st, 6, rc->release)) < 0 ||
	    (r = cp_db_bind_text(st, 7, rc->version)) < 0 ||
	    (r = cp_db_bind_text(st, 8, rc->error)) < 0 || (r = cp_db_bind_text(st, 9, fpr)) < 0 ||
	    (r = cp_db_bind_text(st, 10, body)) < 0)
		return r;
	r = cp_db_step_done(s->db, st, "database: receipts");
	if (r >= 0)
		*ret_rowid = sqlite3_last_insert_rowid(s->db);
	return r;
}

static int insert_event(struct cp_state *s, const struct receipt *rc, const char *type,
			int64_t rowid)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char now[21];
	int r;

	cp_state_now_text(s, now);
	r = cp_db_prepare(s->db,
			  "INSERT INTO events (device_id, seq, time, received, release, type, "
			  "error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			  &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 2, CP_RECEIPT_SEQ_BASE + rowid);
	if ((r = cp_db_bind_text(st, 1, rc->device_id)) < 0 ||
	    (r = cp_db_bind_text(st, 3, rc->time)) < 0 || (r = cp_db_bind_text(st, 4, now)) < 0 ||
	    (r = cp_db_bind_text(st, 5, rc->release ? rc->release : "(none)")) < 0 ||
	    (r = cp_db_bind_text(st, 6, type)) < 0 || (r = cp_db_bind_text(st, 7, rc->error)) < 0)
		return r;
	return cp_db_step_done(s->db, st, "database: events");
}

/* Receipt row, history event, rollout evaluation and audit row in one transaction. */
static int store(struct cp_state *s, const char *name, const struct receipt *rc, const char *event,
		 const char *sha256, const char *fpr, const char *body, const char *actor)
{
	char detail[CP_AUDIT_DETAIL_MAX];
	int64_t rowid = 0;
	int r;

	r = cp_db_begin(s->db);
	if (r < 0)
		return r;
	r = receipt_exists(s, sha256);
	if (r == 0)
		r = insert_receipt(s, rc, sha256, fpr, body, &rowid);
	if (r == 0 && event)
		r = insert_event(s, rc, event, rowid);
	if (r == 0 && event)
		r = cp_rollout_evaluate(s);
	if (r == 0) {
		snprintf(detail, sizeof(detail),
			 "device %s outcome %s release %.128s time %s "
			 "receipt %s (%.200s)",
			 rc->device_id, rc->outcome, rc->release ? rc->release : "(none)", rc->time,
			 sha256, name);
		r = cp_audit_append(s, actor, "receipt-import", detail);
	}
	if (r == 0)
		return cp_db_commit(s->db);
	cp_db_rollback(s->db);
	return r;
}

static int verify_receipt(struct cp_state *s, const char *name, struct json_object *o,
			  struct receipt *rc, const char **ret_event, char **ret_canon,
			  char ret_fpr[65])
{
	_cleanup_(X509_freep) X509 *cert = NULL;
	struct json_object *sig, *sigs, *one;
	const char *pem, *alg, *hex;
	size_t clen;
	int r;

	if (!json_object_is_type(o, json_type_object) || json_object_object_length(o) != 3 ||
	    tuf_json_get_object(o, "signed", &sig) < 0 ||
	    tuf_json_get_array(o, "signatures", &sigs) < 0 ||
	    tuf_json_get_string(o, "certificate", &pem) < 0)
		return cp_error(TUF_E_FORMAT,
				"%s: must be {\"signed\", \"signatures\", "
				"\"certificate\"}",
				name);
	r = parse_signed(name, sig, rc, ret_event);
	if (r < 0)
		return r;
	if (json_object_array_length(sigs) != 1 ||
	    !json_object_is_type(one = json_object_array_get_idx(sigs, 0), json_type_object) ||
	    json_object_object_length(one) != 2 || tuf_json_get_string(one, "alg", &alg) < 0 ||
	    tuf_json_get_string(one, "sig", &hex) < 0)
		return cp_error(TUF_E_FORMAT,
				"%s: \"signatures\" must hold exactly one "
				"{\"alg\", \"sig\"}",
				name);
	r = tuf_json_canonical(sig, ret_canon, &clen);
	if (r < 0)
		return r;
	r = load_cert(name, pem, &cert);
	if (r >= 0)
		r = verify_signature(name, cert, alg, hex, *ret_canon, clen);
	if (r >= 0)
		r = check_cn(name, cert, rc->device_id);
	if (r >= 0)
		r = check_device(s, name, rc, cert, ret_fpr);
	return r;
}

int cp_offline_receipt_import(struct cp_state *s, const char *name, const uint8_t *buf, size_t len,
			      const char *actor, struct cp_receipt_report *ret)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	_cleanup_free_ char *canon = NULL;
	struct receipt rc = {};
	const char *event = NULL;
	char fpr[65] = "";
	int r;

	*ret = (struct cp_receipt_report){.status = CP_RECEIPT_REFUSED};
	snprintf(ret->file, sizeof(ret->file), "%s", name);
	if (len > CP_RECEIPT_MAX)
		r = cp_error(SL_E_TOO_LARGE, "%s: larger than %u bytes", name, CP_RECEIPT_MAX);
	else
		r = tuf_json_parse(buf, len, 8, &o);
	if (r < 0 && r != SL_E_TOO_LARGE)
		r = cp_error(TUF_E_FORMAT, "%s: %s", name, sl_error_message(r));
	if (r >= 0)
		r = verify_receipt(s, name, o, &rc, &event, &canon, fpr);
	if (rc.device_id)
		snprintf(ret->device_id, sizeof(ret->device_id), "%s", rc.device_id);
	if (rc.outcome)
		snprintf(ret->outcome, sizeof(ret->outcome), "%s", rc.outcome);
	if (rc.release)
		snprintf(ret->release, sizeof(ret->release), "%s", rc.release);
	if (canon)
		tuf_sha256_hex(canon, strlen(canon), ret->sha256);
	if (r >= 0)
		r = store(s, name, &rc, event, ret->sha256, fpr, canon, actor);
	if (r < 0) {
		ret->error = r;
		return r;
	}
	ret->status = r == 1 ? CP_RECEIPT_DUPLICATE : CP_RECEIPT_ACCEPTED;
	ret->event_added = r == 0 && event;
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json names of DIR/receipts, sorted; at most CP_RECEIPTS_MAX_FILES. */
static int list_receipts(int dfd, const char *path, char ***ret, size_t *ret_n)
{
	_cleanup_free_ char **names = calloc(CP_RECEIPTS_MAX_FILES, sizeof(char *));
	int dup_fd = dup(dfd);
	DIR *d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
	struct dirent *de;
	size_t n = 0, l;
	int r = 0;

	if (!d || !names) {
		if (dup_fd >= 0 && !d)
			close(dup_fd);
		if (d)
			closedir(d);
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l <= 5 || strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		if (n == CP_RECEIPTS_MAX_FILES) {
			r = cp_error(SL_E_TOO_LARGE, "%s: more than %d receipts", path,
				     CP_RECEIPTS_MAX_FILES);
			break;
		}
		if (!(names[n++] = strdup(de->d_name))) {
			r = -ENOMEM;
			break;
		}
	}
	closedir(d);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		return r;
	}
	qsort(names, n, sizeof(char *), cmp_names);
	*ret = TAKE_PTR(names);
	*ret_n = n;
	return 0;
}

/* Read one file below dfd: regular, not a symlink, at most CP_RECEIPT_MAX bytes. */
static int read_receipt(int dfd, const char *name, uint8_t **ret_buf, size_t *ret_len)
{
	int r = sl_read_file_at(dfd, name, CP_RECEIPT_MAX, ret_buf, ret_len);

	if (r == -ELOOP || r == -EINVAL)
		return cp_error(SL_E_INVALID,
				"%s: not a regular file (symbolic links, FIFOs and "
				"devices are refused)",
				name);
	if (r == SL_E_TOO_LARGE)
		return cp_error(SL_E_TOO_LARGE, "%s: larger than %u bytes", name, CP_RECEIPT_MAX);
	if (r < 0)
		return cp_error(r, "%s: %s", name, sl_strerror(r));
	return 0;
}

int cp_offline_import_receipts(struct cp_state *s, const char *dir, const char *actor,
			       int (*fn)(const struct cp_receipt_report *rep, void *userdata),
			       void *userdata, struct cp_receipt_counts *ret)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int top = -1, dfd = -1;
	struct cp_receipt_counts n = {};
	char **names = NULL;
	size_t count = 0;
	int r;

	if (asprintf(&path, "%s/receipts", dir) < 0)
		return -ENOMEM;
	top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0)
		return cp_error(-errno, "%s: %m", dir);
	dfd = openat(top, "receipts", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return cp_error(
		    errno == ELOOP || errno == ENOTDIR ? SL_E_INVALID : -errno, "%s: %s", path,
		    errno == ELOOP ? "a symbolic link (not followed)" : strerror(errno));
	r = list_receipts(dfd, path, &names, &count);
	for (size_t i = 0; r >= 0 && i < count; i++) {
		_cleanup_free_ uint8_t *buf = NULL;
		struct cp_receipt_report rep;
		size_t len = 0;
		int k;

		k = read_receipt(dfd, names[i], &buf, &len);
		if (k >= 0)
			k = cp_offline_receipt_import(s, names[i], buf, len, actor, &rep);
		else
			rep = (struct cp_receipt_report){.status = CP_RECEIPT_REFUSED, .error = k};
		snprintf(rep.file, sizeof(rep.file), "%s", names[i]);
		/* A database failure is not the receipt's fault: stop. */
		if (k == -EBUSY || k == -ENOSPC || k == SL_E_IO || k == -ENOMEM)
			r = k;
		else if (fn)
			r = fn(&rep, userdata);
		n.accepted += rep.status == CP_RECEIPT_ACCEPTED;
		n.duplicate += rep.status == CP_RECEIPT_DUPLICATE;
		n.refused += rep.status == CP_RECEIPT_REFUSED;
	}
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	if (r >= 0 && ret)
		*ret = n;
	return r;
}
