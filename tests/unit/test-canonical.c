/* SPDX-License-Identifier: Apache-2.0 */
/* Known-answer tests of canonical JSON output (the bytes securesystemslib signs). */
#include <json-c/json.h>

#include "error.h"
#include "test.h"
#include "tuf/json.h"

/* Canonical bytes of o must be exactly expected (elen bytes) and NUL-terminated. */
static void expect_bytes(struct json_object *o, const char *expected, size_t elen)
{
	char *c = NULL;
	size_t clen = 0;

	ASSERT_OK(tuf_json_canonical(o, &c, &clen));
	if (clen != elen || memcmp(c, expected, elen) != 0) {
		fprintf(stderr, "got      %.*s\nexpected %.*s\n", (int)clen, c, (int)elen,
			expected);
		abort();
	}
	ASSERT_TRUE(c[clen] == '\0');
	free(c);
}

static void expect_str(struct json_object *o, const char *expected)
{
	expect_bytes(o, expected, strlen(expected));
}

/* Parse JSON text and check its canonical form. */
static void expect_doc(const char *doc, const char *expected)
{
	struct json_object *o = NULL;

	ASSERT_OK(tuf_json_parse(doc, strlen(doc), 0, &o));
	expect_str(o, expected);
	json_object_put(o);
}

TEST(scalars)
{
	struct json_object *o;

	expect_str(NULL, "null");
	o = json_object_new_boolean(1);
	expect_str(o, "true");
	json_object_put(o);
	o = json_object_new_boolean(0);
	expect_str(o, "false");
	json_object_put(o);
	o = json_object_new_int64(0);
	expect_str(o, "0");
	json_object_put(o);
	o = json_object_new_int64(-1);
	expect_str(o, "-1");
	json_object_put(o);
	o = json_object_new_int64(INT64_MIN);
	expect_str(o, "-9223372036854775808");
	json_object_put(o);
	o = json_object_new_int64(INT64_MAX);
	expect_str(o, "9223372036854775807");
	json_object_put(o);
	o = json_object_new_uint64(UINT64_MAX);
	expect_str(o, "18446744073709551615");
	json_object_put(o);
	o = json_object_new_int(-2147483647 - 1);
	expect_str(o, "-2147483648");
	json_object_put(o);
	o = json_object_new_string("");
	expect_str(o, "\"\"");
	json_object_put(o);
}

TEST(string_escaping)
{
	struct json_object *o;

	/* Only quote and backslash are escaped. */
	o = json_object_new_string("a\"b\\c/d");
	expect_str(o, "\"a\\\"b\\\\c/d\"");
	json_object_put(o);
	o = json_object_new_string("\"\"\\\\");
	expect_str(o, "\"\\\"\\\"\\\\\\\\\"");
	json_object_put(o);
	/* Control bytes, newlines and DEL are written raw. */
	o = json_object_new_string("line1\nline2\r\t\b\f\x01\x1f\x7f");
	expect_str(o, "\"line1\nline2\r\t\b\f\x01\x1f\x7f\"");
	json_object_put(o);
	/* UTF-8 is written raw, never as \u escapes. */
	o = json_object_new_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	expect_str(o, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	json_object_put(o);
	/* A string built in memory keeps all of its bytes, even a NUL. */
	o = json_object_new_string_len("a\0b", 3);
	expect_bytes(o, "\"a\0b\"", 5);
	json_object_put(o);
	/* Escapes in the input are decoded, then written the canonical way. */
	expect_doc("\"\\u0022\\\\\\n\\u00e9\\ud83d\\ude00\"",
		   "\"\\\"\\\\\n\xc3\xa9\xf0\x9f\x98\x80\"");
}

TEST(key_order)
{
	/* Sorted by UTF-8 bytes, which is code point order: upper case before lower case,
	 * a prefix before its extensions, the BMP before astral code points. */
	expect_doc("{\"b\":1,\"a\":2,\"B\":3,\"aa\":4,\"\":5,\"_type\":6,\"\xc3\xa9\":7,"
		   "\"\xf0\x9f\x98\x80\":8,\"\xef\xbf\xbf\":9,\"z\":10,\"0\":11}",
		   "{\"\":5,\"0\":11,\"B\":3,\"_type\":6,\"a\":2,\"aa\":4,\"b\":1,\"z\":10,"
		   "\"\xc3\xa9\":7,\"\xef\xbf\xbf\":9,\"\xf0\x9f\x98\x80\":8}");
	/* Keys are escaped like values; the escape does not change the order. */
	expect_doc("{\"a\\\\\":1,\"a\\\"\":2,\"a\":3}", "{\"a\":3,\"a\\\"\":2,\"a\\\\\":1}");
	/* Insertion order does not matter. */
	struct json_object *x = json_object_new_object(), *y = json_object_new_object();
	const char *keys[] = { "delta", "alpha", "charlie", "bravo", "echo" };

	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		json_object_object_add(x, keys[i], json_object_new_int64((int64_t)i));
		json_object_object_add(y, keys[ELEMENTSOF(keys) - 1 - i],
				       json_object_new_int64((int64_t)(ELEMENTSOF(keys) - 1 - i)));
	}
	expect_str(x, "{\"alpha\":1,\"bravo\":3,\"charlie\":2,\"delta\":0,\"echo\":4}");
	expect_str(y, "{\"alpha\":1,\"bravo\":3,\"charlie\":2,\"delta\":0,\"echo\":4}");
	json_object_put(x);
	json_object_put(y);
}

