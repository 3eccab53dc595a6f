/* SPDX-License-Identifier: Apache-2.0 */
/* The repository writer: documents and common fields, signers, signing and file names. */
#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "fileio.h"
#include "metadata-internal.h"
#include "secmem.h"
#include "tuf/json.h"
#include "tuf/updater.h"
#include "tuf/writer.h"
#include "writer-internal.h"

#define DAY_SECONDS INT64_C(86400)
/* 9999-12-31T23:59:59Z: the last time "YYYY-MM-DDTHH:MM:SSZ" can express. */
#define EXPIRES_MAX INT64_C(253402300799)

struct tuf_signer {
	char keyid[65];
	struct json_object *key; /* owned */
	tuf_signer_sign_fn sign;
	void *userdata;			       /* owned through free_userdata */
	void (*free_userdata)(void *userdata); /* may be NULL */
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_metadata *, tuf_metadata_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_key *, tuf_key_free)

static const char *const top_level_names[] = {"root", "timestamp", "snapshot", "targets"};

enum tuf_role_type tuf_wr_role_type(const char *role)
{
	for (enum tuf_role_type t = TUF_ROLE_ROOT; t <= TUF_ROLE_TARGETS; t++)
		if (strcmp(role, tuf_role_type_name(t)) == 0)
			return t;
	return TUF_ROLE_TARGETS;
}

int tuf_wr_check_role_name(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > TUF_MAX_ROLENAME_LEN)
		return sl_error(SL_E_INVALID, "role name of 0 or more than %d bytes",
				TUF_MAX_ROLENAME_LEN);
	for (size_t i = 0; i < ELEMENTSOF(top_level_names); i++)
		if (strcmp(name, top_level_names[i]) == 0)
			return sl_error(SL_E_INVALID,
					"\"%s\" is a top-level role, not a delegation", name);
	return 0;
}

int tuf_wr_check_count(uint64_t v, const char *what)
{
	if (v < 1 || v > INT64_MAX)
		return sl_error(SL_E_INVALID, "%s %" PRIu64 " is not in 1..%" PRId64, what, v,
				INT64_MAX);
	return 0;
}

int tuf_wr_signed(struct json_object *doc, const char *type, struct json_object **ret)
{
	struct json_object *sig_obj, *sigs;
	const char *t;
	int r;

	assert(ret);
	if (!doc || !json_object_is_type(doc, json_type_object))
		return sl_error(TUF_E_FORMAT, "metadata: expected an object at the top level");
	r = tuf_md_fail(tuf_json_get_object(doc, "signed", &sig_obj), "metadata");
	if (r < 0)
		return r;
	r = tuf_md_fail(tuf_json_get_array(doc, "signatures", &sigs), "metadata");
	if (r < 0)
		return r;
	r = tuf_md_fail(tuf_json_get_string(sig_obj, "_type", &t), "metadata");
	if (r < 0)
		return r;
	if (type && strcmp(t, type) != 0)
		return sl_error(TUF_E_TYPE, "metadata: \"_type\" is \"%.64s\", expected \"%s\"", t,
				type);
	*ret = sig_obj;
	return 0;
}

int tuf_wr_edit(struct json_object *doc, const char *type, struct json_object **ret)
{
	int r;

	r = tuf_wr_signed(doc, type, ret);
	if (r < 0)
		return r;
	return tuf_writer_drop_signatures(doc);
}

