/* SPDX-License-Identifier: Apache-2.0 */
/* Signed install receipts for offline installs (docs/agent.md, "Install receipts"). */
#pragma once

#include "config.h"
#include "state.h"

#define AGENT_RECEIPT_MAX (64u * 1024) /* bytes of one receipt */

/*
 * Write a receipt into dir (created 0755 when absent) as <device>-<time>-<n>.json:
 * {"signed": {"sluice_receipt": 1, "device_id", "hardware", "outcome", "release",
 * "version", "installed_release", "installed_version", "phase", "error", "time",
 * "targets": [{"path", "sha256", "length"}]}, "signatures": [{"alg", "sig"}],
 * "certificate": PEM} where sig is over the canonical JSON of "signed", made with the
 * device key. st may be NULL (a refusal before an install began); error may be NULL.
 */
int agent_receipt_write(const char *state_dir, const struct agent_config *cfg, const char *dir,
			const char *outcome, const struct agent_install *st, const char *error);

/*
 * Move the receipts queued in STATE/receipts (written at boot, when no medium is present)
 * into dir. Returns the number moved.
 */
int agent_receipts_flush(const char *state_dir, const char *dir);
