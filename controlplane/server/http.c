/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/1.1 request parsing for the control plane: libhttp-parser with our caps, Range, paths. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "http.h"

enum { HDR_OTHER, HDR_RANGE, HDR_EXPECT };

static struct cp_http_parser *parser_of(http_parser *p)
{
	return (struct cp_http_parser *)((char *)p - offsetof(struct cp_http_parser, p));
}

static int fail(struct cp_http_parser *hp, int status)
{
	hp->state = CP_HTTP_ERROR;
	hp->error_status = status;
	return -1;
}

static int on_message_begin(http_parser *p)
{
	parser_of(p)->state = CP_HTTP_HEAD;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct cp_http_parser *hp = parser_of(p);
	struct cp_http_request *r = &hp->req;
	char *n;

	if (len > CP_HTTP_REQUEST_LINE_MAX - r->url_len)
		return fail(hp, 414);
	n = realloc(r->url, r->url_len + len + 1);
	if (!n)
		return fail(hp, 503);
	memcpy(n + r->url_len, at, len);
	r->url = n;
	r->url_len += len;
	r->url[r->url_len] = '\0';
	return 0;
}

static int count_head(struct cp_http_parser *hp, size_t len)
{
	hp->head_bytes += len;
	if (hp->head_bytes > CP_HTTP_HEADERS_MAX)
		return fail(hp, 431);
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct cp_http_parser *hp = parser_of(p);

	if (count_head(hp, len) < 0)
		return -1;
	if (hp->in_value || hp->header_count == 0) {
		/* a new header line starts */
		if (++hp->header_count > CP_HTTP_HEADER_COUNT_MAX)
			return fail(hp, 431);
		hp->in_value = false;
		hp->hname_len = 0;
		hp->hname_long = false;
	}
	if (len > sizeof(hp->hname) - 1 - hp->hname_len) {
		hp->hname_long = true;
		return 0;
	}
	memcpy(hp->hname + hp->hname_len, at, len);
	hp->hname_len += len;
	hp->hname[hp->hname_len] = '\0';
	return 0;
}

