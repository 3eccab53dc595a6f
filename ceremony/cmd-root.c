/* SPDX-License-Identifier: Apache-2.0 */
/* Verbs root init, root rotate, root renew and root check: unsigned roots and their checks. */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "verb.h"
#include "error.h"
#include "macro.h"
#include "pubkey.h"
#include "tuf/json.h"
#include "tuf/writer.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)

/* Repeated options (keys, edits) per invocation. */
#define MAX_ITEMS 64

enum {
	OPT_ROOT_KEY = 0x100,
	OPT_TARGETS_KEY,
	OPT_ONLINE_KEYS,
	OPT_ROOT_THRESHOLD,
	OPT_TARGETS_THRESHOLD,
	OPT_EXPIRES_DAYS,
	OPT_OUT,
	OPT_PREV_ROOT,
	OPT_REPLACE_KEY,
	OPT_ADD_KEY,
	OPT_REMOVE_KEY,
	OPT_THRESHOLD,
	OPT_TRANSCRIPT,
	OPT_JSON,
};

struct root_args {
	const char *root_keys[MAX_ITEMS], *targets_keys[MAX_ITEMS];
	size_t n_root_keys, n_targets_keys;
	const char *replace[MAX_ITEMS], *add[MAX_ITEMS], *remove[MAX_ITEMS], *threshold[MAX_ITEMS];
	size_t n_replace, n_add, n_remove, n_threshold;
	const char *online_keys, *out, *prev_root, *transcript;
	uint64_t root_threshold, targets_threshold, expires_days;
	bool json;
};

static const char *const role_names[] = {"root", "timestamp", "snapshot", "targets"};

static int role_from_name(const char *name, size_t len, enum tuf_role_type *ret)
{
	for (size_t i = 0; i < ELEMENTSOF(role_names); i++)
		if (strlen(role_names[i]) == len && strncmp(role_names[i], name, len) == 0) {
			*ret = (enum tuf_role_type)i;
			return 0;
		}
	return sl_error(SL_E_INVALID, "'%.*s' is not root, timestamp, snapshot or targets",
			(int)len, name);
}

