/* SPDX-License-Identifier: Apache-2.0 */
/* Verbs transcript verify, seal and show: the hash-chained ceremony log. */
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
#include "pubkey.h"
#include "transcript.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cer_key *, cer_key_free)

#define DEFAULT_TRANSCRIPT "transcript.jsonl"

enum { OPT_FILE = 0x100, OPT_SEAL_KEY, OPT_REQUIRE_SEAL, OPT_KEY, OPT_PASS_FD, OPT_JSON };

struct tr_args {
	const char *file, *seal_key, *key;
	bool require_seal, json;
	int pass_fd;
};

static void tr_help(const char *verb)
{
	if (strcmp(verb, "transcript verify") == 0)
		printf(
		    "Usage: sluice-ceremony transcript verify [--file F] [--seal-key PUB]\n"
		    "         [--require-seal] [--json]\n\n"
		    "Check the hash chain of the transcript F (default ./" DEFAULT_TRANSCRIPT ")\n"
		    "and name the first broken record. With --seal-key, every seal must be signed\n"
		    "by that key (a key file or public key file); with --require-seal the last\n"
		    "record must be a seal.\n");
	else if (strcmp(verb, "transcript seal") == 0)
		printf("Usage: sluice-ceremony transcript seal --key KEYFILE [--file F]\n"
		       "         [--passphrase-fd N]\n\n"
		       "Append a final record signed with KEYFILE over the whole chain.\n");
	else
		printf("Usage: sluice-ceremony transcript show [--file F]\n\n"
		       "Verify, then print the transcript one readable line per record.\n");
}

