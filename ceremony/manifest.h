/* SPDX-License-Identifier: Apache-2.0 */
/* The release manifest: what goes into a release bundle, read strictly and with caps. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/*
 * A release manifest is one JSON object (docs/bundle-format.md has the full description):
 *
 *   {"sluice_manifest": 1, "release": "2026.11.1", "version": "2026.11.1", "expires_days": 90,
 *    "delegations": [{"name": "models", "keys": ["models.pub"], "threshold": 1,
 *                     "paths": ["models/STAR"], "terminating": true}],
 *    "artifacts": [{"file": "out/rootfs.img", "target": "images/rootfs.img", "kind": "image",
 *                   "hardware": ["board-a"], "slot_class": "rootfs", "allow_downgrade": false},
 *                  {"file": "out/det.onnx", "target": "models/det.onnx", "kind": "model",
 *                   "hardware": ["board-a"], "role": "models",
 *                   "model": {"name": "detector", "runtime": "onnxruntime>=1.16",
 *                             "accelerator": "any"}}]}
 *
 * (STAR stands for '*', which cannot appear next to '/' in this comment.)
 * Unknown members are refused everywhere. Errors: TUF_E_FORMAT (malformed, missing, of the
 * wrong type, an unknown member, a kind without its required fields, a duplicate target or
 * role, an artifact for an undeclared role or outside the role's paths), SL_E_TOO_LARGE (a
 * cap below exceeded), TUF_E_PATH (an unsafe target path). Messages name the field, e.g.
 * "release.json: artifacts[2].kind: 'imagee' is not image, model or file".
 */

#define CER_MANIFEST_FORMAT 1
#define CER_MANIFEST_MAX (1024u * 1024) /* bytes of the manifest file */
#define CER_MANIFEST_MAX_ARTIFACTS 1024
#define CER_MANIFEST_MAX_DELEGATIONS 32
#define CER_MANIFEST_MAX_LIST 64   /* hardware names, delegation keys and paths */
#define CER_MANIFEST_NAME_MAX 64   /* release, version, hardware, role, slot class */
#define CER_MANIFEST_TEXT_MAX 255  /* model fields, path patterns */
#define CER_MANIFEST_FILE_MAX 4096 /* the "file" of an artifact, a key path */
#define CER_MANIFEST_MAX_DAYS 36500u

enum cer_artifact_kind {
	CER_ARTIFACT_IMAGE,
	CER_ARTIFACT_MODEL,
	CER_ARTIFACT_FILE,
};

/* "image", "model", "file". */
const char *cer_artifact_kind_name(enum cer_artifact_kind k);

/* Every string below is borrowed from the manifest and lives as long as it does. */
struct cer_manifest_artifact {
	const char *file;   /* as written: relative to the manifest's directory or absolute */
	const char *target; /* the TUF target path */
	enum cer_artifact_kind kind;
	const char *hardware[CER_MANIFEST_MAX_LIST];
	size_t n_hardware;
	const char *slot_class;	       /* images only, else NULL */
	const char *model_name;	       /* models only, else NULL */
	const char *model_runtime;     /* models only, may be NULL */
	const char *model_accelerator; /* models only; "any" when not given */
	bool allow_downgrade;
	const char *role;    /* delegated role that signs it, NULL = top-level targets */
	const char *version; /* the artifact's version (the release's "version" by default) */
};

struct cer_manifest_delegation {
	const char *name;
	const char *keys[CER_MANIFEST_MAX_LIST]; /* public key files, relative to the manifest */
	size_t n_keys;
	uint64_t threshold; /* 1 .. n_keys, default 1 */
	const char *paths[CER_MANIFEST_MAX_LIST];
	size_t n_paths;
	bool terminating; /* default true */
};

struct cer_manifest {
	const char *release;
	const char *version;
	unsigned expires_days; /* 0 = not given */
	struct cer_manifest_delegation *delegations;
	size_t n_delegations;
	struct cer_manifest_artifact *artifacts;
	size_t n_artifacts;
	struct json_object *doc; /* owns every string */
};

/*
 * Parse a manifest of len bytes (at most CER_MANIFEST_MAX); name is used in messages.
 * Touches no file: paths are checked for form only. *ret is owned by the caller.
 */
int cer_manifest_parse(const void *buf, size_t len, const char *name, struct cer_manifest **ret);

/* As cer_manifest_parse() from the file at path (no symlink). */
int cer_manifest_load(const char *path, struct cer_manifest **ret);

/* Accepts NULL, returns NULL. */
struct cer_manifest *cer_manifest_free(struct cer_manifest *m);

/* The declared delegation called name, or NULL. Borrowed from m. */
const struct cer_manifest_delegation *cer_manifest_find_delegation(const struct cer_manifest *m,
								   const char *name);

/*
 * The TUF target "custom" object of artifact a of release m, per DESIGN.md §3:
 * {"sluice": {"kind", "release", "version", "hardware", "slot_class" | "model",
 * "allow_downgrade"}}. *ret is a new reference owned by the caller.
 */
int cer_manifest_custom(const struct cer_manifest *m, const struct cer_manifest_artifact *a,
			struct json_object **ret);
