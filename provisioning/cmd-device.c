/* SPDX-License-Identifier: Apache-2.0 */
/* Verbs `device` and `batch`: per-device provisioning media. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "verb.h"
#include "error.h"
#include "fileio.h"
#include "macro.h"

enum { OPT_ID = OPT_VERB_FIRST, OPT_HARDWARE, OPT_URL, OPT_ROOT, OPT_OUT, OPT_DAYS, OPT_CSV };

/* Largest CSV file and line; most devices in one batch. */
#define CSV_MAX (16u * 1024 * 1024)
#define CSV_LINE_MAX 256
#define BATCH_MAX 100000

/* Options shared by device and batch. */
struct media_opts {
	struct cli_common co;
	const char *id, *hardware, *url, *root, *out, *csv;
	uint32_t days;
};

static int parse_opts(int argc, char **argv, struct media_opts *o, void (*help)(void))
{
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, OPT_DIR},
	    {"passphrase-fd", required_argument, NULL, OPT_PASS_FD},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"id", required_argument, NULL, OPT_ID},
	    {"hardware", required_argument, NULL, OPT_HARDWARE},
	    {"controlplane", required_argument, NULL, OPT_URL},
	    {"root", required_argument, NULL, OPT_ROOT},
	    {"out", required_argument, NULL, OPT_OUT},
	    {"days", required_argument, NULL, OPT_DAYS},
	    {"csv", required_argument, NULL, OPT_CSV},
	    {"help", no_argument, NULL, OPT_HELP},
	    {},
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		r = cli_common_option(argv[0], c, optarg, &o->co);
		if (r < 0)
			return SL_CLI_EXIT_FAIL;
		if (r == 1)
			continue;
		switch (c) {
		case OPT_ID:
			o->id = optarg;
			break;
		case OPT_HARDWARE:
			o->hardware = optarg;
			break;
		case OPT_URL:
			o->url = optarg;
			break;
		case OPT_ROOT:
			o->root = optarg;
			break;
		case OPT_OUT:
			o->out = optarg;
			break;
		case OPT_CSV:
			o->csv = optarg;
			break;
		case OPT_DAYS:
			if (cli_parse_days(argv[0], "--days", optarg, &o->days))
				return SL_CLI_EXIT_FAIL;
			break;
		case OPT_HELP:
			help();
			return -1;
		default:
			return sl_cli_bad_option(argv[0], argv);
		}
	}
	if (optind < argc)
		return sl_cli_usage(argv[0], "unexpected argument '%s'", argv[optind]);
	if (!o->url)
		return sl_cli_usage(argv[0], "--controlplane URL is required");
	if (!prov_url_valid(o->url))
		return sl_cli_usage(argv[0],
				 "--controlplane: '%s' is not an https:// URL of at most %d "
				 "bytes",
				 o->url, PROV_URL_MAX);
	if (!o->root)
		return sl_cli_usage(argv[0], "--root ROOT is required");
	if (!o->out || !o->out[0])
		return sl_cli_usage(argv[0], "--out DIR is required");
	return 0;
}

/* Read and check the pinned root before asking for a passphrase. */
static int load_root(const char *path, uint8_t **ret, size_t *ret_len)
{
	uint64_t version = 0;
	int r;

	r = sl_read_file_at(AT_FDCWD, path, PROV_MEDIA_ROOT_MAX, ret, ret_len);
	if (r < 0) {
		if (r > -1000)
			sl_error(r, "%s: %s", path, strerror(-r));
		return sl_cli_fail(r, "read the root", path);
	}
	r = prov_root_check(*ret, *ret_len, &version, NULL);
	if (r < 0)
		return sl_cli_fail(r, "check the root", path);
	return 0;
}

static void help_device(void)
{
	printf(
	    "Usage: sluice-provision device --id ID --hardware HW --controlplane URL --root ROOT\n"
	    "                               --out DIR [--days N] [--force] [--dir PKI]\n"
	    "                               [--passphrase-fd N]\n\n"
	    "Write one device's provisioning medium into DIR: device.crt, device.key, ca.pem,\n"
	    "root.json, agent.conf and manifest.json (docs/provisioning.md). ROOT must be a TUF\n"
	    "root signed by its own threshold. The certificate is recorded in PKI/issued.jsonl.\n\n"
	    "  --id ID            device id, the certificate CN: 1-64 of [A-Za-z0-9._-]\n"
	    "  --hardware HW      hardware class (same characters)\n"
	    "  --controlplane URL https:// URL of the control plane\n"
	    "  --days N           certificate validity in days (%d)\n"
	    "  --force            re-issue an id issued before, and replace an existing DIR\n",
	    PROV_DAYS_DEVICE);
}

