/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper for the control plane: offline keys, roots and release bundles from the writer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct tuf_signer;
struct cp_state;

/* The offline keys of a test ceremony: root, targets, and a delegated "models" role. */
struct cpt_keys {
	uint8_t root_sk[64], targets_sk[64], models_sk[64];
	struct tuf_signer *root, *targets, *models;
};

/* Random keys (or from the 3 x 32-byte seeds when seeds is not NULL). */
int cpt_keys_new(struct cpt_keys *k, const uint8_t *seeds);
void cpt_keys_clear(struct cpt_keys *k);

/*
 * Root metadata of version for the state directory's online keys (read from
 * STATE/online-keys.json), root and targets keys from k, signed by k->root (and by prev's
 * keys, which are the same). Written to out_path when not NULL; *ret_doc (may be NULL) is a
 * new reference.
 */
int cpt_make_root(const char *state_dir, const struct cpt_keys *k, uint64_t version,
		  const char *out_path, struct json_object **ret_doc);

struct cpt_artifact {
	const char *path;    /* target path */
	const char *content; /* file bytes (a string) */
	const char *role;    /* NULL: top-level targets; "models": the delegated role */
};

struct cpt_bundle_opts {
	const char *release;
	uint64_t targets_version;
	uint64_t models_version;    /* 0: no delegation */
	struct json_object *new_root; /* borrowed; written as metadata/N.root.json when set */
	bool sign_targets_with_models_key; /* a bad signature */
	bool omit_models_file; /* delegate to "models" but leave its metadata out */
};

/*
 * Write a complete bundle directory dir (created) in the layout of docs/bundle-format.md:
 * bundle.json, metadata/V.targets.json [+ V.models.json, N.root.json], targets/<path>.
 */
int cpt_make_bundle(const char *dir, const struct cpt_keys *k, const struct cpt_bundle_opts *o,
		    const struct cpt_artifact *a, size_t n);

/* (Re)write dir/bundle.json listing every file below dir (after a test edits the bundle). */
int cpt_write_index(const char *dir, const char *release, const char *version);

/* SHA-256 over every path, type and content below dir (sorted), as hex: the store's hash. */
int cpt_hash_tree(const char *dir, char ret[65]);

/* A dump of every table of the database (sorted rows, as text): malloc'd. */
int cpt_dump_db(const char *db_path, char **ret);

/* mkdtemp under $TMPDIR; malloc'd. */
char *cpt_tmpdir(void);

/* Write a file with content (0644). */
int cpt_write(const char *path, const char *content);

/* A control plane ready for publishing: STATE initialised, keys, root v1 imported. */
struct cpt_env {
	char *tmp;   /* owned: private temporary directory (removed by cpt_env_clear) */
	char *state; /* owned: tmp/state */
	struct cpt_keys k;
	struct cp_state *s; /* owned */
};

int cpt_env_new(struct cpt_env *e);
void cpt_env_clear(struct cpt_env *e);

/* A path below e->tmp (malloc'd). */
char *cpt_path(const struct cpt_env *e, const char *name);

/* Hash of STATE/repo, dump of the database and whether STATE/tmp is empty: invariant R. */
struct cpt_snap {
	char repo[65];
	char *db;
};
int cpt_snap_take(const struct cpt_env *e, struct cpt_snap *ret);
/* Abort unless the store equals snap and STATE/tmp is empty; frees snap. */
void cpt_snap_assert_same(const struct cpt_env *e, struct cpt_snap *snap);
