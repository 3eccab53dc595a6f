/* SPDX-License-Identifier: Apache-2.0 */
/* Verb status: expiry calendar of the metadata found, key files on the media, air-gap check. */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "verb.h"
#include "error.h"
#include "fileio.h"
#include "harden.h"
#include "macro.h"
#include "tuf/json.h"
#include "tuf/metadata.h"
#include "tuf/updater.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_metadata *, tuf_metadata_free)

#define MAX_DIRS 32
#define SCAN_DEPTH 4
#define SCAN_FILE_MAX TUF_DEFAULT_TARGETS_MAX
#define MAX_ENTRIES 4096
#define DAY 86400

enum { OPT_DIR = 0x100, OPT_WARN_DAYS, OPT_JSON };

struct role_entry {
	char *file;
	char role[TUF_MAX_ROLENAME_LEN + 1];
	uint64_t version;
	int64_t expires;
	size_t n_sigs;
};

struct key_entry {
	char *file;
	struct cer_keyfile_info info;
};

struct scan {
	struct role_entry roles[MAX_ENTRIES];
	size_t n_roles;
	struct key_entry keys[MAX_ENTRIES];
	size_t n_keys;
	size_t skipped; /* JSON files that are neither, or refused */
};

/* The role a targets-type file stands for: "V.<role>.json" or "<role>.json" by its name. */
static void targets_role_name(const char *file, char ret[static TUF_MAX_ROLENAME_LEN + 1])
{
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	size_t skip = strspn(base, "0123456789"), n;

	if (skip > 0 && base[skip] == '.')
		base += skip + 1;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".json") == 0 && n - 5 <= TUF_MAX_ROLENAME_LEN)
		snprintf(ret, TUF_MAX_ROLENAME_LEN + 1, "%.*s", (int)(n - 5), base);
	else
		snprintf(ret, TUF_MAX_ROLENAME_LEN + 1, "targets");
}

static void scan_metadata(struct scan *s, const char *path, const uint8_t *buf, size_t len,
			  struct json_object *doc)
{
	static const char *const types[] = {"root", "timestamp", "snapshot", "targets"};
	_cleanup_(tuf_metadata_freep) struct tuf_metadata *md = NULL;
	struct json_object *sig;
	struct role_entry *e;
	const char *type;

	if (tuf_json_get_object(doc, "signed", &sig) < 0 ||
	    tuf_json_get_string(sig, "_type", &type) < 0)
		return;
	for (size_t t = 0; t < ELEMENTSOF(types); t++)
		if (strcmp(type, types[t]) == 0 &&
		    tuf_metadata_parse(buf, len, (enum tuf_role_type)t, &md) >= 0)
			break;
	if (!md || s->n_roles >= MAX_ENTRIES || !(s->roles[s->n_roles].file = strdup(path))) {
		s->skipped++;
		return;
	}
	e = &s->roles[s->n_roles++];
	if (md->type == TUF_ROLE_TARGETS)
		targets_role_name(path, e->role);
	else
		snprintf(e->role, sizeof(e->role), "%s", type);
	e->version = md->version;
	e->expires = md->expires;
	e->n_sigs = md->n_sigs;
}

static void scan_file(struct scan *s, const char *path)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;

	if (sl_read_file_at(AT_FDCWD, path, SCAN_FILE_MAX, &buf, &len) < 0 ||
	    tuf_json_parse(buf, len, 0, &doc) < 0 || !json_object_is_type(doc, json_type_object))
		return;
	if (json_object_object_get_ex(doc, "sluice_key", NULL)) {
		struct key_entry *k = &s->keys[s->n_keys];

		if (s->n_keys >= MAX_ENTRIES ||
		    cer_keyfile_inspect_buf(buf, len, path, &k->info) < 0 ||
		    !(k->file = strdup(path))) {
			s->skipped++;
			return;
		}
		s->n_keys++;
		return;
	}
	scan_metadata(s, path, buf, len, doc);
}

