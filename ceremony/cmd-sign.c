/* SPDX-License-Identifier: Apache-2.0 */
/* Verb sign: one holder adds one signature to a metadata file; threshold status display. */
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
#include "signer.h"
#include "tuf/json.h"
#include "tuf/updater.h"
#include "tuf/writer.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cer_key *, cer_key_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_signer *, tuf_signer_free)

enum {
	OPT_KEY = 0x100,
	OPT_PASS_FD,
	OPT_ROLE,
	OPT_PREV_ROOT,
	OPT_ROOT,
	OPT_DELEGATOR,
	OPT_TRANSCRIPT,
	OPT_JSON,
};

static const char *const role_types[] = {"root", "timestamp", "snapshot", "targets"};

int cli_peek_metadata(const char *path, char ret_type[static 16], uint64_t *ret_version)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	struct json_object *sig;
	const char *type;
	int64_t version;
	size_t len;
	int r;

	r = sl_read_file_at(AT_FDCWD, path, TUF_DEFAULT_TARGETS_MAX, &buf, &len);
	if (r < 0)
		return r == SL_E_TOO_LARGE || r == SL_E_INVALID
			   ? r
			   : sl_error(r, "%s: cannot read: %s", path, sl_strerror(r));
	if (tuf_json_parse(buf, len, 0, &doc) < 0 || tuf_json_get_object(doc, "signed", &sig) < 0 ||
	    tuf_json_get_string(sig, "_type", &type) < 0 ||
	    tuf_json_get_int(sig, "version", 1, &version) < 0)
		return sl_error(TUF_E_FORMAT, "%s: not TUF metadata (no signed._type and version)",
				path);
	for (size_t i = 0; i < ELEMENTSOF(role_types); i++)
		if (strcmp(type, role_types[i]) == 0) {
			snprintf(ret_type, 16, "%s", type);
			*ret_version = (uint64_t)version;
			return 0;
		}
	return sl_error(TUF_E_TYPE, "%s: unknown metadata type '%.32s'", path, type);
}

int cli_load_doc(const char *path, const char *type, struct json_object **ret)
{
	for (size_t i = 0; i < ELEMENTSOF(role_types); i++)
		if (strcmp(type, role_types[i]) == 0)
			return tuf_writer_load_file(path, (enum tuf_role_type)i, ret);
	return sl_error(TUF_E_TYPE, "%s: unknown metadata type '%s'", path, type);
}

static int status_one(struct json_object *doc, const char *role, struct json_object *authority,
		      const char *label, struct json_object *arr)
{
	struct tuf_writer_status s = {0};
	int r;

	r = tuf_writer_status(doc, role, authority, &s);
	if (r < 0)
		return r;
	cli_print_status(label, &s, arr);
	tuf_writer_status_clear(&s);
	return 0;
}

int cli_show_status(struct json_object *doc, const char *role, struct json_object *authority,
		    const char *file, struct json_object *out, bool *ret_complete)
{
	struct json_object *arr = out ? json_object_new_array() : NULL;
	uint64_t version = 0, prev_version = 0;
	char label[128];
	int r, complete;

	tuf_writer_get_version(doc, &version);
	if (out)
		json_object_object_add(out, "checks", arr);
	else
		printf("%s: %s version %" PRIu64 "\n", file, role, version);
	if (strcmp(role, "root") == 0 && authority) {
		tuf_writer_get_version(authority, &prev_version);
		snprintf(label, sizeof(label),
			 "root keys of the previous root (version %" PRIu64 ")", prev_version);
		r = status_one(doc, role, authority, label, arr);
		if (r < 0)
			return r;
	}
	if (strcmp(role, "root") == 0)
		snprintf(label, sizeof(label), "root keys of this root (version %" PRIu64 ")",
			 version);
	else
		snprintf(label, sizeof(label), "keys of role %s", role);
	r = status_one(doc, role, strcmp(role, "root") == 0 ? NULL : authority, label, arr);
	if (r < 0)
		return r;
	complete = tuf_writer_check_complete(doc, role, authority);
	if (out) {
		json_object_object_add(out, "complete", json_object_new_boolean(complete >= 0));
		if (complete < 0)
			json_object_object_add(out, "incomplete_reason",
					       json_object_new_string(sl_error_message(complete)));
	} else if (complete >= 0) {
		printf("  COMPLETE: every threshold is met; verified with the client verifier\n");
	} else {
		printf("  not complete yet: %s\n", sl_error_message(complete));
	}
	*ret_complete = complete >= 0;
	return 0;
}

