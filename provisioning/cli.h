/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the sluice-provision verbs: usage errors, failures, passphrases, the PKI. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pki.h"

/* Exit codes (sluice-provision(1), EXIT STATUS). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1

/* A verb: its name ("device", "ca init"), one line of help, and its main. */
struct cli_verb {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

/* Set by main(): memory could not be locked (warned once before a passphrase is read). */
extern bool cli_mlock_failed;

/* The verbs (cmd-ca.c, cmd-device.c, cmd-admin.c); argv[0] is the verb name. */
int cmd_ca_init(int argc, char **argv);
int cmd_ca_enrollment(int argc, char **argv);
int cmd_server_cert(int argc, char **argv);
int cmd_device(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_crl(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_inspect(int argc, char **argv);

/* "sluice-provision <verb>: <message> (see ... --help)" on stderr; returns CLI_EXIT_FAIL. */
int cli_usage(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The usage error for getopt's '?': names argv[optind-1]. */
int cli_bad_option(const char *verb, char **argv);

/* "sluice-provision: Failed to <action> '<object>': <message> [<CODE>]"; CLI_EXIT_FAIL. */
int cli_fail(int r, const char *action, const char *object);

/* Parse a number option in [min, max]; a usage error naming opt otherwise (returns 1). */
int cli_parse_uint(const char *verb, const char *opt, const char *s, uint64_t min, uint64_t max,
		   uint64_t *ret);

/* --days N into ret (1..PROV_DAYS_MAX). */
int cli_parse_days(const char *verb, const char *opt, const char *s, uint32_t *ret);

/* --passphrase-fd N. */
int cli_parse_fd(const char *verb, const char *s, int *ret);

/*
 * Read a passphrase from fd when fd >= 0, else from the terminal with echo off (asked twice
 * with confirm). Secure memory: release with cer_passphrase_free().
 */
int cli_passphrase(int fd, const char *what, bool confirm, char **ret, size_t *ret_len);

/* Open the PKI in dir and unlock the CA ca with a passphrase from pass_fd or the terminal. */
int cli_pki_unlocked(const char *dir, enum prov_ca ca, int pass_fd, struct prov_pki **ret);

/* Long options every PKI verb accepts; their values are stored by cli_common_option(). */
struct cli_common {
	const char *dir;
	int pass_fd;
	bool force;
};

/* Option codes of the common options (above any short option character). */
enum {
	OPT_DIR = 0x100,
	OPT_PASS_FD,
	OPT_FORCE,
	OPT_HELP,
	OPT_VERB_FIRST, /* verbs number their own options from here */
};

/*
 * Handle a common option c with value arg: returns 1 when handled, 0 when c is not common,
 * -1 (after a usage message) for a bad value.
 */
int cli_common_option(const char *verb, int c, const char *arg, struct cli_common *co);

/* "dir/name" (malloc'd, NULL on allocation failure). */
char *cli_path_join(const char *dir, const char *name);

/* Seconds since the epoch as "YYYY-MM-DD". */
void cli_date(int64_t t, char buf[static 11]);
