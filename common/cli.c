/* SPDX-License-Identifier: Apache-2.0 */
/* The command-line skeleton of the sluice tools: a verb table, dispatch, usage and error lines. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "error.h"

#define VERB_NAME_MAX 64

static const struct sl_cli_program *program;
static bool mlock_failed;

void sl_cli_set_program(const struct sl_cli_program *p)
{
	program = p;
}

static const char *program_name(void)
{
	return program ? program->name : "sluice";
}

void sl_cli_set_mlock_failed(bool failed)
{
	mlock_failed = failed;
}

void sl_cli_warn_unlocked(void)
{
	if (!mlock_failed)
		return;
	fprintf(stderr,
		"%s: warning: memory is not locked (RLIMIT_MEMLOCK); secrets stay in "
		"guarded sodium memory only\n",
		program_name());
	mlock_failed = false;
}

static void help(FILE *f)
{
	const char *name = program_name();

	fprintf(f, "Usage: %s VERB [OPTIONS]\n\n%s\n\nVerbs:\n", name, program->description);
	for (size_t i = 0; i < program->n_verbs; i++)
		fprintf(f, "  %-18s %s\n", program->verbs[i].name, program->verbs[i].summary);
	fprintf(f, "\nExit status: 0 success, 1 failure or usage error. See %s(1).\n", name);
}

/* The verb named by argv[1] or "argv[1] argv[2]"; *ret_used is how many words it took. */
static const struct sl_cli_verb *find_verb(int argc, char **argv, int *ret_used)
{
	for (size_t i = 0; i < program->n_verbs; i++) {
		const char *n = program->verbs[i].name, *sp = strchr(n, ' ');

		if (!sp && strcmp(n, argv[1]) == 0) {
			*ret_used = 1;
			return &program->verbs[i];
		}
		if (sp && argc > 2 && strncmp(n, argv[1], (size_t)(sp - n)) == 0 &&
		    argv[1][sp - n] == '\0' && strcmp(sp + 1, argv[2]) == 0) {
			*ret_used = 2;
			return &program->verbs[i];
		}
	}
	return NULL;
}

int sl_cli_dispatch(int argc, char **argv)
{
	const struct sl_cli_verb *verb;
	char name[VERB_NAME_MAX];
	int used = 0;

	if (argc < 2) {
		help(stderr);
		return SL_CLI_EXIT_FAIL;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		help(stdout);
		return SL_CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("%s " SLUICE_VERSION "\n", program_name());
		return SL_CLI_EXIT_OK;
	}
	verb = find_verb(argc, argv, &used);
	if (!verb) {
		fprintf(stderr, "%s: unknown verb '%s' (see '%s --help')\n", program_name(),
			argv[1], program_name());
		return SL_CLI_EXIT_FAIL;
	}
	if (program->before_verb)
		program->before_verb();
	/* The verb sees argv[0] = its own name, as getopt_long expects. */
	snprintf(name, sizeof(name), "%s", verb->name);
	argv[used] = name;
	return verb->run(argc - used, argv + used);
}

int sl_cli_usage(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s %s: ", program_name(), verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s %s --help')\n", program_name(), verb);
	return SL_CLI_EXIT_FAIL;
}

int sl_cli_bad_option(const char *verb, char **argv)
{
	if (optopt)
		return sl_cli_usage(verb, "bad or incomplete option '%s'", argv[optind - 1]);
	return sl_cli_usage(verb, "unknown option '%s'", argv[optind - 1]);
}

int sl_cli_fail(int r, const char *action, const char *object)
{
	fprintf(stderr, "%s: Failed to %s '%s': %s [%s]\n", program_name(), action, object,
		sl_error_message(r), sl_error_name(r));
	return SL_CLI_EXIT_FAIL;
}

int sl_cli_parse_uint(const char *verb, const char *opt, const char *s, uint64_t min, uint64_t max,
		      uint64_t *ret)
{
	unsigned long long v;
	char *end = NULL;

	errno = 0;
	if (!s || s[0] < '0' || s[0] > '9')
		return sl_cli_usage(verb, "%s: '%s' is not a number", opt, s ? s : "");
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return sl_cli_usage(verb, "%s: '%s' is not a number from %" PRIu64 " to %" PRIu64,
				    opt, s, min, max);
	*ret = v;
	return 0;
}

int sl_cli_parse_fd(const char *verb, const char *s, int *ret)
{
	uint64_t v;

	if (sl_cli_parse_uint(verb, "--passphrase-fd", s, 0, 65535, &v) != 0)
		return SL_CLI_EXIT_FAIL;
	*ret = (int)v;
	return 0;
}

char *sl_cli_path_join(const char *dir, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}
