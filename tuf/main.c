/* SPDX-License-Identifier: Apache-2.0 */
/* sluice-tuf: a TUF client speaking the tuf-conformance client-under-test command line. */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "tuf/fetcher.h"
#include "tuf/json.h"
#include "tuf/metadata.h"
#include "tuf/updater.h"

#define PROGRAM "sluice-tuf"
#define MAX_TARGET_NAMES 1024
#define INSPECT_MAX TUF_DEFAULT_TARGETS_MAX

struct args {
	const char *metadata_dir;
	const char *metadata_url;
	const char *target_base_url;
	const char *target_dir;
	const char *target_names[MAX_TARGET_NAMES];
	size_t n_target_names;
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
	unsigned max_root_rotations;
	bool verbose;
	bool json;
	char **positional; /* borrowed from argv */
	int n_positional;
};

struct verb {
	const char *name;
	const char *summary;
	int (*run)(struct args *a);
};

static void help(void)
{
	printf("Usage:\n"
	       "  " PROGRAM " --metadata-dir DIR init TRUSTED_ROOT\n"
	       "  " PROGRAM " --metadata-dir DIR --metadata-url URL refresh\n"
	       "  " PROGRAM " --metadata-dir DIR --metadata-url URL --target-name NAME"
	       " [--target-name NAME ...]\n"
	       "             --target-base-url URL --target-dir DIR download\n"
	       "  " PROGRAM " [--json] inspect FILE|URL\n"
	       "\n"
	       "A TUF client (specification 1.0): trust a root, refresh metadata, download\n"
	       "verified targets. Speaks the tuf-conformance client-under-test protocol.\n"
	       "\n"
	       "Commands:\n"
	       "  init TRUSTED_ROOT   check that the file is root metadata signed by its own\n"
	       "                      threshold and write it as DIR/root.json\n"
	       "  refresh             update root, timestamp, snapshot and targets (TUF §5.3-5.6)\n"
	       "  download            refresh, then find each target through the delegations and\n"
	       "                      download it into the target directory under its\n"
	       "                      percent-encoded path; a cached copy that matches is kept\n"
	       "  inspect FILE|URL    print a metadata file: role, version, expiry, signatures\n"
	       "                      (checked against its own keys for root) and contents\n"
	       "\n"
	       "Options (before or after the command):\n"
	       "  --metadata-dir DIR        trusted metadata directory (non-versioned names)\n"
	       "  --metadata-url URL        metadata base URL (http://, https:// or file://)\n"
	       "  --target-name NAME        target path to download; repeatable\n"
	       "  --target-base-url URL     targets base URL\n"
	       "  --target-dir DIR          where downloaded targets are stored\n"
	       "  --ca-file FILE            PEM CA bundle: the only CAs trusted for https\n"
	       "  --cert FILE               client certificate (PEM) for mutual TLS\n"
	       "  --key FILE                client private key (PEM) for mutual TLS\n"
	       "  --max-root-rotations N    root versions fetched per refresh (default %d)\n"
	       "  --json                    inspect: machine-readable output\n"
	       "  -v, --verbose             report each step on standard error\n"
	       "  -h, --help                show this help and exit\n"
	       "\n"
	       "Exit status: 0 on success, 1 on any failure, with one line on standard error\n"
	       "\"" PROGRAM ": Failed to VERB: MESSAGE\" naming what was rejected and why.\n",
	       TUF_DEFAULT_MAX_ROOT_ROTATIONS);
}

enum {
	OPT_METADATA_DIR = 0x100,
	OPT_METADATA_URL,
	OPT_TARGET_NAME,
	OPT_TARGET_BASE_URL,
	OPT_TARGET_DIR,
	OPT_CA_FILE,
	OPT_CERT,
	OPT_KEY,
	OPT_MAX_ROOT_ROTATIONS,
	OPT_JSON,
};

