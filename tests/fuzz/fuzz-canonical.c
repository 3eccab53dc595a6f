/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: canonical JSON of json-c trees built from the input bytes as a small program. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tuf/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Deep enough to be interesting, well below TUF_JSON_MAX_DEPTH so the output parses back. */
#define BUILD_MAX_DEPTH 12
#define BUILD_MAX_NODES 4096

/*
 * Program: one opcode byte per value, low 3 bits: 0 null, 1 boolean, 2 int64 (8 bytes),
 * 3 small int (1 byte), 4 string (length byte, raw bytes), 5 array (count byte, values),
 * 6 object (count byte, then key (length byte, raw bytes) and value pairs), 7 double.
 */
struct program {
	const uint8_t *p;
	size_t left;
	unsigned nodes;
};

/* What the finished tree holds (values dropped while building do not count). */
struct tree_facts {
	bool clean;	 /* every string and key is valid UTF-8 without control bytes */
	bool has_double; /* canonical output must be refused */
};

static void die(const char *what)
{
	fprintf(stderr, "fuzz-canonical: %s\n", what);
	abort();
}

static uint8_t next_byte(struct program *pr)
{
	if (pr->left == 0)
		return 0;
	pr->left--;
	return *pr->p++;
}

/* A strict UTF-8 check, written apart from the parser's so that one does not vouch for itself. */
static bool utf8_clean(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t k;

		if (s[i] < 0x20)
			return false;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			k = 1;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			k = 2;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			k = 3;
			cp = s[i] & 0x07;
		} else {
			return false;
		}
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

/* Raw bytes of a string from the program; NULs become 'x' for keys (json-c keys are C strings). */
static size_t take_bytes(struct program *pr, char *buf, size_t max, bool key)
{
	size_t n = next_byte(pr) % max;

	if (n > pr->left)
		n = pr->left;
	memcpy(buf, pr->p, n);
	pr->p += n;
	pr->left -= n;
	for (size_t i = 0; key && i < n; i++)
		if (buf[i] == '\0')
			buf[i] = 'x';
	buf[n] = '\0';
	return n;
}

static struct json_object *build(struct program *pr, unsigned depth)
{
	struct json_object *o;
	char buf[64];
	uint8_t op = next_byte(pr);
	unsigned n;

	if (++pr->nodes > BUILD_MAX_NODES)
		return NULL;
	switch (op & 7) {
	case 0:
		return NULL;
	case 1:
		return json_object_new_boolean(next_byte(pr) & 1);
	case 2: {
		uint64_t v = 0;

		for (int i = 0; i < 8; i++)
			v = (v << 8) | next_byte(pr);
		return json_object_new_int64((int64_t)v);
	}
	case 3:
		return json_object_new_int64((int8_t)next_byte(pr));
	case 4: {
		size_t len = take_bytes(pr, buf, 48, false);

		return json_object_new_string_len(buf, (int)len);
	}
	case 5:
		n = next_byte(pr) % 8;
		o = json_object_new_array();
		for (unsigned i = 0; i < n && depth < BUILD_MAX_DEPTH; i++)
			json_object_array_add(o, build(pr, depth + 1));
		return o;
	case 6:
		n = next_byte(pr) % 8;
		o = json_object_new_object();
		for (unsigned i = 0; i < n && depth < BUILD_MAX_DEPTH; i++) {
			struct json_object *v;

			take_bytes(pr, buf, 16, true);
			v = build(pr, depth + 1);

			/* A repeated key keeps its first value (strict documents have none). */
			if (json_object_object_get_ex(o, buf, NULL))
				json_object_put(v);
			else
				json_object_object_add(o, buf, v);
		}
		return o;
	default:
		return json_object_new_double((double)next_byte(pr) / 4);
	}
}

static void survey(struct json_object *o, struct tree_facts *f)
{
	switch (json_object_get_type(o)) {
	case json_type_double:
		f->has_double = true;
		break;
	case json_type_string:
		if (!utf8_clean((const uint8_t *)json_object_get_string(o),
				(size_t)json_object_get_string_len(o)))
			f->clean = false;
		break;
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			survey(json_object_array_get_idx(o, i), f);
		break;
	case json_type_object: {
		json_object_object_foreach(o, k, v)
		{
			if (!utf8_clean((const uint8_t *)k, strlen(k)))
				f->clean = false;
			survey(v, f);
		}
		break;
	}
	default:
		break;
	}
}

