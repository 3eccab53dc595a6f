/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the strict JSON parser, the typed getters and the TUF time format. */
#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>

#include "error.h"
#include "test.h"
#include "tuf/json.h"

/* A TUF root.json shape; every proper prefix of it is an incomplete document. */
static const char sample_root[] =
	"{\"signatures\":[{\"keyid\":\"4e77\",\"sig\":\"ab12\"}],\n"
	" \"signed\": {\"_type\": \"root\", \"consistent_snapshot\": true,\n"
	"  \"expires\": \"2030-01-01T00:00:00Z\", \"spec_version\": \"1.0.31\", \"version\": 1,\n"
	"  \"keys\": {\"4e77\": {\"keytype\": \"ed25519\", \"scheme\": \"ed25519\",\n"
	"    \"keyval\": {\"public\": \"a1b2\"}}},\n"
	"  \"roles\": {\"root\": {\"keyids\": [\"4e77\"], \"threshold\": 1}},\n"
	"  \"x-null\": null, \"x-neg\": -42, \"x-false\": false,\n"
	"  \"x-esc\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}}";

/* Parse len bytes of s, expect TUF_E_FORMAT, and that *ret was left alone. */
static void expect_reject_len(const char *s, size_t len)
{
	struct json_object *o = (struct json_object *)&o; /* sentinel: must stay untouched */

	ASSERT_ERR(tuf_json_parse(s, len, 0, &o), TUF_E_FORMAT);
	ASSERT_TRUE(o == (struct json_object *)&o);
}

static void expect_reject(const char *s)
{
	expect_reject_len(s, strlen(s));
}

/* The rejection message must name the rule (and a byte offset). */
static void expect_reject_msg(const char *s, const char *needle)
{
	expect_reject(s);
	if (!strstr(sl_error_message(TUF_E_FORMAT), needle)) {
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", sl_error_message(TUF_E_FORMAT),
			needle);
		abort();
	}
}

/* Parse s (len bytes) and compare its canonical form with expected. */
static void expect_canonical_len(const char *s, size_t len, const char *expected, size_t elen)
{
	struct json_object *o = NULL;
	char *c = NULL;
	size_t clen = 0;

	ASSERT_OK(tuf_json_parse(s, len, 0, &o));
	ASSERT_OK(tuf_json_canonical(o, &c, &clen));
	ASSERT_EQ_INT(clen, elen);
	ASSERT_EQ_MEM(c, expected, elen);
	free(c);
	json_object_put(o);
}

static void expect_canonical(const char *s, const char *expected)
{
	expect_canonical_len(s, strlen(s), expected, strlen(expected));
}

/* depth copies of open, then inner, then depth copies of close. */
static char *nested(const char *open, const char *inner, const char *close, unsigned depth)
{
	size_t ol = strlen(open), il = strlen(inner), cl = strlen(close);
	char *s = malloc(depth * (ol + cl) + il + 1), *p = s;

	ASSERT_TRUE(s);
	for (unsigned i = 0; i < depth; i++, p += ol)
		memcpy(p, open, ol);
	memcpy(p, inner, il);
	p += il;
	for (unsigned i = 0; i < depth; i++, p += cl)
		memcpy(p, close, cl);
	*p = '\0';
	return s;
}

