/* SPDX-License-Identifier: Apache-2.0 */
/* Verbs keygen and pubkey: sealed key generation (air-gap guarded) and public key export. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "verb.h"
#include "error.h"
#include "fileio.h"
#include "harden.h"
#include "macro.h"
#include "passphrase.h"
#include "pubkey.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cer_key *, cer_key_free)

enum { OPT_ROLE = 0x100, OPT_OUT, OPT_PASS_FD, OPT_KDF, OPT_ALLOW_NET, OPT_TRANSCRIPT, OPT_JSON };

static bool airgap_mode(void)
{
	const char *v = getenv("SLUICE_AIRGAP");

	return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

static void keygen_help(void)
{
	printf(
	    "Usage: sluice-ceremony keygen --role ROLE --out FILE [OPTIONS]\n\n"
	    "Generate an Ed25519 key for ROLE, sealed with a passphrase (Argon2id +\n"
	    "XChaCha20-Poly1305), written 0600 to FILE, which must not exist. Prints the key id\n"
	    "and the fingerprint to read aloud. Refuses while a network interface is up.\n\n"
	    "  --role ROLE          root, targets, a delegated role name, snapshot, timestamp\n"
	    "  --out FILE           the sealed key file to create\n"
	    "  --passphrase-fd N    read the passphrase from fd N (default: the terminal)\n"
	    "  --kdf LIMITS         sensitive (default) or interactive (for tests and drills)\n"
	    "  --allow-network      generate even with a network interface up (drills)\n"
	    "  --transcript FILE    transcript to append to (default: next to FILE)\n"
	    "  --json               print the result as JSON\n");
}

/* The air-gap guard of DESIGN.md §7. */
static int network_guard(bool allow)
{
	char ifname[CER_IFNAME_SIZE] = "";
	int r;

	if (allow)
		return 0;
	r = cer_network_check(ifname);
	if (r < 0)
		return r;
	if (r > 0)
		return sl_error(SL_E_CONFIG,
				"network interface '%s' is up with an address: disconnect it "
				"(or use --allow-network for a drill)",
				ifname);
	return 0;
}

static void keygen_print(const struct cer_key *key, const char *out, bool json)
{
	char fp[CER_FINGERPRINT_SIZE];

	cer_key_fingerprint(key, fp);
	if (json) {
		_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
		struct json_object *pub = NULL;

		json_object_object_add(o, "file", json_object_new_string(out));
		json_object_object_add(o, "role", json_object_new_string(cer_key_role(key)));
		json_object_object_add(o, "keyid", json_object_new_string(cer_key_keyid(key)));
		json_object_object_add(o, "fingerprint", json_object_new_string(fp));
		if (cer_key_public_json(key, &pub) >= 0)
			json_object_object_add(o, "public", pub);
		cli_print_json(o);
		return;
	}
	printf("created %s for role %s\n", out, cer_key_role(key));
	printf("key id:      %s\n", cer_key_keyid(key));
	printf("fingerprint: %s   <- read this aloud; the witness writes it down\n", fp);
}

static int keygen_run(const char *role, const char *out, int pass_fd, bool sensitive,
		      const char *transcript, bool json)
{
	_cleanup_(cer_key_freep) struct cer_key *key = NULL;
	char *pass = NULL;
	size_t len = 0;
	uint64_t ops =
	    sensitive ? crypto_pwhash_OPSLIMIT_SENSITIVE : crypto_pwhash_OPSLIMIT_INTERACTIVE;
	uint64_t mem =
	    sensitive ? crypto_pwhash_MEMLIMIT_SENSITIVE : crypto_pwhash_MEMLIMIT_INTERACTIVE;
	int r;

	r = cli_check_absent(out);
	if (r < 0)
		return sl_cli_fail(r, "create", out);
	r = cli_passphrase(pass_fd, out, true, &pass, &len);
	if (r < 0)
		return sl_cli_fail(r, "read the passphrase for", out);
	r = cer_keyfile_generate(role, pass, len, ops, mem, 0, out, &key);
	cer_passphrase_free(pass);
	if (r < 0)
		return sl_cli_fail(r, "generate", out);
	keygen_print(key, out, json);
	cli_record(transcript, out, "keygen", cer_key_keyid(key), 0);
	return SL_CLI_EXIT_OK;
}

