/* SPDX-License-Identifier: Apache-2.0 */
/* The ceremony transcript: an append-only, hash-chained JSON-lines log, sealable with a key. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "keyfile.h"

/*
 * One JSON object per line, '\n' terminated:
 *   {"seq": 1, "time": "YYYY-MM-DDTHH:MM:SSZ", "op": "keygen", "keyid": "<hex>",
 *    "file": "root.key", "version": 1, "sha256": "<hex of the output file>",
 *    "prev": "<hex SHA-256 of the previous line's bytes without its newline, or 64 zeros>"}
 * keyid, file, version and sha256 are optional. seq counts from 1 with no gaps.
 * A seal record {"seq", "time", "op": "seal", "keyid", "prev", "sig"} carries an Ed25519
 * signature (hex) over
 *   "sluice-transcript-seal-v1\n<seq>\n<time>\n<keyid>\n<prev>\n"
 * and prev is the running hash, which covers every record before the seal.
 */

/* Largest transcript file read, and longest record line. */
#define CER_TRANSCRIPT_MAX (16u * 1024 * 1024)
#define CER_TRANSCRIPT_LINE_MAX 4096
/* Longest op name ([a-z0-9-]) and file member. */
#define CER_TRANSCRIPT_OP_MAX 32
#define CER_TRANSCRIPT_FILE_MAX 1024

/* What to record; strings are borrowed for the call. */
struct cer_transcript_record {
	const char *op;	    /* required, e.g. "keygen", "sign"; "seal" is reserved */
	const char *keyid;  /* optional: 64 lower-case hex digits */
	const char *file;   /* optional: the output file as the operator named it */
	int64_t version;    /* optional: metadata version, 0 = none */
	const char *sha256; /* optional: 64 lower-case hex digits (see cer_transcript_hash_file) */
};

/*
 * Append rec to the transcript at path (created 0644 if missing, never through a symlink).
 * The file is locked, the existing chain is verified first (a broken transcript is never
 * extended: the error is the one cer_transcript_verify() gives), then one line is written
 * with O_APPEND and fsynced (the directory too when the file was created). *ret_seq
 * (optional) is the new record's seq. SL_E_INVALID for a malformed rec.
 */
int cer_transcript_append(const char *path, const struct cer_transcript_record *rec,
			  int64_t *ret_seq);

/*
 * Append a seal record signed with key over the running hash (see above). *ret_seq
 * (optional) is the seal's seq.
 */
int cer_transcript_seal(const char *path, const struct cer_key *key, int64_t *ret_seq);

/* Flags of cer_transcript_verify(). */
#define CER_TRANSCRIPT_REQUIRE_SEAL (1u << 0) /* the last record must be a seal */

/* What cer_transcript_verify() found. */
struct cer_transcript_status {
	int64_t records;       /* number of records */
	int64_t last_seal_seq; /* seq of the last seal record, 0 when none */
	char last_seal_keyid[CER_KEYID_SIZE];
};

/*
 * Check the transcript at path: every line a well-formed record, seq 1, 2, 3 ... and each
 * prev the SHA-256 of the line before. When seal_public (an Ed25519 public key) is given,
 * every seal record must be signed by that key; without it seals are only checked for form.
 * With CER_TRANSCRIPT_REQUIRE_SEAL the last record must be a seal.
 * A record changed in place is caught at the record after it (whose prev no longer matches);
 * a deleted, inserted or reordered record is caught where the seq breaks; the last record is
 * protected only by a seal after it.
 * Returns 0 with *ret_status (optional) filled, or: TUF_E_FORMAT (a malformed or incomplete
 * line), CER_E_CHAIN (seq or prev chain broken), TUF_E_SIGNATURE (a seal by another key or
 * with a bad signature, or no final seal when required), SL_E_TOO_LARGE, -errno. On those
 * errors *ret_first_bad_seq (optional) is the seq (line number) of the first broken record
 * (for a missing seal: the first record after the last seal); it is 0 on success.
 */
int cer_transcript_verify(const char *path, const uint8_t *seal_public, unsigned flags,
			  struct cer_transcript_status *ret_status, int64_t *ret_first_bad_seq);

/* SHA-256 of the file at path (no symlink), in lower-case hex, for a record's sha256. */
int cer_transcript_hash_file(const char *path, char ret_hex[static 65]);
