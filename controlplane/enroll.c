/* SPDX-License-Identifier: Apache-2.0 */
/* Token enrollment: one-time tokens stored as hashes, the enrollment CA, and POST /v1/enroll. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"
#include "audit.h"
#include "db.h"
#include "enroll-pki.h"
#include "enroll.h"
#include "error.h"
#include "fileio.h"
#include "repo.h"
#include "state.h"
#include "tuf/crypto.h"
#include "tuf/json.h"

/* The one answer for every token failure, so that they cannot be told apart. */
#define TOKEN_REFUSED "{\"error\":\"invalid, expired or used enrollment token\"}\n"

bool cp_enroll_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n >= 1 && n <= CP_ENROLL_NAME_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static char *tls_path(struct cp_state *s, const char *name)
{
	char *p;

	return asprintf(&p, "%s/%s", s->tls_dir, name) < 0 ? NULL : p;
}

/* ---- the CRL and the CA ---- */

static int crl_write(struct cp_state *s, const struct cp_enroll_ca *ca, unsigned days,
		     const char *actor, int64_t *ret_next)
{
	_cleanup_free_ char *pem = NULL, *path = tls_path(s, CP_ENROLL_CRL), *detail = NULL;
	int64_t now = cp_state_now(s), next = now + (int64_t)days * 86400, number = 0;
	size_t len;
	int r;

	if (!path)
		return -ENOMEM;
	if (days < 1 || days > 3650)
		return cp_error(SL_E_INVALID, "CRL validity must be 1 to 3650 days");
	r = cp_db_begin(s->db);
	if (r < 0)
		return r;
	r = cp_db_meta_get_int(s->db, "enroll_crl_number", &number);
	if (r == TUF_E_NOT_FOUND)
		r = 0;
	if (r >= 0)
		r = cp_db_meta_set_int(s->db, "enroll_crl_number", ++number);
	if (r >= 0)
		r = cp_enroll_crl_pem(ca, (uint64_t)number, now, next, &pem, &len);
	if (r >= 0 && asprintf(&detail,
			       "enrollment CA CRL number %lld written, next update in %u "
			       "days",
			       (long long)number, days) < 0)
		r = -ENOMEM;
	if (r >= 0)
		r = cp_audit_append(s, actor, "enroll-crl", detail);
	/* The file is written before the commit: a CRL number is never handed out twice. */
	if (r >= 0)
		r = sl_write_file_atomic(path, pem, len, 0644);
	if (r >= 0)
		r = cp_db_commit(s->db);
	else
		cp_db_rollback(s->db);
	if (r >= 0 && ret_next)
		*ret_next = next;
	return r;
}

int cp_enroll_crl_write(struct cp_state *s, unsigned days, const char *actor,
			int64_t *ret_next_update)
{
	struct cp_enroll_ca ca = {};
	int r = cp_enroll_ca_load(s, &ca);

	if (r >= 0)
		r = crl_write(s, &ca, days, actor, ret_next_update);
	cp_enroll_ca_clear(&ca);
	return r;
}

static int read_input(const char *path, uint8_t **ret, size_t *ret_len)
{
	int r = sl_read_file_at(AT_FDCWD, path, CP_ENROLL_PEM_MAX, ret, ret_len);

	if (r < 0)
		return cp_error(r, "%s: %s", path, sl_strerror(r));
	return 0;
}

int cp_enroll_ca_import(struct cp_state *s, const char *cert_path, const char *key_path, bool force,
			const char *actor)
{
	_cleanup_free_ uint8_t *crt = NULL, *key = NULL;
	_cleanup_free_ char *crt_dst = tls_path(s, CP_ENROLL_CA_CRT);
	_cleanup_free_ char *key_dst = tls_path(s, CP_ENROLL_CA_KEY), *detail = NULL;
	struct cp_enroll_ca ca = {};
	size_t crt_len = 0, key_len = 0;
	char sha[65];
	struct stat st;
	int r;

	if (!crt_dst || !key_dst)
		return -ENOMEM;
	if (!force && (lstat(crt_dst, &st) == 0 || lstat(key_dst, &st) == 0))
		return cp_error(CP_E_CONFLICT,
				"%s: an enrollment CA is installed already (use "
				"--force to replace it)",
				s->tls_dir);
	r = read_input(cert_path, &crt, &crt_len);
	if (r >= 0)
		r = read_input(key_path, &key, &key_len);
	if (r >= 0)
		r = cp_enroll_ca_parse(crt, crt_len, key, key_len, cert_path, &ca);
	if (r >= 0)
		r = sl_mkdir_p(s->tls_dir, 0700);
	if (r >= 0)
		r = sl_write_file_atomic(key_dst, key, key_len, 0600);
	if (r >= 0)
		r = sl_write_file_atomic(crt_dst, crt, crt_len, 0644);
	if (key)
		sodium_memzero(key, key_len);
	if (r >= 0)
		r = tuf_sha256_hex(crt, crt_len, sha);
	if (r >= 0 && asprintf(&detail,
			       "enrollment CA installed from %s (certificate file "
			       "sha256 %s)",
			       cert_path, sha) < 0)
		r = -ENOMEM;
	if (r >= 0)
		r = cp_audit_append(s, actor, "enroll-ca-import", detail);
	if (r >= 0)
		r = crl_write(s, &ca, CP_ENROLL_CRL_DAYS, actor, NULL);
	cp_enroll_ca_clear(&ca);
	return r;
}

