/* SPDX-License-Identifier: Apache-2.0 */
/* Verbs for devices that never connect: export-offline and import-receipts. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "offline.h"
#include "progress.h"
#include "tuf/json.h"

enum {
	OPT_DIR = 'd',
	OPT_HELP = 'h',
	OPT_JSON = 'j',
	OPT_RELEASE = 'r',
	OPT_OUT = 'o',
	OPT_DAYS = 't'
};

static const struct option opts[] = {
    {"dir", required_argument, NULL, OPT_DIR},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {"release", required_argument, NULL, OPT_RELEASE},
    {"out", required_argument, NULL, OPT_OUT},
    {"timestamp-days", required_argument, NULL, OPT_DAYS},
    {},
};

struct args {
	const char *dir, *release, *out;
	unsigned days;
	bool json, help;
};

static int parse(const char *verb, int argc, char **argv, bool export, struct args *a)
{
	char *end;
	unsigned long v;
	int c;

	*a = (struct args){.dir = CP_STATE_DIR_DEFAULT, .days = CP_OFFLINE_TIMESTAMP_DAYS};
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (!export && (c == OPT_RELEASE || c == OPT_OUT || c == OPT_DAYS))
			return cp_cli_usage_error(verb, "'%s' is not an option of this verb",
						  argv[optind - 1]);
		switch (c) {
		case OPT_DIR:
			a->dir = optarg;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_HELP:
			a->help = true;
			break;
		case OPT_RELEASE:
			a->release = optarg;
			break;
		case OPT_OUT:
			a->out = optarg;
			break;
		case OPT_DAYS:
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 ||
			    v > CP_OFFLINE_TIMESTAMP_DAYS_MAX)
				return cp_cli_usage_error(verb,
							  "--timestamp-days: 1 to %d, not '%s'",
							  CP_OFFLINE_TIMESTAMP_DAYS_MAX, optarg);
			a->days = (unsigned)v;
			break;
		default:
			return cp_cli_bad_option(verb, argv);
		}
	}
	return 0;
}

/* ---- export-offline ---- */

static void pr_begin(void *userdata, uint64_t total)
{
	sl_progress_begin(userdata, "copying artifacts", total);
}

static void pr_add(void *userdata, uint64_t n)
{
	sl_progress_add(userdata, n);
}

static void pr_end(void *userdata)
{
	sl_progress_end(userdata);
}

static void print_export(const struct args *a, const struct cp_export_result *res)
{
	char exp[21], until[21];

	tuf_json_format_time(res->timestamp_expires, exp);
	tuf_json_format_time(res->usable_until, until);
	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "release", json_object_new_string(a->release));
		json_object_object_add(o, "out", json_object_new_string(a->out));
		json_object_object_add(o, "first_root",
				       json_object_new_int64((int64_t)res->first_root));
		json_object_object_add(o, "root",
				       json_object_new_int64((int64_t)res->root_version));
		json_object_object_add(o, "targets",
				       json_object_new_int64((int64_t)res->targets_version));
		json_object_object_add(o, "snapshot",
				       json_object_new_int64((int64_t)res->snapshot_version));
		json_object_object_add(o, "timestamp",
				       json_object_new_int64((int64_t)res->timestamp_version));
		json_object_object_add(o, "delegated_roles",
				       json_object_new_int64((int64_t)res->n_roles));
		json_object_object_add(o, "artifacts",
				       json_object_new_int64((int64_t)res->n_artifacts));
		json_object_object_add(o, "bytes", json_object_new_int64((int64_t)res->bytes));
		json_object_object_add(o, "timestamp_expires", json_object_new_string(exp));
		json_object_object_add(o, "usable_until", json_object_new_string(until));
		json_object_object_add(o, "other_releases",
				       json_object_new_boolean(res->other_releases));
		cp_cli_print_json(o);
		return;
	}
	printf("Exported release ");
	cp_cli_print_escaped(stdout, a->release);
	printf(" to ");
	cp_cli_print_escaped(stdout, a->out);
	printf(": roots %" PRIu64 "..%" PRIu64 ", targets version %" PRIu64 ", %zu delegated "
	       "role(s), snapshot %" PRIu64 ", timestamp %" PRIu64
	       ", %zu artifact file(s), %" PRIu64 " bytes\n",
	       res->first_root, res->root_version, res->targets_version, res->n_roles,
	       res->snapshot_version, res->timestamp_version, res->n_artifacts, res->bytes);
	printf("Timestamp expires %s; the medium installs until %s.\n", exp, until);
	if (res->other_releases) {
		printf("The metadata lists other releases too: install with "
		       "`sluice-agent install --from DIR --release ");
		cp_cli_print_escaped(stdout, a->release);
		printf("`.\n");
	}
}

