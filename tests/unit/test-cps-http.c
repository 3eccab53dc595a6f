/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the control plane's HTTP request parsing, Range and path canonicalisation. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "http.h"
#include "test.h"

static size_t caps(enum http_method method, const char *url)
{
	if (method == HTTP_POST && strncmp(url, "/v1/checkin", 11) == 0)
		return CP_CHECKIN_BODY_MAX;
	return 0;
}

/* Feed all of s at once; returns bytes consumed. */
static size_t feed(struct cp_http_parser *hp, const char *s)
{
	return cp_http_parser_feed(hp, s, strlen(s));
}

TEST(simple_get)
{
	struct cp_http_parser hp;
	const char *req = "GET /tuf/metadata/timestamp.json HTTP/1.1\r\nHost: x\r\n\r\n";

	cp_http_parser_init(&hp, caps);
	ASSERT_EQ_INT(feed(&hp, req), strlen(req));
	ASSERT_EQ_INT(hp.state, CP_HTTP_COMPLETE);
	ASSERT_EQ_INT(hp.req.method, HTTP_GET);
	ASSERT_EQ_STR(hp.req.url, "/tuf/metadata/timestamp.json");
	ASSERT_TRUE(hp.req.keep_alive);
	ASSERT_TRUE(!hp.req.has_range);
	ASSERT_TRUE(hp.req.body == NULL);
	cp_http_parser_done(&hp);
}

TEST(byte_by_byte_and_keep_alive)
{
	struct cp_http_parser hp;
	const char *req = "GET /a HTTP/1.0\r\nRange: bytes=1-2\r\n\r\n";

	cp_http_parser_init(&hp, caps);
	for (size_t i = 0; req[i]; i++) {
		ASSERT_EQ_INT(hp.state == CP_HTTP_COMPLETE, 0);
		ASSERT_EQ_INT(cp_http_parser_feed(&hp, req + i, 1), 1);
	}
	ASSERT_EQ_INT(hp.state, CP_HTTP_COMPLETE);
	ASSERT_TRUE(!hp.req.keep_alive); /* HTTP/1.0 without keep-alive */
	ASSERT_TRUE(hp.req.has_range);
	ASSERT_EQ_STR(hp.req.range, "bytes=1-2");
	cp_http_parser_done(&hp);

	cp_http_parser_init(&hp, caps);
	feed(&hp, "GET /a HTTP/1.1\r\nConnection: close\r\n\r\n");
	ASSERT_EQ_INT(hp.state, CP_HTTP_COMPLETE);
	ASSERT_TRUE(!hp.req.keep_alive);
	cp_http_parser_done(&hp);
}

TEST(pipelined)
{
	struct cp_http_parser hp;
	const char *one = "GET /first HTTP/1.1\r\n\r\n";
	char both[128];
	size_t n;

	snprintf(both, sizeof(both), "%sGET /second HTTP/1.1\r\n\r\n", one);
	cp_http_parser_init(&hp, caps);
	n = feed(&hp, both);
	ASSERT_EQ_INT(n, strlen(one)); /* stops after the first request */
	ASSERT_EQ_INT(hp.state, CP_HTTP_COMPLETE);
	ASSERT_EQ_STR(hp.req.url, "/first");
	ASSERT_EQ_INT(feed(&hp, both + n), 0); /* paused until next() */
	cp_http_parser_next(&hp);
	ASSERT_EQ_INT(hp.state, CP_HTTP_IDLE);
	ASSERT_EQ_INT(feed(&hp, both + n), strlen(both) - n);
	ASSERT_EQ_INT(hp.state, CP_HTTP_COMPLETE);
	ASSERT_EQ_STR(hp.req.url, "/second");
	cp_http_parser_done(&hp);
}

static int parse_status(const char *data, size_t len)
{
	struct cp_http_parser hp;
	int st;

	cp_http_parser_init(&hp, caps);
	cp_http_parser_feed(&hp, data, len);
	st = hp.state == CP_HTTP_ERROR ? hp.error_status : hp.state == CP_HTTP_COMPLETE ? 200 : 0;
	cp_http_parser_done(&hp);
	return st;
}