int cp_enroll_server_ca_fingerprint(struct cp_state *s, char ret[static 65])
{
	return cp_enroll_server_ca_load(s, NULL, ret);
}

/* ---- tokens ---- */

static int token_text(const uint8_t secret[CP_ENROLL_SECRET_BYTES], const char *fp, char **ret)
{
	char b64[CP_ENROLL_SECRET_B64 + 1];
	char *t;

	sodium_bin2base64(b64, sizeof(b64), secret, CP_ENROLL_SECRET_BYTES,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (asprintf(&t, CP_ENROLL_TOKEN_PREFIX "%s.%s", b64, fp) < 0)
		t = NULL;
	sodium_memzero(b64, sizeof(b64));
	if (!t)
		return -ENOMEM;
	*ret = t;
	return 0;
}

/*
 * Split a token into the hex SHA-256 of its secret and its fingerprint. SL_E_INVALID when it
 * is not of the form documented in enroll.h.
 */
static int token_parse(const char *token, char ret_hash[static 65], char ret_fp[static 65])
{
	uint8_t secret[CP_ENROLL_SECRET_BYTES];
	const char *b64 = token + strlen(CP_ENROLL_TOKEN_PREFIX), *fp;
	size_t n = 0;
	int r;

	if (strlen(token) != CP_ENROLL_TOKEN_LEN ||
	    strncmp(token, CP_ENROLL_TOKEN_PREFIX, strlen(CP_ENROLL_TOKEN_PREFIX)) != 0 ||
	    b64[CP_ENROLL_SECRET_B64] != '.')
		return sl_error(SL_E_INVALID, "token: not sl1.<secret>.<fingerprint>");
	fp = b64 + CP_ENROLL_SECRET_B64 + 1;
	if (strspn(fp, "0123456789abcdef") != 64)
		return sl_error(SL_E_INVALID, "token: fingerprint is not 64 lower-case hex digits");
	if (sodium_base642bin(secret, sizeof(secret), b64, CP_ENROLL_SECRET_B64, NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != sizeof(secret))
		return sl_error(SL_E_INVALID, "token: secret is not base64url of 32 bytes");
	r = tuf_sha256_hex(secret, sizeof(secret), ret_hash);
	sodium_memzero(secret, sizeof(secret));
	memcpy(ret_fp, fp, 65);
	return r;
}

/* The registry state of a device id into ret ("" when unknown). */
static int device_state(struct cp_state *s, const char *id, char ret[static 16])
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	ret[0] = '\0';
	r = cp_db_prepare(s->db, "SELECT state FROM devices WHERE id = ?1", &st);
	if (r >= 0)
		r = cp_db_bind_text(st, 1, id);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(ret, 16, "%s", (const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		return cp_db_error(s->db, rc, "database: devices");
	return 0;
}

static int identity_free(struct cp_state *s, const char *id)
{
	char state[16];
	int r = device_state(s, id, state);

	if (r < 0)
		return r;
	if (!strcmp(state, "approved") || !strcmp(state, "decommissioned"))
		return cp_error(CP_E_CONFLICT, "device '%s' exists already (%s)", id, state);
	return 0;
}

static int token_insert(struct cp_state *s, const char *hash, int64_t ttl, const char *hardware,
			const char *device_id, const char *actor, int64_t *ret_id)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ char *detail = NULL;
	int64_t expires = cp_state_now(s) + ttl;
	char now[21];
	int r;

	cp_state_now_text(s, now);
	r = device_id ? identity_free(s, device_id) : 0;
	if (r >= 0)
		r = cp_db_prepare(s->db,
				  "INSERT INTO enroll_tokens (hash, created, expires, "
				  "hardware, device_id, creator) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				  &st);
	if (r < 0)
		return r;
	if ((r = cp_db_bind_text(st, 1, hash)) < 0 || (r = cp_db_bind_text(st, 2, now)) < 0 ||
	    (r = cp_db_bind_text(st, 4, hardware)) < 0 ||
	    (r = cp_db_bind_text(st, 5, device_id)) < 0 || (r = cp_db_bind_text(st, 6, actor)) < 0)
		return r;
	sqlite3_bind_int64(st, 3, expires);
	r = cp_db_step_done(s->db, st, "database: enroll_tokens");
	if (r < 0)
		return r;
	*ret_id = sqlite3_last_insert_rowid(s->db);
	if (asprintf(&detail, "token %lld created, valid for %lld s, hardware %s, device id %s",
		     (long long)*ret_id, (long long)ttl, hardware ? hardware : "(any)",
		     device_id ? device_id : "(from the CSR)") < 0)
		return -ENOMEM;
	return cp_audit_append(s, actor, "enroll-token-create", detail);
}

/* Write the CRL when it is missing, so that serve can verify enrolled devices. */
static int crl_ensure(struct cp_state *s, const struct cp_enroll_ca *ca, const char *actor)
{
	_cleanup_free_ char *path = tls_path(s, CP_ENROLL_CRL);
	struct stat st;

	if (!path)
		return -ENOMEM;
	if (lstat(path, &st) == 0)
		return 0;
	return crl_write(s, ca, CP_ENROLL_CRL_DAYS, actor, NULL);
}

int cp_enroll_token_create(struct cp_state *s, int64_t ttl, const char *hardware,
			   const char *device_id, const char *actor, char **ret_token,
			   int64_t *ret_id)
{
	uint8_t secret[CP_ENROLL_SECRET_BYTES];
	struct cp_enroll_ca ca = {};
	char fp[65], hash[65];
	char *token = NULL;
	int64_t id = 0;
	int r;

	if (ttl < 1 || ttl > CP_ENROLL_TTL_MAX)
		return cp_error(SL_E_INVALID, "token lifetime must be 1 s to %d s",
				CP_ENROLL_TTL_MAX);
	if ((hardware && !cp_enroll_name_valid(hardware)) ||
	    (device_id && !cp_enroll_name_valid(device_id)))
		return cp_error(SL_E_INVALID,
				"hardware and device id must be 1 to %d characters "
				"of [A-Za-z0-9._-]",
				CP_ENROLL_NAME_MAX);
	r = cp_enroll_server_ca_fingerprint(s, fp);
	if (r >= 0)
		r = cp_enroll_ca_load(s, &ca);
	if (r >= 0)
		r = crl_ensure(s, &ca, actor);
	cp_enroll_ca_clear(&ca);
	if (r < 0)
		return r;
	randombytes_buf(secret, sizeof(secret));
	r = tuf_sha256_hex(secret, sizeof(secret), hash);
	if (r >= 0)
		r = token_text(secret, fp, &token);
	sodium_memzero(secret, sizeof(secret));
	if (r >= 0)
		r = cp_db_begin(s->db);
	if (r >= 0) {
		r = token_insert(s, hash, ttl, hardware, device_id, actor, &id);
		if (r >= 0)
			r = cp_db_commit(s->db);
		else
			cp_db_rollback(s->db);
	}
	if (r < 0) {
		if (token)
			sodium_memzero(token, strlen(token));
		free(token);
		return r;
	}
	*ret_token = token;
	if (ret_id)
		*ret_id = id;
	return 0;
}

static const char *col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

int cp_enroll_token_foreach(struct cp_state *s,
			    int (*fn)(const struct cp_enroll_token *t, void *userdata),
			    void *userdata)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int64_t now = cp_state_now(s);
	int r, rc;

	r = cp_db_prepare(s->db,
			  "SELECT id, created, expires, hardware, device_id, creator, used, "
			  "used_by, revoked FROM enroll_tokens ORDER BY id",
			  &st);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cp_enroll_token t = {
		    .id = sqlite3_column_int64(st, 0),
		    .created = col(st, 1),
		    .expires = sqlite3_column_int64(st, 2),
		    .hardware = col(st, 3),
		    .device_id = col(st, 4),
		    .creator = col(st, 5),
		    .used = col(st, 6),
		    .used_by = col(st, 7),
		    .revoked = col(st, 8),
		};

		t.state = t.revoked	     ? "revoked"
			  : t.used	     ? "used"
			  : now >= t.expires ? "expired"
					     : "active";
		r = fn(&t, userdata);
		if (r < 0)
			return r;
	}
	return rc == SQLITE_DONE ? 0 : cp_db_error(s->db, rc, "database: enroll_tokens");
}

int cp_enroll_token_revoke(struct cp_state *s, int64_t id, const char *actor)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ char *detail = NULL;
	char now[21];
	int r;

	cp_state_now_text(s, now);
	r = cp_db_begin(s->db);
	if (r >= 0)
		r = cp_db_prepare(s->db,
				  "UPDATE enroll_tokens SET revoked = ?2 WHERE id = ?1 AND "
				  "used IS NULL AND revoked IS NULL",
				  &st);
	if (r >= 0) {
		sqlite3_bind_int64(st, 1, id);
		r = cp_db_bind_text(st, 2, now);
	}
	if (r >= 0)
		r = cp_db_step_done(s->db, st, "database: enroll_tokens");
	if (r >= 0 && sqlite3_changes(s->db) != 1)
		r = cp_error(TUF_E_NOT_FOUND, "no unused, unrevoked token %lld", (long long)id);
	if (r >= 0 && asprintf(&detail, "token %lld revoked", (long long)id) < 0)
		r = -ENOMEM;
	if (r >= 0)
		r = cp_audit_append(s, actor, "enroll-token-revoke", detail);
	if (r >= 0)
		return cp_db_commit(s->db);
	cp_db_rollback(s->db);
	return r;
}