TEST(containers)
{
	expect_doc("{}", "{}");
	expect_doc("[]", "[]");
	expect_doc("[ {}, [ ], [ [ ] ], { \"a\" : [ ] } ]", "[{},[],[[]],{\"a\":[]}]");
	expect_doc("[3, 1, 2, -5, true, false, null, \"s\"]", "[3,1,2,-5,true,false,null,\"s\"]");
	expect_doc("{\"z\": {\"y\": {\"x\": [ {\"b\": 1, \"a\": -2} ]}, \"a\": null}, \"m\": []}",
		   "{\"m\":[],\"z\":{\"a\":null,\"y\":{\"x\":[{\"a\":-2,\"b\":1}]}}}");
	/* A TUF root document; the expected bytes come from securesystemslib.encode_canonical. */
	expect_doc("{\n"
		   "  \"signed\": {\n"
		   "    \"_type\": \"root\",\n"
		   "    \"spec_version\": \"1.0.31\",\n"
		   "    \"version\": 1,\n"
		   "    \"expires\": \"2030-01-01T00:00:00Z\",\n"
		   "    \"consistent_snapshot\": true,\n"
		   "    \"keys\": {\n"
		   "      \"b7e6\": {\"keytype\": \"ed25519\", \"scheme\": \"ed25519\",\n"
		   "               \"keyval\": {\"public\": \"9f86d081\"}}\n"
		   "    },\n"
		   "    \"roles\": {\n"
		   "      \"timestamp\": {\"keyids\": [\"b7e6\"], \"threshold\": 1},\n"
		   "      \"root\": {\"keyids\": [\"b7e6\"], \"threshold\": 1}\n"
		   "    }\n"
		   "  },\n"
		   "  \"signatures\": [{\"keyid\": \"b7e6\", \"sig\": \"00ff\"}]\n"
		   "}\n",
		   "{\"signatures\":[{\"keyid\":\"b7e6\",\"sig\":\"00ff\"}],\"signed\":{\"_type\":"
		   "\"root\",\"consistent_snapshot\":true,\"expires\":\"2030-01-01T00:00:00Z\","
		   "\"keys\":{\"b7e6\":{\"keytype\":\"ed25519\",\"keyval\":{\"public\":"
		   "\"9f86d081\"},\"scheme\":\"ed25519\"}},\"roles\":{\"root\":{\"keyids\":"
		   "[\"b7e6\"],\"threshold\":1},\"timestamp\":{\"keyids\":[\"b7e6\"],"
		   "\"threshold\":1}},\"spec_version\":\"1.0.31\",\"version\":1}}");
}

TEST(doubles_refused)
{
	struct json_object *o, *arr;
	char *c = (char *)"untouched";
	size_t len = 99;

	o = json_object_new_double(1.0);
	ASSERT_ERR(tuf_json_canonical(o, &c, &len), TUF_E_FORMAT);
	json_object_put(o);

	/* Deep inside a document, after output has started. */
	o = json_object_new_object();
	arr = json_object_new_array();
	json_object_array_add(arr, json_object_new_int64(1));
	json_object_array_add(arr, json_object_new_double(0.5));
	json_object_object_add(o, "a", json_object_new_string("x"));
	json_object_object_add(o, "b", arr);
	ASSERT_ERR(tuf_json_canonical(o, &c, &len), TUF_E_FORMAT);
	ASSERT_EQ_STR(sl_error_message(TUF_E_FORMAT),
		      "canonical JSON: floating-point numbers are not allowed");
	ASSERT_EQ_STR(c, "untouched");
	ASSERT_EQ_INT(len, 99);
	json_object_put(o);
}

TEST(large_output)
{
	/* Output well past the initial buffer, to exercise growth. */
	struct json_object *arr = json_object_new_array();
	char *c = NULL;
	size_t len = 0;

	for (int i = 0; i < 20000; i++)
		json_object_array_add(arr, json_object_new_string("0123456789\"\\"));
	ASSERT_OK(tuf_json_canonical(arr, &c, &len));
	/* "[" + 20000 * ("\"0123456789\\\"\\\\\"" (16 bytes) + ",") - 1 + "]" */
	ASSERT_EQ_INT(len, 2 + 20000 * 17 - 1);
	ASSERT_EQ_INT(strlen(c), len);
	ASSERT_EQ_MEM(c, "[\"0123456789\\\"\\\\\",\"", 19);
	free(c);
	json_object_put(arr);
}

TEST(idempotent)
{
	/* canonical(parse(canonical(x))) == canonical(x) */
	const char *doc = "{\"k\": [1, {\"\xc3\xa9\": \"\\\"q\\\"\", \"a\": [[], {}]}], \"A\": -0}";
	struct json_object *o = NULL, *o2 = NULL;
	char *c1 = NULL, *c2 = NULL;
	size_t l1, l2;

	ASSERT_OK(tuf_json_parse(doc, strlen(doc), 0, &o));
	ASSERT_OK(tuf_json_canonical(o, &c1, &l1));
	ASSERT_OK(tuf_json_parse(c1, l1, 0, &o2));
	ASSERT_OK(tuf_json_canonical(o2, &c2, &l2));
	ASSERT_EQ_INT(l1, l2);
	ASSERT_EQ_MEM(c1, c2, l1);
	ASSERT_EQ_STR(c1, "{\"A\":0,\"k\":[1,{\"a\":[[],{}],\"\xc3\xa9\":\"\\\"q\\\"\"}]}");
	free(c1);
	free(c2);
	json_object_put(o);
	json_object_put(o2);
}

int main(void)
{
	RUN(scalars);
	RUN(string_escaping);
	RUN(key_order);
	RUN(containers);
	RUN(doubles_refused);
	RUN(large_output);
	RUN(idempotent);
	return 0;
}
