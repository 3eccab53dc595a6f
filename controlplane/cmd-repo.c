/* SPDX-License-Identifier: Apache-2.0 */
/* Verbs on the repository: init, root-import, publish, status, renew. */
#include <getopt.h>
#include <inttypes.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "db.h"
#include "devices.h"
#include "error.h"
#include "repo.h"
#include "tuf/json.h"

enum { OPT_DIR = 'd', OPT_HELP = 'h', OPT_JSON = 'j' };

static const struct option base_opts[] = {
    {"dir", required_argument, NULL, OPT_DIR},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {},
};

struct base_args {
	const char *dir;
	bool json;
	bool help;
};

/* Parse --dir, --json (when allow_json) and --help; positional arguments stay from optind. */
static int parse_base(const char *verb, int argc, char **argv, bool allow_json,
		      struct base_args *a)
{
	int c;

	*a = (struct base_args){.dir = CP_STATE_DIR_DEFAULT};
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", base_opts, NULL)) != -1) {
		switch (c) {
		case OPT_DIR:
			a->dir = optarg;
			break;
		case OPT_JSON:
			if (!allow_json)
				return cp_cli_usage_error(verb, "--json is not an option of this verb");
			a->json = true;
			break;
		case OPT_HELP:
			a->help = true;
			break;
		default:
			return cp_cli_bad_option(verb, argv);
		}
	}
	return 0;
}

int cp_cmd_init(int argc, char **argv)
{
	_cleanup_free_ char *keys = NULL;
	struct base_args a;
	int r;

	if ((r = parse_base("init", argc, argv, false, &a)) != 0)
		return r;
	if (a.help) {
		printf("Usage: " PROGRAM " init [--dir STATE]\n\n"
		       "Create the state directory (0700; an existing one must be empty), its\n"
		       "database, the online snapshot and timestamp keys, and STATE/online-keys.json\n"
		       "(their public halves) for the key ceremony.\n");
		return CP_EXIT_OK;
	}
	if (optind != argc)
		return cp_cli_usage_error("init", "unexpected argument '%s'", argv[optind]);
	cp_cli_log_airgap();
	r = cp_state_init(a.dir, cp_cli_actor(), &keys);
	if (r < 0)
		return cp_cli_fail(r, "initialise the state directory");
	printf("Initialised %s\n"
	       "Online public keys for the ceremony: %s\n"
	       "Next: `sluice-ceremony` imports that file; then `" PROGRAM " root-import ROOT`.\n",
	       a.dir, keys);
	return CP_EXIT_OK;
}

static void print_fingerprint(const char *hex)
{
	for (int i = 0; i < 16; i += 4)
		printf("%s%.4s", i ? " " : "", hex + i);
}

int cp_cmd_root_import(int argc, char **argv)
{
	_cleanup_(cp_state_freep) struct cp_state *s = NULL;
	struct cp_root_info info;
	struct base_args a;
	char exp[21];
	int r;

	if ((r = parse_base("root-import", argc, argv, false, &a)) != 0)
		return r;
	if (a.help) {
		printf("Usage: " PROGRAM " root-import [--dir STATE] ROOT.json\n\n"
		       "Trust ROOT.json as the repository's first root: it must be signed by its own\n"
		       "threshold, unexpired, and list exactly this control plane's online keys for\n"
		       "snapshot and timestamp. Compare the printed hash and key fingerprints with\n"
		       "the values read aloud at the ceremony.\n");
		return CP_EXIT_OK;
	}
	if (argc - optind != 1)
		return cp_cli_usage_error("root-import", "expects exactly one ROOT file");
	cp_cli_log_airgap();
	s = cp_cli_open(a.dir);
	if (!s)
		return CP_EXIT_FAILED;
	r = cp_repo_root_import(s, argv[optind], cp_cli_actor(), &info);
	if (r < 0)
		return cp_cli_fail(r, "import the root");
	tuf_json_format_time(info.expires, exp);
	printf("Trusted root version %" PRIu64 ", expires %s\nsha256 %s\n", info.version, exp,
	       info.sha256);
	for (int t = 0; t < 4; t++) {
		printf("%-9s threshold %" PRIu64 ":", tuf_role_type_name(t), info.threshold[t]);
		for (size_t i = 0; i < info.n_keyids[t]; i++) {
			printf("\n  %s  (", info.keyids[t][i]);
			print_fingerprint(info.keyids[t][i]);
			printf(")");
		}
		printf("\n");
	}
	return CP_EXIT_OK;
}