TEST(request_line_cap)
{
	size_t n = CP_HTTP_REQUEST_LINE_MAX + 100;
	char *buf = malloc(n + 64);
	int len;

	ASSERT_TRUE(buf);

	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', CP_HTTP_REQUEST_LINE_MAX - 1); /* URL of exactly the cap */
	len = 5 + CP_HTTP_REQUEST_LINE_MAX - 1;
	len += sprintf(buf + len, " HTTP/1.1\r\n\r\n");
	ASSERT_EQ_INT(parse_status(buf, (size_t)len), 200);
	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', CP_HTTP_REQUEST_LINE_MAX); /* one byte more */
	len = 5 + CP_HTTP_REQUEST_LINE_MAX;
	len += sprintf(buf + len, " HTTP/1.1\r\n\r\n");
	ASSERT_EQ_INT(parse_status(buf, (size_t)len), 414);
	free(buf);
}

TEST(header_caps)
{
	char buf[40000];
	size_t len;

	/* 64 headers are fine, 65 are not */
	len = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n");
	for (int i = 0; i < CP_HTTP_HEADER_COUNT_MAX; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "X-H%d: v\r\n", i);
	ASSERT_EQ_INT(parse_status(buf, len + (size_t)snprintf(buf + len, sizeof(buf) - len, "\r\n")),
		      200);
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "X-One-More: v\r\n\r\n");
	ASSERT_EQ_INT(parse_status(buf, len), 431);

	/* names and values up to the total are fine, one byte more is not */
	len = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX-Big: ");
	memset(buf + len, 'b', CP_HTTP_HEADERS_MAX - 5);
	len += CP_HTTP_HEADERS_MAX - 5;
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "\r\n\r\n");
	ASSERT_EQ_INT(parse_status(buf, len), 200);
	len = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX-Big: ");
	memset(buf + len, 'b', CP_HTTP_HEADERS_MAX - 4);
	len += CP_HTTP_HEADERS_MAX - 4;
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "\r\n\r\n");
	ASSERT_EQ_INT(parse_status(buf, len), 431);
}

