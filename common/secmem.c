/* SPDX-License-Identifier: Apache-2.0 */
/* Thin wrappers over libsodium's secure memory. */
#include <sodium.h>

#include "error.h"
#include "secmem.h"

int sl_secmem_init(void)
{
	return sodium_init() < 0 ? sl_error(SL_E_INVALID, "libsodium failed to initialise") : 0;
}

void *sl_secure_alloc(size_t len)
{
	if (sodium_init() < 0)
		return NULL;
	return sodium_malloc(len);
}

void *sl_secure_free(void *p)
{
	if (p)
		sodium_free(p);
	return NULL;
}

void sl_memzero(void *p, size_t len)
{
	sodium_memzero(p, len);
}

int sl_memcmp_ct(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len);
}
