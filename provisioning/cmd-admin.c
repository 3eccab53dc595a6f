/* SPDX-License-Identifier: Apache-2.0 */
/* Verbs `server-cert`, `export`, `revoke`, `crl`, `list` and `inspect`. */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "verb.h"
#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "tuf/json.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)

enum {
	OPT_DNS = OPT_VERB_FIRST,
	OPT_IP,
	OPT_OUT,
	OPT_DAYS,
	OPT_ID,
	OPT_REASON,
	OPT_CRL_DAYS,
	OPT_JSON,
	OPT_CA,
	OPT_IGNORE_EXPIRY,
};

/* Parse the options of a verb: common ones, then verb_option() for the rest. */
typedef int (*verb_option_fn)(const char *verb, int c, const char *arg, void *userdata);

static int parse(int argc, char **argv, const struct option *opts, struct cli_common *co,
		 verb_option_fn fn, void *userdata, void (*help)(void))
{
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		r = cli_common_option(argv[0], c, optarg, co);
		if (r < 0)
			return SL_CLI_EXIT_FAIL;
		if (r == 1)
			continue;
		if (c == OPT_HELP) {
			help();
			return -1;
		}
		if (c == '?' || c == ':')
			return sl_cli_bad_option(argv[0], argv);
		r = fn(argv[0], c, optarg, userdata);
		if (r)
			return r;
	}
	return 0;
}

#define COMMON_OPTIONS                                                                             \
	{"dir", required_argument, NULL, OPT_DIR},                                                 \
	    {"passphrase-fd", required_argument, NULL, OPT_PASS_FD},                               \
	{                                                                                          \
		"help", no_argument, NULL, OPT_HELP                                                \
	}

/* ---- server-cert ---- */

struct server_args {
	const char *dns[PROV_SAN_MAX], *ip[PROV_SAN_MAX];
	size_t n_dns, n_ip;
	const char *out;
	uint32_t days;
};

static void help_server(void)
{
	printf(
	    "Usage: sluice-provision server-cert --dns NAME [--dns NAME]... [--ip ADDR]...\n"
	    "                                    --out DIR [--days N] [--force] [--dir PKI]\n"
	    "                                    [--passphrase-fd N]\n\n"
	    "Issue the control plane's TLS certificate (EKU serverAuth, the names as SANs) from\n"
	    "the server CA and write what 'sluice-controlplane serve' reads from STATE/tls/:\n"
	    "server.crt, server.key (0600), device-ca.pem (device CA and enrollment CA, for\n"
	    "client certificates) and crl.pem. Existing files are refused without --force.\n\n"
	    "  --dns NAME         a DNS name (repeatable)\n"
	    "  --ip ADDR          an IPv4 or IPv6 address (repeatable)\n"
	    "  --days N           validity in days (%d)\n",
	    PROV_DAYS_SERVER);
}

static int server_option(const char *verb, int c, const char *arg, void *userdata)
{
	struct server_args *a = userdata;

	switch (c) {
	case OPT_DNS:
	case OPT_IP:
		if (a->n_dns + a->n_ip >= PROV_SAN_MAX)
			return sl_cli_usage(verb, "more than %d names", PROV_SAN_MAX);
		if (c == OPT_DNS)
			a->dns[a->n_dns++] = arg;
		else
			a->ip[a->n_ip++] = arg;
		return 0;
	case OPT_OUT:
		a->out = arg;
		return 0;
	case OPT_DAYS:
		return cli_parse_days(verb, "--days", arg, &a->days);
	default:
		return sl_cli_usage(verb, "unexpected option");
	}
}