static int add_keys(struct json_object *doc, enum tuf_role_type role, const char *const *paths,
		    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_(json_object_putp) struct json_object *key = NULL;
		int r;

		r = cer_pubkey_load(paths[i], role_names[role], &key, NULL);
		if (r >= 0)
			r = tuf_writer_root_add_key(doc, role, key, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Replace snapshot and timestamp keys with those of the online keys file. */
static int set_online_keys(struct json_object *doc, const char *path)
{
	_cleanup_(json_object_putp) struct json_object *snap = NULL, *ts = NULL;
	struct json_object *roles, *role, *ids;
	int r;

	r = cer_online_keys_load(path, &snap, &ts);
	if (r < 0)
		return r;
	for (enum tuf_role_type t = TUF_ROLE_TIMESTAMP; t <= TUF_ROLE_SNAPSHOT; t++) {
		struct json_object *sig = NULL;

		/* Remove the old online keys of the role one by one. */
		json_object_object_get_ex(doc, "signed", &sig);
		while (json_object_object_get_ex(sig, "roles", &roles) &&
		       json_object_object_get_ex(roles, role_names[t], &role) &&
		       json_object_object_get_ex(role, "keyids", &ids) &&
		       json_object_array_length(ids) > 0) {
			_cleanup_free_ char *id =
			    strdup(json_object_get_string(json_object_array_get_idx(ids, 0)));

			r = id ? tuf_writer_root_remove_key(doc, t, id) : SL_E_NOMEM;
			if (r < 0)
				return r;
			json_object_object_get_ex(doc, "signed", &sig);
		}
		r = tuf_writer_root_add_key(doc, t, t == TUF_ROLE_SNAPSHOT ? snap : ts, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Every role must have at least threshold keys, or the root could never be complete. */
static int check_roles_satisfiable(struct json_object *doc, const char *file)
{
	struct json_object *sig, *roles;

	if (!json_object_object_get_ex(doc, "signed", &sig) ||
	    !json_object_object_get_ex(sig, "roles", &roles))
		return sl_error(TUF_E_FORMAT, "%s: no roles", file);
	for (size_t i = 0; i < ELEMENTSOF(role_names); i++) {
		struct json_object *role, *ids, *th;
		int64_t t;
		size_t n;

		if (!json_object_object_get_ex(roles, role_names[i], &role) ||
		    !json_object_object_get_ex(role, "keyids", &ids) ||
		    !json_object_object_get_ex(role, "threshold", &th))
			return sl_error(TUF_E_FORMAT, "%s: role %s incomplete", file,
					role_names[i]);
		n = json_object_array_length(ids);
		t = json_object_get_int64(th);
		if (n == 0 || t < 1 || (uint64_t)t > n)
			return sl_error(SL_E_INVALID,
					"%s: role %s has threshold %" PRId64 " but %zu key%s", file,
					role_names[i], t, n, n == 1 ? "" : "s");
	}
	return 0;
}

static void print_root_summary(struct json_object *doc, const char *file)
{
	struct json_object *sig, *roles, *exp;
	char fp[CER_FINGERPRINT_SIZE];
	uint64_t version = 0;

	json_object_object_get_ex(doc, "signed", &sig);
	json_object_object_get_ex(sig, "roles", &roles);
	json_object_object_get_ex(sig, "expires", &exp);
	tuf_writer_get_version(doc, &version);
	printf("wrote %s: root version %" PRIu64 ", expires %s, UNSIGNED\n", file, version,
	       json_object_get_string(exp));
	for (size_t i = 0; i < ELEMENTSOF(role_names); i++) {
		struct json_object *role, *ids, *th;

		json_object_object_get_ex(roles, role_names[i], &role);
		json_object_object_get_ex(role, "keyids", &ids);
		json_object_object_get_ex(role, "threshold", &th);
		printf("  %-9s threshold %s of %zu:", role_names[i], json_object_get_string(th),
		       json_object_array_length(ids));
		for (size_t k = 0; k < json_object_array_length(ids); k++)
			printf(
			    "  [%s]",
			    cli_fp(json_object_get_string(json_object_array_get_idx(ids, k)), fp));
		printf("\n");
	}
	printf("next: each root key holder runs 'sluice-ceremony sign %s --key KEY%s'\n", file,
	       version > 1 ? " --previous-root PREVIOUS" : "");
}

/* Write doc unsigned to args->out (refusing an existing file) and record it. */
static int write_root(struct json_object *doc, struct json_object *prev, const struct root_args *a,
		      const char *op)
{
	_cleanup_free_ char *dir = NULL, *name = NULL;
	uint64_t version = 0;
	int r;

	r = check_roles_satisfiable(doc, a->out);
	if (r >= 0)
		r = cli_check_absent(a->out);
	if (r >= 0)
		r = cli_path_split(a->out, &dir, &name);
	if (r >= 0)
		r = tuf_writer_write(doc, "root", prev, false, dir, name);
	if (r < 0)
		return sl_cli_fail(r, "write", a->out);
	tuf_writer_get_version(doc, &version);
	if (a->json) {
		_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

		json_object_object_add(o, "file", json_object_new_string(a->out));
		json_object_object_add(o, "version", json_object_new_int64((int64_t)version));
		json_object_object_add(o, "signed",
				       json_object_get(json_object_object_get(doc, "signed")));
		cli_print_json(o);
	} else {
		print_root_summary(doc, a->out);
	}
	cli_record(a->transcript, a->out, op, NULL, (int64_t)version);
	return SL_CLI_EXIT_OK;
}

static int root_init(const struct root_args *a)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	int r;

	r = tuf_writer_new(TUF_ROLE_ROOT, 0, &doc);
	if (r >= 0)
		r = tuf_writer_set_expires_days(doc, 0, (unsigned)a->expires_days);
	if (r >= 0)
		r = add_keys(doc, TUF_ROLE_ROOT, a->root_keys, a->n_root_keys);
	if (r >= 0)
		r = add_keys(doc, TUF_ROLE_TARGETS, a->targets_keys, a->n_targets_keys);
	if (r >= 0)
		r = set_online_keys(doc, a->online_keys);
	if (r >= 0)
		r = tuf_writer_root_set_threshold(doc, TUF_ROLE_ROOT, a->root_threshold);
	if (r >= 0)
		r = tuf_writer_root_set_threshold(doc, TUF_ROLE_TARGETS, a->targets_threshold);
	if (r < 0)
		return sl_cli_fail(r, "build", a->out);
	return write_root(doc, NULL, a, "root-init");
}

/* Resolve a key id or a unique prefix of at least 8 hex digits (spaces ignored) in doc. */
static int resolve_keyid(struct json_object *doc, const char *ref, char ret[static 65])
{
	struct json_object *sig, *keys;
	char want[65];
	size_t n = 0, found = 0;

	for (const char *p = ref; *p && n < 64; p++)
		if (!isspace((unsigned char)*p))
			want[n++] = (char)tolower((unsigned char)*p);
	want[n] = '\0';
	if (n < 8 || strspn(want, "0123456789abcdef") != n)
		return sl_error(SL_E_INVALID, "'%s' is not a key id (at least 8 hex digits)", ref);
	json_object_object_get_ex(doc, "signed", &sig);
	if (!json_object_object_get_ex(sig, "keys", &keys))
		return sl_error(TUF_E_FORMAT, "root has no keys");
	json_object_object_foreach(keys, id, v)
	{
		(void)v;
		if (strncmp(id, want, n) == 0 && strlen(id) == 64) {
			snprintf(ret, 65, "%s", id);
			found++;
		}
	}
	if (found != 1)
		return sl_error(TUF_E_NOT_FOUND, "key id '%s' matches %zu keys of the root", ref,
				found);
	return 0;
}

static bool role_lists(struct json_object *doc, enum tuf_role_type t, const char *keyid)
{
	struct json_object *sig, *roles, *role, *ids;

	if (!json_object_object_get_ex(doc, "signed", &sig) ||
	    !json_object_object_get_ex(sig, "roles", &roles) ||
	    !json_object_object_get_ex(roles, role_names[t], &role) ||
	    !json_object_object_get_ex(role, "keyids", &ids))
		return false;
	for (size_t i = 0; i < json_object_array_length(ids); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(ids, i)), keyid) == 0)
			return true;
	return false;
}

/* OLDID=PUB: replace the key in every role that lists it. */
static int edit_replace(struct json_object *doc, const char *arg)
{
	_cleanup_(json_object_putp) struct json_object *key = NULL;
	const char *eq = strchr(arg, '=');
	char old[65], ref[80];
	bool done = false;
	int r;

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(ref))
		return sl_error(SL_E_INVALID, "--replace-key '%s': expected OLDID=PUBKEYFILE", arg);
	snprintf(ref, sizeof(ref), "%.*s", (int)(eq - arg), arg);
	r = resolve_keyid(doc, ref, old);
	if (r < 0)
		return r;
	for (enum tuf_role_type t = TUF_ROLE_ROOT; t <= TUF_ROLE_TARGETS && r >= 0; t++) {
		if (!role_lists(doc, t, old))
			continue;
		json_object_put(TAKE_PTR(key));
		r = cer_pubkey_load(eq + 1, role_names[t], &key, NULL);
		if (r >= 0)
			r = tuf_writer_root_replace_key(doc, t, old, key, NULL);
		done = true;
	}
	if (r >= 0 && !done)
		r = sl_error(TUF_E_NOT_FOUND, "--replace-key: no role lists key %s", old);
	return r;
}

/* ROLE:PUB */
static int edit_add(struct json_object *doc, const char *arg)
{
	_cleanup_(json_object_putp) struct json_object *key = NULL;
	const char *colon = strchr(arg, ':');
	enum tuf_role_type t;
	int r;

	if (!colon)
		return sl_error(SL_E_INVALID, "--add-key '%s': expected ROLE:PUBKEYFILE", arg);
	r = role_from_name(arg, (size_t)(colon - arg), &t);
	if (r >= 0)
		r = cer_pubkey_load(colon + 1, role_names[t], &key, NULL);
	if (r >= 0)
		r = tuf_writer_root_add_key(doc, t, key, NULL);
	return r;
}

/* ROLE:ID */
static int edit_remove(struct json_object *doc, const char *arg)
{
	const char *colon = strchr(arg, ':');
	enum tuf_role_type t;
	char id[65];
	int r;

	if (!colon)
		return sl_error(SL_E_INVALID, "--remove-key '%s': expected ROLE:KEYID", arg);
	r = role_from_name(arg, (size_t)(colon - arg), &t);
	if (r >= 0)
		r = resolve_keyid(doc, colon + 1, id);
	if (r >= 0)
		r = tuf_writer_root_remove_key(doc, t, id);
	return r;
}

/* ROLE=K */
static int edit_threshold(struct json_object *doc, const char *arg)
{
	const char *eq = strchr(arg, '=');
	enum tuf_role_type t;
	char *end = NULL;
	unsigned long long k;
	int r;

	if (!eq)
		return sl_error(SL_E_INVALID, "--threshold '%s': expected ROLE=K", arg);
	r = role_from_name(arg, (size_t)(eq - arg), &t);
	if (r < 0)
		return r;
	k = strtoull(eq + 1, &end, 10);
	if (eq[1] < '1' || eq[1] > '9' || *end || k > 1000)
		return sl_error(SL_E_INVALID, "--threshold '%s': K must be 1 to 1000", arg);
	return tuf_writer_root_set_threshold(doc, t, k);
}

static int apply_edits(struct json_object *doc, const struct root_args *a)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < a->n_replace; i++)
		r = edit_replace(doc, a->replace[i]);
	for (size_t i = 0; r >= 0 && i < a->n_remove; i++)
		r = edit_remove(doc, a->remove[i]);
	for (size_t i = 0; r >= 0 && i < a->n_add; i++)
		r = edit_add(doc, a->add[i]);
	for (size_t i = 0; r >= 0 && i < a->n_threshold; i++)
		r = edit_threshold(doc, a->threshold[i]);
	if (r >= 0 && a->online_keys)
		r = set_online_keys(doc, a->online_keys);
	return r;
}

