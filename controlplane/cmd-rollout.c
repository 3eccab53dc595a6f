/* SPDX-License-Identifier: Apache-2.0 */
/* The rollout verb: create, pause, resume, abort, advance, status. */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "rollout.h"

enum { OPT_DIR = 'd', OPT_HELP = 'h', OPT_JSON = 'j', OPT_RELEASE = 'r', OPT_TAG = 't',
       OPT_WAVES = 'w', OPT_RATE = 'm', OPT_MIN = 'n' };

static const struct option opts[] = {
    {"dir", required_argument, NULL, OPT_DIR},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {"release", required_argument, NULL, OPT_RELEASE},
    {"tag", required_argument, NULL, OPT_TAG},
    {"waves", required_argument, NULL, OPT_WAVES},
    {"max-failure-rate", required_argument, NULL, OPT_RATE},
    {"min-devices", required_argument, NULL, OPT_MIN},
    {},
};

struct args {
	const char *dir, *release, *tag, *waves, *rate, *min;
	bool json, help;
};

static void help(void)
{
	printf("Usage:\n"
	       "  " PROGRAM " rollout [--dir STATE] create --release R [--tag T] --waves 10,50,100\n"
	       "                      [--max-failure-rate 0.2] [--min-devices N]\n"
	       "  " PROGRAM " rollout [--dir STATE] pause|resume|abort|advance ID\n"
	       "  " PROGRAM " rollout [--dir STATE] [--json] status [ID]\n\n"
	       "Assign a published release to every approved device (or those tagged T) in\n"
	       "cumulative percentage waves. A device is in wave w when the first 4 bytes of\n"
	       "SHA-256(rollout id, 0, device id) modulo 100 are below the wave's percentage.\n"
	       "The next wave starts when every device of the current one has committed;\n"
	       "the rollout halts by itself when more than the maximum failure rate of the\n"
	       "current wave's reporting devices (at least N) failed or rolled back.\n");
}

/* "0.2" or "20%" into per mille (0..1000). */
static int parse_rate(const char *s, unsigned *ret)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s)
		return -1;
	if (*end == '%') {
		v /= 100;
		end++;
	}
	if (*end || !(v >= 0 && v <= 1))
		return -1;
	*ret = (unsigned)(v * 1000 + 0.5);
	return 0;
}

static int parse_waves(const char *s, struct cp_rollout_spec *spec)
{
	const char *p = s;

	while (*p) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);

		if (end == p || spec->n_waves == CP_ROLLOUT_MAX_WAVES || (*end && *end != ','))
			return -1;
		spec->waves[spec->n_waves++] = (unsigned)(v > 1000 ? 1000 : v);
		p = *end ? end + 1 : end;
	}
	return spec->n_waves ? 0 : -1;
}

static int create(struct cp_state *s, const struct args *a)
{
	struct cp_rollout_spec spec = {.release = a->release, .tag = a->tag,
				       .max_failure_permille = 200, .min_devices = 1};
	char id[CP_ROLLOUT_ID_LEN + 1];
	int r;

	if (!a->release || !a->waves)
		return cp_cli_usage_error("rollout", "create needs --release and --waves");
	if (parse_waves(a->waves, &spec) < 0)
		return cp_cli_usage_error("rollout", "invalid --waves '%s'", a->waves);
	if (a->rate && parse_rate(a->rate, &spec.max_failure_permille) < 0)
		return cp_cli_usage_error("rollout", "invalid --max-failure-rate '%s'", a->rate);
	if (a->min) {
		char *end;
		unsigned long v = strtoul(a->min, &end, 10);

		if (*end || end == a->min || v < 1 || v > 1000000)
			return cp_cli_usage_error("rollout", "invalid --min-devices '%s'", a->min);
		spec.min_devices = (unsigned)v;
	}
	r = cp_rollout_create(s, &spec, cp_cli_actor(), id);
	if (r < 0)
		return cp_cli_fail(r, "create the rollout");
	printf("%s\n", id);
	return CP_EXIT_OK;
}

