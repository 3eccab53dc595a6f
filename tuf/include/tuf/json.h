/* SPDX-License-Identifier: Apache-2.0 */
/* Strict JSON input on json-c objects, canonical JSON output, and typed field getters. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/* Nesting depth allowed by default: TUF metadata needs fewer than 10 levels. */
#define TUF_JSON_MAX_DEPTH 32

/*
 * Parse exactly one JSON value from buf (len bytes, need not be NUL-terminated) with rules
 * stricter than RFC 8259, because the input is untrusted and is what gets signed:
 *  - invalid UTF-8 anywhere, lone surrogates in \u escapes, and "\u0000" are rejected;
 *  - numbers must be integers that fit int64_t (no fraction, no exponent, no leading zeros);
 *  - an object with the same key twice is rejected;
 *  - nesting deeper than max_depth (0 = TUF_JSON_MAX_DEPTH) is rejected;
 *  - only whitespace may follow the value.
 * Returns 0 and a new reference in *ret (caller puts it), or TUF_E_FORMAT with a message
 * naming the byte offset and the rule broken.
 */
int tuf_json_parse(const void *buf, size_t len, unsigned max_depth, struct json_object **ret);

/*
 * Serialise o as canonical JSON, the signing format of securesystemslib/python-tuf (OLPC
 * canonical JSON): object keys sorted by their UTF-8 bytes, no whitespace, strings with only
 * '"' and '\\' escaped and every other byte (UTF-8 included) written as is, integers in
 * decimal, true/false/null. Doubles are refused with TUF_E_FORMAT.
 * Returns 0 with *ret_buf (malloc'd, NUL-terminated, caller frees) and *ret_len.
 */
int tuf_json_canonical(struct json_object *o, char **ret_buf, size_t *ret_len);

/*
 * Typed getters for a member of an object. All return TUF_E_FORMAT with a message naming
 * key when the member is missing or has the wrong type. Returned pointers are borrowed from
 * obj and live as long as it does.
 */
int tuf_json_get_object(struct json_object *obj, const char *key, struct json_object **ret);
int tuf_json_get_array(struct json_object *obj, const char *key, struct json_object **ret);
int tuf_json_get_string(struct json_object *obj, const char *key, const char **ret);
int tuf_json_get_bool(struct json_object *obj, const char *key, bool *ret);
/* An integer member; also refuses values below min (versions use min 1, lengths min 0). */
int tuf_json_get_int(struct json_object *obj, const char *key, int64_t min, int64_t *ret);

/*
 * Parse an RFC 3339 UTC timestamp as TUF uses it, "YYYY-MM-DDTHH:MM:SSZ" (no fraction,
 * no offset other than Z), into seconds since the epoch. TUF_E_FORMAT otherwise.
 */
int tuf_json_parse_time(const char *s, int64_t *ret);

/* Format seconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes). */
void tuf_json_format_time(int64_t t, char buf[static 21]);
