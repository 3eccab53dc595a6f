/* SPDX-License-Identifier: Apache-2.0 */
/* The audit verb: verify the hash chain, export it (text or JSON). */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "error.h"

static const struct option opts[] = {
    {"dir", required_argument, NULL, 'd'},
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {},
};

static int row_json(const struct cp_audit_row *row, void *userdata)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "seq", json_object_new_int64(row->seq));
	json_object_object_add(o, "time", json_object_new_string(row->time));
	json_object_object_add(o, "actor", json_object_new_string(row->actor));
	json_object_object_add(o, "action", json_object_new_string(row->action));
	json_object_object_add(o, "detail", json_object_new_string(row->detail));
	json_object_object_add(o, "prev_hash", json_object_new_string(row->prev_hash));
	json_object_object_add(o, "hash", json_object_new_string(row->hash));
	json_object_array_add(userdata, o);
	return 0;
}

static int row_line(const struct cp_audit_row *row, void *userdata)
{
	printf("%" PRId64 "\t%s\t", row->seq, row->time);
	cp_cli_print_escaped(stdout, row->actor);
	printf("\t");
	cp_cli_print_escaped(stdout, row->action);
	printf("\t");
	cp_cli_print_escaped(stdout, row->detail);
	printf("\t%s\n", row->hash);
	return 0;
}

static int verify(struct cp_state *s, bool json)
{
	int64_t bad = 0, rows = 0;
	int r = cp_audit_verify(s, &bad, &rows);

	if (json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(r >= 0));
		json_object_object_add(o, "rows", json_object_new_int64(rows));
		json_object_object_add(o, "first_broken_row",
				       r == CER_E_CHAIN ? json_object_new_int64(bad) : NULL);
		json_object_object_add(o, "message", r < 0 ? json_object_new_string(
								     sl_error_message(r)) : NULL);
		cp_cli_print_json(o);
	}
	if (r == CER_E_CHAIN) {
		if (!json)
			printf("BROKEN at row %" PRId64 ": %s\n", bad, sl_error_message(r));
		return CP_EXIT_AUDIT_BROKEN;
	}
	if (r < 0)
		return cp_cli_fail(r, "verify the audit trail");
	if (!json)
		printf("OK: %" PRId64 " rows, chain intact\n", rows);
	return CP_EXIT_OK;
}

int cp_cmd_audit(int argc, char **argv)
{
	_cleanup_(cp_state_freep) struct cp_state *s = NULL;
	const char *dir = CP_STATE_DIR_DEFAULT, *sub;
	bool json = false, help = false;
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = true; break;
		case 'h': help = true; break;
		default: return cp_cli_bad_option("audit", argv);
		}
	}
	if (help) {
		printf("Usage: " PROGRAM " audit [--dir STATE] [--json] verify|export\n\n"
		       "verify: walk the hash chain and name the first edited or deleted row\n"
		       "        (exit 3 when broken). export: print every row.\n");
		return CP_EXIT_OK;
	}
	if (argc - optind != 1)
		return cp_cli_usage_error("audit", "expects verify or export");
	sub = argv[optind];
	if (strcmp(sub, "verify") != 0 && strcmp(sub, "export") != 0)
		return cp_cli_usage_error("audit", "unknown sub-command '%s'", sub);
	s = cp_cli_open(dir);
	if (!s)
		return CP_EXIT_FAILED;
	if (strcmp(sub, "verify") == 0)
		return verify(s, json);
	if (json) {
		struct json_object *arr = json_object_new_array();

		r = cp_audit_foreach(s, row_json, arr);
		if (r >= 0)
			cp_cli_print_json(arr);
		else
			json_object_put(arr);
	} else {
		r = cp_audit_foreach(s, row_line, NULL);
	}
	return r < 0 ? cp_cli_fail(r, "export the audit trail") : CP_EXIT_OK;
}