TEST(valid_documents)
{
	struct json_object *o = NULL, *signed_ = NULL;
	const char *s;
	int64_t v;
	bool b;

	ASSERT_OK(tuf_json_parse(sample_root, strlen(sample_root), 0, &o));
	ASSERT_OK(tuf_json_get_object(o, "signed", &signed_));
	ASSERT_OK(tuf_json_get_string(signed_, "_type", &s));
	ASSERT_EQ_STR(s, "root");
	ASSERT_OK(tuf_json_get_int(signed_, "version", 1, &v));
	ASSERT_EQ_INT(v, 1);
	ASSERT_OK(tuf_json_get_int(signed_, "x-neg", INT64_MIN, &v));
	ASSERT_EQ_INT(v, -42);
	ASSERT_OK(tuf_json_get_bool(signed_, "consistent_snapshot", &b));
	ASSERT_TRUE(b);
	ASSERT_OK(tuf_json_get_string(signed_, "x-esc", &s));
	ASSERT_EQ_STR(s, "\"\\/\b\f\n\r\t");
	json_object_put(o);

	/* Scalars at the top, whitespace everywhere RFC 8259 allows it. */
	expect_canonical(" \t\r\n{ \"b\" : [ 1 , 2 ] , \"a\" : { } } \n", "{\"a\":{},\"b\":[1,2]}");
	expect_canonical("0", "0");
	expect_canonical("-0", "0");
	expect_canonical("-7", "-7");
	expect_canonical("true", "true");
	expect_canonical("false ", "false");
	expect_canonical("null", "null");
	expect_canonical("\"\"", "\"\"");
	expect_canonical("[]", "[]");
	expect_canonical("[[],{},[null]]", "[[],{},[null]]");
	expect_canonical("9223372036854775807", "9223372036854775807");
	expect_canonical("-9223372036854775808", "-9223372036854775808");
	/* Raw DEL and raw multi-byte UTF-8 are fine inside strings. */
	expect_canonical("\"\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"",
			 "\"\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"");
}

TEST(unicode_escapes)
{
	expect_canonical("\"\\u0041\\u00e9\\u20AC\"", "\"A\xc3\xa9\xe2\x82\xac\"");
	expect_canonical("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"");
	expect_canonical("\"\\uDBFF\\uDFFF\"", "\"\xf4\x8f\xbf\xbf\"");
	expect_canonical("\"\\uffff\"", "\"\xef\xbf\xbf\"");
	/* Escaped control characters decode to raw bytes, which canonical JSON keeps raw. */
	expect_canonical_len("\"\\u0001\\u001f\"", 14, "\"\x01\x1f\"", 4);
	/* Escaped quote and backslash come back escaped, the solidus does not. */
	expect_canonical("\"\\u0022\\u005c\\/\"", "\"\\\"\\\\/\"");
	/* Keys are decoded too, and sort by their decoded bytes. */
	expect_canonical("{\"\\u00e9\":1,\"z\":2,\"\\ud83d\\ude00\":3,\"\\uffff\":4}",
			 "{\"z\":2,\"\xc3\xa9\":1,\"\xef\xbf\xbf\":4,\"\xf0\x9f\x98\x80\":3}");

	expect_reject_msg("\"\\ud800\"", "lone high surrogate");
	expect_reject_msg("\"\\udc00\"", "lone low surrogate");
	expect_reject_msg("\"\\ud800x\"", "lone high surrogate");
	expect_reject_msg("\"\\ud800\\n\"", "lone high surrogate");
	expect_reject_msg("\"\\ud800\\u0041\"", "not followed by a low surrogate");
	expect_reject_msg("\"\\ud800\\ud800\"", "not followed by a low surrogate");
	expect_reject("\"\\udc00\\ud800\"");
	expect_reject_msg("\"\\u0000\"", "\\u0000 is not allowed");
	expect_reject_msg("{\"a\\u0000b\":1}", "\\u0000 is not allowed");
	expect_reject_msg("\"\\u12G4\"", "invalid hex digit");
	expect_reject_msg("[\"\\u12\"]", "invalid hex digit");
	expect_reject_msg("\"\\u12", "truncated \\u escape");
	expect_reject_msg("\"\\x\"", "invalid escape");
	expect_reject_msg("\"\\'\"", "invalid escape");
	expect_reject("\"\\U0041\"");
	expect_reject("\"\\");
}

TEST(invalid_utf8)
{
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
		{ "\"\xc0\xaf\"", 4 },		   /* overlong '/' */
		{ "\"\xc1\xbf\"", 4 },		   /* overlong */
		{ "\"\xe0\x80\xaf\"", 5 },	   /* overlong 3-byte */
		{ "\"\xf0\x80\x80\xaf\"", 6 },	   /* overlong 4-byte */
		{ "\"\xed\xa0\x80\"", 5 },	   /* U+D800 encoded in UTF-8 */
		{ "\"\xed\xbf\xbf\"", 5 },	   /* U+DFFF encoded in UTF-8 */
		{ "\"\xf4\x90\x80\x80\"", 6 },	   /* U+110000 */
		{ "\"\xf5\x80\x80\x80\"", 6 },	   /* lead byte beyond U+10FFFF */
		{ "\"\xf8\x88\x80\x80\x80\"", 7 }, /* 5-byte form */
		{ "\"\xfe\"", 3 },
		{ "\"\xff\"", 3 },
		{ "\"\x80\"", 3 },		   /* lone continuation byte */
		{ "\"\xc3\"", 3 },		   /* truncated 2-byte */
		{ "\"\xe2\x82\"", 4 },		   /* truncated 3-byte */
		{ "\"\xf0\x9f\x98\"", 5 },	   /* truncated 4-byte */
		{ "\"\xc3", 2 },		   /* truncated at the end of input */
		{ "\"\xe2\x82x\"", 5 },		   /* continuation replaced by ASCII */
		{ "\xef\xbb\xbf{}", 5 },	   /* byte order mark */
		{ "{}\xff", 3 },		   /* outside strings, after the value */
		{ "{} \xc3\xa9", 5 },		   /* valid UTF-8 but not whitespace */
		{ "[1,\xc0\xaf]", 6 },		   /* outside strings, inside an array */
		{ "{\"k\xed\xa0\x80\":1}", 10 },   /* in a key */
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		expect_reject_len(bad[i].s, bad[i].len);
	expect_reject_msg("\"ab\xc0\xaf\"", "JSON at byte 3: invalid UTF-8");
}

TEST(strings_and_literals)
{
	expect_reject_msg("\"a\nb\"", "unescaped control character 0x0a");
	expect_reject_msg("\"a\tb\"", "unescaped control character 0x09");
	expect_reject_len("\"a\0b\"", 5);
	expect_reject_msg("\"\x1f\"", "unescaped control character");
	expect_reject_msg("{\"a\x01\":1}", "unescaped control character");
	expect_reject_msg("\"abc", "unterminated string");
	expect_reject("'a'");
	expect_reject("tru");
	expect_reject("True");
	expect_reject("nul");
	expect_reject("truex");
	expect_reject("nan");
	expect_reject("NaN");
	expect_reject("Infinity");
	expect_reject("-Infinity");
	expect_reject("undefined");
}

TEST(numbers)
{
	expect_reject_msg("1.0", "only integers");
	expect_reject_msg("1e3", "only integers");
	expect_reject_msg("1E3", "only integers");
	expect_reject_msg("-0.5", "only integers");
	expect_reject_msg("{\"version\":1.5}", "JSON at byte 11: only integers");
	expect_reject_msg("0.0", "only integers");
	expect_reject_msg("9223372036854775808", "does not fit in 64 bits");    /* 2^63 */
	expect_reject_msg("18446744073709551616", "does not fit in 64 bits");   /* 2^64 */
	expect_reject_msg("-9223372036854775809", "does not fit in 64 bits");   /* -2^63-1 */
	expect_reject_msg("99999999999999999999999", "does not fit in 64 bits");
	expect_reject_msg("[18446744073709551615]", "does not fit in 64 bits"); /* 2^64-1 */
	expect_reject_msg("01", "leading zero");
	expect_reject_msg("-01", "leading zero");
	expect_reject_msg("[00]", "leading zero");
	expect_reject("+1");
	expect_reject("-");
	expect_reject("- 1");
	expect_reject("1.");
	expect_reject(".5");
	expect_reject("0x10");
	expect_reject("1-");
	expect_reject("1 2");
}

TEST(duplicate_keys)
{
	expect_reject_msg("{\"version\":1,\"version\":2}",
			  "JSON at byte 13: duplicate key \"version\"");
	expect_reject_msg("{\"a\":1,\"b\":2,\"a\":1}", "duplicate key \"a\"");
	expect_reject_msg("{\"signed\":{\"keys\":{\"k\":1,\"k\":{}}}}", "duplicate key \"k\"");
	expect_reject_msg("[{\"x\":1},{\"y\":1,\"y\":1}]", "duplicate key \"y\"");
	/* Different escapes of the same key are the same key. */
	expect_reject_msg("{\"A\":1,\"\\u0041\":2}", "duplicate key \"A\"");
	expect_reject_msg("{\"\":1,\"\":2}", "duplicate key \"\"");
	/* Control bytes in a quoted key are masked, long keys are cut. */
	expect_reject_msg("{\"a\\nb\":1,\"a\\nb\":2}", "duplicate key \"a?b\"");
#define KEY70 "0123456789012345678901234567890123456789012345678901234567890123456789"
	expect_reject_msg("{\"" KEY70 "\":1,\"" KEY70 "\":1}",
			  "duplicate key \"0123456789012345678901234567890123456789"
			  "012345678901234567890123...\"");
#undef KEY70
	/* Same key in different objects is fine. */
	expect_canonical("{\"a\":{\"a\":1},\"b\":{\"a\":2}}", "{\"a\":{\"a\":1},\"b\":{\"a\":2}}");
}

TEST(structure)
{
	expect_reject_msg("", "JSON at byte 0: empty document");
	expect_reject_msg(" \n\t ", "empty document");
	expect_reject_msg("{} x", "JSON at byte 3: trailing data");
	expect_reject_msg("{}{}", "trailing data");
	expect_reject_msg("[1] ,", "trailing data");
	expect_reject_len("{}\0", 3);
	expect_reject_msg("[1,]", "unexpected character ']'");
	expect_reject_msg("{\"a\":1,}", "expected a string key");
	expect_reject_msg("{a:1}", "expected a string key");
	expect_reject_msg("{\"a\" 1}", "expected ':'");
	expect_reject_msg("[1 2]", "expected ',' or ']'");
	expect_reject_msg("{\"a\":1 \"b\":2}", "expected ',' or '}'");
	expect_reject_msg("[", "unexpected end of input");
	expect_reject_msg("[1", "unterminated array");
	expect_reject_msg("{", "unterminated object");
	expect_reject_msg("{\"a\":1", "unterminated object");
	expect_reject("{\"a\"");
	expect_reject("{\"a\":");
	expect_reject("]");
	expect_reject("}");
	expect_reject("/* comment */ {}");
	expect_reject("{} // comment");
	expect_reject_msg("\x0c{}", "unexpected byte 0x0c"); /* form feed is not JSON whitespace */
	expect_reject("\xc2\xa0{}");			     /* nor is U+00A0 */
}

TEST(depth)
{
	char *s;

	s = nested("[", "", "]", 32);
	expect_canonical(s, s);
	free(s);
	s = nested("[", "", "]", 33);
	expect_reject_msg(s, "JSON at byte 32: nesting deeper than 32 levels");
	free(s);
	s = nested("{\"a\":", "1", "}", 32);
	expect_canonical(s, s);
	free(s);
	s = nested("{\"a\":", "1", "}", 33);
	expect_reject_msg(s, "nesting deeper than 32");
	free(s);
	s = nested("[{\"a\":", "1", "}]", 17); /* 34 levels, mixed */
	expect_reject(s);
	free(s);
	/* Far deeper than the stack would take if the parser did not stop early. */
	s = nested("[", "", "]", 1000000);
	expect_reject(s);
	free(s);

	/* An explicit cap. */
	struct json_object *o = NULL;

	ASSERT_OK(tuf_json_parse("[1]", 3, 1, &o));
	json_object_put(o);
	ASSERT_OK(tuf_json_parse("7", 1, 1, &o));
	json_object_put(o);
	ASSERT_ERR(tuf_json_parse("[[]]", 4, 1, &o), TUF_E_FORMAT);
	ASSERT_ERR(tuf_json_parse("{\"a\":{}}", 8, 1, &o), TUF_E_FORMAT);
	ASSERT_OK(tuf_json_parse("[[[]]]", 6, 3, &o));
	json_object_put(o);
	ASSERT_ERR(tuf_json_parse("[[[[]]]]", 8, 3, &o), TUF_E_FORMAT);
}

TEST(every_prefix_fails)
{
	size_t n = strlen(sample_root);
	struct json_object *o = NULL;

	ASSERT_OK(tuf_json_parse(sample_root, n, 0, &o));
	json_object_put(o);
	for (size_t len = 0; len < n; len++) {
		/* A private copy so that ASAN catches any read past len. */
		char *copy = malloc(len ? len : 1);

		ASSERT_TRUE(copy);
		memcpy(copy, sample_root, len);
		expect_reject_len(copy, len);
		free(copy);
	}
}

TEST(too_large)
{
	struct json_object *o = NULL;

	/* The length is checked before any byte is read. */
	ASSERT_ERR(tuf_json_parse("{}", (size_t)INT_MAX + 1, 0, &o), TUF_E_FORMAT);
	ASSERT_TRUE(o == NULL);
	ASSERT_ERR(tuf_json_parse(NULL, 0, 0, &o), TUF_E_FORMAT);
}

TEST(getters)
{
	struct json_object *o = NULL, *sub = NULL;
	const char *s = NULL;
	int64_t v = 77;
	bool b = false;
	const char *doc = "{\"o\":{},\"a\":[],\"s\":\"x\",\"b\":false,\"i\":0,\"version\":0,"
			  "\"n\":null,"
			  "\"big\":9223372036854775807,\"neg\":-9223372036854775808}";

	ASSERT_OK(tuf_json_parse(doc, strlen(doc), 0, &o));
	ASSERT_OK(tuf_json_get_object(o, "o", &sub));
	ASSERT_TRUE(json_object_is_type(sub, json_type_object));
	ASSERT_OK(tuf_json_get_array(o, "a", &sub));
	ASSERT_TRUE(json_object_is_type(sub, json_type_array));
	ASSERT_OK(tuf_json_get_string(o, "s", &s));
	ASSERT_EQ_STR(s, "x");
	b = true;
	ASSERT_OK(tuf_json_get_bool(o, "b", &b));
	ASSERT_TRUE(!b);
	ASSERT_OK(tuf_json_get_int(o, "i", 0, &v));
	ASSERT_EQ_INT(v, 0);
	ASSERT_OK(tuf_json_get_int(o, "big", 1, &v));
	ASSERT_TRUE(v == INT64_MAX);
	ASSERT_OK(tuf_json_get_int(o, "neg", INT64_MIN, &v));
	ASSERT_TRUE(v == INT64_MIN);

	/* Wrong types, each with the key named. */
	v = 77;
	ASSERT_ERR(tuf_json_get_int(o, "version", 1, &v), TUF_E_FORMAT);
	ASSERT_EQ_STR(sl_error_message(TUF_E_FORMAT), "\"version\": expected an integer >= 1");
	ASSERT_EQ_INT(v, 77);
	ASSERT_ERR(tuf_json_get_int(o, "neg", -1, &v), TUF_E_FORMAT);
	ASSERT_ERR(tuf_json_get_int(o, "s", 0, &v), TUF_E_FORMAT);
	ASSERT_EQ_STR(sl_error_message(TUF_E_FORMAT), "\"s\": expected an integer");
	ASSERT_ERR(tuf_json_get_int(o, "b", 0, &v), TUF_E_FORMAT);
	ASSERT_ERR(tuf_json_get_int(o, "n", 0, &v), TUF_E_FORMAT);
	ASSERT_ERR(tuf_json_get_int(o, "missing", 0, &v), TUF_E_FORMAT);
	ASSERT_EQ_STR(sl_error_message(TUF_E_FORMAT), "\"missing\": missing");
	ASSERT_EQ_INT(v, 77);
	ASSERT_ERR(tuf_json_get_object(o, "a", &sub), TUF_E_FORMAT);
	ASSERT_EQ_STR(sl_error_message(TUF_E_FORMAT), "\"a\": expected an object");
	ASSERT_ERR(tuf_json_get_object(o, "n", &sub), TUF_E_FORMAT);
	ASSERT_ERR(tuf_json_get_array(o, "o", &sub), TUF_E_FORMAT);
	ASSERT_ERR(tuf_json_get_array(o, "missing", &sub), TUF_E_FORMAT);
	ASSERT_ERR(tuf_json_get_string(o, "i", &s), TUF_E_FORMAT);
	ASSERT_ERR(tuf_json_get_string(o, "n", &s), TUF_E_FORMAT);
	ASSERT_ERR(tuf_json_get_bool(o, "i", &b), TUF_E_FORMAT);
	ASSERT_ERR(tuf_json_get_bool(o, "s", &b), TUF_E_FORMAT);
	/* The parent itself must be an object. */
	ASSERT_OK(tuf_json_get_array(o, "a", &sub));
	ASSERT_ERR(tuf_json_get_string(sub, "x", &s), TUF_E_FORMAT);
	ASSERT_ERR(tuf_json_get_string(NULL, "x", &s), TUF_E_FORMAT);
	json_object_put(o);

	/* Values built in memory: a double is not an integer, a NUL is not in a C string. */
	o = json_object_new_object();
	json_object_object_add(o, "d", json_object_new_double(1.0));
	json_object_object_add(o, "z", json_object_new_string_len("a\0b", 3));
	json_object_object_add(o, "u", json_object_new_uint64(UINT64_MAX));
	ASSERT_ERR(tuf_json_get_int(o, "d", 0, &v), TUF_E_FORMAT);
	ASSERT_ERR(tuf_json_get_string(o, "z", &s), TUF_E_FORMAT);
	ASSERT_ERR(tuf_json_get_int(o, "u", 0, &v), TUF_E_FORMAT);
	json_object_put(o);
}

TEST(time_round_trip)
{
	static const struct {
		const char *s;
		int64_t t;
	} good[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "1969-12-31T23:59:59Z", -1 },
		{ "2000-02-29T12:34:56Z", 951827696 },
		{ "2024-02-29T00:00:00Z", 1709164800 },
		{ "2030-01-01T00:00:00Z", 1893456000 },
		{ "2038-01-19T03:14:08Z", INT64_C(2147483648) },
		{ "9999-12-31T23:59:59Z", INT64_C(253402300799) },
		{ "0000-01-01T00:00:00Z", INT64_C(-62167219200) },
	};
	char buf[21];
	int64_t t;

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		t = 12345;
		ASSERT_OK(tuf_json_parse_time(good[i].s, &t));
		ASSERT_EQ_INT(t, good[i].t);
		tuf_json_format_time(good[i].t, buf);
		ASSERT_EQ_STR(buf, good[i].s);
	}
	/* Outside four-digit years the output is clamped, never longer. */
	tuf_json_format_time(INT64_MAX, buf);
	ASSERT_EQ_STR(buf, "9999-12-31T23:59:59Z");
	tuf_json_format_time(INT64_MIN, buf);
	ASSERT_EQ_STR(buf, "0000-01-01T00:00:00Z");
	/* Every second of a day formats and parses back. */
	for (int64_t s = 1700000000; s < 1700000000 + 86400; s += 1) {
		tuf_json_format_time(s, buf);
		ASSERT_OK(tuf_json_parse_time(buf, &t));
		ASSERT_EQ_INT(t, s);
	}
}