static const struct option options[] = {
    {"metadata-dir", required_argument, NULL, OPT_METADATA_DIR},
    {"metadata-url", required_argument, NULL, OPT_METADATA_URL},
    {"target-name", required_argument, NULL, OPT_TARGET_NAME},
    {"target-base-url", required_argument, NULL, OPT_TARGET_BASE_URL},
    {"target-dir", required_argument, NULL, OPT_TARGET_DIR},
    {"ca-file", required_argument, NULL, OPT_CA_FILE},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"max-root-rotations", required_argument, NULL, OPT_MAX_ROOT_ROTATIONS},
    {"json", no_argument, NULL, OPT_JSON},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {},
};

/* 1 = help printed, 0 = parsed, -1 = usage error (already reported). */
static int parse_options(int argc, char **argv, const char *optstring, struct args *a)
{
	int c;

	optind = 0; /* GNU getopt: start over on this argv */
	opterr = 0;
	while ((c = getopt_long(argc, argv, optstring, options, NULL)) >= 0) {
		switch (c) {
		case OPT_METADATA_DIR:
			a->metadata_dir = optarg;
			break;
		case OPT_METADATA_URL:
			a->metadata_url = optarg;
			break;
		case OPT_TARGET_NAME:
			if (a->n_target_names == MAX_TARGET_NAMES) {
				fprintf(stderr, PROGRAM ": --target-name: more than %d names\n",
					MAX_TARGET_NAMES);
				return -1;
			}
			a->target_names[a->n_target_names++] = optarg;
			break;
		case OPT_TARGET_BASE_URL:
			a->target_base_url = optarg;
			break;
		case OPT_TARGET_DIR:
			a->target_dir = optarg;
			break;
		case OPT_CA_FILE:
			a->ca_file = optarg;
			break;
		case OPT_CERT:
			a->cert_file = optarg;
			break;
		case OPT_KEY:
			a->key_file = optarg;
			break;
		case OPT_MAX_ROOT_ROTATIONS: {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || v == 0 || v > UINT_MAX ||
			    optarg[0] == '-') {
				fprintf(stderr,
					PROGRAM ": --max-root-rotations: invalid number '%s'\n",
					optarg);
				return -1;
			}
			a->max_root_rotations = (unsigned)v;
			break;
		}
		case OPT_JSON:
			a->json = true;
			break;
		case 'v':
			a->verbose = true;
			break;
		case 'h':
			help();
			return 1;
		case ':':
			fprintf(stderr, PROGRAM ": option '%s' needs an argument\n",
				argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, PROGRAM ": unknown option '%s'\n", argv[optind - 1]);
			return -1;
		}
	}
	return 0;
}

static int fail(const char *verb, int r)
{
	fprintf(stderr, PROGRAM ": Failed to %s: %s\n", verb, sl_error_message(r));
	return 1;
}

static int usage_error(const char *verb, const char *what)
{
	fprintf(stderr, PROGRAM ": Failed to %s: %s (see --help)\n", verb, what);
	return 1;
}