int cp_cmd_publish(int argc, char **argv)
{
	_cleanup_(cp_state_freep) struct cp_state *s = NULL;
	struct cp_publish_result res;
	struct base_args a;
	int r;

	if ((r = parse_base("publish", argc, argv, false, &a)) != 0)
		return r;
	if (a.help) {
		printf("Usage: " PROGRAM " publish [--dir STATE] BUNDLE_DIR\n\n"
		       "Verify a release bundle against the trusted root with the TUF client's\n"
		       "verifier, then serve it: artifacts content addressed, a new snapshot and\n"
		       "timestamp signed with the online keys, timestamp switched last. A refused\n"
		       "bundle changes nothing.\n");
		return CP_EXIT_OK;
	}
	if (argc - optind != 1)
		return cp_cli_usage_error("publish", "expects exactly one BUNDLE directory");
	cp_cli_log_airgap();
	s = cp_cli_open(a.dir);
	if (!s)
		return CP_EXIT_FAILED;
	r = cp_repo_publish(s, argv[optind], cp_cli_actor(), &res);
	if (r < 0)
		return cp_cli_fail(r, "publish the bundle");
	printf("Published release ");
	cp_cli_print_escaped(stdout, res.release);
	printf(": targets version %" PRIu64 ", snapshot %" PRIu64 ", timestamp %" PRIu64
	       ", root %" PRIu64 " (%zu new), %zu artifact file(s) added, %zu delegated role(s)\n",
	       res.targets_version, res.snapshot_version, res.timestamp_version, res.root_version,
	       res.n_new_roots, res.n_artifacts, res.n_roles);
	return CP_EXIT_OK;
}

int cp_cmd_renew(int argc, char **argv)
{
	_cleanup_(cp_state_freep) struct cp_state *s = NULL;
	struct base_args a;
	int r;

	if ((r = parse_base("renew", argc, argv, false, &a)) != 0)
		return r;
	if (a.help) {
		printf("Usage: " PROGRAM " renew [--dir STATE]\n\n"
		       "Re-sign timestamp (and snapshot) when less than half of its lifetime is\n"
		       "left, as `serve` does on its timer. Prints whether anything was renewed.\n");
		return CP_EXIT_OK;
	}
	if (optind != argc)
		return cp_cli_usage_error("renew", "unexpected argument '%s'", argv[optind]);
	s = cp_cli_open(a.dir);
	if (!s)
		return CP_EXIT_FAILED;
	r = cp_repo_renew_if_needed(s, cp_state_now(s));
	if (r < 0)
		return cp_cli_fail(r, "renew the timestamp");
	printf("%s\n", r > 0 ? "renewed" : "not needed");
	return CP_EXIT_OK;
}

/* ---- status ---- */

static int cert_expiry(const char *path, int64_t *ret)
{
	FILE *f = fopen(path, "re");
	X509 *x;
	struct tm tm;

	if (!f)
		return -errno;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		return SL_E_INVALID;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
		X509_free(x);
		return SL_E_INVALID;
	}
	X509_free(x);
	*ret = (int64_t)timegm(&tm);
	return 0;
}

static struct json_object *role_json(const char *name, uint64_t version, int64_t expires,
				     int64_t now)
{
	struct json_object *o = json_object_new_object();
	char t[21];

	tuf_json_format_time(expires, t);
	json_object_object_add(o, "role", json_object_new_string(name));
	json_object_object_add(o, "version", json_object_new_int64((int64_t)version));
	json_object_object_add(o, "expires", json_object_new_string(t));
	json_object_object_add(o, "days_left", json_object_new_int64((expires - now) / 86400));
	return o;
}