/* ---- POST /v1/enroll ---- */

/* One enrollment request; everything borrowed or owned as marked. */
struct enroll_req {
	struct json_object *body; /* owned */
	const char *token, *csr, *hardware;
	char hash[65], fp[65];
	char cn[CP_ENROLL_NAME_MAX + 1];
	EVP_PKEY *key; /* owned */
	int64_t token_id;
	char token_desc[96]; /* "token 7" or "unknown token <hash prefix>" for the audit */
};

static void enroll_req_clear(struct enroll_req *q)
{
	json_object_put(q->body);
	EVP_PKEY_free(q->key);
}

static int parse_body(const void *body, size_t len, struct enroll_req *q)
{
	int r;

	if (len > CP_ENROLL_BODY_MAX)
		return sl_error(SL_E_INVALID, "body larger than %d bytes", CP_ENROLL_BODY_MAX);
	r = tuf_json_parse(body, len, 4, &q->body);
	if (r < 0 || !json_object_is_type(q->body, json_type_object))
		return sl_error(SL_E_INVALID, "body is not a JSON object");
	json_object_object_foreach(q->body, k, v)
	{
		if (!json_object_is_type(v, json_type_string))
			return sl_error(SL_E_INVALID, "\"%s\" is not a string", k);
		if (!strcmp(k, "token"))
			q->token = json_object_get_string(v);
		else if (!strcmp(k, "csr"))
			q->csr = json_object_get_string(v);
		else if (!strcmp(k, "hardware"))
			q->hardware = json_object_get_string(v);
		else
			return sl_error(SL_E_INVALID, "unknown member \"%s\"", k);
	}
	if (!q->token || !q->csr || !q->hardware)
		return sl_error(SL_E_INVALID, "\"token\", \"csr\" and \"hardware\" are required");
	if (!cp_enroll_name_valid(q->hardware))
		return sl_error(SL_E_INVALID,
				"hardware must be 1 to %d characters of "
				"[A-Za-z0-9._-]",
				CP_ENROLL_NAME_MAX);
	r = cp_enroll_csr_check(q->csr, strlen(q->csr), &q->key, q->cn);
	if (r < 0)
		return r;
	snprintf(q->token_desc, sizeof(q->token_desc), "malformed token");
	r = token_parse(q->token, q->hash, q->fp);
	if (r < 0)
		return cp_error(CP_E_FORBIDDEN, "%s", sl_error_message(r));
	snprintf(q->token_desc, sizeof(q->token_desc), "unknown token (secret sha256 %.16s...)",
		 q->hash);
	return 0;
}

