/* SPDX-License-Identifier: Apache-2.0 */
/* Verbs `ca init` and `ca enrollment-ca`: the station's CAs. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "verb.h"
#include "error.h"
#include "macro.h"
#include "passphrase.h"

enum { OPT_NAME = OPT_VERB_FIRST, OPT_DAYS, OPT_KDF, OPT_OUT };

static void help_init(void)
{
	printf(
	    "Usage: sluice-provision ca init [--dir PKI] [--name NAME] [--days N]\n"
	    "                               [--kdf sensitive|interactive] [--passphrase-fd N]\n\n"
	    "Create the device CA (pathlen 1; signs device certificates and the CRL) and the\n"
	    "server CA (signs the control plane's TLS certificate; its certificate is ca.pem on\n"
	    "every medium) in PKI (default ./" PROV_PKI_DEFAULT_DIR ", created 0700). Both keys\n"
	    "are ECDSA P-256, sealed with one passphrase (Argon2id + XChaCha20-Poly1305), asked\n"
	    "twice on the terminal or read from --passphrase-fd. Existing CAs are never "
	    "replaced.\n\n"
	    "  --name NAME        CA common names '<NAME> device CA', '<NAME> server CA' (sluice)\n"
	    "  --days N           CA validity in days (%d)\n"
	    "  --kdf PRESET       sensitive (default) or interactive (tests, drills)\n",
	    PROV_DAYS_CA);
}

int cmd_ca_init(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, OPT_DIR},
	    {"passphrase-fd", required_argument, NULL, OPT_PASS_FD},
	    {"name", required_argument, NULL, OPT_NAME},
	    {"days", required_argument, NULL, OPT_DAYS},
	    {"kdf", required_argument, NULL, OPT_KDF},
	    {"help", no_argument, NULL, OPT_HELP},
	    {},
	};
	struct cli_common co = {.dir = PROV_PKI_DEFAULT_DIR, .pass_fd = -1};
	const char *name = "sluice";
	uint64_t ops = 0, mem = 0;
	uint32_t days = PROV_DAYS_CA;
	char *pass = NULL;
	size_t len = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		r = cli_common_option(argv[0], c, optarg, &co);
		if (r < 0)
			return SL_CLI_EXIT_FAIL;
		if (r == 1)
			continue;
		switch (c) {
		case OPT_NAME:
			name = optarg;
			break;
		case OPT_DAYS:
			if (cli_parse_days(argv[0], "--days", optarg, &days))
				return SL_CLI_EXIT_FAIL;
			break;
		case OPT_KDF:
			if (strcmp(optarg, "sensitive") == 0) {
				ops = crypto_pwhash_OPSLIMIT_SENSITIVE;
				mem = crypto_pwhash_MEMLIMIT_SENSITIVE;
			} else if (strcmp(optarg, "interactive") == 0) {
				ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
				mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
			} else {
				return sl_cli_usage(
				    argv[0], "--kdf: '%s' is not sensitive or interactive", optarg);
			}
			break;
		case OPT_HELP:
			help_init();
			return SL_CLI_EXIT_OK;
		default:
			return sl_cli_bad_option(argv[0], argv);
		}
	}
	if (optind < argc)
		return sl_cli_usage(argv[0], "unexpected argument '%s'", argv[optind]);
	if (!name[0] || strlen(name) > 48)
		return sl_cli_usage(argv[0], "--name: must be 1 to 48 bytes");
	r = cli_passphrase(co.pass_fd, "the new CA keys", true, &pass, &len);
	if (r >= 0)
		r = prov_pki_init(co.dir, name, pass, len, ops, mem, days);
	cer_passphrase_free(pass);
	if (r < 0)
		return sl_cli_fail(r, "create the CAs in", co.dir);
	printf("Created the device CA and the server CA in %s\n", co.dir);
	return SL_CLI_EXIT_OK;
}

static void help_enrollment(void)
{
	printf(
	    "Usage: sluice-provision ca enrollment-ca --out DIR [--dir PKI] [--days N] [--force]\n"
	    "                                        [--passphrase-fd N]\n\n"
	    "Create an intermediate CA signed by the device CA (pathlen 0) that the control\n"
	    "plane holds online to sign certificates for token enrollment, so that the device\n"
	    "CA's key stays offline. Writes DIR/enrollment-ca.crt, DIR/enrollment-ca.key (not\n"
	    "sealed, 0600: carry it to the control plane and delete it here) and\n"
	    "DIR/device-ca.pem (the chain the control plane verifies clients with).\n\n"
	    "  --days N           validity in days (%d)\n"
	    "  --force            replace an existing enrollment CA and output files\n",
	    PROV_DAYS_ENROLLMENT_CA);
}

int cmd_ca_enrollment(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, OPT_DIR},
	    {"passphrase-fd", required_argument, NULL, OPT_PASS_FD},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"days", required_argument, NULL, OPT_DAYS},
	    {"out", required_argument, NULL, OPT_OUT},
	    {"help", no_argument, NULL, OPT_HELP},
	    {},
	};
	struct cli_common co = {.dir = PROV_PKI_DEFAULT_DIR, .pass_fd = -1};
	struct prov_pki *p = NULL;
	const char *out = NULL;
	uint32_t days = PROV_DAYS_ENROLLMENT_CA;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		r = cli_common_option(argv[0], c, optarg, &co);
		if (r < 0)
			return SL_CLI_EXIT_FAIL;
		if (r == 1)
			continue;
		switch (c) {
		case OPT_DAYS:
			if (cli_parse_days(argv[0], "--days", optarg, &days))
				return SL_CLI_EXIT_FAIL;
			break;
		case OPT_OUT:
			out = optarg;
			break;
		case OPT_HELP:
			help_enrollment();
			return SL_CLI_EXIT_OK;
		default:
			return sl_cli_bad_option(argv[0], argv);
		}
	}
	if (optind < argc)
		return sl_cli_usage(argv[0], "unexpected argument '%s'", argv[optind]);
	if (!out || !out[0])
		return sl_cli_usage(argv[0], "--out DIR is required");
	if (cli_pki_unlocked(co.dir, PROV_CA_DEVICE, co.pass_fd, &p))
		return SL_CLI_EXIT_FAIL;
	r = prov_pki_enrollment_ca(p, out, days, co.force ? PROV_FORCE_OUT : 0);
	prov_pki_free(p);
	if (r < 0)
		return sl_cli_fail(r, "create the enrollment CA in", out);
	printf("Wrote the enrollment CA to %s (enrollment-ca.key is not sealed: carry it to the "
	       "control plane, then delete it here)\n",
	       out);
	return SL_CLI_EXIT_OK;
}
