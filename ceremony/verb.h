/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the sluice-ceremony verbs: passphrases, key files, output, transcript. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "keyfile.h"

struct json_object;
struct tuf_writer_status;

/* The verbs, one per module (cmd-*.c). argv[0] is the verb name; they return an exit code. */
int cmd_keygen(int argc, char **argv);
int cmd_pubkey(int argc, char **argv);
int cmd_root_init(int argc, char **argv);
int cmd_root_rotate(int argc, char **argv);
int cmd_root_renew(int argc, char **argv);
int cmd_root_check(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_release(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_transcript_verify(int argc, char **argv);
int cmd_transcript_seal(int argc, char **argv);
int cmd_transcript_show(int argc, char **argv);

/*
 * Read a passphrase: from fd when fd >= 0, else from the terminal with echo off (prompt
 * names what; with confirm it is asked twice). Secure memory: cer_passphrase_free().
 */
int cli_passphrase(int fd, const char *what, bool confirm, char **ret, size_t *ret_len);

/* Open the sealed key file path with a passphrase (see cli_passphrase()). */
int cli_load_key(const char *path, int pass_fd, struct cer_key **ret);

/* The directory and file parts of a path (malloc'd). */
int cli_path_split(const char *path, char **ret_dir, char **ret_name);

/* Refuse (-EEXIST, message naming it) when path exists, also as a dangling symlink. */
int cli_check_absent(const char *path);

/*
 * Append a transcript record {op, keyid, file: out_path, version, sha256 of out_path (a
 * regular file) or none} to transcript, or to transcript.jsonl next to out_path when
 * transcript is NULL. keyid may be NULL, version 0 = none. Prints a warning and returns the
 * error when it fails (the output itself is already written).
 */
int cli_record(const char *transcript, const char *out_path, const char *op, const char *keyid,
	       int64_t version);

/* Print o to stdout as pretty JSON with a newline. */
void cli_print_json(struct json_object *o);

/* A json array of the strings v[0..n). NULL on allocation failure. */
struct json_object *cli_json_strv(char **v, size_t n);

/*
 * Print the signature status s of a document ("<label>: threshold 2, 1 valid, 1 more
 * needed" and the key ids) to stdout, or add it as an object to the json array arr when arr
 * is not NULL.
 */
void cli_print_status(const char *label, const struct tuf_writer_status *s,
		      struct json_object *arr);

/* The fingerprint of a key id for display ("ab12 cd34 ef56 7890"). */
const char *cli_fp(const char *keyid, char buf[static CER_FINGERPRINT_SIZE]);

/* A date "YYYY-MM-DD" of t into buf (11 bytes). */
void cli_date(int64_t t, char buf[static 11]);

/*
 * Print (or, with json, add to the object out) the signature status of doc as role against
 * authority (tuf/writer.h); for a root with a previous root, against both root roles. Sets
 * *ret_complete from tuf_writer_check_complete(). file names the document in the output.
 */
int cli_show_status(struct json_object *doc, const char *role, struct json_object *authority,
		    const char *file, struct json_object *out, bool *ret_complete);

/* Read "signed._type" and "signed.version" of a metadata file (no verification). */
int cli_peek_metadata(const char *path, char ret_type[static 16], uint64_t *ret_version);

/* Load a metadata file of type type with the writer (tuf_writer_load_file()). */
int cli_load_doc(const char *path, const char *type, struct json_object **ret);

/*
 * Verify the bundle in dir (bundle.json, the root chain from root_path or the bundle's newest
 * root, targets and delegated metadata, every artifact) with the client's verifier; prints a
 * report unless quiet. Returns 0 or the first error.
 */
int cli_verify_bundle(const char *dir, const char *root_path, bool quiet);

/*
 * May keyid sign doc as role, given its authority (tuf/writer.h)? A root N+1 may be signed
 * by root keys of version N or of N+1. Decided from tuf_writer_status(): no passphrase needed.
 */
bool cli_key_authorised(struct json_object *doc, const char *role, struct json_object *authority,
			const char *keyid);
