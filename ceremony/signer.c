/* SPDX-License-Identifier: Apache-2.0 */
/* Adapter from a sealed ceremony key (keyfile.h) to the tuf writer's signer callback. */
#include <assert.h>

#include <json-c/json.h>

#include "error.h"
#include "signer.h"
#include "tuf/writer.h"

static int key_sign(void *userdata, const void *msg, size_t len, uint8_t sig[TUF_MAX_SIG_LEN],
		    size_t *ret_len)
{
	const struct cer_key *key = userdata;
	int r;

	r = cer_key_sign(key, msg, len, sig);
	if (r < 0)
		return r;
	*ret_len = CER_SIGNATURE_BYTES;
	return 0;
}

int cer_signer_new(const struct cer_key *key, struct tuf_signer **ret)
{
	struct json_object *pub = NULL;
	int r;

	assert(key && ret);
	r = cer_key_public_json(key, &pub);
	if (r < 0)
		return r;
	/* The signer borrows the key: no free callback. It copies pub. */
	r = tuf_signer_new(pub, key_sign, (void *)key, NULL, ret);
	json_object_put(pub);
	return r;
}
