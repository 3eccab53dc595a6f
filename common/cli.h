/* SPDX-License-Identifier: Apache-2.0 */
/* The command-line skeleton of the sluice tools: a verb table, dispatch, usage and error lines. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes shared by the tools (their man pages, EXIT STATUS). */
#define SL_CLI_EXIT_OK 0
#define SL_CLI_EXIT_FAIL 1

/* A verb: its name ("keygen", "root init": one or two words), one line of help, its main. */
struct sl_cli_verb {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

/* A program: all strings and the table are borrowed and must outlive the program. */
struct sl_cli_program {
	const char *name;	 /* "sluice-ceremony": prefixes every message */
	const char *description; /* the help text between the usage line and the verbs */
	const struct sl_cli_verb *verbs;
	size_t n_verbs;
	void (*before_verb)(void); /* optional: runs once the verb is known, before it */
};

/* Set the program the messages below name; call first in main(). */
void sl_cli_set_program(const struct sl_cli_program *p);

/*
 * Memory could not be locked (set by main() after hardening): the next
 * sl_cli_warn_unlocked() prints a warning, once.
 */
void sl_cli_set_mlock_failed(bool failed);

/* Warn once, before a secret is read, when memory is not locked. */
void sl_cli_warn_unlocked(void);

/*
 * Run the verb named by argv[1] or "argv[1] argv[2]" with argv[0] = its name (as getopt_long
 * expects); "--help", "-h" and "help" print the help to stdout, "--version" the version, no
 * verb prints the help to stderr, an unknown verb one line. Returns the exit code.
 */
int sl_cli_dispatch(int argc, char **argv);

/* Print "<program> <verb>: <message> (see '<program> <verb> --help')" to stderr. */
int sl_cli_usage(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The usage error for getopt's '?' (unknown option or missing value): names argv[optind-1]. */
int sl_cli_bad_option(const char *verb, char **argv);

/*
 * Print "<program>: Failed to <action> '<object>': <message> [<CODE>]" (the message recorded
 * for r) to stderr; returns SL_CLI_EXIT_FAIL.
 */
int sl_cli_fail(int r, const char *action, const char *object);

/* Parse a decimal integer option value in [min, max]; a usage error naming opt otherwise. */
int sl_cli_parse_uint(const char *verb, const char *opt, const char *s, uint64_t min, uint64_t max,
		      uint64_t *ret);

/* Parse a --passphrase-fd value (0..65535). */
int sl_cli_parse_fd(const char *verb, const char *s, int *ret);

/* "dir/name" (malloc'd, NULL on allocation failure). */
char *sl_cli_path_join(const char *dir, const char *name);