/* The token row for q->hash, checked: CP_E_FORBIDDEN naming the reason otherwise. */
static int token_check(struct cp_state *s, struct enroll_req *q, const char *server_fp)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	const char *hw, *id;
	int r, rc;

	r = cp_db_prepare(s->db,
			  "SELECT id, expires, hardware, device_id, used, revoked FROM "
			  "enroll_tokens WHERE hash = ?1",
			  &st);
	if (r >= 0)
		r = cp_db_bind_text(st, 1, q->hash);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return cp_error(CP_E_FORBIDDEN, "no such token");
	if (rc != SQLITE_ROW)
		return cp_db_error(s->db, rc, "database: enroll_tokens");
	q->token_id = sqlite3_column_int64(st, 0);
	snprintf(q->token_desc, sizeof(q->token_desc), "token %lld", (long long)q->token_id);
	hw = col(st, 2);
	id = col(st, 3);
	if (col(st, 5))
		return cp_error(CP_E_FORBIDDEN, "token was revoked");
	if (col(st, 4))
		return cp_error(CP_E_FORBIDDEN, "token was used already (by %s)", col(st, 4));
	if (cp_state_now(s) >= sqlite3_column_int64(st, 1))
		return cp_error(CP_E_FORBIDDEN, "token expired");
	if (sodium_memcmp(q->fp, server_fp, 64) != 0)
		return cp_error(CP_E_FORBIDDEN, "token names another server CA");
	if (hw && strcmp(hw, q->hardware) != 0)
		return cp_error(CP_E_FORBIDDEN, "token is bound to hardware '%s', not '%s'", hw,
				q->hardware);
	if (id) /* a bound id is the identity, whatever the CSR's CN says */
		snprintf(q->cn, sizeof(q->cn), "%s", id);
	return 0;
}

