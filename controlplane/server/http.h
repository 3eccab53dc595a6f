/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/1.1 request parsing for the control plane: libhttp-parser with our caps, Range, paths. */
#pragma once

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CP_HTTP_REQUEST_LINE_MAX 8192 /* bytes of the request target (URL) -> 414 */
#define CP_HTTP_HEADERS_MAX 16384     /* bytes of all header names and values -> 431 */
#define CP_HTTP_HEADER_COUNT_MAX 64   /* header lines -> 431 */
#define CP_HTTP_RANGE_MAX 128         /* bytes of a Range value we look at (longer: ignored) */
#define CP_HTTP_PATH_MAX 4096         /* bytes of a decoded repository path */

/* What the parser made of the bytes fed so far. */
enum cp_http_state {
	CP_HTTP_IDLE,     /* nothing of a request yet */
	CP_HTTP_HEAD,     /* request line and headers in progress */
	CP_HTTP_BODY,     /* head complete, body in progress */
	CP_HTTP_COMPLETE, /* one whole request; the parser is paused until cp_http_parser_next() */
	CP_HTTP_ERROR,    /* refused: error_status says how (400, 405, 413, 414, 431) */
};

/* One parsed request; all pointers are owned by the parser and valid until the next request. */
struct cp_http_request {
	enum http_method method;
	char *url; /* NUL-terminated request target as sent */
	size_t url_len;
	char range[CP_HTTP_RANGE_MAX + 1]; /* Range header value when has_range */
	bool has_range;
	bool range_too_long;       /* a Range header longer than CP_HTTP_RANGE_MAX (ignored) */
	bool expect_continue;      /* "Expect: 100-continue" */
	bool keep_alive;           /* valid once the head is complete */
	uint8_t *body;             /* body bytes (NUL-terminated), NULL when empty */
	size_t body_len;
};

/* How large a body may be for this method and URL (0: none allowed); decides 413. */
typedef size_t (*cp_http_body_cap_fn)(enum http_method method, const char *url);

struct cp_http_parser {
	http_parser p;
	cp_http_body_cap_fn body_cap_fn;
	enum cp_http_state state;
	int error_status;
	size_t head_bytes; /* header names and values so far */
	size_t header_count;
	size_t body_cap;
	size_t body_alloc;
	struct cp_http_request req;
	/* the header being read: its name (only short names matter) and which one it is */
	char hname[32];
	size_t hname_len;
	bool hname_long;
	bool in_value;
	int hwhich;
	char expect[32];
	size_t expect_len;
};

/* Initialise a parser for a connection; body_cap_fn decides body caps per request. */
void cp_http_parser_init(struct cp_http_parser *hp, cp_http_body_cap_fn body_cap_fn);

/* Release what the parser holds (the current request). */
void cp_http_parser_done(struct cp_http_parser *hp);

/*
 * Feed len bytes; returns how many were consumed. Parsing stops after one complete request
 * (state CP_HTTP_COMPLETE; the rest is for the next request, pipelining) or at an error
 * (state CP_HTTP_ERROR with error_status).
 */
size_t cp_http_parser_feed(struct cp_http_parser *hp, const char *data, size_t len);

/* Forget the completed request and get ready for the next one on the same connection. */
void cp_http_parser_next(struct cp_http_parser *hp);

/* What a Range header asks of a resource of size bytes. */
enum cp_http_range {
	CP_RANGE_NONE,          /* no usable range: serve the whole resource (200) */
	CP_RANGE_PARTIAL,       /* serve [start, start+len) with 206 */
	CP_RANGE_UNSATISFIABLE, /* 416 */
};

/*
 * Interpret a Range value ("bytes=a-b", "bytes=a-", "bytes=-n") for a resource of size
 * bytes. Malformed values and lists of several ranges are ignored (CP_RANGE_NONE), as
 * RFC 9110 allows. ret_start/ret_len are set for CP_RANGE_PARTIAL.
 */
enum cp_http_range cp_http_range_parse(const char *value, uint64_t size, uint64_t *ret_start,
				       uint64_t *ret_len);

/*
 * Turn a request URL under prefix ("/tuf/metadata/") into a safe relative path: the query is
 * dropped, percent escapes decoded, and anything that could leave the directory is refused
 * with TUF_E_PATH: empty components ("//", trailing "/"), "." and "..", NUL or control
 * bytes, backslashes, a "/" when allow_subdirs is false. Bad escapes are SL_E_INVALID, a URL
 * not under prefix TUF_E_NOT_FOUND. ret (of ret_size bytes) receives the NUL-terminated path.
 */
int cp_http_path_decode(const char *url, const char *prefix, bool allow_subdirs, char *ret,
			size_t ret_size);

/* The reason phrase of a status code ("Not Found"); "Unknown" for others. */
const char *cp_http_reason(int status);