static void info(const struct args *a, const char *fmt, ...) _printf_(2, 3);
static void info(const struct args *a, const char *fmt, ...)
{
	va_list ap;

	if (!a->verbose)
		return;
	va_start(ap, fmt);
	fputs(PROGRAM ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* init ---------------------------------------------------------------------------------------- */

static int run_init(struct args *a)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	if (!a->metadata_dir)
		return usage_error("init", "--metadata-dir is required");
	if (a->n_positional != 1)
		return usage_error("init", "expects exactly one TRUSTED_ROOT file");
	r = sl_read_file_at(AT_FDCWD, a->positional[0], TUF_DEFAULT_ROOT_MAX, &buf, &len);
	if (r < 0) {
		if (r > -4096)
			sl_error(r, "%s: %s", a->positional[0], sl_strerror(r));
		return fail("init", r);
	}
	r = sl_mkdir_p(a->metadata_dir, 0755);
	if (r < 0) {
		sl_error(r, "%s: %s", a->metadata_dir, sl_strerror(r));
		return fail("init", r);
	}
	r = tuf_updater_init_root(a->metadata_dir, buf, len);
	if (r < 0)
		return fail("init", r);
	info(a, "trusted root written to %s/root.json", a->metadata_dir);
	return 0;
}

/* refresh and download ------------------------------------------------------------------------ */

static int open_updater(struct args *a, struct tuf_fetcher **ret_f, struct tuf_updater **ret_u)
{
	struct tuf_fetcher_options fo = {
	    .ca_file = a->ca_file,
	    .cert_file = a->cert_file,
	    .key_file = a->key_file,
	};
	struct tuf_updater_config cfg = {
	    .metadata_dir = a->metadata_dir,
	    .metadata_base_url = a->metadata_url,
	    .target_base_url = a->target_base_url,
	    .limits.max_root_rotations = a->max_root_rotations,
	};
	int r;

	r = tuf_fetcher_new(&fo, ret_f);
	if (r < 0)
		return r;
	cfg.fetcher = *ret_f;
	r = tuf_updater_new(&cfg, ret_u);
	if (r < 0)
		*ret_f = tuf_fetcher_free(*ret_f);
	return r;
}

static void report_versions(const struct args *a, const struct tuf_updater *u)
{
	for (enum tuf_role_type t = TUF_ROLE_ROOT; t <= TUF_ROLE_TARGETS; t++) {
		const struct tuf_metadata *md = tuf_updater_trusted(u, t);

		if (md)
			info(a, "%s.json: version %" PRIu64, tuf_role_type_name(t), md->version);
	}
}

static int refresh(struct args *a, const char *verb, struct tuf_fetcher **ret_f,
		   struct tuf_updater **ret_u)
{
	int r;

	r = open_updater(a, ret_f, ret_u);
	if (r < 0)
		return fail(verb, r);
	r = tuf_updater_refresh(*ret_u);
	if (r < 0)
		return fail(verb, r);
	report_versions(a, *ret_u);
	info(a, "metadata refreshed with %" PRIu64 " requests", tuf_fetcher_requests(*ret_f));
	return 0;
}

static int run_refresh(struct args *a)
{
	struct tuf_fetcher *f = NULL;
	struct tuf_updater *u = NULL;
	int r;

	if (!a->metadata_dir || !a->metadata_url)
		return usage_error("refresh", "--metadata-dir and --metadata-url are required");
	if (a->n_positional)
		return usage_error("refresh", "takes no arguments");
	r = refresh(a, "refresh", &f, &u);
	tuf_updater_free(u);
	tuf_fetcher_free(f);
	return r;
}

static int download_one(struct args *a, struct tuf_updater *u, const char *name)
{
	_cleanup_free_ char *quoted = NULL, *filepath = NULL;
	const struct tuf_target *t;
	int r;

	r = tuf_updater_get_target(u, name, &t);
	if (r < 0)
		return r;
	r = tuf_path_quote(t->path, &quoted);
	if (r < 0)
		return r;
	if (asprintf(&filepath, "%s/%s", a->target_dir, quoted) < 0) {
		filepath = NULL;
		return -ENOMEM;
	}
	if (tuf_updater_find_cached_target(u, t, filepath) == 0) {
		info(a, "%s: already present in %s", name, filepath);
		return 0;
	}
	r = tuf_updater_download_target(u, t, filepath);
	if (r < 0)
		return r;
	info(a, "%s: downloaded to %s (%" PRIu64 " bytes)", name, filepath, t->length);
	return 0;
}

static int run_download(struct args *a)
{
	struct tuf_fetcher *f = NULL;
	struct tuf_updater *u = NULL;
	int r, ret;

	if (!a->metadata_dir || !a->metadata_url || !a->target_base_url || !a->target_dir)
		return usage_error("download", "--metadata-dir, --metadata-url, --target-base-url "
					       "and --target-dir are required");
	if (a->n_target_names == 0)
		return usage_error("download", "at least one --target-name is required");
	if (a->n_positional)
		return usage_error("download", "takes no arguments");
	ret = refresh(a, "download", &f, &u);
	if (ret == 0) {
		r = sl_mkdir_p(a->target_dir, 0755);
		if (r < 0)
			r = sl_error(r, "%s: %s", a->target_dir, sl_strerror(r));
		for (size_t i = 0; r >= 0 && i < a->n_target_names; i++)
			r = download_one(a, u, a->target_names[i]);
		if (r < 0)
			ret = fail("download", r);
	}
	tuf_updater_free(u);
	tuf_fetcher_free(f);
	return ret;
}

/* inspect ------------------------------------------------------------------------------------- */

static int read_input(const char *src, uint8_t **ret_buf, size_t *ret_len)
{
	struct tuf_fetcher *f = NULL;
	int r;

	if (!strstr(src, "://")) {
		r = sl_read_file_at(AT_FDCWD, src, INSPECT_MAX, ret_buf, ret_len);
		if (r < 0 && r > -4096)
			r = sl_error(r, "%s: %s", src, sl_strerror(r));
		return r;
	}
	r = tuf_fetcher_new(NULL, &f);
	if (r < 0)
		return r;
	r = tuf_fetcher_fetch_buf(f, src, INSPECT_MAX, ret_buf, ret_len);
	tuf_fetcher_free(f);
	return r;
}

/* The role of a document, from signed._type. */
static int detect_type(const uint8_t *buf, size_t len, enum tuf_role_type *ret)
{
	struct json_object *doc = NULL, *sig;
	const char *type;
	int r;

	r = tuf_json_parse(buf, len, 0, &doc);
	if (r < 0)
		return r;
	r = tuf_json_get_object(doc, "signed", &sig);
	if (r >= 0)
		r = tuf_json_get_string(sig, "_type", &type);
	if (r >= 0) {
		r = sl_error(TUF_E_TYPE, "unknown metadata type '%s'", type);
		for (enum tuf_role_type t = TUF_ROLE_ROOT; t <= TUF_ROLE_TARGETS; t++)
			if (strcmp(type, tuf_role_type_name(t)) == 0) {
				*ret = t;
				r = 0;
			}
	}
	json_object_put(doc);
	return r;
}

static struct json_object *signed_member(const struct tuf_metadata *md, const char *key)
{
	struct json_object *s = NULL, *v = NULL;

	json_object_object_get_ex(md->doc, "signed", &s);
	if (s)
		json_object_object_get_ex(s, key, &v);
	return v;
}

/* "keytype/scheme" of a key in a JSON key table. */
static void print_key_kind(struct json_object *table, const char *keyid)
{
	struct json_object *k = NULL, *t = NULL, *s = NULL;

	if (table)
		json_object_object_get_ex(table, keyid, &k);
	if (k) {
		json_object_object_get_ex(k, "keytype", &t);
		json_object_object_get_ex(k, "scheme", &s);
	}
	printf("%s/%s", t ? json_object_get_string(t) : "?", s ? json_object_get_string(s) : "?");
}

/* For root: whether each signature verifies with the key root itself lists. */
static const char *signature_state(const struct tuf_metadata *md, const struct tuf_signature *s)
{
	const struct tuf_root *root = &md->u.root;

	if (md->type != TUF_ROLE_ROOT)
		return NULL;
	for (size_t i = 0; i < root->n_keys; i++) {
		if (strcmp(root->keys[i].keyid, s->keyid) != 0)
			continue;
		if (!root->keys[i].key)
			return "unsupported key";
		return tuf_key_verify(root->keys[i].key, md->signed_bytes, md->signed_len, s->sig,
				      s->sig_len) == 0
			   ? "valid"
			   : "INVALID";
	}
	return "unknown key";
}

static void print_hashes(const struct tuf_hashes *h)
{
	char hex[2 * TUF_HASH_MAX_SIZE + 1];

	for (size_t i = 0; i < h->n; i++) {
		sl_hex_encode(h->h[i].digest, tuf_hash_alg_size(h->h[i].alg), hex);
		printf(", %s %s", tuf_hash_alg_name(h->h[i].alg), hex);
	}
}

static void print_meta(const struct tuf_meta_file *m)
{
	printf("  %s: version %" PRIu64, m->name, m->version);
	if (m->has_length)
		printf(", length %" PRIu64, m->length);
	if (m->has_hashes)
		print_hashes(&m->hashes);
	printf("\n");
}

static void print_role_keys(const char *indent, const char *name, const struct tuf_role_keys *k)
{
	printf("%s%s: threshold %" PRIu64 " of %zu keys\n", indent, name, k->threshold,
	       k->n_keyids);
	for (size_t i = 0; i < k->n_keyids; i++)
		printf("%s  %s\n", indent, k->keyids[i]);
}

static void print_root(const struct tuf_metadata *md)
{
	const struct tuf_root *r = &md->u.root;
	struct json_object *keys = signed_member(md, "keys");
	int v = tuf_metadata_verify_root_role(md, r, TUF_ROLE_ROOT);

	printf("self-signature: %s\n", v == 0 ? "threshold met" : sl_error_message(v));
	printf("consistent_snapshot: %s\n", r->consistent_snapshot ? "true" : "false");
	printf("keys:\n");
	for (size_t i = 0; i < r->n_keys; i++) {
		printf("  %s ", r->keys[i].keyid);
		print_key_kind(keys, r->keys[i].keyid);
		printf("%s\n", r->keys[i].key ? "" : " (unsupported)");
	}
	printf("roles:\n");
	for (enum tuf_role_type t = TUF_ROLE_ROOT; t <= TUF_ROLE_TARGETS; t++)
		print_role_keys("  ", tuf_role_type_name(t), &r->roles[t]);
}

static void print_delegations(const struct tuf_metadata *md, const struct tuf_delegations *d)
{
	struct json_object *dj = signed_member(md, "delegations"), *keys = NULL;

	if (dj)
		json_object_object_get_ex(dj, "keys", &keys);
	printf("delegations:\n  keys:\n");
	for (size_t i = 0; i < d->n_keys; i++) {
		printf("    %s ", d->keys[i].keyid);
		print_key_kind(keys, d->keys[i].keyid);
		printf("\n");
	}
	for (size_t i = 0; i < d->n_roles; i++) {
		const struct tuf_delegated_role *r = &d->roles[i];

		print_role_keys("  ", r->name, &r->keys);
		printf("    terminating: %s\n", r->terminating ? "true" : "false");
		for (size_t j = 0; j < r->n_paths; j++)
			printf("    path: %s\n", r->paths[j]);
		for (size_t j = 0; j < r->n_path_hash_prefixes; j++)
			printf("    path_hash_prefix: %s\n", r->path_hash_prefixes[j]);
	}
	if (d->succinct) {
		printf("  succinct_roles: prefix %s, bit_length %u (%" PRIu64 " bins)\n",
		       d->succinct->name_prefix, d->succinct->bit_length,
		       tuf_succinct_roles_count(d->succinct));
		print_role_keys("    ", "bins", &d->succinct->keys);
	}
}

static void print_targets(const struct tuf_metadata *md)
{
	const struct tuf_targets *t = &md->u.targets;

	printf("targets: %zu\n", t->n_targets);
	for (size_t i = 0; i < t->n_targets; i++) {
		printf("  %s: length %" PRIu64, t->targets[i].path, t->targets[i].length);
		print_hashes(&t->targets[i].hashes);
		printf("\n");
		if (t->targets[i].custom)
			printf("    custom: %s\n",
			       json_object_to_json_string_ext(t->targets[i].custom,
							      JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	if (t->delegations)
		print_delegations(md, t->delegations);
}

static void print_text(const struct tuf_metadata *md, int64_t now)
{
	char when[21];

	tuf_json_format_time(md->expires, when);
	printf("type: %s\nversion: %" PRIu64 "\nspec_version: %s\nexpires: %s%s\n",
	       tuf_role_type_name(md->type), md->version, md->spec_version, when,
	       md->expires <= now ? " EXPIRED" : "");
	printf("signatures: %zu\n", md->n_sigs);
	for (size_t i = 0; i < md->n_sigs; i++) {
		const char *st = signature_state(md, &md->sigs[i]);

		printf("  %s%s%s\n", md->sigs[i].keyid, st ? " " : "", st ? st : "");
	}
	switch (md->type) {
	case TUF_ROLE_ROOT:
		print_root(md);
		break;
	case TUF_ROLE_TIMESTAMP:
		printf("meta:\n");
		print_meta(&md->u.timestamp.snapshot);
		break;
	case TUF_ROLE_SNAPSHOT:
		printf("meta:\n");
		for (size_t i = 0; i < md->u.snapshot.n_meta; i++)
			print_meta(&md->u.snapshot.meta[i]);
		break;
	default:
		print_targets(md);
		break;
	}
}

static int print_json(const struct tuf_metadata *md, int64_t now)
{
	struct json_object *o = json_object_new_object(), *sigs = json_object_new_array();
	struct json_object *s = NULL;
	char when[21];

	if (!o || !sigs) {
		json_object_put(o);
		json_object_put(sigs);
		return -ENOMEM;
	}
	tuf_json_format_time(md->expires, when);
	json_object_object_add(o, "type", json_object_new_string(tuf_role_type_name(md->type)));
	json_object_object_add(o, "version", json_object_new_uint64(md->version));
	json_object_object_add(o, "spec_version", json_object_new_string(md->spec_version));
	json_object_object_add(o, "expires", json_object_new_string(when));
	json_object_object_add(o, "expired", json_object_new_boolean(md->expires <= now));
	for (size_t i = 0; i < md->n_sigs; i++) {
		struct json_object *e = json_object_new_object();
		const char *st = signature_state(md, &md->sigs[i]);

		json_object_object_add(e, "keyid", json_object_new_string(md->sigs[i].keyid));
		json_object_object_add(e, "valid",
				       st ? json_object_new_boolean(!strcmp(st, "valid")) : NULL);
		json_object_array_add(sigs, e);
	}
	json_object_object_add(o, "signatures", sigs);
	if (md->type == TUF_ROLE_ROOT)
		json_object_object_add(
		    o, "threshold_met",
		    json_object_new_boolean(
			tuf_metadata_verify_root_role(md, &md->u.root, TUF_ROLE_ROOT) == 0));
	json_object_object_get_ex(md->doc, "signed", &s);
	json_object_object_add(o, "signed", json_object_get(s));
	printf("%s\n",
	       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}

static int run_inspect(struct args *a)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct tuf_metadata *md = NULL;
	enum tuf_role_type type = TUF_ROLE_ROOT;
	size_t len;
	int r;

	if (a->n_positional != 1)
		return usage_error("inspect", "expects exactly one FILE or URL");
	r = read_input(a->positional[0], &buf, &len);
	if (r >= 0)
		r = detect_type(buf, len, &type);
	if (r >= 0)
		r = tuf_metadata_parse(buf, len, type, &md);
	if (r < 0)
		return fail("inspect", r);
	if (a->json)
		r = print_json(md, (int64_t)time(NULL));
	else
		print_text(md, (int64_t)time(NULL));
	tuf_metadata_free(md);
	if (r < 0)
		return fail("inspect", r);
	return 0;
}

static const struct verb verbs[] = {
    {"init", "trust a root", run_init},
    {"refresh", "update top-level metadata", run_refresh},
    {"download", "refresh and download targets", run_download},
    {"inspect", "print a metadata file", run_inspect},
};

int main(int argc, char **argv)
{
	struct args a = {};
	const struct verb *v = NULL;
	int r, verb_at;

	sl_log_set_ident(PROGRAM);
	/* Global options up to the command word ("+": stop at the first non-option). */
	r = parse_options(argc, argv, "+:hv", &a);
	if (r != 0)
		return r > 0 ? 0 : 1;
	if (optind >= argc) {
		fprintf(stderr, PROGRAM ": no command given (see --help)\n");
		return 1;
	}
	verb_at = optind;
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (strcmp(argv[verb_at], verbs[i].name) == 0)
			v = &verbs[i];
	if (!v) {
		fprintf(stderr, PROGRAM ": unknown command '%s' (see --help)\n", argv[verb_at]);
		return 1;
	}
	/* The command's own options and arguments, in any order. */
	r = parse_options(argc - verb_at, argv + verb_at, ":hv", &a);
	if (r != 0)
		return r > 0 ? 0 : 1;
	a.positional = argv + verb_at + optind;
	a.n_positional = argc - verb_at - optind;
	if (a.verbose)
		sl_log_set_level(SL_LOG_DEBUG);
	return v->run(&a);
}