static bool strv_has(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* Whether the role's keys (per authority) list keyid, signed or not. */
static bool in_status(struct json_object *doc, const char *role, struct json_object *authority,
		      const char *keyid)
{
	struct tuf_writer_status s = {0};
	bool found;

	if (tuf_writer_status(doc, role, authority, &s) < 0)
		return false;
	found = strv_has(s.valid, s.n_valid, keyid) || strv_has(s.missing, s.n_missing, keyid) ||
		strv_has(s.invalid, s.n_invalid, keyid);
	tuf_writer_status_clear(&s);
	return found;
}

bool cli_key_authorised(struct json_object *doc, const char *role, struct json_object *authority,
			const char *keyid)
{
	if (strcmp(role, "root") != 0)
		return in_status(doc, role, authority, keyid);
	return in_status(doc, role, NULL, keyid) ||
	       (authority && in_status(doc, role, authority, keyid));
}

struct sign_args {
	const char *file, *key, *role, *prev_root, *root, *delegator, *transcript;
	int pass_fd;
	bool json;
};

/* The authority document of args->file (tuf/writer.h) into *ret (NULL for a first root). */
static int load_authority(const struct sign_args *a, const char *type, uint64_t version,
			  struct json_object **ret)
{
	*ret = NULL;
	if (strcmp(type, "root") == 0) {
		if (!a->prev_root && version > 1)
			return sl_error(SL_E_INVALID,
					"%s: root version %" PRIu64 " needs --previous-root "
					"(version %" PRIu64 ")",
					a->file, version, version - 1);
		return a->prev_root ? cli_load_doc(a->prev_root, "root", ret) : 0;
	}
	if (strcmp(a->role, "targets") != 0 && strcmp(type, "targets") == 0) {
		if (!a->delegator)
			return sl_error(SL_E_INVALID,
					"%s: delegated role '%s' needs --delegator TARGETS.json",
					a->file, a->role);
		return cli_load_doc(a->delegator, "targets", ret);
	}
	if (!a->root)
		return sl_error(SL_E_INVALID, "%s: role %s needs --root ROOT.json", a->file,
				a->role);
	return cli_load_doc(a->root, "root", ret);
}

static int sign_file(const struct sign_args *a)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL, *auth = NULL, *out = NULL;
	_cleanup_(cer_key_freep) struct cer_key *key = NULL;
	_cleanup_(tuf_signer_freep) struct tuf_signer *signer = NULL;
	_cleanup_free_ char *dir = NULL, *name = NULL;
	struct cer_keyfile_info info;
	char type[16], fp[CER_FINGERPRINT_SIZE];
	uint64_t version;
	bool complete;
	int r;

	r = cli_peek_metadata(a->file, type, &version);
	if (r >= 0)
		r = cli_load_doc(a->file, type, &doc);
	if (r < 0)
		return sl_cli_fail(r, "load", a->file);
	struct sign_args args = *a;
	if (!args.role)
		args.role = type;
	else if (strcmp(type, "targets") != 0 && strcmp(args.role, type) != 0)
		return sl_cli_usage("sign", "--role %s does not match the file's type %s", args.role,
				 type);
	r = load_authority(&args, type, version, &auth);
	if (r < 0)
		return sl_cli_fail(r, "load the authority of", a->file);
	r = cer_keyfile_inspect(a->key, &info);
	if (r < 0)
		return sl_cli_fail(r, "read", a->key);
	if (!cli_key_authorised(doc, args.role, auth, info.keyid))
		return sl_cli_fail(sl_error(TUF_E_SIGNATURE,
					 "%s: key %s (%s, role %s) is not a key of role %s for "
					 "this version; nothing was signed",
					 a->file, cli_fp(info.keyid, fp), a->key, info.role,
					 args.role),
				"sign", a->file);
	r = cli_load_key(a->key, a->pass_fd, &key);
	if (r < 0)
		return sl_cli_fail(r, "open", a->key);
	r = cer_signer_new(key, &signer);
	if (r >= 0)
		r = tuf_writer_sign(doc, signer);
	if (r >= 0)
		r = cli_path_split(a->file, &dir, &name);
	if (r >= 0)
		r = tuf_writer_write(doc, args.role, auth, false, dir, name);
	if (r < 0)
		return sl_cli_fail(r, "sign", a->file);
	if (!a->json)
		printf("signed %s with key %s (%s)\n", a->file, cli_fp(info.keyid, fp), a->key);
	out = a->json ? json_object_new_object() : NULL;
	if (out) {
		json_object_object_add(out, "file", json_object_new_string(a->file));
		json_object_object_add(out, "signed_by", json_object_new_string(info.keyid));
	}
	r = cli_show_status(doc, args.role, auth, a->file, out, &complete);
	if (r < 0)
		return sl_cli_fail(r, "check", a->file);
	if (out)
		cli_print_json(out);
	cli_record(a->transcript, a->file, "sign", info.keyid, (int64_t)version);
	return SL_CLI_EXIT_OK;
}