int cmd_server_cert(int argc, char **argv)
{
	static const struct option opts[] = {
	    COMMON_OPTIONS,
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"dns", required_argument, NULL, OPT_DNS},
	    {"ip", required_argument, NULL, OPT_IP},
	    {"out", required_argument, NULL, OPT_OUT},
	    {"days", required_argument, NULL, OPT_DAYS},
	    {},
	};
	struct cli_common co = {.dir = PROV_PKI_DEFAULT_DIR, .pass_fd = -1};
	struct server_args a = {.days = PROV_DAYS_SERVER};
	struct prov_pki *p = NULL;
	int r;

	r = parse(argc, argv, opts, &co, server_option, &a, help_server);
	if (r)
		return r < 0 ? SL_CLI_EXIT_OK : r;
	if (optind < argc)
		return sl_cli_usage(argv[0], "unexpected argument '%s'", argv[optind]);
	if (a.n_dns + a.n_ip == 0)
		return sl_cli_usage(argv[0], "at least one --dns NAME or --ip ADDR is required");
	if (!a.out || !a.out[0])
		return sl_cli_usage(argv[0], "--out DIR is required");
	if (cli_pki_unlocked(co.dir, PROV_CA_SERVER, co.pass_fd, &p))
		return SL_CLI_EXIT_FAIL;
	struct prov_server_spec spec = {
	    .dns = a.dns,
	    .n_dns = a.n_dns,
	    .ip = a.ip,
	    .n_ip = a.n_ip,
	    .days = a.days,
	};
	r = prov_pki_server_cert(p, &spec, a.out, co.force ? PROV_FORCE_OUT : 0);
	prov_pki_free(p);
	if (r < 0)
		return sl_cli_fail(r, "write the server certificate to", a.out);
	printf("Wrote server.crt, server.key, device-ca.pem and crl.pem to %s\n", a.out);
	return SL_CLI_EXIT_OK;
}

/* ---- export ---- */

static void help_export(void)
{
	printf(
	    "Usage: sluice-provision export --out FILE [--dir PKI]\n\n"
	    "Write the approval file for 'sluice-controlplane devices approve --from FILE': one\n"
	    "JSON object per line, {\"id\", \"hardware\", \"cert_sha256\", \"not_after\"}, for "
	    "the\n"
	    "newest certificate of every device that is not revoked. No passphrase needed.\n");
}

static int out_option(const char *verb, int c, const char *arg, void *userdata)
{
	if (c != OPT_OUT)
		return sl_cli_usage(verb, "unexpected option");
	*(const char **)userdata = arg;
	return 0;
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
	    COMMON_OPTIONS,
	    {"out", required_argument, NULL, OPT_OUT},
	    {},
	};
	struct cli_common co = {.dir = PROV_PKI_DEFAULT_DIR, .pass_fd = -1};
	struct prov_pki *p = NULL;
	const char *out = NULL;
	size_t n = 0;
	int r;

	r = parse(argc, argv, opts, &co, out_option, &out, help_export);
	if (r)
		return r < 0 ? SL_CLI_EXIT_OK : r;
	if (optind < argc)
		return sl_cli_usage(argv[0], "unexpected argument '%s'", argv[optind]);
	if (!out || !out[0])
		return sl_cli_usage(argv[0], "--out FILE is required");
	r = prov_pki_open(co.dir, &p);
	if (r >= 0)
		r = prov_pki_export(p, out, &n);
	prov_pki_free(p);
	if (r < 0)
		return sl_cli_fail(r, "export the approval file", out);
	printf("Wrote %zu device%s to %s\n", n, n == 1 ? "" : "s", out);
	return SL_CLI_EXIT_OK;
}

/* ---- revoke and crl ---- */

struct revoke_args {
	const char *id, *out;
	int reason;
	uint32_t crl_days;
};

static void help_revoke(void)
{
	printf("Usage: sluice-provision revoke --id ID [--reason R] [--out DIR] [--crl-days N]\n"
	       "                               [--dir PKI] [--passphrase-fd N]\n\n"
	       "Revoke every certificate issued to device ID: record it in PKI/revoked.jsonl and\n"
	       "write a new CRL signed by the device CA to PKI/crl.pem and, with --out, to\n"
	       "DIR/crl.pem (carry it to the control plane as STATE/tls/crl.pem).\n\n"
	       "  --reason R         unspecified, keyCompromise, affiliationChanged, superseded,\n"
	       "                     cessationOfOperation, certificateHold, privilegeWithdrawn\n"
	       "  --crl-days N       the CRL's next update, in days (%d)\n",
	       PROV_DAYS_CRL);
}

