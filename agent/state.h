/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's persistent state: the install record (STATE/install/state.json) and the lock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "boot.h"

#define AGENT_STATE_MAX (256u * 1024) /* bytes of state.json */
#define AGENT_MAX_ITEMS 16	      /* targets in one release */

/* The install state machine; every transition is persisted before anything acts on it. */
enum agent_phase {
	AGENT_PHASE_IDLE,
	AGENT_PHASE_DOWNLOADING, /* writing the inactive slot and staging models */
	AGENT_PHASE_WRITTEN,	 /* every byte written, synced and checked while streaming */
	AGENT_PHASE_VERIFIED,	 /* re-read from the slot and the staged files: hashes match */
	AGENT_PHASE_SWITCHED,	 /* trial boot requested (image) or models swapped (models only) */
	AGENT_PHASE_BOOTED,	 /* running the trial boot's health checks */
	AGENT_PHASE_COMMITTED,
	AGENT_PHASE_ROLLED_BACK,
	AGENT_PHASE_FAILED,
	_AGENT_PHASE_MAX,
};

const char *agent_phase_name(enum agent_phase p);
int agent_phase_from_name(const char *name, enum agent_phase *ret);
/* Whether an install in phase p is still in progress (neither idle nor finished). */
bool agent_phase_active(enum agent_phase p);

/* One target of the release being installed. Strings owned. */
struct agent_item {
	char *path; /* TUF target path */
	bool image; /* kind image (into the slot) or model */
	char sha256[65];
	uint64_t length;
	char *model;	/* model name (models only) */
	char *file;	/* file name inside models/<name>/<sha256>/ */
	char *previous; /* sha256 the model's `current` pointed to before, or NULL */
};

struct agent_install {
	enum agent_phase phase;
	char *release, *version; /* the release being (or last) installed */
	char *source;		 /* where it came from: "offline" or the control plane URL */
	enum agent_slot slot;	 /* the slot the image goes to */
	uint64_t written;	 /* image bytes written and synced (resume point) */
	char *error;		 /* "CODE: message" of a failure or rollback */
	struct agent_item items[AGENT_MAX_ITEMS];
	size_t n_items;
	char *installed_release, *installed_version; /* the last committed release */
	int64_t updated;			     /* time of the last transition */
};

/*
 * Read STATE/install/state.json into *ret (zeroed first). A missing file is an idle device
 * with nothing installed. A malformed file is TUF_E_STATE.
 */
int agent_install_load(const char *state_dir, struct agent_install *ret);

/* Write s atomically (temporary file, fsync, rename, directory fsync) as state.json. */
int agent_install_save(const char *state_dir, struct agent_install *s);

/* Free the strings of s and zero it. */
void agent_install_clear(struct agent_install *s);

/* Release the items of s (for a new install). */
void agent_install_clear_items(struct agent_install *s);

/* Set s->error to "NAME: message" of code (the recorded sl_error message). */
int agent_install_set_error(struct agent_install *s, int code);

/*
 * Take STATE/agent.lock (flock, exclusive, non-blocking), creating STATE (0700) when absent.
 * -EBUSY with a message when another agent holds it. *ret_fd keeps the lock until closed.
 */
int agent_lock(const char *state_dir, int *ret_fd);

/* Join dir and name into a malloc'd path; NULL on allocation failure. */
char *agent_path(const char *dir, const char *name);
