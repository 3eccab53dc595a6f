/* SPDX-License-Identifier: Apache-2.0 */
/* Checks of bytes against TUF lengths and hashes: one-shot for metadata, streaming for targets. */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "error.h"
#include "tuf/metadata.h"

struct tuf_target_check {
	const struct tuf_target *t; /* borrowed */
	uint64_t n;		    /* bytes accepted */
	struct tuf_hash *h[TUF_MAX_HASHES];
	int result; /* sticky: the first error, or 1 once final() succeeded */
};

/* Compare a computed digest with each expected one of the same algorithm. */
static int check_digest(const struct tuf_hash_entry *want, const uint8_t *got, const char *what)
{
	if (memcmp(want->digest, got, tuf_hash_alg_size(want->alg)) != 0)
		return sl_error(TUF_E_HASH, "%s: %s hash does not match", what,
				tuf_hash_alg_name(want->alg));
	return 0;
}

int tuf_meta_file_check(const struct tuf_meta_file *m, const void *data, size_t len,
			const char *what)
{
	uint8_t digest[TUF_HASH_MAX_SIZE];
	int r;

	assert(m && what);
	assert(data || len == 0);
	if (m->has_length && (uint64_t)len != m->length)
		return sl_error(TUF_E_LENGTH, "%s: length %zu does not match expected %" PRIu64,
				what, len, m->length);
	if (!m->has_hashes)
		return 0;
	for (size_t i = 0; i < m->hashes.n; i++) {
		r = tuf_hash_buf(m->hashes.h[i].alg, data, len, digest);
		if (r < 0)
			return r;
		r = check_digest(&m->hashes.h[i], digest, what);
		if (r < 0)
			return r;
	}
	return 0;
}

int tuf_target_check_new(const struct tuf_target *t, struct tuf_target_check **ret)
{
	struct tuf_target_check *c;
	int r;

	assert(t && ret);
	assert(t->hashes.n <= TUF_MAX_HASHES);
	if (t->hashes.n == 0)
		return sl_error(TUF_E_UNSUPPORTED, "%s: no supported hash to check", t->path);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->t = t;
	for (size_t i = 0; i < t->hashes.n; i++) {
		r = tuf_hash_new(t->hashes.h[i].alg, &c->h[i]);
		if (r < 0) {
			tuf_target_check_free(c);
			return r;
		}
	}
	*ret = c;
	return 0;
}

int tuf_target_check_update(struct tuf_target_check *c, const void *data, size_t len)
{
	int r;

	assert(c);
	assert(data || len == 0);
	if (c->result < 0)
		return c->result;
	assert(c->result == 0);
	if ((uint64_t)len > c->t->length - c->n)
		return c->result =
			   sl_error(TUF_E_LENGTH, "%s: more than the expected %" PRIu64 " bytes",
				    c->t->path, c->t->length);
	for (size_t i = 0; i < c->t->hashes.n; i++) {
		r = tuf_hash_update(c->h[i], data, len);
		if (r < 0)
			return c->result = r;
	}
	c->n += len;
	return 0;
}

int tuf_target_check_final(struct tuf_target_check *c)
{
	uint8_t digest[TUF_HASH_MAX_SIZE];
	int r;

	assert(c);
	if (c->result != 0)
		return c->result < 0 ? c->result : 0;
	if (c->n != c->t->length)
		return c->result =
			   sl_error(TUF_E_LENGTH, "%s: %" PRIu64 " bytes, expected %" PRIu64,
				    c->t->path, c->n, c->t->length);
	for (size_t i = 0; i < c->t->hashes.n; i++) {
		r = tuf_hash_final(c->h[i], digest);
		if (r < 0)
			return c->result = r;
		r = check_digest(&c->t->hashes.h[i], digest, c->t->path);
		if (r < 0)
			return c->result = r;
	}
	c->result = 1;
	return 0;
}

uint64_t tuf_target_check_bytes(const struct tuf_target_check *c)
{
	assert(c);
	return c->n;
}

struct tuf_target_check *tuf_target_check_free(struct tuf_target_check *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < TUF_MAX_HASHES; i++)
		tuf_hash_free(c->h[i]);
	free(c);
	return NULL;
}
