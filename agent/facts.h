/* SPDX-License-Identifier: Apache-2.0 */
/* Device facts against a model's needs, and the version order of releases and runtimes. */
#pragma once

#include "config.h"

/*
 * Compare two version strings ("2026.11.1", "1.17.0-rc1"): runs of digits compare as
 * numbers, everything else byte by byte. Returns < 0, 0 or > 0.
 */
int agent_version_compare(const char *a, const char *b);

/*
 * Check a model target's needs against the device facts of cfg ([device] runtimes and
 * accelerator). runtime is "NAME", or "NAME" followed by one of >=, <=, ==, =, >, < and a
 * version; accelerator is "any" (or NULL) or a name that must be among the device's
 * comma-separated accelerators. model names the target in messages. 0 when met,
 * TUF_E_UNSUPPORTED with a message naming the unmet need otherwise (SL_E_INVALID for a
 * malformed need).
 */
int agent_facts_check_model(const struct agent_config *cfg, const char *model, const char *runtime,
			    const char *accelerator);