static int register_device(struct cp_state *s, const struct enroll_req *q, const char *cert_sha,
			   const char *peer)
{
	_cleanup_stmt_ sqlite3_stmt *use = NULL, *dev = NULL;
	_cleanup_free_ char *detail = NULL;
	char now[21];
	int r;

	cp_state_now_text(s, now);
	r = cp_db_prepare(s->db,
			  "UPDATE enroll_tokens SET used = ?2, used_by = ?3 WHERE id = ?1 "
			  "AND used IS NULL AND revoked IS NULL",
			  &use);
	if (r >= 0) {
		sqlite3_bind_int64(use, 1, q->token_id);
		if ((r = cp_db_bind_text(use, 2, now)) >= 0)
			r = cp_db_bind_text(use, 3, q->cn);
	}
	if (r >= 0)
		r = cp_db_step_done(s->db, use, "database: enroll_tokens");
	if (r >= 0 && sqlite3_changes(s->db) != 1)
		return cp_error(CP_E_FORBIDDEN, "token was used already");
	if (r >= 0)
		r = cp_db_prepare(
		    s->db,
		    "INSERT INTO devices (id, state, hardware, cert_sha256, created, "
		    "approved) VALUES (?1, 'approved', ?2, ?3, ?4, ?4) ON CONFLICT(id) "
		    "DO UPDATE SET state = 'approved', hardware = ?2, cert_sha256 = ?3, "
		    "approved = ?4",
		    &dev);
	if (r >= 0 && (r = cp_db_bind_text(dev, 1, q->cn)) >= 0 &&
	    (r = cp_db_bind_text(dev, 2, q->hardware)) >= 0 &&
	    (r = cp_db_bind_text(dev, 3, cert_sha)) >= 0 && (r = cp_db_bind_text(dev, 4, now)) >= 0)
		r = cp_db_step_done(s->db, dev, "database: devices");
	if (r < 0)
		return r;
	if (asprintf(&detail,
		     "device %s enrolled with token %lld from %s, hardware %s, "
		     "certificate sha256 %s",
		     q->cn, (long long)q->token_id, peer, q->hardware, cert_sha) < 0)
		return -ENOMEM;
	return cp_audit_append(s, q->cn, "enroll", detail);
}

/* The enrollment CA, the server CA and the served root: what an answer needs. */
struct enroll_material {
	struct cp_enroll_ca ca;
	char *server_ca_pem;
	char server_fp[65];
	struct cp_served served;
};

static void material_clear(struct enroll_material *m)
{
	cp_enroll_ca_clear(&m->ca);
	free(m->server_ca_pem);
	cp_served_clear(&m->served);
}

static int material_load(struct cp_state *s, struct enroll_material *m)
{
	int r = cp_enroll_ca_load(s, &m->ca);

	if (r >= 0)
		r = cp_enroll_server_ca_load(s, &m->server_ca_pem, m->server_fp);
	if (r >= 0)
		r = cp_repo_load(s, &m->served);
	return r;
}