TEST(body_caps)
{
	static char buf[CP_CHECKIN_BODY_MAX + 256];
	struct cp_http_parser hp;
	int len;

	len = sprintf(buf, "POST /v1/checkin HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
		      CP_CHECKIN_BODY_MAX);
	memset(buf + len, '{', CP_CHECKIN_BODY_MAX);
	cp_http_parser_init(&hp, caps);
	ASSERT_EQ_INT(cp_http_parser_feed(&hp, buf, (size_t)len + CP_CHECKIN_BODY_MAX),
		      (size_t)len + CP_CHECKIN_BODY_MAX);
	ASSERT_EQ_INT(hp.state, CP_HTTP_COMPLETE);
	ASSERT_EQ_INT(hp.req.body_len, CP_CHECKIN_BODY_MAX);
	ASSERT_EQ_INT(hp.req.body[CP_CHECKIN_BODY_MAX], '\0');
	cp_http_parser_done(&hp);

	len = sprintf(buf, "POST /v1/checkin HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
		      CP_CHECKIN_BODY_MAX + 1);
	ASSERT_EQ_INT(parse_status(buf, (size_t)len), 413); /* refused before the body */

	/* chunked bodies are counted as they arrive */
	len = sprintf(buf, "POST /v1/checkin HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
			   "%x\r\n", CP_CHECKIN_BODY_MAX + 1);
	memset(buf + len, 'x', CP_CHECKIN_BODY_MAX + 1);
	ASSERT_EQ_INT(parse_status(buf, (size_t)len + CP_CHECKIN_BODY_MAX + 1), 413);

	/* other URLs and methods take no body */
	len = sprintf(buf, "GET /tuf/metadata/x HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
	ASSERT_EQ_INT(parse_status(buf, (size_t)len), 413);
	len = sprintf(buf, "POST /v1/other HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
	ASSERT_EQ_INT(parse_status(buf, (size_t)len), 413);
}

TEST(headers_of_interest)
{
	struct cp_http_parser hp;
	char big[512];

	cp_http_parser_init(&hp, caps);
	feed(&hp, "POST /v1/checkin HTTP/1.1\r\nexpect: 100-Continue\r\nContent-Length: 2\r\n\r\n");
	ASSERT_EQ_INT(hp.state, CP_HTTP_BODY);
	ASSERT_TRUE(hp.req.expect_continue);
	feed(&hp, "{}");
	ASSERT_EQ_INT(hp.state, CP_HTTP_COMPLETE);
	ASSERT_EQ_STR((const char *)hp.req.body, "{}");
	cp_http_parser_done(&hp);

	/* two Range headers: ambiguous, ignored */
	cp_http_parser_init(&hp, caps);
	feed(&hp, "GET /a HTTP/1.1\r\nRange: bytes=0-1\r\nRange: bytes=5-6\r\n\r\n");
	ASSERT_EQ_INT(hp.state, CP_HTTP_COMPLETE);
	ASSERT_TRUE(hp.req.has_range && hp.req.range_too_long);
	cp_http_parser_done(&hp);

	/* an overlong Range value is ignored, not truncated into a different range */
	snprintf(big, sizeof(big), "GET /a HTTP/1.1\r\nRange: bytes=0-1%0200d\r\n\r\n", 0);
	cp_http_parser_init(&hp, caps);
	feed(&hp, big);
	ASSERT_EQ_INT(hp.state, CP_HTTP_COMPLETE);
	ASSERT_TRUE(hp.req.range_too_long);
	cp_http_parser_done(&hp);
}

TEST(malformed)
{
	ASSERT_EQ_INT(parse_status("HELLO\r\n\r\n", 9), 400);
	ASSERT_EQ_INT(parse_status("GET / HTTP/1.1\r\nBad Header\r\n\r\n", 30), 400);
	ASSERT_EQ_INT(parse_status("GET /\0 HTTP/1.1\r\n\r\n", 19), 400);
	ASSERT_EQ_INT(parse_status("CONNECT a:1 HTTP/1.1\r\n\r\n", 24), 405);
	ASSERT_EQ_INT(parse_status("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
				   55), 400);
}

TEST(range)
{
	uint64_t s = 0, l = 0;

	ASSERT_EQ_INT(cp_http_range_parse("bytes=0-9", 100, &s, &l), CP_RANGE_PARTIAL);
	ASSERT_TRUE(s == 0 && l == 10);
	ASSERT_EQ_INT(cp_http_range_parse("bytes=90-", 100, &s, &l), CP_RANGE_PARTIAL);
	ASSERT_TRUE(s == 90 && l == 10);
	ASSERT_EQ_INT(cp_http_range_parse("bytes=-10", 100, &s, &l), CP_RANGE_PARTIAL);
	ASSERT_TRUE(s == 90 && l == 10);
	ASSERT_EQ_INT(cp_http_range_parse("bytes=-200", 100, &s, &l), CP_RANGE_PARTIAL);
	ASSERT_TRUE(s == 0 && l == 100);
	ASSERT_EQ_INT(cp_http_range_parse("bytes=50-1000", 100, &s, &l), CP_RANGE_PARTIAL);
	ASSERT_TRUE(s == 50 && l == 50);
	ASSERT_EQ_INT(cp_http_range_parse("BYTES= 99-99 ", 100, &s, &l), CP_RANGE_PARTIAL);
	ASSERT_TRUE(s == 99 && l == 1);
	ASSERT_EQ_INT(cp_http_range_parse("bytes=100-", 100, &s, &l), CP_RANGE_UNSATISFIABLE);
	ASSERT_EQ_INT(cp_http_range_parse("bytes=100-200", 100, &s, &l), CP_RANGE_UNSATISFIABLE);
	ASSERT_EQ_INT(cp_http_range_parse("bytes=-0", 100, &s, &l), CP_RANGE_UNSATISFIABLE);
	ASSERT_EQ_INT(cp_http_range_parse("bytes=0-", 0, &s, &l), CP_RANGE_UNSATISFIABLE);
	ASSERT_EQ_INT(cp_http_range_parse("bytes=5-2", 100, &s, &l), CP_RANGE_NONE);
	ASSERT_EQ_INT(cp_http_range_parse("bytes=0-1,5-6", 100, &s, &l), CP_RANGE_NONE);
	ASSERT_EQ_INT(cp_http_range_parse("items=0-1", 100, &s, &l), CP_RANGE_NONE);
	ASSERT_EQ_INT(cp_http_range_parse("bytes=a-b", 100, &s, &l), CP_RANGE_NONE);
	ASSERT_EQ_INT(cp_http_range_parse("bytes=-", 100, &s, &l), CP_RANGE_NONE);
	ASSERT_EQ_INT(cp_http_range_parse("bytes=99999999999999999999-", 100, &s, &l),
		      CP_RANGE_NONE);
	ASSERT_EQ_INT(cp_http_range_parse("bytes=+1-2", 100, &s, &l), CP_RANGE_NONE);
}

static int decode(const char *url, const char *prefix, bool subdirs, char *out)
{
	return cp_http_path_decode(url, prefix, subdirs, out, CP_HTTP_PATH_MAX);
}

TEST(paths)
{
	char p[CP_HTTP_PATH_MAX];
	const char *md = "/tuf/metadata/", *tg = "/tuf/targets/";

	ASSERT_OK(decode("/tuf/metadata/timestamp.json", md, false, p));
	ASSERT_EQ_STR(p, "timestamp.json");
	ASSERT_OK(decode("/tuf/metadata/1.root.json?x=1", md, false, p));
	ASSERT_EQ_STR(p, "1.root.json");
	ASSERT_OK(decode("/tuf/targets/images/ab.big%20file.bin", tg, true, p));
	ASSERT_EQ_STR(p, "images/ab.big file.bin");
	ASSERT_OK(decode("/tuf/targets/%41..b", tg, true, p));
	ASSERT_EQ_STR(p, "A..b");

	ASSERT_ERR(decode("/tuf/targets/../x", tg, true, p), TUF_E_PATH);
	ASSERT_ERR(decode("/tuf/targets/a/../../x", tg, true, p), TUF_E_PATH);
	ASSERT_ERR(decode("/tuf/targets/%2e%2e/x", tg, true, p), TUF_E_PATH);
	ASSERT_ERR(decode("/tuf/targets/a%2f..%2Fb", tg, true, p), TUF_E_PATH);
	ASSERT_ERR(decode("/tuf/targets/..", tg, true, p), TUF_E_PATH);
	ASSERT_ERR(decode("/tuf/targets/./a", tg, true, p), TUF_E_PATH);
	ASSERT_ERR(decode("/tuf/targets/a//b", tg, true, p), TUF_E_PATH);
	ASSERT_ERR(decode("/tuf/targets//etc/passwd", tg, true, p), TUF_E_PATH);
	ASSERT_ERR(decode("/tuf/targets/a/", tg, true, p), TUF_E_PATH);
	ASSERT_ERR(decode("/tuf/targets/", tg, true, p), TUF_E_PATH);
	ASSERT_ERR(decode("/tuf/targets/a%00b", tg, true, p), TUF_E_PATH);
	ASSERT_ERR(decode("/tuf/targets/a%0ab", tg, true, p), TUF_E_PATH);
	ASSERT_ERR(decode("/tuf/targets/a%5cb", tg, true, p), TUF_E_PATH);
	ASSERT_ERR(decode("/tuf/metadata/a/b.json", md, false, p), TUF_E_PATH);
	ASSERT_ERR(decode("/tuf/metadata/a%2Fb.json", md, false, p), TUF_E_PATH);
	ASSERT_ERR(decode("/tuf/metadata/..", md, false, p), TUF_E_PATH);
	ASSERT_ERR(decode("/tuf/targets/a%zzb", tg, true, p), SL_E_INVALID);
	ASSERT_ERR(decode("/tuf/targets/a%4", tg, true, p), SL_E_INVALID);
	ASSERT_ERR(decode("/tuf/targets/a#b", tg, true, p), SL_E_INVALID);
	ASSERT_ERR(decode("/tuf/other/a", tg, true, p), TUF_E_NOT_FOUND);
	ASSERT_ERR(cp_http_path_decode("/tuf/targets/abcdef", tg, true, p, 4), TUF_E_PATH);
}

TEST(reasons)
{
	ASSERT_EQ_STR(cp_http_reason(404), "Not Found");
	ASSERT_EQ_STR(cp_http_reason(431), "Request Header Fields Too Large");
	ASSERT_EQ_STR(cp_http_reason(299), "Unknown");
}

int main(void)
{
	RUN(simple_get);
	RUN(byte_by_byte_and_keep_alive);
	RUN(pipelined);
	RUN(request_line_cap);
	RUN(header_caps);
	RUN(body_caps);
	RUN(headers_of_interest);
	RUN(malformed);
	RUN(range);
	RUN(paths);
	RUN(reasons);
	return 0;
}