static void help_crl(void)
{
	printf("Usage: sluice-provision crl [--out DIR] [--crl-days N] [--dir PKI] "
	       "[--passphrase-fd N]\n\n"
	       "Re-sign the device CA's CRL (same revocations, next CRL number) with a new next\n"
	       "update, before the current one expires; written to PKI/crl.pem and DIR/crl.pem.\n\n"
	       "  --crl-days N       the CRL's next update, in days (%d)\n",
	       PROV_DAYS_CRL);
}

static int revoke_option(const char *verb, int c, const char *arg, void *userdata)
{
	struct revoke_args *a = userdata;

	switch (c) {
	case OPT_ID:
		a->id = arg;
		return 0;
	case OPT_OUT:
		a->out = arg;
		return 0;
	case OPT_REASON:
		if (prov_crl_reason_from_name(arg, &a->reason) < 0)
			return sl_cli_usage(verb, "--reason: '%s' is not a revocation reason", arg);
		return 0;
	case OPT_CRL_DAYS:
		return cli_parse_days(verb, "--crl-days", arg, &a->crl_days);
	default:
		return sl_cli_usage(verb, "unexpected option");
	}
}

int cmd_revoke(int argc, char **argv)
{
	static const struct option opts[] = {
	    COMMON_OPTIONS,
	    {"id", required_argument, NULL, OPT_ID},
	    {"reason", required_argument, NULL, OPT_REASON},
	    {"out", required_argument, NULL, OPT_OUT},
	    {"crl-days", required_argument, NULL, OPT_CRL_DAYS},
	    {},
	};
	struct cli_common co = {.dir = PROV_PKI_DEFAULT_DIR, .pass_fd = -1};
	struct revoke_args a = {.reason = -1, .crl_days = PROV_DAYS_CRL};
	struct prov_pki *p = NULL;
	size_t n = 0;
	int r;

	r = parse(argc, argv, opts, &co, revoke_option, &a, help_revoke);
	if (r)
		return r < 0 ? SL_CLI_EXIT_OK : r;
	if (optind < argc)
		return sl_cli_usage(argv[0], "unexpected argument '%s'", argv[optind]);
	if (!a.id || !prov_id_valid(a.id))
		return sl_cli_usage(argv[0], "--id: 1 to %d characters of [A-Za-z0-9._-] required",
				 PROV_ID_MAX);
	if (cli_pki_unlocked(co.dir, PROV_CA_DEVICE, co.pass_fd, &p))
		return SL_CLI_EXIT_FAIL;
	r = prov_pki_revoke(p, a.id, a.reason, a.crl_days, a.out, &n);
	prov_pki_free(p);
	if (r < 0)
		return sl_cli_fail(r, "revoke", a.id);
	printf("%s: %zu certificate%s revoked; CRL written to %s/crl.pem%s%s%s\n", a.id, n,
	       n == 1 ? "" : "s", co.dir, a.out ? " and " : "", a.out ? a.out : "",
	       a.out ? "/crl.pem" : "");
	return SL_CLI_EXIT_OK;
}

