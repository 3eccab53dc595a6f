/* SPDX-License-Identifier: Apache-2.0 */
/* sluice-ceremony: the offline key ceremony tool; hardens the process and dispatches verbs. */
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
    {"keygen", "generate a sealed Ed25519 key for a role", cmd_keygen},
    {"pubkey", "print the public key object of a key file (no passphrase)", cmd_pubkey},
    {"root init", "write root version 1, unsigned", cmd_root_init},
    {"root rotate", "write root version N+1 with key and threshold changes, unsigned",
     cmd_root_rotate},
    {"root renew", "write root version N+1 with a new expiry, unsigned", cmd_root_renew},
    {"root check", "check that a root meets its thresholds (old and new)", cmd_root_check},
    {"sign", "add one signature to a metadata file and show the threshold status", cmd_sign},
    {"release", "build and sign a release bundle from a manifest", cmd_release},
    {"verify", "verify a bundle or a repository offline, as the device would", cmd_verify},
    {"status", "expiry calendar, key files on the media, air-gap check", cmd_status},
    {"transcript verify", "check the transcript's hash chain and seals", cmd_transcript_verify},
    {"transcript seal", "append a signed final record to the transcript", cmd_transcript_seal},
    {"transcript show", "print the transcript, one record per line", cmd_transcript_show},
};

static void help(FILE *f)
{
	fprintf(f, "Usage: sluice-ceremony VERB [OPTIONS]\n\n"
		   "The offline key ceremony: keys, root and targets signing, release bundles.\n"
		   "Run on an air-gapped machine. 'sluice-ceremony VERB --help' for a verb.\n\n"
		   "Verbs:\n");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		fprintf(f, "  %-18s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\nExit status: 0 success, 1 failure or usage error. See sluice-ceremony(1).\n");
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

/* DESIGN.md §7: one line at start-up in air-gap mode. */
static void airgap_notice(void)
{
	const char *v = getenv("SLUICE_AIRGAP");

	if (v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0))
		fprintf(stderr, "sluice-ceremony: air-gap mode: this tool opens no network "
				"sockets; key generation refuses to run while a network "
				"interface is up, and --allow-network is refused\n");
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
		printf("sluice-ceremony " SLUICE_VERSION "\n");
		return CLI_EXIT_OK;
	}
	verb = find_verb(argc, argv, &used);
	if (!verb) {
		fprintf(stderr,
			"sluice-ceremony: unknown verb '%s' (see 'sluice-ceremony --help')\n",
			argv[1]);
		return CLI_EXIT_FAIL;
	}
	airgap_notice();
	/* The verb sees argv[0] = its own name, as getopt_long expects. */
	snprintf(name, sizeof(name), "%s", verb->name);
	argv[used] = name;
	return verb->run(argc - used, argv + used);
}
