/* SPDX-License-Identifier: Apache-2.0 */
/* Verbs on the device registry and history: devices list|show|approve|decommission, history. */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "devices.h"
#include "error.h"

enum { OPT_DIR = 'd', OPT_HELP = 'h', OPT_JSON = 'j', OPT_HW = 'w', OPT_TAGS = 't',
       OPT_FROM = 'f', OPT_CERT = 'c', OPT_DEVICE = 'D', OPT_REPLACE = 'R' };

static const struct option opts[] = {
    {"dir", required_argument, NULL, OPT_DIR},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {"hardware", required_argument, NULL, OPT_HW},
    {"tags", required_argument, NULL, OPT_TAGS},
    {"from", required_argument, NULL, OPT_FROM},
    {"cert-sha256", required_argument, NULL, OPT_CERT},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"replace-cert", no_argument, NULL, OPT_REPLACE},
    {},
};

struct args {
	const char *dir, *hardware, *tags, *from, *cert, *device;
	bool json, help, replace;
};

static int parse(const char *verb, int argc, char **argv, struct args *a)
{
	int c;

	*a = (struct args){.dir = CP_STATE_DIR_DEFAULT};
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DIR: a->dir = optarg; break;
		case OPT_JSON: a->json = true; break;
		case OPT_HELP: a->help = true; break;
		case OPT_HW: a->hardware = optarg; break;
		case OPT_TAGS: a->tags = optarg; break;
		case OPT_FROM: a->from = optarg; break;
		case OPT_CERT: a->cert = optarg; break;
		case OPT_DEVICE: a->device = optarg; break;
		case OPT_REPLACE: a->replace = true; break;
		default: return cp_cli_bad_option(verb, argv);
		}
	}
	return 0;
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static int device_json(const struct cp_device *d, void *userdata)
{
	struct json_object *arr = userdata, *o = json_object_new_object();

	add_str(o, "id", d->id);
	add_str(o, "state", d->state);
	add_str(o, "hardware", d->hardware);
	add_str(o, "tags", d->tags);
	add_str(o, "cert_sha256", d->cert_sha256);
	add_str(o, "created", d->created);
	add_str(o, "approved", d->approved);
	add_str(o, "decommissioned", d->decommissioned);
	add_str(o, "last_seen", d->last_seen);
	add_str(o, "release", d->reported_release);
	add_str(o, "slot", d->slot);
	add_str(o, "agent_state", d->agent_state);
	add_str(o, "agent_version", d->agent_version);
	add_str(o, "reported_hardware", d->reported_hardware);
	add_str(o, "models", d->models);
	json_object_array_add(arr, o);
	return 0;
}

static void field(const char *name, const char *v)
{
	printf("  %-18s ", name);
	if (v)
		cp_cli_print_escaped(stdout, v);
	else
		printf("-");
	printf("\n");
}

static int device_line(const struct cp_device *d, void *userdata)
{
	const bool *full = userdata;

	if (*full) {
		printf("device ");
		cp_cli_print_escaped(stdout, d->id);
		printf("\n");
		field("state", d->state);
		field("hardware", d->hardware);
		field("tags", d->tags);
		field("cert sha256", d->cert_sha256);
		field("created", d->created);
		field("approved", d->approved);
		field("decommissioned", d->decommissioned);
		field("last seen", d->last_seen);
		field("release", d->reported_release);
		field("slot", d->slot);
		field("agent state", d->agent_state);
		field("agent version", d->agent_version);
		field("reported hardware", d->reported_hardware);
		field("models", d->models);
		return 0;
	}
	cp_cli_print_escaped(stdout, d->id);
	printf("\t%s\t", d->state);
	cp_cli_print_escaped(stdout, d->hardware ? d->hardware : "-");
	printf("\t");
	cp_cli_print_escaped(stdout, d->tags ? d->tags : "-");
	printf("\t");
	cp_cli_print_escaped(stdout, d->reported_release ? d->reported_release : "-");
	printf("\t%s\n", d->last_seen ? d->last_seen : "never");
	return 0;
}

static int count_one(const struct cp_device *d, void *userdata)
{
	(*(int *)userdata)++;
	return 0;
}

static int list(struct cp_state *s, const char *id, bool json)
{
	struct json_object *arr;
	bool full = id != NULL;
	int r, n = 0;

	if (id) {
		r = cp_devices_foreach(s, id, count_one, &n);
		if (r < 0)
			return r;
		if (n == 0)
			return sl_error(TUF_E_NOT_FOUND, "no such device");
	}
	if (!json)
		return cp_devices_foreach(s, id, device_line, &full);
	arr = json_object_new_array();
	r = cp_devices_foreach(s, id, device_json, arr);
	if (r < 0) {
		json_object_put(arr);
		return r;
	}
	if (id && json_object_array_length(arr) == 0) {
		json_object_put(arr);
		return sl_error(TUF_E_NOT_FOUND, "no such device");
	}
	if (id) {
		struct json_object *one = json_object_get(json_object_array_get_idx(arr, 0));

		json_object_put(arr);
		arr = one;
	}
	cp_cli_print_json(arr);
	return 0;
}

