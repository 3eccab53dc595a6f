/* SPDX-License-Identifier: Apache-2.0 */
/* sluice-ceremony: the offline key ceremony tool; hardens the process and dispatches verbs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "harden.h"
#include "verb.h"

static const struct sl_cli_verb verbs[] = {
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

/* DESIGN.md §7: one line at start-up in air-gap mode. */
static void airgap_notice(void)
{
	const char *v = getenv("SLUICE_AIRGAP");

	if (v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0))
		fprintf(stderr, "sluice-ceremony: air-gap mode: this tool opens no network "
				"sockets; key generation refuses to run while a network "
				"interface is up, and --allow-network is refused\n");
}

static const struct sl_cli_program program = {
    .name = "sluice-ceremony",
    .description = "The offline key ceremony: keys, root and targets signing, release bundles.\n"
		   "Run on an air-gapped machine. 'sluice-ceremony VERB --help' for a verb.",
    .verbs = verbs,
    .n_verbs = ELEMENTSOF(verbs),
    .before_verb = airgap_notice,
};

int main(int argc, char **argv)
{
	return cer_harden_main(&program, argc, argv);
}