int tuf_wr_put(struct json_object *obj, const char *key, struct json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

int tuf_wr_append(struct json_object *arr, struct json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_array_add(arr, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

bool tuf_wr_strv_has(struct json_object *arr, const char *s)
{
	size_t n = json_object_array_length(arr);

	for (size_t i = 0; i < n; i++) {
		struct json_object *el = json_object_array_get_idx(arr, i);

		if (json_object_is_type(el, json_type_string) &&
		    strcmp(json_object_get_string(el), s) == 0)
			return true;
	}
	return false;
}

int tuf_wr_strv_remove(struct json_object *arr, const char *s)
{
	bool found = false;

	/* Backwards, so that deleting does not shift the elements still to visit. */
	for (size_t i = json_object_array_length(arr); i-- > 0;) {
		struct json_object *el = json_object_array_get_idx(arr, i);

		if (json_object_is_type(el, json_type_string) &&
		    strcmp(json_object_get_string(el), s) == 0) {
			json_object_array_del_idx(arr, i, 1);
			found = true;
		}
	}
	return found ? 0 : sl_error(TUF_E_NOT_FOUND, "key id %.64s is not listed", s);
}

int tuf_wr_get_strv(struct json_object *obj, const char *key, struct json_object **ret)
{
	struct json_object *arr;
	size_t n;
	int r;

	r = tuf_json_get_array(obj, key, &arr);
	if (r < 0)
		return r;
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(arr, i), json_type_string))
			return sl_error(TUF_E_FORMAT, "\"%s\"[%zu]: expected a string", key, i);
	*ret = arr;
	return 0;
}

int tuf_wr_key_id(struct json_object *key, char keyid[65])
{
	_cleanup_(tuf_key_freep) struct tuf_key *k = NULL;
	int r;

	if (!key || !json_object_is_type(key, json_type_object))
		return sl_error(TUF_E_FORMAT, "key: expected a key object");
	r = tuf_key_from_json(key, &k);
	if (r < 0)
		return tuf_md_fail(r, "key");
	return tuf_keyid_compute(key, keyid);
}

int tuf_wr_table_put(struct json_object *table, const char *keyid, struct json_object *key)
{
	struct json_object *copy = NULL;

	if (json_object_deep_copy(key, &copy, NULL) < 0)
		return -ENOMEM;
	return tuf_wr_put(table, keyid, copy);
}

static struct json_object *new_hashes(const void *bytes, size_t len)
{
	_cleanup_(json_object_putp) struct json_object *h = json_object_new_object();
	char hex[65];

	if (!h || tuf_sha256_hex(bytes, len, hex) < 0)
		return NULL;
	if (tuf_wr_put(h, "sha256", json_object_new_string(hex)) < 0)
		return NULL;
	return TAKE_PTR(h);
}

int tuf_wr_meta_entry(uint64_t version, const void *bytes, size_t len, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *m = NULL;
	int r;

	r = tuf_wr_check_count(version, "version");
	if (r < 0)
		return r;
	if (bytes && len > INT64_MAX)
		return sl_error(SL_E_TOO_LARGE, "meta file of %zu bytes", len);
	m = json_object_new_object();
	if (!m)
		return -ENOMEM;
	r = tuf_wr_put(m, "version", json_object_new_int64((int64_t)version));
	if (r >= 0 && bytes)
		r = tuf_wr_put(m, "length", json_object_new_int64((int64_t)len));
	if (r >= 0 && bytes)
		r = tuf_wr_put(m, "hashes", new_hashes(bytes, len));
	if (r < 0)
		return r;
	*ret = TAKE_PTR(m);
	return 0;
}

/* ---- Signers ---- */

int tuf_signer_new(struct json_object *key, tuf_signer_sign_fn sign, void *userdata,
		   void (*free_userdata)(void *userdata), struct tuf_signer **ret)
{
	struct tuf_signer *s;
	char keyid[65];
	int r;

	assert(sign && ret);
	r = tuf_wr_key_id(key, keyid);
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (json_object_deep_copy(key, &s->key, NULL) < 0) {
		free(s);
		return -ENOMEM;
	}
	memcpy(s->keyid, keyid, sizeof(keyid));
	s->sign = sign;
	s->userdata = userdata;
	s->free_userdata = free_userdata;
	*ret = s;
	return 0;
}

struct tuf_signer *tuf_signer_free(struct tuf_signer *s)
{
	if (!s)
		return NULL;
	if (s->free_userdata)
		s->free_userdata(s->userdata);
	json_object_put(s->key);
	free(s);
	return NULL;
}

const char *tuf_signer_keyid(const struct tuf_signer *s)
{
	assert(s);
	return s->keyid;
}

struct json_object *tuf_signer_key(const struct tuf_signer *s)
{
	assert(s);
	return s->key;
}

int tuf_writer_ed25519_key(const uint8_t pk[32], struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *key = NULL, *keyval = NULL;
	char hex[65];
	int r;

	assert(pk && ret);
	sl_hex_encode(pk, 32, hex);
	key = json_object_new_object();
	keyval = json_object_new_object();
	if (!key || !keyval)
		return -ENOMEM;
	r = tuf_wr_put(keyval, "public", json_object_new_string(hex));
	if (r >= 0)
		r = tuf_wr_put(key, "keytype", json_object_new_string("ed25519"));
	if (r >= 0)
		r = tuf_wr_put(key, "scheme", json_object_new_string("ed25519"));
	if (r >= 0)
		r = tuf_wr_put(key, "keyval", TAKE_PTR(keyval));
	if (r < 0)
		return r;
	*ret = TAKE_PTR(key);
	return 0;
}

static int ed25519_sign(void *userdata, const void *msg, size_t len, uint8_t sig[TUF_MAX_SIG_LEN],
			size_t *ret_len)
{
	unsigned long long n = 0;

	static_assert(TUF_MAX_SIG_LEN >= crypto_sign_ed25519_BYTES, "signature buffer too small");
	if (crypto_sign_ed25519_detached(sig, &n, msg, len, userdata) != 0)
		return sl_error(TUF_E_CRYPTO, "ed25519: signing failed");
	*ret_len = (size_t)n;
	return 0;
}

static void secure_free(void *p)
{
	sl_secure_free(p);
}

/* Whether the public half of sk (its last 32 bytes) is the one its seed derives. */
static int ed25519_check_pair(const uint8_t sk[64])
{
	_cleanup_secure_free_ uint8_t *derived =
	    sl_secure_alloc(crypto_sign_ed25519_SECRETKEYBYTES);
	uint8_t pk[crypto_sign_ed25519_PUBLICKEYBYTES];

	if (!derived)
		return -ENOMEM;
	if (crypto_sign_ed25519_seed_keypair(pk, derived, sk) != 0)
		return sl_error(TUF_E_CRYPTO, "ed25519: key derivation failed");
	if (memcmp(pk, sk + 32, sizeof(pk)) != 0)
		return sl_error(SL_E_INVALID, "ed25519: public key does not match the secret key");
	return 0;
}

int tuf_signer_ed25519_new(const uint8_t sk[64], struct tuf_signer **ret)
{
	_cleanup_(json_object_putp) struct json_object *key = NULL;
	_cleanup_secure_free_ uint8_t *secret = NULL;
	int r;

	assert(sk && ret);
	r = sl_secmem_init();
	if (r < 0)
		return r;
	r = ed25519_check_pair(sk);
	if (r < 0)
		return r;
	r = tuf_writer_ed25519_key(sk + 32, &key);
	if (r < 0)
		return r;
	secret = sl_secure_alloc(crypto_sign_ed25519_SECRETKEYBYTES);
	if (!secret)
		return -ENOMEM;
	memcpy(secret, sk, crypto_sign_ed25519_SECRETKEYBYTES);
	/* Signing only reads the key; sodium_free() makes it writable again to wipe it. */
	if (sodium_mprotect_readonly(secret) != 0)
		return sl_error(-errno, "ed25519: cannot protect the secret key: %m");
	r = tuf_signer_new(key, ed25519_sign, secret, secure_free, ret);
	if (r < 0)
		return r;
	TAKE_PTR(secret);
	return 0;
}

/* ---- Documents ---- */

static int new_role_keys(struct json_object *roles, const char *name)
{
	_cleanup_(json_object_putp) struct json_object *role = json_object_new_object();
	int r;

	if (!role)
		return -ENOMEM;
	r = tuf_wr_put(role, "keyids", json_object_new_array());
	if (r >= 0)
		r = tuf_wr_put(role, "threshold", json_object_new_int64(1));
	if (r < 0)
		return r;
	return tuf_wr_put(roles, name, TAKE_PTR(role));
}

static int fill_root(struct json_object *sig_obj)
{
	_cleanup_(json_object_putp) struct json_object *roles = json_object_new_object();
	int r;

	if (!roles)
		return -ENOMEM;
	for (enum tuf_role_type t = TUF_ROLE_ROOT; t <= TUF_ROLE_TARGETS; t++) {
		r = new_role_keys(roles, tuf_role_type_name(t));
		if (r < 0)
			return r;
	}
	r = tuf_wr_put(sig_obj, "consistent_snapshot", json_object_new_boolean(1));
	if (r >= 0)
		r = tuf_wr_put(sig_obj, "keys", json_object_new_object());
	if (r >= 0)
		r = tuf_wr_put(sig_obj, "roles", TAKE_PTR(roles));
	return r;
}

static int fill_meta(struct json_object *sig_obj, const char *name)
{
	_cleanup_(json_object_putp) struct json_object *meta = json_object_new_object();
	struct json_object *entry;
	int r;

	if (!meta)
		return -ENOMEM;
	r = tuf_wr_meta_entry(1, NULL, 0, &entry);
	if (r >= 0)
		r = tuf_wr_put(meta, name, entry);
	if (r >= 0)
		r = tuf_wr_put(sig_obj, "meta", TAKE_PTR(meta));
	return r;
}

static int fill_role(struct json_object *sig_obj, enum tuf_role_type type)
{
	switch (type) {
	case TUF_ROLE_ROOT:
		return fill_root(sig_obj);
	case TUF_ROLE_TIMESTAMP:
		return fill_meta(sig_obj, "snapshot.json");
	case TUF_ROLE_SNAPSHOT:
		return fill_meta(sig_obj, "targets.json");
	case TUF_ROLE_TARGETS:
		return tuf_wr_put(sig_obj, "targets", json_object_new_object());
	default:
		assert(!"unknown role type");
		return SL_E_INVALID;
	}
}

static unsigned default_days(enum tuf_role_type type)
{
	static const unsigned days[] = {
	    [TUF_ROLE_ROOT] = TUF_WRITER_ROOT_DAYS,
	    [TUF_ROLE_TIMESTAMP] = TUF_WRITER_TIMESTAMP_DAYS,
	    [TUF_ROLE_SNAPSHOT] = TUF_WRITER_SNAPSHOT_DAYS,
	    [TUF_ROLE_TARGETS] = TUF_WRITER_TARGETS_DAYS,
	};
	return days[type];
}

int tuf_writer_new(enum tuf_role_type type, int64_t now, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL, *sig_obj = NULL;
	int r;

	assert((unsigned)type <= TUF_ROLE_TARGETS && ret);
	doc = json_object_new_object();
	sig_obj = json_object_new_object();
	if (!doc || !sig_obj)
		return -ENOMEM;
	r = tuf_wr_put(sig_obj, "_type", json_object_new_string(tuf_role_type_name(type)));
	if (r >= 0)
		r = tuf_wr_put(sig_obj, "spec_version",
			       json_object_new_string(TUF_WRITER_SPEC_VERSION));
	if (r >= 0)
		r = tuf_wr_put(sig_obj, "version", json_object_new_int64(1));
	if (r >= 0)
		r = tuf_wr_put(sig_obj, "expires", json_object_new_string(""));
	if (r >= 0)
		r = fill_role(sig_obj, type);
	if (r >= 0)
		r = tuf_wr_put(doc, "signatures", json_object_new_array());
	if (r >= 0)
		r = tuf_wr_put(doc, "signed", TAKE_PTR(sig_obj));
	if (r >= 0)
		r = tuf_writer_set_expires_days(doc, now, default_days(type));
	if (r < 0)
		return r;
	*ret = TAKE_PTR(doc);
	return 0;
}

int tuf_writer_load(const void *buf, size_t len, enum tuf_role_type type, struct json_object **ret)
{
	_cleanup_(tuf_metadata_freep) struct tuf_metadata *md = NULL;
	int r;

	assert(ret);
	r = tuf_metadata_parse(buf, len, type, &md);
	if (r < 0)
		return r;
	*ret = json_object_get(md->doc);
	return 0;
}

static size_t role_size_max(enum tuf_role_type type)
{
	static const size_t caps[] = {
	    [TUF_ROLE_ROOT] = TUF_DEFAULT_ROOT_MAX,
	    [TUF_ROLE_TIMESTAMP] = TUF_DEFAULT_TIMESTAMP_MAX,
	    [TUF_ROLE_SNAPSHOT] = TUF_DEFAULT_SNAPSHOT_MAX,
	    [TUF_ROLE_TARGETS] = TUF_DEFAULT_TARGETS_MAX,
	};
	return caps[type];
}

int tuf_writer_load_file(const char *path, enum tuf_role_type type, struct json_object **ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	assert(path && ret && (unsigned)type <= TUF_ROLE_TARGETS);
	r = sl_read_file_at(AT_FDCWD, path, role_size_max(type), &buf, &len);
	if (r == SL_E_TOO_LARGE)
		return sl_error(TUF_E_TOO_LARGE, "%s: larger than %zu bytes", path,
				role_size_max(type));
	if (r < 0)
		return tuf_md_fail(r, path);
	r = tuf_writer_load(buf, len, type, ret);
	return tuf_md_fail(r, path);
}

int tuf_writer_get_version(struct json_object *doc, uint64_t *ret)
{
	struct json_object *sig_obj;
	int64_t v;
	int r;

	assert(ret);
	r = tuf_wr_signed(doc, NULL, &sig_obj);
	if (r < 0)
		return r;
	r = tuf_json_get_int(sig_obj, "version", 1, &v);
	if (r < 0)
		return r;
	*ret = (uint64_t)v;
	return 0;
}

int tuf_writer_set_version(struct json_object *doc, uint64_t version)
{
	struct json_object *sig_obj;
	int r;

	r = tuf_wr_check_count(version, "version");
	if (r < 0)
		return r;
	r = tuf_wr_edit(doc, NULL, &sig_obj);
	if (r < 0)
		return r;
	return tuf_wr_put(sig_obj, "version", json_object_new_int64((int64_t)version));
}

int tuf_writer_bump_version(struct json_object *doc)
{
	uint64_t v;
	int r;

	r = tuf_writer_get_version(doc, &v);
	if (r < 0)
		return r;
	return tuf_writer_set_version(doc, v + 1);
}

int tuf_writer_set_expires(struct json_object *doc, int64_t t)
{
	struct json_object *sig_obj;
	char buf[21];
	int r;

	if (t <= 0 || t > EXPIRES_MAX)
		return sl_error(SL_E_INVALID, "expires: %" PRId64 " is not a time in 1970..9999",
				t);
	r = tuf_wr_edit(doc, NULL, &sig_obj);
	if (r < 0)
		return r;
	tuf_json_format_time(t, buf);
	return tuf_wr_put(sig_obj, "expires", json_object_new_string(buf));
}

int tuf_writer_set_expires_days(struct json_object *doc, int64_t now, unsigned days)
{
	if (days < 1 || days > TUF_WRITER_MAX_DAYS)
		return sl_error(SL_E_INVALID, "expires: %u days is not in 1..%u", days,
				TUF_WRITER_MAX_DAYS);
	if (now == 0)
		now = (int64_t)time(NULL);
	if (now < 0 || now > EXPIRES_MAX - (int64_t)days * DAY_SECONDS)
		return sl_error(SL_E_INVALID, "expires: now %" PRId64 " is out of range", now);
	return tuf_writer_set_expires(doc, now + (int64_t)days * DAY_SECONDS);
}

int tuf_writer_drop_signatures(struct json_object *doc)
{
	if (!doc || !json_object_is_type(doc, json_type_object))
		return sl_error(TUF_E_FORMAT, "metadata: expected an object at the top level");
	return tuf_wr_put(doc, "signatures", json_object_new_array());
}

/* ---- Signing ---- */

/* Replace the signature entries of keyid in sigs with one entry of hex. */
static int put_signature(struct json_object *sigs, const char *keyid, const char *hex)
{
	_cleanup_(json_object_putp) struct json_object *entry = json_object_new_object();
	int r;

	if (!entry)
		return -ENOMEM;
	r = tuf_wr_put(entry, "keyid", json_object_new_string(keyid));
	if (r >= 0)
		r = tuf_wr_put(entry, "sig", json_object_new_string(hex));
	if (r < 0)
		return r;
	for (size_t i = json_object_array_length(sigs); i-- > 0;) {
		struct json_object *el = json_object_array_get_idx(sigs, i), *id;

		if (json_object_object_get_ex(el, "keyid", &id) &&
		    json_object_is_type(id, json_type_string) &&
		    strcmp(json_object_get_string(id), keyid) == 0)
			json_object_array_del_idx(sigs, i, 1);
	}
	return tuf_wr_append(sigs, TAKE_PTR(entry));
}

int tuf_writer_sign(struct json_object *doc, const struct tuf_signer *signer)
{
	_cleanup_free_ char *msg = NULL;
	uint8_t sig[TUF_MAX_SIG_LEN];
	char hex[2 * TUF_MAX_SIG_LEN + 1];
	struct json_object *sig_obj, *sigs;
	size_t msg_len, sig_len = 0;
	int r;

	assert(signer);
	r = tuf_wr_signed(doc, NULL, &sig_obj);
	if (r < 0)
		return r;
	r = tuf_json_canonical(sig_obj, &msg, &msg_len);
	if (r < 0)
		return r;
	r = signer->sign(signer->userdata, msg, msg_len, sig, &sig_len);
	if (r < 0)
		return r;
	if (sig_len == 0 || sig_len > TUF_MAX_SIG_LEN)
		return sl_error(TUF_E_CRYPTO, "key %s: signer returned %zu bytes", signer->keyid,
				sig_len);
	sl_hex_encode(sig, sig_len, hex);
	json_object_object_get_ex(doc, "signatures", &sigs);
	return put_signature(sigs, signer->keyid, hex);
}

/* ---- Output and file names ---- */

int tuf_writer_serialize(struct json_object *doc, char **ret_buf, size_t *ret_len)
{
	const char *s;
	char *buf;
	size_t len = 0;

	assert(ret_buf && ret_len);
	if (!doc)
		return sl_error(SL_E_INVALID, "metadata: no document");
	s = json_object_to_json_string_length(
	    doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE,
	    &len);
	if (!s)
		return -ENOMEM;
	buf = malloc(len + 2);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, s, len);
	buf[len] = '\n';
	buf[len + 1] = '\0';
	*ret_buf = buf;
	*ret_len = len + 1;
	return 0;
}