static void scan_dir(struct scan *s, const char *dir, unsigned depth)
{
	struct dirent *de;
	DIR *d;

	if (depth > SCAN_DEPTH || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		_cleanup_free_ char *p = NULL;
		struct stat st;

		if (de->d_name[0] == '.' || !(p = sl_cli_path_join(dir, de->d_name)) ||
		    lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			scan_dir(s, p, depth + 1);
		else if (S_ISREG(st.st_mode) && st.st_size <= (off_t)SCAN_FILE_MAX)
			scan_file(s, p);
	}
	closedir(d);
}

static int cmp_expiry(const void *a, const void *b)
{
	const struct role_entry *x = a, *y = b;

	return x->expires < y->expires ? -1 : x->expires > y->expires;
}

static const char *state_of(const struct role_entry *e, int64_t now, uint64_t warn_days)
{
	if (e->expires <= now)
		return "EXPIRED";
	if (e->expires - now <= (int64_t)warn_days * DAY)
		return "WARN";
	return "ok";
}

static void print_text(const struct scan *s, int net, const char *ifname, uint64_t warn_days)
{
	int64_t now = (int64_t)time(NULL);
	char date[11], fp[CER_FINGERPRINT_SIZE];

	printf("Expiry calendar (WARN within %" PRIu64 " days):\n", warn_days);
	if (!s->n_roles)
		printf("  (no metadata found)\n");
	for (size_t i = 0; i < s->n_roles; i++) {
		const struct role_entry *e = &s->roles[i];

		cli_date(e->expires, date);
		printf("  %s  %-7s  %-12s v%-4" PRIu64 " %5" PRId64 " days  %zu sig%s  %s\n", date,
		       state_of(e, now, warn_days), e->role, e->version, (e->expires - now) / DAY,
		       e->n_sigs, e->n_sigs == 1 ? " " : "s", e->file);
	}
	printf("Key files:\n");
	if (!s->n_keys)
		printf("  (no sealed key files found)\n");
	for (size_t i = 0; i < s->n_keys; i++)
		printf("  %-10s %s  created %.10s  %s\n", s->keys[i].info.role,
		       cli_fp(s->keys[i].info.keyid, fp), s->keys[i].info.created, s->keys[i].file);
	if (net > 0)
		printf("Air gap: WARNING: network interface '%s' is up with an address\n", ifname);
	else if (net == 0)
		printf("Air gap: ok, no network interface is up (loopback only)\n");
	else
		printf("Air gap: unknown, %s\n", sl_error_message(net));
}

static void print_json(const struct scan *s, int net, const char *ifname, uint64_t warn_days)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *roles = json_object_new_array(), *keys = json_object_new_array();
	struct json_object *air = json_object_new_object();
	int64_t now = (int64_t)time(NULL);
	char t[21], fp[CER_FINGERPRINT_SIZE];

	for (size_t i = 0; i < s->n_roles; i++) {
		const struct role_entry *e = &s->roles[i];
		struct json_object *r = json_object_new_object();

		tuf_json_format_time(e->expires, t);
		json_object_object_add(r, "file", json_object_new_string(e->file));
		json_object_object_add(r, "role", json_object_new_string(e->role));
		json_object_object_add(r, "version", json_object_new_int64((int64_t)e->version));
		json_object_object_add(r, "expires", json_object_new_string(t));
		json_object_object_add(r, "days_left",
				       json_object_new_int64((e->expires - now) / DAY));
		json_object_object_add(r, "signatures", json_object_new_int64((int64_t)e->n_sigs));
		json_object_object_add(r, "state",
				       json_object_new_string(state_of(e, now, warn_days)));
		json_object_array_add(roles, r);
	}
	for (size_t i = 0; i < s->n_keys; i++) {
		struct json_object *k = json_object_new_object();

		json_object_object_add(k, "file", json_object_new_string(s->keys[i].file));
		json_object_object_add(k, "role", json_object_new_string(s->keys[i].info.role));
		json_object_object_add(k, "keyid", json_object_new_string(s->keys[i].info.keyid));
		json_object_object_add(k, "fingerprint",
				       json_object_new_string(cli_fp(s->keys[i].info.keyid, fp)));
		json_object_object_add(k, "created",
				       json_object_new_string(s->keys[i].info.created));
		json_object_array_add(keys, k);
	}
	json_object_object_add(air, "network_up", json_object_new_boolean(net > 0));
	if (net > 0)
		json_object_object_add(air, "interface", json_object_new_string(ifname));
	json_object_object_add(o, "warn_days", json_object_new_int64((int64_t)warn_days));
	json_object_object_add(o, "roles", roles);
	json_object_object_add(o, "keys", keys);
	json_object_object_add(o, "airgap", air);
	cli_print_json(o);
}

static void status_help(void)
{
	printf("Usage: sluice-ceremony status [--dir DIR]... [--warn-days N] [--json]\n\n"
	       "Scan DIR (default: the current directory; repeat for several USB sticks, up to\n"
	       "%d levels deep) for TUF metadata and sealed key files. Prints the expiry\n"
	       "calendar of every role found (WARN within N days, default 60), the key files\n"
	       "(role, fingerprint; no passphrase needed) and the air-gap check.\n",
	       SCAN_DEPTH);
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, OPT_DIR},
	    {"warn-days", required_argument, NULL, OPT_WARN_DAYS},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	const char *dirs[MAX_DIRS] = {0};
	char ifname[CER_IFNAME_SIZE] = "";
	uint64_t warn_days = 60;
	size_t n_dirs = 0;
	struct scan *s;
	bool json = false;
	int c, net;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DIR:
			if (n_dirs >= MAX_DIRS)
				return sl_cli_usage(argv[0], "--dir: at most %d directories",
						 MAX_DIRS);
			dirs[n_dirs++] = optarg;
			break;
		case OPT_WARN_DAYS:
			if (sl_cli_parse_uint(argv[0], "--warn-days", optarg, 0, 36500, &warn_days))
				return SL_CLI_EXIT_FAIL;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			status_help();
			return SL_CLI_EXIT_OK;
		default:
			return sl_cli_bad_option(argv[0], argv);
		}
	}
	if (optind < argc)
		return sl_cli_usage(argv[0], "unexpected argument '%s' (use --dir)", argv[optind]);
	if (n_dirs == 0)
		dirs[n_dirs++] = ".";
	s = calloc(1, sizeof(*s));
	if (!s)
		return sl_cli_fail(SL_E_NOMEM, "scan", dirs[0]);
	for (size_t i = 0; i < n_dirs; i++)
		scan_dir(s, dirs[i], 0);
	qsort(s->roles, s->n_roles, sizeof(*s->roles), cmp_expiry);
	net = cer_network_check(ifname);
	if (json)
		print_json(s, net, ifname, warn_days);
	else
		print_text(s, net, ifname, warn_days);
	for (size_t i = 0; i < s->n_roles; i++)
		free(s->roles[i].file);
	for (size_t i = 0; i < s->n_keys; i++)
		free(s->keys[i].file);
	free(s);
	return SL_CLI_EXIT_OK;
}
