/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a release bundle directory safely: its index (bundle.json), tree walk, bounded reads. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A bundle is a directory written by `sluice-ceremony release` (docs/bundle-format.md):
 *   bundle.json            {"sluice_bundle": 1, "release", "version", "created",
 *                           "metadata": [{"role", "version", "path"}],
 *                           "files": [{"path", "length", "sha256"}]}
 *   metadata/N.root.json, metadata/V.targets.json, metadata/V.<quoted role>.json
 *   targets/<target path>
 * The index is not a trust anchor (the metadata it names is verified with the TUF
 * verifier), but it must be exact: every file present is listed with its length and
 * SHA-256, nothing else is present, every metadata/ file is a "metadata" entry named as
 * consistent snapshots name it. Symlinks, FIFOs, devices, "." and ".." components, more
 * than the caps below: refused with CP_E_BUNDLE (SL_E_TOO_LARGE for the index size).
 */

#define CP_BUNDLE_FORMAT 1
#define CP_BUNDLE_INDEX_MAX (8u * 1024 * 1024)      /* bytes of bundle.json */
#define CP_BUNDLE_MAX_FILES 8192                    /* files in a bundle */
#define CP_BUNDLE_MAX_DEPTH 16                      /* directory levels below the bundle */
#define CP_BUNDLE_MAX_BYTES (UINT64_C(1) << 40)     /* sum of all file lengths (1 TiB) */
#define CP_BUNDLE_NAME_MAX 64                       /* bytes of "release" and "version" */

struct cp_bundle_file {
	char *path; /* owned, relative to the bundle directory */
	uint64_t length;
	char sha256[65];
	bool claimed; /* used by publish: a signed target or metadata entry refers to it */
};

struct cp_bundle_meta {
	char *role; /* owned: "root", "targets" or a delegated role name */
	uint64_t version;
	char *path; /* owned: "metadata/<consistent-snapshot file name>" */
};

struct cp_bundle {
	int dirfd;     /* owned */
	char *dir;     /* owned */
	char *release; /* owned */
	char *version; /* owned */
	char index_sha256[65];
	struct cp_bundle_file *files; /* owned, sorted by path */
	size_t n_files;
	struct cp_bundle_meta *meta; /* owned */
	size_t n_meta;
	uint64_t total_bytes;
};

/*
 * Open the bundle directory dir (no symlink), read and check bundle.json and the tree as
 * described above. Errors: CP_E_BUNDLE (with the file and reason), SL_E_TOO_LARGE (index
 * over CP_BUNDLE_INDEX_MAX), TUF_E_FORMAT (malformed index), TUF_E_PATH (unsafe path),
 * TUF_E_LENGTH (a file's size differs from the index). *ret is owned by the caller.
 */
int cp_bundle_open(const char *dir, struct cp_bundle **ret);

/* Accepts NULL, returns NULL. */
struct cp_bundle *cp_bundle_free(struct cp_bundle *b);

/* The index entry of path, or NULL. */
struct cp_bundle_file *cp_bundle_find(struct cp_bundle *b, const char *path);

/*
 * Read listed file path (at most max bytes, else TUF_E_TOO_LARGE) and check it against its
 * index entry (TUF_E_LENGTH, TUF_E_HASH). *ret_buf is malloc'd, caller frees.
 */
int cp_bundle_read(struct cp_bundle *b, const char *path, size_t max, uint8_t **ret_buf,
		   size_t *ret_len);

/* Open listed file path for reading, refusing any symlink on the way (CP_E_BUNDLE). */
int cp_bundle_open_file(struct cp_bundle *b, const char *path, int *ret_fd);
