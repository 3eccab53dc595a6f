/* SPDX-License-Identifier: Apache-2.0 */
/* The release bundle's index, bundle.json: writing it over a directory and checking it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct json_object;

/*
 * A bundle directory (docs/bundle-format.md):
 *   bundle.json                       this index
 *   metadata/V.targets.json           signed targets (and V.<role>.json per delegated role,
 *   metadata/N.root.json              and any new root versions)
 *   targets/<target path>             the artifacts, under their TUF target paths
 * bundle.json:
 *   {"sluice_bundle": 1, "release": "R", "version": "V", "created": "YYYY-MM-DDTHH:MM:SSZ",
 *    "metadata": [{"role": "targets", "version": 3, "path": "metadata/3.targets.json"}, ...],
 *    "files": [{"path": "metadata/3.targets.json", "length": 1234, "sha256": "<hex>"}, ...]}
 * "files" lists every file of the bundle but bundle.json, sorted by path. It is an index,
 * not a trust anchor: the metadata it names is verified with the TUF verifier.
 */

#define CER_BUNDLE_FORMAT 1
#define CER_BUNDLE_INDEX_MAX (8u * 1024 * 1024) /* bytes of bundle.json */
#define CER_BUNDLE_MAX_FILES 8192
#define CER_BUNDLE_MAX_DEPTH 16 /* directory levels below the bundle */
#define CER_BUNDLE_INDEX_NAME "bundle.json"

/* One metadata file of the bundle. Strings are borrowed (from the index when loaded). */
struct cer_bundle_meta {
	const char *role; /* "root", "targets" or a delegated role name */
	uint64_t version;
	const char *path; /* relative to the bundle directory */
};

/* A checked index; strings are borrowed from doc. */
struct cer_bundle {
	const char *release;
	const char *version;
	struct cer_bundle_meta *meta; /* owned array */
	size_t n_meta;
	size_t n_files;
	uint64_t total_bytes;
	struct json_object *doc; /* owned */
};

/*
 * Write dir/bundle.json (atomically, fsynced) listing every regular file below dir with its
 * length and SHA-256 and the n metadata entries meta. Anything but regular files and
 * directories (symlinks, devices, FIFOs) is refused with SL_E_INVALID, as are more than
 * CER_BUNDLE_MAX_FILES files or CER_BUNDLE_MAX_DEPTH levels (SL_E_TOO_LARGE).
 */
int cer_bundle_write_index(const char *dir, const char *release, const char *version,
			   const struct cer_bundle_meta *meta, size_t n);

/*
 * Read dir/bundle.json strictly and check it against the directory: every listed file
 * exists as a regular file with its length (TUF_E_LENGTH) and SHA-256 (TUF_E_HASH), every
 * file present is listed (SL_E_INVALID), paths are relative without "." or ".." components
 * (TUF_E_PATH), metadata entries name listed files. Malformed: TUF_E_FORMAT. *ret is owned by
 * the caller (cer_bundle_free()).
 */
int cer_bundle_check(const char *dir, struct cer_bundle **ret);

/* Accepts NULL, returns NULL. */
struct cer_bundle *cer_bundle_free(struct cer_bundle *b);
