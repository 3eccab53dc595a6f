/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the sluice-provision verbs: passphrases, the PKI, common options, dates. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "pki.h"

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

/* --days N into ret (1..PROV_DAYS_MAX). */
int cli_parse_days(const char *verb, const char *opt, const char *s, uint32_t *ret);

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

/* Seconds since the epoch as "YYYY-MM-DD". */
void cli_date(int64_t t, char buf[static 11]);
