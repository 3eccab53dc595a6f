/* SPDX-License-Identifier: Apache-2.0 */
/* The TUF client workflow (specification §5, "detailed client workflow"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tuf/fetcher.h"
#include "tuf/metadata.h"

/* Size caps of DESIGN.md §9, overridable. A zero field means the default. */
#define TUF_DEFAULT_ROOT_MAX (512u * 1024)
#define TUF_DEFAULT_TIMESTAMP_MAX (16u * 1024)
#define TUF_DEFAULT_SNAPSHOT_MAX (2u * 1024 * 1024)
#define TUF_DEFAULT_TARGETS_MAX (5u * 1024 * 1024)
#define TUF_DEFAULT_MAX_ROOT_ROTATIONS 256
#define TUF_DEFAULT_MAX_DELEGATIONS 32

struct tuf_updater_limits {
	size_t root_max;
	size_t timestamp_max;
	size_t snapshot_max; /* used when timestamp gives no length */
	size_t targets_max;  /* used when snapshot gives no length; also for delegated roles */
	unsigned max_root_rotations;
	unsigned max_delegations; /* roles visited per target lookup */
};

struct tuf_updater_config {
	/*
	 * Directory of trusted metadata, non-versioned names: root.json, timestamp.json,
	 * snapshot.json, targets.json and <role>.json for delegated roles, where <role> is
	 * percent-encoded (every byte outside [A-Za-z0-9._~-] as %XX), so no role name can
	 * leave the directory. It must hold a trusted root.json.
	 */
	const char *metadata_dir;
	const char *metadata_base_url; /* "https://host/tuf/metadata/" or "file:///media/x/metadata/" */
	const char *target_base_url;   /* "…/targets/"; may be NULL when no download is made */
	struct tuf_fetcher *fetcher;   /* borrowed */
	int64_t now;                   /* the fixed start time of §5.1; 0 = time(NULL) at _new() */
	struct tuf_updater_limits limits;
};

struct tuf_updater;

/*
 * Load the trusted root from metadata_dir/root.json (and any other trusted metadata there,
 * which is only used for rollback checks once it verifies against the trusted root). The
 * root must be signed by its own threshold (expiry is not checked here). Errors:
 * TUF_E_STATE when root.json is missing, the typed verification error otherwise.
 * *ret is owned by the caller; cfg strings are copied, cfg->fetcher is borrowed.
 */
int tuf_updater_new(const struct tuf_updater_config *cfg, struct tuf_updater **ret);

/* Accepts NULL, returns NULL. */
struct tuf_updater *tuf_updater_free(struct tuf_updater *u);

/*
 * §5.2–§5.6: update root (N+1 … signed by old and new thresholds, at most
 * max_root_rotations), then timestamp, snapshot and top-level targets, with every
 * signature, version, rollback, length, hash and expiry check, and fast-forward recovery
 * after key rotation. Each newly verified file is written atomically to metadata_dir; a
 * rejected file is never written and leaves the trusted files byte-identical. Returns 0 or
 * the typed error of the first check that failed, with a message naming file and reason.
 */
int tuf_updater_refresh(struct tuf_updater *u);

/*
 * §5.7: find target path by a pre-order depth-first search of the delegations, starting
 * at top-level targets, loading (and verifying against the delegator that led to it, and
 * against snapshot) each delegated role as needed, honouring terminating delegations,
 * visiting at most max_delegations roles and never the same role twice on a path.
 * Requires a successful refresh. *ret is borrowed from the updater (valid until it is
 * freed or refreshed again). TUF_E_NOT_FOUND when no role lists the path.
 */
int tuf_updater_get_target(struct tuf_updater *u, const char *path, const struct tuf_target **ret);

/*
 * Called by tuf_updater_list_delegated_targets() for each target t listed by delegated role
 * role (both borrowed, valid as *ret of tuf_updater_get_target() is). A negative return
 * stops the walk and is returned; the callback may call tuf_updater_get_target().
 */
typedef int (*tuf_updater_list_fn)(const struct tuf_target *t, const char *role, void *userdata);

/*
 * Enumerate candidate target paths of the delegated roles: walk the delegation graph from
 * top-level targets in the pre-order of tuf_updater_get_target(), loading, verifying against
 * the delegator that led to it (and against snapshot) and caching each delegated role as a
 * lookup does, visiting each role once (by name) and at most max_delegations roles in all
 * (top-level targets included; TUF_E_DELEGATION beyond), and call cb for each target of each
 * delegated role, in document order. Top-level targets themselves are not passed to cb.
 *
 * A role listing a path is no proof that the role is trusted for it: the walk ignores path
 * patterns and terminating flags, so a role may list paths outside its delegation, or be
 * shadowed by an earlier terminating role. Callers must resolve every candidate path with
 * tuf_updater_get_target() and use only what it returns.
 *
 * Only delegations by "paths" are walked. Delegations by "path_hash_prefixes" and TAP 15
 * succinct hash bins are skipped with everything below them: they exist to split very many
 * targets into many roles, and enumerating them would fetch every bin. Their targets stay
 * reachable by name through tuf_updater_get_target(). A role delegated with neither paths
 * nor prefixes is responsible for nothing and is skipped too.
 *
 * Requires a successful refresh (TUF_E_STATE otherwise). Returns 0, the typed error of the
 * first role that fails to load or verify (e.g. TUF_E_THRESHOLD for a role signed by a key
 * its delegator does not list), or cb's negative return.
 */
int tuf_updater_list_delegated_targets(struct tuf_updater *u, tuf_updater_list_fn cb,
				       void *userdata);

/*
 * 0 when filepath already holds exactly target t (length and all hashes), TUF_E_NOT_FOUND
 * when it is absent, TUF_E_LENGTH/TUF_E_HASH when it differs.
 */
int tuf_updater_find_cached_target(struct tuf_updater *u, const struct tuf_target *t,
				   const char *filepath);

/*
 * Download target t from target_base_url (with the "<hex sha256>." prefix on the last path
 * component when root says consistent_snapshot) into filepath: stops reading at t->length,
 * checks every hash, and only then renames the temporary file (same directory) into place.
 */
int tuf_updater_download_target(struct tuf_updater *u, const struct tuf_target *t,
				const char *filepath);

/*
 * The URL of target t (malloc'd): target_base_url + the path, its last component prefixed
 * with the hex SHA-256 from t's hashes when consistent snapshots are on.
 */
int tuf_updater_target_url(struct tuf_updater *u, const struct tuf_target *t, char **ret_url);

/* The trusted metadata of a top-level role after refresh, or NULL. Borrowed. */
const struct tuf_metadata *tuf_updater_trusted(const struct tuf_updater *u, enum tuf_role_type t);

/*
 * Make buf the trusted root of metadata_dir: it must parse as root and be signed by its
 * own threshold; written atomically as root.json (0644). For `sluice-tuf init`.
 */
int tuf_updater_init_root(const char *metadata_dir, const void *buf, size_t len);

/*
 * Percent-encode name (every byte outside [A-Za-z0-9._~-] as %XX) into a malloc'd string;
 * used for delegated role file names and URLs, and for target file names in a flat dir.
 */
int tuf_path_quote(const char *name, char **ret);