static int root_next(const struct root_args *a, const char *op)
{
	_cleanup_(json_object_putp) struct json_object *prev = NULL, *doc = NULL;
	int r;

	r = cli_load_doc(a->prev_root, "root", &prev);
	if (r < 0)
		return sl_cli_fail(r, "load", a->prev_root);
	r = tuf_writer_root_rotate(prev, &doc);
	if (r >= 0)
		r = tuf_writer_set_expires_days(doc, 0, (unsigned)a->expires_days);
	if (r >= 0)
		r = apply_edits(doc, a);
	if (r < 0)
		return sl_cli_fail(r, "build", a->out);
	return write_root(doc, prev, a, op);
}

static void root_help(const char *verb)
{
	if (strcmp(verb, "root init") == 0)
		printf(
		    "Usage: sluice-ceremony root init --root-key PUB... --targets-key PUB...\n"
		    "         --online-keys FILE --out FILE [OPTIONS]\n\n"
		    "Write root version 1, unsigned, to FILE (which must not exist). PUB is a\n"
		    "sealed key file (its public part) or a public key file from 'pubkey'.\n\n"
		    "  --root-key PUB          a root key (repeat; role must be root)\n"
		    "  --targets-key PUB       a targets key (repeat; role must be targets)\n"
		    "  --online-keys FILE      snapshot and timestamp keys from the control plane\n"
		    "  --root-threshold N      root signatures required (default 2)\n"
		    "  --targets-threshold N   targets signatures required (default 1)\n"
		    "  --expires-days D        lifetime in days (default 365)\n");
	else if (strcmp(verb, "root check") == 0)
		printf(
		    "Usage: sluice-ceremony root check FILE [--previous-root P] [--json]\n\n"
		    "Show the signature status of root FILE and exit 0 only when it is complete:\n"
		    "its own root threshold and, for version N+1, the threshold of version N\n"
		    "(--previous-root), checked with the client verifier.\n");
	else
		printf("Usage: sluice-ceremony %s --previous-root N.json --out FILE [OPTIONS]\n\n"
		       "Write root version N+1, unsigned, to FILE. It must then be signed by the\n"
		       "root threshold of version N and of version N+1 ('sign ... "
		       "--previous-root').\n\n"
		       "  --expires-days D        lifetime in days (default 365)\n"
		       "%s",
		       verb,
		       strcmp(verb, "root rotate") == 0
			   ? "  --replace-key OLDID=PUB replace a key (key id or 8+ hex digits)\n"
			     "  --add-key ROLE:PUB      add a key to ROLE\n"
			     "  --remove-key ROLE:ID    remove a key from ROLE\n"
			     "  --threshold ROLE=K      set ROLE's threshold\n"
			     "  --online-keys FILE      new snapshot and timestamp keys\n"
			   : "");
	printf("  --transcript FILE       transcript to append to (default: next to FILE)\n"
	       "  --json                  print the result as JSON\n");
}

