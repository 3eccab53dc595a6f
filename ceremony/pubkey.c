/* SPDX-License-Identifier: Apache-2.0 */
/* Public key inputs of the ceremony, read strictly: key files, key objects, online keys. */
#include <assert.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "error.h"
#include "fileio.h"
#include "keyfile.h"
#include "macro.h"
#include "pubkey.h"
#include "tuf/crypto.h"
#include "tuf/json.h"

#define PUBKEY_MAX_DEPTH 4
#define PUBKEY_STRING_MAX 8192

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_key *, tuf_key_free)

/* Prefix the message recorded for r (copied first: sl_error() reuses its buffer). */
static int error_in(int r, const char *name, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s", sl_error_message(r));
	return sl_error(r, "%s: %s%s", name, what, msg);
}

static bool has_only(struct json_object *o, const char *const *allowed, const char **ret_bad)
{
	json_object_object_foreach(o, k, v)
	{
		bool found = false;

		(void)v;
		for (const char *const *a = allowed; *a && !found; a++)
			found = strcmp(*a, k) == 0;
		if (!found) {
			*ret_bad = k;
			return false;
		}
	}
	return true;
}

static int get_bounded_string(struct json_object *o, const char *name, const char *key,
			      const char **ret)
{
	if (tuf_json_get_string(o, key, ret) < 0 || strlen(*ret) == 0 ||
	    strlen(*ret) > PUBKEY_STRING_MAX)
		return sl_error(TUF_E_FORMAT, "%s: '%s' must be a string of 1-%d bytes", name, key,
				PUBKEY_STRING_MAX);
	return 0;
}

static int new_key_object(const char *keytype, const char *public, const char *scheme,
			  struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *keyval = json_object_new_object();

	if (!o || !keyval ||
	    json_object_object_add(o, "keytype", json_object_new_string(keytype)) ||
	    json_object_object_add(o, "keyval", keyval)) {
		json_object_put(keyval);
		return sl_error(SL_E_NOMEM, "out of memory");
	}
	if (json_object_object_add(keyval, "public", json_object_new_string(public)) ||
	    json_object_object_add(o, "scheme", json_object_new_string(scheme)))
		return sl_error(SL_E_NOMEM, "out of memory");
	*ret = TAKE_PTR(o);
	return 0;
}

int cer_pubkey_from_json(struct json_object *obj, const char *name, struct json_object **ret,
			 char *ret_keyid)
{
	static const char *const members[] = {"keytype", "keyval", "scheme", NULL};
	static const char *const keyval_members[] = {"public", NULL};
	_cleanup_(json_object_putp) struct json_object *copy = NULL;
	_cleanup_(tuf_key_freep) struct tuf_key *key = NULL;
	const char *keytype, *scheme, *public, *bad = NULL;
	struct json_object *keyval;
	int r;

	assert(name && ret);
	if (!json_object_is_type(obj, json_type_object))
		return sl_error(TUF_E_FORMAT, "%s: a public key must be a JSON object", name);
	if (!has_only(obj, members, &bad))
		return sl_error(TUF_E_FORMAT, "%s: unknown member '%s' in a public key", name, bad);
	r = get_bounded_string(obj, name, "keytype", &keytype);
	if (r >= 0)
		r = get_bounded_string(obj, name, "scheme", &scheme);
	if (r < 0)
		return r;
	if (tuf_json_get_object(obj, "keyval", &keyval) < 0)
		return sl_error(TUF_E_FORMAT, "%s: public key without a 'keyval' object", name);
	if (!has_only(keyval, keyval_members, &bad))
		return sl_error(TUF_E_FORMAT, "%s: unknown member '%s' in keyval", name, bad);
	r = get_bounded_string(keyval, name, "public", &public);
	if (r < 0)
		return r;
	r = new_key_object(keytype, public, scheme, &copy);
	if (r < 0)
		return r;
	r = tuf_key_from_json(copy, &key);
	if (r == TUF_E_UNSUPPORTED)
		return sl_error(r, "%s: key type '%s' with scheme '%s' is not supported", name,
				keytype, scheme);
	if (r < 0)
		return error_in(r, name, "malformed public key: ");
	if (ret_keyid) {
		r = tuf_keyid_compute(copy, ret_keyid);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(copy);
	return 0;
}

static int pubkey_from_keyfile(const void *buf, size_t len, const char *path, const char *want_role,
			       struct json_object **ret, char *ret_keyid)
{
	struct cer_keyfile_info info;
	int r;

	r = cer_keyfile_inspect_buf(buf, len, path, &info);
	if (r < 0)
		return r;
	if (want_role && strcmp(info.role, want_role) != 0)
		return sl_error(SL_E_INVALID, "%s: key file is for role '%s', not '%s'", path,
				info.role, want_role);
	r = new_key_object("ed25519", info.public_hex, "ed25519", ret);
	if (r < 0)
		return r;
	if (ret_keyid)
		memcpy(ret_keyid, info.keyid, CER_KEYID_SIZE);
	return 0;
}

int cer_pubkey_load(const char *path, const char *want_role, struct json_object **ret,
		    char *ret_keyid)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	assert(path && ret);
	r = sl_read_file_at(AT_FDCWD, path, CER_PUBKEY_FILE_MAX, &buf, &len);
	if (r == SL_E_TOO_LARGE || r == SL_E_INVALID)
		return r;
	if (r < 0)
		return sl_error(r, "%s: cannot read: %s", path, sl_strerror(r));
	r = tuf_json_parse(buf, len, PUBKEY_MAX_DEPTH, &doc);
	if (r < 0)
		return error_in(r, path, "not a key file or public key: ");
	if (json_object_is_type(doc, json_type_object) &&
	    json_object_object_get_ex(doc, "sluice_key", NULL))
		return pubkey_from_keyfile(buf, len, path, want_role, ret, ret_keyid);
	return cer_pubkey_from_json(doc, path, ret, ret_keyid);
}

