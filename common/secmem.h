/* SPDX-License-Identifier: Apache-2.0 */
/* Secure memory for secrets: libsodium guarded allocations, wiping, constant-time compare. */
#pragma once

#include <stddef.h>

#include "macro.h"

/* Initialise libsodium once; returns 0 or SL_E_INVALID when it cannot start. */
int sl_secmem_init(void);

/* sodium_malloc()'d, locked, guard-paged memory of len bytes; NULL on failure. */
void *sl_secure_alloc(size_t len);

/* Wipe and release memory from sl_secure_alloc(). Accepts NULL, returns NULL. */
void *sl_secure_free(void *p);

static inline void sl_secure_freep(void *p)
{
	sl_secure_free(*(void **)p);
}
#define _cleanup_secure_free_ _cleanup_(sl_secure_freep)

/* Wipe len bytes (not optimised away). */
void sl_memzero(void *p, size_t len);

/* Constant-time comparison of two buffers of equal length: 0 when equal. */
int sl_memcmp_ct(const void *a, const void *b, size_t len);