int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"role", required_argument, NULL, OPT_ROLE},
	    {"out", required_argument, NULL, OPT_OUT},
	    {"passphrase-fd", required_argument, NULL, OPT_PASS_FD},
	    {"kdf", required_argument, NULL, OPT_KDF},
	    {"allow-network", no_argument, NULL, OPT_ALLOW_NET},
	    {"transcript", required_argument, NULL, OPT_TRANSCRIPT},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	const char *role = NULL, *out = NULL, *transcript = NULL;
	bool allow_net = false, json = false, sensitive = true;
	int pass_fd = -1, c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROLE:
			role = optarg;
			break;
		case OPT_OUT:
			out = optarg;
			break;
		case OPT_PASS_FD:
			if (sl_cli_parse_fd(argv[0], optarg, &pass_fd) != 0)
				return SL_CLI_EXIT_FAIL;
			break;
		case OPT_KDF:
			if (strcmp(optarg, "sensitive") != 0 && strcmp(optarg, "interactive") != 0)
				return sl_cli_usage(argv[0],
						 "--kdf: '%s' is not sensitive or "
						 "interactive",
						 optarg);
			sensitive = strcmp(optarg, "sensitive") == 0;
			break;
		case OPT_ALLOW_NET:
			allow_net = true;
			break;
		case OPT_TRANSCRIPT:
			transcript = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			keygen_help();
			return SL_CLI_EXIT_OK;
		default:
			return sl_cli_bad_option(argv[0], argv);
		}
	}
	if (optind < argc)
		return sl_cli_usage(argv[0], "unexpected argument '%s'", argv[optind]);
	if (!role)
		return sl_cli_usage(argv[0], "--role is required");
	if (!out)
		return sl_cli_usage(argv[0], "--out is required");
	if (allow_net && airgap_mode())
		return sl_cli_usage(argv[0], "--allow-network is refused in air-gap mode "
					  "(SLUICE_AIRGAP)");
	r = network_guard(allow_net);
	if (r < 0)
		return sl_cli_fail(r, "generate", out);
	return keygen_run(role, out, pass_fd, sensitive, transcript, json);
}

static void pubkey_help(void)
{
	printf("Usage: sluice-ceremony pubkey KEYFILE [--out PUB] [--json]\n\n"
	       "Print the TUF public key object of a sealed key file (no passphrase needed), or\n"
	       "write it to PUB (which must not exist) for 'root init' and manifests.\n");
}

static int pubkey_write(struct json_object *key, const char *out, const char *keyid,
			const char *transcript)
{
	const char *s =
	    json_object_to_json_string_ext(key, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
	_cleanup_free_ char *text = NULL;
	int r;

	r = cli_check_absent(out);
	if (r >= 0 && asprintf(&text, "%s\n", s) < 0)
		r = sl_error(SL_E_NOMEM, "out of memory");
	if (r >= 0)
		r = sl_write_file_atomic(out, text, strlen(text), 0644);
	if (r < 0)
		return sl_cli_fail(r, "write", out);
	cli_record(transcript, out, "pubkey", keyid, 0);
	return SL_CLI_EXIT_OK;
}

int cmd_pubkey(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"out", required_argument, NULL, OPT_OUT},
	    {"transcript", required_argument, NULL, OPT_TRANSCRIPT},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	_cleanup_(json_object_putp) struct json_object *key = NULL;
	const char *out = NULL, *transcript = NULL, *path;
	char keyid[CER_KEYID_SIZE], fp[CER_FINGERPRINT_SIZE];
	bool json = false;
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_OUT:
			out = optarg;
			break;
		case OPT_TRANSCRIPT:
			transcript = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			pubkey_help();
			return SL_CLI_EXIT_OK;
		default:
			return sl_cli_bad_option(argv[0], argv);
		}
	}
	if (optind == argc)
		return sl_cli_usage(argv[0], "a key file is required");
	if (optind + 1 != argc)
		return sl_cli_usage(argv[0], "unexpected argument '%s'", argv[argc - 1]);
	path = argv[optind];
	r = cer_pubkey_load(path, NULL, &key, keyid);
	if (r < 0)
		return sl_cli_fail(r, "read", path);
	if (out) {
		r = pubkey_write(key, out, keyid, transcript);
		if (r != SL_CLI_EXIT_OK)
			return r;
	}
	if (json) {
		_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

		json_object_object_add(o, "keyid", json_object_new_string(keyid));
		json_object_object_add(o, "fingerprint", json_object_new_string(cli_fp(keyid, fp)));
		json_object_object_add(o, "public", json_object_get(key));
		cli_print_json(o);
	} else if (out) {
		printf("wrote %s\nkey id:      %s\nfingerprint: %s\n", out, keyid,
		       cli_fp(keyid, fp));
	} else {
		cli_print_json(key);
	}
	return SL_CLI_EXIT_OK;
}
