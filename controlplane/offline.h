/* SPDX-License-Identifier: Apache-2.0 */
/* Offline media: export a release as a complete TUF repository, import signed install receipts. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"

struct cp_state;

/* Default and largest lifetime of an exported timestamp, in days (docs/controlplane.md §10). */
#define CP_OFFLINE_TIMESTAMP_DAYS 30
#define CP_OFFLINE_TIMESTAMP_DAYS_MAX 365
/* Most artifacts one export copies, and the longest release name accepted. */
#define CP_OFFLINE_MAX_ARTIFACTS 4096
#define CP_OFFLINE_RELEASE_MAX 128

/* Caps of import-receipts: bytes of one receipt file, files read from DIR/receipts. */
#define CP_RECEIPT_MAX (64u * 1024)
#define CP_RECEIPTS_MAX_FILES 10000
/* Longest string member of a receipt ("error" may be longer), targets listed in one. */
#define CP_RECEIPT_FIELD_MAX 256
#define CP_RECEIPT_ERROR_MAX 1024
#define CP_RECEIPT_TARGETS_MAX 64

/*
 * Events added from receipts carry seq = CP_RECEIPT_SEQ_BASE + the receipt's row number, so
 * that they never collide with the sequence numbers the agent gives its own events.
 */
#define CP_RECEIPT_SEQ_BASE (INT64_C(1) << 52)

/* Progress callbacks of a long export (all may be NULL): total bytes, then bytes copied. */
struct cp_offline_progress {
	void (*begin)(void *userdata, uint64_t total);
	void (*add)(void *userdata, uint64_t n);
	void (*end)(void *userdata);
	void *userdata;
};

struct cp_export_result {
	uint64_t first_root, root_version; /* the root chain written: first_root..root_version */
	uint64_t targets_version, snapshot_version, timestamp_version;
	size_t n_roles;	    /* delegated role files written */
	size_t n_artifacts; /* artifact files written */
	uint64_t bytes;	    /* their total size */
	int64_t timestamp_expires;
	int64_t usable_until; /* earliest expiry of all the metadata exported */
	bool other_releases;  /* targets.json also lists other releases */
};

/*
 * Write out_dir as a TUF repository for devices that never connect (DESIGN.md §4), in the
 * layout `sluice-agent install --from` reads:
 *   out_dir/metadata/N.root.json (the whole chain from the imported root), timestamp.json,
 *     V.snapshot.json, V.targets.json and V.<role>.json of every delegated role it lists;
 *   out_dir/targets/<dir>/<sha256>.<name>: the artifacts of release (custom.sluice.release)
 *     only, each checked against its signed length and hashes while copied.
 * The snapshot and timestamp are fresh: signed with the online keys by the publish code,
 * one version above the served ones, the timestamp expiring timestamp_days
 * (1..CP_OFFLINE_TIMESTAMP_DAYS_MAX) after now and the snapshot not before it; the served
 * repository is not changed. out_dir must be absent (it is created) or an empty directory,
 * not a symlink (-ENOTEMPTY, SL_E_INVALID); everything is written into
 * out_dir/.partial-<random> and renamed into place at the end, so a failure leaves out_dir
 * as it was. An unknown release is TUF_E_NOT_FOUND, nothing published CP_E_STATE, an
 * artifact that no longer matches its metadata TUF_E_HASH/TUF_E_LENGTH. Audited
 * ("export-offline"). progress may be NULL.
 */
int cp_offline_export(struct cp_state *s, const char *release, const char *out_dir,
		      unsigned timestamp_days, const char *actor,
		      const struct cp_offline_progress *progress, struct cp_export_result *ret);

enum cp_receipt_status {
	CP_RECEIPT_ACCEPTED,
	CP_RECEIPT_DUPLICATE,
	CP_RECEIPT_REFUSED,
};

/* What import made of one receipt. Strings are copies, empty when unknown. */
struct cp_receipt_report {
	char file[256]; /* the file name below DIR/receipts */
	enum cp_receipt_status status;
	int error; /* refused: the typed error; sl_error_message(error) says why */
	char device_id[CP_DEVICE_ID_MAX + 1];
	char outcome[32];
	char release[CP_RECEIPT_FIELD_MAX + 1];
	char sha256[65];  /* of the canonical JSON of "signed": the receipt's identity */
	bool event_added; /* an event was added to the update history */
};

/*
 * Verify and record one receipt (buf, len bytes; name for messages), as written by
 * `sluice-agent install --from` (docs/agent.md): strict JSON {"signed", "signatures"
 * (exactly one {"alg", "sig"}), "certificate" (PEM)}; the signature over the canonical JSON
 * of "signed" must verify with the certificate's key (TUF_E_SIGNATURE); the certificate's CN
 * must be the receipt's device_id, and the certificate must be the one recorded for that
 * approved device (cert_sha256) or, when none is recorded, chain to STATE/tls/device-ca.pem
 * at the receipt's time (TUF_E_SIGNATURE otherwise); an unknown, unapproved or
 * decommissioned device is CP_E_FORBIDDEN; malformed receipts TUF_E_FORMAT. An accepted
 * receipt is stored, added to the update history (one event: reboot/pending -> switched,
 * committed, rolled_back, failed, refused -> failed; noop and nothing add none) and audited
 * in one transaction. Returns 0 accepted, 1 duplicate (the same signed body was imported
 * before: nothing added), or the error of the refusal (nothing added). ret is always filled.
 */
int cp_offline_receipt_import(struct cp_state *s, const char *name, const uint8_t *buf, size_t len,
			      const char *actor, struct cp_receipt_report *ret);

/* Counts of one import-receipts run. */
struct cp_receipt_counts {
	size_t accepted, duplicate, refused;
};

/*
 * Import every DIR/receipts/<name>.json (in name order, at most CP_RECEIPTS_MAX_FILES, each at
 * most CP_RECEIPT_MAX bytes; symlinks and other non-regular files are refused per file) with
 * cp_offline_receipt_import(), calling fn (may be NULL) with each report. Nothing on the
 * medium is moved or deleted. Fails only when DIR/receipts cannot be read (not a directory,
 * a symlink, too many files) or on a database failure; refusals are counted.
 */
int cp_offline_import_receipts(struct cp_state *s, const char *dir, const char *actor,
			       int (*fn)(const struct cp_receipt_report *rep, void *userdata),
			       void *userdata, struct cp_receipt_counts *ret);

/* The verbs (cmd-offline.c, part of the sluice-controlplane executable). */
int cp_cmd_export_offline(int argc, char **argv);
int cp_cmd_import_receipts(int argc, char **argv);
