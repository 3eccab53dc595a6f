/* SPDX-License-Identifier: Apache-2.0 */
/* sluice-provision: device CA, server and device certificates, media; dispatches verbs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "error.h"
#include "harden.h"
#include "secmem.h"

/* Memory locking and AddressSanitizer's shadow memory do not mix. */
#ifdef __SANITIZE_ADDRESS__
#define HARDEN_FLAGS CER_HARDEN_NO_MLOCK
#else
#define HARDEN_FLAGS 0u
#endif

static const struct cli_verb verbs[] = {
    {"ca init", "create the device CA and the server CA (keys sealed)", cmd_ca_init},
    {"ca enrollment-ca", "create the intermediate CA the control plane holds for enrollment",
     cmd_ca_enrollment},
    {"server-cert", "the control plane's TLS certificate and its STATE/tls/ files",
     cmd_server_cert},
    {"device", "write one device's provisioning medium", cmd_device},
    {"batch", "write the media of every device of a CSV file", cmd_batch},
    {"export", "write the approval file for 'sluice-controlplane devices approve'", cmd_export},
    {"revoke", "revoke a device's certificates and write the new CRL", cmd_revoke},
    {"crl", "re-sign the CRL with a new next-update date", cmd_crl},
    {"list", "list the issued device certificates", cmd_list},
    {"inspect", "check a medium: complete, consistent, hostile-free", cmd_inspect},
};

static void help(FILE *f)
{
	fprintf(f, "Usage: sluice-provision VERB [OPTIONS]\n\n"
		   "Device CA, server and device certificates, and per-device provisioning media.\n"
		   "'sluice-provision VERB --help' for a verb.\n\n"
		   "Verbs:\n");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		fprintf(f, "  %-18s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f,
		"\nExit status: 0 success, 1 failure or usage error. See sluice-provision(1).\n");
}

/* The verb named by argv[1] or "argv[1] argv[2]"; *ret_used is how many words it took. */
static const struct cli_verb *find_verb(int argc, char **argv, int *ret_used)
{
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
		const char *n = verbs[i].name, *sp = strchr(n, ' ');

		if (!sp && strcmp(n, argv[1]) == 0) {
			*ret_used = 1;
			return &verbs[i];
		}
		if (sp && argc > 2 && strncmp(n, argv[1], (size_t)(sp - n)) == 0 &&
		    argv[1][sp - n] == '\0' && strcmp(sp + 1, argv[2]) == 0) {
			*ret_used = 2;
			return &verbs[i];
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const struct cli_verb *verb;
	unsigned warnings = 0;
	char name[64];
	int used = 0, r;

	r = cer_harden_process(HARDEN_FLAGS, &warnings);
	if (r < 0)
		return cli_fail(r, "harden", "the process");
	cli_mlock_failed = warnings & CER_HARDEN_WARN_MLOCK;
	r = sl_secmem_init();
	if (r < 0)
		return cli_fail(r, "initialise", "libsodium");
	if (argc < 2) {
		help(stderr);
		return CLI_EXIT_FAIL;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		help(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("sluice-provision " SLUICE_VERSION "\n");
		return CLI_EXIT_OK;
	}
	verb = find_verb(argc, argv, &used);
	if (!verb) {
		fprintf(stderr,
			"sluice-provision: unknown verb '%s' (see 'sluice-provision --help')\n",
			argv[1]);
		return CLI_EXIT_FAIL;
	}
	/* Usage errors are reported by the verbs, in one line; getopt stays quiet. */
	opterr = 0;
	/* The verb sees argv[0] = its own name, as getopt_long expects. */
	snprintf(name, sizeof(name), "%s", verb->name);
	argv[used] = name;
	return verb->run(argc - used, argv + used);
}
