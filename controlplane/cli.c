/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the sluice-controlplane verbs: options, state opening, escaped output. */
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "log.h"

int cp_cli_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROGRAM " %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CP_EXIT_USAGE;
}

int cp_cli_fail(int r, const char *what)
{
	sl_log_error(r, "Failed to %s: %s (%s)", what, sl_error_message(r), sl_error_name(r));
	return CP_EXIT_FAILED;
}

struct cp_state *cp_cli_open(const char *dir)
{
	struct cp_state *s = NULL;
	int r = cp_state_open(dir, &s);

	if (r < 0) {
		cp_cli_fail(r, "open the state directory");
		return NULL;
	}
	return s;
}

const char *cp_cli_actor(void)
{
	static char buf[128];
	struct passwd *pw = getpwuid(getuid());

	if (pw && pw->pw_name)
		snprintf(buf, sizeof(buf), "operator:%s", pw->pw_name);
	else
		snprintf(buf, sizeof(buf), "operator:uid-%u", (unsigned)getuid());
	return buf;
}

void cp_cli_print_escaped(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p < 0x20 || *p == 0x7f || *p >= 0x80)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

void cp_cli_print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

void cp_cli_log_airgap(void)
{
	const char *v = getenv("SLUICE_AIRGAP");

	if (v && strcmp(v, "1") == 0)
		sl_log_info("air-gap mode: on (SLUICE_AIRGAP=1): no outbound connection is ever "
			    "opened; nothing to disable");
	else
		sl_log_info("air-gap mode: off: the control plane opens no outbound connection in "
			    "any mode");
}

int cp_cli_bad_option(const char *verb, char **argv)
{
	return cp_cli_usage_error(verb, "unknown option or missing argument '%s'",
				  argv[optind - 1]);
}
