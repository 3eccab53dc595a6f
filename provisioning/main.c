/* SPDX-License-Identifier: Apache-2.0 */
/* sluice-provision: device CA, server and device certificates, media; dispatches verbs. */
#include <getopt.h>

#include "error.h"
#include "harden.h"
#include "verb.h"

static const struct sl_cli_verb verbs[] = {
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

/* Usage errors are reported by the verbs, in one line; getopt stays quiet. */
static void quiet_getopt(void)
{
	opterr = 0;
}

static const struct sl_cli_program program = {
    .name = "sluice-provision",
    .description = "Device CA, server and device certificates, and per-device provisioning media.\n"
		   "'sluice-provision VERB --help' for a verb.",
    .verbs = verbs,
    .n_verbs = ELEMENTSOF(verbs),
    .before_verb = quiet_getopt,
};

int main(int argc, char **argv)
{
	return cer_harden_main(&program, argc, argv);
}
