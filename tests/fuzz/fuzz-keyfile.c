/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target for the ceremony key-file reader: parsing, checks, unsealing with a passphrase. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>

#include "keyfile.h"
#include "secmem.h"

/* The corpus is sealed with this passphrase at libsodium's minimum KDF limits. */
#define FUZZ_PASSPHRASE "fuzz"
/* Inputs asking for more KDF work than this are skipped: the point is the parser, not argon2. */
#define FUZZ_OPSLIMIT_MAX 3
#define FUZZ_MEMLIMIT_MAX (64 * 1024)

static int64_t member_int(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, a, &v) || !json_object_object_get_ex(v, b, &v))
		return 0;
	return json_object_get_int64(v);
}

/* Whether json-c sees KDF limits too slow to run a million times (a cheap pre-filter). */
static int too_slow(const uint8_t *data, size_t size)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	int slow = 0;

	if (!tok)
		return 1;
	o = json_tokener_parse_ex(tok, (const char *)data,
				  (int)(size > CER_KEYFILE_MAX ? 0 : size));
	if (o) {
		slow = member_int(o, "kdf", "opslimit") > FUZZ_OPSLIMIT_MAX ||
		       member_int(o, "kdf", "memlimit") > FUZZ_MEMLIMIT_MAX;
		json_object_put(o);
	}
	json_tokener_free(tok);
	return slow;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cer_key *key = NULL;

	if (sl_secmem_init() < 0)
		abort();
	if (too_slow(data, size))
		return 0;
	/* The test flag: refusing weak KDF limits would stop every input at the first check. */
	if (cer_keyfile_load_buf(data, size, "fuzz.key", FUZZ_PASSPHRASE, 4,
				 CER_KEYFILE_ALLOW_WEAK_KDF, &key) >= 0) {
		uint8_t sig[CER_SIGNATURE_BYTES];
		char fp[CER_FINGERPRINT_SIZE];

		if (cer_key_sign(key, data, size, sig) < 0)
			abort();
		cer_key_fingerprint(key, fp);
	}
	cer_key_free(key);
	return 0;
}
