/* SPDX-License-Identifier: Apache-2.0 */
/* A sealed ceremony key behind the tuf writer's signer interface. */
#pragma once

#include "keyfile.h"

struct tuf_signer;

/*
 * A tuf writer signer (tuf/writer.h) that signs with key. The key is borrowed: it must
 * outlive the signer, and its secret stays in the key's sodium_malloc() memory (the signer
 * holds no copy). *ret is owned by the caller (tuf_signer_free()).
 */
int cer_signer_new(const struct cer_key *key, struct tuf_signer **ret);