static int rollout_json(const struct cp_rollout *ro, void *userdata)
{
	struct json_object *o = json_object_new_object(), *st = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(ro->id));
	json_object_object_add(o, "release", json_object_new_string(ro->release));
	json_object_object_add(o, "tag", ro->tag ? json_object_new_string(ro->tag) : NULL);
	json_object_object_add(o, "waves", json_object_new_string(ro->waves));
	json_object_object_add(o, "wave", json_object_new_int((int)ro->wave + 1));
	json_object_object_add(o, "state", json_object_new_string(ro->state));
	json_object_object_add(o, "max_failure_permille",
			       json_object_new_int((int)ro->max_failure_permille));
	json_object_object_add(o, "min_devices", json_object_new_int((int)ro->min_devices));
	json_object_object_add(o, "created", json_object_new_string(ro->created));
	json_object_object_add(o, "updated", json_object_new_string(ro->updated));
	json_object_object_add(o, "reason", ro->reason ? json_object_new_string(ro->reason) : NULL);
	json_object_object_add(st, "eligible", json_object_new_int64(ro->stats.eligible));
	json_object_object_add(st, "in_wave", json_object_new_int64(ro->stats.in_wave));
	json_object_object_add(st, "committed", json_object_new_int64(ro->stats.committed));
	json_object_object_add(st, "failed", json_object_new_int64(ro->stats.failed));
	json_object_object_add(o, "current_wave", st);
	json_object_array_add(userdata, o);
	return 0;
}

static int rollout_line(const struct cp_rollout *ro, void *userdata)
{
	printf("%s  %-9s release ", ro->id, ro->state);
	cp_cli_print_escaped(stdout, ro->release);
	printf("  scope %s", ro->tag ? "tag " : "all devices");
	if (ro->tag)
		cp_cli_print_escaped(stdout, ro->tag);
	printf("  waves %s (wave %u)  eligible %" PRId64 ", in wave %" PRId64 ", committed %" PRId64
	       ", failed %" PRId64 "\n", ro->waves, ro->wave + 1, ro->stats.eligible,
	       ro->stats.in_wave, ro->stats.committed, ro->stats.failed);
	if (ro->reason) {
		printf("  ");
		cp_cli_print_escaped(stdout, ro->reason);
		printf("\n");
	}
	return 0;
}

static int status(struct cp_state *s, const char *id, bool json)
{
	struct json_object *arr;
	int r;

	if (!json)
		r = cp_rollout_foreach(s, id, rollout_line, NULL);
	else {
		arr = json_object_new_array();
		r = cp_rollout_foreach(s, id, rollout_json, arr);
		if (r < 0)
			json_object_put(arr);
		else
			cp_cli_print_json(arr);
	}
	return r < 0 ? cp_cli_fail(r, "read the rollouts") : CP_EXIT_OK;
}

int cp_cmd_rollout(int argc, char **argv)
{
	_cleanup_(cp_state_freep) struct cp_state *s = NULL;
	struct args a = {.dir = CP_STATE_DIR_DEFAULT};
	const char *sub;
	int c, r, n;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DIR: a.dir = optarg; break;
		case OPT_JSON: a.json = true; break;
		case OPT_HELP: a.help = true; break;
		case OPT_RELEASE: a.release = optarg; break;
		case OPT_TAG: a.tag = optarg; break;
		case OPT_WAVES: a.waves = optarg; break;
		case OPT_RATE: a.rate = optarg; break;
		case OPT_MIN: a.min = optarg; break;
		default: return cp_cli_bad_option("rollout", argv);
		}
	}
	if (a.help) {
		help();
		return CP_EXIT_OK;
	}
	if (optind >= argc)
		return cp_cli_usage_error("rollout", "expects create, pause, resume, abort, advance "
						     "or status");
	sub = argv[optind++];
	n = argc - optind;
	if (strcmp(sub, "create") == 0) {
		if (n)
			return cp_cli_usage_error("rollout", "unexpected argument '%s'", argv[optind]);
	} else if (strcmp(sub, "status") == 0) {
		if (n > 1)
			return cp_cli_usage_error("rollout", "status takes at most one ID");
	} else if (strcmp(sub, "pause") == 0 || strcmp(sub, "resume") == 0 ||
		   strcmp(sub, "abort") == 0 || strcmp(sub, "advance") == 0) {
		if (n != 1)
			return cp_cli_usage_error("rollout", "%s expects exactly one rollout ID", sub);
	} else {
		return cp_cli_usage_error("rollout", "unknown sub-command '%s'", sub);
	}
	if (strcmp(sub, "create") != 0 && (a.release || a.tag || a.waves || a.rate || a.min))
		return cp_cli_usage_error("rollout", "--release, --tag, --waves, --max-failure-rate "
						     "and --min-devices are options of create");
	s = cp_cli_open(a.dir);
	if (!s)
		return CP_EXIT_FAILED;
	if (strcmp(sub, "create") == 0)
		return create(s, &a);
	if (strcmp(sub, "status") == 0)
		return status(s, n ? argv[optind] : NULL, a.json);
	r = cp_rollout_action(s, argv[optind], sub, cp_cli_actor());
	if (r < 0)
		return cp_cli_fail(r, "change the rollout");
	printf("%s: %s\n", argv[optind], sub);
	return CP_EXIT_OK;
}
