/* SPDX-License-Identifier: Apache-2.0 */
/* Private state of the updater, shared by updater.c, updater-delegation.c and updater-target.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tuf/updater.h"

/* A delegated targets role loaded during target lookups (cleared by every refresh). */
struct tuf_delegated_entry {
	char *name;		 /* owned: the role name as in delegations */
	char *verified_by;	 /* owned: delegator whose keys it was last verified against */
	struct tuf_metadata *md; /* owned */
};

struct tuf_updater {
	char *metadata_dir;	     /* owned */
	int dir_fd;		     /* metadata_dir, opened once */
	char *metadata_base_url;     /* owned, ends with '/'; NULL when not configured */
	char *target_base_url;	     /* owned, ends with '/'; NULL when not configured */
	struct tuf_fetcher *fetcher; /* borrowed */
	int64_t now;
	struct tuf_updater_limits limits;
	struct tuf_metadata *trusted[_TUF_ROLE_TYPE_MAX]; /* owned; top-level roles */
	bool refreshed; /* the last refresh succeeded: top-level metadata is final */
	struct tuf_delegated_entry **delegated; /* owned array of owned entries */
	size_t n_delegated;
};

/* Fetch metadata_base_url + filename, at most max bytes. */
int tuf_updater_fetch_metadata(struct tuf_updater *u, const char *filename, uint64_t max,
			       uint8_t **ret_buf, size_t *ret_len);

/* Write a verified metadata file atomically into metadata_dir. */
int tuf_updater_persist(struct tuf_updater *u, const char *filename, const void *buf, size_t len);

/* Read a trusted metadata file of metadata_dir (at most max bytes). */
int tuf_updater_read_local(struct tuf_updater *u, const char *filename, size_t max,
			   uint8_t **ret_buf, size_t *ret_len);

/* Check a new role's version against the version its meta entry names (TUF_E_VERSION). */
int tuf_updater_check_meta_version(const struct tuf_metadata *md, const struct tuf_meta_file *m,
				   const char *file, const char *listed_in);

/* The length cap of a file listed by m: its length when given, else fallback. */
uint64_t tuf_updater_meta_cap(const struct tuf_meta_file *m, size_t fallback);

/* Forget every delegated role loaded so far. */
void tuf_updater_clear_delegated(struct tuf_updater *u);
