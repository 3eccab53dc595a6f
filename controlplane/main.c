/* SPDX-License-Identifier: Apache-2.0 */
/* sluice-controlplane: the isolated control plane's command line (one table of verbs). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "cmd-enroll.h"
#include "cmd-serve.h"
#include "log.h"
#include "offline.h"

struct verb {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

static const struct verb verbs[] = {
    {"init", "create the state directory, database and online keys", cp_cmd_init},
    {"root-import", "trust the first root metadata (alias: trust-root)", cp_cmd_root_import},
    {"trust-root", NULL, cp_cmd_root_import},
    {"publish", "verify a release bundle and serve it", cp_cmd_publish},
    {"serve", "serve the repository and the device API over mTLS", cp_cmd_serve},
    {"status", "role and certificate expiry, devices, events, last publish", cp_cmd_status},
    {"renew", "re-sign timestamp/snapshot when half their lifetime is gone", cp_cmd_renew},
    {"devices", "list, show, approve, decommission devices", cp_cmd_devices},
    {"history", "the update history reported by devices", cp_cmd_history},
    {"rollout", "create, pause, resume, abort, advance, status of rollouts", cp_cmd_rollout},
    {"audit", "verify or export the hash-chained audit trail", cp_cmd_audit},
    {"export-offline", "write a release as a TUF repository for offline media",
     cp_cmd_export_offline},
    {"import-receipts", "add install receipts from offline media to the history",
     cp_cmd_import_receipts},
    {"enroll-token", "create, list, revoke one-time enrollment tokens", cp_cmd_enroll_token},
    {"enroll-ca", "import the enrollment CA, renew its CRL", cp_cmd_enroll_ca},
};

static void help(FILE *f)
{
	fprintf(f, "Usage: " PROGRAM " VERB [OPTIONS] [ARGS]\n\n"
		   "The isolated control plane: holds the online snapshot and timestamp keys,\n"
		   "publishes release bundles, serves the TUF repository and the device API.\n"
		   "Every verb takes --dir STATE (default " CP_STATE_DIR_DEFAULT ") and --help.\n\n"
		   "Verbs:\n");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (verbs[i].summary)
			fprintf(f, "  %-12s %s\n", verbs[i].name, verbs[i].summary);
}

int main(int argc, char **argv)
{
	sl_log_set_ident(PROGRAM);
	if (argc < 2)
		return cp_cli_usage_error("", "expects a verb (see --help)");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		help(stdout);
		return CP_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf(PROGRAM " " SLUICE_VERSION "\n");
		return CP_EXIT_OK;
	}
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return verbs[i].run(argc - 1, argv + 1);
	fprintf(stderr, PROGRAM ": unknown verb '%s' (see --help)\n", argv[1]);
	return CP_EXIT_USAGE;
}