TEST(time_rejects)
{
	static const char *const bad[] = {
		"2026-02-29T00:00:00Z", /* not a leap year */
		"1900-02-29T00:00:00Z", /* century, not a leap year */
		"2026-04-31T00:00:00Z",
		"2026-13-01T00:00:00Z",
		"2026-00-01T00:00:00Z",
		"2026-01-00T00:00:00Z",
		"2026-01-32T00:00:00Z",
		"2026-01-01T24:00:00Z",
		"2026-01-01T23:60:00Z",
		"2026-01-01T23:59:60Z", /* leap seconds are not TUF times */
		"2026-01-01T00:00:00",	/* missing Z */
		"2026-01-01T00:00:00z",
		"2026-01-01T00:00:00+00:00",
		"2026-01-01T00:00:00.5Z",
		"2026-01-01T00:00:00.000Z",
		"2026-01-01 00:00:00Z",
		"2026-01-01t00:00:00Z",
		"2026/01/01T00:00:00Z",
		"2026-1-01T00:00:00Z",
		"26-01-01T00:00:00Z",
		"+2026-01-01T00:00:0Z",
		"2026-01-01T00:00:0 Z",
		"2026-01-01T0a:00:00Z",
		"-026-01-01T00:00:00Z",
		"2026-01-01T00:00:00ZZ",
		"2026-01-01",
		"",
	};
	int64_t t = 99;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		ASSERT_ERR(tuf_json_parse_time(bad[i], &t), TUF_E_FORMAT);
		ASSERT_EQ_INT(t, 99);
	}
	ASSERT_OK(tuf_json_parse_time("2028-02-29T00:00:00Z", &t));
	ASSERT_OK(tuf_json_parse_time("2000-02-29T00:00:00Z", &t));
}

int main(void)
{
	RUN(valid_documents);
	RUN(unicode_escapes);
	RUN(invalid_utf8);
	RUN(strings_and_literals);
	RUN(numbers);
	RUN(duplicate_keys);
	RUN(structure);
	RUN(depth);
	RUN(every_prefix_fails);
	RUN(too_large);
	RUN(getters);
	RUN(time_round_trip);
	RUN(time_rejects);
	return 0;
}