int cp_cmd_export_offline(int argc, char **argv)
{
	_cleanup_(cp_state_freep) struct cp_state *s = NULL;
	struct sl_progress pr = {};
	struct cp_offline_progress progress = {pr_begin, pr_add, pr_end, &pr};
	struct cp_export_result res;
	struct args a;
	int r;

	if ((r = parse("export-offline", argc, argv, true, &a)) != 0)
		return r;
	if (a.help) {
		printf(
		    "Usage: " PROGRAM " export-offline [--dir STATE] --release R --out DIR\n"
		    "       [--timestamp-days N] [--json]\n\n"
		    "Write DIR as a complete TUF repository for devices that never connect:\n"
		    "the root chain, the served targets metadata, a fresh snapshot and\n"
		    "timestamp signed with the online keys (timestamp valid N days, default %d),\n"
		    "and the artifacts of release R. DIR must be absent or empty. Devices run\n"
		    "`sluice-agent install --from DIR`; bring DIR/receipts back with\n"
		    "`" PROGRAM " import-receipts DIR`.\n",
		    CP_OFFLINE_TIMESTAMP_DAYS);
		return CP_EXIT_OK;
	}
	if (optind != argc)
		return cp_cli_usage_error("export-offline", "unexpected argument '%s'",
					  argv[optind]);
	if (!a.release || !a.out)
		return cp_cli_usage_error("export-offline",
					  "--release R and --out DIR are required");
	cp_cli_log_airgap();
	s = cp_cli_open(a.dir);
	if (!s)
		return CP_EXIT_FAILED;
	r = cp_offline_export(s, a.release, a.out, a.days, cp_cli_actor(), &progress, &res);
	if (r < 0)
		return cp_cli_fail(r, "export the release");
	print_export(&a, &res);
	return CP_EXIT_OK;
}

/* ---- import-receipts ---- */

static const char *const status_names[] = {
    [CP_RECEIPT_ACCEPTED] = "accepted",
    [CP_RECEIPT_DUPLICATE] = "duplicate",
    [CP_RECEIPT_REFUSED] = "refused",
};

static int report_line(const struct cp_receipt_report *rep, void *userdata)
{
	(void)userdata;
	printf("%s\t", status_names[rep->status]);
	cp_cli_print_escaped(stdout, rep->file);
	if (rep->device_id[0]) {
		printf("\t");
		cp_cli_print_escaped(stdout, rep->device_id);
		printf("\t%s\t", rep->outcome);
		cp_cli_print_escaped(stdout, rep->release[0] ? rep->release : "-");
	}
	if (rep->status == CP_RECEIPT_REFUSED) {
		printf("\t%s: ", sl_error_name(rep->error));
		cp_cli_print_escaped(stdout, sl_error_message(rep->error));
	}
	printf("\n");
	return 0;
}

static int report_json(const struct cp_receipt_report *rep, void *userdata)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "file", json_object_new_string(rep->file));
	json_object_object_add(o, "status", json_object_new_string(status_names[rep->status]));
	if (rep->device_id[0])
		json_object_object_add(o, "device", json_object_new_string(rep->device_id));
	if (rep->outcome[0])
		json_object_object_add(o, "outcome", json_object_new_string(rep->outcome));
	if (rep->release[0])
		json_object_object_add(o, "release", json_object_new_string(rep->release));
	if (rep->sha256[0])
		json_object_object_add(o, "sha256", json_object_new_string(rep->sha256));
	if (rep->status == CP_RECEIPT_REFUSED) {
		json_object_object_add(o, "error",
				       json_object_new_string(sl_error_name(rep->error)));
		json_object_object_add(o, "reason",
				       json_object_new_string(sl_error_message(rep->error)));
	}
	json_object_array_add(userdata, o);
	return 0;
}

int cp_cmd_import_receipts(int argc, char **argv)
{
	_cleanup_(cp_state_freep) struct cp_state *s = NULL;
	struct json_object *arr = NULL;
	struct cp_receipt_counts n = {};
	struct args a;
	int r;

	if ((r = parse("import-receipts", argc, argv, false, &a)) != 0)
		return r;
	if (a.help) {
		printf(
		    "Usage: " PROGRAM " import-receipts [--dir STATE] [--json] MEDIUM\n\n"
		    "Verify the signed install receipts in MEDIUM/receipts/ (device certificate,\n"
		    "signature, registry) and add them to the update history and the audit\n"
		    "trail. A receipt imported before is reported as a duplicate. Nothing on the\n"
		    "medium is moved or deleted. Exit 2 when any receipt was refused.\n");
		return CP_EXIT_OK;
	}
	if (argc - optind != 1)
		return cp_cli_usage_error("import-receipts",
					  "expects exactly one MEDIUM directory");
	cp_cli_log_airgap();
	s = cp_cli_open(a.dir);
	if (!s)
		return CP_EXIT_FAILED;
	if (a.json && !(arr = json_object_new_array()))
		return cp_cli_fail(-ENOMEM, "import receipts");
	r = cp_offline_import_receipts(s, argv[optind], cp_cli_actor(),
				       a.json ? report_json : report_line, arr, &n);
	if (r < 0) {
		json_object_put(arr);
		return cp_cli_fail(r, "import receipts");
	}
	if (a.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "receipts", arr);
		json_object_object_add(o, "accepted", json_object_new_int64((int64_t)n.accepted));
		json_object_object_add(o, "duplicate", json_object_new_int64((int64_t)n.duplicate));
		json_object_object_add(o, "refused", json_object_new_int64((int64_t)n.refused));
		cp_cli_print_json(o);
	} else {
		printf("%zu accepted, %zu duplicate, %zu refused\n", n.accepted, n.duplicate,
		       n.refused);
	}
	return n.refused ? CP_EXIT_FAILED : CP_EXIT_OK;
}
