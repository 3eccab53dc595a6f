/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the sluice-ceremony verbs: the only ceremony code besides main that prints. */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "error.h"
#include "macro.h"
#include "passphrase.h"
#include "transcript.h"
#include "tuf/json.h"
#include "tuf/writer.h"
#include "verb.h"

#define PROGRAM "sluice-ceremony"

int cli_passphrase(int fd, const char *what, bool confirm, char **ret, size_t *ret_len)
{
	sl_cli_warn_unlocked();
	return cer_passphrase_ask(fd, what, confirm, ret, ret_len);
}

int cli_load_key(const char *path, int pass_fd, struct cer_key **ret)
{
	char *pass = NULL;
	size_t len = 0;
	int r;

	r = cli_passphrase(pass_fd, path, false, &pass, &len);
	if (r < 0)
		return r;
	r = cer_keyfile_load(path, pass, len, 0, ret);
	cer_passphrase_free(pass);
	return r;
}

int cli_path_split(const char *path, char **ret_dir, char **ret_name)
{
	_cleanup_free_ char *a = strdup(path), *b = strdup(path);
	char *dir, *name;

	if (!a || !b)
		return sl_error(SL_E_NOMEM, "out of memory");
	dir = strdup(dirname(a));
	name = strdup(basename(b));
	if (!dir || !name || !strcmp(name, "/") || !strcmp(name, ".") || !strcmp(name, "..")) {
		free(dir);
		free(name);
		return sl_error(SL_E_INVALID, "%s: not a file name", path);
	}
	*ret_dir = dir;
	*ret_name = name;
	return 0;
}

int cli_check_absent(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return sl_error(-EEXIST, "%s: already exists, refusing to overwrite", path);
	return 0;
}

int cli_record(const char *transcript, const char *out_path, const char *op, const char *keyid,
	       int64_t version)
{
	_cleanup_free_ char *dir = NULL, *name = NULL, *path = NULL;
	char hash[65];
	struct stat st;
	struct cer_transcript_record rec = {
	    .op = op, .keyid = keyid, .file = out_path, .version = version};
	int r;

	if (!transcript) {
		r = cli_path_split(out_path, &dir, &name);
		if (r < 0)
			return sl_cli_fail(r, "record", out_path), r;
		path = sl_cli_path_join(dir, "transcript.jsonl");
		if (!path)
			return SL_E_NOMEM;
		transcript = path;
	}
	if (lstat(out_path, &st) == 0 && S_ISREG(st.st_mode)) {
		r = cer_transcript_hash_file(out_path, hash);
		if (r < 0)
			return sl_cli_fail(r, "hash", out_path), r;
		rec.sha256 = hash;
	}
	r = cer_transcript_append(transcript, &rec, NULL);
	if (r < 0) {
		fprintf(stderr, PROGRAM ": warning: the output is written but the transcript is "
					"not:\n");
		return sl_cli_fail(r, "append to", transcript), r;
	}
	return 0;
}

void cli_print_json(struct json_object *o)
{
	printf("%s\n",
	       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						     JSON_C_TO_STRING_NOSLASHESCAPE));
}

struct json_object *cli_json_strv(char **v, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

const char *cli_fp(const char *keyid, char buf[static CER_FINGERPRINT_SIZE])
{
	cer_keyid_fingerprint(keyid, buf);
	return buf;
}

void cli_date(int64_t t, char buf[static 11])
{
	char full[21];

	tuf_json_format_time(t, full);
	snprintf(buf, 11, "%.10s", full);
}

static void print_ids(const char *what, char **ids, size_t n)
{
	char fp[CER_FINGERPRINT_SIZE];

	for (size_t i = 0; i < n; i++)
		printf("    %-12s %s  (key id %s)\n", what, cli_fp(ids[i], fp), ids[i]);
}

void cli_print_status(const char *label, const struct tuf_writer_status *s, struct json_object *arr)
{
	if (arr) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "against", json_object_new_string(label));
		json_object_object_add(o, "threshold",
				       json_object_new_int64((int64_t)s->threshold));
		json_object_object_add(o, "needed", json_object_new_int64((int64_t)s->needed));
		json_object_object_add(o, "signed", cli_json_strv(s->valid, s->n_valid));
		json_object_object_add(o, "missing", cli_json_strv(s->missing, s->n_missing));
		json_object_object_add(o, "invalid", cli_json_strv(s->invalid, s->n_invalid));
		json_object_object_add(o, "unauthorised",
				       cli_json_strv(s->unauthorised, s->n_unauthorised));
		json_object_array_add(arr, o);
		return;
	}
	printf("  %s: threshold %" PRIu64 ", %zu valid signature%s, ", label, s->threshold,
	       s->n_valid, s->n_valid == 1 ? "" : "s");
	if (s->needed)
		printf("%zu more needed\n", s->needed);
	else
		printf("threshold met\n");
	print_ids("signed:", s->valid, s->n_valid);
	print_ids("not yet:", s->missing, s->n_missing);
	print_ids("INVALID:", s->invalid, s->n_invalid);
	print_ids("not a key:", s->unauthorised, s->n_unauthorised);
}