int cmd_device(int argc, char **argv)
{
	struct media_opts o = {.co = {.dir = PROV_PKI_DEFAULT_DIR, .pass_fd = -1},
			       .days = PROV_DAYS_DEVICE};
	_cleanup_free_ uint8_t *root = NULL;
	struct prov_pki *p = NULL;
	struct prov_issued rec;
	size_t root_len = 0;
	int r;

	r = parse_opts(argc, argv, &o, help_device);
	if (r)
		return r < 0 ? SL_CLI_EXIT_OK : r;
	if (o.csv)
		return sl_cli_usage(argv[0], "--csv belongs to 'batch'");
	if (!o.id || !prov_id_valid(o.id))
		return sl_cli_usage(argv[0], "--id: 1 to %d characters of [A-Za-z0-9._-] required",
				 PROV_ID_MAX);
	if (!o.hardware || !prov_id_valid(o.hardware))
		return sl_cli_usage(argv[0],
				 "--hardware: 1 to %d characters of [A-Za-z0-9._-] required",
				 PROV_ID_MAX);
	if (load_root(o.root, &root, &root_len))
		return SL_CLI_EXIT_FAIL;
	if (cli_pki_unlocked(o.co.dir, PROV_CA_DEVICE, o.co.pass_fd, &p))
		return SL_CLI_EXIT_FAIL;
	struct prov_device_spec spec = {
	    .id = o.id,
	    .hardware = o.hardware,
	    .controlplane_url = o.url,
	    .root = root,
	    .root_len = root_len,
	    .days = o.days,
	};
	r = prov_pki_issue_device(p, &spec, o.out, o.co.force ? PROV_FORCE_ID | PROV_FORCE_OUT : 0,
				  &rec);
	prov_pki_free(p);
	if (r < 0)
		return sl_cli_fail(r, "write the medium of", o.id);
	printf("%s: medium written to %s (certificate %s, valid until %s)\n", o.id, o.out,
	       rec.cert_sha256, rec.not_after);
	return SL_CLI_EXIT_OK;
}

struct csv_row {
	char id[PROV_ID_MAX + 1];
	char hardware[PROV_ID_MAX + 1];
};

/* One CSV line "id,hardware" (spaces around fields ignored); the header line is skipped. */
static int csv_line(const char *path, unsigned line, char *s, struct csv_row *row)
{
	char *comma = strchr(s, ','), *id = s, *hw;

	if (!comma || strchr(comma + 1, ','))
		return sl_error(SL_E_INVALID, "%s:%u: expected 'id,hardware'", path, line);
	*comma = '\0';
	hw = comma + 1;
	id += strspn(id, " \t");
	hw += strspn(hw, " \t");
	for (char *e = id + strlen(id); e > id && (e[-1] == ' ' || e[-1] == '\t'); *--e = '\0')
		;
	for (char *e = hw + strlen(hw); e > hw && (e[-1] == ' ' || e[-1] == '\t'); *--e = '\0')
		;
	if (line == 1 && strcmp(id, "id") == 0 && strcmp(hw, "hardware") == 0)
		return 0;
	if (!prov_id_valid(id) || !prov_id_valid(hw))
		return sl_error(SL_E_INVALID,
				"%s:%u: id and hardware must be 1 to %d characters of "
				"[A-Za-z0-9._-]",
				path, line, PROV_ID_MAX);
	snprintf(row->id, sizeof(row->id), "%s", id);
	snprintf(row->hardware, sizeof(row->hardware), "%s", hw);
	return 1;
}

static int csv_read(const char *path, struct csv_row **ret, size_t *ret_n)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_free_ struct csv_row *rows = NULL;
	size_t len, n = 0, cap = 0;
	unsigned line = 0;
	int r;

	r = sl_read_file_at(AT_FDCWD, path, CSV_MAX, &buf, &len);
	if (r < 0)
		return r > -1000 ? sl_error(r, "%s: %s", path, strerror(-r)) : r;
	if (memchr(buf, '\0', len))
		return sl_error(SL_E_INVALID, "%s: contains a NUL byte", path);
	for (char *s = (char *)buf, *nl; s && *s; s = nl) {
		nl = strchr(s, '\n');
		if (nl)
			*nl++ = '\0';
		line++;
		if (strlen(s) && s[strlen(s) - 1] == '\r')
			s[strlen(s) - 1] = '\0';
		if (strlen(s) > CSV_LINE_MAX)
			return sl_error(SL_E_TOO_LARGE, "%s:%u: line longer than %d bytes", path,
					line, CSV_LINE_MAX);
		if (s[strspn(s, " \t")] == '\0' || s[strspn(s, " \t")] == '#')
			continue;
		if (n == cap) {
			struct csv_row *v;

			cap = cap ? 2 * cap : 64;
			if (cap > BATCH_MAX)
				return sl_error(SL_E_TOO_LARGE, "%s: more than %d devices", path,
						BATCH_MAX);
			v = reallocarray(rows, cap, sizeof(*v));
			if (!v)
				return sl_error(SL_E_NOMEM, "out of memory");
			rows = v;
		}
		r = csv_line(path, line, s, &rows[n]);
		if (r < 0)
			return r;
		n += (size_t)r;
	}
	if (n == 0)
		return sl_error(SL_E_INVALID, "%s: no devices", path);
	*ret = TAKE_PTR(rows);
	*ret_n = n;
	return 0;
}

