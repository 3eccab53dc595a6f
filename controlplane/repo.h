/* SPDX-License-Identifier: Apache-2.0 */
/* The served TUF repository: root chain, served metadata, root import, renewal, recovery. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tuf/metadata.h"

struct cp_state;
struct json_object;

/* Most delegated roles a publish handles (named roles and succinct bins together). */
#define CP_REPO_MAX_ROLES 1024
/* Most root versions walked from the imported root. */
#define CP_REPO_MAX_ROOTS 256

struct cp_served_role {
	char *name;               /* owned: delegated role name */
	struct tuf_metadata *md;  /* owned */
	uint8_t *buf;             /* owned: the exact file bytes */
	size_t len;
};

/*
 * The repository as clients see it. root is the newest root of the chain that starts at the
 * imported root (each N+1.root.json in STATE/repo/metadata verified as the client would:
 * signed by N's and its own thresholds). timestamp, snapshot and targets are NULL before the
 * first publish; roles lists the delegated roles the served snapshot names.
 */
struct cp_served {
	struct tuf_metadata *root; /* owned */
	uint8_t *root_buf;         /* owned */
	size_t root_len;
	uint64_t first_root;       /* version of the imported root */
	struct tuf_metadata *timestamp, *snapshot, *targets; /* owned, may be NULL */
	uint8_t *snapshot_buf;     /* owned: exact bytes of the served snapshot */
	size_t snapshot_len;
	uint8_t *targets_buf;      /* owned: exact bytes of the served targets */
	size_t targets_len;
	struct cp_served_role *roles; /* owned */
	size_t n_roles;
};

/*
 * Load what is served, verifying every signature with the client verifier. Errors:
 * CP_E_STATE when no root was imported or the repository does not verify (its message says
 * which file and why).
 */
int cp_repo_load(struct cp_state *s, struct cp_served *ret);
void cp_served_clear(struct cp_served *v);

/* Information printed by root-import for the operator to compare with the ceremony. */
struct cp_root_info {
	uint64_t version;
	int64_t expires;
	char sha256[65];          /* of the file */
	char keyids[4][8][65];    /* per role type (enum tuf_role_type), up to 8 key ids */
	size_t n_keyids[4];
	uint64_t threshold[4];
};

/*
 * Trust the root metadata file path as the repository's first root: it must parse, be
 * signed by its own root threshold (TUF_E_THRESHOLD), not be expired (TUF_E_EXPIRED), say
 * consistent_snapshot true and have its snapshot and timestamp roles list exactly this
 * control plane's online key with threshold 1 (SL_E_INVALID). Refused with CP_E_CONFLICT
 * when a root is already trusted. Writes STATE/repo/metadata/N.root.json (the exact bytes),
 * records it and audits it in one transaction.
 */
int cp_repo_root_import(struct cp_state *s, const char *path, const char *actor,
			struct cp_root_info *ret);

/*
 * Complete or roll back a publish that was interrupted (a "pending" release row): when the
 * served targets version is the pending release's, it is marked published and audited;
 * otherwise the row is removed. Called with the repository lock held.
 */
int cp_repo_recover(struct cp_state *s);

/* One entry of a snapshot's "meta": a targets role, its version and its exact file bytes. */
struct cp_meta_entry {
	const char *role; /* "targets" or a delegated role name; borrowed */
	uint64_t version;
	const uint8_t *buf; /* borrowed */
	size_t len;
};

/*
 * Sign with the online snapshot key and write V.snapshot.json, V being one more than the
 * served snapshot's version, listing meta (with length and sha256), expiring
 * TUF_WRITER_SNAPSHOT_DAYS after now; root_doc (borrowed) is the authority. The new version
 * and the exact bytes written (malloc'd) are returned. The file is not referenced until
 * cp_repo_write_timestamp() runs.
 */
int cp_repo_write_snapshot(struct cp_state *s, const struct cp_served *v,
			   struct json_object *root_doc, const struct cp_meta_entry *meta,
			   size_t n_meta, int64_t now, uint64_t *ret_version, uint8_t **ret_buf,
			   size_t *ret_len);

/*
 * Sign with the online timestamp key and atomically replace timestamp.json (version one more
 * than the served one) pointing at snapshot version snapshot_version whose exact bytes are
 * buf; expires TUF_WRITER_TIMESTAMP_DAYS after now. This is the switch clients see.
 */
int cp_repo_write_timestamp(struct cp_state *s, const struct cp_served *v,
			    struct json_object *root_doc, uint64_t snapshot_version,
			    const uint8_t *buf, size_t len, int64_t now, uint64_t *ret_version);

/*
 * As cp_repo_write_snapshot() and cp_repo_write_timestamp(), but the file goes to dir instead
 * of the served metadata directory and expires days (1..TUF_WRITER_MAX_DAYS) after now: the
 * same signing code for export-offline, whose copies live on removable media. The served
 * repository is not touched.
 */
int cp_repo_write_snapshot_to(struct cp_state *s, const struct cp_served *v,
			      struct json_object *root_doc, const struct cp_meta_entry *meta,
			      size_t n_meta, int64_t now, const char *dir, unsigned days,
			      uint64_t *ret_version, uint8_t **ret_buf, size_t *ret_len);
int cp_repo_write_timestamp_to(struct cp_state *s, const struct cp_served *v,
			       struct json_object *root_doc, uint64_t snapshot_version,
			       const uint8_t *buf, size_t len, int64_t now, const char *dir,
			       unsigned days, uint64_t *ret_version);

/* Read a file of STATE/repo/metadata (no symlink, at most max bytes). */
int cp_repo_read_meta(struct cp_state *s, const char *name, size_t max, uint8_t **ret_buf,
		      size_t *ret_len);

/*
 * Whether root metadata md (named what in messages) keeps this control plane's online keys as
 * the only snapshot and timestamp keys (threshold 1) and consistent snapshots: SL_E_INVALID
 * otherwise.
 */
int cp_repo_check_new_root(struct cp_state *s, const struct tuf_metadata *md, const char *what);

/* Record root md (exact bytes buf) as trusted through a publish, inside a transaction. */
int cp_repo_record_root(struct cp_state *s, const struct tuf_metadata *md, const uint8_t *buf,
			size_t len);

/* Result of a publish. */
struct cp_publish_result {
	char release[65];
	uint64_t targets_version;
	uint64_t snapshot_version;
	uint64_t timestamp_version;
	uint64_t root_version;
	size_t n_artifacts;     /* targets whose files this bundle brought */
	size_t n_new_roots;
	size_t n_roles;
};

/*
 * Publish the bundle directory bundle_dir (see publish.c for every check). On any refusal the
 * repository, the database and STATE/tmp are as before (invariant R) and the typed error of
 * the failed check is returned with a message naming file and reason.
 */
int cp_repo_publish(struct cp_state *s, const char *bundle_dir, const char *actor,
		    struct cp_publish_result *ret);