int cmd_crl(int argc, char **argv)
{
	static const struct option opts[] = {
	    COMMON_OPTIONS,
	    {"out", required_argument, NULL, OPT_OUT},
	    {"crl-days", required_argument, NULL, OPT_CRL_DAYS},
	    {},
	};
	struct cli_common co = {.dir = PROV_PKI_DEFAULT_DIR, .pass_fd = -1};
	struct revoke_args a = {.reason = -1, .crl_days = PROV_DAYS_CRL};
	struct prov_pki *p = NULL;
	int r;

	r = parse(argc, argv, opts, &co, revoke_option, &a, help_crl);
	if (r)
		return r < 0 ? SL_CLI_EXIT_OK : r;
	if (optind < argc)
		return sl_cli_usage(argv[0], "unexpected argument '%s'", argv[optind]);
	if (cli_pki_unlocked(co.dir, PROV_CA_DEVICE, co.pass_fd, &p))
		return SL_CLI_EXIT_FAIL;
	r = prov_pki_crl_update(p, a.crl_days, a.out);
	prov_pki_free(p);
	if (r < 0)
		return sl_cli_fail(r, "update the CRL in", co.dir);
	printf("CRL written to %s/crl.pem%s%s%s\n", co.dir, a.out ? " and " : "",
	       a.out ? a.out : "", a.out ? "/crl.pem" : "");
	return SL_CLI_EXIT_OK;
}

/* ---- list ---- */

static void help_list(void)
{
	printf("Usage: sluice-provision list [--json] [--dir PKI]\n\n"
	       "List every issued device certificate: id, hardware, serial, expiry, revoked.\n");
}

static int json_option(const char *verb, int c, const char *arg, void *userdata)
{
	if (c != OPT_JSON)
		return sl_cli_usage(verb, "unexpected option");
	*(bool *)userdata = true;
	return 0;
}

static struct json_object *issued_json(const struct prov_issued *e)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_string(e->id));
	json_object_object_add(o, "hardware", json_object_new_string(e->hardware));
	json_object_object_add(o, "serial", json_object_new_string(e->serial));
	json_object_object_add(o, "cert_sha256", json_object_new_string(e->cert_sha256));
	json_object_object_add(o, "not_after", json_object_new_string(e->not_after));
	json_object_object_add(o, "issued", json_object_new_string(e->issued));
	json_object_object_add(o, "revoked", json_object_new_boolean(e->revoked));
	return o;
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
	    COMMON_OPTIONS,
	    {"json", no_argument, NULL, OPT_JSON},
	    {},
	};
	struct cli_common co = {.dir = PROV_PKI_DEFAULT_DIR, .pass_fd = -1};
	_cleanup_free_ struct prov_issued *v = NULL;
	struct prov_pki *p = NULL;
	bool json = false;
	size_t n = 0;
	int r;

	r = parse(argc, argv, opts, &co, json_option, &json, help_list);
	if (r)
		return r < 0 ? SL_CLI_EXIT_OK : r;
	if (optind < argc)
		return sl_cli_usage(argv[0], "unexpected argument '%s'", argv[optind]);
	r = prov_pki_open(co.dir, &p);
	if (r >= 0)
		r = prov_pki_issued_list(p, &v, &n);
	prov_pki_free(p);
	if (r < 0)
		return sl_cli_fail(r, "list the certificates of", co.dir);
	if (json) {
		_cleanup_(json_object_putp) struct json_object *arr = json_object_new_array();

		for (size_t i = 0; arr && i < n; i++)
			json_object_array_add(arr, issued_json(&v[i]));
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
								       JSON_C_TO_STRING_SPACED));
		return SL_CLI_EXIT_OK;
	}
	for (size_t i = 0; i < n; i++)
		printf("%-24s %-16s %s  until %.10s%s\n", v[i].id, v[i].hardware, v[i].serial,
		       v[i].not_after, v[i].revoked ? "  REVOKED" : "");
	return SL_CLI_EXIT_OK;
}

/* ---- inspect ---- */

struct inspect_args {
	bool json, ignore_expiry;
	const char *ca;
};