int tuf_writer_metadata_filename(const char *role, uint64_t version, bool consistent, char **ret)
{
	_cleanup_free_ char *quoted = NULL;
	int r;

	assert(role && ret);
	if (role[0] == '\0' || strlen(role) > TUF_MAX_ROLENAME_LEN)
		return sl_error(SL_E_INVALID, "role name of 0 or more than %d bytes",
				TUF_MAX_ROLENAME_LEN);
	if (strcmp(role, "timestamp") == 0)
		r = asprintf(ret, "timestamp.json");
	else if (tuf_wr_check_count(version, "version") < 0)
		return SL_E_INVALID;
	else if (strcmp(role, "root") == 0)
		r = asprintf(ret, "%" PRIu64 ".root.json", version);
	else {
		r = tuf_path_quote(role, &quoted);
		if (r < 0)
			return r;
		if (consistent)
			r = asprintf(ret, "%" PRIu64 ".%s.json", version, quoted);
		else
			r = asprintf(ret, "%s.json", quoted);
	}
	return r < 0 ? -ENOMEM : 0;
}

int tuf_writer_target_filename(struct json_object *doc, const char *target_path, char **ret)
{
	struct json_object *sig_obj, *targets, *target, *hashes, *sha;
	const char *slash, *hex;
	int r;

	assert(target_path && ret);
	r = tuf_wr_check_target_path(target_path);
	if (r < 0)
		return r;
	r = tuf_wr_signed(doc, "targets", &sig_obj);
	if (r < 0)
		return r;
	r = tuf_json_get_object(sig_obj, "targets", &targets);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(targets, target_path, &target) ||
	    !json_object_object_get_ex(target, "hashes", &hashes) ||
	    !json_object_object_get_ex(hashes, "sha256", &sha) ||
	    !json_object_is_type(sha, json_type_string))
		return sl_error(TUF_E_NOT_FOUND, "targets: no sha256 of target \"%.256s\"",
				target_path);
	hex = json_object_get_string(sha);
	if (strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
		return sl_error(TUF_E_FORMAT, "targets: sha256 of \"%.256s\" is not hex",
				target_path);
	slash = strrchr(target_path, '/');
	if (slash)
		r = asprintf(ret, "%.*s%s.%s", (int)(slash + 1 - target_path), target_path, hex,
			     slash + 1);
	else
		r = asprintf(ret, "%s.%s", hex, target_path);
	return r < 0 ? -ENOMEM : 0;
}