static int push(const char *verb, const char **v, size_t *n, const char *s)
{
	if (*n >= MAX_ITEMS)
		return sl_cli_usage(verb, "too many repeated options (at most %d)", MAX_ITEMS);
	v[(*n)++] = s;
	return 0;
}

static int root_parse(int argc, char **argv, struct root_args *a)
{
	static const struct option opts[] = {
	    {"root-key", required_argument, NULL, OPT_ROOT_KEY},
	    {"targets-key", required_argument, NULL, OPT_TARGETS_KEY},
	    {"online-keys", required_argument, NULL, OPT_ONLINE_KEYS},
	    {"root-threshold", required_argument, NULL, OPT_ROOT_THRESHOLD},
	    {"targets-threshold", required_argument, NULL, OPT_TARGETS_THRESHOLD},
	    {"expires-days", required_argument, NULL, OPT_EXPIRES_DAYS},
	    {"out", required_argument, NULL, OPT_OUT},
	    {"previous-root", required_argument, NULL, OPT_PREV_ROOT},
	    {"replace-key", required_argument, NULL, OPT_REPLACE_KEY},
	    {"add-key", required_argument, NULL, OPT_ADD_KEY},
	    {"remove-key", required_argument, NULL, OPT_REMOVE_KEY},
	    {"threshold", required_argument, NULL, OPT_THRESHOLD},
	    {"transcript", required_argument, NULL, OPT_TRANSCRIPT},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	const char *v = argv[0];
	int c, r = 0;

	opterr = 0;
	while (r == 0 && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT_KEY:
			r = push(v, a->root_keys, &a->n_root_keys, optarg);
			break;
		case OPT_TARGETS_KEY:
			r = push(v, a->targets_keys, &a->n_targets_keys, optarg);
			break;
		case OPT_ONLINE_KEYS:
			a->online_keys = optarg;
			break;
		case OPT_ROOT_THRESHOLD:
			r = sl_cli_parse_uint(v, "--root-threshold", optarg, 1, 1000,
					   &a->root_threshold);
			break;
		case OPT_TARGETS_THRESHOLD:
			r = sl_cli_parse_uint(v, "--targets-threshold", optarg, 1, 1000,
					   &a->targets_threshold);
			break;
		case OPT_EXPIRES_DAYS:
			r = sl_cli_parse_uint(v, "--expires-days", optarg, 1, TUF_WRITER_MAX_DAYS,
					   &a->expires_days);
			break;
		case OPT_OUT:
			a->out = optarg;
			break;
		case OPT_PREV_ROOT:
			a->prev_root = optarg;
			break;
		case OPT_REPLACE_KEY:
			r = push(v, a->replace, &a->n_replace, optarg);
			break;
		case OPT_ADD_KEY:
			r = push(v, a->add, &a->n_add, optarg);
			break;
		case OPT_REMOVE_KEY:
			r = push(v, a->remove, &a->n_remove, optarg);
			break;
		case OPT_THRESHOLD:
			r = push(v, a->threshold, &a->n_threshold, optarg);
			break;
		case OPT_TRANSCRIPT:
			a->transcript = optarg;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case 'h':
			root_help(v);
			return -1;
		default:
			return sl_cli_bad_option(v, argv);
		}
	}
	if (r != 0)
		return r;
	if (optind < argc)
		return sl_cli_usage(v, "unexpected argument '%s'", argv[optind]);
	if (!a->out)
		return sl_cli_usage(v, "--out is required");
	return 0;
}

