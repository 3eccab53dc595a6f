/* SPDX-License-Identifier: Apache-2.0 */
/* The token enrollment verbs: enroll-token create|list|revoke, enroll-ca import|crl. */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cmd-enroll.h"
#include "enroll.h"
#include "error.h"
#include "log.h"

enum {
	OPT_DIR = 'd',
	OPT_HELP = 'h',
	OPT_JSON = 'j',
	OPT_HW = 'w',
	OPT_ID = 'i',
	OPT_TTL = 't',
	OPT_CERT = 'c',
	OPT_KEY = 'k',
	OPT_FORCE = 'f',
	OPT_DAYS = 'D'
};

static const struct option opts[] = {
    {"dir", required_argument, NULL, OPT_DIR},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {"hardware", required_argument, NULL, OPT_HW},
    {"id", required_argument, NULL, OPT_ID},
    {"ttl", required_argument, NULL, OPT_TTL},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"force", no_argument, NULL, OPT_FORCE},
    {"days", required_argument, NULL, OPT_DAYS},
    {},
};

struct args {
	const char *dir, *hardware, *id, *ttl, *cert, *key, *days;
	bool json, help, force;
};

static int parse(const char *verb, int argc, char **argv, struct args *a)
{
	int c;

	*a = (struct args){.dir = CP_STATE_DIR_DEFAULT};
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
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
		case OPT_HW:
			a->hardware = optarg;
			break;
		case OPT_ID:
			a->id = optarg;
			break;
		case OPT_TTL:
			a->ttl = optarg;
			break;
		case OPT_CERT:
			a->cert = optarg;
			break;
		case OPT_KEY:
			a->key = optarg;
			break;
		case OPT_FORCE:
			a->force = true;
			break;
		case OPT_DAYS:
			a->days = optarg;
			break;
		default:
			return cp_cli_bad_option(verb, argv);
		}
	}
	return 0;
}

/* "90", "90s", "15m", "2h", "1d" into seconds; -1 when malformed or out of range. */
static int64_t parse_duration(const char *s)
{
	char *end = NULL;
	unsigned long long v;
	int64_t unit = 1;

	if (!s || *s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (*end && end[1])
		return -1;
	switch (*end) {
	case '\0':
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -1;
	}
	if (v == 0 || v > (unsigned long long)CP_ENROLL_TTL_MAX / (unsigned long long)unit)
		return -1;
	return (int64_t)v * unit;
}

static void time_text(int64_t t, char buf[static 21])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, 21, "-");
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static int token_json(const struct cp_enroll_token *t, void *userdata)
{
	struct json_object *o = json_object_new_object();
	char exp[21];

	time_text(t->expires, exp);
	json_object_object_add(o, "id", json_object_new_int64(t->id));
	add_str(o, "state", t->state);
	add_str(o, "created", t->created);
	add_str(o, "expires", exp);
	add_str(o, "hardware", t->hardware);
	add_str(o, "device_id", t->device_id);
	add_str(o, "creator", t->creator);
	add_str(o, "used", t->used);
	add_str(o, "used_by", t->used_by);
	add_str(o, "revoked", t->revoked);
	json_object_array_add(userdata, o);
	return 0;
}

static int token_line(const struct cp_enroll_token *t, void *userdata)
{
	char exp[21];

	(void)userdata;
	time_text(t->expires, exp);
	printf("%" PRId64 "\t%s\t%s\t%s\t%s\t", t->id, t->state, exp,
	       t->hardware ? t->hardware : "-", t->device_id ? t->device_id : "-");
	cp_cli_print_escaped(stdout, t->used_by ? t->used_by : "-");
	printf("\n");
	return 0;
}

static int token_create(struct cp_state *s, const struct args *a)
{
	_cleanup_free_ char *token = NULL;
	int64_t ttl = parse_duration(a->ttl), id;
	char exp[21];
	int r;

	if (ttl < 0)
		return cp_cli_usage_error("enroll-token",
					  "--ttl: '%s' is not 1s to %dd (N, Ns, Nm, "
					  "Nh or Nd)",
					  a->ttl ? a->ttl : "", CP_ENROLL_TTL_MAX / 86400);
	r = cp_enroll_token_create(s, ttl, a->hardware, a->id, cp_cli_actor(), &token, &id);
	if (r < 0)
		return cp_cli_fail(r, "create an enrollment token");
	time_text(cp_state_now(s) + ttl, exp);
	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(id));
		add_str(o, "token", token);
		add_str(o, "expires", exp);
		cp_cli_print_json(o);
	} else {
		printf("%s\n", token);
		sl_log_info("enrollment token %" PRId64 " valid until %s (single use)", id, exp);
	}
	explicit_bzero(token, strlen(token));
	return CP_EXIT_OK;
}

static void help_token(void)
{
	printf("Usage:\n"
	       "  " PROGRAM " enroll-token [--dir STATE] create --ttl DURATION [--hardware HW]"
	       " [--id ID] [--json]\n"
	       "  " PROGRAM " enroll-token [--dir STATE] [--json] list\n"
	       "  " PROGRAM " enroll-token [--dir STATE] revoke TOKEN-ID\n\n"
	       "One-time enrollment tokens for `sluice-agent enroll`. create prints the token\n"
	       "(sl1.<secret>.<server CA fingerprint>) once; only its hash is stored. DURATION is\n"
	       "N, Ns, Nm, Nh or Nd (at most %d days). --hardware and --id bind the token to a\n"
	       "hardware name and a device id. Needs STATE/tls/enroll-ca.crt, enroll-ca.key\n"
	       "(enroll-ca import) and server-ca.pem.\n",
	       CP_ENROLL_TTL_MAX / 86400);
}