static int scalar(struct cp_state *s, const char *sql, int64_t arg, int64_t *ret);

static int add_roles(struct cp_state *s, struct json_object *arr, int64_t now)
{
	_cleanup_(cp_served_clear) struct cp_served v = {};
	int64_t n;
	int r;

	r = scalar(s, "SELECT COUNT(*) FROM roots WHERE ?1 = ?1", 0, &n);
	if (r < 0 || n == 0)
		return r; /* no root imported yet: nothing to show */
	r = cp_repo_load(s, &v);
	if (r < 0)
		return r;
	json_object_array_add(arr, role_json("root", v.root->version, v.root->expires, now));
	if (!v.timestamp)
		return 0;
	json_object_array_add(arr, role_json("targets", v.targets->version, v.targets->expires, now));
	json_object_array_add(arr, role_json("snapshot", v.snapshot->version, v.snapshot->expires,
					     now));
	json_object_array_add(arr, role_json("timestamp", v.timestamp->version,
					     v.timestamp->expires, now));
	for (size_t i = 0; i < v.n_roles; i++)
		json_object_array_add(arr, role_json(v.roles[i].name, v.roles[i].md->version,
						     v.roles[i].md->expires, now));
	return 0;
}

static int scalar(struct cp_state *s, const char *sql, int64_t arg, int64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = cp_db_prepare(s->db, sql, &st);

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, arg);
	if (sqlite3_step(st) != SQLITE_ROW)
		return cp_db_error(s->db, sqlite3_errcode(s->db), "database");
	*ret = sqlite3_column_int64(st, 0);
	return 0;
}

static int last_publish(struct cp_state *s, struct json_object *o)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = cp_db_prepare(s->db, "SELECT name, targets_version, published FROM releases WHERE "
				     "state = 'published' ORDER BY targets_version DESC LIMIT 1", &st);

	if (r < 0)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW) {
		json_object_object_add(o, "last_publish", NULL);
		return 0;
	}
	struct json_object *p = json_object_new_object();
	json_object_object_add(p, "release",
			       json_object_new_string((const char *)sqlite3_column_text(st, 0)));
	json_object_object_add(p, "targets_version", json_object_new_int64(sqlite3_column_int64(st, 1)));
	json_object_object_add(p, "time",
			       json_object_new_string((const char *)sqlite3_column_text(st, 2)));
	json_object_object_add(o, "last_publish", p);
	return 0;
}

static int status_json(struct cp_state *s, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *roles = json_object_new_array(), *dev = json_object_new_object(),
			   *ev = json_object_new_object();
	_cleanup_free_ char *crt = NULL;
	int64_t now = cp_state_now(s), reg, appr, dec, total, recent, exp = 0, gen;
	int r;

	json_object_object_add(o, "roles", roles);
	json_object_object_add(o, "devices", dev);
	json_object_object_add(o, "events", ev);
	r = add_roles(s, roles, now);
	if (r < 0)
		return r;
	if (asprintf(&crt, "%s/server.crt", s->tls_dir) < 0)
		return -ENOMEM;
	if (cert_expiry(crt, &exp) >= 0) {
		struct json_object *c = role_json("server certificate", 0, exp, now);

		json_object_object_del(c, "version");
		json_object_object_del(c, "role");
		json_object_object_add(o, "server_certificate", c);
	} else {
		json_object_object_add(o, "server_certificate", NULL);
	}
	if ((r = cp_devices_count(s, &reg, &appr, &dec)) < 0 ||
	    (r = scalar(s, "SELECT COUNT(*) FROM events WHERE ?1 = ?1", 0, &total)) < 0 ||
	    (r = scalar(s, "SELECT COUNT(*) FROM events WHERE received >= "
			   "strftime('%Y-%m-%dT%H:%M:%SZ', ?1, 'unixepoch')",
			now - 86400, &recent)) < 0 ||
	    (r = cp_db_meta_get_int(s->db, "generation", &gen)) < 0)
		return r;
	json_object_object_add(dev, "registered", json_object_new_int64(reg));
	json_object_object_add(dev, "approved", json_object_new_int64(appr));
	json_object_object_add(dev, "decommissioned", json_object_new_int64(dec));
	json_object_object_add(ev, "stored", json_object_new_int64(total));
	json_object_object_add(ev, "last_24h", json_object_new_int64(recent));
	json_object_object_add(o, "repository_generation", json_object_new_int64(gen));
	r = last_publish(s, o);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(o);
	return 0;
}

