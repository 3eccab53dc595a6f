/* SPDX-License-Identifier: Apache-2.0 */
/* The install state machine: download, write, verify, switch, trial boot, commit or roll back. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "boot.h"
#include "config.h"
#include "release.h"
#include "state.h"

/* Progress display hooks (all optional). */
struct agent_progress {
	void (*begin)(void *userdata, const char *label, uint64_t total);
	void (*add)(void *userdata, uint64_t n);
	void (*end)(void *userdata);
	void *userdata;
};

/* What one agent operation works with. All borrowed. */
struct agent_ctx {
	const struct agent_config *cfg;
	const char *state_dir;
	struct agent_boot *boot;
	struct agent_progress progress;
	const char *source; /* recorded with a new install: "offline" or the control plane URL */
	bool defer_reboot;  /* do not reboot: the caller calls agent_install_reboot() later */
	const atomic_int *cancel; /* when it becomes non-zero, a download stops at the next
				   * checkpoint with -ECANCELED (resumable); may be NULL */
};

enum agent_outcome {
	AGENT_OUTCOME_NOTHING, /* nothing to do */
	AGENT_OUTCOME_NOOP,    /* the release is installed already */
	AGENT_OUTCOME_REBOOT,  /* the new slot waits for its trial boot */
	AGENT_OUTCOME_PENDING, /* the trial boot has not happened yet */
	AGENT_OUTCOME_COMMITTED,
	AGENT_OUTCOME_ROLLED_BACK,
	AGENT_OUTCOME_FAILED,
};

const char *agent_outcome_name(enum agent_outcome o);

/*
 * Install release want (NULL: the newest for this hardware) from the refreshed repository
 * repo, or resume the install in progress. Refusals before the first byte (no release,
 * downgrade without allow_downgrade: TUF_E_ROLLBACK, model needs unmet: TUF_E_UNSUPPORTED,
 * slot too small: SL_E_TOO_LARGE, no room: -ENOSPC) leave every state byte-identical. An
 * install that waits for its trial boot is -EBUSY. *ret_outcome tells how it ended; a
 * failed or rolled back install also returns its error code (< 0). Reboots per [reboot]
 * policy when the new slot is ready. The caller holds the agent lock.
 */
int agent_install_run(struct agent_ctx *c, struct agent_repo *repo, const char *want,
		      enum agent_outcome *ret_outcome);

/*
 * Reboot per [reboot] policy (run its command when the policy is `now`), for a caller that
 * set defer_reboot and got AGENT_OUTCOME_REBOOT.
 */
int agent_install_reboot(struct agent_ctx *c);

/*
 * The boot-time step (`sluice-agent boot-check`): on the trial boot of a new slot run the
 * health checks (models swapped in first) within the deadline, then commit or fall back and
 * reboot; after the bootloader fell back, record the rollback; resume an interrupted
 * models-only swap. The caller holds the agent lock.
 */
int agent_boot_check_run(struct agent_ctx *c, enum agent_outcome *ret_outcome);

/*
 * Test hook (docs/agent.md): when SLUICE_AGENT_TEST_PAUSE names phase, the process stops
 * itself (SIGSTOP) right after persisting it, so that a test can kill or tamper at exactly
 * that point. The value "checkpoint" stops after the first resume point of an image
 * download was persisted (part of the slot written).
 */
void agent_test_pause(enum agent_phase phase);