int cer_online_keys_parse(const void *buf, size_t len, const char *name,
			  struct json_object **ret_snapshot, struct json_object **ret_timestamp)
{
	static const char *const members[] = {"sluice_online_keys", "snapshot", "timestamp", NULL};
	_cleanup_(json_object_putp) struct json_object *doc = NULL, *snap = NULL, *ts = NULL;
	struct json_object *o;
	const char *bad = NULL;
	char what[64];
	int64_t format;
	int r;

	assert(buf && name && ret_snapshot && ret_timestamp);
	if (len > CER_PUBKEY_FILE_MAX)
		return sl_error(SL_E_TOO_LARGE, "%s: larger than %u bytes", name,
				CER_PUBKEY_FILE_MAX);
	r = tuf_json_parse(buf, len, PUBKEY_MAX_DEPTH, &doc);
	if (r < 0)
		return error_in(r, name, "");
	if (!json_object_is_type(doc, json_type_object))
		return sl_error(TUF_E_FORMAT, "%s: not a JSON object", name);
	if (!has_only(doc, members, &bad))
		return sl_error(TUF_E_FORMAT, "%s: unknown member '%s'", name, bad);
	if (tuf_json_get_int(doc, "sluice_online_keys", 0, &format) < 0)
		return sl_error(TUF_E_FORMAT, "%s: not an online keys file (no sluice_online_keys)",
				name);
	if (format != CER_ONLINE_KEYS_FORMAT)
		return sl_error(TUF_E_UNSUPPORTED, "%s: online keys format %lld is not supported",
				name, (long long)format);
	if (tuf_json_get_object(doc, "snapshot", &o) < 0)
		return sl_error(TUF_E_FORMAT, "%s: no 'snapshot' key", name);
	snprintf(what, sizeof(what), "%.40s: snapshot", name);
	r = cer_pubkey_from_json(o, what, &snap, NULL);
	if (r < 0)
		return r;
	if (tuf_json_get_object(doc, "timestamp", &o) < 0)
		return sl_error(TUF_E_FORMAT, "%s: no 'timestamp' key", name);
	snprintf(what, sizeof(what), "%.40s: timestamp", name);
	r = cer_pubkey_from_json(o, what, &ts, NULL);
	if (r < 0)
		return r;
	*ret_snapshot = TAKE_PTR(snap);
	*ret_timestamp = TAKE_PTR(ts);
	return 0;
}

int cer_online_keys_load(const char *path, struct json_object **ret_snapshot,
			 struct json_object **ret_timestamp)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	r = sl_read_file_at(AT_FDCWD, path, CER_PUBKEY_FILE_MAX, &buf, &len);
	if (r == SL_E_TOO_LARGE || r == SL_E_INVALID)
		return r;
	if (r < 0)
		return sl_error(r, "%s: cannot read: %s", path, sl_strerror(r));
	return cer_online_keys_parse(buf, len, path, ret_snapshot, ret_timestamp);
}