int cp_cmd_enroll_token(int argc, char **argv)
{
	_cleanup_(cp_state_freep) struct cp_state *s = NULL;
	struct args a;
	const char *sub;
	char *end = NULL;
	long long id = 0;
	int r;

	if ((r = parse("enroll-token", argc, argv, &a)) != 0)
		return r;
	if (a.help) {
		help_token();
		return CP_EXIT_OK;
	}
	if (optind >= argc)
		return cp_cli_usage_error("enroll-token", "expects create, list or revoke");
	sub = argv[optind++];
	if (strcmp(sub, "create") && strcmp(sub, "list") && strcmp(sub, "revoke"))
		return cp_cli_usage_error("enroll-token", "unknown sub-command '%s'", sub);
	if (argc - optind != (strcmp(sub, "revoke") == 0))
		return cp_cli_usage_error("enroll-token", "%s expects %s", sub,
					  strcmp(sub, "revoke") ? "no argument" : "a TOKEN-ID");
	if (strcmp(sub, "create") && (a.ttl || a.hardware || a.id))
		return cp_cli_usage_error("enroll-token", "--ttl, --hardware and --id are "
							  "options of create");
	if (!strcmp(sub, "create") && !a.ttl)
		return cp_cli_usage_error("enroll-token", "create needs --ttl DURATION");
	if (!strcmp(sub, "revoke")) {
		id = strtoll(argv[optind], &end, 10);
		if (!*argv[optind] || *end || id < 1)
			return cp_cli_usage_error("enroll-token", "'%s' is not a token id",
						  argv[optind]);
	}
	s = cp_cli_open(a.dir);
	if (!s)
		return CP_EXIT_FAILED;
	if (!strcmp(sub, "create"))
		return token_create(s, &a);
	if (!strcmp(sub, "revoke")) {
		r = cp_enroll_token_revoke(s, id, cp_cli_actor());
		if (r < 0)
			return cp_cli_fail(r, "revoke the enrollment token");
		printf("revoked token %lld\n", id);
		return CP_EXIT_OK;
	}
	if (a.json) {
		struct json_object *arr = json_object_new_array();

		r = cp_enroll_token_foreach(s, token_json, arr);
		if (r < 0)
			json_object_put(arr);
		else
			cp_cli_print_json(arr);
	} else {
		r = cp_enroll_token_foreach(s, token_line, NULL);
	}
	return r < 0 ? cp_cli_fail(r, "list the enrollment tokens") : CP_EXIT_OK;
}

static void help_ca(void)
{
	printf("Usage:\n"
	       "  " PROGRAM " enroll-ca [--dir STATE] import --cert FILE --key FILE [--force]\n"
	       "  " PROGRAM " enroll-ca [--dir STATE] crl [--days N]\n\n"
	       "The enrollment CA made by `sluice-provision ca enrollment-ca`: import copies\n"
	       "its certificate and key to STATE/tls/enroll-ca.crt and enroll-ca.key (0600) and\n"
	       "writes its CRL, STATE/tls/enroll-crl.pem, which serve loads next to crl.pem; crl\n"
	       "signs a new one (valid %d days by default): run it before the old one's next\n"
	       "update, then reload serve (SIGHUP).\n",
	       CP_ENROLL_CRL_DAYS);
}

int cp_cmd_enroll_ca(int argc, char **argv)
{
	_cleanup_(cp_state_freep) struct cp_state *s = NULL;
	struct args a;
	const char *sub;
	unsigned long days = CP_ENROLL_CRL_DAYS;
	char *end = NULL, next[21];
	int64_t when = 0;
	int r;

	if ((r = parse("enroll-ca", argc, argv, &a)) != 0)
		return r;
	if (a.help) {
		help_ca();
		return CP_EXIT_OK;
	}
	if (optind + 1 != argc)
		return cp_cli_usage_error("enroll-ca", "expects import or crl");
	sub = argv[optind];
	if (!strcmp(sub, "import") && (!a.cert || !a.key))
		return cp_cli_usage_error("enroll-ca", "import needs --cert FILE and --key FILE");
	if (strcmp(sub, "import") && strcmp(sub, "crl"))
		return cp_cli_usage_error("enroll-ca", "unknown sub-command '%s'", sub);
	if (a.days) {
		days = strtoul(a.days, &end, 10);
		if (!*a.days || *end || days < 1 || days > 3650)
			return cp_cli_usage_error("enroll-ca", "--days: '%s' is not 1 to 3650",
						  a.days);
	}
	s = cp_cli_open(a.dir);
	if (!s)
		return CP_EXIT_FAILED;
	if (!strcmp(sub, "import")) {
		r = cp_enroll_ca_import(s, a.cert, a.key, a.force, cp_cli_actor());
		if (r < 0)
			return cp_cli_fail(r, "import the enrollment CA");
		printf("installed the enrollment CA in %s/tls (enroll-ca.crt, enroll-ca.key, "
		       "enroll-crl.pem); reload serve to use it\n",
		       a.dir);
		return CP_EXIT_OK;
	}
	r = cp_enroll_crl_write(s, (unsigned)days, cp_cli_actor(), &when);
	if (r < 0)
		return cp_cli_fail(r, "write the enrollment CRL");
	time_text(when, next);
	printf("wrote %s/tls/enroll-crl.pem (next update %s); reload serve to use it\n", a.dir,
	       next);
	return CP_EXIT_OK;
}
