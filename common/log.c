/* SPDX-License-Identifier: Apache-2.0 */
/* Logging to stderr with escaping of control characters. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

#define SL_LOG_LINE_MAX 2048

static enum sl_log_level max_level = SL_LOG_INFO;
static const char *log_ident;

void sl_log_set_level(enum sl_log_level level)
{
	max_level = level;
}

enum sl_log_level sl_log_get_level(void)
{
	return max_level;
}

void sl_log_set_ident(const char *ident)
{
	log_ident = ident;
}

/* Copy src to dst, replacing control bytes (and DEL) by \xNN; always NUL-terminates. */
static void escape_line(const char *src, char *dst, size_t dst_size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (const unsigned char *s = (const unsigned char *)src; *s && o + 5 < dst_size; s++) {
		if (*s < 0x20 || *s == 0x7f) {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[*s >> 4];
			dst[o++] = hex[*s & 15];
		} else {
			dst[o++] = (char)*s;
		}
	}
	dst[o] = '\0';
}

int sl_log_full(enum sl_log_level level, int error, const char *fmt, ...)
{
	char raw[SL_LOG_LINE_MAX], line[SL_LOG_LINE_MAX];
	va_list ap;

	if (level <= max_level) {
		va_start(ap, fmt);
		vsnprintf(raw, sizeof(raw), fmt, ap);
		va_end(ap);
		escape_line(raw, line, sizeof(line));
		if (log_ident)
			fprintf(stderr, "%s: %s\n", log_ident, line);
		else
			fprintf(stderr, "%s\n", line);
	}
	return error == 0 ? 0 : -abs(error);
}