static void help_devices(void)
{
	printf("Usage:\n"
	       "  " PROGRAM " devices [--dir STATE] [--json] list\n"
	       "  " PROGRAM " devices [--dir STATE] [--json] show ID\n"
	       "  " PROGRAM " devices [--dir STATE] approve ID [--hardware HW] [--tags T1,T2]"
	       " [--cert-sha256 HEX]\n"
	       "  " PROGRAM " devices [--dir STATE] approve ID --cert-sha256 HEX --replace-cert\n"
	       "  " PROGRAM " devices [--dir STATE] approve --from FILE\n"
	       "  " PROGRAM " devices [--dir STATE] decommission ID\n\n"
	       "The device registry. FILE holds JSON lines {\"id\", \"hardware\", \"cert_sha256\"}\n"
	       "(a provisioning export), approved all or nothing. Identities are printed with\n"
	       "control characters and non-ASCII bytes escaped.\n\n"
	       "A device approved with a certificate hash is served only with that certificate.\n"
	       "After its certificate was re-issued, --replace-cert approves the new hash.\n");
}

static int devices_run(struct cp_state *s, const struct args *a, const char *sub, int n,
		       char **pos)
{
	size_t count;
	int r;

	if (strcmp(sub, "list") == 0)
		return list(s, NULL, a->json);
	if (strcmp(sub, "show") == 0)
		return list(s, pos[0], a->json);
	if (strcmp(sub, "approve") == 0 && a->from) {
		r = cp_devices_approve_file(s, a->from, cp_cli_actor(), &count);
		if (r >= 0)
			printf("approved %zu device(s)\n", count);
		return r;
	}
	if (strcmp(sub, "approve") == 0) {
		if (a->replace)
			r = cp_devices_replace_cert(s, pos[0], a->cert, cp_cli_actor());
		else
			r = cp_devices_approve(s, pos[0], a->hardware, a->tags, a->cert,
					       cp_cli_actor());
		if (r >= 0) {
			printf("approved ");
			cp_cli_print_escaped(stdout, pos[0]);
			printf("\n");
		}
		return r;
	}
	(void)n;
	r = cp_devices_decommission(s, pos[0], cp_cli_actor());
	if (r >= 0) {
		printf("decommissioned ");
		cp_cli_print_escaped(stdout, pos[0]);
		printf("\n");
	}
	return r;
}

int cp_cmd_devices(int argc, char **argv)
{
	_cleanup_(cp_state_freep) struct cp_state *s = NULL;
	struct args a;
	const char *sub;
	int r, want, n;

	if ((r = parse("devices", argc, argv, &a)) != 0)
		return r;
	if (a.help) {
		help_devices();
		return CP_EXIT_OK;
	}
	if (optind >= argc)
		return cp_cli_usage_error("devices", "expects list, show, approve or decommission");
	sub = argv[optind++];
	n = argc - optind;
	if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "approve") != 0 &&
	    strcmp(sub, "decommission") != 0)
		return cp_cli_usage_error("devices", "unknown sub-command '%s'", sub);
	want = strcmp(sub, "list") == 0 || (strcmp(sub, "approve") == 0 && a.from) ? 0 : 1;
	if (n != want)
		return cp_cli_usage_error("devices", "%s expects %s", sub,
					  want ? "exactly one device ID" : "no argument");
	if ((a.hardware || a.tags || a.cert) && strcmp(sub, "approve") != 0)
		return cp_cli_usage_error("devices", "--hardware, --tags and --cert-sha256 are "
						     "options of approve");
	if (a.replace && (strcmp(sub, "approve") != 0 || a.from || !a.cert || a.hardware || a.tags))
		return cp_cli_usage_error("devices", "--replace-cert takes approve ID "
						     "--cert-sha256 HEX and nothing else");
	s = cp_cli_open(a.dir);
	if (!s)
		return CP_EXIT_FAILED;
	r = devices_run(s, &a, sub, n, argv + optind);
	if (r < 0)
		return cp_cli_fail(r, "update or read the device registry");
	return CP_EXIT_OK;
}

/* ---- history ---- */

static int event_json(const struct cp_event *e, void *userdata)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "device", e->device_id);
	json_object_object_add(o, "seq", json_object_new_int64(e->seq));
	add_str(o, "time", e->time);
	add_str(o, "received", e->received);
	add_str(o, "release", e->release);
	add_str(o, "type", e->type);
	add_str(o, "error", e->error);
	json_object_array_add(userdata, o);
	return 0;
}

static int event_line(const struct cp_event *e, void *userdata)
{
	printf("%s	", e->time);
	cp_cli_print_escaped(stdout, e->device_id);
	printf("	%" PRId64 "	", e->seq);
	cp_cli_print_escaped(stdout, e->release);
	printf("	%s", e->type);
	if (e->error) {
		printf("	");
		cp_cli_print_escaped(stdout, e->error);
	}
	printf("\n");
	return 0;
}

int cp_cmd_history(int argc, char **argv)
{
	_cleanup_(cp_state_freep) struct cp_state *s = NULL;
	struct args a;
	int r;

	if ((r = parse("history", argc, argv, &a)) != 0)
		return r;
	if (a.help) {
		printf("Usage: " PROGRAM " history [--dir STATE] [--device ID] [--json]\n\n"
		       "The update history: install events reported by devices, oldest first.\n");
		return CP_EXIT_OK;
	}
	if (optind != argc)
		return cp_cli_usage_error("history", "unexpected argument '%s'", argv[optind]);
	s = cp_cli_open(a.dir);
	if (!s)
		return CP_EXIT_FAILED;
	if (a.json) {
		struct json_object *arr = json_object_new_array();

		r = cp_history_foreach(s, a.device, event_json, arr);
		if (r < 0)
			json_object_put(arr);
		else
			cp_cli_print_json(arr);
	} else {
		r = cp_history_foreach(s, a.device, event_line, NULL);
	}
	if (r < 0)
		return cp_cli_fail(r, "read the history");
	return CP_EXIT_OK;
}