/* Options of one verb that the others do not take. */
static int refuse_foreign(const char *verb, const struct root_args *a, bool init)
{
	if (init && (a->prev_root || a->n_replace || a->n_add || a->n_remove || a->n_threshold))
		return sl_cli_usage(verb, "--previous-root and key edits belong to 'root rotate'");
	if (!init &&
	    (a->n_root_keys || a->n_targets_keys || a->root_threshold || a->targets_threshold))
		return sl_cli_usage(verb, "--root-key, --targets-key and --*-threshold belong to "
				       "'root init' (use --add-key, --threshold)");
	return 0;
}

int cmd_root_init(int argc, char **argv)
{
	struct root_args a = {.expires_days = TUF_WRITER_ROOT_DAYS};
	int r = root_parse(argc, argv, &a);

	if (r != 0)
		return r < 0 ? SL_CLI_EXIT_OK : r;
	if (refuse_foreign(argv[0], &a, true))
		return SL_CLI_EXIT_FAIL;
	if (a.n_root_keys == 0)
		return sl_cli_usage(argv[0], "at least one --root-key is required");
	if (a.n_targets_keys == 0)
		return sl_cli_usage(argv[0], "at least one --targets-key is required");
	if (!a.online_keys)
		return sl_cli_usage(argv[0], "--online-keys is required");
	a.root_threshold = a.root_threshold ? a.root_threshold : 2;
	a.targets_threshold = a.targets_threshold ? a.targets_threshold : 1;
	if (a.root_threshold > a.n_root_keys)
		return sl_cli_usage(argv[0], "--root-threshold %" PRIu64 " exceeds the %zu root keys",
				 a.root_threshold, a.n_root_keys);
	if (a.targets_threshold > a.n_targets_keys)
		return sl_cli_usage(argv[0],
				 "--targets-threshold %" PRIu64 " exceeds the %zu targets keys",
				 a.targets_threshold, a.n_targets_keys);
	return root_init(&a);
}