/* A deep copy whose objects get their keys inserted in reverse iteration order. */
static struct json_object *copy_reversed(struct json_object *o)
{
	struct json_object *c;

	switch (json_object_get_type(o)) {
	case json_type_array:
		c = json_object_new_array();
		for (size_t i = 0; i < json_object_array_length(o); i++)
			json_object_array_add(c, copy_reversed(json_object_array_get_idx(o, i)));
		return c;
	case json_type_object: {
		size_t n = (size_t)json_object_object_length(o), i = 0;
		const char **keys = calloc(n + 1, sizeof(*keys));

		if (!keys)
			die("out of memory");
		json_object_object_foreach(o, k, v_unused)
		{
			(void)v_unused;
			keys[i++] = k;
		}
		c = json_object_new_object();
		while (i-- > 0) {
			struct json_object *v = NULL;

			json_object_object_get_ex(o, keys[i], &v);
			json_object_object_add(c, keys[i], copy_reversed(v));
		}
		free(keys);
		return c;
	}
	default:
		/* Scalars are immutable here; share them. */
		return json_object_get(o);
	}
}

/* Outside strings canonical JSON holds only punctuation, digits, '-' and literal letters. */
static void check_no_whitespace(const char *c, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		if (in_string) {
			if (c[i] == '\\') {
				if (i + 1 >= len || (c[i + 1] != '"' && c[i + 1] != '\\'))
					die("backslash that escapes neither quote nor backslash");
				i++;
			} else if (c[i] == '"') {
				in_string = false;
			}
		} else if (c[i] == '"') {
			in_string = true;
		} else if (!strchr("{}[],:-0123456789truefalsn", c[i]) || c[i] == '\0') {
			die("unexpected byte outside strings");
		}
	}
	if (in_string)
		die("unterminated string in canonical output");
}

/* json-c objects iterate in insertion order: after parsing canonical output, keys ascend. */
static void check_sorted(struct json_object *o)
{
	const char *prev = NULL;

	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			check_sorted(json_object_array_get_idx(o, i));
		return;
	}
	if (!json_object_is_type(o, json_type_object))
		return;
	json_object_object_foreach(o, k, v)
	{
		if (prev && strcmp(prev, k) >= 0)
			die("object keys not in ascending byte order");
		prev = k;
		check_sorted(v);
	}
}

static void check_reparse(struct json_object *tree, const char *c, size_t len)
{
	struct json_object *o = NULL;
	char *c2 = NULL;
	size_t len2 = 0;

	if (tuf_json_parse(c, len, 0, &o) < 0)
		die("clean canonical output does not parse");
	if (!json_object_equal(tree, o))
		die("canonical output parses to a different tree");
	check_sorted(o);
	if (tuf_json_canonical(o, &c2, &len2) < 0 || len2 != len || memcmp(c, c2, len) != 0)
		die("canonical form is not idempotent");
	free(c2);
	json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct program pr = { .p = data, .left = size };
	struct tree_facts facts = { .clean = true };
	struct json_object *tree, *rev;
	char *c = NULL, *c2 = NULL;
	size_t len = 0, len2 = 0;
	int r;

	tree = build(&pr, 0);
	survey(tree, &facts);
	rev = copy_reversed(tree);
	r = tuf_json_canonical(tree, &c, &len);
	if (facts.has_double) {
		if (r != TUF_E_FORMAT)
			die("a tree holding a double was not refused");
		if (tuf_json_canonical(rev, &c2, &len2) != TUF_E_FORMAT)
			die("the reversed tree holding a double was not refused");
		goto out;
	}
	if (r < 0)
		die("canonical form failed");
	if (c[len] != '\0')
		die("canonical output not NUL-terminated");
	if (tuf_json_canonical(rev, &c2, &len2) < 0 || len2 != len || memcmp(c, c2, len) != 0)
		die("canonical form depends on key insertion order");
	check_no_whitespace(c, len);
	if (facts.clean)
		check_reparse(tree, c, len);
out:
	free(c);
	free(c2);
	json_object_put(tree);
	json_object_put(rev);
	return 0;
}