static void sign_help(void)
{
	printf("Usage: sluice-ceremony sign FILE --key KEYFILE [OPTIONS]\n\n"
	       "Add one signature to the metadata FILE (root, targets, a delegated role) and\n"
	       "re-write it atomically after checking it with the client verifier. Refuses a key\n"
	       "that may not sign it, before asking for the passphrase. Prints who has signed\n"
	       "and how many signatures are still needed.\n\n"
	       "  --key KEYFILE        the sealed key to sign with\n"
	       "  --passphrase-fd N    read the passphrase from fd N (default: the terminal)\n"
	       "  --previous-root P    for root version N+1: root version N\n"
	       "  --root ROOT          for targets: the root that lists the targets keys\n"
	       "  --role NAME          for a delegated role: its name (with --delegator)\n"
	       "  --delegator T        for a delegated role: the delegating targets file\n"
	       "  --transcript FILE    transcript to append to (default: next to FILE)\n"
	       "  --json               print the status as JSON\n");
}

int cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, OPT_KEY},
	    {"passphrase-fd", required_argument, NULL, OPT_PASS_FD},
	    {"role", required_argument, NULL, OPT_ROLE},
	    {"previous-root", required_argument, NULL, OPT_PREV_ROOT},
	    {"root", required_argument, NULL, OPT_ROOT},
	    {"delegator", required_argument, NULL, OPT_DELEGATOR},
	    {"transcript", required_argument, NULL, OPT_TRANSCRIPT},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct sign_args a = {.pass_fd = -1};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_KEY:
			a.key = optarg;
			break;
		case OPT_PASS_FD:
			if (sl_cli_parse_fd(argv[0], optarg, &a.pass_fd) != 0)
				return SL_CLI_EXIT_FAIL;
			break;
		case OPT_ROLE:
			a.role = optarg;
			break;
		case OPT_PREV_ROOT:
			a.prev_root = optarg;
			break;
		case OPT_ROOT:
			a.root = optarg;
			break;
		case OPT_DELEGATOR:
			a.delegator = optarg;
			break;
		case OPT_TRANSCRIPT:
			a.transcript = optarg;
			break;
		case OPT_JSON:
			a.json = true;
			break;
		case 'h':
			sign_help();
			return SL_CLI_EXIT_OK;
		default:
			return sl_cli_bad_option(argv[0], argv);
		}
	}
	if (optind == argc)
		return sl_cli_usage(argv[0], "a metadata file is required");
	if (optind + 1 != argc)
		return sl_cli_usage(argv[0], "unexpected argument '%s'", argv[optind + 1]);
	if (!a.key)
		return sl_cli_usage(argv[0], "--key is required");
	a.file = argv[optind];
	return sign_file(&a);
}