static int enroll_tx(struct cp_state *s, struct enroll_req *q, const struct enroll_material *m,
		     const char *peer, char **ret_cert)
{
	_cleanup_free_ char *pem = NULL;
	char sha[65];
	int r;

	r = cp_db_begin(s->db);
	if (r < 0)
		return r;
	r = token_check(s, q, m->server_fp);
	if (r >= 0)
		r = identity_free(s, q->cn);
	if (r >= 0)
		r = cp_enroll_cert_issue(&m->ca, q->key, q->cn, cp_state_now(s),
					 CP_ENROLL_CERT_DAYS, &pem, sha);
	if (r >= 0)
		r = register_device(s, q, sha, peer);
	if (r >= 0)
		r = cp_db_commit(s->db);
	else
		cp_db_rollback(s->db);
	if (r >= 0)
		*ret_cert = TAKE_PTR(pem);
	return r;
}

static int answer(int status, const char *text, char **ret_body, size_t *ret_len)
{
	*ret_body = strdup(text);
	if (!*ret_body)
		return -ENOMEM;
	*ret_len = strlen(text);
	return status;
}

static int answer_error(int status, const char *msg, char **ret_body, size_t *ret_len)
{
	struct json_object *o = json_object_new_object();
	int r;

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "error", json_object_new_string(msg));
	r = answer(status, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), ret_body,
		   ret_len);
	json_object_put(o);
	return r;
}

static int answer_ok(const struct enroll_req *q, const struct enroll_material *m, const char *cert,
		     char **ret_body, size_t *ret_len)
{
	struct json_object *o = json_object_new_object();
	int r;

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "id", json_object_new_string(q->cn));
	json_object_object_add(o, "hardware", json_object_new_string(q->hardware));
	json_object_object_add(o, "certificate", json_object_new_string(cert));
	json_object_object_add(o, "ca", json_object_new_string(m->server_ca_pem));
	json_object_object_add(
	    o, "root",
	    json_object_new_string_len((const char *)m->served.root_buf, (int)m->served.root_len));
	r = answer(200,
		   json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE),
		   ret_body, ret_len);
	json_object_put(o);
	return r;
}

static int status_of(int r)
{
	switch (r) {
	case SL_E_INVALID:
		return 400;
	case CP_E_FORBIDDEN:
		return 403;
	case CP_E_CONFLICT:
		return 409;
	case CP_E_STATE:
		return 503;
	default:
		return 500;
	}
}

static int audit_failure(struct cp_state *s, const struct enroll_req *q, const char *peer,
			 int status, const char *why)
{
	_cleanup_free_ char *detail = NULL;

	if (asprintf(&detail, "enrollment from %s refused (%d): %s%s%s", peer, status,
		     q->token_desc[0] ? q->token_desc : "", q->token_desc[0] ? ": " : "", why) < 0)
		return -ENOMEM;
	if (strlen(detail) > CP_AUDIT_DETAIL_MAX)
		detail[CP_AUDIT_DETAIL_MAX] = '\0';
	return cp_audit_append(s, "server", "enroll_failure", detail);
}

int cp_api_enroll(struct cp_state *s, const char *peer, const void *body, size_t len,
		  char **ret_body, size_t *ret_len)
{
	struct enroll_req q = {};
	struct enroll_material m = {};
	_cleanup_free_ char *cert = NULL;
	char why[512];
	int r, status, k;

	r = parse_body(body, len, &q);
	if (r >= 0)
		r = material_load(s, &m);
	if (r >= 0)
		r = enroll_tx(s, &q, &m, peer ? peer : "?", &cert);
	if (r >= 0) {
		status = answer_ok(&q, &m, cert, ret_body, ret_len);
	} else {
		status = status_of(r);
		snprintf(why, sizeof(why), "%s", sl_error_message(r));
		k = audit_failure(s, &q, peer ? peer : "?", status, why);
		if (k < 0)
			status = k;
		else if (status == 403)
			status = answer(403, TOKEN_REFUSED, ret_body, ret_len);
		else if (status == 409)
			status = answer_error(409, "device id exists already", ret_body, ret_len);
		else if (status == 400)
			status = answer_error(400, why, ret_body, ret_len);
		else
			status =
			    answer_error(status, "enrollment is not available", ret_body, ret_len);
		/* The caller logs what went wrong: the reason, recorded as CP_E_STATE. */
		if (status >= 500)
			cp_error(CP_E_STATE, "%s", why);
	}
	material_clear(&m);
	enroll_req_clear(&q);
	return status;
}
