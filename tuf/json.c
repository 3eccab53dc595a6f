/* SPDX-License-Identifier: Apache-2.0 */
/* Strict JSON parser onto json-c objects, typed member getters, and TUF timestamps. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "macro.h"
#include "tuf/json.h"

/* Longest excerpt of a key quoted in an error message. */
#define KEY_QUOTE_MAX 64

struct parser {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	unsigned max_depth;
	char *str; /* decoded bytes of the string being parsed (NUL-terminated) */
	size_t str_len;
	size_t str_cap;
};

static inline void json_object_putp(struct json_object **o)
{
	json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_object_putp)

static int fail(size_t at, const char *fmt, ...) _printf_(2, 3);
static int fail(size_t at, const char *fmt, ...)
{
	char rule[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rule, sizeof(rule), fmt, ap);
	va_end(ap);
	return sl_error(TUF_E_FORMAT, "JSON at byte %zu: %s", at, rule);
}

/* A key made safe for a one-line message: control bytes replaced, long keys cut. */
static void quote_key(const char *key, char out[static KEY_QUOTE_MAX + 4])
{
	size_t i;

	for (i = 0; key[i] && i < KEY_QUOTE_MAX; i++)
		out[i] = ((unsigned char)key[i] < 0x20 || key[i] == 0x7f) ? '?' : key[i];
	if (key[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

/*
 * Length of the valid UTF-8 sequence at s (RFC 3629: shortest form, no surrogates, at most
 * U+10FFFF), or 0 when the bytes there are not one.
 */
static size_t utf8_sequence_len(const uint8_t *s, size_t avail)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* UTF-16 surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (avail < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

static int check_utf8(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = utf8_sequence_len(buf + i, len - i);

		if (n == 0)
			return fail(i, "invalid UTF-8 (byte 0x%02x)", buf[i]);
		i += n;
	}
	return 0;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		uint8_t c = p->buf[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int peek(const struct parser *p)
{
	return p->pos < p->len ? p->buf[p->pos] : -1;
}

static int str_append(struct parser *p, const void *data, size_t n)
{
	if (p->str_len + n + 1 > p->str_cap) {
		size_t ncap = p->str_cap ? p->str_cap : 64;
		char *s;

		while (ncap < p->str_len + n + 1)
			ncap *= 2;
		s = realloc(p->str, ncap);
		if (!s)
			return -ENOMEM;
		p->str = s;
		p->str_cap = ncap;
	}
	memcpy(p->str + p->str_len, data, n);
	p->str_len += n;
	p->str[p->str_len] = '\0';
	return 0;
}

static int append_code_point(struct parser *p, uint32_t cp)
{
	uint8_t u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t)(0xc0 | (cp >> 6));
		u[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (uint8_t)(0xe0 | (cp >> 12));
		u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (uint8_t)(0xf0 | (cp >> 18));
		u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return str_append(p, u, n);
}

/* Four hex digits at p->pos; advances past them. */
static int parse_hex4(struct parser *p, uint32_t *ret)
{
	uint32_t v = 0;

	if (p->len - p->pos < 4)
		return fail(p->pos, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		uint8_t c = p->buf[p->pos + i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return fail(p->pos + i, "invalid hex digit in \\u escape");
	}
	p->pos += 4;
	*ret = v;
	return 0;
}

/* The \uXXXX escape whose 'u' is at p->pos, with a following low surrogate if needed. */
static int parse_unicode_escape(struct parser *p)
{
	size_t at = p->pos - 1;
	uint32_t cp, lo;
	int r;

	p->pos++;
	r = parse_hex4(p, &cp);
	if (r < 0)
		return r;
	if (cp == 0)
		return fail(at, "\\u0000 is not allowed");
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return fail(at, "lone low surrogate \\u%04x", (unsigned)cp);
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (p->len - p->pos < 2 || p->buf[p->pos] != '\\' || p->buf[p->pos + 1] != 'u')
			return fail(at, "lone high surrogate \\u%04x", (unsigned)cp);
		p->pos += 2;
		r = parse_hex4(p, &lo);
		if (r < 0)
			return r;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail(at, "high surrogate \\u%04x not followed by a low surrogate",
				    (unsigned)cp);
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	return append_code_point(p, cp);
}

static int parse_escape(struct parser *p)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	int c;

	/* p->pos is at the backslash. */
	p->pos++;
	c = peek(p);
	if (c < 0)
		return fail(p->pos, "unterminated string");
	if (c == 'u')
		return parse_unicode_escape(p);
	e = c ? strchr(from, c) : NULL;
	if (!e)
		return fail(p->pos - 1, "invalid escape '\\%c'", c >= 0x20 && c < 0x7f ? c : '?');
	p->pos++;
	return str_append(p, &to[e - from], 1);
}

/* The string starting with the quote at p->pos, decoded into p->str / p->str_len. */
static int parse_string(struct parser *p)
{
	int r;

	p->str_len = 0;
	r = str_append(p, "", 0);
	if (r < 0)
		return r;
	p->pos++;
	for (;;) {
		size_t run = p->pos;

		/* Copy a run of plain bytes (UTF-8 was validated up front). */
		while (run < p->len && p->buf[run] != '"' && p->buf[run] != '\\' &&
		       p->buf[run] >= 0x20)
			run++;
		r = str_append(p, p->buf + p->pos, run - p->pos);
		if (r < 0)
			return r;
		p->pos = run;
		if (p->pos >= p->len)
			return fail(p->pos, "unterminated string");
		if (p->buf[p->pos] == '"') {
			p->pos++;
			return 0;
		}
		if (p->buf[p->pos] < 0x20)
			return fail(p->pos, "unescaped control character 0x%02x in string",
				    p->buf[p->pos]);
		r = parse_escape(p);
		if (r < 0)
			return r;
	}
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(struct parser *p, struct json_object **ret)
{
	size_t start = p->pos;
	bool neg = false;
	uint64_t mag = 0, limit = INT64_MAX;
	int64_t v;

	if (peek(p) == '-') {
		neg = true;
		limit = (uint64_t)INT64_MAX + 1;
		p->pos++;
	}
	if (!is_digit(peek(p)))
		return fail(start, "invalid number");
	if (peek(p) == '0' && p->pos + 1 < p->len && is_digit(p->buf[p->pos + 1]))
		return fail(start, "number with a leading zero");
	while (is_digit(peek(p))) {
		unsigned d = (unsigned)(p->buf[p->pos] - '0');

		if (mag > (limit - d) / 10)
			return fail(start, "integer does not fit in 64 bits");
		mag = mag * 10 + d;
		p->pos++;
	}
	if (peek(p) == '.' || peek(p) == 'e' || peek(p) == 'E')
		return fail(start, "only integers are allowed (no fraction or exponent)");
	if (!neg)
		v = (int64_t)mag;
	else if (mag == limit)
		v = INT64_MIN;
	else
		v = -(int64_t)mag;
	*ret = json_object_new_int64(v);
	return *ret ? 0 : -ENOMEM;
}

static int parse_literal(struct parser *p, struct json_object **ret)
{
	static const struct {
		const char *word;
		int value; /* -1 for null */
	} literals[] = { { "true", 1 }, { "false", 0 }, { "null", -1 } };

	for (size_t i = 0; i < ELEMENTSOF(literals); i++) {
		size_t n = strlen(literals[i].word);

		if (p->len - p->pos < n || memcmp(p->buf + p->pos, literals[i].word, n) != 0)
			continue;
		p->pos += n;
		if (literals[i].value < 0) {
			*ret = NULL;
			return 0;
		}
		*ret = json_object_new_boolean(literals[i].value);
		return *ret ? 0 : -ENOMEM;
	}
	return fail(p->pos, "invalid literal");
}

static int parse_value(struct parser *p, unsigned depth, struct json_object **ret);

static int parse_array(struct parser *p, unsigned depth, struct json_object **ret)
{
	_cleanup_json_ struct json_object *arr = NULL;
	int r;

	p->pos++;
	arr = json_object_new_array();
	if (!arr)
		return -ENOMEM;
	skip_ws(p);
	if (peek(p) == ']') {
		p->pos++;
		*ret = TAKE_PTR(arr);
		return 0;
	}
	for (;;) {
		_cleanup_json_ struct json_object *v = NULL;

		r = parse_value(p, depth, &v);
		if (r < 0)
			return r;
		if (json_object_array_add(arr, v) < 0)
			return -ENOMEM;
		v = NULL;
		skip_ws(p);
		if (peek(p) == ']')
			break;
		if (peek(p) != ',')
			return fail(p->pos,
				    peek(p) < 0 ? "unterminated array" : "expected ',' or ']'");
		p->pos++;
	}
	p->pos++;
	*ret = TAKE_PTR(arr);
	return 0;
}

/* One "key": value member of obj, starting at p->pos (after whitespace). */
static int parse_member(struct parser *p, unsigned depth, struct json_object *obj)
{
	_cleanup_json_ struct json_object *v = NULL;
	_cleanup_free_ char *key = NULL;
	size_t at = p->pos;
	int r;

	if (peek(p) != '"')
		return fail(p->pos, peek(p) < 0 ? "unterminated object" : "expected a string key");
	r = parse_string(p);
	if (r < 0)
		return r;
	if (json_object_object_get_ex(obj, p->str, NULL)) {
		char q[KEY_QUOTE_MAX + 4];

		quote_key(p->str, q);
		return fail(at, "duplicate key \"%s\"", q);
	}
	key = strdup(p->str);
	if (!key)
		return -ENOMEM;
	skip_ws(p);
	if (peek(p) != ':')
		return fail(p->pos, "expected ':' after an object key");
	p->pos++;
	r = parse_value(p, depth, &v);
	if (r < 0)
		return r;
	if (json_object_object_add(obj, key, v) < 0)
		return -ENOMEM;
	v = NULL;
	return 0;
}

static int parse_object(struct parser *p, unsigned depth, struct json_object **ret)
{
	_cleanup_json_ struct json_object *obj = NULL;
	int r;

	p->pos++;
	obj = json_object_new_object();
	if (!obj)
		return -ENOMEM;
	skip_ws(p);
	if (peek(p) == '}') {
		p->pos++;
		*ret = TAKE_PTR(obj);
		return 0;
	}
	for (;;) {
		r = parse_member(p, depth, obj);
		if (r < 0)
			return r;
		skip_ws(p);
		if (peek(p) == '}')
			break;
		if (peek(p) != ',')
			return fail(p->pos,
				    peek(p) < 0 ? "unterminated object" : "expected ',' or '}'");
		p->pos++;
		skip_ws(p);
	}
	p->pos++;
	*ret = TAKE_PTR(obj);
	return 0;
}

/* A value at depth containers deep; a container here would be at depth + 1. */
static int parse_value(struct parser *p, unsigned depth, struct json_object **ret)
{
	int c;

	skip_ws(p);
	c = peek(p);
	switch (c) {
	case -1:
		return fail(p->pos, "unexpected end of input");
	case '{':
	case '[':
		if (depth >= p->max_depth)
			return fail(p->pos, "nesting deeper than %u levels", p->max_depth);
		return c == '{' ? parse_object(p, depth + 1, ret) : parse_array(p, depth + 1, ret);
	case '"': {
		int r = parse_string(p);

		if (r < 0)
			return r;
		*ret = json_object_new_string_len(p->str, (int)p->str_len);
		return *ret ? 0 : -ENOMEM;
	}
	case '-':
	case '0' ... '9':
		return parse_number(p, ret);
	case 't':
	case 'f':
	case 'n':
		return parse_literal(p, ret);
	default:
		if (c >= 0x20 && c < 0x7f)
			return fail(p->pos, "unexpected character '%c'", c);
		return fail(p->pos, "unexpected byte 0x%02x", (unsigned)c);
	}
}

int tuf_json_parse(const void *buf, size_t len, unsigned max_depth, struct json_object **ret)
{
	_cleanup_json_ struct json_object *v = NULL;
	struct parser p = {
		.buf = buf,
		.len = len,
		.max_depth = max_depth ? max_depth : TUF_JSON_MAX_DEPTH,
	};
	int r;

	assert(buf || len == 0);
	assert(ret);
	if (len > INT_MAX)
		return fail(0, "document of %zu bytes is too large", len);
	r = check_utf8(p.buf, len);
	if (r < 0)
		return r;
	skip_ws(&p);
	if (p.pos == len)
		return fail(p.pos, "empty document");
	r = parse_value(&p, 0, &v);
	free(p.str);
	if (r < 0)
		return r;
	skip_ws(&p);
	if (p.pos != len)
		return fail(p.pos, "trailing data after the JSON value");
	*ret = TAKE_PTR(v);
	return 0;
}

/* The member key of obj, which must be an object holding it with type t. */
static int get_typed(struct json_object *obj, const char *key, enum json_type t, const char *what,
		     struct json_object **ret)
{
	struct json_object *v;

	assert(key);
	if (!json_object_is_type(obj, json_type_object))
		return sl_error(TUF_E_FORMAT, "\"%s\": parent is not an object", key);
	if (!json_object_object_get_ex(obj, key, &v))
		return sl_error(TUF_E_FORMAT, "\"%s\": missing", key);
	if (!json_object_is_type(v, t))
		return sl_error(TUF_E_FORMAT, "\"%s\": expected %s", key, what);
	*ret = v;
	return 0;
}

int tuf_json_get_object(struct json_object *obj, const char *key, struct json_object **ret)
{
	return get_typed(obj, key, json_type_object, "an object", ret);
}

int tuf_json_get_array(struct json_object *obj, const char *key, struct json_object **ret)
{
	return get_typed(obj, key, json_type_array, "an array", ret);
}

int tuf_json_get_string(struct json_object *obj, const char *key, const char **ret)
{
	struct json_object *v;
	const char *s;
	int r;

	r = get_typed(obj, key, json_type_string, "a string", &v);
	if (r < 0)
		return r;
	s = json_object_get_string(v);
	/* Only objects built in memory can hold a NUL; the parser refuses \u0000. */
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return sl_error(TUF_E_FORMAT, "\"%s\": string contains a NUL byte", key);
	*ret = s;
	return 0;
}

int tuf_json_get_bool(struct json_object *obj, const char *key, bool *ret)
{
	struct json_object *v;
	int r;

	r = get_typed(obj, key, json_type_boolean, "a boolean", &v);
	if (r < 0)
		return r;
	*ret = json_object_get_boolean(v);
	return 0;
}

int tuf_json_get_int(struct json_object *obj, const char *key, int64_t min, int64_t *ret)
{
	struct json_object *v;
	int64_t i;
	int r;

	r = get_typed(obj, key, json_type_int, "an integer", &v);
	if (r < 0)
		return r;
	i = json_object_get_int64(v);
	/* json-c saturates unsigned values above INT64_MAX (never produced by our parser). */
	if (i == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
		return sl_error(TUF_E_FORMAT, "\"%s\": integer does not fit in 64 bits", key);
	if (i < min)
		return sl_error(TUF_E_FORMAT, "\"%s\": expected an integer >= %" PRId64, key, min);
	*ret = i;
	return 0;
}

/* n decimal digits at s, or -1 when any of them is not a digit. */
static int parse_digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int days_in_month(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

int tuf_json_parse_time(const char *s, int64_t *ret)
{
	int year, mon, day, hour, min, sec;
	struct tm tm = {};
	time_t t;

	assert(s);
	if (strnlen(s, 21) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[19] != 'Z')
		return sl_error(TUF_E_FORMAT, "time \"%.32s\": expected YYYY-MM-DDTHH:MM:SSZ", s);
	year = parse_digits(s, 4);
	mon = parse_digits(s + 5, 2);
	day = parse_digits(s + 8, 2);
	hour = parse_digits(s + 11, 2);
	min = parse_digits(s + 14, 2);
	sec = parse_digits(s + 17, 2);
	if (year < 0 || mon < 0 || day < 0 || hour < 0 || min < 0 || sec < 0)
		return sl_error(TUF_E_FORMAT, "time \"%s\": expected YYYY-MM-DDTHH:MM:SSZ", s);
	if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) || hour > 23 ||
	    min > 59 || sec > 59)
		return sl_error(TUF_E_FORMAT, "time \"%s\": no such date or time", s);
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*ret = (int64_t)t;
	return 0;
}

/* The range "YYYY" can show: 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z. */
#define TIME_MIN INT64_C(-62167219200)
#define TIME_MAX INT64_C(253402300799)

/* The low n decimal digits of v, zero-padded. */
static void write_digits(char *out, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

void tuf_json_format_time(int64_t t, char buf[static 21])
{
	struct tm tm, *ok;
	time_t tt;

	/* Times outside four-digit years are clamped rather than written in another format. */
	if (t < TIME_MIN)
		t = TIME_MIN;
	if (t > TIME_MAX)
		t = TIME_MAX;
	tt = (time_t)t;
	/* Cannot fail with a 64-bit time_t in the clamped range. */
	ok = gmtime_r(&tt, &tm);
	assert(ok);
	(void)ok;
	write_digits(buf, (unsigned)(tm.tm_year + 1900), 4);
	buf[4] = '-';
	write_digits(buf + 5, (unsigned)(tm.tm_mon + 1), 2);
	buf[7] = '-';
	write_digits(buf + 8, (unsigned)tm.tm_mday, 2);
	buf[10] = 'T';
	write_digits(buf + 11, (unsigned)tm.tm_hour, 2);
	buf[13] = ':';
	write_digits(buf + 14, (unsigned)tm.tm_min, 2);
	buf[16] = ':';
	write_digits(buf + 17, (unsigned)tm.tm_sec, 2);
	buf[19] = 'Z';
	buf[20] = '\0';
}
