/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of ceremony/pubkey: key objects, key files as public keys, the online keys file. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sodium.h>

#include "fileio.h"
#include "keyfile.h"
#include "pubkey.h"
#include "secmem.h"
#include "test.h"

/* RFC 8032 test 1 public key and its TUF key id (computed independently with Python). */
#define PUB "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define KEYID "74c181c7ad8a0855d4b55e44d2ba87aabdddb196832571f15f92fece332e4916"
#define KEY_JSON                                                                                   \
	"{\"keytype\": \"ed25519\", \"scheme\": \"ed25519\", \"keyval\": {\"public\": \"" PUB "\"" \
											      "}}"

static char *tmpdir;

static const char *tpath(const char *name)
{
	static char buf[4][4096];
	static unsigned n;
	char *p = buf[n++ % 4];

	snprintf(p, 4096, "%s/%s", tmpdir, name);
	return p;
}

static void write_text(const char *path, const char *text)
{
	ASSERT_OK(sl_write_file_atomic(path, text, strlen(text), 0600));
}

static int from_text(const char *text, char *keyid)
{
	struct json_object *o = json_tokener_parse(text), *k = NULL;
	int r;

	ASSERT_TRUE(o);
	r = cer_pubkey_from_json(o, "k", &k, keyid);
	json_object_put(k);
	json_object_put(o);
	return r;
}

TEST(key_objects)
{
	char id[CER_KEYID_SIZE];

	ASSERT_OK(from_text(KEY_JSON, id));
	ASSERT_EQ_STR(id, KEYID);
	ASSERT_ERR(from_text("[]", id), TUF_E_FORMAT);
	ASSERT_ERR(from_text("{\"keytype\": \"ed25519\", \"scheme\": \"ed25519\", \"keyval\": "
			     "{\"public\": \"" PUB "\"}, \"keyid_hash_algorithms\": [\"sha256\"]}",
			     id),
		   TUF_E_FORMAT);
	ASSERT_ERR(from_text("{\"keytype\": \"ed25519\", \"scheme\": \"ed25519\", \"keyval\": "
			     "{\"public\": \"" PUB "\", \"private\": \"00\"}}",
			     id),
		   TUF_E_FORMAT);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_FORMAT), "private"));
	ASSERT_ERR(from_text("{\"keytype\": \"dsa\", \"scheme\": \"dsa\", \"keyval\": "
			     "{\"public\": \"00\"}}",
			     id),
		   TUF_E_UNSUPPORTED);
	ASSERT_ERR(from_text("{\"keytype\": \"ed25519\", \"scheme\": \"ed25519\", \"keyval\": "
			     "{\"public\": \"00\"}}",
			     id),
		   TUF_E_FORMAT);
	ASSERT_ERR(from_text("{\"keytype\": \"ed25519\", \"scheme\": 1, \"keyval\": "
			     "{\"public\": \"" PUB "\"}}",
			     id),
		   TUF_E_FORMAT);
}

TEST(key_files)
{
	struct cer_key *k = NULL;
	struct json_object *o = NULL;
	char id[CER_KEYID_SIZE];

	ASSERT_OK(cer_keyfile_generate("targets", "pw", 2, crypto_pwhash_argon2id_OPSLIMIT_MIN,
				       crypto_pwhash_argon2id_MEMLIMIT_MIN,
				       CER_KEYFILE_ALLOW_WEAK_KDF, tpath("t.key"), &k));
	/* A test key below the production KDF floor is refused even for its public part. */
	ASSERT_ERR(cer_pubkey_load(tpath("t.key"), NULL, &o, id), CER_E_KDF_WEAK);
	cer_key_free(k);
	k = NULL;
	ASSERT_OK(cer_keyfile_generate("targets", "pw", 2, CER_KDF_OPSLIMIT_FLOOR,
				       CER_KDF_MEMLIMIT_FLOOR, 0, tpath("f.key"), &k));
	ASSERT_OK(cer_pubkey_load(tpath("f.key"), "targets", &o, id));
	ASSERT_EQ_STR(id, cer_key_keyid(k));
	json_object_put(o);
	ASSERT_ERR(cer_pubkey_load(tpath("f.key"), "root", &o, id), SL_E_INVALID);
	ASSERT_TRUE(strstr(sl_error_message(SL_E_INVALID), "is for role 'targets', not 'root'"));
	cer_key_free(k);

	write_text(tpath("k.pub"), KEY_JSON);
	ASSERT_OK(cer_pubkey_load(tpath("k.pub"), "root", &o, id));
	ASSERT_EQ_STR(id, KEYID);
	json_object_put(o);
	write_text(tpath("bad.pub"), "{\"keytype\": ");
	ASSERT_ERR(cer_pubkey_load(tpath("bad.pub"), NULL, &o, id), TUF_E_FORMAT);
	ASSERT_ERR(cer_pubkey_load(tpath("missing.pub"), NULL, &o, id), -ENOENT);
	ASSERT_TRUE(symlink(tpath("k.pub"), tpath("link.pub")) == 0);
	ASSERT_ERR(cer_pubkey_load(tpath("link.pub"), NULL, &o, id), -ELOOP);
}

static int online(const char *text)
{
	struct json_object *s = NULL, *t = NULL;
	int r = cer_online_keys_parse(text, strlen(text), "online.json", &s, &t);

	ASSERT_TRUE(r < 0 || (s && t));
	json_object_put(s);
	json_object_put(t);
	return r;
}

TEST(online_keys)
{
	char big[CER_PUBKEY_FILE_MAX + 2];

	ASSERT_OK(online("{\"sluice_online_keys\": 1, \"snapshot\": " KEY_JSON
			 ", \"timestamp\": " KEY_JSON "}"));
	ASSERT_ERR(online("{\"sluice_online_keys\": 2, \"snapshot\": " KEY_JSON
			  ", \"timestamp\": " KEY_JSON "}"),
		   TUF_E_UNSUPPORTED);
	ASSERT_ERR(online("{\"snapshot\": " KEY_JSON ", \"timestamp\": " KEY_JSON "}"),
		   TUF_E_FORMAT);
	ASSERT_ERR(online("{\"sluice_online_keys\": 1, \"snapshot\": " KEY_JSON "}"), TUF_E_FORMAT);
	ASSERT_ERR(online("{\"sluice_online_keys\": 1, \"snapshot\": " KEY_JSON
			  ", \"timestamp\": " KEY_JSON ", \"targets\": " KEY_JSON "}"),
		   TUF_E_FORMAT);
	ASSERT_ERR(online("{\"sluice_online_keys\": 1, \"snapshot\": " KEY_JSON
			  ", \"timestamp\": {\"keytype\": \"x\", \"scheme\": \"x\", "
			  "\"keyval\": {\"public\": \"x\"}}}"),
		   TUF_E_UNSUPPORTED);
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ASSERT_ERR(online(big), SL_E_TOO_LARGE);
}

int main(void)
{
	ASSERT_OK(sl_secmem_init());
	ASSERT_OK(sl_mkdtemp_private(NULL, &tmpdir));
	RUN(key_objects);
	RUN(key_files);
	RUN(online_keys);
	sl_rm_rf(tmpdir);
	free(tmpdir);
	return 0;
}
