/* SPDX-License-Identifier: Apache-2.0 */
/* Error names, texts and the per-thread last-error message. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

#define SL_ERROR_MESSAGE_MAX 512

static _Thread_local int last_code;
static _Thread_local char last_message[SL_ERROR_MESSAGE_MAX];

struct error_entry {
	int code;
	const char *name;
	const char *text;
};

static const struct error_entry error_table[] = {
#define SL_ERROR_ENTRY_(name, text) {name, #name, text},
	SL_ERROR_MAP(SL_ERROR_ENTRY_)
#undef SL_ERROR_ENTRY_
};

static const struct error_entry *error_lookup(int code)
{
	for (size_t i = 0; i < ELEMENTSOF(error_table); i++)
		if (error_table[i].code == code)
			return &error_table[i];
	return NULL;
}

const char *sl_strerror(int code)
{
	const struct error_entry *e = error_lookup(code);

	if (e)
		return e->text;
	if (code < 0 && code > -4096)
		return strerror(-code);
	return code >= 0 ? "success" : "unknown error";
}

const char *sl_error_name(int code)
{
	const struct error_entry *e = error_lookup(code);
	const char *n;

	if (e)
		return e->name;
	if (code >= 0)
		return "OK";
	n = code > -4096 ? strerrorname_np(-code) : NULL;
	return n ? n : "EUNKNOWN";
}

int sl_error(int code, const char *fmt, ...)
{
	va_list ap;

	last_code = code;
	va_start(ap, fmt);
	vsnprintf(last_message, sizeof(last_message), fmt, ap);
	va_end(ap);
	return code;
}

const char *sl_error_message(int code)
{
	if (code == last_code && last_message[0])
		return last_message;
	return sl_strerror(code);
}

void sl_error_clear(void)
{
	last_code = 0;
	last_message[0] = '\0';
}
