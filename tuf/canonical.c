/* SPDX-License-Identifier: Apache-2.0 */
/* Canonical JSON output (OLPC, as securesystemslib writes it): the bytes that get signed. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "macro.h"
#include "tuf/json.h"

struct outbuf {
	char *p;
	size_t len;
	size_t cap;
};

static int put(struct outbuf *b, const void *data, size_t n)
{
	if (n >= SIZE_MAX / 2 - b->len)
		return -ENOMEM;
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		char *p;

		while (ncap < b->len + n + 1)
			ncap *= 2;
		p = realloc(b->p, ncap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int put_char(struct outbuf *b, char c)
{
	return put(b, &c, 1);
}

/* A string with only '"' and '\\' escaped; every other byte is written as it is. */
static int put_string(struct outbuf *b, const char *s, size_t n)
{
	size_t i = 0;
	int r;

	r = put_char(b, '"');
	while (r >= 0 && i < n) {
		size_t run = i;

		while (run < n && s[run] != '"' && s[run] != '\\')
			run++;
		r = put(b, s + i, run - i);
		if (r >= 0 && run < n) {
			char esc[2] = { '\\', s[run] };

			r = put(b, esc, 2);
			run++;
		}
		i = run;
	}
	return r < 0 ? r : put_char(b, '"');
}

static int put_int(struct outbuf *b, struct json_object *o)
{
	char num[24];
	int64_t v = json_object_get_int64(o);
	int n;

	/* json-c saturates values stored as uint64 above INT64_MAX; ask for those unsigned. */
	if (v == INT64_MAX)
		n = snprintf(num, sizeof(num), "%" PRIu64, json_object_get_uint64(o));
	else
		n = snprintf(num, sizeof(num), "%" PRId64, v);
	assert(n > 0 && (size_t)n < sizeof(num));
	return put(b, num, (size_t)n);
}

static int put_value(struct outbuf *b, struct json_object *o);

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int put_object(struct outbuf *b, struct json_object *o)
{
	_cleanup_free_ const char **keys = NULL;
	size_t n = (size_t)json_object_object_length(o), i = 0;
	int r;

	if (n > 0) {
		keys = calloc(n, sizeof(*keys));
		if (!keys)
			return -ENOMEM;
	}
	json_object_object_foreach(o, k, v_unused)
	{
		(void)v_unused;
		assert(i < n);
		keys[i++] = k;
	}
	assert(i == n);
	/* strcmp on UTF-8 orders like code points, which is what Python's sorted() uses. */
	if (n > 1)
		qsort(keys, n, sizeof(*keys), compare_keys);
	r = put_char(b, '{');
	for (i = 0; r >= 0 && i < n; i++) {
		struct json_object *v = NULL;

		if (i > 0)
			r = put_char(b, ',');
		if (r >= 0)
			r = put_string(b, keys[i], strlen(keys[i]));
		if (r >= 0)
			r = put_char(b, ':');
		if (r >= 0) {
			json_object_object_get_ex(o, keys[i], &v);
			r = put_value(b, v);
		}
	}
	return r < 0 ? r : put_char(b, '}');
}

static int put_array(struct outbuf *b, struct json_object *o)
{
	size_t n = json_object_array_length(o);
	int r;

	r = put_char(b, '[');
	for (size_t i = 0; r >= 0 && i < n; i++) {
		if (i > 0)
			r = put_char(b, ',');
		if (r >= 0)
			r = put_value(b, json_object_array_get_idx(o, i));
	}
	return r < 0 ? r : put_char(b, ']');
}

static int put_value(struct outbuf *b, struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		return put(b, "null", 4);
	case json_type_boolean:
		return json_object_get_boolean(o) ? put(b, "true", 4) : put(b, "false", 5);
	case json_type_int:
		return put_int(b, o);
	case json_type_string:
		return put_string(b, json_object_get_string(o),
				  (size_t)json_object_get_string_len(o));
	case json_type_array:
		return put_array(b, o);
	case json_type_object:
		return put_object(b, o);
	case json_type_double:
		return sl_error(TUF_E_FORMAT,
				"canonical JSON: floating-point numbers are not allowed");
	}
	return sl_error(TUF_E_FORMAT, "canonical JSON: unknown value type");
}

int tuf_json_canonical(struct json_object *o, char **ret_buf, size_t *ret_len)
{
	struct outbuf b = {};
	int r;

	assert(ret_buf);
	assert(ret_len);
	r = put_value(&b, o);
	if (r < 0) {
		free(b.p);
		return r;
	}
	*ret_buf = b.p;
	*ret_len = b.len;
	return 0;
}