static void help_batch(void)
{
	printf(
	    "Usage: sluice-provision batch --csv FILE --controlplane URL --root ROOT --out DIR\n"
	    "                              [--days N] [--force] [--dir PKI] [--passphrase-fd N]\n\n"
	    "Write the media of every device listed in FILE (lines 'id,hardware'; an "
	    "'id,hardware'\n"
	    "header, blank lines and '#' comments are skipped) into DIR/<id>/. Each device is\n"
	    "all or nothing; the others go on after a failure, and a report at the end names\n"
	    "every failed device (exit status 1 if any failed). Progress on a terminal.\n\n"
	    "  --days N           certificate validity in days (%d)\n"
	    "  --force            re-issue ids issued before, and replace existing media\n",
	    PROV_DAYS_DEVICE);
}

struct failure {
	const char *id;
	int code;
	char message[256];
};

static void progress(size_t i, size_t n, const char *id, bool tty)
{
	if (tty)
		fprintf(stderr, "\rprovisioning %zu/%zu: %-64s", i, n, id);
}

static int batch_run(struct prov_pki *p, const struct media_opts *o, const struct csv_row *rows,
		     size_t n, const uint8_t *root, size_t root_len)
{
	_cleanup_free_ struct failure *fails = calloc(n, sizeof(*fails));
	bool tty = isatty(STDERR_FILENO) == 1;
	size_t n_fail = 0;

	if (!fails)
		return sl_cli_fail(sl_error(SL_E_NOMEM, "out of memory"), "run", "batch");
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *out = sl_cli_path_join(o->out, rows[i].id);
		struct prov_device_spec spec = {
		    .id = rows[i].id,
		    .hardware = rows[i].hardware,
		    .controlplane_url = o->url,
		    .root = root,
		    .root_len = root_len,
		    .days = o->days,
		};
		int r;

		progress(i + 1, n, rows[i].id, tty);
		r = out ? prov_pki_issue_device(
			      p, &spec, out, o->co.force ? PROV_FORCE_ID | PROV_FORCE_OUT : 0, NULL)
			: sl_error(SL_E_NOMEM, "out of memory");
		if (r < 0) {
			fails[n_fail].id = rows[i].id;
			fails[n_fail].code = r;
			snprintf(fails[n_fail].message, sizeof(fails[n_fail].message), "%s",
				 sl_error_message(r));
			n_fail++;
		}
	}
	if (tty)
		fputc('\n', stderr);
	printf("batch: %zu of %zu media written to %s, %zu failed\n", n - n_fail, n, o->out,
	       n_fail);
	for (size_t i = 0; i < n_fail; i++)
		fprintf(stderr, "sluice-provision: Failed to write the medium of '%s': %s [%s]\n",
			fails[i].id, fails[i].message, sl_error_name(fails[i].code));
	return n_fail ? SL_CLI_EXIT_FAIL : SL_CLI_EXIT_OK;
}

int cmd_batch(int argc, char **argv)
{
	struct media_opts o = {.co = {.dir = PROV_PKI_DEFAULT_DIR, .pass_fd = -1},
			       .days = PROV_DAYS_DEVICE};
	_cleanup_free_ uint8_t *root = NULL;
	_cleanup_free_ struct csv_row *rows = NULL;
	struct prov_pki *p = NULL;
	size_t root_len = 0, n = 0;
	int r;

	r = parse_opts(argc, argv, &o, help_batch);
	if (r)
		return r < 0 ? SL_CLI_EXIT_OK : r;
	if (o.id || o.hardware)
		return sl_cli_usage(argv[0], "--id and --hardware belong to 'device'; use --csv");
	if (!o.csv)
		return sl_cli_usage(argv[0], "--csv FILE is required");
	r = csv_read(o.csv, &rows, &n);
	if (r < 0)
		return sl_cli_fail(r, "read the device list", o.csv);
	if (load_root(o.root, &root, &root_len))
		return SL_CLI_EXIT_FAIL;
	r = sl_mkdir_p(o.out, 0700);
	if (r < 0)
		return sl_cli_fail(sl_error(r, "%s", sl_strerror(r)), "create", o.out);
	if (cli_pki_unlocked(o.co.dir, PROV_CA_DEVICE, o.co.pass_fd, &p))
		return SL_CLI_EXIT_FAIL;
	r = batch_run(p, &o, rows, n, root, root_len);
	prov_pki_free(p);
	return r;
}