static int tr_parse(int argc, char **argv, struct tr_args *a)
{
	static const struct option opts[] = {
	    {"file", required_argument, NULL, OPT_FILE},
	    {"seal-key", required_argument, NULL, OPT_SEAL_KEY},
	    {"require-seal", no_argument, NULL, OPT_REQUIRE_SEAL},
	    {"key", required_argument, NULL, OPT_KEY},
	    {"passphrase-fd", required_argument, NULL, OPT_PASS_FD},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int c;

	*a = (struct tr_args){.file = DEFAULT_TRANSCRIPT, .pass_fd = -1};
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_FILE:
			a->file = optarg;
			break;
		case OPT_SEAL_KEY:
			a->seal_key = optarg;
			break;
		case OPT_REQUIRE_SEAL:
			a->require_seal = true;
			break;
		case OPT_KEY:
			a->key = optarg;
			break;
		case OPT_PASS_FD:
			if (sl_cli_parse_fd(argv[0], optarg, &a->pass_fd) != 0)
				return SL_CLI_EXIT_FAIL;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case 'h':
			tr_help(argv[0]);
			return -1;
		default:
			return sl_cli_bad_option(argv[0], argv);
		}
	}
	if (optind < argc)
		return sl_cli_usage(argv[0], "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* The raw Ed25519 public key of a key file or TUF key object file. */
static int seal_public(const char *path, uint8_t pub[static CER_PUBLIC_KEY_BYTES])
{
	_cleanup_(json_object_putp) struct json_object *key = NULL;
	struct json_object *kv, *p;
	int r;

	r = cer_pubkey_load(path, NULL, &key, NULL);
	if (r < 0)
		return r;
	if (strcmp(json_object_get_string(json_object_object_get(key, "keytype")), "ed25519") ||
	    !json_object_object_get_ex(key, "keyval", &kv) ||
	    !json_object_object_get_ex(kv, "public", &p) ||
	    sl_hex_decode(json_object_get_string(p), (size_t)json_object_get_string_len(p), pub,
			  CER_PUBLIC_KEY_BYTES) != CER_PUBLIC_KEY_BYTES)
		return sl_error(TUF_E_UNSUPPORTED, "%s: a transcript seal key must be Ed25519",
				path);
	return 0;
}

int cmd_transcript_verify(int argc, char **argv)
{
	struct cer_transcript_status st = {0};
	uint8_t pub[CER_PUBLIC_KEY_BYTES];
	struct tr_args a;
	int64_t bad = 0;
	int r = tr_parse(argc, argv, &a);

	if (r != 0)
		return r < 0 ? SL_CLI_EXIT_OK : r;
	if (a.seal_key) {
		r = seal_public(a.seal_key, pub);
		if (r < 0)
			return sl_cli_fail(r, "read", a.seal_key);
	}
	r = cer_transcript_verify(a.file, a.seal_key ? pub : NULL,
				  a.require_seal ? CER_TRANSCRIPT_REQUIRE_SEAL : 0, &st, &bad);
	if (a.json) {
		_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

		json_object_object_add(o, "file", json_object_new_string(a.file));
		json_object_object_add(o, "ok", json_object_new_boolean(r >= 0));
		json_object_object_add(o, "records", json_object_new_int64(st.records));
		json_object_object_add(o, "last_seal", json_object_new_int64(st.last_seal_seq));
		if (r < 0) {
			json_object_object_add(o, "first_bad_record", json_object_new_int64(bad));
			json_object_object_add(o, "error",
					       json_object_new_string(sl_error_name(r)));
			json_object_object_add(o, "message",
					       json_object_new_string(sl_error_message(r)));
		}
		cli_print_json(o);
	}
	if (r < 0) {
		if (!a.json)
			printf("%s: BROKEN at record %" PRId64 "\n", a.file, bad);
		return sl_cli_fail(r, "verify", a.file);
	}
	if (!a.json)
		printf("%s: chain intact, %" PRId64 " records, %s\n", a.file, st.records,
		       st.last_seal_seq ? "sealed" : "not sealed");
	return SL_CLI_EXIT_OK;
}

int cmd_transcript_seal(int argc, char **argv)
{
	_cleanup_(cer_key_freep) struct cer_key *key = NULL;
	char fp[CER_FINGERPRINT_SIZE];
	struct tr_args a;
	int64_t seq = 0;
	int r = tr_parse(argc, argv, &a);

	if (r != 0)
		return r < 0 ? SL_CLI_EXIT_OK : r;
	if (!a.key)
		return sl_cli_usage(argv[0], "--key is required");
	r = cer_transcript_verify(a.file, NULL, 0, NULL, NULL);
	if (r < 0)
		return sl_cli_fail(r, "verify", a.file);
	r = cli_load_key(a.key, a.pass_fd, &key);
	if (r < 0)
		return sl_cli_fail(r, "open", a.key);
	r = cer_transcript_seal(a.file, key, &seq);
	if (r < 0)
		return sl_cli_fail(r, "seal", a.file);
	printf("%s: sealed as record %" PRId64 " by key %s\n", a.file, seq,
	       cli_fp(cer_key_keyid(key), fp));
	return SL_CLI_EXIT_OK;
}

static void show_line(struct json_object *o)
{
	struct json_object *v;
	char fp[CER_FINGERPRINT_SIZE];

	printf("%4" PRId64 "  %s  %-12s", json_object_get_int64(json_object_object_get(o, "seq")),
	       json_object_get_string(json_object_object_get(o, "time")),
	       json_object_get_string(json_object_object_get(o, "op")));
	if (json_object_object_get_ex(o, "keyid", &v))
		printf("  key %s", cli_fp(json_object_get_string(v), fp));
	if (json_object_object_get_ex(o, "file", &v))
		printf("  %s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "version", &v))
		printf("  v%" PRId64, json_object_get_int64(v));
	if (json_object_object_get_ex(o, "sha256", &v))
		printf("  sha256 %.16s", json_object_get_string(v));
	printf("\n");
}

int cmd_transcript_show(int argc, char **argv)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct tr_args a;
	size_t len, pos = 0;
	int r = tr_parse(argc, argv, &a);

	if (r != 0)
		return r < 0 ? SL_CLI_EXIT_OK : r;
	r = cer_transcript_verify(a.file, NULL, 0, NULL, NULL);
	if (r >= 0)
		r = sl_read_file_at(AT_FDCWD, a.file, CER_TRANSCRIPT_MAX, &buf, &len);
	if (r < 0)
		return sl_cli_fail(r, "show", a.file);
	while (pos < len) {
		const char *line = (const char *)buf + pos, *nl = memchr(line, '\n', len - pos);
		_cleanup_free_ char *copy = strndup(line, (size_t)(nl - line));
		struct json_object *o = copy ? json_tokener_parse(copy) : NULL;

		if (o) {
			show_line(o);
			json_object_put(o);
		}
		pos = (size_t)(nl - (const char *)buf) + 1;
	}
	printf("(chain verified)\n");
	return SL_CLI_EXIT_OK;
}