static void append_small(char *buf, size_t size, size_t *used, bool *overflow, const char *at,
			 size_t len)
{
	if (len > size - 1 - *used) {
		*overflow = true;
		return;
	}
	memcpy(buf + *used, at, len);
	*used += len;
	buf[*used] = '\0';
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct cp_http_parser *hp = parser_of(p);
	struct cp_http_request *r = &hp->req;
	bool overflow = false;

	if (count_head(hp, len) < 0)
		return -1;
	if (!hp->in_value) {
		hp->in_value = true;
		hp->hwhich = HDR_OTHER;
		if (!hp->hname_long && strcasecmp(hp->hname, "range") == 0) {
			/* a second Range header makes the request ambiguous: ignore both */
			hp->hwhich = HDR_RANGE;
			if (r->has_range)
				r->range_too_long = true;
			r->has_range = true;
			r->range[0] = '\0';
		} else if (!hp->hname_long && strcasecmp(hp->hname, "expect") == 0) {
			hp->hwhich = HDR_EXPECT;
			hp->expect_len = 0;
		}
	}
	if (hp->hwhich == HDR_RANGE) {
		size_t used = strlen(r->range);

		append_small(r->range, sizeof(r->range), &used, &overflow, at, len);
		if (overflow)
			r->range_too_long = true;
	} else if (hp->hwhich == HDR_EXPECT) {
		append_small(hp->expect, sizeof(hp->expect), &hp->expect_len, &overflow, at, len);
	}
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct cp_http_parser *hp = parser_of(p);
	struct cp_http_request *r = &hp->req;

	if (!r->url)
		return fail(hp, 400);
	if (p->method == HTTP_CONNECT)
		return fail(hp, 405);
	r->method = p->method;
	r->keep_alive = http_should_keep_alive(p);
	r->expect_continue = hp->expect_len > 0 && strcasecmp(hp->expect, "100-continue") == 0;
	hp->body_cap = hp->body_cap_fn ? hp->body_cap_fn(r->method, r->url) : 0;
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > hp->body_cap)
		return fail(hp, 413);
	hp->state = CP_HTTP_BODY;
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct cp_http_parser *hp = parser_of(p);
	struct cp_http_request *r = &hp->req;

	if (len > hp->body_cap - r->body_len)
		return fail(hp, 413);
	if (r->body_len + len + 1 > hp->body_alloc) {
		size_t want = r->body_len + len + 1;
		/* Content-Length tells how much to expect; chunked bodies grow geometrically */
		size_t n = (p->flags & F_CONTENTLENGTH) ? want + p->content_length : want * 2;
		uint8_t *b;

		if (n > hp->body_cap + 1)
			n = hp->body_cap + 1;
		b = realloc(r->body, n);
		if (!b)
			return fail(hp, 503);
		r->body = b;
		hp->body_alloc = n;
	}
	memcpy(r->body + r->body_len, at, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct cp_http_parser *hp = parser_of(p);

	hp->state = CP_HTTP_COMPLETE;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static void request_reset(struct cp_http_parser *hp)
{
	free(hp->req.url);
	free(hp->req.body);
	memset(&hp->req, 0, sizeof(hp->req));
	hp->state = CP_HTTP_IDLE;
	hp->error_status = 0;
	hp->head_bytes = 0;
	hp->header_count = 0;
	hp->body_cap = 0;
	hp->body_alloc = 0;
	hp->hname_len = 0;
	hp->hname_long = false;
	hp->in_value = false;
	hp->hwhich = HDR_OTHER;
	hp->expect_len = 0;
	hp->expect[0] = '\0';
}

void cp_http_parser_init(struct cp_http_parser *hp, cp_http_body_cap_fn body_cap_fn)
{
	memset(hp, 0, sizeof(*hp));
	hp->body_cap_fn = body_cap_fn;
	http_parser_init(&hp->p, HTTP_REQUEST);
	request_reset(hp);
}

void cp_http_parser_done(struct cp_http_parser *hp)
{
	request_reset(hp);
}

void cp_http_parser_next(struct cp_http_parser *hp)
{
	request_reset(hp);
	http_parser_init(&hp->p, HTTP_REQUEST);
}

size_t cp_http_parser_feed(struct cp_http_parser *hp, const char *data, size_t len)
{
	size_t n;
	enum http_errno e;

	if (hp->state == CP_HTTP_COMPLETE || hp->state == CP_HTTP_ERROR || len == 0)
		return 0;
	n = http_parser_execute(&hp->p, &settings, data, len);
	if (hp->state == CP_HTTP_COMPLETE || hp->state == CP_HTTP_ERROR)
		return n;
	e = HTTP_PARSER_ERRNO(&hp->p);
	if (e == HPE_HEADER_OVERFLOW)
		fail(hp, 431);
	else if (e != HPE_OK)
		fail(hp, 400);
	else if (hp->p.upgrade)
		fail(hp, 400); /* an upgrade ended parsing without a message we serve */
	return n;
}

static bool parse_u64(const char *s, const char *end, uint64_t *ret)
{
	uint64_t v = 0;

	if (s == end || end - s > 19)
		return false;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return true;
}

enum cp_http_range cp_http_range_parse(const char *value, uint64_t size, uint64_t *ret_start,
				       uint64_t *ret_len)
{
	const char *s, *dash, *end;
	uint64_t a, b;

	if (strncasecmp(value, "bytes=", 6) != 0)
		return CP_RANGE_NONE;
	s = value + 6;
	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (memchr(s, ',', (size_t)(end - s)))
		return CP_RANGE_NONE; /* several ranges: serve the whole resource */
	dash = memchr(s, '-', (size_t)(end - s));
	if (!dash)
		return CP_RANGE_NONE;
	if (dash == s) {
		/* suffix: the last n bytes */
		if (!parse_u64(dash + 1, end, &b))
			return CP_RANGE_NONE;
		if (b == 0 || size == 0)
			return CP_RANGE_UNSATISFIABLE;
		if (b > size)
			b = size;
		*ret_start = size - b;
		*ret_len = b;
		return CP_RANGE_PARTIAL;
	}
	if (!parse_u64(s, dash, &a))
		return CP_RANGE_NONE;
	if (dash + 1 == end) {
		b = UINT64_MAX;
	} else {
		if (!parse_u64(dash + 1, end, &b) || b < a)
			return CP_RANGE_NONE;
	}
	if (a >= size)
		return CP_RANGE_UNSATISFIABLE;
	if (b >= size)
		b = size - 1;
	*ret_start = a;
	*ret_len = b - a + 1;
	return CP_RANGE_PARTIAL;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Check one decoded component [s, e) of a repository path. */
static bool component_ok(const char *s, const char *e)
{
	if (s == e)
		return false;
	if (e - s == 1 && s[0] == '.')
		return false;
	if (e - s == 2 && s[0] == '.' && s[1] == '.')
		return false;
	return true;
}

int cp_http_path_decode(const char *url, const char *prefix, bool allow_subdirs, char *ret,
			size_t ret_size)
{
	size_t plen = strlen(prefix), n = 0;
	const char *s, *end, *comp;

	if (strncmp(url, prefix, plen) != 0)
		return sl_error(TUF_E_NOT_FOUND, "%s: not under %s", url, prefix);
	s = url + plen;
	end = s + strcspn(s, "?");
	if (memchr(s, '#', (size_t)(end - s)))
		return sl_error(SL_E_INVALID, "request target contains a fragment");
	for (; s < end; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '%') {
			int hi, lo;

			if (end - s < 3 || (hi = unhex(s[1])) < 0 || (lo = unhex(s[2])) < 0)
				return sl_error(SL_E_INVALID, "bad percent escape in request target");
			c = (unsigned char)(hi * 16 + lo);
			s += 2;
		}
		if (c < 0x20 || c == 0x7f || c == '\\')
			return sl_error(TUF_E_PATH, "control byte or backslash in path");
		if (c == '/' && !allow_subdirs)
			return sl_error(TUF_E_PATH, "'/' in a metadata file name");
		if (n + 1 >= ret_size)
			return sl_error(TUF_E_PATH, "path longer than %zu bytes", ret_size - 1);
		ret[n++] = (char)c;
	}
	ret[n] = '\0';
	/* every component (split after decoding, so %2F counts as '/') must be a plain name */
	comp = ret;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || ret[i] == '/') {
			if (!component_ok(comp, ret + i))
				return sl_error(TUF_E_PATH, "empty, '.' or '..' component in path");
			comp = ret + i + 1;
		}
	}
	return 0;
}

const char *cp_http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 206: return "Partial Content";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}