static void help_inspect(void)
{
	printf("Usage: sluice-provision inspect DIR [--ca FILE] [--ignore-expiry] [--json]\n\n"
	       "Check a provisioning medium the way the device does: exactly the six files, all\n"
	       "regular files within their size caps, hashes matching manifest.json, the key\n"
	       "matching the certificate (CN = device id, clientAuth, valid now), ca.pem a CA,\n"
	       "root.json a self-signed TUF root matching root_sha256, agent.conf consistent.\n"
	       "Exit status 0 when complete and consistent, 1 otherwise.\n\n"
	       "  --ca FILE          also verify device.crt against this device CA (PEM; e.g.\n"
	       "                     PKI/device-ca.crt), which is never on the medium\n"
	       "  --ignore-expiry    accept an expired or not yet valid device certificate\n"
	       "  --json             machine-readable output\n");
}

static int inspect_option(const char *verb, int c, const char *arg, void *userdata)
{
	struct inspect_args *a = userdata;

	switch (c) {
	case OPT_JSON:
		a->json = true;
		return 0;
	case OPT_IGNORE_EXPIRY:
		a->ignore_expiry = true;
		return 0;
	case OPT_CA:
		a->ca = arg;
		return 0;
	default:
		return sl_cli_usage(verb, "unexpected option");
	}
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v && v[0] ? json_object_new_string(v) : NULL);
}

static void add_time(struct json_object *o, const char *k, int64_t t)
{
	char buf[21];

	if (!t) {
		json_object_object_add(o, k, NULL);
		return;
	}
	tuf_json_format_time(t, buf);
	json_object_object_add(o, k, json_object_new_string(buf));
}