static int root_rotate_or_renew(int argc, char **argv, bool renew)
{
	struct root_args a = {.expires_days = TUF_WRITER_ROOT_DAYS};
	int r = root_parse(argc, argv, &a);

	if (r != 0)
		return r < 0 ? SL_CLI_EXIT_OK : r;
	if (refuse_foreign(argv[0], &a, false))
		return SL_CLI_EXIT_FAIL;
	if (renew && (a.n_replace || a.n_add || a.n_remove || a.n_threshold || a.online_keys))
		return sl_cli_usage(argv[0],
				 "'root renew' changes only the expiry (use 'root rotate')");
	if (!a.prev_root)
		return sl_cli_usage(argv[0], "--previous-root is required");
	return root_next(&a, renew ? "root-renew" : "root-rotate");
}

int cmd_root_rotate(int argc, char **argv)
{
	return root_rotate_or_renew(argc, argv, false);
}

int cmd_root_renew(int argc, char **argv)
{
	return root_rotate_or_renew(argc, argv, true);
}

int cmd_root_check(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"previous-root", required_argument, NULL, OPT_PREV_ROOT},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	_cleanup_(json_object_putp) struct json_object *doc = NULL, *prev = NULL, *out = NULL;
	const char *prev_path = NULL, *file;
	bool json = false, complete = false;
	uint64_t version = 0;
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_PREV_ROOT:
			prev_path = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			root_help(argv[0]);
			return SL_CLI_EXIT_OK;
		default:
			return sl_cli_bad_option(argv[0], argv);
		}
	}
	if (optind + 1 != argc)
		return sl_cli_usage(argv[0], "exactly one root file is required");
	file = argv[optind];
	r = cli_load_doc(file, "root", &doc);
	if (r >= 0 && prev_path)
		r = cli_load_doc(prev_path, "root", &prev);
	if (r < 0)
		return sl_cli_fail(r, "load", r < 0 && !doc ? file : prev_path);
	tuf_writer_get_version(doc, &version);
	if (version > 1 && !prev)
		return sl_cli_usage(argv[0], "root version %" PRIu64 " needs --previous-root",
				 version);
	out = json ? json_object_new_object() : NULL;
	if (out)
		json_object_object_add(out, "file", json_object_new_string(file));
	r = cli_show_status(doc, "root", prev, file, out, &complete);
	if (r < 0)
		return sl_cli_fail(r, "check", file);
	if (out)
		cli_print_json(out);
	return complete ? SL_CLI_EXIT_OK : SL_CLI_EXIT_FAIL;
}
