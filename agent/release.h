/* SPDX-License-Identifier: Apache-2.0 */
/* Release selection: refresh the device's TUF metadata and pick the release to install. */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "state.h"
#include "tuf/updater.h"

/* Most paths delegated roles list for this device's hardware that one selection considers. */
#define AGENT_MAX_CANDIDATES 4096

/* A device's view of one repository (control plane or offline directory). */
struct agent_repo {
	struct tuf_fetcher *fetcher;
	struct tuf_updater *updater;
	char *base; /* the repository URL the metadata/ and targets/ URLs hang off */
};

/* The sluice fields of one target (custom.sluice, DESIGN.md §3). Strings borrowed from the
 * metadata. */
struct agent_rtarget {
	const struct tuf_target *t;
	const char *kind; /* "image", "model" or "file" */
	const char *release, *version;
	const char *slot_class;			   /* image */
	const char *model, *runtime, *accelerator; /* model */
	bool allow_downgrade;
};

struct agent_release {
	const char *release, *version;
	struct agent_rtarget items[AGENT_MAX_ITEMS];
	size_t n;
	bool allow_downgrade; /* every target of the release allows it */
};

/*
 * Open the trusted metadata in STATE/tuf for the repository at base_url (a directory's
 * file:// URL or the control plane's https URL, ending in '/': metadata/ and targets/ are
 * appended). fopts configures the fetcher (NULL for file://). TUF_E_STATE when the device is
 * not provisioned. *ret owned by the caller (agent_repo_free()).
 */
int agent_repo_open(const char *state_dir, const char *base_url,
		    const struct tuf_fetcher_options *fopts, struct agent_repo **ret);

/* Accepts NULL, returns NULL. */
struct agent_repo *agent_repo_free(struct agent_repo *r);

/* The file:// URL (malloc'd, ending in '/') of an absolute directory path, percent-encoded. */
int agent_dir_url(const char *dir, char **ret);

/*
 * Pick a release among the refreshed targets that carry custom.sluice and list cfg->hardware:
 * the one named want, or (want NULL) the newest by version. The targets are the top-level
 * ones (in document order) and then those of delegated roles (DESIGN.md §3, e.g. `models`),
 * found with tuf_updater_list_delegated_targets() (hash-prefix and succinct hash-bin
 * delegations are not walked) and each taken as tuf_updater_get_target() resolves its path,
 * so a role's entry counts only where the delegation makes it responsible for the path;
 * de-duplicated by path. A delegated role that fails to load or verify fails the selection
 * with its typed error (e.g. TUF_E_THRESHOLD); more than AGENT_MAX_CANDIDATES delegated paths
 * for this hardware is SL_E_TOO_LARGE. Every target of
 * the release must agree on its version and be of kind image (for cfg's slot class, at most
 * one) or model. TUF_E_NOT_FOUND when no release matches this device; TUF_E_FORMAT for
 * malformed sluice fields; TUF_E_UNSUPPORTED for kinds this agent cannot install.
 * ret borrows from the repository's metadata.
 */
int agent_release_select(struct agent_repo *r, const struct agent_config *cfg, const char *want,
			 struct agent_release *ret);