static void inspect_json(const char *dir, const struct prov_media_report *rep, int r)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *files = json_object_new_object(), *probs = json_object_new_array();
	size_t stored =
	    rep->n_problems < PROV_MEDIA_PROBLEMS_MAX ? rep->n_problems : PROV_MEDIA_PROBLEMS_MAX;

	if (!o || !files || !probs)
		return;
	add_str(o, "dir", dir);
	json_object_object_add(o, "ok", json_object_new_boolean(r == 0));
	add_str(o, "device_id", rep->device_id);
	add_str(o, "hardware", rep->hardware);
	add_str(o, "controlplane_url", rep->controlplane_url);
	add_str(o, "created", rep->created);
	add_str(o, "cert_sha256", rep->cert_sha256);
	add_str(o, "cert_serial", rep->cert_serial);
	add_str(o, "cert_issuer", rep->cert_issuer);
	add_time(o, "cert_not_before", rep->cert_not_before);
	add_time(o, "cert_not_after", rep->cert_not_after);
	json_object_object_add(o, "key_matches", json_object_new_boolean(rep->key_matches));
	json_object_object_add(o, "chain_checked", json_object_new_boolean(rep->chain_checked));
	add_str(o, "ca_subject", rep->ca_subject);
	add_time(o, "ca_not_after", rep->ca_not_after);
	json_object_object_add(o, "root_version",
			       json_object_new_int64((int64_t)rep->root_version));
	add_time(o, "root_expires", rep->root_expires);
	add_str(o, "root_sha256", rep->root_sha256);
	for (int i = 0; i < _PROV_MEDIA_FILE_MAX; i++) {
		struct json_object *f = json_object_new_object();

		json_object_object_add(f, "present", json_object_new_boolean(rep->present[i]));
		json_object_object_add(f, "size", json_object_new_int64((int64_t)rep->size[i]));
		json_object_object_add(f, "hash_ok", json_object_new_boolean(rep->hash_ok[i]));
		json_object_object_add(files, prov_media_file_name(i), f);
	}
	json_object_object_add(o, "files", files);
	for (size_t i = 0; i < stored; i++) {
		struct json_object *pr = json_object_new_object();

		add_str(pr, "file", rep->problems[i].file);
		add_str(pr, "code", sl_error_name(rep->problems[i].code));
		add_str(pr, "message", rep->problems[i].message);
		json_object_array_add(probs, pr);
	}
	json_object_object_add(o, "problems", probs);
	json_object_object_add(o, "n_problems", json_object_new_int64((int64_t)rep->n_problems));
	printf("%s\n",
	       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						     JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void inspect_text(const char *dir, const struct prov_media_report *rep, int r)
{
	size_t stored =
	    rep->n_problems < PROV_MEDIA_PROBLEMS_MAX ? rep->n_problems : PROV_MEDIA_PROBLEMS_MAX;
	char a[11], b[11];

	printf("medium:        %s\n", dir);
	if (r == 0)
		printf("status:        complete and consistent\n");
	else
		printf("status:        %zu problem%s\n", rep->n_problems,
		       rep->n_problems == 1 ? "" : "s");
	printf("device id:     %s\nhardware:      %s\ncontrol plane: %s\ncreated:       %s\n",
	       rep->device_id, rep->hardware, rep->controlplane_url, rep->created);
	if (rep->cert_sha256[0]) {
		cli_date(rep->cert_not_before, a);
		cli_date(rep->cert_not_after, b);
		printf("certificate:   serial %s, issuer '%s', valid %s to %s\n"
		       "               sha256 %s\n",
		       rep->cert_serial, rep->cert_issuer, a, b, rep->cert_sha256);
	}
	printf("key:           %s\n", rep->key_matches ? "matches the certificate"
						       : "NOT checked or "
							 "not matching");
	printf("chain:         %s\n", rep->chain_checked ? "verified against the device CA"
							 : "not verified (use --ca FILE)");
	if (rep->ca_subject[0]) {
		cli_date(rep->ca_not_after, b);
		printf("server CA:     '%s', valid to %s\n", rep->ca_subject, b);
	}
	if (rep->root_version) {
		cli_date(rep->root_expires, b);
		printf("root.json:     version %" PRIu64 ", expires %s\n", rep->root_version, b);
	}
	printf("files:\n");
	for (int i = 0; i < _PROV_MEDIA_FILE_MAX; i++)
		printf("  %-14s %s\n", prov_media_file_name(i),
		       !rep->present[i]	 ? "MISSING or unreadable"
		       : rep->hash_ok[i] ? "ok"
					 : "NOT matching the manifest");
	for (size_t i = 0; i < stored; i++)
		printf("problem:       %s [%s]\n", rep->problems[i].message,
		       sl_error_name(rep->problems[i].code));
	if (rep->n_problems > stored)
		printf("problem:       ... and %zu more\n", rep->n_problems - stored);
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, OPT_HELP},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"ca", required_argument, NULL, OPT_CA},
	    {"ignore-expiry", no_argument, NULL, OPT_IGNORE_EXPIRY},
	    {},
	};
	struct cli_common co = {.pass_fd = -1};
	struct inspect_args a = {0};
	_cleanup_free_ struct prov_media_report *rep = calloc(1, sizeof(*rep));
	_cleanup_free_ uint8_t *ca = NULL;
	size_t ca_len = 0;
	int r;

	r = parse(argc, argv, opts, &co, inspect_option, &a, help_inspect);
	if (r)
		return r < 0 ? SL_CLI_EXIT_OK : r;
	if (optind + 1 != argc)
		return sl_cli_usage(argv[0],
				 optind < argc ? "unexpected argument '%s'"
					       : "the medium directory DIR is required%s",
				 optind < argc ? argv[argc - 1] : "");
	if (!rep)
		return sl_cli_fail(sl_error(SL_E_NOMEM, "out of memory"), "inspect", argv[optind]);
	if (a.ca) {
		r = sl_read_file_at(AT_FDCWD, a.ca, PROV_PEM_MAX, &ca, &ca_len);
		if (r < 0)
			return sl_cli_fail(r > -1000 ? sl_error(r, "%s", strerror(-r)) : r, "read",
					a.ca);
	}
	r = prov_media_check(argv[optind], (const char *)ca,
			     a.ignore_expiry ? PROV_MEDIA_IGNORE_EXPIRY : 0, rep);
	if (a.json)
		inspect_json(argv[optind], rep, r);
	else
		inspect_text(argv[optind], rep, r);
	return r < 0 ? SL_CLI_EXIT_FAIL : SL_CLI_EXIT_OK;
}
