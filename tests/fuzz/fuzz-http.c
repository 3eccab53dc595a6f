/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the control plane's request parsing (pipelined requests, Range, paths). */
#include <stdint.h>
#include <string.h>

#include "api.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t caps(enum http_method method, const char *url)
{
	if (method == HTTP_POST && strncmp(url, "/v1/checkin", 11) == 0)
		return CP_CHECKIN_BODY_MAX;
	if (method == HTTP_POST && strncmp(url, "/v1/events", 10) == 0)
		return CP_EVENTS_BODY_MAX;
	return 0;
}

static void inspect(const struct cp_http_request *r)
{
	char path[CP_HTTP_PATH_MAX];
	uint64_t start, len;

	(void)cp_http_path_decode(r->url, "/tuf/metadata/", false, path, sizeof(path));
	(void)cp_http_path_decode(r->url, "/tuf/targets/", true, path, sizeof(path));
	if (r->has_range && !r->range_too_long) {
		if (cp_http_range_parse(r->range, 1000, &start, &len) == CP_RANGE_PARTIAL &&
		    (len == 0 || start + len > 1000))
			__builtin_trap();
	}
	if (r->body && r->body[r->body_len] != '\0')
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_http_parser hp;
	/* the first byte picks how the rest is split into reads, as TLS records would */
	size_t step = size ? (size_t)data[0] % 64 + 1 : 1, off = size ? 1 : 0;

	cp_http_parser_init(&hp, caps);
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		size_t used = cp_http_parser_feed(&hp, (const char *)data + off, n);

		if (used > n)
			__builtin_trap();
		off += used;
		if (hp.state == CP_HTTP_ERROR)
			break;
		if (hp.state == CP_HTTP_COMPLETE) {
			inspect(&hp.req);
			cp_http_parser_next(&hp);
		} else if (used < n) {
			__builtin_trap(); /* the parser takes all it is given unless it stops */
		}
	}
	cp_http_parser_done(&hp);
	return 0;
}