static void print_status(struct json_object *o)
{
	struct json_object *roles, *v, *x;

	json_object_object_get_ex(o, "roles", &roles);
	if (json_object_array_length(roles) == 0)
		printf("repository: no root imported yet\n");
	for (size_t i = 0; i < json_object_array_length(roles); i++) {
		struct json_object *e = json_object_array_get_idx(roles, i), *n, *ver, *ex, *d;

		json_object_object_get_ex(e, "role", &n);
		json_object_object_get_ex(e, "version", &ver);
		json_object_object_get_ex(e, "expires", &ex);
		json_object_object_get_ex(e, "days_left", &d);
		printf("%-12s version %-6" PRId64 " expires %s (%" PRId64 " days left)\n",
		       json_object_get_string(n), json_object_get_int64(ver),
		       json_object_get_string(ex), json_object_get_int64(d));
	}
	if (json_object_object_get_ex(o, "server_certificate", &v) && v) {
		json_object_object_get_ex(v, "expires", &x);
		printf("server certificate expires %s (%" PRId64 " days left)\n",
		       json_object_get_string(x),
		       json_object_get_int64(json_object_object_get(v, "days_left")));
	} else {
		printf("server certificate: none in STATE/tls/server.crt\n");
	}
	v = json_object_object_get(o, "devices");
	printf("devices: %" PRId64 " approved, %" PRId64 " registered, %" PRId64 " decommissioned\n",
	       json_object_get_int64(json_object_object_get(v, "approved")),
	       json_object_get_int64(json_object_object_get(v, "registered")),
	       json_object_get_int64(json_object_object_get(v, "decommissioned")));
	v = json_object_object_get(o, "events");
	printf("events: %" PRId64 " stored, %" PRId64 " received in the last 24 h\n",
	       json_object_get_int64(json_object_object_get(v, "stored")),
	       json_object_get_int64(json_object_object_get(v, "last_24h")));
	v = json_object_object_get(o, "last_publish");
	if (v) {
		printf("last publish: release ");
		cp_cli_print_escaped(stdout, json_object_get_string(json_object_object_get(v, "release")));
		printf(", targets version %" PRId64 ", at %s\n",
		       json_object_get_int64(json_object_object_get(v, "targets_version")),
		       json_object_get_string(json_object_object_get(v, "time")));
	} else {
		printf("last publish: never\n");
	}
}

int cp_cmd_status(int argc, char **argv)
{
	_cleanup_(cp_state_freep) struct cp_state *s = NULL;
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct base_args a;
	int r;

	if ((r = parse_base("status", argc, argv, true, &a)) != 0)
		return r;
	if (a.help) {
		printf("Usage: " PROGRAM " status [--dir STATE] [--json]\n\n"
		       "Expiry of every served role and of the server certificate (days left),\n"
		       "devices by state, events received, the last publish.\n");
		return CP_EXIT_OK;
	}
	if (optind != argc)
		return cp_cli_usage_error("status", "unexpected argument '%s'", argv[optind]);
	s = cp_cli_open(a.dir);
	if (!s)
		return CP_EXIT_FAILED;
	r = status_json(s, &o);
	if (r < 0)
		return cp_cli_fail(r, "read the status");
	if (a.json)
		cp_cli_print_json(TAKE_PTR(o));
	else
		print_status(o);
	return CP_EXIT_OK;
}
